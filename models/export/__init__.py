"""Exports of a pushed-to-be SavedModel for runtimes without TensorFlow: ONNX (fp32, int8) and TFLite (fp16,
int8), each checked against the SavedModel per language before it ships.

Built on the SavedModel's signatures only (`from_token_ids`, `serving_default`, `transform_features`) and the
SentencePiece ModelProto found in its graph, never on one architecture. The folder it writes is the contract in
`edge.manifest`; `edge.runtime` runs it.

Modules:
    settings.py    ExportSettings: formats and gate thresholds (no TensorFlow; RunConfig.export defaults)
    source.py      what the SavedModel offers an exporter: the ids function, tokenizer proto, packed length
    converters.py  tf2onnx + onnxruntime fusion / 8-bit MatMulNBits int8; TFLite fp16 / dynamic-range int8
    accuracy.py    the per-language gate: top-1 agreement, |Δprob|, macro-F1 against the SavedModel
    exporter.py    export_model: convert, gate, keep what passed, write the manifest
"""
