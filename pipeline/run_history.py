"""The run history: one JSON line per run attempt under the home (`RunConfig.run_history_path`).

Outcomes:
  pushed    the run finished and pushed `version`
  refused   no version was pushed on purpose: a gate stopped the run (its error is kept in `error` too), or the
            run finished without pushing; `reasons` say which check refused and why
  failed    a component raised; `error` and `failed_component` say where and why
  skipped   the run never started: another one held the lock (`reasons` names the holder), or
            `schedule --on-drift` found no breach (`reasons` holds the monitor's verdict)
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import List, Optional

OUTCOMES = ("pushed", "refused", "failed", "skipped")


@dataclasses.dataclass
class RunRecord:
    """What one run attempt did; appended to the history when the attempt ends."""

    run_id: str
    outcome: str
    started_at: str
    finished_at: str = ""
    wall_s: float = 0.0
    version: Optional[int] = None
    spans: List[int] = dataclasses.field(default_factory=list)
    reasons: List[str] = dataclasses.field(default_factory=list)
    error: str = ""
    failed_component: str = ""
    recovered_executions: List[int] = dataclasses.field(default_factory=list)
    removed_staging: List[str] = dataclasses.field(default_factory=list)
    trigger: str = "manual"

    def __post_init__(self):
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown run outcome {self.outcome!r}; expected one of {', '.join(OUTCOMES)}")

    def summary(self) -> str:
        """One line for a terminal: the outcome and what explains it."""
        if self.outcome == "pushed":
            return f"run {self.run_id}: pushed version {self.version} (spans {self.spans})"
        if self.outcome == "failed":
            where = f" in {self.failed_component}" if self.failed_component else ""
            return f"run {self.run_id}: failed{where}: {self.error}"
        return f"run {self.run_id}: {self.outcome}: {'; '.join(self.reasons) or 'no reason recorded'}"


def append_record(path: str, record: RunRecord) -> None:
    """Appends one record as a JSON line (one write call, so concurrent appenders do not interleave)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    line = json.dumps(dataclasses.asdict(record), sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)


def read_history(path: str) -> List[RunRecord]:
    """Reads every record, oldest first; a missing file is an empty history.

    Raises:
      ValueError: a line that is not a run record, named by file and line number.
    """
    if not os.path.exists(path):
        return []
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(RunRecord(**json.loads(line)))
            except (ValueError, TypeError) as error:
                raise ValueError(f"{path}:{number}: not a run record ({error})") from None
    return records
