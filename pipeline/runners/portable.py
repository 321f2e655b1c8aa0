"""Beam on a portable runner, on this machine: Beam's Python job server and an SDK worker pool, each a process.

`nlp2prod run --beam portable` (or `--set ops.beam_target=portable`) without endpoints starts both here, runs the
pipeline with `--runner=PortableRunner --environment_type=EXTERNAL` against them, and stops them afterwards. Each
Beam component's job then goes the way it goes on Flink, Spark or Dataflow: the pipeline is translated to the
portable Runner API, submitted over the Job API, and executed by separate SDK worker processes over the Fn API
(`ops.beam_workers` of them per job, default one per core). With `ops.beam_job_endpoint` and
`ops.beam_worker_pool` set, the run uses servers already running instead (e.g. a Flink job server and a pool of
worker containers). Logs of both servers go to the run's log folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import time
from typing import Iterator, List

from pipeline.configs import RunConfig

JOB_SERVER_MODULE = "pipeline.runners.beam_job_server"
WORKER_POOL_MODULE = "pipeline.runners.beam_worker_pool"


class PortableServicesError(RuntimeError):
    """The job server or the worker pool did not start (the message names which, and its log)."""


@dataclasses.dataclass(frozen=True)
class PortableEndpoints:
    """Where the Job API and the worker pool listen (host:port)."""

    job_endpoint: str
    worker_pool: str


@contextlib.contextmanager
def local_portable_services(log_dir: str, startup_timeout_s: float = 180.0) -> Iterator[PortableEndpoints]:
    """Starts the job server and the worker pool as separate processes; stops both on exit.

    Args:
      log_dir: folder for `beam-job-server.log` and `beam-worker-pool.log` (and the port files).
      startup_timeout_s: how long each may take to listen (they import Beam: seconds on a busy machine).

    Raises:
      PortableServicesError: a server exited or did not listen in time.
    """
    os.makedirs(log_dir, exist_ok=True)
    env = dict(os.environ)
    # The worker pool starts each SDK worker as `python` from PATH: it must be this environment's.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    started: List[subprocess.Popen] = []
    try:
        ports = []
        for module, name in ((JOB_SERVER_MODULE, "beam-job-server"), (WORKER_POOL_MODULE, "beam-worker-pool")):
            port_file = os.path.join(log_dir, f"{name}.port")
            if os.path.exists(port_file):
                os.remove(port_file)
            log_path = os.path.join(log_dir, f"{name}.log")
            with open(log_path, "w", encoding="utf-8") as log:
                started.append(subprocess.Popen([sys.executable, "-m", module, "--port", "0", "--port_file", port_file],
                                                env=env, stdout=log, stderr=subprocess.STDOUT))
            ports.append((name, port_file, log_path, started[-1]))
        deadline = time.monotonic() + startup_timeout_s
        job_port, pool_port = (_wait_for_port(*entry, deadline) for entry in ports)
        yield PortableEndpoints(job_endpoint=f"localhost:{job_port}", worker_pool=f"127.0.0.1:{pool_port}")
    finally:
        for process in started:
            _stop(process)


@contextlib.contextmanager
def portable_run(config: RunConfig, log_dir: str) -> Iterator[RunConfig]:
    """The config to run with: for `ops.beam_target == "portable"` without endpoints, the config pointed at local
    servers started for the duration of the block; otherwise the config unchanged."""
    ops = config.ops
    if ops.beam_target != "portable" or (ops.beam_job_endpoint and ops.beam_worker_pool):
        yield config
        return
    with local_portable_services(log_dir) as endpoints:
        yield config.replace(ops=dataclasses.replace(ops, beam_job_endpoint=endpoints.job_endpoint,
                                                     beam_worker_pool=endpoints.worker_pool))


def _wait_for_port(name: str, port_file: str, log_path: str, process: subprocess.Popen, deadline: float) -> int:
    while time.monotonic() < deadline:
        if os.path.exists(port_file):
            with open(port_file, encoding="utf-8") as handle:
                text = handle.read().strip()
            if text.isdigit():
                return int(text)
        if process.poll() is not None:
            raise PortableServicesError(f"the {name} exited with status {process.returncode}; see {log_path}")
        time.sleep(0.2)
    raise PortableServicesError(f"the {name} did not listen within the startup timeout; see {log_path}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)
