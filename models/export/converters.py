"""SavedModel ids function → ONNX (tf2onnx; onnxruntime fusion; int8) and TFLite (fp16; dynamic int8).

Each converter raises `ConversionError` carrying the converter's own message, so one artefact that cannot be
converted fails alone. TFLite artefacts use builtin ops only: a graph that needs TF ops (Flex) would not run on
tflite-runtime or a stock mobile build, and is refused with the converter's list of those ops.
"""

from __future__ import annotations

import logging
import os
from typing import Dict, Iterable

import numpy as np
import tensorflow as tf

from edge.manifest import INPUT_MASK
from models.export import int8

_MESSAGE_CHARS = 600
# Inputs per weight scale of the blockwise int8 MatMuls (16 and 32 measured; 16 keeps every language in the gate).
INT8_BLOCK_SIZE = 16
# The int8 ONNX recipes `quantize_onnx` knows, fastest first.
INT8_RECIPES = ("per_token", "blockwise")
_COUNTED_OPERATORS = ("MatMulIntegerToFloat", "QuantizeLinear", "MatMulNBits", "DequantizeLinear", "MatMul", "Gather")


class ConversionError(RuntimeError):
    """A converter failed; the message is the converter's own (shortened)."""


def _failure(step: str, error: Exception) -> ConversionError:
    message = " ".join(str(error).split())
    if len(message) > _MESSAGE_CHARS:
        message = message[:_MESSAGE_CHARS] + " …"
    return ConversionError(f"{step}: {type(error).__name__}: {message}")


def to_onnx(function, path: str, opset: int) -> None:
    """Writes the concrete function (input_ids, input_mask) → probabilities as an ONNX float32 graph."""
    import tf2onnx

    spec = [tf.TensorSpec(t.shape, t.dtype, name=t.name.split(":")[0]) for t in function.inputs[:2]]
    try:
        tf2onnx.convert.from_function(tf.function(function), input_signature=spec, opset=opset,
                                      output_path=path)
    except Exception as error:  # tf2onnx raises many types; any of them fails this artefact only
        raise _failure("tf2onnx", error) from None


def fuse_onnx(path: str, fused_path: str) -> Dict[str, int]:
    """onnxruntime's transformer fusions (attention, layer norm, gelu, ...) in Python (opt_level 0: no
    execution-provider-specific nodes); returns the count of each fused operator that matched.

    Two forms in tf2onnx's graph are put first in the form those fusions match, with the same float results:
    - a mean over the trailing axes of a rank ≥ 3 tensor (each LayerNorm's two means) is written as
      GlobalAveragePool; it becomes the ReduceMean it stands for, so the LayerNorms fuse (with their residual
      Add: SkipLayerNormalization);
    - TF's exact GELU, (0.5·x)·(1 + erf(x·0.7071)), becomes ((1 + erf(x·0.7071))·0.5)·x, so it fuses as Gelu (and
      with its bias Add: BiasGelu). Halving is exact in float, so both orders round alike.
    """
    import onnx
    from onnxruntime.transformers.optimizer import optimize_model

    staged_path = fused_path + ".staged.onnx"
    try:
        model = onnx.load(path)
        _pools_as_means(model)
        _gelus_halved_last(model)
        onnx.save(model, staged_path)
        optimized = optimize_model(staged_path, model_type="bert", num_heads=0, hidden_size=0, opt_level=0)
        optimized.save_model_to_file(fused_path)
    except Exception as error:  # the fusion scripts raise many types
        raise _failure("onnxruntime fusion", error) from None
    finally:
        if os.path.exists(staged_path):
            os.remove(staged_path)
    return {name: int(count) for name, count in optimized.get_fused_operator_statistics().items() if count}


def _pools_as_means(model) -> None:
    """Rewrites, in place, each GlobalAveragePool whose input rank shape inference knows as the ReduceMean over
    axes 2.. (keepdims) it computes."""
    import onnx
    from onnx import helper

    inferred = onnx.shape_inference.infer_shapes(model)
    ranks = {info.name: len(info.type.tensor_type.shape.dim)
             for info in list(inferred.graph.value_info) + list(inferred.graph.input)
             if info.type.tensor_type.HasField("shape")}
    opset = next(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))
    for index, node in enumerate(model.graph.node):
        rank = ranks.get(node.input[0]) if node.op_type == "GlobalAveragePool" else None
        if not rank or rank < 3:
            continue
        axes = list(range(2, rank))
        if opset >= 18:  # ReduceMean's axes became an input in opset 18
            axes_name = f"{node.output[0]}__axes"
            model.graph.initializer.append(helper.make_tensor(axes_name, onnx.TensorProto.INT64, [len(axes)], axes))
            mean = helper.make_node("ReduceMean", [node.input[0], axes_name], list(node.output), name=node.name,
                                    keepdims=1)
        else:
            mean = helper.make_node("ReduceMean", [node.input[0]], list(node.output), name=node.name, axes=axes,
                                    keepdims=1)
        model.graph.node[index].CopyFrom(mean)


def _gelus_halved_last(model) -> None:
    """Rewrites, in place, each GELU of the form Mul(Mul(x, 0.5), Add(Erf(Mul(x, c)), 1)) so the halving applies
    to the Add's output and x is multiplied last."""
    import collections

    from onnx import helper, numpy_helper

    constants = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    producer = {output: node for node in model.graph.node for output in node.output}
    consumers = collections.defaultdict(list)
    for node in model.graph.node:
        for name in node.input:
            consumers[name].append(node)

    def halving(node):
        """(x, name of the 0.5) when node is Mul(x, 0.5) in either order, else None."""
        if node is None or node.op_type != "Mul":
            return None
        for i in (0, 1):
            value = constants.get(node.input[i])
            if value is not None and value.size == 1 and float(value) == 0.5:
                return node.input[1 - i], node.input[i]
        return None

    for erf in [node for node in model.graph.node if node.op_type == "Erf"]:
        adds = consumers[erf.output[0]]
        if len(adds) != 1 or adds[0].op_type != "Add":
            continue
        add = adds[0].output[0]
        finals = consumers[add]
        if len(finals) != 1 or finals[0].op_type != "Mul":
            continue
        final = finals[0]
        other = final.input[1] if final.input[0] == add else final.input[0]
        half = halving(producer.get(other))
        if half is None or len(consumers[other]) != 1:
            continue
        x, half_name = half
        halved = f"{final.output[0]}__halved"
        index = list(model.graph.node).index(final)
        model.graph.node.insert(index, helper.make_node("Mul", [add, half_name], [halved],
                                                        name=f"{final.name}__halved"))
        del final.input[:]
        final.input.extend([halved, x])
        model.graph.node.remove(producer[other])


def quantize_onnx(path: str, quantized_path: str, recipe: str, calibration: Iterable[Dict[str, np.ndarray]] = (),
                  smooth_alpha: float = 0.0, outlier_share: float = 0.0) -> Dict[str, int]:
    """int8 ONNX of the float graph at `path` by one of `INT8_RECIPES`; the embedding Gathers then get int8 weights
    per channel. Returns the count of each quantized operator written.

    - "per_token": SmoothQuant on the `calibration` feeds (ONNX feed dicts of training texts; `smooth_alpha` 0
      skips it), the `outlier_share` of each projection input's channels kept in float (0 skips it), then
      MatMulInteger with one activation scale per token (`models.export.int8`).
    - "blockwise": MatMulNBits (8-bit weights, symmetric, one scale per block of `INT8_BLOCK_SIZE` inputs of each
      output column; accuracy level 4: activations quantized to int8 per block at run time). Closest to the float
      model, but onnxruntime 1.23's 8-bit MatMulNBits is no faster than its float MatMul on this CPU.

    Plain dynamic quantization (one activation scale per tensor) flips 4-5% of this classifier's top-1s and is not
    offered (benchmarks/results/int8_variants.md). Activation × activation MatMuls (attention scores) stay float.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if recipe not in INT8_RECIPES:
        raise ConversionError(f"unknown int8 recipe {recipe!r}; known: {', '.join(INT8_RECIPES)}")
    matmul_path = quantized_path + ".matmul.onnx"
    try:
        if recipe == "per_token":
            int8.per_token_recipe(path, matmul_path, calibration, INPUT_MASK, smooth_alpha, outlier_share)
        else:
            _blockwise(path, matmul_path)
        # DefaultTensorType: shape inference cannot type the outputs of the fused (com.microsoft) LayerNorms.
        quantize_dynamic(matmul_path, quantized_path, per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["Gather"], extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        graph = onnx.load(quantized_path, load_external_data=False).graph
    except Exception as error:  # onnxruntime.quantization and onnx raise many types
        raise _failure(f"int8 recipe {recipe}", error) from None
    finally:
        if os.path.exists(matmul_path):
            os.remove(matmul_path)
    counts: Dict[str, int] = {}
    for node in graph.node:
        if node.op_type in _COUNTED_OPERATORS:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def _blockwise(path: str, quantized_path: str) -> None:
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    config = DefaultWeightOnlyQuantConfig(block_size=INT8_BLOCK_SIZE, is_symmetric=True, accuracy_level=4,
                                          bits=8, op_types_to_quantize=("MatMul",))
    quantizer = MatMulNBitsQuantizer(path, algo_config=config)
    quantizer.process()
    quantizer.model.save_model_to_file(quantized_path, use_external_data_format=False)


def to_tflite(function, trackable, path: str, precision: str) -> None:
    """Writes a TFLite flatbuffer: precision "float16" (fp16 weights) or "int8" (dynamic-range int8 weights)."""
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], trackable)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if precision == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif precision != "int8":
        raise ValueError(f"unknown TFLite precision {precision!r}")
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        flatbuffer = converter.convert()
    except Exception as error:  # ConverterError and friends
        raise _failure("TFLite converter", error) from None
    with open(path, "wb") as handle:
        handle.write(flatbuffer)
    logging.info("TFLite %s: %d bytes", precision, len(flatbuffer))
