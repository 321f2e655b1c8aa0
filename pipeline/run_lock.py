"""One pipeline run at a time per home: an exclusive `fcntl.flock` on `<home>/run.lock`.

The kernel drops a flock when its holder exits, even on kill -9, so a dead run never leaves a stale lock behind.
The file carries the holder's pid and start time (JSON) so that a refused run can say who holds it.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import socket
from typing import Iterator, NamedTuple, Optional


class RunLockHeld(RuntimeError):
    """Another run holds the lock of this home; the message names its pid and start time."""

    def __init__(self, path: str, holder: Optional[dict]):
        self.path = path
        self.holder = holder or {}
        if holder:
            who = (f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started_at')}"
                   + (f", run {holder['run_id']}" if holder.get("run_id") else ""))
        else:
            who = "a process that has not written its details yet"
        super().__init__(f"another pipeline run is in progress ({who}); lock file {path}")


class LockGrant(NamedTuple):
    """What taking the lock found: our own holder record, and the record a killed holder left behind."""

    holder: dict
    # A holder releasing the lock empties the file; content found on taking it means its last holder died.
    dead_holder: Optional[dict]


def read_holder(path: str) -> Optional[dict]:
    """Returns the details the current (or last) holder wrote into the lock file, or None."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def run_lock(path: str, run_id: str = "") -> Iterator[LockGrant]:
    """Holds the run lock for the duration of the block.

    Args:
      path: the lock file (`RunConfig.run_lock_path`); its folder is created when missing.
      run_id: written into the lock file so that a refused run can name the run it waited on.

    Yields:
      The holder record written into the lock file (pid, host, started_at, run_id), and the record of a
      previous holder that died without releasing the lock (None after a clean release).

    Raises:
      RunLockHeld: another process (or another open of the file in this one) holds the lock.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockHeld(path, read_holder(path)) from None
        dead_holder = read_holder(path)
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "run_id": run_id,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)
        try:
            yield LockGrant(holder, dead_holder)
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
