"""Prometheus metrics under TensorFlow Serving's names, plus the per-version series that TF Serving lacks.

Upstream exports its TF monitoring metrics with `/` turned into `:` (`:tensorflow:serving:request_count`), latency
in microseconds over `Exponential(10, 1.8, 33)` buckets, and counters without a `_total` suffix. The values live
in prometheus_client primitives; `exposition()` writes them in upstream's text layout so dashboards built for
tensorflow_model_server read ours unchanged.
"""

from __future__ import annotations

from typing import Dict, Tuple

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.utils import floatToGoString


def _exponential(scale: float, growth: float, count: int) -> Tuple[float, ...]:
    return tuple(scale * growth ** i for i in range(count - 1)) + (float("inf"),)


_LATENCY_US = _exponential(10, 1.8, 33)
_QUEUING_US = _exponential(100, 1.2, 52)
_SIZES = tuple(float(2 ** i) for i in range(14)) + (float("inf"),)
# prometheus_client drops a `_total` suffix from counter names; upstream keeps this one's.
_NAMES_ENDING_IN_TOTAL = frozenset({":tensorflow:serving:request_example_count"})


class ServingMetrics:
    """The server's metrics; cheap to record from request threads."""

    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=False)
        reg = self.registry
        self._request_count = Counter(
            ":tensorflow:serving:request_count", "The total number of requests.",
            ["model_name", "status"], registry=reg)
        self._request_latency = Histogram(
            ":tensorflow:serving:request_latency",
            "Distribution of wall time (in microseconds) for Tensorflow Serving request.",
            ["model_name", "API", "entrypoint"], buckets=_LATENCY_US, registry=reg)
        self._runtime_latency = Histogram(
            ":tensorflow:serving:runtime_latency",
            "Distribution of wall time (in microseconds) for Tensorflow runtime.",
            ["model_name", "API", "runtime"], buckets=_LATENCY_US, registry=reg)
        self._example_counts = Histogram(
            ":tensorflow:serving:request_example_counts", "The number of tensorflow.Examples per request.",
            ["model"], buckets=_SIZES, registry=reg)
        self._example_count_total = Counter(
            ":tensorflow:serving:request_example_count_total", "The total number of tensorflow.Examples.",
            ["model"], registry=reg)
        self._warmup_latency = Histogram(
            ":tensorflow:serving:model_warmup_latency",
            "Distribution of wall time (in microseconds) for warming up the model.",
            ["model_path", "status"], buckets=_LATENCY_US, registry=reg)
        self._queuing_latency = Histogram(
            ":tensorflow:serving:batching_session:queuing_latency",
            "Distribution of wall time spent (in microseconds) in queuing",
            ["thread_pool_name"], buckets=_QUEUING_US, registry=reg)
        self._input_batch_size = Histogram(
            ":tensorflow:serving:batching_session:input_batch_size",
            "Tracks the batch size distribution on the inputs by model_name (if available).",
            ["model_name"], buckets=_SIZES, registry=reg)
        self._processed_batch_size = Histogram(
            ":tensorflow:serving:batching_session:processed_batch_size",
            "Tracks the batch size distribution on processing by model_name (if available).",
            ["model_name"], buckets=_SIZES, registry=reg)
        self._padding_size = Histogram(
            ":tensorflow:serving:batching_session:padding_size",
            "Tracks the padding size distribution on batches by model_name (if available).",
            ["model_name"], buckets=_SIZES, registry=reg)
        self._version_request_count = Counter(
            ":nlp2prod:serving:version_request_count", "Requests per model version (a TF Serving gap).",
            ["model_name", "version", "status"], registry=reg)
        self._version_request_latency = Histogram(
            ":nlp2prod:serving:version_request_latency",
            "Distribution of wall time (in microseconds) per model version and API.",
            ["model_name", "version", "API", "entrypoint"], buckets=_LATENCY_US, registry=reg)
        self._children: Dict[tuple, object] = {}

    def _child(self, metric, *labels):
        # A plain dict read is atomic under the GIL; the labelled child is created once per label tuple.
        key = (id(metric),) + labels
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def record_request(self, model: str, version: int, api: str, entrypoint: str, status: str,
                       seconds: float) -> None:
        """One finished request (any outcome); `version` is 0 when the request never reached a version."""
        micros = seconds * 1e6
        self._child(self._request_count, model, status).inc()
        self._child(self._request_latency, model, api, entrypoint).observe(micros)
        if version:
            self._child(self._version_request_count, model, str(version), status).inc()
            self._child(self._version_request_latency, model, str(version), api, entrypoint).observe(micros)

    def record_runtime(self, model: str, api: str, seconds: float) -> None:
        self._child(self._runtime_latency, model, api, "TF2").observe(seconds * 1e6)

    def record_examples(self, model: str, count: int) -> None:
        self._child(self._example_counts, model).observe(count)
        self._child(self._example_count_total, model).inc(count)

    def record_warmup(self, model_path: str, status: str, seconds: float) -> None:
        self._child(self._warmup_latency, model_path, status).observe(seconds * 1e6)

    def record_batch(self, model: str, pool: str, queued_seconds, input_size: int, padded_size: int) -> None:
        """One executed batch: each task's queueing time, the real rows and the rows after padding."""
        queuing = self._child(self._queuing_latency, pool)
        for seconds in queued_seconds:
            queuing.observe(seconds * 1e6)
        self._child(self._input_batch_size, model).observe(input_size)
        self._child(self._processed_batch_size, model).observe(padded_size)
        self._child(self._padding_size, model).observe(padded_size - input_size)

    def exposition(self) -> bytes:
        """The Prometheus text page in tensorflow_model_server's layout."""
        lines = []
        for family in self.registry.collect():
            counter_name = family.name + ("_total" if family.name in _NAMES_ENDING_IN_TOTAL else "")
            lines.append(f"# TYPE {counter_name} {family.type}")
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                name = counter_name if family.type == "counter" else sample.name
                labels = ",".join(f'{key}="{_escape(value)}"' for key, value in sample.labels.items())
                lines.append(f"{name}{{{labels}}} {floatToGoString(sample.value)}")
        return ("\n".join(lines) + "\n").encode("utf-8")

    def sample_value(self, name: str, **labels) -> float:
        """The current value of one sample (tests and the `versions` command read metrics through this)."""
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
