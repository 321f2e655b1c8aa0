"""The topic classifier (pretrained encoder + mean pooling + linear head) and its magnitude-pruning phase."""

from __future__ import annotations

import gzip
from typing import Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras
from tensorflow_model_optimization.python.core.sparsity.keras.pruning_wrapper import PruneLowMagnitude

from models.encoder.checkpoint import EncoderCheckpoint
from models.classifier.label_prior import PRIOR_LAYER, LabelPrior
from models.encoder.keras_bert import TokenEmbeddings, TransformerBlock, encode, token_inputs

POOLING_LAYER = "mean_pooling"
HEAD_LAYER = "classifier"
LANGUAGE_FEATURES = "language_features"


def build_classifier(checkpoint: EncoderCheckpoint, num_labels: int, num_layers: Optional[int] = None,
                     freeze_word_embeddings: bool = True, dropout_rate: float = 0.1,
                     seed: int = 0) -> tf_keras.Model:
    """A flat functional model {input_ids, input_mask} int32 [B, L] → logits float32 [B, num_labels].

    Flat (no nested models) so that `prunable_copy` can wrap every transformer block. The logits are the
    linear head's plus the label prior (`label_prior.LabelPrior`, strength 0 until one is chosen).
    """
    input_ids, input_mask = token_inputs()
    _, pooled = encode(checkpoint, input_ids, input_mask, num_layers, freeze_word_embeddings, dropout_rate)
    return tf_keras.Model({"input_ids": input_ids, "input_mask": input_mask},
                          classifier_logits(pooled, num_labels, dropout_rate, seed), name="classifier")


def classifier_logits(pooled: tf.Tensor, num_labels: int, dropout_rate: float, seed: int) -> tf.Tensor:
    """Dropout → linear head, plus the label prior on the pooled embedding."""
    dropped = tf_keras.layers.Dropout(dropout_rate, seed=seed, name="head_dropout")(pooled)
    head = tf_keras.layers.Dense(num_labels, name=HEAD_LAYER,
                                 kernel_initializer=tf_keras.initializers.TruncatedNormal(stddev=0.02, seed=seed))
    return LabelPrior(num_labels, pooled.shape[-1], name=PRIOR_LAYER)([head(dropped), pooled])


def head_logits(model: tf_keras.Model, pooled: tf.Tensor) -> tf.Tensor:
    """The model's own head and label prior applied to `pooled` (layers shared, e.g. on cached activations)."""
    logits = model.get_layer(HEAD_LAYER)(model.get_layer("head_dropout")(pooled))
    return model.get_layer(PRIOR_LAYER)([logits, pooled])


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
    head = model.get_layer(HEAD_LAYER)
    kernel, bias, accuracy = fit_linear_head(np.concatenate(pooled), np.concatenate(labels), class_weights,
                                             head.kernel.shape[1], l2, steps)
    head.set_weights([kernel, bias])
    return accuracy


def fit_linear_head(features: np.ndarray, labels: np.ndarray, class_weights: np.ndarray, num_outputs: int,
                    l2: float = 1e-4, steps: int = 500):
    """Class-weighted softmax regression on fixed features (full batch Adam). Returns (kernel, bias, train
    accuracy)."""
    x, y = tf.constant(features, tf.float32), tf.constant(labels, tf.int32)
    kernel = tf.Variable(tf.zeros((features.shape[1], num_outputs)))
    bias = tf.Variable(tf.zeros((num_outputs,)))
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
    accuracy = float(np.mean(np.argmax((x @ kernel + bias).numpy(), axis=1) == labels))
    return kernel.numpy(), bias.numpy(), accuracy


def with_language_features(model: tf_keras.Model) -> tf_keras.Model:
    """{input_ids, input_mask} → [logits, language features]: the classifier plus the masked mean of its
    embedding layer's output (token identity, before the encoder mixes languages toward shared meaning), which is
    what the language head reads."""
    from models.encoder.keras_bert import MaskedMeanPooling

    mask = model.input["input_mask"]
    embedded = _output_in(model, model.get_layer("embeddings"))
    features = MaskedMeanPooling(name=LANGUAGE_FEATURES)([embedded, mask])
    return tf_keras.Model(model.input, [model.outputs[0], features], name="classifier_with_language")


def _output_in(model: tf_keras.Model, layer) -> tf.Tensor:
    """`layer`'s output in `model`'s own graph (a layer shared with a pruning copy has one node per model)."""
    ids = model.input["input_ids"]
    for index, node in enumerate(layer.inbound_nodes):
        if any(tensor is ids for tensor in tf.nest.flatten(node.input_tensors)):
            return layer.get_output_at(index)
    raise ValueError(f"layer {layer.name!r} is not applied to {model.name!r}'s input_ids")


def bfloat16_copy(model: tf_keras.Model) -> tf_keras.Model:
    """The same classifier (weights copied) with every transformer block's kernels stored as bfloat16."""
    copy = _clone_with(model, TransformerBlock, kernel_dtype="bfloat16")
    for target, source in zip(copy.weights, model.weights):
        target.assign(tf.cast(source, target.dtype))
    return copy


def _clone_with(model: tf_keras.Model, layer_class: type, **config) -> tf_keras.Model:
    """A fresh copy of `model`'s architecture (new, unset weights) with `config` overriding the config of every
    `layer_class` layer."""
    def convert(layer):
        overrides = config if isinstance(layer, layer_class) else {}
        return layer.__class__.from_config({**layer.get_config(), **overrides})
    return tf_keras.models.clone_model(model, clone_function=convert)


def quantize_rows(matrix: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(int8 rows, float32 scale per row): symmetric, each row's largest |value| → 127 (an all-zero row: scale 1)."""
    scale = np.abs(matrix).max(axis=1).astype(np.float32) / 127.0
    scale[scale == 0] = 1.0
    return np.clip(np.rint(matrix / scale[:, None]), -127, 127).astype(np.int8), scale


def int8_word_embedding_copy(model: tf_keras.Model) -> tf_keras.Model:
    """The same classifier (weights copied) with its word embedding stored as int8 rows and a scale per row."""
    if model.get_layer("embeddings").word_dtype == "int8":
        raise ValueError("the word embedding is int8 already: quantizing it again would lose its scales")
    copy = _clone_with(model, TokenEmbeddings, word_dtype="int8")
    for layer in model.layers:
        target = copy.get_layer(layer.name)
        if not isinstance(layer, TokenEmbeddings):
            target.set_weights(layer.get_weights())
            continue
        rows, scale = quantize_rows(layer.word.numpy())
        target.word.assign(rows)
        target.word_scale.assign(scale)
        for name in ("position", "token_type"):
            getattr(target, name).assign(getattr(layer, name))
        target.norm.set_weights(layer.norm.get_weights())
    return copy


def copy_with_word_rows(model: tf_keras.Model, rebuilt: tf_keras.Model, kept_ids: np.ndarray) -> tf_keras.Model:
    """Copies `model`'s weights into `rebuilt` (the same classifier built on a trimmed vocabulary): every weight
    as is, the word embedding's rows `kept_ids` only."""
    for layer in model.layers:  # same trainable flags → the same weight order in both models
        rebuilt.get_layer(layer.name).trainable = layer.trainable
    for target, source in zip(rebuilt.weights, model.weights):
        value = source.numpy()
        target.assign(value[kept_ids] if tuple(target.shape) != value.shape else value)
    return rebuilt


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

