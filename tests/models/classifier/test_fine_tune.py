"""The training recipe on a tiny corpus: learns, prunes to the target, trims the vocabulary, reports."""

import dataclasses

import numpy as np
import pytest

from models.encoder.synthetic import sentencepiece_vocabulary
from models.classifier import datasets, vocabulary_trim
from models.classifier.fine_tune import PruningToleranceError, Recipe, train_classifier
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


def test_vocabulary_is_trimmed_to_the_corpus_and_margin(trained_tiny, tiny_corpus):
    vocabulary = trained_tiny.report["vocabulary"]
    assert vocabulary["kept_rows"] < vocabulary["full_rows"] == tiny_corpus.checkpoint.config.vocab_size
    assert vocabulary["eval_unknown_rate"] == 0.0
    assert trained_tiny.model.get_layer("embeddings").word.shape[0] == vocabulary["kept_rows"]


def test_pruning_beyond_the_tolerance_fails_with_the_numbers(tiny_corpus, tmp_path):
    train, evaluation = split_datasets(tiny_corpus, tmp_path)
    recipe = Recipe(**dict(FAST_RECIPE, epochs=1, pruning_epochs=1, pruning_tolerance=-1.0))  # unreachable
    with pytest.raises(PruningToleranceError, match=r"dropped eval macro-F1 from .* model.pruning_tolerance=-1.0"):
        train_classifier(tiny_corpus.checkpoint, train, evaluation, LABELS, recipe)


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
