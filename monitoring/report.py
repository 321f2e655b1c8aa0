"""One monitoring run: read the window, analyse each version against its own training reference, and write
the JSON report, the Prometheus metrics and the HTML report.

    report = build_report(config, "nlp2prod", start, end, reference_for, feedback)
    write_outputs(report, config.report_dir)   # report.json, report.html, metrics.prom

`reference_for(version)` returns the version's `TrainingReference` (or raises ReferenceError, which the report
lists under `problems` for that version instead of failing the run).
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Callable, Dict, Mapping

from monitoring import html_report, metrics
from monitoring.analysis import analyse_version
from monitoring.config import MonitorConfig
from monitoring.log_reader import read_window
from monitoring.reference import ReferenceError, TrainingReference

REPORT_JSON, REPORT_HTML, METRICS_FILE = "report.json", "report.html", "metrics.prom"


def _iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(timespec="seconds")


def build_report(config: MonitorConfig, model: str, start: float, end: float,
                 reference_for: Callable[[int], TrainingReference], feedback: Mapping[str, str]) -> dict:
    """The monitoring report of `model` over [start, end) as JSON-ready data; `breach` says if any alert fired."""
    window = read_window(config.log_prefix, start, end, model)
    by_version: Dict[int, list] = {}
    for row in window.rows:
        by_version.setdefault(row.version, []).append(row)
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    report = {"model": model, "generated_at": _iso(now), "generated_at_seconds": now,
              "window": {"start": _iso(start), "end": _iso(end), "seconds": end - start},
              "log_prefix": config.log_prefix, "files": len(window.files), "texts": len(window.rows),
              "problems": list(window.problems), "versions": {}, "alerts": [],
              "thresholds": {k: v for k, v in vars(config).items() if k.startswith(("max_", "min_", "low_"))}}
    for version, rows in sorted(by_version.items()):
        try:
            reference = reference_for(version)
        except ReferenceError as error:
            report["problems"].append(f"version {version}: no training reference: {error}")
            continue
        section = analyse_version(rows, reference, config, feedback, start, end)
        for alert in section["alerts"]:
            alert["version"] = version
        report["versions"][str(version)] = section
        report["alerts"] += section["alerts"]
    if not window.rows:
        report["problems"].append(f"no logged requests of {model!r} under {config.log_prefix} in the window")
    report["breach"] = bool(report["alerts"])
    return report


def write_outputs(report: dict, report_dir: str) -> Dict[str, str]:
    """Writes report.json, report.html and metrics.prom (Prometheus text format) atomically; returns the paths."""
    os.makedirs(report_dir, exist_ok=True)
    paths = {name: os.path.join(report_dir, name) for name in (REPORT_JSON, REPORT_HTML, METRICS_FILE)}
    _write_atomic(paths[REPORT_JSON], json.dumps(report, indent=1, ensure_ascii=False, sort_keys=True))
    _write_atomic(paths[REPORT_HTML], html_report.render(report))
    _write_atomic(paths[METRICS_FILE], metrics.exposition(report).decode("utf-8"))
    return paths


def _write_atomic(path: str, text: str) -> None:
    staging = f"{path}.tmp-{os.getpid()}"
    with open(staging, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(staging, path)


def format_summary(report: dict) -> str:
    """A few lines for the console: texts per version, the largest distances, every alert."""
    lines = [f"{report['model']}: {report['texts']} logged texts in {report['files']} file(s), "
             f"{report['window']['start']} .. {report['window']['end']}"]
    for version, section in report["versions"].items():
        lines.append(f"  version {version}: {section['texts']} texts, language drift {section['language_drift']:.3f} "
                     f"({section['language_drift_language'] or '-'}), untrained {section['untrained_share']:.1%}")
    lines += [f"  problem: {problem}" for problem in report["problems"]]
    lines += [f"  ALERT v{a['version']} {a['feature']} [{a['language']}] {a['message']}" for a in report["alerts"]]
    lines.append("  breach: " + ("yes" if report["breach"] else "no"))
    return "\n".join(lines)
