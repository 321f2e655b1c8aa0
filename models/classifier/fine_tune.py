"""The whole training recipe on plain inputs: trim the vocabulary, fine-tune, prune, measure.

`train_classifier` is what the Trainer's run_fn calls; it knows nothing about TFX (datasets in, a Keras model
and a JSON-ready report out), so tests drive it directly.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras

from models import progress
from models.encoder.checkpoint import EncoderCheckpoint
from models.classifier import classifier as classifier_lib
from models.classifier import datasets, vocabulary_trim, warm_start
from models.classifier.recipe import Recipe
from models.classifier.training import ClassifierTrainer, evaluate, fit, predictor
from models.gates import GateRefusal


class PruningToleranceError(GateRefusal):
    """The pruned model lost more eval macro-F1 than the configured tolerance allows."""


@dataclasses.dataclass
class TrainedClassifier:
    """The final (pruned, stripped) Keras model, the vocabulary trim and input prefix it was trained with,
    and the report."""

    model: tf_keras.Model
    trim: vocabulary_trim.VocabularyTrim
    report: Dict[str, object]
    prefix_ids: Tuple[int, ...] = ()


def train_classifier(checkpoint: EncoderCheckpoint, train_examples: tf.data.Dataset,
                     eval_examples: tf.data.Dataset, labels: Sequence[str], recipe: Recipe,
                     blessed_model_dir: Optional[str] = None, prefix_ids: Sequence[int] = ()) -> TrainedClassifier:
    """Trims, fine-tunes (early stopping on eval macro-F1) and prunes a classifier on transformed examples.

    Args:
      checkpoint: the pretrained encoder (full vocabulary).
      train_examples: parsed transformed examples (input_ids, input_mask, label_id, lang), one per element.
      eval_examples: the same for the eval split.
      labels: label names; label_id i is labels[i].
      recipe: hyperparameters.
      blessed_model_dir: the latest blessed model's SavedModel, the start point when `recipe.warm_start` (None:
        none blessed yet, start from the pretrained encoder).
      prefix_ids: full-vocabulary ids of the input prefix inserted after bos (e5's "query: "), or none.

    Raises:
      datasets.TrainingDataError: an empty split or a label id outside the label list.
      PruningToleranceError: pruning cost more macro-F1 than `recipe.pruning_tolerance`.
    """
    tf_keras.utils.set_random_seed(recipe.seed)
    train_ids, train_labels = datasets.piece_ids_and_labels(train_examples)
    eval_ids, eval_labels = datasets.piece_ids_and_labels(eval_examples)
    _check_labels(train_labels, len(labels), "train")
    _check_labels(eval_labels, len(labels), "eval")
    prefix_ids = tuple(int(i) for i in prefix_ids)
    trim, vocabulary_report = _plan_vocabulary(checkpoint, np.concatenate([train_ids, prefix_ids]).astype(np.int64),
                                               eval_ids, recipe)
    data = _Batches.prepare(train_examples, eval_examples, train_labels, len(labels), trim, recipe, prefix_ids)
    model = classifier_lib.build_classifier(vocabulary_trim.trimmed_checkpoint(checkpoint, trim), len(labels),
                                            recipe.num_layers, recipe.freeze_embeddings, recipe.dropout_rate,
                                            recipe.seed)
    warm = (warm_start.initialize(model, trim, checkpoint.vocabulary.unk_id, labels, blessed_model_dir)
            if recipe.warm_start else {"used": False, "reason": "model.warm_start is off"})
    # A warm-started head is already trained; otherwise fit it on the frozen encoder first (linear probe).
    probe = (classifier_lib.fit_head(model, data.train, data.weights)
             if recipe.linear_probe and not warm["used"] else None)
    if probe is not None:
        progress.log.info("linear probe: head fitted on the frozen encoder, train accuracy %.4f", probe)
    num_layers = len(classifier_lib.transformer_blocks(model))
    progress.log.info("fine-tuning %d layers: %d epochs of %d steps", num_layers, recipe.epochs, data.steps_per_epoch)
    total = min(data.steps_per_epoch * recipe.epochs, recipe.train_steps or data.steps_per_epoch * recipe.epochs)
    dense = fit(ClassifierTrainer(model, recipe.learning_rate, total, data.weights), data.train, data.evaluation,
                data.num_classes, recipe.epochs, recipe.early_stopping_patience, recipe.train_steps)
    report = {"labels": list(labels), "num_layers": num_layers,
              "train_examples": int(len(train_labels)), "eval_examples": int(len(eval_labels)),
              "class_weights": [round(float(w), 4) for w in data.weights], "vocabulary": vocabulary_report,
              "dense": dataclasses.asdict(dense),
              "gzip_weight_bytes": {"dense": classifier_lib.gzip_weight_bytes(model)}, "warm_start": warm,
              "input_prefix_ids": list(prefix_ids), "linear_probe_train_accuracy": probe}
    if recipe.target_sparsity > 0:
        model, report["pruned"], report["sparsity"] = _prune(model, data, recipe, dense.best)
        report["gzip_weight_bytes"]["pruned"] = classifier_lib.gzip_weight_bytes(model)
    report["eval"] = (report.get("pruned") or report["dense"])["best"]
    return TrainedClassifier(model=model, trim=trim, report=report, prefix_ids=prefix_ids)


@dataclasses.dataclass
class _Batches:
    """The batched splits and what every training phase needs to know about them."""

    train: tf.data.Dataset
    evaluation: tf.data.Dataset
    weights: np.ndarray
    num_classes: int
    steps_per_epoch: int

    @classmethod
    def prepare(cls, train_examples, eval_examples, train_labels: np.ndarray, num_classes: int,
                trim: vocabulary_trim.VocabularyTrim, recipe: Recipe, prefix_ids: Tuple[int, ...]) -> "_Batches":
        weights = (datasets.class_weights(train_labels, num_classes) if recipe.class_weighting
                   else np.ones(num_classes, np.float32))
        return cls(train=datasets.batches(train_examples, recipe.batch_size, trim.remap, recipe.seed, prefix_ids),
                   evaluation=datasets.batches(eval_examples, max(recipe.batch_size, 64), trim.remap,
                                               prefix_ids=prefix_ids),
                   weights=weights, num_classes=num_classes,
                   steps_per_epoch=-(-len(train_labels) // recipe.batch_size))


def _prune(model: tf_keras.Model, data: _Batches, recipe: Recipe, dense_best: Dict[str, object]):
    """Fine-tunes a prune_low_magnitude copy to the target sparsity, strips it and checks the tolerance."""
    total = data.steps_per_epoch * recipe.pruning_epochs
    prunable = classifier_lib.prunable_copy(model, classifier_lib.pruning_schedule(recipe.target_sparsity, total))
    step_callback = tfmot.sparsity.keras.UpdatePruningStep()
    step_callback.set_model(prunable)
    step_callback.on_train_begin()
    trainer = ClassifierTrainer(prunable, recipe.learning_rate, total, data.weights,
                                before_step=lambda: step_callback.on_train_batch_begin(batch=-1))
    result = fit(trainer, data.train, data.evaluation, data.num_classes, recipe.pruning_epochs, patience=0)
    step_callback.on_epoch_end(batch=-1)
    stripped = classifier_lib.strip_pruning(prunable)
    result.best = evaluate(predictor(stripped), data.evaluation, data.num_classes)
    _check_tolerance(dense_best["overall"]["macro_f1"], result.best["overall"]["macro_f1"], recipe)
    return stripped, dataclasses.asdict(result), classifier_lib.kernel_sparsity(stripped)


def _check_tolerance(dense_f1: float, pruned_f1: float, recipe: Recipe) -> None:
    progress.log.info("pruned to %.0f%% sparsity: eval macro-F1 %.4f (dense %.4f)", 100 * recipe.target_sparsity,
                      pruned_f1, dense_f1)
    if dense_f1 - pruned_f1 > recipe.pruning_tolerance:
        raise PruningToleranceError(
            f"pruning to {recipe.target_sparsity:.0%} sparsity dropped eval macro-F1 from {dense_f1:.4f} to "
            f"{pruned_f1:.4f} (-{dense_f1 - pruned_f1:.4f}, model.pruning_tolerance={recipe.pruning_tolerance}); "
            "lower model.target_sparsity, raise model.pruning_epochs or model.pruning_tolerance")


def _plan_vocabulary(checkpoint: EncoderCheckpoint, train_ids: np.ndarray, eval_ids: np.ndarray,
                     recipe: Recipe) -> Tuple[vocabulary_trim.VocabularyTrim, Dict[str, object]]:
    vocabulary, rows = checkpoint.vocabulary, checkpoint.config.vocab_size
    if not recipe.trim_vocabulary:
        trim = vocabulary_trim.identity_trim(rows, vocabulary.unk_id)
        unknown = vocabulary_trim.unknown_rate(eval_ids, trim, vocabulary.unk_id)
        return trim, {"trimmed": False, "full_rows": rows, "kept_rows": rows, "eval_unknown_rate": round(unknown, 5)}
    margin = recipe.vocab_margin_per_script
    trim = vocabulary_trim.plan_trim(vocabulary, rows, np.concatenate([train_ids, eval_ids]), margin)
    # How well the margin covers text never seen: the eval unknown rate had eval been left out of the plan.
    without_eval = vocabulary_trim.plan_trim(vocabulary, rows, train_ids, margin)
    report = {"trimmed": True, "full_rows": rows, "kept_rows": trim.size, "margin_per_script": margin,
              "eval_unknown_rate": round(vocabulary_trim.unknown_rate(eval_ids, trim, vocabulary.unk_id), 5),
              "unseen_text_unknown_rate": round(
                  vocabulary_trim.unknown_rate(eval_ids, without_eval, vocabulary.unk_id), 5),
              "removed_embedding_bytes": int((rows - trim.size) * checkpoint.config.hidden_size * 4)}
    progress.log.info("vocabulary trimmed to %d of %d rows; eval unknown rate %.4f, unseen-text estimate %.4f",
                      trim.size, rows, report["eval_unknown_rate"], report["unseen_text_unknown_rate"])
    return trim, report


def _check_labels(label_ids: np.ndarray, num_labels: int, split: str) -> None:
    bad = label_ids[(label_ids < 0) | (label_ids >= num_labels)]
    if bad.size:
        raise datasets.TrainingDataError(f"{split} split: label_id {int(bad[0])} outside the {num_labels} "
                                         "configured labels (config.data.labels)")
