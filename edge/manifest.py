"""The export folder's contract, shared by the exporter (writes it), the pusher (copies it, records it in the
version metadata) and the edge runtime (reads it).

An export folder holds `manifest.json`, the tokenizer (a SentencePiece ModelProto) and one file per shipped
artefact. In a pushed version it lives at `<version>/assets.extra/exports/`: TensorFlow Serving reads only
`assets.extra/tf_serving_warmup_requests` from that folder and ignores everything else there.

manifest.json:
    format          FORMAT_VERSION
    labels          label names, index = output column
    tokenizer       {file, kind: "sentencepiece", bytes, sha256, max_seq_length, bos_id, eos_id, pad_id}
    inputs          [input_ids, input_mask] (int64 [N, L], L ≤ max_seq_length); output: probabilities [N, K]
    artefacts       {name: {file, runtime, precision, bytes, sha256, accuracy}} of the shipped artefacts; accuracy is
                    the export gate's {gate set: {language or "overall": {examples, agreement, max_prob_delta,
                    macro_f1, accuracy, and the SavedModel's reference_macro_f1, reference_accuracy}}}
    refused         {name: reason} of the artefacts that failed conversion or the accuracy gate
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, Optional

FORMAT_VERSION = 1
EXPORTS_DIR = os.path.join("assets.extra", "exports")  # inside a pushed version
MANIFEST_FILE = "manifest.json"
TOKENIZER_FILE = "tokenizer.model"
INPUT_IDS, INPUT_MASK, PROBABILITIES = "input_ids", "input_mask", "probabilities"
ONNX_RUNTIME, TFLITE_RUNTIME = "onnxruntime", "tflite"
# name -> (file, runtime, precision)
ARTEFACTS: Dict[str, tuple] = {
    "onnx_fp32": ("model_fp32.onnx", ONNX_RUNTIME, "float32"),
    "onnx_int8": ("model_int8.onnx", ONNX_RUNTIME, "int8"),
    "tflite_fp16": ("model_fp16.tflite", TFLITE_RUNTIME, "float16"),
    "tflite_int8": ("model_int8.tflite", TFLITE_RUNTIME, "int8"),
}
# Which shipped artefact `EdgeModel.load` picks when none is named.
PREFERENCE = ("onnx_int8", "onnx_fp32", "tflite_int8", "tflite_fp16")


class EdgeModelError(ValueError):
    """The folder holds no usable export: no manifest, a bad manifest, or a missing / altered artefact."""


def sha256_of(path: str) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(path: str) -> Dict[str, Any]:
    """{file, bytes, sha256} of a file inside an export folder."""
    return {"file": os.path.basename(path), "bytes": os.path.getsize(path), "sha256": sha256_of(path)}


def export_folder(path: str) -> str:
    """The export folder for `path`: the folder itself, or a pushed version's `assets.extra/exports`."""
    nested = os.path.join(path, EXPORTS_DIR)
    return nested if os.path.isfile(os.path.join(nested, MANIFEST_FILE)) else path


def read_manifest(folder: str) -> Dict[str, Any]:
    """The manifest of an export folder, checked for the fields the runtime needs.

    Raises:
      EdgeModelError: no manifest.json, unreadable JSON, another format, or missing fields.
    """
    path = os.path.join(folder, MANIFEST_FILE)
    if not os.path.isfile(path):
        raise EdgeModelError(f"{folder}: no {MANIFEST_FILE} (not an nlp2prod export folder or pushed version)")
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError) as error:
        raise EdgeModelError(f"{path}: unreadable manifest: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise EdgeModelError(f"{path}: not an export manifest of format {FORMAT_VERSION}")
    missing = [key for key in ("labels", "tokenizer", "artefacts") if key not in manifest]
    if missing:
        raise EdgeModelError(f"{path}: manifest lacks {', '.join(missing)}")
    return manifest


def verified_file(folder: str, entry: Dict[str, Any], what: str) -> str:
    """The path of a manifest entry's file, after checking its size and SHA-256.

    Raises:
      EdgeModelError: the file is missing or differs from what the manifest recorded.
    """
    path = os.path.join(folder, str(entry.get("file", "")))
    if not os.path.isfile(path):
        raise EdgeModelError(f"{folder}: {what} file {entry.get('file')!r} is missing")
    if os.path.getsize(path) != entry.get("bytes") or sha256_of(path) != entry.get("sha256"):
        raise EdgeModelError(f"{path}: {what} differs from the manifest (size or sha256): altered or truncated")
    return path


def choose_artefact(manifest: Dict[str, Any], name: Optional[str] = None) -> str:
    """The named shipped artefact, or the first shipped one in PREFERENCE order.

    Raises:
      EdgeModelError: the named one was not shipped (with the reason when it was refused), or none was.
    """
    shipped = manifest.get("artefacts") or {}
    refused = manifest.get("refused") or {}
    if name:
        if name in shipped:
            return name
        why = f": refused: {refused[name]}" if name in refused else ""
        raise EdgeModelError(f"artefact {name!r} is not in this export (shipped: "
                             f"{', '.join(sorted(shipped)) or 'none'}){why}")
    for candidate in PREFERENCE:
        if candidate in shipped:
            return candidate
    reasons = "; ".join(f"{key}: {value}" for key, value in sorted(refused.items()))
    raise EdgeModelError("no artefact passed the export gate" + (f" ({reasons})" if reasons else ""))


def version_metadata(manifest: Dict[str, Any]) -> Dict[str, Any]:
    """The `exports` field of a pushed version's nlp2prod_metadata.json: where the folder is, and per
    artefact its file, size, sha256, accuracy and (int8 ONNX) the recipe that shipped and why the ones tried
    before it were not (shipped), or the reason (refused)."""
    shipped = {name: {key: entry[key] for key in ("file", "runtime", "precision", "bytes", "sha256", "accuracy",
                                                  "int8_recipe", "refused_recipes")
                      if key in entry}
               for name, entry in (manifest.get("artefacts") or {}).items()}
    return {"folder": EXPORTS_DIR, "tokenizer": dict(manifest.get("tokenizer") or {}),
            "artefacts": shipped, "refused": dict(manifest.get("refused") or {})}
