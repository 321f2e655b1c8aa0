"""The topic classifier (pretrained encoder + mean pooling + linear head) and its magnitude-pruning phase."""

from __future__ import annotations

import gzip
from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras
from tensorflow_model_optimization.python.core.sparsity.keras.pruning_wrapper import PruneLowMagnitude

from models.encoder.checkpoint import EncoderCheckpoint
from models.encoder.keras_bert import TransformerBlock, encode, token_inputs

POOLING_LAYER = "mean_pooling"
HEAD_LAYER = "classifier"


def build_classifier(checkpoint: EncoderCheckpoint, num_labels: int, num_layers: Optional[int] = None,
                     freeze_word_embeddings: bool = True, dropout_rate: float = 0.1,
                     seed: int = 0) -> tf_keras.Model:
    """A flat functional model {input_ids, input_mask} int32 [B, L] → logits float32 [B, num_labels].

    Flat (no nested models) so that `prunable_copy` can wrap every transformer block.
    """
    input_ids, input_mask = token_inputs()
    _, pooled = encode(checkpoint, input_ids, input_mask, num_layers, freeze_word_embeddings, dropout_rate)
    pooled = tf_keras.layers.Dropout(dropout_rate, seed=seed, name="head_dropout")(pooled)
    head = tf_keras.layers.Dense(num_labels, name=HEAD_LAYER,
                                 kernel_initializer=tf_keras.initializers.TruncatedNormal(stddev=0.02, seed=seed))
    return tf_keras.Model({"input_ids": input_ids, "input_mask": input_mask}, head(pooled), name="classifier")


def fit_head(model: tf_keras.Model, batches, class_weights: np.ndarray, l2: float = 1e-4,
             steps: int = 500) -> float:
    """Linear probe: fits the classification head on the frozen encoder's pooled outputs (class-weighted
    softmax regression, full batch), so fine-tuning starts from a good head instead of a random one
    (LP-FT, Kumar et al. 2022: less distortion of the pretrained features). Returns the probe's train accuracy.
    """
    pooled_model = tf_keras.Model(model.inputs, model.get_layer(POOLING_LAYER).output)
    pooled, labels = [], []
    for ids, mask, label, _ in batches:
        pooled.append(pooled_model({"input_ids": ids, "input_mask": mask}, training=False).numpy())
        labels.append(label.numpy())
    x, y = tf.constant(np.concatenate(pooled)), tf.constant(np.concatenate(labels))
    head = model.get_layer(HEAD_LAYER)
    kernel = tf.Variable(tf.zeros(head.kernel.shape))
    bias = tf.Variable(tf.zeros(head.bias.shape))
    weights = tf.gather(tf.constant(class_weights, tf.float32), y)
    optimizer = tf_keras.optimizers.Adam(0.01, jit_compile=False)

    @tf.function(autograph=False)
    def step():
        with tf.GradientTape() as tape:
            losses = tf_keras.losses.sparse_categorical_crossentropy(y, x @ kernel + bias, from_logits=True)
            loss = tf.reduce_sum(losses * weights) / tf.reduce_sum(weights) + l2 * tf.reduce_sum(kernel ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, [kernel, bias]), [kernel, bias]))

    for _ in range(steps):
        step()
    head.set_weights([kernel.numpy(), bias.numpy()])
    return float(np.mean(np.argmax((x @ kernel + bias).numpy(), axis=1) == y.numpy()))


def pruning_schedule(target_sparsity: float, total_steps: int) -> tfmot.sparsity.keras.PolynomialDecay:
    """Sparsity ramps 0 → target over the first 70% of the pruning steps, then the mask stays fixed while
    the remaining steps recover accuracy."""
    end_step = max(1, int(total_steps * 0.7))
    return tfmot.sparsity.keras.PolynomialDecay(initial_sparsity=0.0, final_sparsity=target_sparsity,
                                                begin_step=0, end_step=end_step,
                                                frequency=max(1, end_step // 10))


def prunable_copy(model: tf_keras.Model, schedule) -> tf_keras.Model:
    """The same model (shared weights) with every transformer block wrapped by `prune_low_magnitude`."""
    def wrap(layer):
        if isinstance(layer, TransformerBlock):
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)
        return layer
    return tf_keras.models.clone_model(model, clone_function=wrap)


def strip_pruning(model: tf_keras.Model) -> tf_keras.Model:
    """Applies the final masks and removes the pruning wrappers (the kernels keep their zeros)."""
    for layer in model.layers:
        if isinstance(layer, PruneLowMagnitude):
            layer.pruning_obj.weight_mask_op()
    return tfmot.sparsity.keras.strip_pruning(model)


def transformer_blocks(model: tf_keras.Model) -> List[TransformerBlock]:
    """The model's transformer blocks, in order."""
    return [layer for layer in model.layers if isinstance(layer, TransformerBlock)]


def kernel_sparsity(model: tf_keras.Model) -> Dict[str, float]:
    """Fraction of exact zeros in every prunable kernel, keyed "<block>/<kernel>", plus "overall"."""
    sparsity, zeros, total = {}, 0, 0
    for layer in transformer_blocks(model):
        for name, kernel in layer.kernels.items():
            values = kernel.numpy()
            sparsity[f"{layer.name}/{name}"] = round(float(np.mean(values == 0)), 4)
            zeros, total = zeros + int(np.sum(values == 0)), total + values.size
    sparsity["overall"] = round(zeros / total, 4) if total else 0.0
    return sparsity


def gzip_weight_bytes(model: tf_keras.Model) -> int:
    """Size of all the model's float32 weights after gzip: what pruning's zeros save in transfer/storage."""
    raw: List[bytes] = [np.asarray(w, np.float32).tobytes() for w in model.get_weights()]
    return len(gzip.compress(b"".join(raw), compresslevel=6))

