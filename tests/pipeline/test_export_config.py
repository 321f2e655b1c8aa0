"""RunConfig.export: every tunable reachable with --set, handed to the export library as its settings."""

import dataclasses

import pytest

from models.export.settings import ExportSettings
from pipeline.configs import ExportConfig, RunConfig, with_overrides


def test_export_defaults_are_the_libraries_and_every_field_is_settable():
    config = RunConfig()
    assert ExportSettings(**config.export.settings()) == ExportSettings()
    overridden = with_overrides(config, ["export.formats=onnx_int8,tflite_int8", "export.int8_min_agreement=0.97",
                                         "export.float_max_prob_delta=0.002", "export.max_texts_per_language=50",
                                         "export.enabled=false", "export.threads=4"])
    settings = ExportSettings(**overridden.export.settings())
    assert settings.formats == ("onnx_int8", "tflite_int8") and settings.int8_min_agreement == 0.97
    assert settings.float_max_prob_delta == 0.002 and settings.max_texts_per_language == 50 and settings.threads == 4
    assert overridden.export.enabled is False
    assert {f.name for f in dataclasses.fields(ExportConfig)} - {"enabled"} == \
        {f.name for f in dataclasses.fields(ExportSettings)}


def test_an_unknown_export_field_is_refused():
    with pytest.raises(ValueError, match="unknown field 'int8_gate'"):
        with_overrides(RunConfig(), ["export.int8_gate=0.9"])
