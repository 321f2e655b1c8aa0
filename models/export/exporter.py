"""export_model: convert a SavedModel to every configured artefact, gate each one, keep what passed.

The folder it writes is `edge.manifest`'s contract: manifest.json, tokenizer.model and the shipped artefacts.
Every artefact is measured through `edge.runtime` (the edge's own tokenizer and runtimes) on raw texts of the
gate sets (the eval split, the held-out-language split, the out-of-corpus sentences: `EvalRow.gate_set`), so
the gate covers tokenization, the input prefix and the vocabulary remap as a device would run them, per set and
language. The texts run in length order (batches pad few positions), the SavedModel once for all artefacts,
and an artefact whose measured part already fails its gate is not run on the rest of the texts.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import shutil
import tempfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from edge import manifest as contract
from edge.runtime import EdgeModel, load_backend
from edge.tokenizer import PieceTokenizer
from models import progress
from models.classifier.candidates import EVAL
from models.export import accuracy, converters
from models.export.settings import ExportSettings
from models.export.source import ExportSource, ExportSourceError, load_source


# Batches an artefact runs between two checks of whether its gate can still pass.
_GATE_CHUNK_BATCHES = 8


@dataclasses.dataclass(frozen=True)
class EvalRow:
    """One gate text: its serialized raw tf.Example (for transform_features), text, label id, language and the
    evaluation set it belongs to (`models.classifier.candidates`: eval, held_out_language, out_of_corpus)."""

    serialized: bytes
    text: str
    label_id: int
    lang: str
    gate_set: str = EVAL

    @property
    def group(self) -> str:
        """Its set and language, as the gate names them: "out_of_corpus de"."""
        return f"{self.gate_set} {self.lang}"


def export_model(saved_model_dir: str, out_dir: str, rows: Sequence[EvalRow], labels: Sequence[str],
                 settings: ExportSettings = ExportSettings(),
                 calibration_texts: Sequence[str] = ()) -> Dict[str, object]:
    """Writes the gated exports of a SavedModel into `out_dir` and returns the manifest written there.

    `rows` are the texts every artefact is gated on, per set and language; `calibration_texts` (training texts,
    none of them in `rows`) give the per_token int8 recipe its SmoothQuant ranges; without them it quantizes
    unsmoothed.

    A conversion error or a failed gate refuses that artefact only (its reason in manifest["refused"]); a
    SavedModel the exporter cannot read at all, or whose tokenizer ids differ from the edge tokenizer's,
    refuses every artefact. Nothing here raises for a bad model.
    """
    os.makedirs(out_dir, exist_ok=True)
    manifest = empty_manifest(labels)
    manifest["refused"].update({name: "unknown export format" for name in settings.formats
                                if name not in contract.ARTEFACTS})
    formats = [name for name in settings.formats if name in contract.ARTEFACTS]
    problem = "" if rows else "no texts to gate on"
    try:
        source = load_source(saved_model_dir)
        tokenizer = _write_tokenizer(source, out_dir, manifest)
        problem = problem or _tokenizer_parity(source, tokenizer, rows, settings.batch_size)
    except ExportSourceError as error:
        problem = str(error)
    if problem:
        manifest["refused"].update({name: problem for name in formats})
    else:
        calibration = calibration_feeds(tokenizer, calibration_texts[:settings.calibration_texts], settings.batch_size)
        _export_formats(source, tokenizer, out_dir, rows, list(labels), formats, settings, calibration, manifest)
    write_manifest(out_dir, manifest)
    return manifest


def empty_manifest(labels: Sequence[str]) -> Dict[str, object]:
    """A manifest with no artefact yet (shipped or refused)."""
    return {"format": contract.FORMAT_VERSION, "labels": list(labels), "tokenizer": {},
            "inputs": [contract.INPUT_IDS, contract.INPUT_MASK], "output": contract.PROBABILITIES,
            "artefacts": {}, "refused": {}}


def write_manifest(out_dir: str, manifest: Dict[str, object]) -> None:
    """Writes manifest.json into `out_dir` (created when missing)."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, contract.MANIFEST_FILE), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1, ensure_ascii=False, sort_keys=True)


def select_rows(rows: Sequence[EvalRow], per_language: int) -> List[EvalRow]:
    """The first `per_language` rows of each language of each set (all when 0), in their order."""
    if per_language <= 0:
        return list(rows)
    counts: Dict[str, int] = {}
    kept = []
    for row in rows:
        counts[row.group] = counts.get(row.group, 0) + 1
        if counts[row.group] <= per_language:
            kept.append(row)
    return kept


def length_sorted(rows: Sequence[EvalRow], tokenizer: PieceTokenizer) -> List[EvalRow]:
    """The rows by packed length (stable): batches of similar length pad few positions in every evaluation."""
    lengths = [len(pieces) for pieces in tokenizer.pieces([row.text for row in rows])]
    return [rows[int(index)] for index in np.argsort(lengths, kind="stable")]


def _write_tokenizer(source: ExportSource, out_dir: str, manifest: Dict[str, object]) -> PieceTokenizer:
    path = os.path.join(out_dir, contract.TOKENIZER_FILE)
    with open(path, "wb") as handle:
        handle.write(source.tokenizer_proto)
    manifest["tokenizer"] = dict(contract.file_entry(path), kind="sentencepiece",
                                 max_seq_length=source.max_seq_length, **source.special_ids)
    return PieceTokenizer(source.tokenizer_proto, source.max_seq_length, source.special_ids)


def _tokenizer_parity(source: ExportSource, tokenizer: PieceTokenizer, rows: Sequence[EvalRow],
                      batch_size: int) -> str:
    """'' when the edge tokenizer packs every gate text exactly as the SavedModel's transform_features does."""
    expected_ids, expected_mask = source.transformed_ids([row.serialized for row in rows], batch_size)
    ids, mask = tokenizer.pack([row.text for row in rows], length=source.max_seq_length)
    differs = np.flatnonzero(((ids != expected_ids) | (mask != expected_mask)).any(axis=1))
    if not len(differs):
        return ""
    first = rows[int(differs[0])]
    return (f"tokenizer parity: {len(differs)} of {len(rows)} gate texts get other ids from the edge tokenizer "
            f"than from the SavedModel (first: {first.group} {first.text[:40]!r})")


def calibration_feeds(tokenizer: PieceTokenizer, texts: Sequence[str], batch_size: int) -> List[Dict[str, np.ndarray]]:
    """ONNX feed dicts of `texts` in length order, `batch_size` texts each."""
    _, batches = tokenizer.length_ordered_batches(texts, batch_size)
    return [{contract.INPUT_IDS: ids, contract.INPUT_MASK: mask} for ids, mask in batches]


def _export_formats(source: ExportSource, tokenizer: PieceTokenizer, out_dir: str, rows: Sequence[EvalRow],
                    labels: List[str], formats: List[str], settings: ExportSettings,
                    calibration: List[Dict[str, np.ndarray]], manifest: Dict[str, object]) -> None:
    rows = length_sorted(rows, tokenizer)
    texts = [row.text for row in rows]
    reference = source.reference_probabilities(texts, settings.batch_size)
    if reference.shape[1] != len(labels):
        manifest["refused"].update({name: f"the model answers {reference.shape[1]} classes but {len(labels)} labels "
                                          f"are configured" for name in formats})
        return
    function = source.ids_function()
    with tempfile.TemporaryDirectory(dir=out_dir) as scratch:
        writers = _writers(source, function, scratch, settings, calibration)
        for name in formats:
            file_name, runtime, precision = contract.ARTEFACTS[name]
            path = os.path.join(out_dir, file_name)
            refusals: Dict[str, str] = {}  # recipe ("" for a format with one way) → why it was not shipped
            for recipe, write in writers[name]:
                label = f"{name} ({recipe})" if recipe else name
                progress.log.info("export %s: converting", label)
                reason = _write_and_gate(name, write, path, runtime, precision, labels, tokenizer, reference, rows,
                                         settings, manifest)
                if not reason:
                    if refusals:  # the recipes tried before the one that shipped
                        manifest["artefacts"][name]["refused_recipes"] = refusals
                    break
                refusals[recipe] = reason
                progress.log.info("export %s: not shipped: %s", label, reason)
            else:
                reason = "; ".join(f"{recipe}: {why}" if recipe else why for recipe, why in refusals.items())
                _refuse(manifest, name, reason or "no recipe configured (export.int8_recipes is empty)", path)


def _write_and_gate(name: str, write: Callable[[str], object], path: str, runtime: str, precision: str,
                    labels: List[str], tokenizer: PieceTokenizer, reference: np.ndarray, rows: Sequence[EvalRow],
                    settings: ExportSettings, manifest: Dict[str, object]) -> str:
    """Writes one artefact and gates it: "" and its manifest entry when it ships, else the reason (file removed)."""
    try:
        details = write(path) or {}
        backend = load_backend(path, runtime, settings.threads)
    except (converters.ConversionError, contract.EdgeModelError) as error:
        return _removed(path, str(error))
    model = EdgeModel(name, labels, tokenizer, backend, settings.batch_size)
    candidate, stopped = _candidate_probabilities(model, reference, rows, precision, settings)
    if stopped:
        return _removed(path, stopped)
    measured = accuracy.per_set(reference, candidate, [r.label_id for r in rows], [r.lang for r in rows],
                                [r.gate_set for r in rows])
    failures = accuracy.gate_failures(precision, measured, settings)
    if failures:
        return _removed(path, "accuracy gate: " + "; ".join(failures))
    manifest["artefacts"][name] = dict(contract.file_entry(path), runtime=runtime, precision=precision,
                                       accuracy=measured, **details)
    progress.log.info("export %s: shipped, %.1f MB; %s", name, os.path.getsize(path) / 1e6, "; ".join(
        f"{gate_set} agreement {values[accuracy.OVERALL]['agreement']:.4f}, max |Δprob| "
        f"{values[accuracy.OVERALL]['max_prob_delta']:.3g}" for gate_set, values in measured.items()))
    return ""


def _candidate_probabilities(model: EdgeModel, reference: np.ndarray, rows: Sequence[EvalRow], precision: str,
                             settings: ExportSettings) -> Tuple[Optional[np.ndarray], str]:
    """The artefact's probabilities of every row, measured in chunks of `_GATE_CHUNK_BATCHES` batches; or None
    and the reason as soon as the measured part shows that the gate cannot pass (a refused artefact is not run on
    the rest of the texts: its reason says how far it got)."""
    texts, groups = [row.text for row in rows], [row.group for row in rows]
    totals = collections.Counter(groups)
    step = settings.batch_size * _GATE_CHUNK_BATCHES
    measured = np.zeros((0, reference.shape[1]), np.float32)
    for start in range(0, len(texts), step):
        measured = np.concatenate([measured, model.probabilities(texts[start:start + step])])
        reason = accuracy.certain_failure(precision, reference, measured, groups, totals, settings)
        if reason and len(measured) < len(texts):
            return None, f"accuracy gate: stopped after {len(measured)} of {len(texts)} texts: {reason}"
    return measured, ""


def _writers(source: ExportSource, function, scratch: str, settings: ExportSettings,
             calibration: List[Dict[str, np.ndarray]]) -> Dict[str, List[Tuple[str, Callable[[str], object]]]]:
    """name → its ways of writing that artefact to a path, in the order tried: (recipe, function returning extra
    manifest fields or None); the recipe is "" for formats with one way."""
    raw_onnx = os.path.join(scratch, "raw.onnx")
    fused_onnx = os.path.join(scratch, "fused.onnx")
    fusions: Dict[str, Dict[str, int]] = {}

    def fused() -> str:
        if not fusions:
            converters.to_onnx(function, raw_onnx, settings.onnx_opset)
            fusions["fused_operators"] = converters.fuse_onnx(raw_onnx, fused_onnx)
        return fused_onnx

    def onnx_fp32(path: str):
        _link_or_copy(fused(), path)
        return dict(fusions)

    def onnx_int8(recipe: str) -> Callable[[str], object]:
        def write(path: str):
            counts = converters.quantize_onnx(fused(), path, recipe, calibration, settings.int8_smooth_alpha,
                                              settings.int8_outlier_share)
            details = dict(fusions, int8_recipe=recipe, quantized_operators=counts)
            if recipe == "per_token":  # the smoothing and split it got (neither without calibration texts)
                texts = sum(len(feed[contract.INPUT_IDS]) for feed in calibration)
                details.update(smooth_alpha=settings.int8_smooth_alpha if texts else 0.0, calibration_texts=texts,
                               outlier_share=settings.int8_outlier_share if texts else 0.0)
            return details
        return write

    return {"onnx_fp32": [("", onnx_fp32)],
            "onnx_int8": [(recipe, onnx_int8(recipe)) for recipe in settings.int8_recipes],
            "tflite_fp16": [("", lambda path: converters.to_tflite(function, source.loaded, path, "float16"))],
            "tflite_int8": [("", lambda path: converters.to_tflite(function, source.loaded, path, "int8"))]}


def _link_or_copy(source_path: str, path: str) -> None:
    """A hard link (the scratch folder is inside the export folder), or a copy where links are not allowed."""
    if os.path.exists(path):
        os.remove(path)
    try:
        os.link(source_path, path)
    except OSError:
        shutil.copyfile(source_path, path)


def _removed(path: str, reason: str) -> str:
    """Removes a refused artefact's file; returns the reason."""
    if os.path.exists(path):
        os.remove(path)
    return reason


def _refuse(manifest: Dict[str, object], name: str, reason: str, path: str) -> None:
    manifest["refused"][name] = _removed(path, reason)

