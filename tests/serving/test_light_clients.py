"""Client commands and readers that must not import TensorFlow: wire-compatible messages and TFRecord framing."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_model_analysis.proto import metrics_for_slice_pb2
from tensorflow_serving.apis import get_model_status_pb2, predict_pb2

from pipeline.evaluation_results import read_metrics
from serving import client, record_files, wire_protos

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_wire_messages_round_trip_with_the_official_classes():
    request = wire_protos.message("tensorflow.serving.PredictRequest")()
    request.model_spec.name, request.model_spec.version_label = "m", "stable"
    request.inputs["text"].dtype = 7
    request.inputs["text"].tensor_shape.dim.add(size=2)
    request.inputs["text"].string_val.extend([b"hola", "日本語".encode()])
    official = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    assert official.model_spec.version_label == "stable"
    assert tf.make_ndarray(official.inputs["text"]).tolist() == [b"hola", "日本語".encode()]
    status = get_model_status_pb2.GetModelStatusResponse()
    status.model_version_status.add(version=3, state=30)
    parsed = wire_protos.message("tensorflow.serving.GetModelStatusResponse").FromString(status.SerializeToString())
    assert wire_protos.enum_name("tensorflow.serving.ModelVersionStatus.State",
                                 parsed.model_version_status[0].state) == "AVAILABLE"


@pytest.mark.parametrize("array", [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([[0.25]], np.float32),
                                   np.full((2, 2), 0.5, np.float32)])
def test_tensor_to_array_reads_packed_and_typed_tensors(array):
    official = tf.make_tensor_proto(array)
    wire = wire_protos.message("tensorflow.TensorProto").FromString(official.SerializeToString())
    np.testing.assert_array_equal(client.tensor_to_array(wire), array)


def test_record_files_match_tensorflows_framing(tmp_path):
    ours = tmp_path / "ours.tfrecord"
    with open(ours, "wb") as handle:
        for data in (b"", b"one", "zwei ✓".encode() * 100):
            record_files.write_record(handle, data)
    assert [r.numpy() for r in tf.data.TFRecordDataset(str(ours))] == [b"", b"one", "zwei ✓".encode() * 100]
    theirs = str(tmp_path / "theirs.tfrecord")
    with tf.io.TFRecordWriter(theirs) as writer:
        writer.write(b"alpha")
        writer.write(b"beta")
    assert list(record_files.read_records(theirs)) == [b"alpha", b"beta"]


def test_a_corrupt_or_truncated_record_is_named(tmp_path):
    path = tmp_path / "r.tfrecord"
    with open(path, "wb") as handle:
        record_files.write_record(handle, b"payload")
    raw = bytearray(path.read_bytes())
    raw[14] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(record_files.CorruptRecordError, match="corrupt record data at byte 0"):
        list(record_files.read_records(str(path)))
    path.write_bytes(bytes(raw[:10]))
    with pytest.raises(record_files.CorruptRecordError, match="truncated record header"):
        list(record_files.read_records(str(path)))


def test_evaluation_metrics_are_read_without_tfma(tmp_path):
    record = metrics_for_slice_pb2.MetricsForSlice()
    key = record.slice_key.single_slice_keys.add(column="lang", bytes_value=b"ja")
    assert key.column == "lang"
    item = record.metric_keys_and_values.add()
    item.key.name = "macro_f1"
    item.value.double_value.value = 0.8125
    diff = record.metric_keys_and_values.add()
    diff.key.name, diff.key.is_diff = "macro_f1", True
    diff.value.double_value.value = -0.01
    with tf.io.TFRecordWriter(str(tmp_path / "metrics-00000-of-00001.tfrecord")) as writer:
        writer.write(record.SerializeToString())
    assert read_metrics(str(tmp_path)) == {"lang=ja": {"macro_f1": 0.8125, "macro_f1_vs_baseline": -0.01}}


LIGHT_COMMANDS = """
import sys, time
started = time.monotonic()
from pipeline import cli
codes = [cli.main(["predict", "--server", "127.0.0.1:1", "--timeout", "0.5", "hello"]),
         cli.main(["versions", "--server", "127.0.0.1:1", "--model_config_file", sys.argv[1]]),
         cli.main(["lineage", "1", "--home", sys.argv[2]])]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tfx", "tensorflow_model_analysis"))
print("codes", codes, "heavy", heavy or "none", "seconds", round(time.monotonic() - started, 2))
"""


def test_client_commands_import_no_tensorflow_and_print_no_framework_noise(tmp_path):
    done = subprocess.run([sys.executable, "-c", LIGHT_COMMANDS, str(tmp_path / "models.config"), str(tmp_path)],
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": REPO})
    assert "heavy none" in done.stdout, done.stdout + done.stderr
    assert "codes [" in done.stdout and "[0, " not in done.stdout  # each reports its failure with a non-zero code
    for noise in ("cuda", "FutureWarning", "DeprecationWarning", "Traceback", "absl"):
        assert noise.lower() not in done.stderr.lower(), done.stderr
