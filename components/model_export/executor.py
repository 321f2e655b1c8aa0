"""ModelExport executor: artifacts → paths, the blessing check, the gate texts, `models.export.export_model`,
the artifact's properties. It never raises for a model that cannot be exported: that is recorded in the manifest.

The gate texts are the Trainer's evaluation sets: the `example_split` (eval), the held-out-language split when
the examples have one, and the out-of-corpus sentences of the configured labels (data/out_of_corpus), so every
export is measured on the text its compression is most likely to hurt."""

from __future__ import annotations

import collections
import json
import logging
from typing import Any, Dict, List

import numpy as np
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.version_pusher import release
from data import out_of_corpus
from data.splits import HOLDOUT
from models import features, tfrecords
from models.classifier.candidates import EVAL, HELD_OUT, OUT_OF_CORPUS
from models.export.exporter import EvalRow, empty_manifest, export_model, select_rows, write_manifest
from models.export.settings import ExportSettings

TRAIN_SPLIT = "train"  # the split the int8 calibration texts come from (never a gate set)
NOT_BLESSED = "not exported: the candidate was not blessed by both gates"


class Executor(base_executor.BaseExecutor):
    """Exports a candidate both gates blessed; otherwise writes an empty manifest that says why not."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        model = artifact_utils.get_single_instance(input_dict["model"])
        exports = artifact_utils.get_single_instance(output_dict["exports"])
        labels = json.loads(exec_properties["labels"])
        settings = settings_from_json(exec_properties["settings"])
        blessed = all(release.is_blessed(artifact_utils.get_single_instance(input_dict[key]))
                      for key in ("model_blessing", "infra_blessing"))
        if blessed:
            model_dir = path_utils.serving_model_path(model.uri, path_utils.is_old_model_artifact(model))
            rows = select_rows(gate_rows(input_dict["examples"], exec_properties["example_split"], labels),
                               settings.max_texts_per_language)
            calibration = calibration_texts(input_dict["examples"], settings.calibration_texts)
            manifest = export_model(model_dir, exports.uri, rows, labels, settings, calibration)
        else:
            manifest = empty_manifest(labels)
            manifest["refused"] = {name: NOT_BLESSED for name in settings.formats}
            write_manifest(exports.uri, manifest)
        exports.set_int_custom_property("shipped", len(manifest["artefacts"]))
        exports.set_int_custom_property("refused", len(manifest["refused"]))
        logging.info("ModelExport: shipped %s; refused %s", sorted(manifest["artefacts"]), manifest["refused"])


def settings_from_json(text: str) -> ExportSettings:
    """ExportSettings from the component's JSON parameter (lists become tuples)."""
    values = json.loads(text)
    return ExportSettings(**{key: tuple(value) if isinstance(value, list) else value
                             for key, value in values.items()})


def calibration_texts(examples: List[types.Artifact], count: int) -> List[str]:
    """`count` texts of the training split, evenly spaced through it (every language's part is represented); none
    when the examples have no training split (the per_token int8 recipe then quantizes unsmoothed)."""
    if TRAIN_SPLIT not in artifact_utils.decode_split_names(artifact_utils.get_single_instance(examples).split_names):
        logging.warning("ModelExport: the examples have no %r split; int8 is quantized without calibration",
                        TRAIN_SPLIT)
        return []
    split_uri = artifact_utils.get_split_uri(examples, TRAIN_SPLIT)
    texts = [tfrecords.string_value(example, features.TEXT) for example in tfrecords.read_examples(split_uri)]
    if len(texts) <= count:
        return texts
    return [texts[int(index)] for index in np.linspace(0, len(texts) - 1, count)]


def gate_rows(examples: List[types.Artifact], eval_split: str, labels: List[str]) -> List[EvalRow]:
    """The rows every artefact is gated on: the eval split's, the holdout split's (when present) and the
    out-of-corpus sentences of the configured labels, each tagged with its set."""
    rows = split_rows(artifact_utils.get_split_uri(examples, eval_split), labels, EVAL)
    if HOLDOUT in artifact_utils.decode_split_names(artifact_utils.get_single_instance(examples).split_names):
        rows += split_rows(artifact_utils.get_split_uri(examples, HOLDOUT), labels, HELD_OUT)
    for sentence in out_of_corpus.load(labels=labels):
        example = tfrecords.text_example({features.TEXT: sentence.text, features.LABEL: sentence.label,
                                          features.LANG: sentence.lang})
        rows.append(EvalRow(example.SerializeToString(), sentence.text, labels.index(sentence.label), sentence.lang,
                            OUT_OF_CORPUS))
    logging.info("ModelExport: gate texts per set: %s", dict(collections.Counter(row.gate_set for row in rows)))
    return rows


def split_rows(split_uri: str, labels: List[str], gate_set: str) -> List[EvalRow]:
    """Every raw example of a split whose label is a configured one, as exporter rows of `gate_set`."""
    rows, unknown = [], 0
    for example in tfrecords.read_examples(split_uri):
        label = tfrecords.string_value(example, features.LABEL)
        if label not in labels:
            unknown += 1
            continue
        rows.append(EvalRow(example.SerializeToString(), tfrecords.string_value(example, features.TEXT),
                            labels.index(label), tfrecords.string_value(example, features.LANG), gate_set))
    if unknown:
        logging.warning("ModelExport: %d %s examples with a label outside %s left out of the gate", unknown,
                        gate_set, labels)
    return rows
