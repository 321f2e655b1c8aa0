"""The edge runtime: classify raw text with an exported ONNX or TFLite artefact, without TensorFlow.

Needs only `nlp2prod[edge]` (onnxruntime, sentencepiece, tflite-runtime, numpy). Nothing here imports
TensorFlow, TFX or another package of this project; the exporter (`models.export`) writes what this package
reads, and the format of that folder is defined once, in `edge.manifest`.

Modules:
    manifest.py   the export folder's contract: file names, manifest.json fields, validation
    tokenizer.py  raw text → packed SentencePiece ids, exactly as the SavedModel's Transform layer packs them
    runtime.py    EdgeModel: load an artefact (ONNX via onnxruntime, TFLite via tflite-runtime) and classify
    cli.py        `nlp2prod edge predict --model DIR TEXT...`
"""
