"""Feedback labels by request id give the live accuracy that was injected, with counts; the CLI records them."""

import random

import pytest
from sklearn.metrics import f1_score

from benchmarks import monitoring_traffic as support
from monitoring import cli
from monitoring.analysis import ACCURACY, analyse_version
from monitoring.config import MonitorConfig
from monitoring.feedback import FeedbackError, live_accuracy, read_feedback, record_feedback
from monitoring.log_reader import read_window
from monitoring.request_log import RequestLogger, RequestLogSettings


@pytest.fixture()
def logged(tmp_path, training, traffic_model):
    """(config, [(request id, row, predicted label)]) of 400 held-out texts logged through the request logger."""
    config = MonitorConfig(log_prefix=str(tmp_path / "requests"), feedback_path=str(tmp_path / "labels.jsonl"))
    clock = support.Clock()
    with RequestLogger(RequestLogSettings(config.log_prefix), clock=clock) as logger:
        items = support.log_stream(logger, clock, support.sample(training[3], 400, random.Random(2)), traffic_model, 4)
    return config, items


def _detected(config, language):
    """(request id, predicted label) of the logged texts the monitor sees as `language`."""
    return [(row.request_id, row.predicted) for row in read_window(config.log_prefix).rows if row.language == language]


def test_injected_accuracy_per_language_is_measured_with_counts(logged):
    config, _ = logged
    italian = _detected(config, "it")
    correct = len(italian) * 3 // 4
    for number, (request_id, predicted) in enumerate(italian):
        wrong = next(label for label in support.LABELS if label != predicted)
        record_feedback(config.feedback_path, request_id, predicted if number < correct else wrong, support.LABELS)
    live = live_accuracy(read_window(config.log_prefix).rows, read_feedback(config.feedback_path))
    assert set(live) == {"it", "all"}
    assert live["it"]["labels"] == len(italian)
    assert live["it"]["accuracy"] == pytest.approx(correct / len(italian))


def test_true_labels_give_the_model_accuracy_and_macro_f1(logged):
    config, items = logged
    for request_id, row, _ in items:
        record_feedback(config.feedback_path, request_id, row[1])
    rows = read_window(config.log_prefix).rows
    live = live_accuracy(rows, read_feedback(config.feedback_path))
    truth = [row[1] for _, row, _ in items]
    predicted = [label for _, _, label in items]
    assert live["all"]["labels"] == len(items)
    assert live["all"]["accuracy"] == pytest.approx(sum(t == p for t, p in zip(truth, predicted)) / len(items))
    assert live["all"]["macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro"))
    assert sum(v["labels"] for k, v in live.items() if k != "all") == len(items)


def test_low_live_accuracy_alerts_name_the_language(logged, reference):
    config, items = logged
    korean = _detected(config, "ko")
    assert len(korean) >= config.min_feedback_labels
    for request_id, predicted in korean:  # every Korean answer judged wrong
        record_feedback(config.feedback_path, request_id, next(l for l in support.LABELS if l != predicted))
    rows = read_window(config.log_prefix).rows
    section = analyse_version(rows, reference, config, read_feedback(config.feedback_path), 0, 2e9)
    accuracy = [a for a in section["alerts"] if a["feature"] == ACCURACY]
    assert [(a["language"], a["value"]) for a in accuracy] == [("ko", 0.0)]
    assert section["live"]["ko"]["labels"] == len(korean)


def test_feedback_cli_and_errors(tmp_path, capsys):
    home = str(tmp_path / "home")
    assert cli.feedback_main(["abc", "food", "--home", home]) == 0
    labels = tmp_path / "labels.csv"
    labels.write_text("request_id,label\nr1,sports\nr2:1,food\nabc,money\n", encoding="utf-8")
    assert cli.feedback_main(["--file", str(labels), "--home", home]) == 0
    assert read_feedback(str(tmp_path / "home" / "feedback" / "labels.jsonl")) == \
        {"abc": "money", "r1": "sports", "r2:1": "food"}
    assert cli.feedback_main(["--home", home]) == 2
    with pytest.raises(FeedbackError, match="not one of the model's labels"):
        record_feedback(str(tmp_path / "x.jsonl"), "r1", "weather", support.LABELS)
    with pytest.raises(FeedbackError, match="request_id"):
        record_feedback(str(tmp_path / "x.jsonl"), " ", "food")
