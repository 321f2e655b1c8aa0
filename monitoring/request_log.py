"""Request logging with TF Serving's LoggingConfig semantics, to rotated TFRecord files of PredictionLog records.

    log_collector_config { type: "file" filename_prefix: "/var/log/nlp2prod/requests" }
    sampling_config { sampling_rate: 0.1 }

Each sampled request and its response become one `PredictionLog` (predict_log + log_metadata with the model
name, version, signature, sampling config and timestamp_secs) plus the `nlp2prod_request` record (request id,
per-text language and length). Files are `<filename_prefix>-<UTC time>-<pid>-<seq>.tfrecord`; a file is
closed and a new one started past `max_file_bytes` or `rotate_seconds`, and closed files are deleted oldest first
while the total exceeds `max_total_bytes` or a file is older than `retention_seconds`. With
`store_raw_text=False` the text inputs are left out of the logged request: only their derived features stay.

The open-source tensorflow_model_server cannot log (a logging_config in models.config stops it at start:
tensorflow/serving#408), which is why this runs in front of it (gateway) and inside the embedded server.
"""

from __future__ import annotations

import dataclasses
import datetime
import glob
import logging
import os
import queue
import random
import threading
import time
import uuid
from typing import Callable, List, Mapping, Optional, Sequence

from google.protobuf import text_format

from monitoring import tensors
from monitoring.language import LanguageDetector, shared_detector
from monitoring.log_protos import LoggingConfig, PredictionLog
from serving import record_files

log = logging.getLogger(__name__)
FILE_COLLECTOR = "file"
SUFFIX = ".tfrecord"


class RequestLogConfigError(ValueError):
    """A logging config that cannot be used; the message names the field."""


@dataclasses.dataclass(frozen=True)
class RequestLogSettings:
    """Where and how much to log. `filename_prefix` and `sampling_rate` are TF Serving's LoggingConfig fields."""

    filename_prefix: str
    sampling_rate: float = 1.0
    max_file_bytes: int = 64 << 20
    rotate_seconds: float = 3600.0
    max_total_bytes: int = 1 << 30
    retention_seconds: float = 7 * 24 * 3600.0
    store_raw_text: bool = True
    text_inputs: tuple = ("text",)
    # Calls waiting for the writer thread; past this, calls are counted in `RequestLogger.dropped`, not logged.
    queue_size: int = 10_000

    def __post_init__(self):
        if not self.filename_prefix:
            raise RequestLogConfigError("log_collector_config.filename_prefix is empty")
        if not 0.0 <= self.sampling_rate <= 1.0:
            raise RequestLogConfigError(f"sampling_config.sampling_rate {self.sampling_rate} is not in [0, 1]")
        if self.max_file_bytes <= 0 or self.max_total_bytes < self.max_file_bytes:
            raise RequestLogConfigError("max_file_bytes must be positive and at most max_total_bytes")


def settings_from_monitor_config(config) -> RequestLogSettings:
    """Settings from the RunConfig's `monitor` section (a `monitoring.config.MonitorConfig` with its paths filled
    in by `under(home)`): what the gateway uses."""
    return RequestLogSettings(config.log_prefix, config.sampling_rate, max_file_bytes=config.max_log_file_bytes,
                              max_total_bytes=config.max_log_bytes,
                              retention_seconds=config.log_retention_days * 86400.0,
                              store_raw_text=config.store_raw_text)


def settings_from_logging_config(text: str, **limits) -> RequestLogSettings:
    """Settings from a text-format TF Serving `LoggingConfig` (the limits are keyword arguments).

    Raises:
      RequestLogConfigError: unparsable text, a collector type other than "file", or bad values.
    """
    config = LoggingConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as error:
        raise RequestLogConfigError(f"not a text-format LoggingConfig: {error}") from None
    kind = config.log_collector_config.type or FILE_COLLECTOR
    if kind != FILE_COLLECTOR:
        raise RequestLogConfigError(f"log_collector_config.type {kind!r}: only {FILE_COLLECTOR!r} is available")
    return RequestLogSettings(config.log_collector_config.filename_prefix,
                              config.sampling_config.sampling_rate, **limits)


def settings_from_logging_config_file(path: str, **limits) -> RequestLogSettings:
    """Settings from a file holding a text-format `LoggingConfig` (`--request_logging_config_file` of the
    embedded server and of the gateway).

    Raises:
      RequestLogConfigError: the file cannot be read, or its text is not a usable LoggingConfig.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise RequestLogConfigError(f"cannot read it ({error.strerror or error})") from None
    return settings_from_logging_config(text, **limits)


def log_files(filename_prefix: str) -> List[str]:
    """The request-log files of a prefix, oldest first (names sort by their UTC time)."""
    return sorted(glob.glob(glob.escape(filename_prefix) + "-*" + SUFFIX))


class RequestLogger:
    """Sampled PredictionLogs, written by a background thread so that a request waits for neither the language
    detector nor the disk. `log_predict` is the one call a server or gateway makes; `flush` waits for the queue;
    `close` flushes and closes the file. A full queue drops calls and counts them in `dropped` (with a warning).
    """

    def __init__(self, settings: RequestLogSettings, detector: Optional[LanguageDetector] = None,
                 clock: Callable[[], float] = time.time, sample: Callable[[], float] = random.random):
        self.settings = settings
        self.dropped = 0
        self._detector = detector
        self._clock, self._sample = clock, sample
        self._lock = threading.Lock()
        self._handle = None
        self._path = ""
        self._opened_at = 0.0
        self._sequence = 0
        self._closed = False
        os.makedirs(os.path.dirname(os.path.abspath(settings.filename_prefix)), exist_ok=True)
        self._queue: "queue.Queue" = queue.Queue(settings.queue_size)
        self._worker = threading.Thread(target=self._drain, name="request-log-writer", daemon=True)
        self._worker.start()

    def log_predict(self, model: str, version: int, inputs: Mapping[str, object], outputs: Mapping[str, object],
                    signature: str = "serving_default", request_id: str = "", source: str = "",
                    latency_ms: float = 0.0) -> Optional[str]:
        """Logs one Predict call when it is sampled; returns its request id, or None when not sampled.

        Args:
          model, version, signature: what answered (the version actually used, after label resolution).
          inputs, outputs: tensors by alias, as nested lists or numpy arrays (strings as str or UTF-8 bytes).
          request_id: the caller's id for the request (a new UUID when empty); feedback refers to it.
          source: who logged it ("gateway", "server").
          latency_ms: the call's duration as the logger's caller measured it.
        """
        if self._closed or self.settings.sampling_rate <= 0.0 or self._sample() >= self.settings.sampling_rate:
            return None
        request_id = request_id or uuid.uuid4().hex
        call = (self._clock(), model, version, signature, dict(inputs), dict(outputs), request_id, source, latency_ms)
        try:
            self._queue.put_nowait(call)
        except queue.Full:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("request log %s: writer behind, %d call(s) not logged", self.settings.filename_prefix,
                            self.dropped)
            return None
        return request_id

    def _drain(self) -> None:
        while True:
            call = self._queue.get()
            try:
                if call is None:
                    return
                record = self._record(*call)
                self._write(record.SerializeToString(), call[0])
            except Exception:  # one bad call (an untyped tensor, a full disk) must not stop logging
                log.exception("request log %s: a call could not be logged", self.settings.filename_prefix)
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Waits until every call logged so far is on disk."""
        self._queue.join()

    def _record(self, timestamp, model, version, signature, inputs, outputs, request_id, source,
                latency_ms) -> PredictionLog:
        record = PredictionLog()
        metadata = record.log_metadata
        metadata.model_spec.name, metadata.model_spec.signature_name = model, signature
        metadata.model_spec.version.value = int(version)
        metadata.sampling_config.sampling_rate = self.settings.sampling_rate
        metadata.saved_model_tags.append("serve")
        metadata.timestamp_secs = int(timestamp)
        request, response = record.predict_log.request, record.predict_log.response
        request.model_spec.name, request.model_spec.signature_name = model, signature
        response.model_spec.CopyFrom(metadata.model_spec)
        for alias, value in inputs.items():
            if self.settings.store_raw_text or alias not in self.settings.text_inputs:
                request.inputs[alias].CopyFrom(tensors.tensor_proto(value))
        for alias, value in outputs.items():
            response.outputs[alias].CopyFrom(tensors.tensor_proto(value))
        extra = record.nlp2prod_request
        extra.request_id, extra.source, extra.latency_ms = request_id, source, float(latency_ms)
        extra.raw_text_stored = self.settings.store_raw_text
        texts = _texts_of(inputs, self.settings.text_inputs)
        for text, found in zip(texts, (self._detector or shared_detector()).detect(texts)):
            extra.texts.add(language=found.language, language_confidence=found.confidence,
                            char_count=len(text), word_count=len(text.split()))
        return record

    def _write(self, payload: bytes, now: float) -> None:
        framed_size = len(payload) + 16  # TFRecord framing: length, its CRC, the payload, its CRC
        with self._lock:
            if self._handle is None or self._handle.tell() + framed_size > self.settings.max_file_bytes or \
                    now - self._opened_at >= self.settings.rotate_seconds:
                self._rotate(now)
            record_files.write_record(self._handle, payload)
            self._handle.flush()

    def _rotate(self, now: float) -> None:
        if self._handle is not None:
            self._handle.close()
        stamp = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
        self._sequence += 1
        self._path = f"{self.settings.filename_prefix}-{stamp}-{os.getpid()}-{self._sequence:06d}{SUFFIX}"
        self._handle = open(self._path, "ab")
        self._opened_at = now
        self._enforce_retention(now)

    def _enforce_retention(self, now: float) -> None:
        """Deletes closed files, oldest first, past the age limit or while the total is over the byte limit."""
        closed = [path for path in log_files(self.settings.filename_prefix) if path != self._path]
        sizes = {path: _size(path) for path in closed}
        total = sum(sizes.values()) + _size(self._path)
        for path in closed:
            too_old = now - _mtime(path) > self.settings.retention_seconds
            if too_old or total + self.settings.max_file_bytes > self.settings.max_total_bytes:
                _remove(path)
                total -= sizes[path]

    def close(self) -> None:
        """Writes what is queued, stops the writer and closes the file; later calls are not logged."""
        self._closed = True
        if self._worker.is_alive():
            self._queue.put(None)
            self._worker.join()
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def __enter__(self) -> "RequestLogger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _texts_of(inputs: Mapping[str, object], aliases: Sequence[str]) -> List[str]:
    texts: List[str] = []
    for alias in aliases:
        if alias in inputs:
            _, flat = tensors.flatten(_plain(inputs[alias]))
            texts += [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in flat]
    return texts


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") else value


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _mtime(path: str) -> float:
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass  # another process's retention pass removed it first
