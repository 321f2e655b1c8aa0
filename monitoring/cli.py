"""`nlp2prod monitor` and `nlp2prod feedback`.

    nlp2prod monitor [--window 1h] [--end TIME] [--statistics DIR --examples DIR] [--out DIR] [--set monitor.F=V]
    nlp2prod feedback REQUEST_ID LABEL | --file labels.csv (request_id,label per line)
    nlp2prod golden record|check --version N [--server http://host:8501]

The monitor reads the window of request logs, finds each version's training data through lineage (version
metadata → ML Metadata → StatisticsGen) unless --statistics/--examples name it, and writes report.json,
report.html and metrics.prom under the report directory. Exit status: 0 no alert, 3 a threshold was breached
(a CronJob or `nlp2prod schedule --on-drift` acts on it), 1 the monitor could not run, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

from monitoring.config import MonitorConfig
from monitoring.reference import ReferenceError, TrainingReference

BREACH_EXIT = 3
DEFAULT_HOME = ".nlp2prod"
DEFAULT_MODEL = "nlp2prod"


def parse_duration(text: str) -> int:
    """Seconds in "90", "30m", "1h", "2d".

    Raises:
      ValueError: not a positive duration.
    """
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], units[text[-1]]) if text and text[-1] in units else (text, 1)
    try:
        seconds = int(float(number) * unit)
    except ValueError:
        raise ValueError(f"{text!r} is not a duration (e.g. 900, 30m, 1h, 2d)") from None
    if seconds <= 0:
        raise ValueError(f"the window {text!r} must be positive")
    return seconds


def parse_time(text: str) -> float:
    """Seconds since the epoch from "now", an epoch number or an ISO 8601 time (UTC unless it says otherwise)."""
    if text == "now":
        return time.time()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time (now, epoch seconds or ISO 8601)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)).timestamp()


def monitor_config(home: str, overrides: List[str]) -> MonitorConfig:
    """The `monitor` section of the RunConfig with `--set monitor.F=V` overrides, paths under `home`."""
    return MonitorConfig().with_overrides(overrides).under(home)


def reference_resolver(config: MonitorConfig, home: str, serving_root: str, model_name: str,
                       statistics: str = "", examples: str = "") -> Callable[[int], TrainingReference]:
    """version → its TrainingReference: from statistics/examples when given, else through lineage (cached per
    version under the report directory)."""
    from monitoring import lineage_lookup, reference

    if statistics or examples:
        if not (statistics and examples):
            raise ValueError("give both --statistics and --examples, or neither (lineage finds them)")
        fixed = reference.build_reference(statistics, examples, config.languages)
        return lambda version: fixed
    cache: Dict[int, TrainingReference] = {}

    def resolve(version: int) -> TrainingReference:
        if version not in cache:
            path = os.path.join(config.report_dir, "references", f"{model_name}-{version}.json")
            if os.path.exists(path):
                cache[version] = reference.load_reference(path)
            else:
                found = lineage_lookup.training_data_of_version(os.path.join(home, "metadata.sqlite"),
                                                                serving_root, model_name, version)
                cache[version] = reference.build_reference(found.statistics_uri, found.examples_uri,
                                                           config.languages, run_id=found.run_id, version=version)
                reference.save_reference(cache[version], path)
        return cache[version]

    return resolve


def run_monitor(config: MonitorConfig, model_name: str, resolve: Callable[[int], TrainingReference], end: float,
                window: int, out: str = "") -> Tuple[int, dict, Dict[str, str]]:
    """One monitoring run: (exit status, report, written paths). Status: 0, BREACH_EXIT, or 1 when texts were
    logged but no version could be compared with its training data."""
    from monitoring import feedback, report

    result = report.build_report(config, model_name, end - window, end, resolve,
                                 feedback.read_feedback(config.feedback_path))
    paths = report.write_outputs(result, out or config.report_dir)
    if result["texts"] and not result["versions"]:
        return 1, result, paths
    return (BREACH_EXIT if result["breach"] else 0), result, paths


def breach_check(home: str, serving_root: str, model_name: str, config: MonitorConfig) -> Tuple[bool, str]:
    """For `nlp2prod schedule --on-drift`: (whether the monitor found a breach, a one-line reason)."""
    monitor = config.under(home)
    try:
        status, result, _ = run_monitor(monitor, model_name, reference_resolver(monitor, home, serving_root,
                                                                                 model_name),
                                        time.time(), monitor.window_seconds)
    except (ValueError, ReferenceError) as error:
        return False, f"monitor could not run: {error}"
    if status == BREACH_EXIT:
        named = sorted({f"{a['feature']} [{a['language']}]" for a in result["alerts"]})
        return True, "monitor: " + ", ".join(named)
    return False, f"monitor: no breach ({result['texts']} logged texts; {'; '.join(result['problems']) or 'ok'})"


def _monitor_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nlp2prod monitor", description=__doc__.split("\n")[0])
    parser.add_argument("--home", default=DEFAULT_HOME, help="state directory (default: %(default)s)")
    parser.add_argument("--model-name", default=DEFAULT_MODEL, help="default: %(default)s")
    parser.add_argument("--serving-root", help="where versions are pushed (default: HOME/serving)")
    parser.add_argument("--window", help="length of the window ending at --end (default: monitor.window_seconds)")
    parser.add_argument("--end", default="now", help="end of the window: now, epoch seconds or ISO 8601")
    parser.add_argument("--statistics", help="StatisticsGen output folder (skips lineage; with --examples)")
    parser.add_argument("--examples", help="the examples it described (folder with Split-train/)")
    parser.add_argument("--out", help="report directory (default: monitor.report_dir, HOME/monitoring)")
    parser.add_argument("--set", action="append", default=[], metavar="monitor.FIELD=VALUE",
                        help="override a monitor setting (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of the summary")
    return parser


def monitor_main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `nlp2prod monitor`."""
    import json

    from monitoring import report

    args = _monitor_parser().parse_args(argv)
    try:
        config = monitor_config(args.home, args.set)
        window = parse_duration(args.window) if args.window else config.window_seconds
        end = parse_time(args.end)
        resolve = reference_resolver(config, args.home, args.serving_root or os.path.join(args.home, "serving"),
                                     args.model_name, args.statistics or "", args.examples or "")
    except (ValueError, ReferenceError) as error:
        print(f"nlp2prod monitor: {error}", file=sys.stderr)
        return 2 if isinstance(error, ValueError) else 1
    status, result, paths = run_monitor(config, args.model_name, resolve, end, window, args.out or "")
    print(json.dumps(result, indent=1, ensure_ascii=False) if args.json else report.format_summary(result))
    if not args.json:
        print(f"  wrote {', '.join(paths.values())}")
    return status


def feedback_main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `nlp2prod feedback`."""
    from monitoring.feedback import FeedbackError, record_feedback

    parser = argparse.ArgumentParser(prog="nlp2prod feedback", description="record true labels of logged requests")
    parser.add_argument("request_id", nargs="?", help="the id the request log returned")
    parser.add_argument("label", nargs="?", help="the true label")
    parser.add_argument("--file", help="CSV of request_id,label lines (a header line is skipped)")
    parser.add_argument("--home", default=DEFAULT_HOME, help="state directory (default: %(default)s)")
    parser.add_argument("--set", action="append", default=[], metavar="monitor.FIELD=VALUE")
    args = parser.parse_args(argv)
    if bool(args.file) == bool(args.request_id and args.label):
        print("nlp2prod feedback: give REQUEST_ID LABEL, or --file", file=sys.stderr)
        return 2
    config = monitor_config(args.home, args.set)
    pairs = [(args.request_id, args.label)] if not args.file else _csv_pairs(args.file)
    try:
        for request_id, label in pairs:
            record_feedback(config.feedback_path, request_id, label, source="cli")
    except (FeedbackError, OSError) as error:
        print(f"nlp2prod feedback: {error}", file=sys.stderr)
        return 1
    print(f"nlp2prod feedback: {len(pairs)} label(s) recorded in {config.feedback_path}")
    return 0


def _csv_pairs(path: str) -> List[tuple]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["request_id", "label"]:
        rows = rows[1:]
    return [(row[0], row[1] if len(row) > 1 else "") for row in rows]


def golden_main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `nlp2prod golden record|check`: exit 0 same answers, BREACH_EXIT changed, 1 cannot run."""
    from monitoring import golden

    parser = argparse.ArgumentParser(prog="nlp2prod golden",
                                     description="record / check a version's answers on its golden texts")
    parser.add_argument("action", choices=("record", "check"))
    parser.add_argument("--version", type=int, required=True, help="the pushed version")
    parser.add_argument("--server", default="http://localhost:8501", help="REST base URL (default: %(default)s)")
    parser.add_argument("--home", default=DEFAULT_HOME, help="state directory (default: %(default)s)")
    parser.add_argument("--serving-root", help="where versions are pushed (default: HOME/serving)")
    parser.add_argument("--model-name", default=DEFAULT_MODEL, help="default: %(default)s")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest probability change accepted")
    args = parser.parse_args(argv)
    config = MonitorConfig().under(args.home)
    path = os.path.join(config.report_dir, "golden", f"{args.model_name}-{args.version}.json")
    version_dir = os.path.join(args.serving_root or os.path.join(args.home, "serving"), args.model_name,
                               str(args.version))
    try:
        if args.action == "record":
            written = golden.record(path, args.server, args.model_name, args.version, version_dir)
            print(f"nlp2prod golden: {len(written['items'])} answers of version {args.version} recorded in {path}")
            return 0
        checked, changed = golden.check(path, args.server, args.tolerance)
    except golden.GoldenSetError as error:
        print(f"nlp2prod golden: {error}", file=sys.stderr)
        return 1
    print(f"nlp2prod golden: {checked} texts, {len(changed)} changed")
    for line in changed:
        print(f"  {line}")
    return BREACH_EXIT if changed else 0
