"""kill -9 of a push halfway: the real `components.version_pusher.push.push_version`, run in a subprocess and
SIGKILLed early, halfway and at the end of its staged copy, while the server polls the model folder every 50 ms under load.

The partial version must never be listed or served, the old version must answer every request, and a later
push must still land as the next version.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

from robustness_support import MODEL, SustainedLoad, install, start_server, wait_for
from serving.dataplane import ModelRef

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PADDING_FILES = 1500  # extra asset files: a copy slow enough to be killed at a chosen point
PUSH = ("import sys; from components.version_pusher.push import push_version; "
        "pushed = push_version(sys.argv[1], sys.argv[2], sys.argv[3], [], {'run_id': 'push-kill-test'}); "
        "print(pushed['version'], flush=True)")
# Share of the candidate's files already in the staging dir when the pusher is killed. The window after the
# copy (warmup file, metadata, fsync, rename) is too short to hit by polling; the staging dir's non-integer
# name covers it by construction, and the rename itself is atomic.
KILL_AT = (0.1, 0.5, 0.99)


def _candidate(exported_dir: str, folder: str) -> str:
    shutil.copytree(exported_dir, folder)
    padding = os.path.join(folder, "assets", "padding")
    os.makedirs(padding)
    for i in range(PADDING_FILES):
        with open(os.path.join(padding, f"{i:05d}.bin"), "wb") as handle:
            handle.write(os.urandom(4096))
    return folder


def _file_count(folder: str) -> int:
    return sum(len(names) for _, _, names in os.walk(folder))


def _start_push(candidate: str, serving_root: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3", TF_USE_LEGACY_KERAS="1")
    return subprocess.Popen([sys.executable, "-c", PUSH, candidate, serving_root, MODEL], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_when_staged(push: subprocess.Popen, model_root: str, files: int, timeout: float = 120.0) -> int:
    """SIGKILLs the pusher once its staging dir holds `files` files; returns how many it held then.

    Staging dirs left by earlier killed pushes are not counted.
    """
    earlier = set(glob.glob(os.path.join(model_root, ".staging-*")))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and push.poll() is None:
        current = set(glob.glob(os.path.join(model_root, ".staging-*"))) - earlier
        staged = sum(_file_count(path) for path in current)
        if staged >= files:
            push.send_signal(signal.SIGKILL)
            push.wait()
            return staged
        time.sleep(0.002)
    raise AssertionError(f"the push ended (exit {push.poll()}) or stalled before staging {files} files: "
                         f"{push.stderr.read() if push.poll() is not None else ''}")


class VersionWatcher:
    """Samples the server's version list every 5 ms; remembers every version it ever saw."""

    def __init__(self, srv):
        self._srv, self.seen, self._stop = srv, set(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self):
        while not self._stop.is_set():
            self.seen |= {status.version for status in self._srv.plane.status(ModelRef(MODEL))}
            time.sleep(0.005)


def test_push_killed_halfway_is_never_served_and_the_next_push_lands(exported_versions, tmp_path):
    serving_root = tmp_path / "serving"
    model_root = install(exported_versions, serving_root / MODEL, [1])
    candidate = _candidate(exported_versions[2], str(tmp_path / "candidate"))
    total = _file_count(candidate)
    srv = start_server(model_root)
    kills = []
    try:
        with SustainedLoad(srv.grpc_port, threads=1) as load, VersionWatcher(srv) as watcher:
            for share in KILL_AT:
                push = _start_push(candidate, str(serving_root))
                kills.append((round(share, 3), _kill_when_staged(push, model_root, round(total * share)), push.returncode))
                load.wait_for_requests(100)
            partial = sorted(os.listdir(model_root))
            mid_kill_versions = set(watcher.seen)
            push = _start_push(candidate, str(serving_root))
            out, err = push.communicate(timeout=180)
            assert push.returncode == 0, err[-2000:]
            wait_for(lambda: load.versions[2] >= 50, timeout=60, what="the completed push to take traffic")
        counts = f"kills (share, files staged of {total}, exit): {kills}; {load.summary()}"
        assert all(code == -signal.SIGKILL for _, _, code in kills), counts
        assert mid_kill_versions == {1}, f"a partial push was listed: {mid_kill_versions}; {counts}"
        assert [name for name in partial if name.isdigit()] == ["1"], f"{partial}; {counts}"
        assert out.strip() == "2", f"the push after {len(kills)} killed pushes took version {out.strip()}"
        assert not load.failures and set(load.versions) <= {1, 2}, counts
        print(f"\npush kill -9: {counts}; leftover staging dirs: "
              f"{[name for name in os.listdir(model_root) if name.startswith('.staging-')]}")
    finally:
        srv.stop()
