"""`nlp2prod schedule --on-drift`: the monitor's verdict decides whether a firing runs the pipeline."""

import random
import types

from benchmarks import monitoring_traffic as support
from monitoring.cli import breach_check
from monitoring.config import MonitorConfig
from monitoring.reference import save_reference
from monitoring.request_log import RequestLogger, RequestLogSettings
from pipeline import configs, schedule
from pipeline.run_history import read_history


def _home_with_traffic(tmp_path, reference, traffic_model, rows):
    home = str(tmp_path / "home")
    monitor = MonitorConfig().under(home)
    # The reference the monitor caches per version once lineage found it (no metadata store in this test).
    save_reference(reference, f"{monitor.report_dir}/references/nlp2prod-1.json")
    clock = support.Clock(now=__import__("time").time() - len(rows) - 5)
    with RequestLogger(RequestLogSettings(monitor.log_prefix), clock=clock) as logger:
        support.log_stream(logger, clock, rows, traffic_model, version=1)
    return home


def test_a_breach_starts_the_run_and_no_breach_records_a_skip(tmp_path, training, reference, traffic_model,
                                                              untrained_rows):
    rng = random.Random(8)
    spanish = [row for row in untrained_rows if row[2] == "es"]
    home = _home_with_traffic(tmp_path, reference, traffic_model,
                              support.sample(training[3], 240, rng) + support.sample(spanish, 60, rng))
    breached, reason = breach_check(home, str(tmp_path / "serving"), "nlp2prod", MonitorConfig())
    assert breached and "untrained_language [es]" in reason

    quiet = _home_with_traffic(tmp_path / "quiet", reference, traffic_model, support.sample(training[3], 300, rng))
    config = configs.RunConfig(home=quiet)
    record = schedule._fire(config, 1, types.SimpleNamespace(on_drift=True, verbose=False))
    assert record.outcome == "skipped" and record.trigger == "on-drift"
    assert "no breach" in record.reasons[0]
    assert [r.run_id for r in read_history(config.run_history_path)] == [record.run_id]
