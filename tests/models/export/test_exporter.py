"""The exporter on the tiny model: four artefacts, each gated per language against the SavedModel, the
tokenizer shipped beside them with ids identical to the SavedModel's, and a bad model refused per artefact."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from edge import manifest as contract
from edge.runtime import EdgeModel
from edge.tokenizer import PieceTokenizer
from models.export import accuracy, exporter
from models.export.settings import ALL_FORMATS, ExportSettings
from models.export.source import load_source
from tiny_model import LABELS


@pytest.fixture(scope="module")
def exported(tiny_saved_model, eval_rows, tmp_path_factory):
    out_dir = str(tmp_path_factory.mktemp("exports"))
    return out_dir, exporter.export_model(tiny_saved_model, out_dir, eval_rows, LABELS)


def test_edge_tokenizer_ids_equal_the_savedmodel_ids_on_every_eval_text(tiny_saved_model, eval_rows):
    source = load_source(tiny_saved_model)
    expected_ids, expected_mask = source.transformed_ids([row.serialized for row in eval_rows], batch_size=16)
    tokenizer = PieceTokenizer(source.tokenizer_proto, source.max_seq_length, source.special_ids)
    ids, mask = tokenizer.pack([row.text for row in eval_rows], length=source.max_seq_length)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_array_equal(mask, expected_mask)
    longest = max(range(len(eval_rows)), key=lambda i: len(eval_rows[i].text))
    assert mask[longest].all(), "the long text fills max_seq_length (truncated like the SavedModel)"


def test_ids_signature_applies_prefix_and_remap_like_serving_default(tiny_saved_model, eval_rows):
    source = load_source(tiny_saved_model)
    texts = [row.text for row in eval_rows]
    ids, mask = source.transformed_ids([row.serialized for row in eval_rows], batch_size=64)
    from_ids = source.ids_signature(input_ids=tf.constant(ids), input_mask=tf.constant(mask))["probabilities"]
    np.testing.assert_allclose(from_ids.numpy(), source.reference_probabilities(texts, 64), atol=1e-6)


def test_every_artefact_is_shipped_or_refused_with_a_reason(exported):
    out_dir, manifest = exported
    assert set(manifest["artefacts"]) | set(manifest["refused"]) == set(ALL_FORMATS)
    assert "onnx_fp32" in manifest["artefacts"], manifest["refused"]
    for name, reason in manifest["refused"].items():
        assert reason.startswith("accuracy gate: "), (name, reason)
        assert not os.path.exists(os.path.join(out_dir, contract.ARTEFACTS[name][0]))
    with open(os.path.join(out_dir, contract.MANIFEST_FILE), encoding="utf-8") as handle:
        assert json.load(handle) == manifest


def test_onnx_layer_norms_and_gelus_are_fused(exported, tiny_corpus):
    """tf2onnx's GlobalAveragePool means and TF's GELU order are rewritten so onnxruntime's fusions match every
    block: two LayerNorms after a residual Add and one GELU after its bias per block."""
    _, manifest = exported
    fused = manifest["artefacts"]["onnx_fp32"]["fused_operators"]
    blocks = tiny_corpus.checkpoint.config.num_layers
    assert fused.get("BiasGelu", 0) + fused.get("Gelu", 0) == blocks, fused
    # The fine-tuned block's two LayerNorms. The random checkpoint's untouched ones have all-zero betas, which
    # TF folds into a Neg that the fusion does not match (every LayerNorm of the e5 checkpoint fuses: 25 of 25).
    assert fused.get("SkipLayerNormalization", 0) >= 2, fused


def test_shipped_artefacts_meet_their_gate_in_every_language(exported, eval_rows):
    _, manifest = exported
    settings = ExportSettings()
    for name, entry in manifest["artefacts"].items():
        assert set(entry["accuracy"]) == {row.gate_set for row in eval_rows} == {"eval", "out_of_corpus"}
        for gate_set, measured in entry["accuracy"].items():
            languages = {lang for lang in measured if lang != "overall"}
            assert languages == {row.lang for row in eval_rows if row.gate_set == gate_set}
            metric = accuracy.quality_metric(gate_set)
            for lang in languages:
                values = measured[lang]
                if entry["precision"] == "int8":
                    assert values["agreement"] >= settings.int8_min_agreement, (name, gate_set, lang)
                    assert values[f"reference_{metric}"] - values[metric] <= settings.int8_max_macro_f1_drop + 1e-9
                else:
                    assert values["agreement"] == 1.0 and values["max_prob_delta"] <= settings.float_max_prob_delta


def test_edge_model_reproduces_savedmodel_probabilities_from_raw_text(exported, tiny_saved_model, eval_rows):
    out_dir, manifest = exported
    texts = [row.text for row in eval_rows]
    reference = load_source(tiny_saved_model).reference_probabilities(texts, 32)
    for name in manifest["artefacts"]:
        model = EdgeModel.load(out_dir, name)
        tolerance = 1e-3 if manifest["artefacts"][name]["precision"] != "int8" else 5e-2
        np.testing.assert_allclose(model.probabilities(texts), reference, atol=tolerance, err_msg=name)
        assert [p.label for p in model.predict(texts[:2])] == [LABELS[i] for i in reference[:2].argmax(1)] or \
            manifest["artefacts"][name]["precision"] == "int8"


def test_a_failing_gate_refuses_that_artefact_only(tiny_saved_model, eval_rows, tmp_path):
    settings = ExportSettings(formats=("onnx_fp32", "tflite_fp16"), float_max_prob_delta=0.0)
    manifest = exporter.export_model(tiny_saved_model, str(tmp_path), eval_rows[:12], LABELS, settings)
    refused = manifest["refused"]
    assert "tflite_fp16" in refused and "|Δprob|" in refused["tflite_fp16"]
    assert not os.path.exists(tmp_path / "model_fp16.tflite")
    assert "onnx_fp32" in manifest["artefacts"] or "|Δprob|" in refused["onnx_fp32"]


def test_a_model_without_the_ids_signature_is_refused_not_raised(tmp_path, eval_rows):
    class Legacy(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(self, text):
            return {"probabilities": tf.zeros([tf.shape(text)[0], len(LABELS)])}

    legacy = Legacy()
    tf.saved_model.save(legacy, str(tmp_path / "legacy"), signatures={"serving_default": legacy.serve})
    manifest = exporter.export_model(str(tmp_path / "legacy"), str(tmp_path / "out"), eval_rows, LABELS)
    assert manifest["artefacts"] == {}
    assert set(manifest["refused"]) == set(ALL_FORMATS)
    assert all("no SentencePiece tokenizer" in reason for reason in manifest["refused"].values())


def test_a_folder_without_a_savedmodel_is_refused_not_raised(tmp_path, eval_rows):
    manifest = exporter.export_model(str(tmp_path / "missing"), str(tmp_path / "out"), eval_rows, LABELS,
                                     ExportSettings(formats=("onnx_int8", "pytorch")))
    assert manifest["artefacts"] == {}
    assert manifest["refused"]["pytorch"] == "unknown export format"
    assert "not a readable SavedModel" in manifest["refused"]["onnx_int8"]


def test_an_artefact_that_has_failed_is_not_run_on_the_rest_of_the_split(tiny_saved_model, eval_rows, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setattr(exporter, "_GATE_CHUNK_BATCHES", 1)
    settings = ExportSettings(formats=("tflite_fp16",), float_max_prob_delta=0.0, batch_size=4)
    manifest = exporter.export_model(tiny_saved_model, str(tmp_path), eval_rows, LABELS, settings)
    reason = manifest["refused"]["tflite_fp16"]
    assert reason.startswith(f"accuracy gate: stopped after 4 of {len(eval_rows)} texts: "), reason
    assert "|Δprob|" in reason


def test_certain_failure_bounds_agreement_by_the_texts_still_to_come():
    settings = ExportSettings()
    reference = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    flipped = np.eye(3, dtype=np.float32)[[1]]
    en, it = "eval en", "out_of_corpus it"
    totals = {en: 100, it: 2}
    # One disagreement in 100 English texts: 0.99 is still reachable for int8, not for float.
    assert accuracy.certain_failure("int8", reference, flipped, [en, it], totals, settings) == ""
    assert "eval en: top-1 agreement at most 0.9900" in accuracy.certain_failure("float32", reference, flipped,
                                                                                 [en, it], totals, settings)
    # One disagreement in 2 Italian out-of-corpus texts: at most 0.5.
    assert "out_of_corpus it: top-1 agreement at most 0.5000" in accuracy.certain_failure(
        "int8", reference, flipped, [it, en], totals, settings)


def test_int8_gate_reads_macro_f1_on_the_eval_split_and_accuracy_on_the_other_sets():
    """Per set and language: two of four out-of-corpus answers go wrong while they agree on the eval split."""
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    reference = np.eye(2, dtype=np.float32)[labels]
    candidate = reference.copy()
    candidate[[4, 5]] = np.eye(2, dtype=np.float32)[[1, 0]]  # wrong on two out-of-corpus texts
    sets = ["eval"] * 4 + ["out_of_corpus"] * 4
    measured = accuracy.per_set(reference, candidate, labels, ["de"] * 8, sets)
    assert list(measured) == ["eval", "out_of_corpus"]
    assert measured["eval"]["de"]["agreement"] == 1.0 and measured["out_of_corpus"]["de"]["accuracy"] == 0.5
    assert measured["out_of_corpus"]["de"]["reference_accuracy"] == 1.0
    assert measured["out_of_corpus"]["overall"]["examples"] == 4
    failures = accuracy.gate_failures("int8", measured, ExportSettings(int8_min_agreement=0.0))
    assert failures == ["out_of_corpus de: accuracy 0.5000 is 0.5000 below the SavedModel's 1.0000 (allowed 0.01)"]
    strict = accuracy.gate_failures("float32", measured, ExportSettings())
    assert [line.split(":")[0] for line in strict] == ["out_of_corpus de"] * 2  # agreement and |Δprob|


def test_int8_recipes_are_tried_in_order_and_every_failure_is_named(tiny_saved_model, eval_rows, tmp_path):
    settings = ExportSettings(formats=("onnx_int8",))
    # An agreement no artefact can reach (past the settings' own range check), so that every recipe fails.
    object.__setattr__(settings, "int8_min_agreement", 1.01)
    manifest = exporter.export_model(tiny_saved_model, str(tmp_path), eval_rows, LABELS, settings,
                                     calibration_texts=[row.text for row in eval_rows[:8]])
    reason = manifest["refused"]["onnx_int8"]
    assert reason.startswith("per_token: accuracy gate: ") and "; blockwise: accuracy gate: " in reason, reason
    assert not os.path.exists(tmp_path / contract.ARTEFACTS["onnx_int8"][0])


def test_the_first_int8_recipe_that_passes_ships_with_its_calibration(tiny_saved_model, eval_rows, tmp_path):
    calibration = [row.text for row in eval_rows[:8]]
    manifest = exporter.export_model(tiny_saved_model, str(tmp_path), eval_rows, LABELS,
                                     ExportSettings(formats=("onnx_int8",)), calibration_texts=calibration)
    entry = manifest["artefacts"]["onnx_int8"]
    assert entry["int8_recipe"] == "per_token", manifest["refused"]
    assert entry["smooth_alpha"] == ExportSettings().int8_smooth_alpha and entry["calibration_texts"] == 8
    assert entry["outlier_share"] == ExportSettings().int8_outlier_share > 0
    # Six projections per block (Q, K, V, attention output, two FFN); the heads stay float.
    assert entry["quantized_operators"]["MatMulIntegerToFloat"] % 6 == 0, entry["quantized_operators"]


def test_an_unknown_or_missing_int8_recipe_refuses_the_artefact_with_that_reason(tiny_saved_model, eval_rows,
                                                                              tmp_path):
    unknown = exporter.export_model(tiny_saved_model, str(tmp_path / "unknown"), eval_rows[:12], LABELS,
                                    ExportSettings(formats=("onnx_int8",), int8_recipes=("fastest",)))
    assert unknown["refused"]["onnx_int8"] == "fastest: unknown int8 recipe 'fastest'; known: per_token, blockwise"
    empty = exporter.export_model(tiny_saved_model, str(tmp_path / "empty"), eval_rows[:12], LABELS,
                                  ExportSettings(formats=("onnx_int8",), int8_recipes=()))
    assert empty["refused"]["onnx_int8"] == "no recipe configured (export.int8_recipes is empty)"


def test_a_recipe_refused_before_the_shipped_one_is_recorded_with_its_reason(tiny_saved_model, eval_rows, tmp_path):
    settings = ExportSettings(formats=("onnx_int8",), int8_recipes=("fastest", "blockwise"))
    manifest = exporter.export_model(tiny_saved_model, str(tmp_path), eval_rows, LABELS, settings)
    entry = manifest["artefacts"]["onnx_int8"]
    assert entry["int8_recipe"] == "blockwise", manifest["refused"]
    assert entry["refused_recipes"] == {"fastest": "unknown int8 recipe 'fastest'; known: per_token, blockwise"}
