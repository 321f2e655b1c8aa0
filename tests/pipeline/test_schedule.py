"""The scheduler loop on a simulated clock, and the command's handling of bad input."""

import datetime

import pytest

from pipeline import schedule
from pipeline.run_history import RunRecord


class SimulatedClock:
    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += datetime.timedelta(seconds=seconds)


def _firing_recorder(clock, durations):
    fired = []

    def fire(number):
        fired.append(clock.now)
        clock.now += durations[number - 1]
        return RunRecord(run_id=f"run-{number}", outcome="refused", started_at=clock.now.isoformat())

    return fire, fired


def test_fires_at_cron_times_one_at_a_time_until_max_runs():
    clock = SimulatedClock(datetime.datetime(2024, 1, 1, 2, 59, 30))
    fire, fired = _firing_recorder(clock, [datetime.timedelta(minutes=5)] * 3)
    records = schedule.run_schedule("0 3 * * *", fire, max_runs=3, clock=clock, sleep=clock.sleep)
    assert [r.run_id for r in records] == ["run-1", "run-2", "run-3"]
    assert fired == [datetime.datetime(2024, 1, d, 3, 0) for d in (1, 2, 3)]


def test_firings_missed_during_a_long_run_are_not_made_up():
    clock = SimulatedClock(datetime.datetime(2024, 1, 1, 0, 0))
    fire, fired = _firing_recorder(clock, [datetime.timedelta(hours=50), datetime.timedelta(minutes=1)])
    schedule.run_schedule("0 3 * * *", fire, max_runs=2, clock=clock, sleep=clock.sleep)
    assert fired == [datetime.datetime(2024, 1, 1, 3, 0), datetime.datetime(2024, 1, 4, 3, 0)]


def test_six_field_cron_fires_on_seconds():
    assert schedule.next_firing("* * * * * */10", datetime.datetime(2024, 1, 1, 0, 0, 1)) == \
        datetime.datetime(2024, 1, 1, 0, 0, 10)


def test_invalid_cron_and_run_count():
    with pytest.raises(schedule.ScheduleError, match="not a valid cron expression"):
        schedule.next_firing("every day", datetime.datetime(2024, 1, 1))
    with pytest.raises(schedule.ScheduleError, match="at least 1"):
        schedule.run_schedule("0 3 * * *", lambda n: None, max_runs=0)


def test_command_rejects_bad_input_with_one_line(tmp_path, capsys):
    assert schedule.main(["--home", str(tmp_path), "--cron", "61 * * * *", "--max-runs", "1"]) == 2
    assert schedule.main(["--home", str(tmp_path), "--cron", "* * * * *", "--max-runs", "0"]) == 2
    assert schedule.main(["--home", str(tmp_path), "--set", "ops.nope=1", "--max-runs", "1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("nlp2prod schedule: ") for line in lines)
    assert "'61 * * * *' is not a valid cron expression" in lines[0]
