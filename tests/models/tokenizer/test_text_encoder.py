"""Raw strings -> packed ids in the graph: packing rules, WordPiece checkpoints, ops the server links."""

import pytest
import tensorflow as tf
import tf_keras

from models.features import INPUT_IDS, INPUT_MASK, TOKEN_COUNT, TRUNCATED, UNKNOWN_COUNT
from models.tokenizer.sentencepiece_model import TokenizerAssetError
from models.tokenizer.text_encoder import (
    TextEncoder, encode_texts, load_tokenizer_asset, make_tokenizer, wordpiece_asset,
)

# Op types TF Text 2.12.1's ops_lib registers (the TF Text inside tensorflow/serving 2.13-2.19).
SERVING_TEXT_OPS = {
    "SentencepieceOp", "SentencepieceTokenizeOp", "SentencepieceTokenizeWithOffsetsOp", "CaseFoldUTF8",
    "NormalizeUTF8", "NormalizeUTF8WithOffsetsMap", "RegexSplitWithOffsets", "WordpieceTokenizeWithOffsets",
    "FastWordpieceTokenizeWithOffsets", "FastBertNormalize", "WhitespaceTokenizeWithOffsets",
}
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "##s", "good", "привіт", "你", "好", ",", "!"]


@pytest.fixture(scope="module")
def e5():
    asset = load_tokenizer_asset("e5-small")
    return asset, make_tokenizer(asset)


@pytest.fixture()
def bert_folder(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return str(tmp_path)


def _encode(asset, tokenizer, texts, length):
    return {key: value.numpy().tolist() for key, value in encode_texts(tokenizer, asset, tf.constant(texts), length).items()}


def test_packing_adds_bos_eos_pads_and_truncates(e5):
    asset, tokenizer = e5
    out = _encode(asset, tokenizer, ["Hello world", "Hello " * 20, ""], 6)
    assert out[TOKEN_COUNT] == [2, 20, 0] and out[TRUNCATED] == [0, 1, 0] and out[UNKNOWN_COUNT] == [0, 0, 0]
    assert out[INPUT_IDS][0][0] == 0 and out[INPUT_IDS][0][3] == 2 and out[INPUT_IDS][0][4:] == [1, 1]
    assert out[INPUT_IDS][1][0] == 0 and out[INPUT_IDS][1][-1] == 2 and 1 not in out[INPUT_IDS][1]
    assert out[INPUT_IDS][2] == [0, 2, 1, 1, 1, 1]
    assert out[INPUT_MASK] == [[1, 1, 1, 1, 0, 0], [1] * 6, [1, 1, 0, 0, 0, 0]]


def test_dense_batch_of_shape_n_by_1_is_accepted(e5):
    asset, tokenizer = e5
    out = encode_texts(tokenizer, asset, tf.constant([["hello"], ["world"]]), 8)
    assert out[INPUT_IDS].shape == (2, 8)
    with pytest.raises(ValueError):
        encode_texts(tokenizer, asset, tf.constant(["x"]), 2)


def test_wordpiece_checkpoint_folder(bert_folder):
    asset = load_tokenizer_asset(bert_folder)
    assert asset.kind == "wordpiece" and asset.lowercase and asset.special_ids == {"bos": 2, "eos": 3, "pad": 0, "unk": 1}
    out = _encode(asset, make_tokenizer(asset), ["Hello worlds!", "Привіт 你好 zebra"], 10)
    assert out[INPUT_IDS][0] == [2, 4, 5, 6, 12, 3, 0, 0, 0, 0]
    assert out[INPUT_IDS][1][:6] == [2, 8, 9, 10, 1, 3] and out[UNKNOWN_COUNT] == [0, 1]


def test_wordpiece_needs_the_bert_special_tokens(tmp_path):
    with pytest.raises(TokenizerAssetError, match=r"\[CLS\]"):
        wordpiece_asset(("[PAD]", "[UNK]", "[SEP]"), lowercase=True)
    with pytest.raises(TokenizerAssetError, match="neither"):
        load_tokenizer_asset(str(tmp_path))


def _text_ops(asset):
    tokenizer = make_tokenizer(asset)
    graph = tf.function(lambda texts: encode_texts(tokenizer, asset, texts, 16)).get_concrete_function(
        tf.TensorSpec([None], tf.string)).graph
    ops = {op.type for op in graph.get_operations()}
    for function in graph.as_graph_def().library.function:
        ops |= {node.op for node in function.node_def}
    return {op for op in ops if not hasattr(tf.raw_ops, op)}


def test_only_ops_the_serving_image_links(e5, bert_folder):
    for asset in (e5[0], load_tokenizer_asset(bert_folder)):
        custom = _text_ops(asset)
        assert custom and custom <= SERVING_TEXT_OPS, custom


def test_keras_layer_survives_a_saved_model_round_trip(e5, tmp_path):
    asset, _ = e5
    texts = tf_keras.Input(shape=(), dtype=tf.string)
    model = tf_keras.Model(texts, TextEncoder(asset, 12)(texts))
    expected = model(tf.constant(["Привіт світ", "你好"]))
    model.save(str(tmp_path / "encoder"))
    restored = tf.saved_model.load(str(tmp_path / "encoder"))
    outputs = list(restored.signatures["serving_default"](tf.constant(["Привіт світ", "你好"])).values())
    assert sorted(o.numpy().tolist() for o in outputs) == sorted(
        v.numpy().tolist() for v in (expected[INPUT_IDS], expected[INPUT_MASK]))
