"""The audit log of label moves: JSON lines beside models.config, defined once for writers and readers.

Each line: {"time": ISO-8601 UTC, "user": str, "action": str, "model": str, "config": path,
"moves": [{"label": str, "from_version": int|null, "to_version": int}, ...]}. Lines that do not parse are skipped by
readers (a half-written last line after a crash must not hide the history before it). TF-free.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Dict, Iterator, List

SUFFIX = ".audit.jsonl"


def path_for(model_config_file: str) -> str:
    """The audit log that belongs to a models.config file."""
    return model_config_file + SUFFIX


def append(path: str, user: str, action: str, model: str, moves: List[Dict[str, object]],
           config_path: str) -> Dict[str, object]:
    """Appends one record and returns it."""
    record = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "user": user, "action": action, "model": model, "config": os.path.abspath(config_path),
              "moves": list(moves)}
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    return record


def records(path: str, model: str) -> Iterator[Dict[str, object]]:
    """The records of `model`, oldest first (a missing log has none)."""
    if not os.path.exists(path):
        return
    with open(path, "r", encoding="utf-8") as stream:
        for line in stream:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("model") == model:
                yield record
