"""The on-disk layout of a served model: `<base_path>/<integer version>/` SavedModel dirs and their extras."""

from __future__ import annotations

import os
from typing import Dict

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
METADATA_FILE = os.path.join("assets.extra", "nlp2prod_metadata.json")
_SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
TFLITE_FILE = "model.tflite"


def versions_on_disk(base_path: str, tflite: bool = False) -> Dict[int, str]:
    """Integer-named version dirs under `base_path` that hold a SavedModel (or, with `tflite`, a model.tflite),
    by version.

    A dir without saved_model.pb(txt) is not a version yet: a copy in progress is not loaded half-written.
    """
    model_files = _SAVED_MODEL_FILES + ((TFLITE_FILE,) if tflite else ())
    try:
        names = os.listdir(base_path)
    except OSError:
        return {}
    found = {}
    for name in names:
        path = os.path.join(base_path, name)
        # ASCII digits only, as TF Serving: str.isdigit() also takes "０２" (full-width) and "2²".
        if name.isascii() and name.isdigit() and any(os.path.exists(os.path.join(path, f))
                                                     for f in model_files):
            found[int(name)] = path
    return found
