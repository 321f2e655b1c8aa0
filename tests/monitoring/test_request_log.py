"""Request logs: TF Serving's LoggingConfig semantics; records that TensorFlow's own reader and TF Serving's own
PredictionLog parse; rotation, retention, sampling and the no-raw-text option."""

import os
import subprocess
import sys

import numpy as np
import pytest

from monitoring import log_protos
from monitoring.log_reader import read_window
from serving import record_files
from monitoring.request_log import (RequestLogConfigError, RequestLogger, RequestLogSettings, log_files,
                                    settings_from_logging_config)

TEXTS = ["Das Essen war ausgezeichnet.", "I love football", "私は映画が好きです"]
PROBABILITIES = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]], np.float32)
LABELS = ["food", "sports", "greetings"]


class _Clock:
    def __init__(self, start=1_790_000_000.0):
        self.now = start

    def __call__(self):
        return self.now


def _log_one(logger, texts=TEXTS, request_id=""):
    return logger.log_predict("nlp2prod", 7, {"text": np.array([t.encode() for t in texts], object)},
                              {"probabilities": PROBABILITIES[:len(texts)], "label": LABELS[:len(texts)]},
                              request_id=request_id, source="test", latency_ms=1.5)


def test_records_parse_with_tensorflow_reader_and_official_prediction_log(tmp_path):
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    prefix = str(tmp_path / "logs" / "requests")
    with RequestLogger(RequestLogSettings(prefix)) as logger:
        request_id = _log_one(logger, request_id="req-1")
        _log_one(logger)
    (path,) = log_files(prefix)
    records = [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in tf.data.TFRecordDataset(path)]
    assert len(records) == 2 and request_id == "req-1"
    first = records[0]
    assert first.WhichOneof("log_type") == "predict_log"
    spec = first.log_metadata.model_spec
    assert (spec.name, spec.version.value, spec.signature_name) == ("nlp2prod", 7, "serving_default")
    assert first.log_metadata.timestamp_secs > 1_700_000_000
    assert first.log_metadata.sampling_config.sampling_rate == 1.0
    texts = tf.make_ndarray(first.predict_log.request.inputs["text"])
    assert [t.decode() for t in texts] == TEXTS
    np.testing.assert_allclose(tf.make_ndarray(first.predict_log.response.outputs["probabilities"]), PROBABILITIES)
    assert [v.decode() for v in tf.make_ndarray(first.predict_log.response.outputs["label"])] == LABELS
    # Our extension field survives as an unknown field of the official message and parses back with ours.
    ours = log_protos.PredictionLog.FromString(first.SerializeToString())
    assert ours.nlp2prod_request.request_id == "req-1"
    assert [t.language for t in ours.nlp2prod_request.texts] == ["de", "en", "ja"]


def test_descriptors_match_the_official_ones():
    from tensorflow.core.example import example_pb2
    from tensorflow.core.framework import tensor_pb2
    from tensorflow_serving.apis import prediction_log_pb2
    from tensorflow_serving.config import logging_config_pb2

    official = [prediction_log_pb2.PredictionLog, prediction_log_pb2.PredictLog, logging_config_pb2.LoggingConfig,
                tensor_pb2.TensorProto, example_pb2.Example]
    seen = set()

    def compare(theirs):
        if theirs.full_name in seen:
            return
        seen.add(theirs.full_name)
        mine = log_protos.POOL.FindMessageTypeByName(theirs.full_name)
        for field in mine.fields:
            if field.name == "nlp2prod_request":
                assert field.number not in theirs.fields_by_number
                continue
            upstream = theirs.fields_by_name[field.name]
            assert (field.number, field.type, field.label) == (upstream.number, upstream.type, upstream.label), \
                f"{theirs.full_name}.{field.name}"
            if field.message_type is not None:
                compare(upstream.message_type)

    for cls in official:
        compare(cls.DESCRIPTOR)
    assert "tensorflow.serving.ModelSpec" in seen and "tensorflow.TensorShapeProto.Dim" in seen


def test_logging_config_text_and_sampling(tmp_path):
    prefix = str(tmp_path / "requests")
    settings = settings_from_logging_config(
        f'log_collector_config {{ type: "file" filename_prefix: "{prefix}" }} '
        'sampling_config { sampling_rate: 0.25 }')
    assert (settings.filename_prefix, settings.sampling_rate) == (prefix, 0.25)
    with pytest.raises(RequestLogConfigError, match="only 'file'"):
        settings_from_logging_config('log_collector_config { type: "kafka" filename_prefix: "x" }')
    with pytest.raises(RequestLogConfigError, match="sampling_rate"):
        RequestLogSettings(prefix, sampling_rate=1.5)
    with RequestLogger(settings) as logger:
        logged = sum(_log_one(logger, TEXTS[:1]) is not None for _ in range(400))
    assert 60 <= logged <= 140  # 100 expected; binomial sd 8.7
    assert len(read_window(prefix).rows) == logged


def test_settings_from_the_monitor_section_of_the_run_config(tmp_path):
    from monitoring.config import MonitorConfig
    from monitoring.request_log import settings_from_monitor_config

    settings = settings_from_monitor_config(MonitorConfig(sampling_rate=0.5, store_raw_text=False,
                                                          log_retention_days=2).under(str(tmp_path)))
    assert settings.filename_prefix == str(tmp_path / "request_logs" / "requests")
    assert (settings.sampling_rate, settings.store_raw_text, settings.retention_seconds) == (0.5, False, 172800.0)


def test_rotation_retention_and_no_raw_text(tmp_path):
    prefix = str(tmp_path / "requests")
    clock = _Clock()
    settings = RequestLogSettings(prefix, max_file_bytes=2000, max_total_bytes=6000, rotate_seconds=60,
                                  retention_seconds=3600, store_raw_text=False)
    with RequestLogger(settings, clock=clock) as logger:
        for _ in range(60):
            _log_one(logger)
            clock.now += 1
    files = log_files(prefix)
    assert len(files) >= 3
    assert sum(os.path.getsize(f) for f in files) <= 6000
    assert all(os.path.getsize(f) <= 2000 for f in files)
    window = read_window(prefix)
    assert window.rows and not window.problems
    assert all(row.text == "" for row in window.rows)
    assert {row.language for row in window.rows} == {"de", "en", "ja"}
    assert {row.char_count for row in window.rows} == {len(t) for t in TEXTS}
    for path in files:
        for payload in record_files.read_records(path):
            assert not log_protos.PredictionLog.FromString(payload).predict_log.request.inputs
            assert b"football" not in payload


def test_a_partial_last_record_is_reported_not_fatal(tmp_path):
    prefix = str(tmp_path / "requests")
    with RequestLogger(RequestLogSettings(prefix)) as logger:
        _log_one(logger)
        _log_one(logger)
    (path,) = log_files(prefix)
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) - 5)
    window = read_window(prefix)
    assert len(window.rows) == 3
    assert window.problems and "truncated record" in window.problems[0]


def test_the_logging_and_monitoring_modules_import_no_tensorflow():
    code = ("import sys, monitoring.request_log, monitoring.log_reader, monitoring.cli, monitoring.report, "
            "monitoring.analysis, monitoring.feedback, monitoring.lineage_lookup, monitoring.reference; "
            "sys.exit('tensorflow' in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))))


def test_rest_predict_bodies_give_the_logged_tensors(tmp_path):
    from monitoring.rest_payloads import RestPayloadError, predict_tensors

    rows = {"instances": ["hello", {"b64": "aG9sYQ=="}]}
    answer = {"predictions": [{"probabilities": [0.9, 0.1], "label": "food"},
                              {"probabilities": [0.2, 0.8], "label": "sports"}]}
    inputs, outputs = predict_tensors(rows, answer)
    assert inputs == {"text": ["hello", b"hola"]}
    assert outputs == {"probabilities": [[0.9, 0.1], [0.2, 0.8]], "label": ["food", "sports"]}
    columnar = predict_tensors({"inputs": {"text": ["a"]}}, {"outputs": [[0.5, 0.5]]}, single_output="probabilities")
    assert columnar == ({"text": ["a"]}, {"probabilities": [[0.5, 0.5]]})
    with pytest.raises(RestPayloadError, match="unnamed"):
        predict_tensors({"instances": ["a"]}, {"predictions": [[0.5, 0.5]]})
    with pytest.raises(RestPayloadError, match="instances"):
        predict_tensors({"signature_name": "x"}, answer)
    prefix = str(tmp_path / "requests")
    with RequestLogger(RequestLogSettings(prefix)) as logger:
        logger.log_predict("nlp2prod", 2, inputs, outputs, request_id="r", source="gateway")
    window = read_window(prefix)
    assert [(r.key, r.predicted, r.text) for r in window.rows] == [("r", "food", "hello"), ("r:1", "sports", "hola")]
