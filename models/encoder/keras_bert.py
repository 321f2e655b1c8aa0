"""A post-LayerNorm BERT encoder in tf_keras, built from the neutral checkpoint form.

The functional graph is flat (embeddings → N transformer blocks → masked mean pooling), so
`tf_keras.models.clone_model` can wrap each `TransformerBlock` for tensorflow-model-optimization pruning; each
block is a `PrunableLayer` whose prunable weights are its six kernels (attention q/k/v/output, FFN in/out).
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras

from models import features
from models.encoder.checkpoint import EncoderCheckpoint, EncoderConfig

_MASKED_SCORE = -1e9
# The layers' call methods have no data-dependent Python control flow; skipping AutoGraph's source
# conversion (do_not_convert) cuts graph-building time several-fold.


class TokenEmbeddings(tf_keras.layers.Layer):
    """Word + position (from 0) + token-type-0 embeddings, then LayerNorm and dropout.

    `word_dtype="int8"` stores the word embedding (most of a multilingual encoder's bytes) as int8 rows with one
    float32 scale each (`word_scale`); the rows a call looks up are dequantized after the gather (inference only).
    """

    def __init__(self, vocab_size: int, hidden_size: int, max_positions: int, layer_norm_eps: float,
                 dropout_rate: float = 0.0, freeze_word_embeddings: bool = False, word_dtype: str = "float32",
                 **kwargs):
        super().__init__(**kwargs)
        if word_dtype not in ("float32", "int8"):
            raise ValueError(f"word_dtype must be float32 or int8, got {word_dtype!r}")
        self.vocab_size, self.hidden_size, self.max_positions = vocab_size, hidden_size, max_positions
        self.layer_norm_eps, self.dropout_rate = layer_norm_eps, dropout_rate
        self.freeze_word_embeddings, self.word_dtype = freeze_word_embeddings, word_dtype
        self.norm = tf_keras.layers.LayerNormalization(epsilon=layer_norm_eps, name="norm")
        self.dropout = tf_keras.layers.Dropout(dropout_rate)

    def build(self, input_shape):
        if self.word_dtype == "int8":
            self.word = self.add_weight("word", shape=(self.vocab_size, self.hidden_size), dtype=tf.int8,
                                        initializer="zeros", trainable=False)
            self.word_scale = self.add_weight("word_scale", shape=(self.vocab_size,), initializer="ones",
                                              trainable=False)
        else:
            self.word = self.add_weight("word", shape=(self.vocab_size, self.hidden_size),
                                        trainable=not self.freeze_word_embeddings)
        self.position = self.add_weight("position", shape=(self.max_positions, self.hidden_size))
        self.token_type = self.add_weight("token_type", shape=(self.hidden_size,))
        self.norm.build((None, None, self.hidden_size))
        super().build(input_shape)

    @tf.autograph.experimental.do_not_convert
    def call(self, input_ids, training=None):
        length = tf.shape(input_ids)[1]
        words = tf.gather(self.word, input_ids)
        if self.word_dtype == "int8":
            words = tf.cast(words, tf.float32) * tf.expand_dims(tf.gather(self.word_scale, input_ids), -1)
        embedded = words + self.position[tf.newaxis, :length] + self.token_type
        return self.dropout(self.norm(embedded), training=training)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
                "max_positions": self.max_positions, "layer_norm_eps": self.layer_norm_eps,
                "dropout_rate": self.dropout_rate, "freeze_word_embeddings": self.freeze_word_embeddings,
                "word_dtype": self.word_dtype}


class TransformerBlock(tf_keras.layers.Layer, tfmot.sparsity.keras.PrunableLayer):
    """One post-LN BERT layer: LN(x + Attention(x)), then LN(x + FFN(x)) with exact-erf GELU.

    Called on [hidden [B, T, H] float32, input_mask [B, T] int]; padded positions are never attended to.
    """

    def __init__(self, hidden_size: int, num_heads: int, intermediate_size: int, layer_norm_eps: float,
                 dropout_rate: float = 0.0, kernel_dtype: str = "float32", **kwargs):
        super().__init__(**kwargs)
        self.hidden_size, self.num_heads, self.intermediate_size = hidden_size, num_heads, intermediate_size
        # "bfloat16" stores the six kernels in half the bytes (inference only: the matmuls run in bfloat16 with
        # float32 inputs cast per call; biases, LayerNorms and the softmax stay float32).
        self.kernel_dtype = kernel_dtype
        self.layer_norm_eps, self.dropout_rate = layer_norm_eps, dropout_rate
        self.attention_norm = tf_keras.layers.LayerNormalization(epsilon=layer_norm_eps, name="attention_norm")
        self.output_norm = tf_keras.layers.LayerNormalization(epsilon=layer_norm_eps, name="output_norm")
        self.dropout = tf_keras.layers.Dropout(dropout_rate)

    def build(self, input_shape):
        h, f = self.hidden_size, self.intermediate_size
        self.kernels: Dict[str, tf.Variable] = {}
        self.biases: Dict[str, tf.Variable] = {}
        for name, shape in (("query", (h, h)), ("key", (h, h)), ("value", (h, h)), ("attention_output", (h, h)),
                            ("intermediate", (h, f)), ("output", (f, h))):
            self.kernels[name] = self.add_weight(f"{name}/kernel", shape=shape, dtype=self.kernel_dtype)
            self.biases[name] = self.add_weight(f"{name}/bias", shape=(shape[1],), initializer="zeros")
        self.attention_norm.build((None, None, h))
        self.output_norm.build((None, None, h))
        super().build(input_shape)

    def get_prunable_weights(self):
        return list(self.kernels.values())

    @tf.autograph.experimental.do_not_convert
    def call(self, inputs, training=None):
        hidden, input_mask = inputs
        attended = self.dropout(self._attention(hidden, input_mask, training), training=training)
        hidden = self.attention_norm(hidden + attended)
        inner = tf.nn.gelu(self._dense(hidden, "intermediate"), approximate=False)
        return self.output_norm(hidden + self.dropout(self._dense(inner, "output"), training=training))

    def intermediate_activations(self, hidden, input_mask):
        """The FFN's GELU outputs [B, T, F] for block input `hidden` (inference: no dropout)."""
        hidden = self.attention_norm(hidden + self._attention(hidden, input_mask, False))
        return tf.nn.gelu(self._dense(hidden, "intermediate"), approximate=False)

    def _dense(self, x, name):
        kernel = self.kernels[name]
        if kernel.dtype == tf.float32:
            return tf.matmul(x, kernel) + self.biases[name]
        return tf.cast(tf.matmul(tf.cast(x, kernel.dtype), kernel), tf.float32) + self.biases[name]

    def _split_heads(self, x):
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        x = tf.reshape(x, [batch, length, self.num_heads, self.hidden_size // self.num_heads])
        return tf.transpose(x, [0, 2, 1, 3])

    def _attention(self, hidden, input_mask, training):
        query, key, value = (self._split_heads(self._dense(hidden, n)) for n in ("query", "key", "value"))
        scores = tf.matmul(query, key, transpose_b=True) / math.sqrt(self.hidden_size // self.num_heads)
        # expand_dims, not [:, newaxis, newaxis, :]: TFLite has no builtin for a new-axis StridedSlice.
        padding = tf.reshape(tf.cast(1 - tf.cast(input_mask, tf.int32), scores.dtype),
                             [tf.shape(input_mask)[0], 1, 1, tf.shape(input_mask)[1]])
        weights = self.dropout(tf.nn.softmax(scores + padding * _MASKED_SCORE, axis=-1), training=training)
        context = tf.transpose(tf.matmul(weights, value), [0, 2, 1, 3])
        context = tf.reshape(context, [tf.shape(hidden)[0], tf.shape(hidden)[1], self.hidden_size])
        return self._dense(context, "attention_output")

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size, "num_heads": self.num_heads,
                "intermediate_size": self.intermediate_size, "layer_norm_eps": self.layer_norm_eps,
                "dropout_rate": self.dropout_rate, "kernel_dtype": self.kernel_dtype}


class MaskedMeanPooling(tf_keras.layers.Layer):
    """Mean of the token vectors where input_mask is 1 (e5's pooling)."""

    @tf.autograph.experimental.do_not_convert
    def call(self, inputs, training=None):
        sequence, input_mask = inputs
        weights = tf.expand_dims(tf.cast(input_mask, sequence.dtype), -1)
        return tf.reduce_sum(sequence * weights, axis=1) / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)


def encode(checkpoint: EncoderCheckpoint, input_ids, input_mask, num_layers: Optional[int] = None,
           freeze_word_embeddings: bool = False, dropout_rate: float = 0.0) -> Tuple[tf.Tensor, tf.Tensor]:
    """Applies checkpoint-initialised encoder layers to symbolic Keras inputs.

    Args:
      checkpoint: the neutral-form weights.
      input_ids: int32 [B, T] Keras input (rows of `checkpoint`'s word embedding).
      input_mask: int32 [B, T] Keras input, 1 for real tokens.
      num_layers: keep the first N transformer blocks (None keeps all).
      freeze_word_embeddings: make the word-embedding matrix non-trainable.
      dropout_rate: hidden and attention dropout while training.

    Returns:
      (sequence output [B, T, H], masked-mean pooled output [B, H]).

    Raises:
      ValueError: num_layers outside 1..checkpoint layers.
    """
    config = checkpoint.config
    layers = _kept_layers(config, num_layers)
    embeddings = TokenEmbeddings(checkpoint.weights["embeddings.word"].shape[0], config.hidden_size,
                                 config.max_positions, config.layer_norm_eps, dropout_rate,
                                 freeze_word_embeddings, name="embeddings")
    hidden = embeddings(input_ids)
    _load_embeddings(embeddings, checkpoint.weights)
    for i in range(layers):
        block = TransformerBlock(config.hidden_size, config.num_heads, config.intermediate_size,
                                 config.layer_norm_eps, dropout_rate, name=f"transformer_block_{i}")
        hidden = block([hidden, input_mask])
        _load_block(block, checkpoint.weights, f"layer.{i}.")
    return hidden, MaskedMeanPooling(name="mean_pooling")([hidden, input_mask])


def build_encoder(checkpoint: EncoderCheckpoint, num_layers: Optional[int] = None,
                  freeze_word_embeddings: bool = False) -> tf_keras.Model:
    """A Keras model {input_ids, input_mask} (int32 [B, T]) → mean-pooled embedding [B, H]."""
    input_ids, input_mask = token_inputs()
    _, pooled = encode(checkpoint, input_ids, input_mask, num_layers, freeze_word_embeddings)
    return tf_keras.Model({features.INPUT_IDS: input_ids, features.INPUT_MASK: input_mask}, pooled,
                          name="encoder")


def token_inputs() -> Tuple[tf.Tensor, tf.Tensor]:
    """The two int32 [batch, any length] Keras inputs every encoder model takes."""
    return (tf_keras.Input(shape=(None,), dtype=tf.int32, name=features.INPUT_IDS),
            tf_keras.Input(shape=(None,), dtype=tf.int32, name=features.INPUT_MASK))


def _kept_layers(config: EncoderConfig, num_layers: Optional[int]) -> int:
    if num_layers is None:
        return config.num_layers
    if not 1 <= num_layers <= config.num_layers:
        raise ValueError(f"num_layers={num_layers}: the checkpoint has {config.num_layers} layers")
    return num_layers


def _load_embeddings(layer: TokenEmbeddings, weights: Dict[str, np.ndarray]) -> None:
    layer.word.assign(weights["embeddings.word"])
    layer.position.assign(weights["embeddings.position"])
    layer.token_type.assign(weights["embeddings.token_type"][0])
    layer.norm.set_weights([weights["embeddings.norm.gamma"], weights["embeddings.norm.beta"]])


_BLOCK_TENSORS = {"query": "attention.query", "key": "attention.key", "value": "attention.value",
                  "attention_output": "attention.output", "intermediate": "ffn.intermediate",
                  "output": "ffn.output"}


def _load_block(block: TransformerBlock, weights: Dict[str, np.ndarray], prefix: str) -> None:
    for name, neutral in _BLOCK_TENSORS.items():
        block.kernels[name].assign(weights[f"{prefix}{neutral}.kernel"])
        block.biases[name].assign(weights[f"{prefix}{neutral}.bias"])
    block.attention_norm.set_weights([weights[f"{prefix}attention_norm.gamma"],
                                      weights[f"{prefix}attention_norm.beta"]])
    block.output_norm.set_weights([weights[f"{prefix}output_norm.gamma"], weights[f"{prefix}output_norm.beta"]])
