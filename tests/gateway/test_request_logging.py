"""Gateway request logging and feedback, against a real gateway in front of the real embedded server.

The gateway is configured the way `nlp2prod gateway --request_logging_config_file=FILE` configures it (the CLI's
own flag parsing, a TF Serving LoggingConfig text file); the records are read back with TensorFlow's
TFRecordDataset and TF Serving's own PredictionLog, and the feedback with the monitor's reader.
"""

import dataclasses

import httpx
import pytest

from gateway import cli
from gateway_test_support import MODEL, SECRET, RunningGateway, bearer
from monitoring import feedback as monitor_feedback
from monitoring.log_reader import read_window
from monitoring.request_log import log_files
from serving.sample_model import LABELS

TEXTS = ["I would love a big bowl of ramen tonight", "Wie war das Spiel gestern Abend?"]


def _logging_gateway(tmp_path, backend_url, monkeypatch, sampling_rate):
    """A running gateway whose settings come from the CLI's flags and a LoggingConfig file."""
    monkeypatch.setenv("N2P_GATEWAY_SECRET", SECRET.decode())
    config = tmp_path / "logging.config"
    config.write_text(f'log_collector_config {{ type: "file" filename_prefix: "{tmp_path}/logs/requests" }}\n'
                      f"sampling_config {{ sampling_rate: {sampling_rate} }}\n", encoding="utf-8")
    args = cli._gateway_parser().parse_args([
        "--backend_url", backend_url, "--model_name", MODEL, "--database_url", f"sqlite:///{tmp_path}/gateway.db",
        "--audit_log", str(tmp_path / "audit.jsonl"), "--request_logging_config_file", str(config),
        "--feedback_path", str(tmp_path / "feedback" / "labels.jsonl")])
    settings = dataclasses.replace(cli.gateway_settings(args), key_cache_seconds=0.5, usage_flush_seconds=0.2)
    return RunningGateway(settings)


def _official_records(prefix):
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    return [prediction_log_pb2.PredictionLog.FromString(raw.numpy())
            for path in log_files(prefix) for raw in tf.data.TFRecordDataset(path)]


def _texts(tensor):
    import tensorflow as tf

    return [value.decode() for value in tf.make_ndarray(tensor)]


def test_classify_and_proxied_predict_are_logged_and_take_feedback(tmp_path, backend_url, monkeypatch):
    prefix = str(tmp_path / "logs" / "requests")
    with _logging_gateway(tmp_path, backend_url, monkeypatch, 1.0) as running, \
            httpx.Client(base_url=running.url, timeout=30, trust_env=False) as client:
        key = running.gateway.store.create("logged", ["predict"], "test")[1]
        classified = client.post("/v1/classify", json={"texts": TEXTS, "label": "stable"}, headers=bearer(key))
        predicted = client.post(f"/v1/models/{MODEL}/labels/canary:predict", json={"instances": TEXTS[:1]},
                                headers=bearer(key))
        assert classified.status_code == 200 and predicted.status_code == 200, (classified.text, predicted.text)
        classify_id, predict_id = classified.headers["X-Request-Id"], predicted.headers["X-Request-Id"]
        text_ids = [p["request_id"] for p in classified.json()["predictions"]]
        assert text_ids == [classify_id, f"{classify_id}:1"] and predict_id != classify_id

        stored = client.post("/v1/feedback", json={"request_id": text_ids[1], "label": "sports"}, headers=bearer(key))
        wrong_label = client.post("/v1/feedback", json={"request_id": classify_id, "label": "weather"},
                                  headers=bearer(key))
        unknown_id = client.post("/v1/feedback", json={"request_id": "0" * 32, "label": "food"}, headers=bearer(key))
        past_the_batch = client.post("/v1/feedback", json={"request_id": f"{classify_id}:2", "label": "food"},
                                     headers=bearer(key))
        no_key = client.post("/v1/feedback", json={"request_id": classify_id, "label": "food"})
        running.gateway.request_log.logger.flush()

    assert stored.status_code == 200, stored.text
    assert stored.json()["request_id"] == text_ids[1] and stored.json()["label"] == "sports"
    assert wrong_label.status_code == 400
    assert "'weather' is not one of the model's labels" in wrong_label.json()["error"]
    assert unknown_id.status_code == 400 and "unknown request_id" in unknown_id.json()["error"]
    assert past_the_batch.status_code == 400 and "2 text(s)" in past_the_batch.json()["error"]
    assert no_key.status_code == 401

    by_signature = {r.log_metadata.model_spec.signature_name: r for r in _official_records(prefix)}
    assert sorted(by_signature) == ["classify", "serving_default"]
    classify_log, predict_log = by_signature["classify"], by_signature["serving_default"]
    assert (classify_log.log_metadata.model_spec.name, classify_log.log_metadata.model_spec.version.value) == (MODEL, 1)
    assert (predict_log.log_metadata.model_spec.name, predict_log.log_metadata.model_spec.version.value) == (MODEL, 2)
    assert _texts(classify_log.predict_log.request.inputs["text"]) == TEXTS
    assert _texts(predict_log.predict_log.request.inputs["text"]) == TEXTS[:1]
    assert _texts(classify_log.predict_log.response.outputs["label"]) == [
        p["label"] for p in classified.json()["predictions"]]
    assert _texts(predict_log.predict_log.response.outputs["label"]) == [predicted.json()["predictions"][0]["label"]]
    assert all(r.log_metadata.timestamp_secs > 1_700_000_000 for r in by_signature.values())

    labels = monitor_feedback.read_feedback(str(tmp_path / "feedback" / "labels.jsonl"))
    assert labels == {text_ids[1]: "sports"}
    rows = read_window(prefix).rows
    assert {row.key for row in rows} == set(text_ids) | {predict_id}
    accuracy = monitor_feedback.live_accuracy(rows, labels)
    predicted_second = classified.json()["predictions"][1]["label"]
    assert accuracy["all"]["labels"] == 1 and accuracy["all"]["accuracy"] == float(predicted_second == "sports")
    assert set(LABELS) == set(classified.json()["predictions"][0]["probabilities"])


def test_sampling_rate_zero_logs_nothing_and_feedback_is_documented(tmp_path, backend_url, monkeypatch):
    with _logging_gateway(tmp_path, backend_url, monkeypatch, 0.0) as running, \
            httpx.Client(base_url=running.url, timeout=30, trust_env=False) as client:
        key = running.gateway.store.create("unlogged", ["predict"], "test")[1]
        classified = client.post("/v1/classify", json={"texts": TEXTS}, headers=bearer(key))
        predicted = client.post(f"/v1/models/{MODEL}:predict", json={"instances": TEXTS}, headers=bearer(key))
        feedback = client.post("/v1/feedback", json={"request_id": "0" * 32, "label": "food"}, headers=bearer(key))
        documented = client.get("/openapi.json").json()["paths"]["/v1/feedback"]["post"]
        running.gateway.request_log.logger.flush()
    assert classified.status_code == 200 and predicted.status_code == 200
    assert "X-Request-Id" not in classified.headers and "X-Request-Id" not in predicted.headers
    assert [p["request_id"] for p in classified.json()["predictions"]] == [None, None]
    assert feedback.status_code == 400
    assert log_files(str(tmp_path / "logs" / "requests")) == []
    examples = documented["requestBody"]["content"]["application/json"]["examples"]
    assert {"request_id", "label"} <= set(examples["second_text"]["value"]) and "400" in documented["responses"]


@pytest.mark.parametrize("text, message", [("sampling_config { sampling_rate: 2 }\n"
                                            'log_collector_config { filename_prefix: "x" }', "not in [0, 1]"),
                                           ("log_collector_config { nonsense: 1 }", "not a text-format LoggingConfig")])
def test_a_bad_logging_config_stops_the_gateway_with_one_line(tmp_path, monkeypatch, capsys, text, message):
    monkeypatch.setenv("N2P_GATEWAY_SECRET", SECRET.decode())
    config = tmp_path / "logging.config"
    config.write_text(text, encoding="utf-8")
    status = cli.gateway_main(["--request_logging_config_file", str(config),
                               "--database_url", f"sqlite:///{tmp_path}/gateway.db"])
    error = capsys.readouterr().err
    assert status == 2 and error.startswith(f"nlp2prod: --request_logging_config_file {config}: ") and message in error
    assert len(error.strip().splitlines()) == 1
