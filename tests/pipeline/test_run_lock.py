"""The run lock: one holder per home, a refusal that names the holder, and no stale lock after kill -9."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline.run_lock import RunLockHeld, read_holder, run_lock

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_second_holder_is_refused_with_pid_and_start_time(tmp_path):
    path = str(tmp_path / "run.lock")
    with run_lock(path, run_id="run-1") as grant:
        with pytest.raises(RunLockHeld) as refused:
            with run_lock(path, run_id="run-2"):
                pass
    message = str(refused.value)
    assert f"pid {os.getpid()}" in message
    assert grant.holder["started_at"] in message and "run run-1" in message
    assert refused.value.holder["run_id"] == "run-1"


def test_released_lock_can_be_taken_again_and_is_emptied(tmp_path):
    path = str(tmp_path / "home" / "run.lock")
    with run_lock(path):
        assert read_holder(path)["pid"] == os.getpid()
    assert read_holder(path) is None
    with run_lock(path) as grant:
        assert grant.dead_holder is None


def test_lock_of_a_killed_holder_is_free_and_reports_the_dead_holder(tmp_path):
    path = str(tmp_path / "run.lock")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom pipeline.run_lock import run_lock\n"
         f"with run_lock({path!r}, run_id='doomed'):\n    print('held', flush=True)\n    time.sleep(60)\n"],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": REPO})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockHeld, match=f"pid {holder.pid}"):
            with run_lock(path):
                pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
    deadline = time.monotonic() + 5
    with run_lock(path) as grant:
        assert time.monotonic() < deadline
        assert grant.dead_holder["run_id"] == "doomed" and grant.dead_holder["pid"] == holder.pid
    assert json.loads(open(path).read() or "null") is None
