"""Trainer module file: fine-tunes the pretrained encoder on Transform's output and exports a raw-text model.

TFX bundles every file of this folder into the Trainer's code package, so this module stays alone here; the
recipe itself lives in `models.classifier`. custom_config (built by the pipeline from the RunConfig):
  {"model": dataclasses.asdict(config.model), "labels": [label names in label_id order]}
Outputs: the SavedModel in `serving_model_dir` and `training_report.json` in `model_run_dir` (eval metrics of
the dense and pruned models, per-kernel sparsity, gzip sizes, vocabulary trim, SavedModel bytes, and
`warm_start`: whether training started from the latest blessed model, or why not).
"""

from __future__ import annotations

import dataclasses
import logging

import tensorflow as tf
import tensorflow_text  # noqa: F401  (the transform graph holds TF Text ops; register them before loading it)
import tensorflow_transform as tft

from models import artifact_reports
from models.encoder.sources import load_checkpoint
from models.classifier import datasets, export
from models.classifier.fine_tune import train_classifier
from models.classifier.recipe import Recipe
from models.tokenizer.text_encoder import load_tokenizer_asset, make_tokenizer, tokenize



def run_fn(fn_args) -> None:
    """TFX Trainer entry point (GenericExecutor): train, prune, trim, export, report."""
    custom = fn_args.custom_config or {}
    model_config, labels = custom.get("model", {}), list(custom.get("labels", []))
    if not labels:
        raise ValueError("Trainer custom_config has no 'labels': the pipeline must pass config.data.labels")
    recipe = Recipe(**{f.name: model_config[f.name] for f in dataclasses.fields(Recipe)
                       if f.name in model_config})
    transform_output = tft.TFTransformOutput(fn_args.transform_output)
    spec = transform_output.transformed_feature_spec()
    train = datasets.read_examples(datasets.example_files(fn_args.train_files), spec)
    evaluation = datasets.read_examples(datasets.example_files(fn_args.eval_files), spec)
    encoder = model_config.get("encoder", "e5-small")
    checkpoint = load_checkpoint(encoder)
    prefix_ids = _prefix_ids(encoder, model_config["input_prefix"])
    # fn_args.base_model: the LatestBlessedModel resolver's model when config.model.warm_start (None before any
    # model was blessed, or when warm start is off and the pipeline wires no base_model).
    trained = train_classifier(checkpoint, train, evaluation, labels, recipe, blessed_model_dir=fn_args.base_model,
                               prefix_ids=prefix_ids)
    _export(trained, transform_output, labels, fn_args.serving_model_dir)
    report = dict(trained.report, encoder=encoder)
    size = export.saved_model_bytes(fn_args.serving_model_dir)
    removed = trained.report["vocabulary"].get("removed_embedding_bytes", 0)
    # The removed rows are raw float32 in the variables file, so adding them back gives the untrimmed size.
    report["saved_model_bytes"] = {"exported": size, "untrimmed_estimate": size + removed}
    artifact_reports.write(fn_args.model_run_dir, artifact_reports.TRAINING_REPORT, report)
    logging.info("exported %s (%d bytes); eval %s", fn_args.serving_model_dir, size, report["eval"]["overall"])


def _prefix_ids(encoder: str, prefix: str):
    """The piece ids of `prefix` by the encoder's own tokenizer (the one Transform used): inserted after bos they
    equal tokenizing prefix + text, since the tokenizer starts every text with a word boundary."""
    if not prefix:
        return ()
    asset = load_tokenizer_asset(encoder)
    pieces = tokenize(make_tokenizer(asset), asset, tf.constant([prefix]))
    return tuple(int(i) for i in pieces.flat_values.numpy())


def _export(trained, transform_output, labels, export_dir: str) -> None:
    module = export.ServingModule(trained.model, transform_output.transform_features_layer(),
                                  transform_output.raw_feature_spec(), trained.trim.remap, labels,
                                  trained.prefix_ids)
    export.export_saved_model(module, export_dir)
