"""The serving commands: `serve` in a real subprocess (which must not import the training stack), `predict` and
`versions` against a running server, the flag-to-config edge, and the clients' retries."""

import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time

import grpc
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from serving import cli, client
from serving.errors import NotFound, Unavailable
from serving_test_support import MODEL, Http, install

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


SERVE_AND_LIST_TRAINING_MODULES = """
import sys
from serving.cli import serve_main
code = serve_main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tfx", "pipeline", "components", "models", "apache_beam",
                                                              "tensorflow_transform"))
print("training modules:", ",".join(loaded) or "none")
sys.exit(code)
"""


def test_serve_command_serves_grpc_and_rest_until_sigterm_without_the_training_stack(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1])
    grpc_port, rest_port = free_port(), free_port()
    command = [sys.executable, "-c", SERVE_AND_LIST_TRAINING_MODULES, f"--port={grpc_port}",
               f"--rest_api_port={rest_port}", f"--model_name={MODEL}", f"--model_base_path={base}",
               "--file_system_poll_wait_seconds=0"]
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert f"gRPC on 0.0.0.0:{grpc_port}, REST on 0.0.0.0:{rest_port}" in line, process.stderr.read()
        assert Http(rest_port).call("POST", f"/v1/models/{MODEL}:predict", {"instances": ["hi"]})[0] == 200
        remote = client.GrpcClient(f"localhost:{grpc_port}")
        assert remote.predict_texts(MODEL, ["hi"]).version == 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    # A serving host installs no TFX: serving the model must not have imported any of the training stack.
    assert process.stdout.read().strip() == "training modules: none"


@pytest.mark.parametrize("flags, words", [
    (["--model_config_file=/nonexistent/models.config"], "--model_config_file /nonexistent/models.config"),
    (["--enable_batching", "--batching_parameters_file=/nonexistent"], "--batching_parameters_file"),
    (["--port=0"], "--port=0 is not a usable port"),
])
def test_serve_refuses_bad_flags_with_one_line(capsys, flags, words):
    assert cli.serve_main(flags) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err


def test_flags_become_one_frozen_config(tmp_path):
    batching = tmp_path / "batching.txt"
    batching.write_text("max_batch_size { value: 8 } batch_timeout_micros { value: 500 } allowed_batch_sizes: 8")
    monitoring = tmp_path / "monitoring.config"
    monitoring.write_text("prometheus_config { enable: true }")
    args = cli._serve_parser().parse_args([
        "--model_name=m", "--model_base_path=/models/m", "--rest_api_port=0", "--enable_batching=true",
        f"--batching_parameters_file={batching}", f"--monitoring_config_file={monitoring}",
        "--load_retry_interval_micros=250000", "--utf8_string_inputs=text,title"])
    config = cli.server_config(args)
    assert config.rest_api_port is None and config.enable_batching and config.batching.max_batch_size == 8
    assert config.prometheus_path == "/monitoring/prometheus/metrics"
    assert config.load_retry_interval_seconds == 0.25 and config.utf8_string_inputs == ("text", "title")
    assert [(m.name, m.base_path) for m in config.models] == [("m", "/models/m")]


def test_predict_and_versions_commands_against_a_running_server(shared_server, tmp_path, capsys):
    server_flag = ["--server", f"localhost:{shared_server.grpc_port}"]
    assert cli.predict_main(server_flag + ["--model_name", MODEL, "--label", "stable", "--json", "hello"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["version"] == 1 and answer["label"] and len(answer["probabilities"]) == 3
    assert cli.predict_main(["--rest_url", f"http://localhost:{shared_server.rest_port}", "--model_name", MODEL,
                             "ciao", "hello"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    base = shared_server.config.models[0].base_path
    config_file = tmp_path / "models.config"
    config_file.write_text(f'model_config_list {{ config {{ name: "{MODEL}" base_path: "{base}" '
                           'version_labels { key: "stable" value: 1 } } }')
    assert cli.versions_main(server_flag + ["--model_config_file", str(config_file), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["version"], r["state"], r["labels"]) for r in rows] == [(1, "AVAILABLE", ["stable"]),
                                                                      (2, "AVAILABLE", [])]
    assert rows[0]["metrics"]["macro_f1"] == pytest.approx(0.51)


def test_predict_against_no_server_fails_with_one_line(capsys):
    assert cli.predict_main(["--server", f"localhost:{free_port()}", "--timeout", "1", "hello"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("nlp2prod: ")


class FlakyPrediction(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Answers UNAVAILABLE a few times, then a real PredictResponse (a real gRPC server, not a mock)."""

    def __init__(self, failures):
        self.failures, self.calls = failures, 0

    def Predict(self, request, context):
        self.calls += 1
        if self.calls <= self.failures:
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        response = predict_pb2.PredictResponse()
        response.model_spec.version.value = 7
        response.outputs["label"].CopyFrom(tf.make_tensor_proto(["a"]))
        response.outputs["probabilities"].CopyFrom(tf.make_tensor_proto([[1.0]]))
        return response


def test_grpc_client_retries_unavailable_then_gives_up():
    flaky = FlakyPrediction(failures=2)
    grpc_server = grpc.server(concurrent.futures.ThreadPoolExecutor(2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(flaky, grpc_server)
    port = grpc_server.add_insecure_port("localhost:0")
    grpc_server.start()
    try:
        assert client.GrpcClient(f"localhost:{port}", retries=3, backoff=0.01).predict_texts("m", ["x"]).version == 7
        assert flaky.calls == 3
        flaky.calls, flaky.failures = 0, 10
        started = time.monotonic()
        with pytest.raises(Unavailable, match="warming up"):
            client.GrpcClient(f"localhost:{port}", retries=2, backoff=0.05).predict_texts("m", ["x"])
        assert flaky.calls == 3 and time.monotonic() - started >= 0.15
    finally:
        grpc_server.stop(0)


def test_rest_client_maps_errors(shared_server):
    remote = client.RestClient(f"http://localhost:{shared_server.rest_port}", retries=0)
    assert [s.state for s in remote.model_status(MODEL)] == ["AVAILABLE", "AVAILABLE"]
    assert remote.predict_texts(MODEL, ["hi"], label="canary").labels
    with pytest.raises(NotFound, match="HTTP 404"):
        remote.predict_texts("nope", ["hi"])
