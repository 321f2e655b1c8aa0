"""Raw strings -> (input_ids, input_mask) in the TensorFlow graph, the same way in Transform and in serving.

A `TokenizerAsset` describes the encoder's vocabulary (a SentencePiece ModelProto for e5 / XLM-R, or a
WordPiece vocab.txt for Hugging Face BERT checkpoints) and its special ids. `encode_texts` is the one
function that turns strings into fixed-length ids; Transform's preprocessing_fn and the serving layer
`TextEncoder` both call it, so training and serving cannot tokenize differently.

Only ops that TF Text 2.12.1's `ops_lib` links (the version inside tensorflow/serving 2.13-2.19) are used:
SentencepieceOp / SentencepieceTokenizeOp, or CaseFoldUTF8 / NormalizeUTF8 / RegexSplitWithOffsets /
WordpieceTokenizeWithOffsets; packing uses core ragged ops, never the TF Text trimmers (RoundRobinTrim is
not linked there).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Dict, Tuple

import tensorflow as tf
import tensorflow_text as tf_text
import tf_keras

from models.features import INPUT_IDS, INPUT_MASK, TOKEN_COUNT, TRUNCATED, UNKNOWN_COUNT
from models.tokenizer import sentencepiece_model
from models.tokenizer.sentencepiece_model import TokenizerAssetError

SENTENCEPIECE = "sentencepiece"
WORDPIECE = "wordpiece"
E5_SMALL = "e5-small"
_WORDPIECE_SPECIALS = {"bos": "[CLS]", "eos": "[SEP]", "pad": "[PAD]", "unk": "[UNK]"}


@dataclasses.dataclass(frozen=True)
class TokenizerAsset:
    """Everything needed to build the in-graph tokenizer of one encoder.

    Attributes:
      kind: SENTENCEPIECE or WORDPIECE.
      special_ids: ids of "bos", "eos", "pad", "unk" (for WordPiece: [CLS], [SEP], [PAD], [UNK]).
      model: the serialized SentencePiece ModelProto (SENTENCEPIECE only).
      vocab: the WordPiece tokens in id order (WORDPIECE only).
      lowercase: whether WordPiece input is lower-cased and accent-stripped first.
    """

    kind: str
    special_ids: Dict[str, int]
    model: bytes = b""
    vocab: Tuple[str, ...] = ()
    lowercase: bool = False


def wordpiece_asset(vocab: Tuple[str, ...], lowercase: bool, source: str = "vocab.txt") -> TokenizerAsset:
    """A WordPiece asset from BERT tokens (id = position); the four BERT special tokens must be present."""
    index = {token: i for i, token in enumerate(vocab)}
    missing = [token for token in _WORDPIECE_SPECIALS.values() if token not in index]
    if missing:
        raise TokenizerAssetError(f"{source}: special token(s) {', '.join(missing)} not in the vocabulary")
    special_ids = {role: index[token] for role, token in _WORDPIECE_SPECIALS.items()}
    return TokenizerAsset(WORDPIECE, special_ids, vocab=tuple(vocab), lowercase=lowercase)


def load_tokenizer_asset(encoder: str) -> TokenizerAsset:
    """Returns the asset of `config.model.encoder`: "e5-small" or a Hugging Face BERT folder with vocab.txt.

    Raises:
      TokenizerAssetError: the source is neither, or its files are missing or inconsistent.
    """
    if encoder == E5_SMALL:
        return TokenizerAsset(SENTENCEPIECE, dict(sentencepiece_model.XLMR_SPECIAL_IDS),
                              model=sentencepiece_model.e5_model_proto())
    vocab_path = os.path.join(encoder, "vocab.txt")
    if not os.path.isfile(vocab_path):
        raise TokenizerAssetError(f"encoder {encoder!r} is neither {E5_SMALL!r} nor a folder with vocab.txt")
    with open(vocab_path, encoding="utf-8") as handle:
        vocab = tuple(line.rstrip("\n") for line in handle)
    return wordpiece_asset(vocab, _is_uncased(encoder, vocab), vocab_path)


def _is_uncased(folder: str, vocab: Tuple[str, ...]) -> bool:
    config_path = os.path.join(folder, "tokenizer_config.json")
    if os.path.isfile(config_path):
        with open(config_path, encoding="utf-8") as handle:
            flag = json.load(handle).get("do_lower_case")
        if flag is not None:
            return bool(flag)
    return all(token == token.lower() for token in vocab if not token.startswith("["))


def make_tokenizer(asset: TokenizerAsset):
    """Builds the TF Text tokenizer of an asset (call it where its resources should live: in the graph
    being traced, or in a Keras layer's constructor so the SavedModel tracks it)."""
    if asset.kind == SENTENCEPIECE:
        return tf_text.SentencepieceTokenizer(model=asset.model, out_type=tf.int32)
    table = tf.lookup.StaticVocabularyTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(asset.vocab), tf.range(len(asset.vocab), dtype=tf.int64)),
        num_oov_buckets=1)
    return tf_text.BertTokenizer(table, token_out_type=tf.int64, lower_case=asset.lowercase,
                                 unknown_token=asset.vocab[asset.special_ids["unk"]])


def tokenize(tokenizer, asset: TokenizerAsset, texts: tf.Tensor) -> tf.RaggedTensor:
    """Piece ids [batch, (pieces)] of a batch of raw UTF-8 strings, without special tokens."""
    pieces = tokenizer.tokenize(texts)
    if asset.kind == WORDPIECE:
        pieces = pieces.merge_dims(-2, -1)
    return tf.cast(pieces, tf.int64)


def encode_texts(tokenizer, asset: TokenizerAsset, texts: tf.Tensor, max_seq_length: int) -> Dict[str, tf.Tensor]:
    """Tokenizes and packs `texts` as `bos pieces eos pad...`, truncating the pieces to fit.

    Args:
      tokenizer: from `make_tokenizer(asset)`.
      asset: the tokenizer asset.
      texts: tf.string [batch] of raw UTF-8 text.
      max_seq_length: the packed length, special tokens included (at least 3).

    Returns:
      int64 tensors keyed by the feature names: input_ids, input_mask [batch, max_seq_length] and
      token_count (pieces before truncation), unknown_count, truncated (0/1) [batch].
    """
    if max_seq_length < 3:
        raise ValueError(f"max_seq_length must be at least 3 (bos, one piece, eos), got {max_seq_length}")
    ids = asset.special_ids
    pieces = tokenize(tokenizer, asset, tf.reshape(texts, [-1]))
    token_count = pieces.row_lengths()
    kept = pieces[:, : max_seq_length - 2]
    batch = kept.nrows()
    bos = tf.fill([batch, 1], tf.constant(ids["bos"], tf.int64))
    eos = tf.fill([batch, 1], tf.constant(ids["eos"], tf.int64))
    packed = tf.concat([bos, kept, eos], axis=1)
    shape = [None, max_seq_length]
    return {
        INPUT_IDS: packed.to_tensor(default_value=ids["pad"], shape=shape),
        INPUT_MASK: tf.ones_like(packed).to_tensor(default_value=0, shape=shape),
        TOKEN_COUNT: token_count,
        UNKNOWN_COUNT: tf.reduce_sum(tf.cast(tf.equal(pieces, ids["unk"]), tf.int64), axis=1),
        TRUNCATED: tf.cast(token_count > max_seq_length - 2, tf.int64),
    }


class TextEncoder(tf_keras.layers.Layer):
    """Keras layer: tf.string [batch] -> {"input_ids", "input_mask"} int64 [batch, max_seq_length].

    The layer owns the tokenizer's resources, so a SavedModel that contains it carries the vocabulary.
    """

    def __init__(self, asset: TokenizerAsset, max_seq_length: int, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self._asset = asset
        self._max_seq_length = max_seq_length
        self._tokenizer = make_tokenizer(asset)

    def call(self, texts: tf.Tensor) -> Dict[str, tf.Tensor]:
        encoded = encode_texts(self._tokenizer, self._asset, texts, self._max_seq_length)
        return {INPUT_IDS: encoded[INPUT_IDS], INPUT_MASK: encoded[INPUT_MASK]}
