"""Beam's SDK worker pool for `--environment_type=EXTERNAL`, bound to 127.0.0.1, its port written to a file.

  python -m pipeline.runners.beam_worker_pool --port 0 --port_file FILE

The same servicer as Beam's `apache_beam.runners.worker.worker_pool_main` (each StartWorker request from a runner
starts one SDK harness process: `python` from PATH, so put the environment's bin folder first), but listening on
the loopback interface only, and on a free port it reports, so that nothing has to guess a port.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

import grpc
from apache_beam.portability.api import beam_fn_api_pb2_grpc
from apache_beam.runners.worker import worker_pool_main
from apache_beam.utils import thread_pool_executor


def serve(port: int, port_file: str) -> None:
    """Serves the worker pool until SIGTERM or SIGINT; then stops the SDK workers it started."""
    server = grpc.server(thread_pool_executor.shared_unbounded_instance(),
                         options=[("grpc.http2.max_pings_without_data", 0), ("grpc.http2.max_ping_strikes", 0)])
    pool = worker_pool_main.BeamFnExternalWorkerPoolServicer(use_process=True)
    beam_fn_api_pb2_grpc.add_BeamFnExternalWorkerPoolServicer_to_server(pool, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    with open(port_file + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(str(bound))
    os.replace(port_file + ".tmp", port_file)
    print(f"beam worker pool listening on 127.0.0.1:{bound}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.stop(0)
    for worker in list(pool._worker_processes.values()):  # pylint: disable=protected-access
        worker_pool_main.kill_process_gracefully(worker)


def main(argv=None) -> None:
    """Entry point: --port (0 = any free one) and --port_file (where the bound port is written)."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.runners.beam_worker_pool", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port_file", required=True)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO)  # one line per SDK worker started, in the pool's log
    serve(args.port, args.port_file)


if __name__ == "__main__":
    main()
