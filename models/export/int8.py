"""Per-token dynamic int8 for an ONNX transformer: SmoothQuant, an outlier split, then MatMulInteger with one
scale per token.

onnxruntime's `quantize_dynamic` quantizes each projection's input with one scale for the whole tensor. In this
encoder a few tokens (the first, mostly) and a few channels carry activations far larger than the rest, so one
scale per tensor leaves the other tokens a handful of int8 steps, and 4–5% of the top-1s flip
(benchmarks/results/int8_variants.md). Three rewrites, each exact in float, fix most of that:

- SmoothQuant (Xiao et al., 2022): x·W = (x / s)·(s·W) with s_j = max|x_j|^α / max|W_j|^(1-α), moving the
  outlier channels into the weights. `activation_maxima` reads max|x_j| from calibration batches (training texts,
  never the texts a gate measures); one Mul per projection input divides by s.
- Outlier split (`split_outliers`, after LLM.int8(), Dettmers et al., 2022, with the channels fixed from
  calibration): the 2% of each projection input's channels with the largest activations are multiplied in float
  beside the int8 product, so they set neither the token scales nor the weight scales.
- Per-token quantization: every row (token) of a projection input gets its own scale, max|row| / 127, computed at
  run time (Abs, ReduceMax, QuantizeLinear per axis); weights are int8 with one scale per output column; the
  product runs as onnxruntime's MatMulIntegerToFloat (u8 × s8 → float, with the column scales) followed by one Mul
  by the row scales.

Only MatMuls with a constant weight of at least `MIN_COLUMNS` output columns are rewritten: the transformer's
projections. The classifier heads and the label prior (a column per label or language) and the attention's
activation × activation MatMuls stay float.
"""

from __future__ import annotations

import collections
from typing import Dict, Iterable, List, Tuple

import numpy as np

# Output columns a constant-weight MatMul needs to be rewritten: every projection of an encoder with hidden size
# ≥ 32; a head with fewer labels (or languages) than this stays float.
MIN_COLUMNS = 32
_PREFIX = "int8"  # names of the tensors and nodes this module adds
_FLOAT_PART = f"{_PREFIX}/float/"  # name prefix of the MatMuls an outlier split adds: they stay float


def projections(model) -> List:
    """The MatMul nodes with a constant 2-D weight of at least MIN_COLUMNS columns, in graph order."""
    shapes = {init.name: tuple(init.dims) for init in model.graph.initializer}
    return [node for node in model.graph.node
            if node.op_type == "MatMul" and len(shapes.get(node.input[1], ())) == 2
            and shapes[node.input[1]][1] >= MIN_COLUMNS and not node.name.startswith(_FLOAT_PART)]


def _by_input(nodes: Iterable) -> Dict[str, List]:
    """Projection nodes grouped by the activation they read (a block's Q, K and V share theirs)."""
    grouped: Dict[str, List] = collections.defaultdict(list)
    for node in nodes:
        grouped[node.input[0]].append(node)
    return grouped


def activation_maxima(model, feeds: Iterable[Dict[str, np.ndarray]], mask_name: str,
                      threads: int = 2) -> Dict[str, np.ndarray]:
    """Per input channel, max |x| of the input x of every projection over the calibration `feeds` (ONNX feed
    dicts); positions where `mask_name` is 0 (padding) do not count."""
    import onnx
    import onnxruntime

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    inputs = sorted(_by_input(projections(probe)))
    del probe.graph.output[:]
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
                              for name in inputs)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    maxima: Dict[str, np.ndarray] = {}
    for feed in feeds:
        mask = feed[mask_name]
        for name, value in zip(inputs, session.run(inputs, feed)):
            rows = value.reshape(-1, value.shape[-1])
            if value.shape[:2] == mask.shape:
                rows = rows[mask.reshape(-1) > 0]
            maxima[name] = np.maximum(maxima.get(name, 0.0), np.abs(rows).max(0))
    return maxima


def smooth(model, maxima: Dict[str, np.ndarray], alpha: float) -> int:
    """SmoothQuant in place: each projection input is divided by its per-channel s (one Mul, placed just before
    the first projection that reads it) and each weight row multiplied by it. The float outputs are unchanged up
    to rounding. Returns the number of inputs smoothed."""
    from onnx import helper, numpy_helper

    graph = model.graph
    _name_nodes(graph)
    weights = {init.name: init for init in graph.initializer}
    muls = {}
    for x, nodes in _by_input(projections(model)).items():
        kernels = [numpy_helper.to_array(weights[node.input[1]]) for node in nodes]
        weight_max = np.max([np.abs(kernel).max(1) for kernel in kernels], axis=0)
        scale = np.maximum(maxima[x], 1e-5) ** alpha / np.maximum(weight_max, 1e-5) ** (1 - alpha)
        divisor, smoothed = _smoothing_names(x)
        graph.initializer.append(numpy_helper.from_array((1 / scale).astype(np.float32), divisor))
        muls[nodes[0].name] = [helper.make_node("Mul", [x, divisor], [smoothed], name=divisor)]
        for node, kernel in zip(nodes, kernels):
            scaled = f"{_PREFIX}/{node.input[1]}/smoothed"
            graph.initializer.append(numpy_helper.from_array((kernel * scale[:, None]).astype(np.float32), scaled))
            node.input[0], node.input[1] = smoothed, scaled
    _insert(graph, before=muls)
    _drop_unused_initializers(graph)
    return len(muls)


def _smoothing_names(x: str) -> Tuple[str, str]:
    """(divisor initializer, smoothed tensor) that `smooth` writes for projection input x."""
    return f"{_PREFIX}/{x}/smooth", f"{_PREFIX}/{x}/smoothed"


def smoothed_maxima(model, maxima: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """The `activation_maxima` of a model `smooth` rewrote, from those read before it: max |x / s| is
    max |x| / s channel by channel (s > 0; equal up to the rounding of the smoothed products), so no second
    calibration pass is needed."""
    from onnx import numpy_helper

    weights = {init.name: init for init in model.graph.initializer}
    derived = {}
    for x, values in maxima.items():
        divisor, smoothed = _smoothing_names(x)
        if divisor in weights:
            derived[smoothed] = (values * numpy_helper.to_array(weights[divisor])).astype(np.float32)
    return derived


def split_outliers(model, maxima: Dict[str, np.ndarray], share: float) -> int:
    """LLM.int8()-style decomposition in place, with the channels fixed from calibration: for every projection
    input, its ceil(share · width) channels of largest max |x| (`maxima`, read on this model) are taken out of
    the int8 path and multiplied in float, x·W = x_rest·W_rest + x_O·W_O. The int8 path then reads a zero in
    those channels (its weight rows are zeroed too), so neither its per-token activation scales nor its
    per-column weight scales are set by an outlier. Where the input is a Mul by a constant vector that only the
    projections read (SmoothQuant's), the zeros go into that vector and the float path reads the Mul's input
    with the matching weight rows; otherwise one Mul by a 0/1 mask is added. Returns the number of inputs
    split."""
    from onnx import helper, numpy_helper

    graph = model.graph
    _name_nodes(graph)
    weights = {init.name: init for init in graph.initializer}
    producers = {output: node for node in graph.node for output in node.output}
    readers: Dict[str, set] = collections.defaultdict(set)
    for node in graph.node:
        for name in node.input:
            readers[name].add(node.name)
    graph_outputs = {output.name for output in graph.output}
    before: Dict[str, List] = {}
    after: Dict[str, List] = {}
    split = 0
    for index, (x, nodes) in enumerate(_by_input(projections(model)).items()):
        width = weights[nodes[0].input[1]].dims[0]
        count = int(np.ceil(width * share))
        if count <= 0 or count >= width:
            continue
        outliers = np.sort(np.argsort(maxima[x])[-count:])
        p = f"{_PREFIX}/outliers{index}"
        producer = producers.get(x)
        divisor = (weights.get(producer.input[1]) if producer is not None and producer.op_type == "Mul" else None)
        only_projections = readers[x] == {node.name for node in nodes} and x not in graph_outputs
        if divisor is not None and tuple(divisor.dims) == (width,) and only_projections:
            # x = source · divisor, read by these projections alone (SmoothQuant's Mul): zero the outlier
            # channels in the divisor, select them from the source.
            factors = numpy_helper.to_array(divisor).astype(np.float32).copy()
            float_rows = factors[outliers]
            factors[outliers] = 0.0
            divisor.CopyFrom(numpy_helper.from_array(factors, divisor.name))
            source, kept, rows_factor = producer.input[0], x, float_rows
            masking = []
        else:
            mask = np.ones(width, np.float32)
            mask[outliers] = 0.0
            graph.initializer.append(numpy_helper.from_array(mask, f"{p}/mask"))
            source, kept, rows_factor = x, f"{p}/kept", np.ones(count, np.float32)
            masking = [helper.make_node("Mul", [x, f"{p}/mask"], [kept], name=f"{p}/mask")]
        # The outlier channels by a one-hot MatMul (onnxruntime's Gather on the last axis is several times slower).
        select = np.zeros((width, count), np.float32)
        select[outliers, np.arange(count)] = 1.0
        graph.initializer.append(numpy_helper.from_array(select, f"{p}/select"))
        before[nodes[0].name] = masking + [
            helper.make_node("MatMul", [source, f"{p}/select"], [f"{p}/x"], name=f"{_FLOAT_PART}{p}/select")]
        for node in nodes:
            kernel = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)
            rest = kernel.copy()
            rest[outliers] = 0.0
            name = f"{_PREFIX}/{node.name}/outlier"
            graph.initializer.extend([
                numpy_helper.from_array(rest, f"{name}/rest_weight"),
                numpy_helper.from_array(kernel[outliers] * rows_factor[:, None], f"{name}/weight")])
            output = node.output[0]
            node.input[0], node.input[1], node.output[0] = kept, f"{name}/rest_weight", f"{name}/rest"
            after[node.name] = [
                helper.make_node("MatMul", [f"{p}/x", f"{name}/weight"], [f"{name}/float"],
                                 name=f"{_FLOAT_PART}{name}"),
                helper.make_node("Add", [f"{name}/rest", f"{name}/float"], [output], name=f"{name}/add")]
        split += 1
    _insert(graph, before=before, after=after)
    _drop_unused_initializers(graph)
    return split


def quantize_per_token(model) -> Dict[str, int]:
    """Rewrites every projection in place as per-token dynamic int8 (module docstring). Returns the count of
    each operator the rewrite wrote that the runtime will run: MatMulIntegerToFloat per projection,
    QuantizeLinear per distinct projection input."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    _name_nodes(graph)
    if not any(entry.domain == "com.microsoft" for entry in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    opset = next(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))
    weights = {init.name: init for init in graph.initializer}
    constants = {"inv127": np.array(1 / 127, np.float32), "tiny": np.array(1e-12, np.float32),
                 "one": np.array(1.0, np.float32), "zero_point": np.array(128, np.uint8),
                 "zero_points": np.array([128], np.uint8), "flat": np.array([-1], np.int64),
                 "last_axis": np.array([-1], np.int64)}
    added = [numpy_helper.from_array(value, f"{_PREFIX}/{name}") for name, value in constants.items()]
    c = {name: f"{_PREFIX}/{name}" for name in constants}
    before: Dict[str, List] = {}
    after: Dict[str, List] = {}
    grouped = _by_input(projections(model))
    for index, (x, nodes) in enumerate(grouped.items()):
        p = f"{_PREFIX}/input{index}"
        width = weights[nodes[0].input[1]].dims[0]
        added.append(numpy_helper.from_array(np.array([-1, width], np.int64), f"{p}/rows_shape"))
        reduce_max = (helper.make_node("ReduceMax", [f"{p}/abs", c["last_axis"]], [f"{p}/max"], keepdims=1)
                      if opset >= 18 else
                      helper.make_node("ReduceMax", [f"{p}/abs"], [f"{p}/max"], axes=[-1], keepdims=1))
        # u8 = round(x / scale) + 128 per row: the u8 × s8 kernels with one zero point (128) for every row.
        before[nodes[0].name] = [
            helper.make_node("Shape", [x], [f"{p}/shape"]),
            helper.make_node("Abs", [x], [f"{p}/abs"]), reduce_max,
            helper.make_node("Mul", [f"{p}/max", c["inv127"]], [f"{p}/scale0"]),
            helper.make_node("Max", [f"{p}/scale0", c["tiny"]], [f"{p}/scale"]),
            helper.make_node("Reshape", [f"{p}/scale", c["flat"]], [f"{p}/row_scales"]),
            helper.make_node("Shape", [f"{p}/row_scales"], [f"{p}/row_count"]),
            helper.make_node("Expand", [c["zero_points"], f"{p}/row_count"], [f"{p}/row_zero_points"]),
            helper.make_node("Reshape", [x, f"{p}/rows_shape"], [f"{p}/rows"]),
            helper.make_node("QuantizeLinear", [f"{p}/rows", f"{p}/row_scales", f"{p}/row_zero_points"],
                             [f"{p}/rows_u8"], axis=0),
            helper.make_node("Reshape", [f"{p}/rows_u8", f"{p}/shape"], [f"{p}/u8"])]
        for node in nodes:
            kernel = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)
            column_scales = np.maximum(np.abs(kernel).max(0), 1e-12) / 127
            quantized = np.clip(np.round(kernel / column_scales), -127, 127).astype(np.int8)
            name, output = node.input[1], node.output[0]
            added += [numpy_helper.from_array(quantized, f"{_PREFIX}/{name}/s8"),
                      numpy_helper.from_array(column_scales.astype(np.float32), f"{_PREFIX}/{name}/scales")]
            unscaled = f"{_PREFIX}/{node.name}/column_scaled"
            node.op_type, node.domain = "MatMulIntegerToFloat", "com.microsoft"
            del node.input[:]
            node.input.extend([f"{p}/u8", f"{_PREFIX}/{name}/s8", c["one"], f"{_PREFIX}/{name}/scales",
                               c["zero_point"]])
            node.output[0] = unscaled
            after[node.name] = [helper.make_node("Mul", [unscaled, f"{p}/scale"], [output])]
    graph.initializer.extend(added)
    _insert(graph, before=before, after=after)
    _drop_unused_initializers(graph)
    return {"MatMulIntegerToFloat": sum(len(nodes) for nodes in grouped.values()), "QuantizeLinear": len(grouped)}


def _name_nodes(graph) -> None:
    """Gives every unnamed node a unique name (the rewrites place new nodes by the names of existing ones)."""
    taken = {node.name for node in graph.node}
    for index, node in enumerate(graph.node):
        if not node.name:
            name = f"{_PREFIX}/node{index}"
            while name in taken:
                name += "_"
            node.name = name
            taken.add(name)


def _insert(graph, before: Dict[str, List] = None, after: Dict[str, List] = None) -> None:
    """Puts new nodes just before / after the named nodes (keeps the graph topologically sorted)."""
    before, after = before or {}, after or {}
    ordered = []
    for node in graph.node:
        ordered += before.get(node.name, []) + [node] + after.get(node.name, [])
    del graph.node[:]
    graph.node.extend(ordered)


def _drop_unused_initializers(graph) -> None:
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def per_token_recipe(path: str, quantized_path: str, calibration: Iterable[Dict[str, np.ndarray]],
                     mask_name: str, alpha: float, outlier_share: float = 0.0) -> Dict[str, int]:
    """Reads the float ONNX at `path`, smooths it on `calibration` (skipped when alpha is 0), keeps the
    `outlier_share` of each projection input's channels in float (`split_outliers`; 0 skips it), quantizes the
    rest per token and writes it. Without a calibration batch neither step can be measured and both are skipped.
    Returns the operator counts of the rewrite with "smoothed" and "split" (inputs smoothed, inputs split)."""
    import onnx

    model = onnx.load(path)
    feeds = list(calibration)
    smoothed = split = 0
    maxima = activation_maxima(model, feeds, mask_name) if feeds and (alpha or outlier_share) else {}
    if feeds and alpha:
        smoothed = smooth(model, maxima, alpha)
        maxima = smoothed_maxima(model, maxima)
    if feeds and outlier_share:
        split = split_outliers(model, maxima, outlier_share)
    counts = quantize_per_token(model)
    onnx.save(model, quantized_path)
    return dict(counts, smoothed=smoothed, split=split)
