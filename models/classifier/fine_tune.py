"""The whole training recipe on plain inputs: linear probe, gentle fine-tuning, gated compression, measured.

`train_classifier` is what the Trainer's run_fn calls; it knows nothing about TFX (datasets in, a Keras model
and a JSON-ready report out), so tests drive it directly.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tf_keras

from models import progress
from models.encoder.checkpoint import EncoderCheckpoint
from models.classifier import candidates, compression, datasets, language_head, vocabulary_trim, warm_start
from models.classifier import classifier as classifier_lib
from models.classifier.recipe import Recipe
from models.classifier.tuning import LANGUAGE_REFERENCE, TRAIN, Tuning


@dataclasses.dataclass
class TrainedClassifier:
    """The chosen Keras model, the vocabulary trim and input prefix it was trained with, the languages it was
    trained on, and the report."""

    model: tf_keras.Model
    trim: vocabulary_trim.VocabularyTrim
    report: Dict[str, object]
    prefix_ids: Tuple[int, ...] = ()
    trained_languages: Tuple[str, ...] = ()
    language_head: Optional[language_head.LanguageHead] = None


def train_classifier(checkpoint: EncoderCheckpoint, train_examples: tf.data.Dataset,
                     eval_examples: tf.data.Dataset, labels: Sequence[str], recipe: Recipe,
                     blessed_model_dir: Optional[str] = None, prefix_ids: Sequence[int] = (),
                     test_sets: Optional[Mapping[str, tf.data.Dataset]] = None,
                     reference_ids: Sequence[int] = (),
                     language_examples: Optional[tf.data.Dataset] = None,
                     label_descriptions: Optional[tf.data.Dataset] = None,
                     label_examples: Optional[tf.data.Dataset] = None) -> TrainedClassifier:
    """Fits the frozen-encoder candidate, fine-tunes gently, and keeps each step only where it generalizes.

    Candidates are measured on the same sets (eval split, held-out languages, `test_sets`): the fine-tuned
    model replaces the frozen encoder + linear head only where it is at least as good on text outside
    training (`candidates.fine_tuned_failures`); pruning and vocabulary trimming are kept only within their
    tolerance in every language (`candidates.compression_failures`). The report says what was chosen and why.

    Args:
      checkpoint: the pretrained encoder (full vocabulary).
      train_examples: parsed transformed examples (input_ids, input_mask, label_id, lang), one per element.
      eval_examples: the same for the eval split.
      labels: label names; label_id i is labels[i].
      recipe: hyperparameters.
      blessed_model_dir: the latest blessed model's SavedModel, the start point when `recipe.warm_start` (None:
        none blessed yet, start from the pretrained encoder).
      prefix_ids: full-vocabulary ids of the input prefix inserted after bos (e5's "query: "), or none.
      test_sets: labelled sets never trained on, in the same example form: `candidates.HELD_OUT` (rows of
        languages left out of training; its pieces are kept by a trimmed vocabulary) and
        `candidates.OUT_OF_CORPUS` (hand-written text; never part of the trim plan).
      reference_ids: full-vocabulary piece ids of reference text (per-language) a trimmed vocabulary keeps.
      language_examples: reference text in more languages (label ids unused) for the language head, which is
        otherwise fitted on the corpus languages alone.
      label_descriptions: one example per label, in label order, describing it (`label_prior.description_text`):
        turns the label prior on (`label_prior`); None keeps it off.
      label_examples: hand-written examples per label (`data.label_examples`), the prior's example head (with
        the label prior and `recipe.label_examples` on); None: no example head.

    Raises:
      datasets.TrainingDataError: an empty split or a label id outside the label list.
    """
    tf_keras.utils.set_random_seed(recipe.seed)
    train_ids, train_labels = datasets.piece_ids_and_labels(train_examples)
    eval_ids, eval_labels = datasets.piece_ids_and_labels(eval_examples)
    _check_labels(train_labels, len(labels), "train")
    _check_labels(eval_labels, len(labels), "eval")
    prefix_ids = tuple(int(i) for i in prefix_ids)
    identity = vocabulary_trim.identity_trim(checkpoint.config.vocab_size, checkpoint.vocabulary.unk_id)
    sets = {candidates.EVAL: eval_examples, **dict(test_sets or {})}
    data = _Batches.prepare(train_examples, eval_examples, train_labels, len(labels), identity, recipe, prefix_ids)
    model = classifier_lib.build_classifier(checkpoint, len(labels), recipe.num_layers, recipe.freeze_embeddings,
                                            recipe.dropout_rate, recipe.seed)
    warm = (warm_start.initialize(model, identity, checkpoint.vocabulary.unk_id, labels, blessed_model_dir)
            if recipe.warm_start else {"used": False, "reason": "model.warm_start is off"})
    tuning = Tuning.start(model, recipe, data, train_examples, sets, prefix_ids, fit_probe=not warm["used"],
                          language_examples=language_examples,
                          label_descriptions=label_descriptions if recipe.label_prior else None,
                          label_examples=label_examples if recipe.label_examples else None)
    trained_languages = sorted(set(tuning.languages_of("train")))
    frozen, frozen_head_only = tuning.evaluate_sets()
    dense = tuning.fine_tune()
    fine_tuned, fine_tuned_head_only = tuning.evaluate_sets()
    failures = candidates.fine_tuned_failures(frozen, fine_tuned, trained_languages)
    chosen = "fine_tuned" if not failures or not recipe.linear_probe else "frozen_encoder"
    if chosen == "frozen_encoder":
        tuning.restore_frozen()
    progress.log.info("candidate %s kept%s", chosen, f" (fine-tuned: {'; '.join(failures)})" if failures else "")
    chosen_reports = fine_tuned if chosen == "fine_tuned" else frozen
    languages = _fit_language_head(tuning, trained_languages)
    report = {"labels": list(labels), "num_layers": tuning.num_layers, "trainable_layers": tuning.trainable_layers,
              "train_examples": int(len(train_labels)), "eval_examples": int(len(eval_labels)),
              "trained_languages": trained_languages,
              "class_weights": [round(float(w), 4) for w in data.weights], "dense": dataclasses.asdict(dense),
              "candidates": {"frozen_encoder": candidates.summarize(frozen, trained_languages),
                             "fine_tuned": candidates.summarize(fine_tuned, trained_languages),
                             # the same candidates without the label prior (strength 0)
                             candidates.FROZEN_HEAD_ONLY: candidates.summarize(frozen_head_only, trained_languages),
                             "fine_tuned_head_only": candidates.summarize(fine_tuned_head_only, trained_languages)},
              "chosen": {"candidate": chosen, "fine_tuned_failures": failures},
              "real_token_share": tuning.real_token_share, "seconds": tuning.seconds,
              "gzip_weight_bytes": {"dense": classifier_lib.gzip_weight_bytes(model)}, "warm_start": warm,
              "input_prefix_ids": list(prefix_ids), "linear_probe_train_accuracy": tuning.probe_accuracy,
              "language_head": languages[1], "label_prior": _label_prior_report(tuning, chosen, recipe),
              "weight_mix": tuning.weight_mix}
    if recipe.ffn_keep < 1.0:
        model, chosen_reports = compression.prune_ffn(model, data, recipe, sets, prefix_ids, chosen_reports, report)
    if recipe.target_sparsity > 0:
        model, chosen_reports = compression.prune(model, data, recipe, sets, prefix_ids, chosen_reports, report)
    model, trim, chosen_reports = compression.trim(checkpoint, model, recipe, sets, prefix_ids, chosen_reports, report,
                                        np.concatenate([train_ids, eval_ids, list(prefix_ids),
                                                        datasets.all_piece_ids(sets.get(candidates.HELD_OUT)),
                                                        np.asarray(reference_ids, np.int64)]).astype(np.int64))
    if recipe.bfloat16_kernels:
        model, chosen_reports = compression.bfloat16(model, recipe, sets, prefix_ids, chosen_reports, report,
                                                     trim.remap)
    if recipe.int8_word_embedding:
        model, chosen_reports = compression.int8_word_embedding(model, recipe, sets, prefix_ids, chosen_reports,
                                                                report, trim.remap)
    report["pushed"] = candidates.summarize(chosen_reports, trained_languages)
    report["eval"] = chosen_reports[candidates.EVAL]
    return TrainedClassifier(model=model, trim=trim, report=report, prefix_ids=prefix_ids,
                             trained_languages=tuple(trained_languages), language_head=languages[0])


def _label_prior_report(tuning: Tuning, chosen: str, recipe: Recipe) -> Dict[str, object]:
    if not tuning.label_prior:
        return {"used": False, "reason": "model.label_prior is off" if not recipe.label_prior
                else "no label descriptions were given"}
    pushed = tuning.label_prior.get(chosen, {})
    return {"used": True, "template": recipe.label_prior_template, "candidates": tuning.label_prior,
            "label_examples": tuning.label_example_count, "pushed_strength": pushed.get("strength"),
            "pushed_example_weight": pushed.get("example_weight")}


def _fit_language_head(tuning: Tuning, trained_languages: Sequence[str]):
    """(head, report): fitted on every split with a declared language and the reference text; measured on the
    out-of-corpus set when there is one."""
    pooled, languages = tuning.language_features([TRAIN, candidates.EVAL, candidates.HELD_OUT, LANGUAGE_REFERENCE])
    head = language_head.fit(pooled, languages, trained_languages)
    report = language_head.optional_fields(head)
    if candidates.OUT_OF_CORPUS in tuning.sets:
        report[candidates.OUT_OF_CORPUS] = language_head.identification_report(
            head, *tuning.language_features([candidates.OUT_OF_CORPUS]))
        progress.log.info("language head: %d languages, out-of-corpus language accuracy %.3f", len(head.languages),
                          report[candidates.OUT_OF_CORPUS]["overall"])
    return head, report


@dataclasses.dataclass
class _Batches:
    """The batched splits and what every training phase needs to know about them."""

    train: tf.data.Dataset
    evaluation: tf.data.Dataset
    train_examples: tf.data.Dataset
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
                   train_examples=train_examples, weights=weights, num_classes=num_classes,
                   steps_per_epoch=-(-len(train_labels) // recipe.batch_size))


def _check_labels(label_ids: np.ndarray, num_labels: int, split: str) -> None:
    bad = label_ids[(label_ids < 0) | (label_ids >= num_labels)]
    if bad.size:
        raise datasets.TrainingDataError(f"{split} split: label_id {int(bad[0])} outside the {num_labels} "
                                         "configured labels (config.data.labels)")
