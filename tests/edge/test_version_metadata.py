"""What a pushed version's metadata records of its exports: per shipped artefact the fields a reader needs (file,
size, checksum, accuracy, and for int8 ONNX the recipe that shipped and why earlier ones were not), per refused
artefact its reason; the manifest's internal details (fusion counts) stay in the manifest."""

from edge import manifest as contract


def test_version_metadata_keeps_the_shipped_recipe_and_the_refusals():
    accuracy = {"overall": {"agreement": 0.994}}
    manifest = {"tokenizer": {"file": contract.TOKENIZER_FILE},
                "artefacts": {"onnx_int8": {"file": "model_int8.onnx", "runtime": "onnxruntime", "precision": "int8",
                                            "bytes": 10, "sha256": "ab", "accuracy": accuracy,
                                            "int8_recipe": "blockwise", "fused_operators": {"BiasGelu": 12},
                                            "refused_recipes": {"per_token": "accuracy gate: fa: 0.97 < 0.98"}}},
                "refused": {"tflite_int8": "accuracy gate: en: 0.97 < 0.98"}}
    recorded = contract.version_metadata(manifest)
    entry = recorded["artefacts"]["onnx_int8"]
    assert entry["int8_recipe"] == "blockwise"
    assert entry["refused_recipes"] == {"per_token": "accuracy gate: fa: 0.97 < 0.98"}
    assert "fused_operators" not in entry and entry["accuracy"] == accuracy
    assert recorded["refused"] == manifest["refused"] and recorded["folder"] == contract.EXPORTS_DIR
