"""preprocessing_fn, called eagerly on dense [batch, 1] inputs as Transform parses them."""

import pytest
import tensorflow as tf

from models.features import INPUT_IDS, INPUT_MASK, LABEL_ID, LANG, TOKEN_COUNT, TRUNCATED, UNKNOWN_COUNT
from models.tokenizer.text_encoder import encode_texts, load_tokenizer_asset, make_tokenizer
from components.transform.transform_module import preprocessing_fn

CONFIG = {"encoder": "e5-small", "max_seq_length": 16, "labels": ["food", "greetings", "money"]}


def _inputs(rows):
    return {key: tf.constant([[row[i]] for row in rows]) for i, key in enumerate(("text", "label", "lang"))}


def test_outputs_and_label_ids():
    rows = [("Привіт, як справи?", "greetings", "uk"), ("我喜欢吃饭", "food", "zh"), ("Money money", "money", "en")]
    outputs = preprocessing_fn(_inputs(rows), CONFIG)
    assert sorted(outputs) == sorted([INPUT_IDS, INPUT_MASK, LABEL_ID, LANG, TOKEN_COUNT, TRUNCATED, UNKNOWN_COUNT])
    assert outputs[INPUT_IDS].shape == (3, 16) and outputs[INPUT_IDS].dtype == tf.int64
    assert outputs[LABEL_ID].numpy().tolist() == [1, 0, 2]
    assert outputs[LANG].numpy().ravel().tolist() == [b"uk", b"zh", b"en"]


def test_same_ids_as_the_serving_encoder():
    asset = load_tokenizer_asset("e5-small")
    texts = ["سلام دنیا", "こんにちは"]
    served = encode_texts(make_tokenizer(asset), asset, tf.constant(texts), 16)
    transformed = preprocessing_fn(_inputs([(t, "food", "fa") for t in texts]), CONFIG)
    assert transformed[INPUT_IDS].numpy().tolist() == served[INPUT_IDS].numpy().tolist()


def test_an_unknown_label_is_an_error_not_a_silent_class():
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside config.data.labels"):
        preprocessing_fn(_inputs([("hello", "cars", "en")]), CONFIG)
