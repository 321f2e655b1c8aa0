"""The run summary's edge-export lines: the shipped int8 recipe beside the artefact, the recipes tried before it
and every refused artefact, each with its reason."""

from pipeline import run_summary


def test_summary_names_the_shipped_recipe_and_why_earlier_ones_were_not_shipped(capsys):
    accuracy = {"eval": {"overall": {"agreement": 0.994}, "en": {"agreement": 0.992}, "uk": {"agreement": 0.99}},
                "out_of_corpus": {"overall": {"agreement": 0.991}, "uk": {"agreement": 0.984}}}
    exports = {"folder": "assets.extra/exports",
               "artefacts": {"onnx_int8": {"bytes": 124_900_000, "accuracy": accuracy, "int8_recipe": "blockwise",
                                           "refused_recipes": {"per_token": "accuracy gate: fa: top-1 agreement "
                                                                            "at most 0.9758 < 0.98"}},
                             "onnx_fp32": {"bytes": 471_300_000, "accuracy": accuracy}},
               "refused": {"tflite_int8": "accuracy gate: en: top-1 agreement at most 0.9771 < 0.98"}}
    run_summary._print_exports(exports, "/srv/models/nlp2prod/3")
    out = capsys.readouterr().out
    assert "onnx_int8 (blockwise)" in out and "124.9 MB" in out and "out_of_corpus uk 0.984" in out
    assert "eval" in out and "0.991" in out  # each gate set's overall agreement
    assert "onnx_fp32 " in out and "onnx_fp32 (" not in out
    assert "  onnx_int8: recipe per_token not shipped: accuracy gate: fa: top-1 agreement at most 0.9758 < 0.98" in out
    assert "  not shipped: tflite_int8: accuracy gate: en: top-1 agreement at most 0.9771 < 0.98" in out
