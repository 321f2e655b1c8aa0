"""Servers under test, each in a process of its own (so the load generator never shares the server's GIL),
bound to 127.0.0.1 only, and always stopped, even when a measurement fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Callable, Dict, Iterator, List, Optional

from machine import LOCALHOST, free_port

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
_LOGS: Dict[int, object] = {}  # pid -> the temp file its output goes to
SERVE = "import sys; from serving.cli import serve_main; sys.exit(serve_main(sys.argv[1:]))"


class ServerStartError(RuntimeError):
    """A server process exited or did not become ready in time; the message holds the end of its log."""


def child_env() -> Dict[str, str]:
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH", "")]))
    return env


def _http_ready(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False
    return ready


def _grpc_ready(address: str) -> Callable[[], bool]:
    def ready() -> bool:
        import grpc

        with grpc.insecure_channel(address) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=1)
                return True
            except grpc.FutureTimeoutError:
                return False
    return ready


@contextlib.contextmanager
def _process(command: List[str], ready: Callable[[], bool], timeout_s: float) -> Iterator[subprocess.Popen]:
    """Starts `command`, waits until `ready()`, yields the process (its output so far: `read_log(process)`)."""
    log = tempfile.TemporaryFile("w+", encoding="utf-8")
    process = subprocess.Popen(command, cwd=REPO, env=child_env(), stdout=log, stderr=subprocess.STDOUT)
    _LOGS[process.pid] = log
    try:
        deadline = time.monotonic() + timeout_s
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                tail = log.read()[-3000:]
                raise ServerStartError(f"{' '.join(command[:3])} did not become ready:\n{tail}")
            time.sleep(0.25)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        _LOGS.pop(process.pid, None)
        log.close()


def read_log(process: subprocess.Popen) -> str:
    """Everything a running server process has written so far."""
    log = _LOGS[process.pid]
    log.flush()
    log.seek(0)
    text = log.read()
    log.seek(0, os.SEEK_END)
    return text


@contextlib.contextmanager
def our_server(model_name: str, base_path: str, batching_file: Optional[str] = None,
               extra_flags: Optional[List[str]] = None, timeout_s: float = 180.0,
               model_config_file: Optional[str] = None) -> Iterator[Dict[str, object]]:
    """`nlp2prod serve` for one model (or the models of `model_config_file`); yields {"grpc": "host:port",
    "rest": "http://host:port", "process"}."""
    grpc_port, rest_port = free_port(), free_port()
    models = ([f"--model_config_file={model_config_file}"] if model_config_file
              else [f"--model_name={model_name}", f"--model_base_path={base_path}"])
    flags = [f"--host={LOCALHOST}", f"--port={grpc_port}", f"--rest_api_port={rest_port}", *models,
             "--file_system_poll_wait_seconds=0"]
    if batching_file:
        flags += ["--enable_batching=true", f"--batching_parameters_file={batching_file}"]
    command = [sys.executable, "-c", SERVE, *flags, *(extra_flags or [])]
    rest = f"http://{LOCALHOST}:{rest_port}"
    with _process(command, _http_ready(f"{rest}/v1/ready"), timeout_s) as process:
        yield {"grpc": f"{LOCALHOST}:{grpc_port}", "rest": rest, "pid": process.pid, "process": process}


@contextlib.contextmanager
def naive_flask_server(version_dir: str, timeout_s: float = 180.0) -> Iterator[Dict[str, object]]:
    """The naive Flask wrapper (benchmarks/naive_flask_server.py); yields {"url": predict URL, "pid"}."""
    port = free_port()
    command = [sys.executable, os.path.join(BENCH_DIR, "naive_flask_server.py"), "--model_dir", version_dir,
               "--port", str(port)]
    base = f"http://{LOCALHOST}:{port}"
    with _process(command, _http_ready(f"{base}/health"), timeout_s) as process:
        yield {"url": f"{base}/predict", "pid": process.pid}


@contextlib.contextmanager
def grpc_floor_server(aio: bool, hold_ms: float = 0.0, timeout_s: float = 120.0) -> Iterator[Dict[str, object]]:
    """benchmarks/grpc_floor_server.py (a constant Predict, held `hold_ms` first); yields {"grpc": "host:port",
    "pid"}."""
    port = free_port()
    command = [sys.executable, os.path.join(BENCH_DIR, "grpc_floor_server.py"), "--port", str(port),
               "--hold-ms", str(hold_ms)]
    address = f"{LOCALHOST}:{port}"
    with _process(command + (["--aio"] if aio else []), _grpc_ready(address), timeout_s) as process:
        yield {"grpc": address, "pid": process.pid}


def write_batching_file(folder: str, max_batch_size: int, batch_timeout_micros: int, num_batch_threads: int,
                        max_enqueued_batches: int) -> str:
    """A text BatchingParameters file (the format tensorflow_model_server reads)."""
    path = os.path.join(folder, "batching_parameters.txt")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"max_batch_size {{ value: {max_batch_size} }}\n"
                     f"batch_timeout_micros {{ value: {batch_timeout_micros} }}\n"
                     f"num_batch_threads {{ value: {num_batch_threads} }}\n"
                     f"max_enqueued_batches {{ value: {max_enqueued_batches} }}\n")
    return path
