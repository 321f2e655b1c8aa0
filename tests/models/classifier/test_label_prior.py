"""The label prior: the layer's arithmetic, the choice of its strength, and its place in training and export."""

import numpy as np
import pytest
import tensorflow as tf

from models.classifier import candidates, datasets, label_prior
from models.classifier.fine_tune import Recipe, train_classifier
from models.classifier.tuning import mixed_weights
from tiny_model import FAST_RECIPE, LABELS, split_datasets, write_transformed


def test_strength_zero_leaves_the_head_logits_and_a_strength_adds_scaled_cosines_and_the_example_head():
    layer = label_prior.LabelPrior(2, 3)
    logits = tf.constant([[1.0, -1.0], [0.5, 0.5]])
    pooled = tf.constant([[3.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    np.testing.assert_allclose(layer([logits, pooled]).numpy(), logits.numpy())
    layer.set_prior(np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 1.0]]), 10.0)
    cosine = np.array([[1.0, 0.0], [0.0, np.sqrt(0.5)]])
    np.testing.assert_allclose(layer([logits, pooled]).numpy(), logits.numpy() + 10.0 * cosine, rtol=1e-6)
    kernel, bias = np.arange(6, dtype=np.float32).reshape(3, 2), np.array([0.5, -0.5], np.float32)
    layer.set_prior(np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 1.0]]), 10.0, (kernel, bias))
    expected = logits.numpy() + 10.0 * cosine + pooled.numpy() @ kernel + bias
    np.testing.assert_allclose(layer([logits, pooled]).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(layer.apply(logits.numpy(), pooled.numpy()), expected, rtol=1e-6)
    layer.turn_off()
    np.testing.assert_allclose(layer([logits, pooled]).numpy(), logits.numpy())


def _one_hot_head(pooled, labels):
    """A stand-in example-head fit: the class means of the rows given, as a linear head."""
    means = np.stack([pooled[labels == k].mean(axis=0) for k in range(3)])
    return means.T * 10.0, np.zeros(3)


def test_the_strength_that_fixes_a_wrong_head_is_chosen_and_a_useless_prior_stays_off():
    vectors = np.eye(3, 4, dtype=np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2])
    pooled = vectors[labels] + 0.01
    wrong_head = np.roll(np.eye(3)[labels], 1, axis=1) * 2.0  # always one label off, margin 2
    choice = label_prior.choose((wrong_head, pooled, labels), vectors)
    assert choice.scores["0/0"] == 0.0 and choice.score == 1.0 and choice.example_weight == 0.0
    assert choice.strength == min(s for s in label_prior.STRENGTHS if s > 2.0)  # the smallest that wins
    assert choice.example_head is None and choice.examples_accuracy is None
    right_head = np.eye(3)[labels] * 5.0
    random_pooled = np.random.default_rng(0).normal(size=pooled.shape)
    choice = label_prior.choose((right_head, random_pooled, labels), vectors)
    assert choice.strength == 0.0 and choice.scores["0/0"] == 1.0


def test_label_examples_get_weight_where_they_and_the_selection_rows_disagree_with_the_corpus_head():
    rng = np.random.default_rng(1)
    centres = np.eye(3, 4, dtype=np.float32) * 3.0
    labels = np.tile([0, 1, 2], 10)
    pooled = centres[labels] + rng.normal(scale=0.1, size=(30, 4))
    corpus_head = np.roll(np.eye(3)[labels], 1, axis=1) * 2.0  # the corpus taught each label one off
    useless_vectors = np.zeros((3, 4), np.float32)
    choice = label_prior.choose((corpus_head, pooled, labels), useless_vectors,
                                (corpus_head, pooled, labels), _one_hot_head)
    assert choice.example_weight > 0 and choice.score == 1.0
    assert choice.selection_accuracy == 1.0 and choice.examples_accuracy == 1.0
    kernel, bias = _one_hot_head(pooled, labels)
    np.testing.assert_allclose(choice.example_head[0], kernel * choice.example_weight)
    assert set(choice.scores) == {label_prior.key(w, s) for w in label_prior.EXAMPLE_WEIGHTS
                                  for s in label_prior.STRENGTHS}
    right_head = np.eye(3)[labels] * 5.0  # the corpus head is right: the examples are not needed
    choice = label_prior.choose((right_head, pooled, labels), useless_vectors, (right_head, pooled, labels),
                                _one_hot_head)
    assert choice.example_weight == 0.0 and choice.example_head is None and choice.score == 1.0
    with pytest.raises(ValueError, match="head fit function"):
        label_prior.choose((right_head, pooled, labels), useless_vectors, (right_head, pooled, labels))


def test_a_selection_accuracy_floor_keeps_the_choice_within_the_gate_the_candidate_must_pass():
    """Examples at B_k mean label k; two selection rows sit at B_(k+1) labelled k (the corpus's view): any example
    weight gains the examples and loses those two rows. The floor decides which of the two the choice keeps."""
    rng = np.random.default_rng(2)
    a_centres, b_centres = np.eye(3, 6) * 3.0, np.roll(np.eye(3, 6), 3, axis=1) * 3.0
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 0, 1])
    pooled = np.concatenate([a_centres[labels[:8]], b_centres[(labels[8:] + 1) % 3]])
    selection = (np.eye(3)[labels] * 2.0, pooled, labels)  # the corpus head is right on every selection row
    example_labels = np.tile([0, 1, 2], 10)
    examples = (np.roll(np.eye(3)[example_labels], 1, axis=1) * 2.0,
                b_centres[example_labels] + rng.normal(scale=0.1, size=(30, 6)), example_labels)
    vectors = np.zeros((3, 6), np.float32)
    free = label_prior.choose(selection, vectors, examples, _one_hot_head)
    assert free.example_weight > 0 and free.selection_accuracy == 0.8 and free.examples_accuracy == 1.0
    assert free.min_selection_accuracy is None
    bounded = label_prior.choose(selection, vectors, examples, _one_hot_head, min_selection_accuracy=1.0)
    assert bounded.example_weight == 0.0 and bounded.selection_accuracy == 1.0
    assert bounded.score < free.score and bounded.min_selection_accuracy == 1.0
    out_of_reach = label_prior.choose(selection, vectors, examples, _one_hot_head, min_selection_accuracy=1.01)
    assert (out_of_reach.example_weight, out_of_reach.strength) == (free.example_weight, free.strength)


def test_a_description_template_must_name_the_label():
    assert label_prior.description_text("This text is about {label}.", "customer_service") == \
        "This text is about customer service."
    assert label_prior.description_rows("{label} news", ["money"]) == [("money news", "money", "und")]
    with pytest.raises(label_prior.LabelPriorError, match="no {label} placeholder"):
        label_prior.description_text("This text is about it.", "money")


@pytest.mark.parametrize("trainable_layers", [1, None], ids=["cached-lower-blocks", "whole-model"])
def test_training_chooses_a_prior_per_candidate_on_the_held_out_language_and_the_model_applies_it(
        tiny_corpus, tmp_path, trainable_layers):
    train, evaluation = split_datasets(tiny_corpus, tmp_path)
    english = [(split.filter(lambda row: tf.equal(row["lang"], "en")),
                split.filter(lambda row: tf.equal(row["lang"], "it"))) for split in (train, evaluation)]
    rows = label_prior.description_rows("{label}", LABELS)
    descriptions = datasets.read_examples([write_transformed(tiny_corpus, rows, str(tmp_path / "labels.gz"))],
                                          tiny_corpus.transformed_spec)
    # Label examples: the English training rows again, 5 folds' worth (the tiny corpus has no other text).
    examples = english[0][0] if trainable_layers is None else None
    recipe = Recipe(**dict(FAST_RECIPE, epochs=1, target_sparsity=0.0, trim_vocabulary=False,
                           trainable_layers=trainable_layers))
    trained = train_classifier(tiny_corpus.checkpoint, english[0][0], english[1][0], LABELS, recipe,
                               test_sets={candidates.HELD_OUT: english[0][1].concatenate(english[1][1])},
                               label_descriptions=descriptions, label_examples=examples)
    prior = trained.report["label_prior"]
    assert prior["used"] and set(prior["candidates"]) == {"frozen_encoder", "fine_tuned"}
    assert prior["label_examples"] == (len(datasets.languages(examples)) if examples is not None else 0)
    frozen = prior["candidates"]["frozen_encoder"]
    # The fine-tuned candidate's prior competes within the gate: at least the frozen one's held-out accuracy.
    assert frozen["min_selection_accuracy"] is None
    assert prior["candidates"]["fine_tuned"]["min_selection_accuracy"] == frozen["selection_accuracy"]
    for entry in prior["candidates"].values():
        assert entry["selected_on"] == candidates.HELD_OUT
        assert entry["strength"] in label_prior.STRENGTHS
        scores = entry["score_by_weight_and_strength"]
        floor = entry["min_selection_accuracy"]
        if floor is None or entry["selection_accuracy"] < floor:  # unbounded, or no pair reached the floor
            assert scores[label_prior.key(entry["example_weight"], entry["strength"])] == max(scores.values())
        assert (entry["label_examples_accuracy"] is None) == (examples is None)
    mix = trained.report["weight_mix"]
    assert set(mix["score_by_mix"]) == {"0.5", "0.75", "1"} and mix["selected_on"] == candidates.HELD_OUT
    within = [m for m, ok in mix["within_bound_by_mix"].items() if ok] or list(mix["score_by_mix"])
    assert mix["score_by_mix"][f"{mix['chosen']:g}"] == max(mix["score_by_mix"][m] for m in within)
    tuned = prior["candidates"]["fine_tuned"]
    assert tuned["score_by_weight_and_strength"][label_prior.key(tuned["example_weight"], tuned["strength"])] \
        == mix["score_by_mix"][f"{mix['chosen']:g}"]
    chosen = trained.report["chosen"]["candidate"]
    assert prior["pushed_strength"] == prior["candidates"][chosen]["strength"]
    assert prior["pushed_example_weight"] == prior["candidates"][chosen]["example_weight"]
    layer = label_prior.prior_layer(trained.model)
    assert float(layer.strength.numpy()) == prior["pushed_strength"]
    assert (np.abs(layer.example_kernel.numpy()).sum() > 0) == (prior["pushed_example_weight"] > 0)
    np.testing.assert_allclose(np.linalg.norm(layer.label_vectors.numpy(), axis=1), 1.0, rtol=1e-5)
    ids, mask, _, _ = next(iter(datasets.batches(evaluation, 8, np.arange(tiny_corpus.checkpoint.config.vocab_size))))
    inputs = {"input_ids": ids, "input_mask": mask}
    head, pooled = label_prior.inputs_model(trained.model)(inputs)
    expected = (head.numpy() + prior["pushed_strength"] * (label_prior.normalized(pooled.numpy())
                                                            @ layer.label_vectors.numpy().T)
                + pooled.numpy() @ layer.example_kernel.numpy() + layer.example_bias.numpy())
    np.testing.assert_allclose(trained.model(inputs).numpy(), expected, rtol=1e-4, atol=1e-4)


def test_without_descriptions_the_prior_is_off_and_says_why(trained_tiny):
    prior = trained_tiny.report["label_prior"]
    assert prior == {"used": False, "reason": "no label descriptions were given"}
    assert float(label_prior.prior_layer(trained_tiny.model).strength.numpy()) == 0.0
    assert trained_tiny.report["weight_mix"]["selected_on"] == candidates.EVAL  # no held-out languages


def test_a_weight_mix_moves_each_frozen_weight_part_way_to_its_fine_tuned_value():
    frozen = [np.zeros((2, 2), np.float32), np.array([1.0, 3.0], np.float32)]
    tuned = [np.ones((2, 2), np.float32), np.array([3.0, 3.0], np.float32)]
    half = mixed_weights(frozen, tuned, 0.5)
    np.testing.assert_allclose(half[0], np.full((2, 2), 0.5))
    np.testing.assert_allclose(half[1], [2.0, 3.0])
    for mix, expected in ((0.0, frozen), (1.0, tuned)):
        for got, want in zip(mixed_weights(frozen, tuned, mix), expected):
            np.testing.assert_array_equal(got, want)
