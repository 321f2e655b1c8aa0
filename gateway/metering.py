"""Usage metering: requests, texts and errors per key and UTC day, counted in memory and flushed to the store."""

from __future__ import annotations

import datetime
import threading
from typing import Dict, Tuple

from gateway.store import UsageCounts

__all__ = ["UsageMeter"]


class UsageMeter:
    """Counts since the last flush; `drain` hands them over and starts again."""

    def __init__(self):
        self._counts: Dict[Tuple[str, datetime.date], list] = {}
        self._lock = threading.Lock()

    def record(self, key_id: str, texts: int = 0, error: bool = False) -> None:
        day = datetime.datetime.now(datetime.timezone.utc).date()
        with self._lock:
            counts = self._counts.setdefault((key_id, day), [0, 0, 0])
            counts[0] += 1
            counts[1] += texts
            counts[2] += int(error)

    def drain(self) -> UsageCounts:
        with self._lock:
            drained, self._counts = self._counts, {}
        return {key: tuple(values) for key, values in drained.items()}

    def restore(self, counts: UsageCounts) -> None:
        """Puts back counts whose flush failed, so a database outage loses nothing."""
        with self._lock:
            for key, values in counts.items():
                held = self._counts.setdefault(key, [0, 0, 0])
                for index, value in enumerate(values):
                    held[index] += value
