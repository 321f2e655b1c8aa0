"""Structured FFN pruning: the most important units kept in physically smaller kernels, gated per language,
exported and refused by warm start as another architecture."""

import numpy as np
import pytest
import tensorflow as tf

from models.classifier import classifier, export, structured_pruning, vocabulary_trim, warm_start
from models.classifier.fine_tune import Recipe, train_classifier
from models.encoder.keras_bert import TransformerBlock
from tiny_model import FAST_RECIPE, LABELS, TinyPreprocessing, split_datasets

FFN_RECIPE = dict(FAST_RECIPE, epochs=1, target_sparsity=0.0, ffn_keep=0.5, ffn_recovery_steps=4)


def _blocks(model):
    return [layer for layer in model.layers if isinstance(layer, TransformerBlock)]


def _inputs(corpus, rows=6, length=9):
    rng = np.random.default_rng(0)
    ids = rng.integers(3, corpus.checkpoint.config.vocab_size, size=(rows, length)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[:, 6:] = 0
    return {"input_ids": tf.constant(ids), "input_mask": tf.constant(mask)}


@pytest.fixture(scope="module")
def dense(tiny_corpus):
    model = classifier.build_classifier(tiny_corpus.checkpoint, len(LABELS), seed=2)
    rng = np.random.default_rng(4)  # a label prior that is not the identity, so its weights must be copied
    model.get_layer("label_prior").set_prior(rng.normal(size=(len(LABELS), 32)).astype(np.float32), 2.0)
    return model


def test_kept_units_are_the_most_important_ones(dense):
    pruned = structured_pruning.pruned_copy(dense, 0.5)
    for source, target in zip(_blocks(dense), _blocks(pruned)):
        importance = structured_pruning.unit_importance(source)
        size = target.intermediate_size
        kept = structured_pruning.kept_units(source, size)
        dropped = np.setdiff1d(np.arange(source.intermediate_size), kept)
        assert importance[kept].min() >= importance[dropped].max()
        np.testing.assert_array_equal(target.kernels["intermediate"].numpy(),
                                      source.kernels["intermediate"].numpy()[:, kept])
        np.testing.assert_array_equal(target.kernels["output"].numpy(), source.kernels["output"].numpy()[kept])
        np.testing.assert_array_equal(target.biases["intermediate"].numpy(),
                                      source.biases["intermediate"].numpy()[kept])


def test_activation_importance_weighs_each_units_mean_activation_by_its_output_row(dense, tiny_corpus):
    inputs = _inputs(tiny_corpus)
    batches = tf.data.Dataset.from_tensors((inputs["input_ids"], inputs["input_mask"], tf.zeros([6], tf.int32),
                                            tf.fill([6], "en")))
    importance = structured_pruning.activation_importance(dense, batches)
    first = _blocks(dense)[0]
    hidden = dense.get_layer("embeddings")(inputs["input_ids"])
    inner = first.intermediate_activations(hidden, inputs["input_mask"]).numpy()[:, :6]  # the real tokens
    expected = np.abs(inner).mean(axis=(0, 1)) * np.linalg.norm(first.kernels["output"].numpy(), axis=1)
    np.testing.assert_allclose(importance[first.name], expected, rtol=1e-4)
    pruned = structured_pruning.pruned_copy(dense, 0.5, importance)
    kept = structured_pruning.kept_units(first, first.intermediate_size // 2, importance[first.name])
    assert kept.tolist() == sorted(np.argsort(-importance[first.name])[:len(kept)].tolist())
    np.testing.assert_array_equal(_blocks(pruned)[0].kernels["output"].numpy(), first.kernels["output"].numpy()[kept])


def test_pruned_kernels_are_physically_smaller(dense):
    pruned = structured_pruning.pruned_copy(dense, 0.25)
    full = _blocks(dense)[0].intermediate_size
    assert structured_pruning.intermediate_sizes(pruned) == [full // 4] * len(_blocks(dense))
    for block in _blocks(pruned):
        hidden = block.hidden_size
        assert tuple(block.kernels["intermediate"].shape) == (hidden, full // 4)
        assert tuple(block.kernels["output"].shape) == (full // 4, hidden)
    assert pruned.count_params() == dense.count_params() - len(_blocks(dense)) * (full - full // 4) * (2 * hidden + 1)


def test_keeping_every_unit_reproduces_the_dense_outputs(dense, tiny_corpus):
    inputs = _inputs(tiny_corpus)
    copy = structured_pruning.pruned_copy(dense, 1.0)
    np.testing.assert_array_equal(copy(inputs, training=False).numpy(), dense(inputs, training=False).numpy())
    reordered = structured_pruning.shrunk_copy(  # the same units in another order: the same function
        dense, _blocks(dense)[0].intermediate_size,
        {block.name: np.arange(block.intermediate_size)[::-1] for block in _blocks(dense)})
    np.testing.assert_allclose(reordered(inputs, training=False).numpy(), dense(inputs, training=False).numpy(),
                               atol=1e-5)


def test_keep_outside_the_unit_interval_is_refused():
    with pytest.raises(ValueError, match="ffn_keep must be in"):
        structured_pruning.kept_size(64, 0.0)


def test_gate_keeps_the_full_ffn_when_the_tolerance_is_unreachable(tiny_corpus, tmp_path):
    train, evaluation = split_datasets(tiny_corpus, tmp_path)
    trained = train_classifier(tiny_corpus.checkpoint, train, evaluation, LABELS,
                               Recipe(**dict(FFN_RECIPE, pruning_tolerance=-1.0, trim_vocabulary=False)))
    report = trained.report["structured_pruning"]
    full = tiny_corpus.checkpoint.config.intermediate_size
    assert not report["kept"] and report["failures"][0].startswith("eval ")
    assert report["intermediate_size"] == full and report["pruned_intermediate_size"] == full // 2
    assert report["recovery"]["steps"] == 4 and set(report["reports"]) == {"eval"}
    assert structured_pruning.intermediate_sizes(trained.model) == [full] * len(_blocks(trained.model))


def test_kept_pruned_model_trims_exports_smaller_and_warm_start_falls_back(tiny_corpus, tmp_path):
    train, evaluation = split_datasets(tiny_corpus, tmp_path)
    trained = train_classifier(tiny_corpus.checkpoint, train, evaluation, LABELS,
                               Recipe(**dict(FFN_RECIPE, pruning_tolerance=1.0)))
    full = tiny_corpus.checkpoint.config.intermediate_size
    assert trained.report["structured_pruning"]["kept"] and trained.report["vocabulary"]["trimmed"]
    assert structured_pruning.intermediate_sizes(trained.model) == [full // 2] * len(_blocks(trained.model))
    sizes = {}
    for name, model, remap in (("pruned", trained.model, trained.trim.remap),
                               ("dense", classifier.build_classifier(tiny_corpus.checkpoint, len(LABELS)),
                                np.arange(tiny_corpus.checkpoint.config.vocab_size, dtype=np.int32))):
        path = str(tmp_path / name)
        export.export_saved_model(export.ServingModule(model, TinyPreprocessing(tiny_corpus.asset),
                                                       tiny_corpus.raw_spec, remap, LABELS), path)
        sizes[name] = export.saved_model_bytes(path)
    served = tf.saved_model.load(str(tmp_path / "pruned")).signatures["serving_default"]
    probabilities = served(text=tf.constant([tiny_corpus.eval_rows[0][0]]))[export.PROBABILITIES].numpy()
    assert probabilities.shape == (1, len(LABELS)) and abs(probabilities.sum() - 1) < 1e-4
    assert sizes["pruned"] < sizes["dense"]
    fresh = classifier.build_classifier(tiny_corpus.checkpoint, len(LABELS))
    identity = vocabulary_trim.identity_trim(tiny_corpus.checkpoint.config.vocab_size,
                                             tiny_corpus.checkpoint.vocabulary.unk_id)
    fallback = warm_start.initialize(fresh, identity, tiny_corpus.checkpoint.vocabulary.unk_id, LABELS,
                                     str(tmp_path / "pruned"))
    assert fallback["used"] is False and "encoder architecture changed" in fallback["reason"]
    assert f"FFN size {full // 2}" in fallback["reason"] and f"FFN size {full}" in fallback["reason"]
    assert "first differing weight: transformer_block_0/intermediate" in fallback["reason"]

