"""Traffic through the real embedded server (REST and the official gRPC stub) with request logging on, then
`nlp2prod monitor`: the untrained-language alert shows in the exit status, the JSON, the HTML and the metrics."""

import json
import os
import random

import grpc

from benchmarks import monitoring_traffic as support
from monitoring import cli
from monitoring.log_reader import read_window
from monitoring.request_log import log_files

from serving import sample_model as serving_test_model
from serving_test_support import Http  # noqa: E402

MODEL = "nlp2prod"
# The tiny test model answers 3 labels at random: its predicted labels and confidence say nothing here.
RELAXED = ["--set", "monitor.max_prediction_drift=1", "--set", "monitor.max_low_confidence_share=1",
           "--set", "monitor.min_window_texts=100"]


def _serve_and_send(tmp_path, texts):
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    from serving import server

    base = str(tmp_path / "serving" / MODEL)
    serving_test_model.export_test_model(os.path.join(base, "1"), seed=1, model_name=MODEL)
    prefix = str(tmp_path / "home" / "request_logs" / "requests")
    config_file = tmp_path / "logging.config"
    config_file.write_text(f'log_collector_config {{ type: "file" filename_prefix: "{prefix}" }}\n'
                           "sampling_config { sampling_rate: 1.0 }\n", encoding="utf-8")
    with server.serve_model(MODEL, base, request_logging_config_file=str(config_file)) as srv:
        http = Http(srv.rest_port)
        for start in range(0, len(texts) - 10, 10):
            status, body = http.call("POST", f"/v1/models/{MODEL}:predict", {"instances": texts[start:start + 10]})
            assert status == 200 and len(body["predictions"]) == 10
        request = predict_pb2.PredictRequest()
        request.model_spec.name = MODEL
        request.inputs["text"].dtype = 7  # DT_STRING
        request.inputs["text"].string_val.extend(t.encode("utf-8") for t in texts[-10:])
        request.inputs["text"].tensor_shape.dim.add(size=10)
        with grpc.insecure_channel(f"localhost:{srv.grpc_port}") as channel:
            response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=30)
        assert response.model_spec.version.value == 1
    return prefix


def test_shifted_stream_through_the_server_shows_the_alert_everywhere(tmp_path, training, untrained_rows):
    rng = random.Random(9)
    spanish = [row for row in untrained_rows if row[2] == "es"]
    rows = support.sample(training[3], 240, rng) + support.sample(spanish, 60, rng)
    rng.shuffle(rows)
    texts = [text for text, _, _ in rows]
    prefix = _serve_and_send(tmp_path, texts)

    window = read_window(prefix)
    assert len(log_files(prefix)) == 1 and not window.problems
    assert len(window.rows) == len(texts)  # every call logged once, warmup replays not at all
    assert {(row.model, row.version) for row in window.rows} == {(MODEL, 1)}
    assert sorted(row.text for row in window.rows) == sorted(texts)
    assert all(abs(row.max_probability - 1 / 3) < 0.67 for row in window.rows)

    examples, statistics = training[0], training[1]
    out = tmp_path / "report"
    status = cli.monitor_main(["--home", str(tmp_path / "home"), "--statistics", statistics, "--examples", examples,
                               "--window", "1h", "--out", str(out), *RELAXED])
    assert status == cli.BREACH_EXIT
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    alerts = [(a["feature"], a["language"], a["version"]) for a in report["alerts"]]
    assert ("untrained_language", "es", 1) in alerts
    assert report["versions"]["1"]["texts"] == len(texts)
    metrics = (out / "metrics.prom").read_text(encoding="utf-8")
    assert 'nlp2prod_monitor_alert{feature="untrained_language",language="es",model="nlp2prod",version="1"} 1.0' \
        in metrics
    assert 'nlp2prod_monitor_breach{model="nlp2prod"} 1.0' in metrics
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "untrained_language [es]" in page and page.count("<svg") >= 3
    assert "http" not in page.replace("http-equiv", "")  # self-contained: no CDN, no remote asset


def test_monitor_exit_status_without_alert_and_without_reference(tmp_path, training):
    prefix = _serve_and_send(tmp_path, [text for text, _, _ in support.sample(training[3], 150, random.Random(4))])
    home = str(tmp_path / "home")
    examples, statistics = training[0], training[1]
    ok = cli.monitor_main(["--home", home, "--statistics", statistics, "--examples", examples, "--window", "1h",
                           "--out", str(tmp_path / "ok"), *RELAXED])
    assert ok == 0
    # Without --statistics the monitor follows lineage; the test model's run is in no metadata store.
    missing = cli.monitor_main(["--home", home, "--serving-root", str(tmp_path / "serving"), "--window", "1h",
                                "--out", str(tmp_path / "missing")])
    assert missing == 1
    report = json.loads((tmp_path / "missing" / "report.json").read_text(encoding="utf-8"))
    assert any("version 1: no training reference" in p for p in report["problems"])
    assert report["texts"] == len(read_window(prefix).rows) == 150
