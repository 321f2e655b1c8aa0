"""Row-level cleaning: which rows are kept, changed or quarantined, and why (pure; no TFX, no TensorFlow).

Order of the checks (the first that fails names the quarantine reason):
  1. the reader's problem (malformed_line, missing_columns, not_utf8, empty_file, unsupported_file);
  2. unknown_language / unknown_label: values outside config.data.languages / config.data.labels
     (matched case-insensitively; `zh_hant` finds `zh-Hant`, `Sports` finds `sports`);
  3. text rules (normalisation.clean_text), then empty / too_short / too_long;
  4. language_mismatch: the detector is confident the text is another configured language;
  5. duplicates, global over all splits so no text is in both train and eval: rows with the same dedup key
     and different labels are all quarantined as conflicting_labels; otherwise the first (by file and line)
     is kept and the others are `duplicate` (same cleaned text) or `near_duplicate` (same up to case,
     punctuation and spaces).
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from components.text_cleaner.normalisation import clean_text, dedup_key

UNKNOWN_LANGUAGE = "unknown_language"
UNKNOWN_LABEL = "unknown_label"
EMPTY = "empty"
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
LANGUAGE_MISMATCH = "language_mismatch"
CONFLICTING_LABELS = "conflicting_labels"
DUPLICATE = "duplicate"
NEAR_DUPLICATE = "near_duplicate"


@dataclasses.dataclass(frozen=True)
class CleaningPolicy:
    """What the cleaner accepts: configured languages and labels, and text length bounds in characters."""

    languages: Tuple[str, ...]
    labels: Tuple[str, ...]
    min_chars: int
    max_chars: int


@dataclasses.dataclass
class Row:
    """One input row as it moves through cleaning."""

    split: str
    source: str
    text: str
    label: str
    lang: str
    problem: Optional[str] = None
    cleaned: str = ""
    changes: Tuple[str, ...] = ()
    reason: Optional[str] = None
    detail: str = ""

    def sort_key(self) -> Tuple[str, int, str]:
        """File, then line as a number, then split: the order that decides which duplicate is kept."""
        name, _, line = self.source.rpartition(":")
        return name, int(line) if line.isdigit() else 0, self.split

    def quarantine_record(self) -> Dict[str, str]:
        """The quarantine.jsonl line of a dropped row."""
        return {"split": self.split, "row": self.source, "reason": self.reason or "", "lang": self.lang,
                "text": self.text, "detail": self.detail}

    def change_record(self) -> Dict[str, object]:
        """The changes.jsonl line of a kept row whose text a rule changed."""
        return {"split": self.split, "row": self.source, "lang": self.lang, "rules": list(self.changes),
                "before": self.text, "after": self.cleaned}


def _matcher(values: Sequence[str]) -> Dict[str, str]:
    return {value.lower().replace("_", "-").strip(): value for value in values}


def _canonical(value: str, known: Dict[str, str]) -> Optional[str]:
    return known.get(value.lower().replace("_", "-").strip())


def _check_row(row: Row, policy: CleaningPolicy, languages: Dict[str, str], labels: Dict[str, str]) -> None:
    if row.problem:
        row.reason = row.problem
        return
    lang, label = _canonical(row.lang, languages), _canonical(row.label, labels)
    if lang is None:
        row.reason, row.detail = UNKNOWN_LANGUAGE, f"{row.lang!r} is not in {','.join(policy.languages)}"
        return
    if label is None:
        row.lang, row.reason = lang, UNKNOWN_LABEL
        row.detail = f"{row.label!r} is not in {','.join(policy.labels)}"
        return
    row.lang, row.label = lang, label
    row.cleaned, changes = clean_text(row.text, lang)
    row.changes = tuple(changes)
    length = len(row.cleaned)
    if not length:
        row.reason = EMPTY
    elif length < policy.min_chars:
        row.reason, row.detail = TOO_SHORT, f"{length} < {policy.min_chars} characters"
    elif length > policy.max_chars:
        row.reason, row.detail = TOO_LONG, f"{length} > {policy.max_chars} characters"


def _mark_duplicates(rows: List[Row]) -> None:
    groups: Dict[str, List[Row]] = collections.defaultdict(list)
    for row in rows:
        groups[dedup_key(row.cleaned)].append(row)
    for group in groups.values():
        if len(group) == 1:
            continue
        labels = sorted({row.label for row in group})
        if len(labels) > 1:
            for row in group:
                row.reason, row.detail = CONFLICTING_LABELS, f"same text labelled {', '.join(labels)}"
            continue
        kept = group[0]
        for row in group[1:]:
            row.reason = DUPLICATE if row.cleaned == kept.cleaned else NEAR_DUPLICATE
            row.detail = f"kept {kept.source}"


def clean_rows(rows: Iterable[Row], policy: CleaningPolicy, language_identifier=None) -> List[Row]:
    """Runs every check on every row, in a deterministic order; returns the rows sorted, each with `reason`
    None (kept, `cleaned` holds its text) or set (quarantined).

    Args:
      rows: input rows of all splits.
      policy: the accepted languages, labels and lengths.
      language_identifier: an object with `mismatches(texts, declared)` (see language_id.py); None skips
        the declared-vs-detected check.
    """
    ordered = sorted(rows, key=Row.sort_key)
    languages, labels = _matcher(policy.languages), _matcher(policy.labels)
    for row in ordered:
        _check_row(row, policy, languages, labels)
    candidates = [row for row in ordered if row.reason is None]
    if language_identifier is not None and candidates:
        verdicts = language_identifier.mismatches([r.cleaned for r in candidates], [r.lang for r in candidates])
        for row, verdict in zip(candidates, verdicts):
            if verdict:
                row.reason = LANGUAGE_MISMATCH
                row.detail = f"detected {verdict[0]} with confidence {verdict[1]:.2f}"
    _mark_duplicates([row for row in candidates if row.reason is None])
    return ordered
