"""Bad input spans on the real data half: the run stops with a clear message, production stays untouched."""

import os

import pytest

from pipeline import metadata_store
from pipeline.configs import DataConfig, PushConfig, RunConfig
from pipeline.local_runner import run_once

pytestmark = pytest.mark.e2e


def _home_with_production(tmp_path):
    home = str(tmp_path)
    config = RunConfig(home=home, data=DataConfig(data_root=os.path.join(home, "data")),
                       push=PushConfig(serving_root=os.path.join(home, "serving")))
    production = tmp_path / "serving" / "nlp2prod" / "1"
    (production / "assets.extra").mkdir(parents=True)
    (production / "saved_model.pb").write_bytes(b"production model")
    (production / "assets.extra" / "nlp2prod_metadata.json").write_text('{"run_id": "earlier"}')
    return config


def _tree(root):
    return sorted((os.path.relpath(os.path.join(d, f), root), os.path.getsize(os.path.join(d, f)))
                  for d, _, files in os.walk(root) for f in files)


def _assert_consistent(config):
    store = metadata_store.open_store(config.metadata_path, read_only=True)
    assert not [e.id for e in store.get_executions() if e.last_known_state in metadata_store.ACTIVE_STATES]


def test_empty_newest_span_stops_before_reading(tmp_path):
    config = _home_with_production(tmp_path)
    os.makedirs(os.path.join(config.data.data_root, "span-1"))
    before = _tree(config.push.serving_root)
    record = run_once(config)
    assert (record.outcome, record.failed_component) == ("failed", "SpanExampleGen")
    assert "span-1 is empty" in record.error
    assert _tree(config.push.serving_root) == before
    _assert_consistent(config)


def test_malformed_span_is_stopped_by_the_data_gate(tmp_path):
    config = _home_with_production(tmp_path)
    span = os.path.join(config.data.data_root, "span-1")
    os.makedirs(span)
    with open(os.path.join(span, "tickets.csv"), "w", encoding="utf-8") as handle:
        handle.write("text,label\nwhere is my order,food\n")
    before = _tree(config.push.serving_root)
    record = run_once(config)
    assert record.outcome == "refused" and record.failed_component == "DataGate"
    assert record.reasons[0].startswith("DataGate: the data gate stopped the run")
    assert _tree(config.push.serving_root) == before
    _assert_consistent(config)


def test_schedule_command_records_each_failed_firing_and_exits_non_zero(tmp_path, capfd):
    from pipeline import schedule
    from pipeline.run_history import read_history

    config = _home_with_production(tmp_path)
    os.makedirs(os.path.join(config.data.data_root, "span-1"))
    code = schedule.main(["--home", config.home, "--data-root", config.data.data_root, "--serving-root",
                          config.push.serving_root, "--cron", "* * * * * */1", "--max-runs", "2"])
    out = capfd.readouterr().out
    assert code == 1
    assert "firing 1" in out and "firing 2" in out
    assert out.count("failed in SpanExampleGen: InputFormatError: the newest span folder") == 2
    history = read_history(config.run_history_path)
    assert [(r.outcome, r.trigger) for r in history] == [("failed", "schedule")] * 2
    assert len(os.listdir(config.log_dir)) == 2
