"""False alarms and detection delay of `nlp2prod monitor`, and a replayed shifted stream to look at.

    python -m benchmarks.monitoring_detection --out benchmarks/results/monitoring_detection.md \
        --demo-dir build/monitoring-demo

Training side: the bundled corpus split 75/25 by text hash (benchmarks/monitoring_traffic.py), the 75%
written as ExampleGen-style tf.Examples and described by TFX's StatisticsGen executor; the monitor's reference is
built from those (as `nlp2prod monitor --statistics --examples` does). Traffic: texts drawn from the held-out 25%
("like training") or shifted, answered by a character n-gram naive Bayes model trained on the 75%, logged one
text per second through `monitoring.request_log.RequestLogger` to TFRecord files and read back by the monitor.

False alarms: consecutive windows of like-training traffic, each analysed alone. Detection delay: like-training
traffic, then a shift; the monitor runs every `--every` texts over the last `--window` texts; the delay is the
number of texts from the start of the shift to the first run that raises the expected alert. The demo writes
the last shifted stream and runs `nlp2prod monitor` on it: report.json, report.html and metrics.prom.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import sys
import tempfile
import time
from typing import Dict, List, Tuple

from benchmarks import machine, monitoring_traffic as support
from monitoring import cli
from monitoring.analysis import LANGUAGE_MIX, LENGTH, UNTRAINED, analyse_version
from monitoring.config import MonitorConfig
from monitoring.log_reader import read_window
from monitoring.reference import build_reference
from monitoring.request_log import RequestLogger, RequestLogSettings


def _log(prefix: str, rows, model) -> List:
    clock = support.Clock()
    with RequestLogger(RequestLogSettings(prefix), clock=clock) as logger:
        support.log_stream(logger, clock, rows, model, version=1)
    window = read_window(prefix)
    assert not window.problems and len(window.rows) == len(rows), window.problems
    return window.rows


def false_alarms(rows_pool, model, reference, config, windows: int, size: int, root: str) -> Tuple[int, Dict, Dict]:
    rows = _log(os.path.join(root, "like-training", "requests"),
                support.sample(rows_pool, windows * size, random.Random(17)), model)
    start = rows[0].timestamp
    alarmed, features, largest = 0, collections.Counter(), collections.defaultdict(float)
    for index in range(windows):
        low = start + index * size
        section = analyse_version([r for r in rows if low <= r.timestamp < low + size], reference, config, {},
                                  low, low + size)
        alarmed += bool(section["alerts"])
        features.update((a["feature"], a["language"]) for a in section["alerts"])
        largest["language_drift"] = max(largest["language_drift"], section["language_drift"])
        largest["untrained_excess"] = max(largest["untrained_excess"],
                                          section["untrained_share"] - reference.untrained_share)
        for summary in section["languages"].values():
            if summary["texts"] >= config.min_language_texts and summary["length"]["js_divergence"] is not None:
                largest["length_js"] = max(largest["length_js"], summary["length"]["js_divergence"])
    return alarmed, dict(features), dict(largest)


def _longer(rows, rng):
    """Each text joined with three more of the same language and label (tickets instead of chat lines)."""
    by_key = collections.defaultdict(list)
    for text, label, lang in rows:
        by_key[(label, lang)].append(text)
    return [(" ".join([text] + rng.sample(by_key[(label, lang)], min(3, len(by_key[(label, lang)])))), label, lang)
            for text, label, lang in rows]


def scenarios(held_out, untrained, rng) -> Dict[str, Tuple[str, str, list, float]]:
    """name -> (expected feature, expected language, shifted rows, share of traffic they take)."""
    spanish = [r for r in untrained if r[2] == "es"]
    return {
        "Spanish (untrained) at 20% of traffic": (UNTRAINED, "es", spanish, 0.20),
        "Spanish (untrained) at 10% of traffic": (UNTRAINED, "es", spanish, 0.10),
        "Japanese share +40 points": (LANGUAGE_MIX, "ja", [r for r in held_out if r[2] == "ja"], 0.40),
        "English 4x longer, at 20% of traffic": (LENGTH, "en", _longer([r for r in held_out if r[2] == "en"], rng),
                                                 0.20),
    }


def shifted_stream(held_out, shifted, share, before: int, after: int, rng) -> list:
    """`before` like-training texts, then `after` texts of which `share` come from `shifted` and the rest from
    the held-out texts of the other languages."""
    others = [row for row in held_out if row[2] != shifted[0][2]]
    mixed = support.sample(others, after - int(after * share), rng) + support.sample(shifted, int(after * share), rng)
    rng.shuffle(mixed)
    return support.sample(held_out, before, rng) + mixed


def delay(rows, expected: Tuple[str, str], shift_at: int, reference, config, size: int, every: int) -> Tuple:
    start = rows[0].timestamp
    first, wrong = None, collections.Counter()
    for end in range(size, len(rows) + 1, every):
        low, high = start + end - size, start + end
        section = analyse_version([r for r in rows if low <= r.timestamp < high], reference, config, {}, low, high)
        found = {(a["feature"], a["language"]) for a in section["alerts"]}
        wrong.update(f for f in found if f != expected)
        if end > shift_at and expected in found and first is None:
            first = end - shift_at
    return first, dict(wrong)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=100)
    parser.add_argument("--window", type=int, default=300, help="texts per monitored window")
    parser.add_argument("--every", type=int, default=30, help="texts between monitor runs (delay runs)")
    parser.add_argument("--out", default="")
    parser.add_argument("--demo-dir", default="")
    args = parser.parse_args(argv)
    started = time.time()
    facts = machine.machine_info(["lingua-language-detector", "tfx", "tensorflow-data-validation", "scikit-learn"])
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as root:
        train, held_out = support.split_corpus()
        examples, statistics = os.path.join(root, "examples"), os.path.join(root, "statistics")
        support.write_examples(train, examples)
        support.run_statistics_gen(examples, statistics)
        config = MonitorConfig()
        reference = build_reference(statistics, examples, config.languages)
        model = support.TrafficModel(train)
        untrained = support.corpus(support.UNTRAINED)
        alarmed, features, largest = false_alarms(held_out, model, reference, config, args.windows, args.window, root)
        lines = ["# Monitor: false alarms and detection delay", "", machine.command_line(), "",
                 f"## False alarms: traffic drawn like the training data ({args.windows} windows of "
                 f"{args.window} texts)", "",
                 f"- windows with any alert: **{alarmed} of {args.windows}** ({alarmed / args.windows:.1%})",
                 f"- alerts by (feature, language): {features or 'none'}",
                 f"- largest distances seen: language mix L-inf {largest['language_drift']:.3f} (threshold "
                 f"{config.max_language_drift}), untrained share above training's {largest['untrained_excess']:.3f} "
                 f"(threshold {config.max_untrained_share}), length JS {largest.get('length_js', 0):.3f} "
                 f"(threshold {config.max_length_drift})", "",
                 f"## Detection delay (monitor every {args.every} texts over the last {args.window}; "
                 "shift after 600 like-training texts)", "",
                 "| shift | expected alert | delay (texts after the shift starts) | other alerts raised |",
                 "|---|---|---|---|"]
        demo_rows = None
        for name, (feature, language, shifted, share) in scenarios(held_out, untrained, rng).items():
            stream = shifted_stream(held_out, shifted, share, 600, 900, rng)
            rows = _log(os.path.join(root, name.split()[0] + str(share), "requests"), stream, model)
            first, wrong = delay(rows, (feature, language), 600, reference, config, args.window, args.every)
            lines.append(f"| {name} | {feature} [{language}] | {first if first is not None else 'not detected'} | "
                         f"{wrong or '-'} |")
            demo_rows = demo_rows or stream
        machine.add_end_facts(facts, started)
        lines += ["", "Machine (shared, noisy: other agents' tests ran meanwhile):", *machine.markdown_facts(facts)]
        machine.publish("\n".join(lines) + "\n", args.out)
        if args.demo_dir:
            _demo(args.demo_dir, demo_rows, model, statistics, examples)
    return 0


def _demo(demo_dir: str, rows, model, statistics: str, examples: str) -> None:
    """The first shifted stream spread over the last hour, logged under demo_dir/home, monitored by the CLI."""
    home = os.path.join(demo_dir, "home")
    shutil.rmtree(home, ignore_errors=True)
    prefix = os.path.join(home, "request_logs", "requests")
    spacing = 3500.0 / len(rows)
    clock = support.Clock(time.time() - spacing * len(rows) - 1)
    with RequestLogger(RequestLogSettings(prefix), clock=clock) as logger:
        support.log_stream(logger, clock, rows, model, version=1, seconds_per_request=spacing)
    status = cli.monitor_main(["--home", home, "--statistics", statistics, "--examples", examples, "--window", "1h"])
    report_dir = os.path.join(home, "monitoring")
    with open(os.path.join(report_dir, "metrics.prom"), encoding="utf-8") as handle:
        alerts = [line.rstrip() for line in handle if line.startswith("nlp2prod_monitor_alert{")]
    with open(os.path.join(report_dir, "report.json"), encoding="utf-8") as handle:
        named = [(a["feature"], a["language"], round(a["value"], 3)) for a in json.load(handle)["alerts"]]
    print(f"\nnlp2prod monitor exit status: {status}\nalert gauges (metrics.prom):\n  " + "\n  ".join(alerts))
    print(f"alerts in report.json: {named}\nreport: {os.path.join(report_dir, 'report.html')}")


if __name__ == "__main__":
    sys.exit(main())
