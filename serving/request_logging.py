"""Request logging in the embedded server: TF Serving's LoggingConfig, given in its own file.

    nlp2prod serve ... --request_logging_config_file=logging.config
    # logging.config (text LoggingConfig):
    #   log_collector_config { type: "file" filename_prefix: "/var/log/nlp2prod/requests" }
    #   sampling_config { sampling_rate: 0.05 }

Upstream reads `logging_config` from each model's entry in models.config; the open-source binary then refuses
to start (tensorflow/serving#408), so our models.config never carries one and this server takes it from a
separate flag. Every sampled Predict (gRPC and REST) is written by `monitoring.request_log` (TF-free) as a
PredictionLog with the version that answered; warmup replays are not logged.
"""

from __future__ import annotations

import time
from typing import Optional, Sequence

from serving.dataplane import DataPlane, Inputs, Limits, ModelRef, Result
from serving.errors import InvalidArgument
from serving.metrics import ServingMetrics
from serving.model_store import ModelStore


class LoggingDataPlane(DataPlane):
    """The data plane, plus a PredictionLog of each sampled Predict call."""

    def __init__(self, store: ModelStore, metrics: ServingMetrics, limits: Limits, request_logger,
                 method_name_check: bool = False):
        super().__init__(store, metrics, limits, method_name_check)
        self.request_logger = request_logger

    def predict(self, ref: ModelRef, inputs: Inputs, output_filter: Sequence[str] = (),
                deadline: Optional[float] = None, entrypoint: str = "GRPC") -> Result:
        decoded = {}

        def resolved(signature):
            arrays = inputs(signature) if callable(inputs) else inputs
            decoded.update(arrays)
            return arrays

        started = time.perf_counter()
        result = super().predict(ref, resolved, output_filter, deadline, entrypoint)
        self.request_logger.log_predict(result.model, result.version, decoded, result.value,
                                        signature=result.signature, source=f"server/{entrypoint.lower()}",
                                        latency_ms=(time.perf_counter() - started) * 1e3)
        return result


def data_plane(store: ModelStore, metrics: ServingMetrics, limits: Limits, logging_config_file: Optional[str],
               method_name_check: bool = False) -> DataPlane:
    """A LoggingDataPlane when a logging config file is given, else the plain DataPlane.

    Raises:
      InvalidArgument: the file cannot be read or is not a usable LoggingConfig.
    """
    if not logging_config_file:
        return DataPlane(store, metrics, limits, method_name_check)
    from monitoring.request_log import RequestLogConfigError, RequestLogger, settings_from_logging_config_file

    try:
        settings = settings_from_logging_config_file(logging_config_file)
    except RequestLogConfigError as error:
        raise InvalidArgument(f"--request_logging_config_file {logging_config_file}: {error}") from None
    return LoggingDataPlane(store, metrics, limits, RequestLogger(settings), method_name_check)


def close_request_log(plane: DataPlane) -> None:
    """Writes what the plane's request logger still holds and closes it (nothing for a plain plane)."""
    if isinstance(plane, LoggingDataPlane):
        plane.request_logger.close()
