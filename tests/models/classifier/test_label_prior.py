"""The label prior: the layer's arithmetic, the choice of its strength, and its place in training and export."""

import numpy as np
import pytest
import tensorflow as tf

from models.classifier import candidates, datasets, label_prior
from models.classifier.fine_tune import Recipe, train_classifier
from models.classifier.tuning import mixed_weights
from tiny_model import FAST_RECIPE, LABELS, split_datasets, write_transformed


def test_strength_zero_leaves_the_head_logits_and_a_strength_adds_scaled_cosines():
    layer = label_prior.LabelPrior(2, 3)
    logits = tf.constant([[1.0, -1.0], [0.5, 0.5]])
    pooled = tf.constant([[3.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    np.testing.assert_allclose(layer([logits, pooled]).numpy(), logits.numpy())
    layer.set_prior(np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 1.0]]), 10.0)
    cosine = np.array([[1.0, 0.0], [0.0, np.sqrt(0.5)]])
    np.testing.assert_allclose(layer([logits, pooled]).numpy(), logits.numpy() + 10.0 * cosine, rtol=1e-6)
    layer.turn_off()
    np.testing.assert_allclose(layer([logits, pooled]).numpy(), logits.numpy())


def test_the_strength_that_fixes_a_wrong_head_is_chosen_and_a_useless_prior_stays_off():
    vectors = np.eye(3, 4, dtype=np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2])
    pooled = vectors[labels] + 0.01
    wrong_head = np.roll(np.eye(3)[labels], 1, axis=1) * 2.0  # always one label off, margin 2
    strength, table = label_prior.choose_strength(wrong_head, pooled, vectors, labels)
    assert table["0"] == 0.0 and table[f"{strength:g}"] == 1.0
    assert strength == min(s for s in label_prior.STRENGTHS if s > 2.0)  # the smallest that wins
    right_head = np.eye(3)[labels] * 5.0
    random_pooled = np.random.default_rng(0).normal(size=pooled.shape)
    strength, table = label_prior.choose_strength(right_head, random_pooled, vectors, labels)
    assert strength == 0.0 and table["0"] == 1.0


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
    recipe = Recipe(**dict(FAST_RECIPE, epochs=1, target_sparsity=0.0, trim_vocabulary=False,
                           trainable_layers=trainable_layers))
    trained = train_classifier(tiny_corpus.checkpoint, english[0][0], english[1][0], LABELS, recipe,
                               test_sets={candidates.HELD_OUT: english[0][1].concatenate(english[1][1])},
                               label_descriptions=descriptions)
    prior = trained.report["label_prior"]
    assert prior["used"] and set(prior["candidates"]) == {"frozen_encoder", "fine_tuned"}
    for entry in prior["candidates"].values():
        assert entry["selected_on"] == candidates.HELD_OUT
        assert entry["strength"] in label_prior.STRENGTHS
        assert entry["accuracy_by_strength"][f"{entry['strength']:g}"] == max(entry["accuracy_by_strength"].values())
    mix = trained.report["weight_mix"]
    assert set(mix["accuracy_by_mix"]) == {"0.5", "0.75", "1"} and mix["selected_on"] == candidates.HELD_OUT
    assert mix["accuracy_by_mix"][f"{mix['chosen']:g}"] == max(mix["accuracy_by_mix"].values())
    assert prior["candidates"]["fine_tuned"]["accuracy_by_strength"][f"{prior['candidates']['fine_tuned']['strength']:g}"] \
        == mix["accuracy_by_mix"][f"{mix['chosen']:g}"]
    chosen = trained.report["chosen"]["candidate"]
    assert prior["pushed_strength"] == prior["candidates"][chosen]["strength"]
    layer = label_prior.prior_layer(trained.model)
    assert float(layer.strength.numpy()) == prior["pushed_strength"]
    np.testing.assert_allclose(np.linalg.norm(layer.label_vectors.numpy(), axis=1), 1.0, rtol=1e-5)
    ids, mask, _, _ = next(iter(datasets.batches(evaluation, 8, np.arange(tiny_corpus.checkpoint.config.vocab_size))))
    inputs = {"input_ids": ids, "input_mask": mask}
    head, pooled = label_prior.inputs_model(trained.model)(inputs)
    expected = head.numpy() + prior["pushed_strength"] * (label_prior.normalized(pooled.numpy())
                                                           @ layer.label_vectors.numpy().T)
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
