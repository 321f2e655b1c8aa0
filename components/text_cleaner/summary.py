"""The cleaning summary: rows in and out per language, quarantine counts per reason, changes per rule.

`summarise` builds the JSON-ready dict the TextCleaner writes as `summary.json` in its Quarantine
artifact; `render_summary` prints it as a table (the run CLI shows it after cleaning).
"""

from __future__ import annotations

import collections
from typing import Dict, List, Sequence

from components.text_cleaner.cleaning import Row
from models import artifact_reports

QUARANTINE_FILE = "quarantine.jsonl"
CHANGES_FILE = "changes.jsonl"


def _nested(pairs) -> Dict[str, Dict[str, int]]:
    table: Dict[str, Dict[str, int]] = collections.defaultdict(dict)
    for (outer, inner), count in sorted(pairs.items()):
        table[outer][inner] = count
    return dict(table)


def summarise(rows: Sequence[Row], splits: Sequence[str]) -> Dict[str, object]:
    """Counts of one cleaning pass.

    Returns:
      {"rows_in": {lang: n}, "rows_out": {lang: n}, "quarantined": {reason: {lang: n}},
       "changed": {rule: {lang: n}}, "splits": {split: {"in": n, "out": n}}}; a row whose language is
      unknown counts under its raw value ('' when absent).
    """
    kept = [row for row in rows if row.reason is None]
    return {
        "rows_in": dict(sorted(collections.Counter(row.lang for row in rows).items())),
        "rows_out": dict(sorted(collections.Counter(row.lang for row in kept).items())),
        "quarantined": _nested(collections.Counter((row.reason, row.lang) for row in rows if row.reason)),
        "changed": _nested(collections.Counter((rule, row.lang) for row in kept for rule in row.changes)),
        "splits": {split: {"in": sum(row.split == split for row in rows),
                           "out": sum(row.split == split for row in kept)} for split in splits},
    }


def load_summary(quarantine_uri: str) -> Dict[str, object]:
    """Reads summary.json from a Quarantine artifact's folder."""
    return artifact_reports.read(quarantine_uri, artifact_reports.CLEANING_SUMMARY)


def render_summary(summary: Dict[str, object]) -> str:
    """A fixed-width table: one line per language with rows in, out and quarantined per reason, plus totals
    and the count of changed rows per rule."""
    rows_in, rows_out = summary["rows_in"], summary["rows_out"]
    quarantined: Dict[str, Dict[str, int]] = summary["quarantined"]
    reasons = sorted(quarantined)
    langs = sorted(set(rows_in) | set(rows_out))
    columns = ["in", "out"] + reasons
    widths = [max(len(column), 5) for column in columns]
    label_width = max([len("total")] + [len(lang or "(none)") for lang in langs])

    def line(name: str, cells: List[int]) -> str:
        return name.ljust(label_width) + "".join(f" {cell:>{width}}" for cell, width in zip(cells, widths))

    lines = ["".ljust(label_width) + "".join(f" {column:>{width}}" for column, width in zip(columns, widths))]
    for lang in langs:
        cells = [rows_in.get(lang, 0), rows_out.get(lang, 0)] + [quarantined[r].get(lang, 0) for r in reasons]
        lines.append(line(lang or "(none)", cells))
    totals = [sum(rows_in.values()), sum(rows_out.values())] + [sum(quarantined[r].values()) for r in reasons]
    lines.append(line("total", totals))
    changed: Dict[str, Dict[str, int]] = summary.get("changed", {})
    if changed:
        lines.append("changed rows by rule: " + ", ".join(f"{rule} {sum(c.values())}" for rule, c in sorted(changed.items())))
    return "\n".join(lines)
