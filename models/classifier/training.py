"""Fine-tuning loop: one traced step for any batch length, class-weighted loss, early stopping on eval macro-F1."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import tensorflow as tf
import tf_keras

from models import progress
from models.classifier.metrics import classification_report

_LOG_EVERY = 50  # steps between progress lines in the Trainer's log
_BATCH_SIGNATURE = [tf.TensorSpec([None, None], tf.int32, name="input_ids"),
                    tf.TensorSpec([None, None], tf.int32, name="input_mask")]


class WarmupLinearDecay(tf_keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up over the first 10% of steps, then linear decay to zero (BERT fine-tuning's schedule)."""

    def __init__(self, peak: float, total_steps: int):
        super().__init__()
        self.peak, self.total_steps = peak, max(1, total_steps)
        self.warmup = max(1, self.total_steps // 10)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warm = step / self.warmup
        decay = (self.total_steps - step) / max(1, self.total_steps - self.warmup)
        return self.peak * tf.maximum(0.0, tf.minimum(warm, decay))

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps}


@dataclasses.dataclass
class FitResult:
    """What one training phase did: per-epoch eval reports, the best one, steps and seconds."""

    best: Dict[str, object]
    epochs: List[Dict[str, object]]
    steps: int
    seconds: float


class ClassifierTrainer:
    """Trains a logits model with AdamW on batches (ids, mask, labels, lang) of any length.

    Args:
      model: {input_ids, input_mask} → logits.
      learning_rate: peak learning rate of the warm-up/decay schedule.
      total_steps: the steps the schedule spans.
      weights: per-class loss weights (ones for an unweighted loss).
      before_step: called before every step (the pruning-step bookkeeping hooks in here).
    """

    def __init__(self, model: tf_keras.Model, learning_rate: float, total_steps: int, weights: np.ndarray,
                 before_step: Optional[Callable[[], None]] = None):
        self.model = model
        self.optimizer = tf_keras.optimizers.AdamW(WarmupLinearDecay(learning_rate, total_steps),
                                                   weight_decay=0.01, clipnorm=1.0,
                                                   jit_compile=False)
        self.optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "norm"])
        # Creating the slots now keeps variable creation out of the traced step, so it traces exactly once.
        self.optimizer.build(model.trainable_variables)
        self.class_weights = tf.constant(weights, tf.float32)
        self.before_step = before_step or (lambda: None)
        self._train_step = tf.function(self._step, autograph=False, input_signature=_BATCH_SIGNATURE + [
            tf.TensorSpec([None], tf.int32, name="label_id")])
        self._predict = predictor(model)

    def _step(self, ids, mask, labels):
        with tf.GradientTape() as tape:
            logits = self.model({"input_ids": ids, "input_mask": mask}, training=True)
            losses = tf_keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
            weights = tf.gather(self.class_weights, labels)
            loss = tf.reduce_sum(losses * weights) / tf.maximum(tf.reduce_sum(weights), 1e-9)
        variables = self.model.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def train_epoch(self, batches: tf.data.Dataset, max_steps: Optional[int] = None) -> int:
        """Runs one pass (or `max_steps` steps); returns the number of steps taken."""
        steps, losses, started = 0, [], time.time()
        for ids, mask, labels, _ in batches:
            if max_steps is not None and steps >= max_steps:
                break
            self.before_step()
            losses.append(float(self._train_step(ids, mask, labels)))
            steps += 1
            if steps % _LOG_EVERY == 0:
                logging.info("step %d: mean loss %.4f, %.2f s/step", steps, float(np.mean(losses[-_LOG_EVERY:])),
                             (time.time() - started) / steps)
        logging.info("epoch: %d steps, mean loss %.4f", steps, float(np.mean(losses)) if losses else 0.0)
        return steps

    def evaluate(self, batches: tf.data.Dataset, num_classes: int) -> Dict[str, object]:
        """Macro-F1 and accuracy of the model on `batches`, overall and per language."""
        return evaluate(self._predict, batches, num_classes)


def predictor(model: tf_keras.Model) -> Callable:
    """A traced-once inference function (ids, mask) → logits for any batch length."""
    return tf.function(lambda ids, mask: model({"input_ids": ids, "input_mask": mask}, training=False),
                       input_signature=_BATCH_SIGNATURE, autograph=False)


def evaluate(predict: Callable, batches: tf.data.Dataset, num_classes: int) -> Dict[str, object]:
    """Runs `predict` over (ids, mask, label, lang) batches: macro-F1 and accuracy, overall and per language."""
    labels, predictions, languages = [], [], []
    for ids, mask, label, lang in batches:
        predictions.append(np.argmax(predict(ids, mask).numpy(), axis=1))
        labels.append(label.numpy())
        languages += [value.decode("utf-8") for value in lang.numpy()]
    return classification_report(np.concatenate(labels), np.concatenate(predictions), languages, num_classes)


def fit(trainer: ClassifierTrainer, train: tf.data.Dataset, evaluation: tf.data.Dataset, num_classes: int,
        epochs: int, patience: int, max_steps: Optional[int] = None) -> FitResult:
    """Trains up to `epochs` epochs, keeping the weights of the epoch with the best eval macro-F1.

    Stops after `patience` epochs without improvement (0 disables early stopping); `max_steps` caps the steps
    over all epochs. The model ends with the best epoch's weights.
    """
    start, steps, reports = time.time(), 0, []
    best_f1, best_weights, best_report, stale = -1.0, None, None, 0
    for epoch in range(epochs):
        remaining = None if max_steps is None else max_steps - steps
        if remaining is not None and remaining <= 0:
            break
        steps += trainer.train_epoch(train, remaining)
        report = {"epoch": epoch + 1, **trainer.evaluate(evaluation, num_classes)}
        reports.append(report)
        f1 = report["overall"]["macro_f1"]
        progress.log.info("epoch %d/%d: eval macro-F1 %.4f, accuracy %.4f (%.0f s so far)", epoch + 1, epochs, f1,
                          report["overall"]["accuracy"], time.time() - start)
        if f1 > best_f1:
            best_f1, best_weights, best_report, stale = f1, trainer.model.get_weights(), report, 0
        else:
            stale += 1
            if patience and stale >= patience:
                break
    if best_weights is not None:
        trainer.model.set_weights(best_weights)
    return FitResult(best=best_report or {}, epochs=reports, steps=steps, seconds=round(time.time() - start, 1))
