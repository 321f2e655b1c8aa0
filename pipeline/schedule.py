"""`nlp2prod schedule`: run the pipeline on a cron expression, one run at a time, every outcome in the history.

  nlp2prod schedule --cron "0 3 * * *" [--max-runs N] [--on-drift] [run's config flags]

Each firing rebuilds the pipeline from the config, so ExampleGen resolves the newest span of the data root at that
moment. Runs never overlap: firings happen one after another in this process, and the run lock refuses a firing
while any other process (a manual `nlp2prod run`, a second scheduler) is running against the same home; such a
firing is recorded as "skipped" with the holder's pid and start time. Firings missed while a run was still going
are not made up afterwards: the next firing is the next cron time after the run ends. A six-field expression
takes seconds as its last field (croniter), which is handy for trying a schedule out. With --on-drift each
firing first runs `nlp2prod monitor` (monitor.* settings) and starts the pipeline only when it reports a breach;
other firings are recorded as "skipped" with the monitor's verdict.
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from typing import Callable, List, Optional

from croniter import croniter

from pipeline import configs, run_cli
from pipeline.run_history import RunRecord

Clock = Callable[[], datetime.datetime]


class ScheduleError(ValueError):
    """An invalid cron expression or run count."""


def next_firing(cron: str, after: datetime.datetime) -> datetime.datetime:
    """The first time strictly after `after` that the cron expression fires (local time).

    Raises:
      ScheduleError: `cron` is not a valid cron expression.
    """
    if not croniter.is_valid(cron):
        raise ScheduleError(f"{cron!r} is not a valid cron expression (e.g. \"0 3 * * *\": daily at 03:00)")
    return croniter(cron, after).get_next(datetime.datetime)


def run_schedule(cron: str, fire: Callable[[int], RunRecord], max_runs: Optional[int] = None,
                 clock: Clock = datetime.datetime.now, sleep: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[datetime.datetime], None] = lambda when: None) -> List[RunRecord]:
    """Fires `fire(n)` at each cron time, one firing at a time, until `max_runs` firings (forever when None).

    Args:
      cron: the cron expression (five fields, or six with seconds last).
      fire: runs firing number n (1-based) to completion and returns its record.
      max_runs: stop after this many firings.
      clock: current local time (injectable for tests).
      sleep: waits a number of seconds (injectable for tests).
      on_wait: told the time of the next firing before each wait.

    Returns:
      The records of the firings, in order.

    Raises:
      ScheduleError: an invalid cron expression or a max_runs below 1.
    """
    if max_runs is not None and max_runs < 1:
        raise ScheduleError(f"--max-runs must be at least 1, got {max_runs}")
    records: List[RunRecord] = []
    when = next_firing(cron, clock())
    while max_runs is None or len(records) < max_runs:
        on_wait(when)
        while (remaining := (when - clock()).total_seconds()) > 0:
            sleep(min(remaining, 60.0))
        records.append(fire(len(records) + 1))
        when = next_firing(cron, max(clock(), when))
    return records


def build_parser():
    """The parser: `nlp2prod run`'s config flags plus --cron and --max-runs."""
    parser = run_cli.build_parser()
    parser.prog, parser.description = "nlp2prod schedule", __doc__.split("\n")[0]
    parser.add_argument("--cron", help=f"cron expression (default: the config's, {configs.OpsConfig.schedule!r})")
    parser.add_argument("--max-runs", type=int, help="stop after this many firings (default: run until stopped)")
    parser.add_argument("--on-drift", action="store_true",
                        help="run the pipeline only when `nlp2prod monitor` reports a drift or accuracy breach")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `nlp2prod schedule`."""
    args = build_parser().parse_args(argv)
    try:
        config = run_cli.config_from_args(args)
        cron = args.cron or config.ops.schedule
        next_firing(cron, datetime.datetime.now())
        if args.max_runs is not None and args.max_runs < 1:
            raise ScheduleError(f"--max-runs must be at least 1, got {args.max_runs}")
    except ValueError as error:
        print(f"nlp2prod schedule: {error}", file=sys.stderr)
        return 2
    print(f"nlp2prod schedule: {cron!r} on {config.data.data_root}; history in {config.run_history_path}")
    try:
        records = run_schedule(cron, lambda number: _fire(config, number, args), args.max_runs,
                               on_wait=lambda when: print(f"  next run at {when:%Y-%m-%d %H:%M:%S}", flush=True))
    except KeyboardInterrupt:
        print("nlp2prod schedule: stopped", file=sys.stderr)
        return 130
    settled = ("pushed", "refused", "skipped") if args.on_drift else ("pushed", "refused")
    return 0 if all(r.outcome in settled for r in records) else 1


def _fire(config: configs.RunConfig, number: int, args) -> RunRecord:
    from pipeline.console import quiet_run

    if args.on_drift:
        skipped = _drift_gate(config)
        if skipped is not None:
            print(f"  {skipped.summary()}", flush=True)
            return skipped

    log_path = os.path.join(config.log_dir, time.strftime("schedule-%Y%m%d-%H%M%S.log"))
    print(f"nlp2prod schedule: firing {number} (log: {log_path})", flush=True)
    with quiet_run(log_path, verbose=args.verbose):
        from pipeline.local_runner import run_once  # TFX's import-time noise goes to the log as well

        record = run_once(config, trigger="schedule")
    print(f"  {record.summary()}", flush=True)
    return record


def _drift_gate(config: configs.RunConfig) -> Optional[RunRecord]:
    """None when the monitor found a breach (run the pipeline); else the "skipped" record, in the history too."""
    from monitoring.cli import breach_check
    from pipeline.run_history import append_record

    breached, reason = breach_check(config.home, config.push.serving_root, config.push.model_name, config.monitor)
    print(f"nlp2prod schedule: {reason}", flush=True)
    if breached:
        return None
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    record = RunRecord(run_id=f"drift-check-{now}", outcome="skipped", started_at=now, finished_at=now,
                       reasons=[reason], trigger="on-drift")
    append_record(config.run_history_path, record)
    return record
