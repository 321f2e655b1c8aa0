"""Beam's Python job server, with every job split across `--direct_num_workers` SDK workers.

  python -m pipeline.runners.beam_job_server --port 0 --port_file FILE

Beam's own `apache_beam.runners.portability.local_job_service_main` runs each job on one SDK worker whatever the
job's options say: its job calls FnApiRunner.run_via_runner_api directly, skipping the step of FnApiRunner.run
that reads `direct_num_workers`. This entry point is that server with the step put back, so a job submitted with
`--direct_num_workers=N` asks its environment (the EXTERNAL worker pool) for N workers and partitions each
stage's input among them, as a Flink or Spark runner does with its parallelism.
"""

from __future__ import annotations

import logging
import sys

from apache_beam.options.pipeline_options import DirectOptions
from apache_beam.portability.api import beam_job_api_pb2
from apache_beam.runners.portability import local_job_service, local_job_service_main
from apache_beam.runners.portability.fn_api_runner import fn_runner


class ParallelBeamJob(local_job_service.BeamJob):
    """A job of the local job server whose runner uses the job's `direct_num_workers` SDK workers."""

    def _invoke_runner(self):
        self.set_state(beam_job_api_pb2.JobState.RUNNING)
        options = self.pipeline_options()
        runner = fn_runner.FnApiRunner(provision_info=self._provision_info)
        # The options come back from the job request as strings.
        workers = int(options.view_as(DirectOptions).direct_num_workers or 1)
        runner._num_workers = max(1, workers)  # pylint: disable=protected-access
        return runner.run_via_runner_api(self._pipeline_proto, options)


def main(argv=None) -> None:
    """Runs the job server (arguments of Beam's local_job_service_main: --port, --port_file, ...)."""
    logging.basicConfig(level=logging.INFO)  # one line per job and its final state, in the server's log
    local_job_service.BeamJob = ParallelBeamJob
    local_job_service_main.run(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
