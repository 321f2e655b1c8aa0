"""The export benchmark's measurements and report: candidates (SavedModel, edge artefacts), conversion, latency,
throughput, installed runtime sizes, the fresh edge-only venv, and the markdown tables."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from importlib import metadata
from typing import Dict, Sequence

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EDGE_TEXTS = ("I love football", "Il calcio è il mio sport preferito", "私は映画が好きです", "Привіт, як справи?",
              "我喜欢看电影", "سلام، حال شما چطور است؟", "주식 시장이 오늘 많이 올랐어요", "Hoeveel geld heb je nodig?")
SERVING_ROOTS = ("tensorflow", "tensorflow-text", "tf-keras", "tensorflow-serving-api", "grpcio",
                 "grpcio-health-checking", "prometheus-client")
EDGE_ROOTS = {"ONNX (onnxruntime)": ("onnxruntime", "sentencepiece", "numpy"),
              "TFLite (tflite-runtime)": ("tflite-runtime", "sentencepiece", "numpy")}


def saved_model_own_bytes(version_dir: str) -> int:
    """A SavedModel's bytes on disk without the exports a pushed version carries under assets.extra/exports."""
    from edge.manifest import EXPORTS_DIR
    from models.classifier.export import saved_model_bytes

    exports = os.path.join(version_dir, EXPORTS_DIR)
    return saved_model_bytes(version_dir) - (saved_model_bytes(exports) if os.path.isdir(exports) else 0)


class SavedModelCandidate:
    """The SavedModel through serving_default (raw text in), on TensorFlow."""

    precision = "float32"

    def __init__(self, source, load_seconds: float):
        self._source, self.load_seconds = source, load_seconds
        self.bytes = saved_model_own_bytes(source.saved_model_dir)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return self._source.reference_probabilities(list(texts), 32)


class EdgeCandidate:
    """An artefact through edge.runtime (the edge tokenizer, onnxruntime or the TFLite interpreter)."""

    def __init__(self, name: str, path: str, source, labels: Sequence[str], threads: int):
        from edge import manifest as contract
        from edge.runtime import EdgeModel, load_backend
        from edge.tokenizer import PieceTokenizer

        self.path = path
        _, runtime, self.precision = contract.ARTEFACTS[artefact_of(name)]
        tokenizer = PieceTokenizer(source.tokenizer_proto, source.max_seq_length, source.special_ids)
        started = time.perf_counter()
        backend = load_backend(path, runtime, threads)
        self.load_seconds = time.perf_counter() - started
        self.bytes = os.path.getsize(path)
        self._model = EdgeModel(name, labels, tokenizer, backend)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.probabilities(list(texts))


def artefact_of(name: str) -> str:
    """The edge artefact a candidate name stands for: "onnx_int8 (per_token)" → "onnx_int8"."""
    return name.split(" (")[0]


def convert_all(source, export_dir: str, names: Sequence[str],
                calibration_texts: Sequence[str] = ()) -> Dict[str, object]:
    """Converts every artefact (timed), onnx_int8 once per int8 recipe ("onnx_int8 (per_token)", ...; the
    per_token one calibrated on `calibration_texts`); {"files": {name: path}, "seconds", "errors", "fusions"}."""
    from edge import manifest as contract
    from edge.tokenizer import PieceTokenizer
    from models.export import converters, exporter
    from models.export.settings import ExportSettings

    os.makedirs(export_dir, exist_ok=True)
    function = source.ids_function()
    settings = ExportSettings()
    tokenizer = PieceTokenizer(source.tokenizer_proto, source.max_seq_length, source.special_ids)
    calibration = exporter.calibration_feeds(tokenizer, calibration_texts[:settings.calibration_texts],
                                             settings.batch_size)
    raw, fused = os.path.join(export_dir, "raw.onnx"), os.path.join(export_dir, "fused.onnx")
    out: Dict[str, Dict] = {"files": {}, "seconds": {}, "errors": {}, "fusions": {}}

    def int8(recipe: str):
        return lambda path: converters.quantize_onnx(out["files"]["onnx_fp32"], path, recipe, calibration,
                                                     settings.int8_smooth_alpha, settings.int8_outlier_share)

    def file_of(artefact: str, recipe: str = "") -> str:  # one int8 file per recipe: model_int8.per_token.onnx
        stem, extension = os.path.splitext(contract.ARTEFACTS[artefact][0])
        return os.path.join(export_dir, f"{stem}.{recipe}{extension}" if recipe else stem + extension)

    # candidate name → (file, writer)
    steps = {"onnx_fp32": (file_of("onnx_fp32"), lambda path: (converters.to_onnx(function, raw, 17),
                                                               out["fusions"].update(converters.fuse_onnx(raw, path)))),
             **{f"onnx_int8 ({recipe})": (file_of("onnx_int8", recipe), int8(recipe))
                for recipe in converters.INT8_RECIPES},
             "tflite_fp16": (file_of("tflite_fp16"),
                             lambda path: converters.to_tflite(function, source.loaded, path, "float16")),
             "tflite_int8": (file_of("tflite_int8"),
                             lambda path: converters.to_tflite(function, source.loaded, path, "int8"))}
    for name in [step for wanted in names for step in steps if artefact_of(step) == wanted]:
        path, write = steps[name]
        started = time.perf_counter()
        try:
            write(path)
            out["files"][name] = path
        except (converters.ConversionError, KeyError) as error:
            out["errors"][name] = str(error)
        out["seconds"][name] = round(time.perf_counter() - started, 1)
        print(f"  converted {name} in {out['seconds'][name]} s", flush=True)
    return out


def single_text_p50_ms(candidate, texts: Sequence[str], calls: int) -> float:
    """Median latency of one raw text per call, rotating through the texts (3 warmup calls)."""
    for text in texts[:3]:
        candidate.probabilities([text])
    latencies = []
    for i in range(calls):
        started = time.perf_counter()
        candidate.probabilities([texts[i % len(texts)]])
        latencies.append(time.perf_counter() - started)
    return round(1000 * statistics.median(latencies), 2)


def batch_throughput(candidate, texts: Sequence[str], batch: int, duration: float) -> float:
    """Texts per second over batches of `batch` raw texts for about `duration` seconds (one warmup batch)."""
    batches = [list(texts[i:i + batch]) for i in range(0, len(texts) - batch + 1, batch)] or [list(texts)]
    candidate.probabilities(batches[0])
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < duration or done == 0:
        chunk = batches[(done // batch) % len(batches)]
        candidate.probabilities(chunk)
        done += len(chunk)
    return round(done / (time.perf_counter() - started), 1)


def throughput_rounds(candidates: Dict[str, object], texts: Sequence[str], batch: int, duration: float,
                      rounds: int) -> Dict[str, Dict[str, object]]:
    """Batch throughput of every candidate in `rounds` interleaved rounds (each candidate in turn, every round):
    name → {"batch32_rounds": texts/s per round, "batch32_texts_per_s": their median, "vs_first": the median of
    each round's ratio to the first candidate's figure in the same round}."""
    per_round = {name: [] for name in candidates}
    for _ in range(max(1, rounds)):
        for name, candidate in candidates.items():
            per_round[name].append(batch_throughput(candidate, texts, batch, duration))
    first = per_round[next(iter(candidates))]
    return {name: {"batch32_rounds": values, "batch32_texts_per_s": statistics.median(values),
                   "vs_first": round(statistics.median(v / f for v, f in zip(values, first)), 3)}
            for name, values in per_round.items()}


def result_line(result: Dict[str, object]) -> str:
    overall = result["accuracy"]["eval"]["overall"]
    return (f"{result['bytes'] / 1e6:.1f} MB, load {result['load_s']:.2f} s, p50 {result['p50_ms']} ms, "
            f"batch-32 {result['batch32_texts_per_s']} texts/s, macro-F1 {overall['macro_f1']}, "
            f"agreement {overall['agreement']}, gate: {result['gate']}")


def distribution_closure_bytes(roots: Sequence[str]) -> int:
    """Installed bytes of the distributions `roots` and everything they require, in this interpreter."""
    seen, stack, total = set(), list(roots), 0
    while stack:
        name = stack.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        total += sum(os.path.getsize(dist.locate_file(f)) for f in dist.files or [] if os.path.isfile(dist.locate_file(f)))
        for requirement in dist.requires or []:
            if "extra ==" not in requirement:
                stack.append(requirement.split(";")[0].split("[")[0].split("(")[0].split("=")[0].split("<")[0]
                             .split(">")[0].split("!")[0].split("~")[0].strip())
    return total


def runtime_sizes() -> Dict[str, int]:
    """Installed size of what each runtime needs (dependency closure, measured in this venv)."""
    sizes = {"SavedModel (TF: the serving extra)": distribution_closure_bytes(SERVING_ROOTS)}
    sizes.update({name: distribution_closure_bytes(roots) for name, roots in EDGE_ROOTS.items()})
    return sizes


EDGE_INSTALLS = {
    "extra": "`pip install -c requirements.lock '.[edge]'` (every declared dependency)",
    "lean": "`pip install --no-deps -r requirements-edge.lock && pip install --no-deps .` (onnxruntime's tooling "
            "dependencies left out)"}


def _install_edge(python: str, install: str) -> None:
    pip = [python, "-m", "pip", "install", "-q"]
    if install == "extra":
        subprocess.run([*pip, "-c", os.path.join(REPO, "requirements.lock"), f"{REPO}[edge]"], check=True)
    else:
        subprocess.run([*pip, "--no-deps", "-r", os.path.join(REPO, "requirements-edge.lock")], check=True)
        subprocess.run([*pip, "--no-deps", REPO], check=True)


def edge_venv_report(venv: str, export_dir: str, install: str = "extra") -> Dict[str, object]:
    """Builds a fresh venv with only the edge runtime (`install`: a key of EDGE_INSTALLS) and runs the edge CLI
    there on texts in eight scripts."""
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    _install_edge(python, install)
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    total = int(subprocess.run(["du", "-sb", site], capture_output=True, text=True).stdout.split()[0])
    baseline = sum(int(subprocess.run(["du", "-sb", os.path.join(site, name)], capture_output=True,
                                      text=True).stdout.split()[0] or 0)
                   for name in os.listdir(site) if name.split("-")[0] in ("pip", "setuptools", "_distutils_hack"))
    frozen = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True).stdout.split()
    probe = ("import time; t=time.perf_counter(); import edge.runtime, onnxruntime, sentencepiece, tflite_runtime"
             ".interpreter; print(round(time.perf_counter()-t, 3))")
    import_s = subprocess.run([python, "-c", probe], capture_output=True, text=True, cwd="/").stdout.strip()
    answers = {}
    for artefact in ("", "tflite_fp16", "onnx_int8"):  # the default pick, a TFLite one, an int8 one
        choice = ["--artefact", artefact] if artefact else []
        run = subprocess.run([os.path.join(venv, "bin", "nlp2prod"), "edge", "predict", "--model", export_dir,
                              *choice, *EDGE_TEXTS], capture_output=True, text=True, cwd="/")
        answers[" ".join(choice) or "(default)"] = (run.stdout + run.stderr).strip().splitlines()
    return {"install": EDGE_INSTALLS[install], "site_bytes": total, "pip_setuptools_bytes": baseline,
            "packages": frozen, "import_s": import_s, "answers": answers}


def render(outcome, runtimes, edges, facts, command: str, model_dir: str) -> str:
    """The markdown report."""
    from export_report import render_report

    return render_report(outcome, runtimes, edges, facts, command, model_dir)


def write_manifest(export_dir: str, source, labels: Sequence[str], results: Dict[str, Dict],
                   files: Dict[str, str]) -> None:
    """A manifest for the benchmark's folder (so `nlp2prod edge predict` can load it): the artefacts that
    passed the gate as shipped (of the int8 recipes, the first that passed, as the exporter ships it), the others
    refused with the gate's reason."""
    from edge import manifest as contract
    from models.export.exporter import empty_manifest, write_manifest as write

    manifest = empty_manifest(labels)
    tokenizer_path = os.path.join(export_dir, contract.TOKENIZER_FILE)
    with open(tokenizer_path, "wb") as handle:
        handle.write(source.tokenizer_proto)
    manifest["tokenizer"] = dict(contract.file_entry(tokenizer_path), kind="sentencepiece",
                                 max_seq_length=source.max_seq_length, **source.special_ids)
    for name, result in results.items():
        artefact = artefact_of(name)
        if name not in files or artefact in manifest["artefacts"]:
            continue
        _, runtime, precision = contract.ARTEFACTS[artefact]
        if result["gate"] == "pass":
            manifest["artefacts"][artefact] = dict(contract.file_entry(files[name]), runtime=runtime,
                                                   precision=precision, accuracy=result["accuracy"])
            manifest["refused"].pop(artefact, None)
        else:
            recipe = name[len(artefact):].strip(" ()")  # as the exporter words it: "per_token: accuracy gate: ..."
            reason = f"{recipe + ': ' if recipe else ''}accuracy gate: {result['gate']}"
            manifest["refused"][artefact] = "; ".join(filter(None, [manifest["refused"].get(artefact), reason]))
    write(export_dir, manifest)
