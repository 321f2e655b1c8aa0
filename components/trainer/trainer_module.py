"""Trainer module file: fine-tunes the pretrained encoder on Transform's output and exports a raw-text model.

TFX bundles every file of this folder into the Trainer's code package, so this module stays alone here; the
recipe itself lives in `models.classifier`. custom_config (built by the pipeline from the RunConfig):
  {"model": dataclasses.asdict(config.model), "labels": [label names in label_id order],
   "languages": config.data.languages}
Besides the train and eval splits, every candidate is measured on the `holdout` split (rows of
data.holdout_languages, never trained on; found beside the eval split when the Examples have it) and on the
out-of-corpus set (data/out_of_corpus, the configured labels only), tokenized by Transform's own layer; the
label examples (data/label_examples, the configured labels only) feed the label prior's example head.
Outputs: the SavedModel in `serving_model_dir` and `training_report.json` in `model_run_dir` (the candidates
on every set and which one was kept and why, pruning and trimming gates, `<unk>` rates per language, sizes,
timing and real-token share, and `warm_start`: whether training started from the latest blessed model).
"""

from __future__ import annotations

import dataclasses
import logging

import tensorflow as tf
import tensorflow_text  # noqa: F401  (the transform graph holds TF Text ops; register them before loading it)
import tensorflow_transform as tft

from data import label_examples, out_of_corpus, reference_text
from data.splits import HOLDOUT
from models import artifact_reports, features
from models.encoder.sources import load_checkpoint
from models.classifier import candidates, datasets, export, label_prior
from models.classifier.fine_tune import train_classifier
from models.classifier.recipe import Recipe
from models.tokenizer.text_encoder import load_tokenizer_asset, make_tokenizer, tokenize

REFERENCE_SEGMENTS = 30  # UDHR segments per language (of ~90): the vocabulary and language head's reference


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
    test_sets = _test_sets(fn_args.eval_files, spec, transform_output, labels)
    reference = reference_rows(custom.get("languages", []), labels)
    language_examples = _transformed(transform_output, reference) if reference else None
    reference_ids = (datasets.all_piece_ids(language_examples) if language_examples is not None else ())
    descriptions = _transformed(transform_output, label_prior.description_rows(recipe.label_prior_template, labels))
    examples = [(s.text, s.label, s.lang) for s in label_examples.load(labels)]
    trained = train_classifier(checkpoint, train, evaluation, labels, recipe, blessed_model_dir=fn_args.base_model,
                               prefix_ids=prefix_ids, test_sets=test_sets, reference_ids=reference_ids,
                               language_examples=language_examples, label_descriptions=descriptions,
                               label_examples=_transformed(transform_output, examples) if examples else None)
    _export(trained, transform_output, labels, fn_args.serving_model_dir)
    report = dict(trained.report, encoder=encoder)
    size = export.saved_model_bytes(fn_args.serving_model_dir)
    removed = trained.report["vocabulary"].get("removed_embedding_bytes", 0)
    # The removed rows counted at float32 (an upper bound when the embedding is exported as int8).
    report["saved_model_bytes"] = {"exported": size, "untrimmed_estimate": size + removed}
    artifact_reports.write(fn_args.model_run_dir, artifact_reports.TRAINING_REPORT, report)
    logging.info("exported %s (%d bytes); eval %s", fn_args.serving_model_dir, size, report["eval"]["overall"])


def _test_sets(eval_patterns, spec, transform_output, labels):
    """The held-out-language split (beside the eval split, when present) and the out-of-corpus set."""
    sets = {}
    holdout = [p.replace("Split-eval", f"Split-{HOLDOUT}") for p in eval_patterns]
    if all(tf.io.gfile.glob(p) for p in holdout) and holdout != list(eval_patterns):
        sets[candidates.HELD_OUT] = datasets.read_examples(datasets.example_files(holdout), spec)
    sentences = out_of_corpus.load(labels=labels)
    if sentences:
        sets[candidates.OUT_OF_CORPUS] = _transformed(transform_output, [(s.text, s.label, s.lang) for s in sentences])
    return sets


def reference_rows(languages, labels):
    """(segment, a label, lang) rows of the UDHR for the configured and the out-of-corpus languages: the pieces a
    trimmed vocabulary keeps and more languages for the language head (the label is a filler Transform accepts).
    None when the reference text is not installed."""
    try:
        installed = set(reference_text.available())
    except reference_text.ReferenceTextError:
        return None
    rows = []
    for lang in sorted(set(languages) | set(out_of_corpus.languages())):
        if lang in installed or lang.split("-")[0] in installed:
            rows += [(segment, labels[0], lang) for segment in reference_text.segments(lang)[:REFERENCE_SEGMENTS]]
    return rows or None


def _transformed(transform_output, rows) -> tf.data.Dataset:
    """(text, label, lang) rows through Transform's layer, as parsed transformed examples."""
    raw_spec = transform_output.raw_feature_spec()
    columns = {features.TEXT: 0, features.LABEL: 1, features.LANG: 2}
    raw = {key: tf.reshape(tf.constant([row[columns[key]] for row in rows]),
                           [-1] + list(getattr(raw_spec[key], "shape", [])))
           for key in raw_spec if key in columns}
    encoded = transform_output.transform_features_layer()(raw)
    return tf.data.Dataset.from_tensor_slices({
        features.INPUT_IDS: encoded[features.INPUT_IDS], features.INPUT_MASK: encoded[features.INPUT_MASK],
        features.LABEL_ID: tf.reshape(encoded[features.LABEL_ID], [-1]),
        features.LANG: tf.constant([row[2] for row in rows])})


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
                                  trained.prefix_ids, trained.language_head)
    export.export_saved_model(module, export_dir)
