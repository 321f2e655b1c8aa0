"""The audit log: one JSON line per key or label change (who, when, what), never holding a key."""

from __future__ import annotations

import datetime
import json
import os
import threading
from collections import deque
from typing import List

from gateway import keys

__all__ = ["AuditLog"]


class AuditLog:
    """Appends records to a JSONL file (each replica may write its own) and reads the newest back."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()

    def append(self, actor: str, action: str, **details) -> dict:
        """Writes `{time, actor, action, **details}`; refuses any value shaped like an API key."""
        record = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "actor": actor, "action": action, **details}
        line = json.dumps(record, ensure_ascii=False, default=str)
        if keys.looks_like_key(line):
            raise ValueError(f"audit record for {action} holds something shaped like an API key; not written")
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as stream:
            stream.write(line + "\n")
        return record

    def tail(self, limit: int) -> List[dict]:
        """The newest `limit` records, newest first (unparseable lines are reported, not dropped)."""
        if not os.path.exists(self.path):
            return []
        newest: deque = deque(maxlen=max(0, limit))
        with open(self.path, "r", encoding="utf-8", errors="replace") as stream:
            for number, line in enumerate(stream, 1):
                try:
                    newest.append(json.loads(line))
                except ValueError:
                    newest.append({"action": "unreadable", "line": number})
        return list(reversed(newest))
