"""Structured pruning of the transformer FFNs: whole intermediate units removed, so the kernels get smaller.

Magnitude pruning (`classifier.prunable_copy`) zeroes weights inside matrices of unchanged shape: the zeros are
stored and multiplied. Here every block keeps only its most important FFN intermediate units and is rebuilt with
a smaller `intermediate_size`: the intermediate kernel [H, F] becomes [H, k], the output kernel [F, H] becomes
[k, H], and the FFN (about two thirds of a block's matmul FLOPs at short lengths) does k/F of the work. The
exported SavedModel is the same graph with smaller Dense matmuls.

A unit's importance is what it contributes: its mean |GELU output| over the real tokens of a few training
batches times the L2 norm of its output kernel row (`activation_importance`). Without batches, the weights alone
stand in for the activation: the L2 norm of its intermediate kernel column (`unit_importance`). Every block keeps
the same number of units, so the block config stays one number.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf
import tf_keras

from models.encoder.keras_bert import TransformerBlock


def unit_importance(block: TransformerBlock) -> np.ndarray:
    """[F] importance of each FFN intermediate unit: |intermediate column|₂ · |output row|₂."""
    reads = np.linalg.norm(np.asarray(block.kernels["intermediate"].numpy(), np.float32), axis=0)
    writes = np.linalg.norm(np.asarray(block.kernels["output"].numpy(), np.float32), axis=1)
    return reads * writes


def activation_importance(model: tf_keras.Model, batches: tf.data.Dataset,
                          max_batches: int = 8) -> Dict[str, np.ndarray]:
    """Per block name, [F] importance of each FFN unit: mean |GELU output| over the real tokens of up to
    `max_batches` batches (ids, mask, label, lang) times |output row|₂."""
    blocks = [layer for layer in model.layers if isinstance(layer, TransformerBlock)]
    sums = {block.name: np.zeros(block.intermediate_size, np.float64) for block in blocks}
    tokens = 0
    for ids, mask, *_ in batches.take(max_batches):
        hidden = model.get_layer("embeddings")(ids, training=False)
        real = tf.cast(mask, tf.float32)[:, :, tf.newaxis]
        for block in blocks:
            inner = block.intermediate_activations(hidden, mask)
            sums[block.name] += tf.reduce_sum(tf.abs(inner) * real, axis=[0, 1]).numpy()
            hidden = block([hidden, mask], training=False)
        tokens += int(tf.reduce_sum(mask))
    return {block.name: (sums[block.name] / max(1, tokens)) *
            np.linalg.norm(np.asarray(block.kernels["output"].numpy(), np.float32), axis=1) for block in blocks}


def kept_size(intermediate_size: int, keep: float) -> int:
    """Units kept of `intermediate_size` at fraction `keep` (at least one).

    Raises:
      ValueError: keep outside (0, 1].
    """
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"ffn_keep must be in (0, 1], got {keep}")
    return max(1, int(round(intermediate_size * keep)))


def kept_units(block: TransformerBlock, size: int, importance: Optional[np.ndarray] = None) -> np.ndarray:
    """The `size` most important units of `block` (`importance`, else `unit_importance`), in their original
    order (ties: the lower index)."""
    scores = unit_importance(block) if importance is None else importance
    order = np.argsort(-scores, kind="stable")
    return np.sort(order[:size])


def intermediate_sizes(model: tf_keras.Model) -> List[int]:
    """Every transformer block's FFN intermediate size, in order."""
    return [layer.intermediate_size for layer in model.layers if isinstance(layer, TransformerBlock)]


def shrunk_copy(model: tf_keras.Model, size: int, units: Dict[str, np.ndarray]) -> tf_keras.Model:
    """The same classifier with every block's FFN cut to `size` units, weights copied.

    Args:
      model: a classifier (`classifier.build_classifier`, possibly trimmed or warm-started).
      size: the new intermediate size of every block.
      units: per block name, the `size` unit indices to keep; a block not named keeps its first `size` units.

    Every block of the copy is trainable (recovery fine-tuning updates them all); other layers keep their flags.
    """
    def rebuild(layer):
        if isinstance(layer, TransformerBlock):
            return TransformerBlock.from_config({**layer.get_config(), "intermediate_size": size,
                                                 "trainable": True})
        return layer.__class__.from_config(layer.get_config())

    copy = tf_keras.models.clone_model(model, clone_function=rebuild)
    for layer in model.layers:
        target = copy.get_layer(layer.name)
        if isinstance(layer, TransformerBlock):
            _copy_block(layer, target, units.get(layer.name, np.arange(size)))
        elif layer.weights:
            target.set_weights(layer.get_weights())
    return copy


def pruned_copy(model: tf_keras.Model, keep: float,
                importance: Optional[Dict[str, np.ndarray]] = None) -> tf_keras.Model:
    """The classifier with each block's `keep` fraction of most important FFN units (per block name in
    `importance`, e.g. `activation_importance`; else `unit_importance`)."""
    blocks = [layer for layer in model.layers if isinstance(layer, TransformerBlock)]
    size = kept_size(blocks[0].intermediate_size, keep)
    return shrunk_copy(model, size, {block.name: kept_units(block, size, (importance or {}).get(block.name))
                                     for block in blocks})


def _copy_block(source: TransformerBlock, target: TransformerBlock, units: np.ndarray) -> None:
    """Copies `source`'s weights into the smaller `target`, the FFN's columns / rows `units` only."""
    for name, kernel in source.kernels.items():
        value = kernel.numpy()
        bias = source.biases[name].numpy()
        if name == "intermediate":
            value, bias = value[:, units], bias[units]
        elif name == "output":
            value = value[units, :]
        target.kernels[name].assign(tf.cast(value, target.kernels[name].dtype))
        target.biases[name].assign(bias)
    target.attention_norm.set_weights(source.attention_norm.get_weights())
    target.output_norm.set_weights(source.output_norm.get_weights())
