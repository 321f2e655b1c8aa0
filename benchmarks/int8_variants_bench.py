"""Which int8 ONNX recipe is fast and still agrees with the float model, per language (issue 15's 1.5× target).

Starts from a pushed version's shipped `onnx_fp32` and writes several int8 variants of it with onnxruntime's
quantizers: plain dynamic quantization (MatMulInteger: one activation scale per tensor), the same with some
projections left in float, SmoothQuant (activation outliers moved into the weights with ranges calibrated on
other corpus texts) before dynamic quantization, per-token int8 (one activation scale per token; with SmoothQuant
and the outlier split: ModelExport's first recipe) and MatMulNBits (8-bit weights, activations quantized per block
at run time: ModelExport's second recipe). The shipped `onnx_fp32` is first passed through
`converters.fuse_onnx` again, so a version exported before the LayerNorm fusion is measured as one exported now.
Each variant is run on the same texts through the edge runtime (its tokenizer, length ordered batches of 32,
2 threads) and compared with `onnx_fp32`: top-1 agreement per language against the export
gate's `int8_min_agreement`, size on disk, batch-32 texts/s. Throughput is measured in two passes, all models
in turn each pass, so the ratios are side by side.

    .venv/bin/python benchmarks/int8_variants_bench.py .nlp2prod/serving/nlp2prod/1   # after make demo
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from typing import Callable, Dict, List, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import machine  # noqa: E402
from data.bundled import BUNDLED_LABELS, BUNDLED_LANGUAGES, read_corpus  # noqa: E402
from edge import manifest as contract  # noqa: E402
from edge.runtime import EdgeModel, OnnxBackend  # noqa: E402
from models.export import converters, int8  # noqa: E402
from models.export.converters import INT8_BLOCK_SIZE  # noqa: E402
from models.export.exporter import calibration_feeds  # noqa: E402
from models.export.settings import ExportSettings  # noqa: E402

DEFAULT_OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "int8_variants.md")
FFN_SIZE = 1536  # e5-small's FFN width: the FFN projections are the MatMuls whose constant weight has this dim
SMOOTH_ALPHAS = (0.5, 0.75, 0.85)  # SmoothQuant's migration strength (the paper's default is 0.5)
SHIPPED_ALPHA = ExportSettings().int8_smooth_alpha
SHIPPED_SHARE = ExportSettings().int8_outlier_share
SHIPPED_NOTE = " (ModelExport's first recipe: 'per_token')"


def _matmuls(path: str, keep: Callable[[str, tuple], bool]) -> List[str]:
    """Names of the MatMul nodes with a constant weight for which keep(node name, weight shape) holds."""
    import onnx

    graph = onnx.load(path).graph
    shapes = {init.name: tuple(init.dims) for init in graph.initializer}
    return [node.name for node in graph.node
            if node.op_type == "MatMul" and node.input[1] in shapes and keep(node.name, shapes[node.input[1]])]


def _ffn_output(name: str, shape: tuple) -> bool:
    return shape[:1] == (FFN_SIZE,)


def _ffn(name: str, shape: tuple) -> bool:
    return FFN_SIZE in shape


def _head_or_prior(name: str, shape: tuple) -> bool:
    """The classifier heads and the label prior, which `models.export.int8` leaves float: fewer columns than
    its MIN_COLUMNS (one per label or language)."""
    return len(shape) != 2 or shape[1] < int8.MIN_COLUMNS


def _smoothed(source: str, target: str, maxima: Dict[str, np.ndarray], alpha: float) -> None:
    """SmoothQuant (`models.export.int8.smooth`) of the ONNX at `source`, written to `target`."""
    import onnx

    model = onnx.load(source)
    int8.smooth(model, maxima, alpha)
    onnx.save(model, target)


def _dynamic(source: str, target: str, ops: Sequence[str], exclude: Sequence[str] = ()) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # DefaultTensorType: shape inference cannot type the outputs of the fused (com.microsoft) LayerNorms.
    quantize_dynamic(source, target, per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=list(ops), nodes_to_exclude=list(exclude),
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _nbits(source: str, target: str, block: int, include: Sequence[str] = None) -> None:
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    config = DefaultWeightOnlyQuantConfig(block_size=block, is_symmetric=True, accuracy_level=4, bits=8,
                                          op_types_to_quantize=("MatMul",))
    quantizer = MatMulNBitsQuantizer(source, algo_config=config, nodes_to_include=include)
    quantizer.process()
    quantizer.model.save_model_to_file(target, use_external_data_format=False)


def _variants(fp32: str, work: str, feeds) -> Dict[str, Callable[[str], None]]:
    """name → function(target path) writing that int8 variant of `fp32` (`feeds`: calibration batches)."""
    staged = os.path.join(work, "staged.onnx")
    maxima = {}

    def smoothed_dynamic(alpha):  # SmoothQuant, then plain dynamic int8 with the heads in float
        def write(target):
            if not maxima:
                import onnx

                maxima.update(int8.activation_maxima(onnx.load(fp32), feeds, contract.INPUT_MASK))
            _smoothed(fp32, staged, maxima, alpha)
            _dynamic(staged, target, ["MatMul", "Gather"], _matmuls(fp32, _head_or_prior))
        return write

    def per_token(alpha, share=0.0):  # the exporter's own recipe (alpha 0: unsmoothed; share 0: no outlier split)
        return lambda target: converters.quantize_onnx(fp32, target, "per_token", feeds, alpha, share)

    def nbits_then_gather(block, include=None, rest=("Gather",)):
        def write(target):
            _nbits(fp32, staged, block, include)
            _dynamic(staged, target, rest)
        return write

    return {
        "dynamic (MatMulInteger + int8 Gather)": lambda t: _dynamic(fp32, t, ["MatMul", "Gather"]),
        "dynamic, embedding float": lambda t: _dynamic(fp32, t, ["MatMul"]),
        "dynamic, FFN output float": lambda t: _dynamic(fp32, t, ["MatMul", "Gather"],
                                                        _matmuls(fp32, _ffn_output)),
        "dynamic, both FFN projections float": lambda t: _dynamic(fp32, t, ["MatMul", "Gather"],
                                                                  _matmuls(fp32, _ffn)),
        f"MatMulNBits on FFN output (blocks of {INT8_BLOCK_SIZE}), dynamic elsewhere": nbits_then_gather(
            INT8_BLOCK_SIZE, _matmuls(fp32, _ffn_output), ("MatMul", "Gather")),
        f"MatMulNBits everywhere, blocks of {INT8_BLOCK_SIZE} (ModelExport's second recipe: 'blockwise')":
            lambda t: converters.quantize_onnx(fp32, t, "blockwise"),
        "MatMulNBits everywhere, blocks of 32": nbits_then_gather(32),
        "MatMulNBits everywhere, blocks of 128": nbits_then_gather(128),
        "dynamic, head and prior float": lambda t: _dynamic(fp32, t, ["MatMul", "Gather"],
                                                            _matmuls(fp32, _head_or_prior)),
        **{f"SmoothQuant α {alpha} + dynamic, head and prior float": smoothed_dynamic(alpha)
           for alpha in SMOOTH_ALPHAS},
        "per-token (MatMulInteger, one activation scale per token)": per_token(0.0),
        **{f"SmoothQuant α {alpha} + per-token": per_token(alpha) for alpha in SMOOTH_ALPHAS},
        f"outlier split {SHIPPED_SHARE:.0%} + per-token": per_token(0.0, SHIPPED_SHARE),
        **{f"SmoothQuant α {alpha} + outlier split {share:.0%} + per-token"
           f"{SHIPPED_NOTE if (alpha, share) == (SHIPPED_ALPHA, SHIPPED_SHARE) else ''}": per_token(alpha, share)
           for alpha, share in ((0.5, SHIPPED_SHARE), (SHIPPED_ALPHA, SHIPPED_SHARE), (SHIPPED_ALPHA, 0.04))},
    }


def _texts(per_language: int, seed: int):
    by_language = collections.defaultdict(list)
    for text, _, lang in read_corpus(BUNDLED_LANGUAGES, BUNDLED_LABELS):
        by_language[lang].append(text)
    rng = np.random.default_rng(seed)
    texts, languages = [], []
    for lang, rows in sorted(by_language.items()):
        picked = rng.choice(len(rows), min(per_language, len(rows)), replace=False)
        texts += [rows[i] for i in picked]
        languages += [lang] * len(picked)
    return texts, np.array(languages)


def _texts_per_second(model: EdgeModel, texts: Sequence[str], repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.probabilities(texts)
        rates.append(len(texts) / (time.perf_counter() - started))
    return float(np.median(rates))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("version", help="a pushed version dir holding assets.extra/exports with onnx_fp32")
    parser.add_argument("--per-language", type=int, default=100, help="corpus texts per language")
    parser.add_argument("--calibration-per-language", type=int, default=40,
                        help="corpus texts per language for SmoothQuant's activation ranges (none measured)")
    parser.add_argument("--speed-texts", type=int, default=320, help="texts per throughput measurement")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--output", default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    started = time.time()
    facts = machine.machine_info(["onnxruntime", "onnx"])
    model = EdgeModel.load(args.version, "onnx_fp32")
    shipped = os.path.join(contract.export_folder(args.version), contract.ARTEFACTS["onnx_fp32"][0])
    texts, languages = _texts(args.per_language, seed=0)
    measured = set(texts)
    calibration = [text for text in _texts(args.calibration_per_language, seed=1)[0] if text not in measured]
    tokenizer = model._tokenizer  # pylint: disable=protected-access
    feeds = calibration_feeds(tokenizer, calibration, 32)
    speed_texts = texts[::max(1, len(texts) // args.speed_texts)][:args.speed_texts]
    minimum = ExportSettings().int8_min_agreement
    with tempfile.TemporaryDirectory() as work:
        fp32 = os.path.join(work, "fp32.onnx")
        fusions = converters.fuse_onnx(shipped, fp32)
        paths = {"onnx_fp32 (reference)": fp32}
        for name, write in _variants(fp32, work, feeds).items():
            paths[name] = os.path.join(work, f"variant{len(paths)}.onnx")
            print(f"writing {name} ...", flush=True)
            write(paths[name])
        backends = {name: OnnxBackend(path, 2) for name, path in paths.items()}
        probabilities = {}
        for name, backend in backends.items():
            model._backend = backend  # pylint: disable=protected-access
            probabilities[name] = model.probabilities(texts)
        rates = collections.defaultdict(list)
        for _ in range(args.passes):
            for name, backend in backends.items():
                model._backend = backend  # pylint: disable=protected-access
                rates[name].append(_texts_per_second(model, speed_texts, 3))
        sizes = {name: os.path.getsize(path) / 1e6 for name, path in paths.items()}
    machine.add_end_facts(facts, started)

    reference = probabilities["onnx_fp32 (reference)"].argmax(1)
    base_rate = np.mean(rates["onnx_fp32 (reference)"])
    rows = []
    for name in paths:
        agrees = probabilities[name].argmax(1) == reference
        per_language = {lang: float(agrees[languages == lang].mean()) for lang in sorted(set(languages))}
        worst = min(per_language, key=per_language.get)
        verdict = "passes" if per_language[worst] >= minimum else "fails"
        rows.append(f"| {name} | {sizes[name]:.1f} | {' / '.join(f'{r:.0f}' for r in rates[name])} | "
                    f"{np.mean(rates[name]) / base_rate:.2f}× | {agrees.mean():.4f} | "
                    f"{worst} {per_language[worst]:.3f} | {verdict} |")
    lines = ["# int8 ONNX variants against onnx_fp32", "", f"Command: `{machine.command_line()}`", "",
             f"Model: {os.path.abspath(args.version)} (onnx_fp32 fusions: {fusions}); {len(texts)} bundled-corpus "
             f"texts ({args.per_language} per language, {len(set(languages))} languages); throughput on "
             f"{len(speed_texts)} of them, batches of 32, 2 threads, {args.passes} passes (all models in turn each "
             f"pass). Gate: top-1 agreement ≥ {minimum} in every language (the export gate's "
             f"`int8_min_agreement`). SmoothQuant's activation ranges come from {len(calibration)} other corpus "
             "texts.", "",
             *machine.markdown_facts(facts), "",
             "| variant | MB | texts/s per pass | vs onnx_fp32 | top-1 agreement | lowest language | agreement gate |",
             "|---|---:|---:|---:|---:|---:|---|", *rows, ""]
    with open(args.output, "w") as handle:
        handle.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
