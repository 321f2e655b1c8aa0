"""The data half end to end with LocalDagRunner on a small multilingual subset of the bundled corpus."""

import glob
import json
import os

import pytest
import tensorflow as tf
from tfx import v1 as tfx

from components.curated_schema.component import CuratedSchemaGen
from components.data_gate.component import DataGate
from components.example_gen.component import SpanExampleGen
from components.text_cleaner.component import TextCleaner
from components.text_cleaner.summary import load_summary, render_summary
from data import bundled
from pipeline import pipeline as pipeline_module
from pipeline.configs import DataConfig, ModelConfig, RunConfig

LANGUAGES = ("en", "uk", "ja", "fa")
LABELS = ("food", "greetings", "money")

pytestmark = pytest.mark.e2e


def _config(tmp_path):
    return RunConfig(home=str(tmp_path / "home"),
                     data=DataConfig(data_root=str(tmp_path / "data"), languages=LANGUAGES, labels=LABELS),
                     model=ModelConfig(max_seq_length=32))


def _run(config, components):
    tfx.orchestration.LocalDagRunner().run(tfx.dsl.Pipeline(
        pipeline_name="data-half", pipeline_root=config.pipeline_root, components=components,
        enable_cache=True, beam_pipeline_args=list(config.beam_args),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            config.metadata_path)))


def _outputs(config, component, name):
    return sorted(glob.glob(os.path.join(config.pipeline_root, component, name, "*")))


def test_data_half_cleans_gates_and_tokenizes_then_stops_on_drift(tmp_path):
    config = _config(tmp_path)
    rows = bundled.read_corpus(LANGUAGES, LABELS)
    bundled.write_span(rows, config.data.data_root, 1)
    _run(config, pipeline_module._data_half(config))

    summary = load_summary(_outputs(config, "TextCleaner", "quarantine")[0])
    assert sum(summary["rows_in"].values()) == len(rows)
    assert set(summary["rows_out"]) == set(LANGUAGES) and "duplicate" in summary["quarantined"]
    assert "total" in render_summary(summary)
    report = json.loads(open(glob.glob(os.path.join(_outputs(config, "DataGate", "report")[0], "*.json"))[0]).read())
    assert report["span"] == 1 and "not checked" in report["drift"]
    tokenization = json.load(open(os.path.join(_outputs(config, "TokenizationGate", "report")[0], "tokenization.json")))
    assert set(tokenization["per_language"]) == set(LANGUAGES) and not tokenization["problems"]
    assert _outputs(config, "TokenizationGate", "gated_transform_graph")
    files = glob.glob(os.path.join(_outputs(config, "Transform", "transformed_examples")[0], "Split-eval", "*"))
    record = next(iter(tf.data.TFRecordDataset(files, compression_type="GZIP")))
    example = tf.train.Example.FromString(record.numpy())
    assert len(example.features.feature["input_ids"].int64_list.value) == 32
    assert example.features.feature["input_ids"].int64_list.value[0] == 0

    # span 2: almost only Persian -> the language mix drifted; the run stops before Transform.
    bundled.write_span([row for i, row in enumerate(rows) if row[2] == "fa" or i % 10 == 0], config.data.data_root, 2)
    with pytest.raises(Exception, match="feature 'lang' drifted by .* between span 1 and span 2"):
        _run(config, pipeline_module._data_half(config))
    assert len(_outputs(config, "Transform", "transform_graph")) == 1


def test_a_schema_anomaly_stops_the_run_before_transform(tmp_path):
    config = _config(tmp_path)
    bundled.write_span(bundled.read_corpus(LANGUAGES, LABELS), config.data.data_root, 1)
    data, cleaning, gate_config = config.data, config.cleaning, config.gate
    example_gen = SpanExampleGen(data_root=data.data_root, span_window=data.span_window,
                                 train_buckets=data.train_buckets, eval_buckets=data.eval_buckets)
    # The cleaner accepts "money" but the schema does not know it: ExampleValidator reports it, the gate stops.
    cleaner = TextCleaner(examples=example_gen.outputs["examples"], languages=LANGUAGES, labels=LABELS,
                          min_chars=cleaning.min_chars, max_chars=cleaning.max_chars,
                          language_mismatch_confidence=cleaning.language_mismatch_confidence)
    statistics = tfx.components.StatisticsGen(examples=cleaner.outputs["cleaned_examples"])
    schema = CuratedSchemaGen(labels=LABELS[:2], languages=LANGUAGES, max_label_drift=gate_config.max_label_drift,
                              max_language_drift=gate_config.max_language_drift)
    validator = tfx.components.ExampleValidator(statistics=statistics.outputs["statistics"],
                                                schema=schema.outputs["schema"])
    gate = DataGate(statistics=statistics.outputs["statistics"], anomalies=validator.outputs["anomalies"],
                    schema=schema.outputs["schema"], languages=LANGUAGES, labels=LABELS[:2])
    transform = tfx.components.Transform(
        examples=cleaner.outputs["cleaned_examples"], schema=gate.outputs["gated_schema"],
        preprocessing_fn=pipeline_module.PREPROCESSING_FN, disable_statistics=True,
        custom_config={"encoder": "e5-small", "max_seq_length": 32, "labels": list(LABELS)})
    with pytest.raises(Exception, match="split 'train', feature 'label'"):
        _run(config, [example_gen, cleaner, statistics, schema, validator, gate, transform])
    assert not _outputs(config, "Transform", "transform_graph")
