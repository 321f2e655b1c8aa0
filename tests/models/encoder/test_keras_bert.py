"""The tf_keras encoder computes post-LN BERT with masked mean pooling, and its blocks are prunable."""

import math

import numpy as np
import tensorflow_model_optimization as tfmot
import tf_keras
from scipy.special import erf

from models.encoder.keras_bert import TransformerBlock, build_encoder
from models.encoder.synthetic import random_checkpoint, sentencepiece_vocabulary

TEXTS = ["the food was excellent", "das Essen war ausgezeichnet"]


def _layer_norm(x, gamma, beta, eps):
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _reference_embedding(checkpoint, ids):
    """A plain numpy forward pass of one unpadded sequence, written from the BERT paper's equations."""
    w, c = checkpoint.weights, checkpoint.config
    x = w["embeddings.word"][ids] + w["embeddings.position"][:len(ids)] + w["embeddings.token_type"][0]
    x = _layer_norm(x, w["embeddings.norm.gamma"], w["embeddings.norm.beta"], c.layer_norm_eps)
    d = c.hidden_size // c.num_heads
    for i in range(c.num_layers):
        p = lambda name, v: v @ w[f"layer.{i}.{name}.kernel"] + w[f"layer.{i}.{name}.bias"]  # noqa: E731
        q, k, v = (p(f"attention.{n}", x).reshape(len(ids), c.num_heads, d).transpose(1, 0, 2)
                   for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(len(ids), c.hidden_size)
        x = _layer_norm(x + p("attention.output", context), w[f"layer.{i}.attention_norm.gamma"],
                        w[f"layer.{i}.attention_norm.beta"], c.layer_norm_eps)
        inner = p("ffn.intermediate", x)
        inner = 0.5 * inner * (1 + erf(inner / math.sqrt(2)))
        x = _layer_norm(x + p("ffn.output", inner), w[f"layer.{i}.output_norm.gamma"],
                        w[f"layer.{i}.output_norm.beta"], c.layer_norm_eps)
    return x.mean(0)


def _checkpoint():
    checkpoint = random_checkpoint(sentencepiece_vocabulary(TEXTS), seed=3)
    rng = np.random.default_rng(4)
    for name, values in checkpoint.weights.items():  # non-trivial norms and biases exercise every term
        if name.endswith((".gamma", ".beta", ".bias")):
            checkpoint.weights[name] = (values + rng.normal(0, 0.1, values.shape)).astype(np.float32)
    return checkpoint


def test_encoder_matches_reference_and_ignores_padding():
    checkpoint = _checkpoint()
    encoder = build_encoder(checkpoint)
    short, long = [0, 5, 9, 12, 2], [0, 7, 8, 9, 10, 11, 2]
    ids = np.array([short + [1, 1], long], np.int32)
    mask = np.array([[1] * 5 + [0, 0], [1] * 7], np.int32)

    pooled = encoder({"input_ids": ids, "input_mask": mask}).numpy()

    np.testing.assert_allclose(pooled[0], _reference_embedding(checkpoint, short), atol=2e-5)
    np.testing.assert_allclose(pooled[1], _reference_embedding(checkpoint, long), atol=2e-5)


def test_layers_can_be_dropped_and_word_embeddings_frozen():
    checkpoint = _checkpoint()
    encoder = build_encoder(checkpoint, num_layers=1, freeze_word_embeddings=True)
    blocks = [layer for layer in encoder.layers if isinstance(layer, TransformerBlock)]
    assert len(blocks) == 1
    trainable = {v.name.split("/")[-1].split(":")[0] for v in encoder.trainable_variables}
    assert "word" not in trainable and "position" in trainable


def test_blocks_prune_to_target_sparsity():
    encoder = build_encoder(_checkpoint())
    schedule = tfmot.sparsity.keras.ConstantSparsity(0.5, begin_step=0, frequency=1)
    pruned = tf_keras.models.clone_model(
        encoder, clone_function=lambda layer: tfmot.sparsity.keras.prune_low_magnitude(layer, schedule)
        if isinstance(layer, TransformerBlock) else layer)
    ids = np.array([[0, 5, 9, 2]], np.int32)
    step = tfmot.sparsity.keras.UpdatePruningStep()
    step.set_model(pruned)
    step.on_train_begin()
    step.on_train_batch_begin(batch=-1)
    pruned({"input_ids": ids, "input_mask": np.ones_like(ids)}, training=True)
    step.on_epoch_end(batch=-1)
    stripped = tfmot.sparsity.keras.strip_pruning(pruned)
    kernels = [k.numpy() for layer in stripped.layers if isinstance(layer, TransformerBlock)
               for k in layer.get_prunable_weights()]
    assert len(kernels) == 12
    for kernel in kernels:
        assert abs((kernel == 0).mean() - 0.5) < 0.02
