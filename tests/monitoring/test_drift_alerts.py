"""The monitor on real traffic written through the request logger: traffic drawn like the training data raises
no alert over many windows; shifted language mix, length or an untrained language raises the right alert."""

import random

import pytest

from benchmarks import monitoring_traffic as support
from monitoring.analysis import LANGUAGE_MIX, LENGTH, UNTRAINED, analyse_version
from monitoring.config import MonitorConfig
from monitoring.log_reader import read_window
from monitoring.request_log import RequestLogger, RequestLogSettings

WINDOW = 300  # texts per window, one text per logged second


def _windows(tmp_path, rows, traffic_model, reference, config=None):
    """Logs `rows` one per second, then analyses consecutive windows of WINDOW seconds; returns their alerts."""
    clock = support.Clock()
    config = config or MonitorConfig(log_prefix=str(tmp_path / "logs" / "requests"))
    start = clock.now
    with RequestLogger(RequestLogSettings(config.log_prefix), clock=clock) as logger:
        support.log_stream(logger, clock, rows, traffic_model, version=3)
    logged = read_window(config.log_prefix)
    assert not logged.problems and len(logged.rows) == len(rows)
    sections = []
    for index in range(len(rows) // WINDOW):
        low, high = start + index * WINDOW, start + (index + 1) * WINDOW
        window = [row for row in logged.rows if low <= row.timestamp < high]
        sections.append(analyse_version(window, reference, config, {}, low, high))
    return sections


def test_traffic_drawn_like_training_raises_no_alert_over_many_windows(tmp_path, training, reference, traffic_model):
    rows = support.sample(training[3], WINDOW * 12, random.Random(7))
    sections = _windows(tmp_path, rows, traffic_model, reference)
    false_alarms = [a for s in sections for a in s["alerts"]]
    print(f"\nfalse alarms: {len(false_alarms)} in {len(sections)} windows of {WINDOW} texts: {false_alarms}")
    assert not false_alarms
    # The distances stay well inside their thresholds, not just under them.
    assert max(s["language_drift"] for s in sections) < MonitorConfig().max_language_drift * 0.75
    assert max(s["untrained_share"] - reference.untrained_share for s in sections) < 0.03


def _shifted(training, extra, share, count, rng):
    """count rows: (1 - share) drawn like training, `share` drawn from `extra`, shuffled."""
    shifted = int(count * share)
    rows = support.sample(training[3], count - shifted, rng) + support.sample(extra, shifted, rng)
    rng.shuffle(rows)
    return rows


def test_an_untrained_language_raises_the_untrained_language_alert(tmp_path, training, reference, traffic_model,
                                                                    untrained_rows):
    spanish = [row for row in untrained_rows if row[2] == "es"]
    rows = _shifted(training, spanish, 0.2, WINDOW * 2, random.Random(3))
    sections = _windows(tmp_path, rows, traffic_model, reference)
    for section in sections:
        alerts = {(a["feature"], a["language"]) for a in section["alerts"]}
        assert (UNTRAINED, "es") in alerts, section["alerts"]
        assert section["languages"]["es"]["trained"] is False
        assert not any(feature == LENGTH for feature, _ in alerts)


def test_a_shifted_language_mix_names_the_language(tmp_path, training, reference, traffic_model):
    japanese = [row for row in training[3] if row[2] == "ja"]
    rows = _shifted(training, japanese, 0.4, WINDOW * 2, random.Random(5))
    for section in _windows(tmp_path, rows, traffic_model, reference):
        mix = [a for a in section["alerts"] if a["feature"] == LANGUAGE_MIX]
        assert [a["language"] for a in mix] == ["ja"], section["alerts"]
        assert not any(a["feature"] == UNTRAINED for a in section["alerts"])


def test_longer_texts_in_one_language_raise_the_length_alert_for_that_language(tmp_path, training, reference,
                                                                             traffic_model):
    rng = random.Random(11)
    english = [row for row in training[3] if row[2] == "en"]
    longer = []
    for text, label, lang in english:  # tickets, not chat lines: four same-topic lines in one text
        same_topic = [t for t, l, _ in english if l == label]
        longer.append((" ".join([text] + rng.sample(same_topic, 3)), label, lang))
    others = [row for row in training[3] if row[2] != "en"]
    rows = support.sample(others, WINDOW * 2 - 2 * 60, rng) + support.sample(longer, 2 * 60, rng)
    rng.shuffle(rows)
    for section in _windows(tmp_path, rows, traffic_model, reference):
        length = [a for a in section["alerts"] if a["feature"] == LENGTH]
        assert [a["language"] for a in length] == ["en"], section["alerts"]
        assert section["languages"]["en"]["length"]["mean"] > 2 * reference.per_language["en"]["mean_length"]


@pytest.mark.parametrize("texts", [10, 199])
def test_no_verdict_on_too_few_texts(tmp_path, training, reference, traffic_model, untrained_rows, texts):
    rows = support.sample(untrained_rows, texts, random.Random(1))
    config = MonitorConfig(log_prefix=str(tmp_path / "requests"))
    clock = support.Clock()
    with RequestLogger(RequestLogSettings(config.log_prefix), clock=clock) as logger:
        support.log_stream(logger, clock, rows, traffic_model, version=3)
    section = analyse_version(read_window(config.log_prefix).rows, reference, config, {}, 0, clock.now)
    assert section["untrained_share"] > 0.5 and section["alerts"] == []
