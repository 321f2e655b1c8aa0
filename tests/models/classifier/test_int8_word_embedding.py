"""The int8 word embedding: a quarter of the embedding's bytes, the same answers, exported, read back by warm
start as the float rows it stands for, and gated like every compression step."""

import numpy as np
import pytest
import tensorflow as tf

from models import features
from models.classifier import classifier, export, vocabulary_trim, warm_start
from models.classifier.training import predictor
from tiny_model import LABELS, TinyPreprocessing

IDS = np.array([[0, 5, 6, 7, 2, 1], [0, 9, 11, 2, 1, 1]], np.int32)
MASK = (IDS != 1).astype(np.int32)


def test_quantize_rows_is_symmetric_per_row_within_half_a_step():
    rng = np.random.default_rng(0)
    matrix = rng.normal(0, 1, (6, 16)).astype(np.float32) * np.array([[0.01], [0.1], [1], [10], [3], [0]])
    rows, scale = classifier.quantize_rows(matrix)
    assert rows.dtype == np.int8 and scale.dtype == np.float32
    assert scale[-1] == 1.0 and not rows[-1].any()  # an all-zero row stays zero with a harmless scale
    np.testing.assert_array_equal(np.abs(rows[:-1]).max(axis=1), 127)  # each row's largest value uses the range
    error = np.abs(rows.astype(np.float32) * scale[:, None] - matrix)
    assert np.all(error <= scale[:, None] / 2 + 1e-7)


@pytest.fixture(scope="module")
def model_pair(tiny_corpus):
    model = classifier.build_classifier(tiny_corpus.checkpoint, len(LABELS), seed=2)
    return model, classifier.int8_word_embedding_copy(model)


def test_int8_copy_stores_a_quarter_of_the_embedding_bytes_and_answers_like_float32(model_pair):
    model, converted = model_pair
    word, embedding = model.get_layer("embeddings").word, converted.get_layer("embeddings")
    assert embedding.word.dtype == tf.int8 and embedding.word_scale.shape == (word.shape[0],)
    assert embedding.word.shape == word.shape
    float_bytes = word.shape[0] * word.shape[1] * 4
    int8_bytes = word.shape[0] * word.shape[1] + word.shape[0] * 4
    assert int8_bytes < 0.3 * float_bytes
    dense, quantized = predictor(model)(IDS, MASK).numpy(), predictor(converted)(IDS, MASK).numpy()
    np.testing.assert_array_equal(np.argmax(dense, 1), np.argmax(quantized, 1))
    np.testing.assert_allclose(quantized, dense, atol=0.02 * np.abs(dense).max())
    # every other weight is copied as is
    for layer in model.layers:
        if layer.name != "embeddings":
            for a, b in zip(layer.get_weights(), converted.get_layer(layer.name).get_weights()):
                np.testing.assert_array_equal(a, b)


def test_an_int8_embedding_is_not_quantized_twice(model_pair):
    with pytest.raises(ValueError, match="int8 already"):
        classifier.int8_word_embedding_copy(model_pair[1])


def test_exported_int8_embedding_serves_and_warm_start_reads_float_rows(model_pair, tiny_corpus, tmp_path):
    model, converted = model_pair
    rows = tiny_corpus.checkpoint.config.vocab_size
    remap = np.arange(rows, dtype=np.int32)
    paths = {}
    for name, candidate in (("float", model), ("int8", converted)):
        module = export.ServingModule(candidate, TinyPreprocessing(tiny_corpus.asset), tiny_corpus.raw_spec, remap,
                                      LABELS)
        paths[name] = export.export_saved_model(module, str(tmp_path / name))
    texts = tf.constant(["pizza bread soup today cheese", "football goal the match"])
    served = {name: tf.saved_model.load(path).signatures["serving_default"](**{features.TEXT: texts})
              for name, path in paths.items()}
    np.testing.assert_array_equal(served["float"]["label"].numpy(), served["int8"]["label"].numpy())
    blessed = warm_start.read_blessed(paths["int8"])
    word = blessed.weights[(warm_start.WORD_EMBEDDING, 0)]
    assert word.dtype == np.float32 and all(name != "embeddings/word_scale" for name, _ in blessed.weights)
    original = model.get_layer("embeddings").word.numpy()
    np.testing.assert_allclose(word, original, atol=np.abs(original).max() / 127)
    fresh = classifier.build_classifier(tiny_corpus.checkpoint, len(LABELS), seed=5)
    identity = vocabulary_trim.identity_trim(rows, tiny_corpus.checkpoint.vocabulary.unk_id)
    used = warm_start.copy_blessed_weights(fresh, identity, tiny_corpus.checkpoint.vocabulary.unk_id, LABELS, blessed)
    assert used["used"] and used["embedding_rows"] > 0


def test_the_trainer_reports_the_int8_embedding_verdict(trained_tiny):
    verdict = trained_tiny.report["int8_word_embedding"]
    embedding = trained_tiny.model.get_layer("embeddings")
    assert verdict["kept"] == (embedding.word_dtype == "int8")
    assert set(verdict["reports"]) >= {"eval"}
    if verdict["kept"]:
        rows, width = embedding.word.shape
        assert verdict["saved_bytes"] == rows * width * 3 - rows * 4
    else:
        assert verdict["saved_bytes"] == 0 and verdict["failures"]
