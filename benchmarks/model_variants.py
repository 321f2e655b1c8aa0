"""One model variant (dense, pruned, vocabulary-trimmed, or both) trained with the model library's recipe,
exported with its ServingModule, and measured: size, latency, accuracy per language, achieved FLOP/s.

Everything that touches the model goes through the model engineer's public functions:
`models.classifier.fine_tune.train_classifier`, `export.ServingModule` / `export_saved_model` /
`saved_model_bytes`, `classifier.kernel_sparsity` / `gzip_weight_bytes`, `training.predictor`, and
`metrics.classification_report`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf

from models.encoder.checkpoint import EncoderCheckpoint
from models.classifier import classifier as classifier_lib
from models.classifier import export
from models.classifier.fine_tune import Recipe, train_classifier
from models.classifier.metrics import classification_report
from models.classifier.training import predictor

import load_generators as load
from model_corpus import Example

# name -> (trim the vocabulary, prune to the target sparsity)
VARIANTS = {
    "dense": (False, False),
    "pruned": (False, True),
    "vocabulary-trimmed": (True, False),
    "trimmed + pruned (pipeline default)": (True, True),
}


@dataclasses.dataclass
class VariantResult:
    name: str
    train_seconds: float
    parameters: int
    embedding_rows: int
    sparsity: float
    saved_model_bytes: int
    gzip_weight_bytes: int
    single: load.Measurement
    batch: load.Measurement
    quality: Dict[str, object]
    unseen_quality: Dict[str, object]
    flops_per_forward: float
    achieved_flops: float
    export_dir: str


def train_variant(name: str, checkpoint: EncoderCheckpoint, train: tf.data.Dataset, evaluation: tf.data.Dataset,
                  labels: Sequence[str], recipe: Recipe, target_sparsity: float):
    """Trains one variant; returns (TrainedClassifier, seconds).

    Unpruned variants train `pruning_epochs` more dense epochs, so every variant sees as many epochs.
    """
    trim, prune = VARIANTS[name]
    epochs = recipe.epochs if prune else recipe.epochs + recipe.pruning_epochs
    started = time.perf_counter()
    trained = train_classifier(checkpoint, train, evaluation, labels, dataclasses.replace(
        recipe, epochs=epochs, trim_vocabulary=trim, target_sparsity=target_sparsity if prune else 0.0))
    return trained, time.perf_counter() - started


def export_variant(trained, preprocessing, raw_spec, labels: Sequence[str], export_dir: str) -> str:
    module = export.ServingModule(trained.model, preprocessing, raw_spec, trained.trim.remap, labels)
    return export.export_saved_model(module, export_dir)


def forward_flops(config, num_layers: int, batch: int, length: int, num_labels: int) -> float:
    """Multiply-adds ×2 of the encoder's matmuls (QKV/output, FFN, attention scores and context) plus the head.

    Element-wise work (LayerNorm, softmax, GELU, embedding gather) is left out: it is a few percent here.
    """
    hidden, inner, tokens = config.hidden_size, config.intermediate_size, batch * length
    per_layer = 2 * tokens * (4 * hidden * hidden + 2 * hidden * inner) + 2 * 2 * batch * length * length * hidden
    return float(num_layers * per_layer + 2 * batch * hidden * num_labels)


def median_seconds(call, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def achieved_flops(model, config, num_layers: int, num_labels: int, batch: int, length: int,
                   repeats: int) -> Dict[str, float]:
    """The Keras classifier on a fixed [batch, length] id block: FLOPs per forward and FLOP/s achieved."""
    rng = np.random.default_rng(0)
    rows = int(model.get_layer("embeddings").word.shape[0])
    ids = tf.constant(rng.integers(4, rows, size=(batch, length)), tf.int32)
    mask = tf.ones((batch, length), tf.int32)
    forward = predictor(model)
    seconds = median_seconds(lambda: forward(ids, mask).numpy(), repeats)
    flops = forward_flops(config, num_layers, batch, length, num_labels)
    return {"flops": flops, "flops_per_s": flops / seconds}


def matmul_flops_per_s(n: int, repeats: int) -> float:
    """FLOP/s of one float32 [n, n] × [n, n] tf.matmul (median of `repeats`)."""
    a = tf.random.normal((n, n), seed=1)
    b = tf.random.normal((n, n), seed=2)
    seconds = median_seconds(lambda: tf.matmul(a, b).numpy(), repeats)
    return 2.0 * n ** 3 / seconds


def serving_quality(signature, rows: Sequence[Example], labels: Sequence[str], batch: int = 64) -> Dict[str, object]:
    """Accuracy and macro-F1, overall and per language, through the exported raw-text signature."""
    index = {label: i for i, label in enumerate(labels)}
    predicted: List[int] = []
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        outputs = signature(text=tf.constant([r[0] for r in chunk]))
        predicted += [index[label.decode("utf-8")] for label in outputs["label"].numpy()]
    truth = np.array([index[r[1]] for r in rows])
    return classification_report(truth, np.array(predicted), [r[2] for r in rows], len(labels))


def serving_latency(signature, texts: Sequence[str], duration: float, batch: int) -> load.Measurement:
    batches = [[texts[(start + i) % len(texts)] for i in range(batch)] for start in range(len(texts))]
    counter = iter(range(1 << 62))

    def call():
        outputs = signature(text=tf.constant(batches[next(counter) % len(batches)]))
        return {key: value.numpy() for key, value in outputs.items()}

    return load.timed_loop(call, duration, 100000, batch=batch)


def measure_variant(name: str, trained, train_seconds: float, export_dir: str, eval_rows: Sequence[Example],
                    unseen_rows: Sequence[Example], labels: Sequence[str], config, duration: float,
                    flops_shape) -> VariantResult:
    import tensorflow_text  # noqa: F401  (registers the TF Text ops before the export is loaded)

    signature = tf.saved_model.load(export_dir).signatures["serving_default"]
    texts = [row[0] for row in eval_rows[:64]]
    num_layers = trained.report["num_layers"]
    flops = achieved_flops(trained.model, config, num_layers, len(labels), *flops_shape, repeats=20)
    return VariantResult(
        name=name, train_seconds=train_seconds, parameters=int(trained.model.count_params()),
        embedding_rows=int(trained.model.get_layer("embeddings").word.shape[0]),
        sparsity=classifier_lib.kernel_sparsity(trained.model)["overall"],
        saved_model_bytes=export.saved_model_bytes(export_dir),
        gzip_weight_bytes=classifier_lib.gzip_weight_bytes(trained.model),
        single=serving_latency(signature, texts, duration, 1),
        batch=serving_latency(signature, texts, max(1.0, duration / 2), 32),
        quality=serving_quality(signature, eval_rows, labels),
        unseen_quality=serving_quality(signature, unseen_rows, labels), flops_per_forward=flops["flops"],
        achieved_flops=flops["flops_per_s"], export_dir=export_dir)
