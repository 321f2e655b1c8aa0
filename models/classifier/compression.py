"""Compression steps after the candidate is chosen, each kept only where no language loses past its tolerance.

* `prune`: magnitude pruning (tensorflow-model-optimization) of the transformer kernels, fine-tuned to the
  target sparsity; kept only within `recipe.pruning_tolerance` per language on every evaluation set.
* `prune_ffn`: structured pruning (structured_pruning.py): every block keeps the `recipe.ffn_keep` most important
  FFN intermediate units (mean |activation| on training batches × output-row norm) and is rebuilt with physically
  smaller kernels, then recovers for `recipe.ffn_recovery_steps` steps; kept only within
  `recipe.pruning_tolerance` per language.
* `bfloat16`: the transformer kernels stored as bfloat16 (half the bytes every served call reads); kept only
  within `recipe.compression_tolerance` per language.
* `int8_word_embedding`: the word embedding (three quarters of an untrimmed e5-small's bytes) stored as int8 rows
  with a float32 scale each, dequantized after the lookup; kept only within `recipe.compression_tolerance` per
  language.
* `trim`: the word embedding cut to the pieces the corpus (every split), the input prefix, the reference text
  and a per-script margin need; kept only within `recipe.compression_tolerance` per language. The `<unk>` rate per
  language of every set under the planned trim is reported either way (the out-of-corpus set is never part of
  the plan, so its rate is what unseen text meets).
Every step writes what it measured into the training report.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Mapping, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras

from models import progress
from models.encoder.checkpoint import EncoderCheckpoint
from models.classifier import candidates, datasets, label_prior, structured_pruning, vocabulary_trim
from models.classifier import classifier as classifier_lib
from models.classifier.recipe import Recipe
from models.classifier.training import ClassifierTrainer, fit
from models.classifier.tuning import evaluate_examples

Reports = Dict[str, Dict[str, object]]


def prune(model: tf_keras.Model, data, recipe: Recipe, sets: Mapping[str, tf.data.Dataset],
          prefix_ids: Sequence[int], before: Reports, report: Dict[str, object]):
    """(model, reports): the pruned model when it passes the per-language gate, else the dense one."""
    total = data.steps_per_epoch * recipe.pruning_epochs
    dense_weights = model.get_weights()  # the prunable copy shares (and so changes) the dense model's kernels
    prunable = classifier_lib.prunable_copy(model, classifier_lib.pruning_schedule(recipe.target_sparsity, total))
    step_callback = tfmot.sparsity.keras.UpdatePruningStep()
    step_callback.set_model(prunable)
    step_callback.on_train_begin()
    trainer = ClassifierTrainer(prunable, recipe.learning_rate, total, data.weights,
                                before_step=lambda: step_callback.on_train_batch_begin(batch=-1))
    prior = label_prior.prior_layer(model)  # shared by the prunable copy
    chosen_prior = prior.get_weights()
    prior.turn_off()  # the head trains alone, as in fine-tuning; the prior chosen for this model comes back after
    result = fit(trainer, data.train, data.evaluation, data.num_classes, recipe.pruning_epochs, patience=0)
    prior.set_weights(chosen_prior)
    step_callback.on_epoch_end(batch=-1)
    stripped = classifier_lib.strip_pruning(prunable)
    identity = np.arange(model.get_layer("embeddings").vocab_size, dtype=np.int32)
    after = evaluate_examples(stripped, sets, identity, prefix_ids, data.num_classes)
    failures = candidates.compression_failures(before, after, recipe.pruning_tolerance)
    kept = not failures
    if not kept:
        model.set_weights(dense_weights)
    report["pruned"] = {**dataclasses.asdict(result), "best": after[candidates.EVAL], "reports": after,
                        "kept": kept, "failures": failures}
    report["sparsity"] = classifier_lib.kernel_sparsity(stripped if kept else model)
    report["gzip_weight_bytes"]["pruned"] = classifier_lib.gzip_weight_bytes(stripped)
    progress.log.info("pruned to %.0f%% sparsity: eval macro-F1 %.4f (dense %.4f): %s",
                      100 * recipe.target_sparsity, after[candidates.EVAL]["overall"]["macro_f1"],
                      before[candidates.EVAL]["overall"]["macro_f1"],
                      "kept" if kept else "dense model kept (" + "; ".join(failures) + ")")
    return (stripped, after) if kept else (model, before)


def prune_ffn(model: tf_keras.Model, data, recipe: Recipe, sets: Mapping[str, tf.data.Dataset],
              prefix_ids: Sequence[int], before: Reports, report: Dict[str, object]):
    """(model, reports): the model with smaller FFNs when it passes the per-language gate, else `model`."""
    full_size = structured_pruning.intermediate_sizes(model)[0]
    importance = structured_pruning.activation_importance(model, data.train)
    pruned = structured_pruning.pruned_copy(model, recipe.ffn_keep, importance)
    size = structured_pruning.intermediate_sizes(pruned)[0]
    steps = max(0, recipe.ffn_recovery_steps)
    trainer = ClassifierTrainer(pruned, recipe.learning_rate, max(1, steps), data.weights)
    result = fit(trainer, data.train, data.evaluation, data.num_classes, -(-steps // data.steps_per_epoch),
                 patience=0, max_steps=steps)
    identity = np.arange(model.get_layer("embeddings").vocab_size, dtype=np.int32)
    after = evaluate_examples(pruned, sets, identity, prefix_ids, data.num_classes)
    failures = candidates.compression_failures(before, after, recipe.pruning_tolerance)
    kept = not failures
    report["structured_pruning"] = {
        "kept": kept, "failures": failures, "keep": recipe.ffn_keep, "full_intermediate_size": full_size,
        "intermediate_size": size if kept else full_size, "pruned_intermediate_size": size,
        "recovery": dataclasses.asdict(result), "reports": after}
    progress.log.info("FFN pruned to %d of %d units per block: eval macro-F1 %.4f (before %.4f): %s", size,
                      full_size, after[candidates.EVAL]["overall"]["macro_f1"],
                      before[candidates.EVAL]["overall"]["macro_f1"],
                      "kept" if kept else "full FFN kept (" + "; ".join(failures) + ")")
    return (pruned, after) if kept else (model, before)


def trim(checkpoint: EncoderCheckpoint, model: tf_keras.Model, recipe: Recipe, sets: Mapping[str, tf.data.Dataset],
         prefix_ids: Sequence[int], before: Reports, report: Dict[str, object], plan_ids: np.ndarray):
    """(model, trim, reports): the trimmed model when it passes the per-language gate, else the untrimmed."""
    vocabulary, rows = checkpoint.vocabulary, checkpoint.config.vocab_size
    identity = vocabulary_trim.identity_trim(rows, vocabulary.unk_id)
    if not recipe.trim_vocabulary:
        report["vocabulary"] = {"trimmed": False, "full_rows": rows, "kept_rows": rows,
                                "unknown_rate": _unknown_rates(sets, identity, vocabulary.unk_id)}
        return model, identity, before
    plan = vocabulary_trim.plan_trim(vocabulary, rows, plan_ids, recipe.vocab_margin_per_script)
    rebuilt = classifier_lib.build_classifier(
        vocabulary_trim.trimmed_checkpoint(checkpoint, plan), model.output_shape[-1], recipe.num_layers,
        recipe.freeze_embeddings, recipe.dropout_rate, recipe.seed)
    sizes = structured_pruning.intermediate_sizes(model)
    if sizes != structured_pruning.intermediate_sizes(rebuilt):  # FFN pruned: same shapes before the copy
        rebuilt = structured_pruning.shrunk_copy(rebuilt, sizes[0], {})
    classifier_lib.copy_with_word_rows(model, rebuilt, plan.kept_ids)
    after = evaluate_examples(rebuilt, sets, plan.remap, prefix_ids, model.output_shape[-1])
    failures = candidates.compression_failures(before, after, recipe.compression_tolerance)
    kept = not failures
    report["vocabulary"] = {
        "trimmed": kept, "full_rows": rows, "kept_rows": plan.size if kept else rows, "planned_rows": plan.size,
        "margin_per_script": recipe.vocab_margin_per_script, "failures": failures, "reports": after,
        "unknown_rate": _unknown_rates(sets, plan, vocabulary.unk_id),
        "removed_embedding_bytes": int((rows - plan.size) * checkpoint.config.hidden_size * 4) if kept else 0}
    progress.log.info("vocabulary trim to %d of %d rows: %s", plan.size, rows,
                      "kept" if kept else "untrimmed model kept (" + "; ".join(failures) + ")")
    return (rebuilt, plan, after) if kept else (model, identity, before)


def _unknown_rates(sets: Mapping[str, tf.data.Dataset], trim: vocabulary_trim.VocabularyTrim,
                   unk_id: int) -> Dict[str, Dict[str, float]]:
    """Per set and language: the share of real pieces that are <unk> under `trim`."""
    return {name: {lang: round(vocabulary_trim.unknown_rate(ids, trim, unk_id), 5)
                   for lang, ids in sorted(datasets.piece_ids_by_language(examples).items())}
            for name, examples in sets.items()}


def bfloat16(model: tf_keras.Model, recipe: Recipe, sets: Mapping[str, tf.data.Dataset], prefix_ids: Sequence[int],
             before: Reports, report: Dict[str, object], remap: np.ndarray):
    """(model, reports): the copy with bfloat16 transformer kernels when it passes the per-language gate."""
    return _gated_copy(classifier_lib.bfloat16_copy(model), "bfloat16_kernels", "bfloat16 kernels", model, recipe,
                       sets, prefix_ids, before, report, remap)


def int8_word_embedding(model: tf_keras.Model, recipe: Recipe, sets: Mapping[str, tf.data.Dataset],
                        prefix_ids: Sequence[int], before: Reports, report: Dict[str, object], remap: np.ndarray):
    """(model, reports): the copy with an int8 word embedding when it passes the per-language gate."""
    model, reports = _gated_copy(classifier_lib.int8_word_embedding_copy(model), "int8_word_embedding",
                                 "int8 word embedding", model, recipe, sets, prefix_ids, before, report, remap)
    verdict = report["int8_word_embedding"]
    rows, width = model.get_layer("embeddings").word.shape
    verdict["saved_bytes"] = rows * (3 * width - 4) if verdict["kept"] else 0  # 4 bytes a value → 1, + a scale
    return model, reports


def _gated_copy(converted: tf_keras.Model, key: str, what: str, model: tf_keras.Model, recipe: Recipe,
                sets: Mapping[str, tf.data.Dataset], prefix_ids: Sequence[int], before: Reports,
                report: Dict[str, object], remap: np.ndarray):
    """(converted, its reports) when no language loses past `recipe.compression_tolerance`, else (model, before);
    the verdict and the figures go to report[key]."""
    after = evaluate_examples(converted, sets, remap, prefix_ids, model.output_shape[-1])
    failures = candidates.compression_failures(before, after, recipe.compression_tolerance)
    report[key] = {"kept": not failures, "failures": failures, "reports": after}
    progress.log.info("%s: %s", what, "kept" if not failures else "not kept (" + "; ".join(failures) + ")")
    return (converted, after) if not failures else (model, before)
