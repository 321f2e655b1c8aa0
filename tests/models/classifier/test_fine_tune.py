"""The training recipe on a tiny corpus: linear probe, gentle fine-tuning on cached lower layers, gated
pruning and vocabulary trimming, the candidates' report."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from models.encoder.synthetic import sentencepiece_vocabulary
from models.classifier import datasets, vocabulary_trim
from models.classifier import candidates, layer_cache
from models.classifier.fine_tune import Recipe, train_classifier
from tiny_model import FAST_RECIPE, LABELS, split_datasets


def test_fine_tuned_pruned_model_learns_the_topics(trained_tiny):
    report = trained_tiny.report
    assert report["dense"]["best"]["overall"]["macro_f1"] > 0.9
    assert report["eval"]["overall"]["macro_f1"] > 0.9
    assert set(report["eval"]["per_language"]) == {"en", "it"}
    assert report["eval"]["overall"]["examples"] == len(LABELS) * 2 * 8


def test_every_kernel_reaches_the_target_sparsity(trained_tiny):
    sparsity = trained_tiny.report["sparsity"]
    kernels = {name: value for name, value in sparsity.items() if name != "overall"}
    assert len(kernels) == 2 * 6
    assert all(abs(value - 0.5) < 0.02 for value in kernels.values()), kernels
    assert trained_tiny.report["gzip_weight_bytes"]["pruned"] < trained_tiny.report["gzip_weight_bytes"]["dense"]
    assert trained_tiny.report["pruned"]["kept"]


def test_vocabulary_is_trimmed_to_the_corpus_and_margin(trained_tiny, tiny_corpus):
    vocabulary = trained_tiny.report["vocabulary"]
    assert vocabulary["trimmed"]
    assert vocabulary["kept_rows"] < vocabulary["full_rows"] == tiny_corpus.checkpoint.config.vocab_size
    assert vocabulary["unknown_rate"]["eval"] == {"en": 0.0, "it": 0.0}
    assert trained_tiny.model.get_layer("embeddings").word.shape[0] == vocabulary["kept_rows"]


def test_compression_beyond_its_tolerance_keeps_the_uncompressed_model_with_the_numbers(tiny_corpus, tmp_path):
    train, evaluation = split_datasets(tiny_corpus, tmp_path)
    recipe = Recipe(**dict(FAST_RECIPE, epochs=1, pruning_epochs=1, pruning_tolerance=-1.0,  # unreachable
                           compression_tolerance=-1.0))
    trained = train_classifier(tiny_corpus.checkpoint, train, evaluation, LABELS, recipe)
    pruned, vocabulary = trained.report["pruned"], trained.report["vocabulary"]
    assert not pruned["kept"] and pruned["failures"][0].startswith("eval ")
    assert trained.report["sparsity"]["overall"] < 0.1
    assert not vocabulary["trimmed"] and vocabulary["planned_rows"] < vocabulary["kept_rows"]
    assert trained.model.get_layer("embeddings").word.shape[0] == tiny_corpus.checkpoint.config.vocab_size


def test_both_candidates_are_measured_on_the_held_out_language_and_out_of_corpus_sets(tiny_corpus, tmp_path):
    train, evaluation = split_datasets(tiny_corpus, tmp_path)
    english = [(split.filter(lambda row: tf.equal(row["lang"], "en")),
                split.filter(lambda row: tf.equal(row["lang"], "it"))) for split in (train, evaluation)]
    recipe = Recipe(**dict(FAST_RECIPE, epochs=2, target_sparsity=0.0))
    trained = train_classifier(tiny_corpus.checkpoint, english[0][0], english[1][0], LABELS, recipe,
                               test_sets={candidates.HELD_OUT: english[0][1].concatenate(english[1][1]),
                                          candidates.OUT_OF_CORPUS: evaluation})
    report = trained.report
    assert report["trained_languages"] == ["en"] and trained.trained_languages == ("en",)
    assert set(report["eval"]["per_language"]) == {"en"}
    for candidate in ("frozen_encoder", "fine_tuned"):
        sets = report["candidates"][candidate]
        assert set(sets) == {"eval", candidates.HELD_OUT, candidates.OUT_OF_CORPUS}
        assert set(sets[candidates.HELD_OUT]["per_language"]) == {"it"}
        assert set(sets[candidates.OUT_OF_CORPUS]["groups"]) == {"trained", "absent"}
    chosen = report["chosen"]
    assert chosen["candidate"] in ("frozen_encoder", "fine_tuned")
    assert (chosen["candidate"] == "fine_tuned") == (not chosen["fine_tuned_failures"])


def test_fine_tuned_candidate_must_match_the_frozen_one_in_every_language_group():
    def report(per_language):
        return {"overall": {}, "per_language": {lang: {"accuracy": acc, "examples": 10}
                                                for lang, acc in per_language.items()}}
    frozen = {candidates.OUT_OF_CORPUS: report({"en": 0.9, "de": 0.9})}
    better_trained_worse_absent = {candidates.OUT_OF_CORPUS: report({"en": 1.0, "de": 0.8})}
    failures = candidates.fine_tuned_failures(frozen, better_trained_worse_absent, ["en"])
    assert failures == ["out_of_corpus absent languages: accuracy 0.800 < frozen-encoder candidate 0.900"]
    assert candidates.fine_tuned_failures(frozen, frozen, ["en"]) == []


def test_length_bucketed_batches_shuffle_and_pad_little():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 60, size=2000)
    first = layer_cache.length_bucketed_order(lengths, 32, np.random.default_rng(1))
    second = layer_cache.length_bucketed_order(lengths, 32, np.random.default_rng(2))
    assert sorted(np.concatenate(first).tolist()) == list(range(2000))
    assert [b.tolist() for b in first[:3]] != [b.tolist() for b in second[:3]]
    split = layer_cache.CachedSplit(np.zeros((int(lengths.sum()), 1), np.float32),
                                    np.concatenate([[0], np.cumsum(lengths)]), np.zeros(2000, np.int32),
                                    np.array(["en"] * 2000))
    bucketed, random = layer_cache.real_token_share(split, 32, np.random.default_rng(3))
    assert bucketed > 0.9 > 0.6 > random


def test_label_ids_outside_the_label_list_are_rejected(tiny_corpus, tmp_path):
    train, evaluation = split_datasets(tiny_corpus, tmp_path)
    with pytest.raises(datasets.TrainingDataError, match="label_id 2 outside the 2 configured labels"):
        train_classifier(tiny_corpus.checkpoint, train, evaluation, LABELS[:2], Recipe(**FAST_RECIPE))


def test_batches_are_padded_to_their_longest_row(tiny_corpus, tmp_path):
    train, _ = split_datasets(tiny_corpus, tmp_path)
    identity = np.arange(tiny_corpus.checkpoint.config.vocab_size, dtype=np.int32)
    for ids, mask, labels, lang in datasets.batches(train, 7, identity).take(5):
        assert ids.shape == mask.shape and ids.shape[1] == int(mask.numpy().sum(axis=1).max())
        assert labels.shape == lang.shape == (ids.shape[0],)


def test_trim_keeps_corpus_pieces_specials_and_the_margin_of_corpus_scripts():
    vocabulary = sentencepiece_vocabulary(["hello world", "привет мир", "你好 世界"], max_pieces=200)
    pieces = vocabulary.pieces
    corpus_ids = [pieces.index("\u2581hello"), pieces.index("\u2581привет")]
    trim = vocabulary_trim.plan_trim(vocabulary, len(pieces) + 3, corpus_ids, margin_per_script=2)

    kept = {pieces[i] for i in trim.kept_ids if i < len(pieces)}
    assert {"<s>", "<pad>", "</s>", "<unk>", "\u2581hello", "\u2581привет"} <= kept
    for script in ("LATIN", "CYRILLIC"):
        margin = vocabulary_trim.margin_ids(vocabulary, [script], 2)
        assert len(margin) == 2 and margin <= set(trim.kept_ids.tolist())
    assert "HAN" not in {vocabulary_trim.piece_script(p) for p in kept}
    assert trim.remap[pieces.index("\u2581hello")] == list(trim.kept_ids).index(pieces.index("\u2581hello"))
    dropped = next(i for i in range(len(pieces)) if i not in set(trim.kept_ids))
    assert trim.remap[dropped] == trim.unk_id == list(trim.kept_ids).index(3)
    assert vocabulary_trim.unknown_rate(np.array([corpus_ids[0], dropped]), trim, 3) == 0.5


def test_model_config_carries_every_recipe_field_with_the_same_default():
    from pipeline.configs import ModelConfig
    config_defaults = {f.name: f.default for f in dataclasses.fields(ModelConfig)}
    recipe_defaults = {f.name: f.default for f in dataclasses.fields(Recipe)}
    assert recipe_defaults.items() <= config_defaults.items()


def test_pack_for_model_inserts_the_prefix_after_bos_and_cuts_to_the_longest_row():
    ids = np.array([[0, 5, 6, 2, 1, 1], [0, 7, 2, 1, 1, 1]])
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0]])
    remap = np.arange(20, dtype=np.int32) + 100
    packed_ids, packed_mask = datasets.pack_for_model(ids, mask, remap, prefix_ids=(9, 10))
    assert packed_ids.numpy().tolist() == [[100, 109, 110, 105, 106, 102], [100, 109, 110, 107, 102, 101]]
    assert packed_mask.numpy().tolist() == [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]]


def test_linear_probe_fits_the_head_before_fine_tuning(trained_tiny):
    assert trained_tiny.report["linear_probe_train_accuracy"] > 0.5


def test_bfloat16_kernels_halve_the_kernel_bytes_and_answer_like_float32(trained_tiny, tiny_corpus, tmp_path):
    from models.classifier import classifier
    from models.classifier.training import predictor
    converted = classifier.bfloat16_copy(trained_tiny.model)
    kernels = [k for block in classifier.transformer_blocks(converted) for k in block.kernels.values()]
    assert {k.dtype for k in kernels} == {tf.bfloat16}
    _, evaluation = split_datasets(tiny_corpus, tmp_path)
    ids, mask, _, _ = next(iter(datasets.batches(evaluation, 16, trained_tiny.trim.remap)))
    dense, half = predictor(trained_tiny.model)(ids, mask).numpy(), predictor(converted)(ids, mask).numpy()
    assert np.mean(np.argmax(dense, 1) == np.argmax(half, 1)) >= 0.9
    np.testing.assert_allclose(half, dense, atol=0.1 * np.abs(dense).max())


def test_language_features_come_from_the_models_own_graph_when_layers_are_shared_with_a_pruning_copy(tiny_corpus):
    from models.classifier import classifier
    model = classifier.build_classifier(tiny_corpus.checkpoint, len(LABELS))
    copy = classifier.strip_pruning(classifier.prunable_copy(model, classifier.pruning_schedule(0.5, 10)))
    ids = np.array([[0, 5, 6, 2]], np.int32)
    for candidate in (model, copy):
        logits, features = classifier.with_language_features(candidate)({"input_ids": ids,
                                                                           "input_mask": np.ones_like(ids)})
        assert logits.shape == (1, len(LABELS)) and features.shape == (1, tiny_corpus.checkpoint.config.hidden_size)
