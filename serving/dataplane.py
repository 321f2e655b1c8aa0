"""The protocol-neutral core: predict, classify, regress, multi-inference, metadata and status on numpy data.

The gRPC and REST adapters decode their wire format into these calls and encode the results; everything that
both protocols must agree on lives here once: addressing (model, version or label, signature), input validation
(presence, dtype, UTF-8 and size limits; shapes are the graph's to judge, as upstream, but for the degenerate
ones that abort kernels, see `request_checks.check_degenerate_shape`), deadlines, the request metrics, and the
model-management calls (status, listing, readiness, reload, availability). `*_on` methods run against one given
version without routing or metrics; warmup uses them.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from tensorflow.core.framework import types_pb2

from serving import codec, request_checks
from serving.errors import DeadlineExceeded, InvalidArgument, ServingError
from serving.metrics import ServingMetrics
from serving.config import ServedModel
from serving.model_store import ModelStore, State, VersionStatus
from serving.servable import CLASSIFY_METHOD, REGRESS_METHOD, Servable, Signature

Arrays = Dict[str, np.ndarray]
MAX_ELEMENTS_PER_ROW = 1 << 16  # a generous sequence length times a feature width
Inputs = Union[Mapping[str, np.ndarray], Callable[[Signature], Mapping[str, np.ndarray]]]


@dataclasses.dataclass(frozen=True)
class ModelRef:
    """What a request addresses: a model, optionally a version or a label, and a signature ("" = default)."""

    name: str
    version: Optional[int] = None
    label: Optional[str] = None
    signature: str = ""


@dataclasses.dataclass(frozen=True)
class Limits:
    max_request_batch: int = 1024
    utf8_string_inputs: Tuple[str, ...] = ("text",)
    max_request_bytes: int = 16 * 1024 * 1024

    @property
    def max_tensor_elements(self) -> int:
        """The most elements one request tensor may have. A tensor spelled out value by value takes at least a
        byte per element on the wire, so a broadcast one may not grow past what the byte limit admits, nor past
        `max_request_batch` rows of `MAX_ELEMENTS_PER_ROW`."""
        return min(self.max_request_bytes, self.max_request_batch * MAX_ELEMENTS_PER_ROW)


@dataclasses.dataclass(frozen=True)
class ModelSummary:
    """One configured model as the model list shows it."""

    name: str
    labels: Dict[str, int]
    versions: List[VersionStatus]


@dataclasses.dataclass(frozen=True)
class Result:
    """An answer plus the version and signature that produced it (the response's model_spec)."""

    model: str
    version: int
    signature: str
    value: object


class DataPlane:
    """The calls both protocols make. `method_name_check` is `--enable_signature_method_name_check`: off (the
    default, as upstream), Classify/Regress run any signature whose structure fits (one DT_STRING input of
    serialized tf.Examples; `classes`/`scores` or `outputs`), so TF2 exports marked predict serve them too."""

    def __init__(self, store: ModelStore, metrics: ServingMetrics, limits: Limits = Limits(),
                 method_name_check: bool = False):
        self.store, self.metrics, self.limits = store, metrics, limits
        self.method_name_check = method_name_check

    # ---- routed, metered calls -----------------------------------------------------------------------------
    def predict(self, ref: ModelRef, inputs: Inputs, output_filter: Sequence[str] = (),
                deadline: Optional[float] = None, entrypoint: str = "GRPC") -> Result:
        """Runs a signature; `inputs` may be a function of the signature (REST decodes JSON by its dtypes)."""
        return self._serve(ref, "predict", entrypoint, lambda servable: self.predict_on(
            servable, ref.signature, inputs, output_filter, deadline))

    def classify(self, ref: ModelRef, examples: Sequence[bytes], deadline: Optional[float] = None,
                 entrypoint: str = "GRPC") -> Result:
        """`value`: per example, a list of (label, score)."""
        return self._serve(ref, "classify", entrypoint,
                           lambda servable: self.classify_on(servable, ref.signature, examples, deadline))

    def regress(self, ref: ModelRef, examples: Sequence[bytes], deadline: Optional[float] = None,
                entrypoint: str = "GRPC") -> Result:
        """`value`: one float per example."""
        return self._serve(ref, "regress", entrypoint,
                           lambda servable: self.regress_on(servable, ref.signature, examples, deadline))

    def multi_inference(self, tasks: Sequence[Tuple[ModelRef, str]], examples: Sequence[bytes],
                        deadline: Optional[float] = None, entrypoint: str = "GRPC") -> List[Result]:
        """Several classify/regress signatures of one version on the same examples."""
        if not tasks:
            raise InvalidArgument("MultiInferenceRequest has no tasks")
        first = tasks[0][0]
        if any((ref.name, ref.version, ref.label) != (first.name, first.version, first.label) for ref, _ in tasks):
            raise InvalidArgument("All ModelSpecs in a MultiInferenceRequest must access the same model name "
                                  "and version")
        signatures = [ref.signature or "serving_default" for ref, _ in tasks]
        duplicates = sorted({s for s in signatures if signatures.count(s) > 1})
        if duplicates:
            raise InvalidArgument(f"Duplicate evaluation of signature: {duplicates[0]}")
        return self._serve(first, "multi_inference", entrypoint,
                           lambda servable: self.multi_inference_on(servable, tasks, examples, deadline))

    def metadata(self, ref: ModelRef) -> Result:
        """`value`: the SignatureDef map of the addressed version."""
        with self.store.acquire(ref.name, ref.version, ref.label) as servable:
            return Result(servable.name, servable.version, "", servable.signature_defs)

    def status(self, ref: ModelRef) -> List[VersionStatus]:
        return self.store.status(ref.name, ref.version, ref.label)

    # ---- model management ----------------------------------------------------------------------------------
    def models(self) -> List[ModelSummary]:
        """Every configured model with its labels and known versions (none yet for one with nothing on disk)."""
        summaries = []
        for name in self.store.model_names():
            try:
                versions = self.store.status(name)
            except ServingError:
                versions = []
            summaries.append(ModelSummary(name, self.store.labels(name), versions))
        return summaries

    def readiness(self) -> Tuple[bool, Dict[str, str]]:
        """Whether every configured model is AVAILABLE, and per model AVAILABLE, LOADING, NOT_AVAILABLE or
        NO_VERSIONS."""
        states = {summary.name: _readiness_state(summary.versions) for summary in self.models()}
        return all(state == "AVAILABLE" for state in states.values()), states

    def reload(self, models: Sequence[ServedModel]) -> None:
        """Replaces the whole model list (HandleReloadConfigRequest)."""
        self.store.reload(models)

    def watch_availability(self, listener: Callable[[Dict[str, bool]], None]) -> None:
        """Calls `listener({model: has an AVAILABLE version})` now and on every change (see ModelStore)."""
        self.store.watch_availability(listener)

    def _serve(self, ref: ModelRef, api: str, entrypoint: str, call: Callable[[Servable], Result]):
        started, version, status = time.perf_counter(), 0, "OK"
        try:
            _check_ref(ref)
            with self.store.acquire(ref.name, ref.version, ref.label) as servable:
                version = servable.version
                return call(servable)
        except ServingError as error:
            status = error.code_name
            raise
        finally:
            self.metrics.record_request(ref.name, version, api, entrypoint, status, time.perf_counter() - started)

    # ---- calls on one version ------------------------------------------------------------------------------
    def predict_on(self, servable: Servable, signature_key: str, inputs: Inputs,
                   output_filter: Sequence[str] = (), deadline: Optional[float] = None) -> Result:
        signature = servable.signature(signature_key)
        arrays = inputs(signature) if callable(inputs) else inputs
        self._validate(servable, signature, arrays)
        outputs = self._execute(servable, signature, arrays, deadline, "Predict")
        if output_filter:
            unknown = [alias for alias in output_filter if alias not in outputs]
            if unknown:
                raise InvalidArgument(f"output tensor alias not found in signature: {unknown[0]} Outputs expected "
                                      f"to be in the set {{{','.join(sorted(outputs))}}}.")
            outputs = {alias: outputs[alias] for alias in output_filter}
        return Result(servable.name, servable.version, signature.key, outputs)

    def classify_on(self, servable: Servable, signature_key: str, examples: Sequence[bytes],
                    deadline: Optional[float] = None) -> Result:
        signature, outputs = self._run_examples(servable, signature_key, examples, CLASSIFY_METHOD, "Classify",
                                                deadline)
        classes, scores = outputs.get("classes"), outputs.get("scores")
        if classes is None and scores is None:
            raise InvalidArgument(f"Expected classification signature outputs to contain at least one of "
                                  f"\"classes\" or \"scores\" ({servable.label}, signature {signature.key})")
        rows = request_checks.classifications(classes, scores, len(examples), servable.label)
        return Result(servable.name, servable.version, signature.key, rows)

    def regress_on(self, servable: Servable, signature_key: str, examples: Sequence[bytes],
                   deadline: Optional[float] = None) -> Result:
        signature, outputs = self._run_examples(servable, signature_key, examples, REGRESS_METHOD, "Regress",
                                                deadline)
        values = outputs.get("outputs")
        if values is None or values.reshape(-1).shape[0] != len(examples):
            raise InvalidArgument(f"Expected regression output 'outputs' of shape [batch_size] or [batch_size, 1] "
                                  f"({servable.label}, signature {signature.key})")
        return Result(servable.name, servable.version, signature.key, [float(v) for v in values.reshape(-1)])

    def multi_inference_on(self, servable: Servable, tasks: Sequence[Tuple[ModelRef, str]],
                           examples: Sequence[bytes], deadline: Optional[float] = None) -> List[Result]:
        results = []
        for ref, method in tasks:
            if method == CLASSIFY_METHOD:
                results.append(self.classify_on(servable, ref.signature, examples, deadline))
            elif method == REGRESS_METHOD:
                results.append(self.regress_on(servable, ref.signature, examples, deadline))
            else:
                raise InvalidArgument(f"Unsupported signature method_name: {method!r}; MultiInference runs "
                                      f"{CLASSIFY_METHOD} and {REGRESS_METHOD}")
        return results

    # ---- shared steps --------------------------------------------------------------------------------------
    def _run_examples(self, servable: Servable, signature_key: str, examples: Sequence[bytes], method: str,
                      api: str, deadline: Optional[float]):
        signature = servable.signature(signature_key)
        kind = "classification" if method == CLASSIFY_METHOD else "regression"
        where = f"({servable.label}, signature {signature.key})"
        if self.method_name_check and signature.method_name != method:
            raise InvalidArgument(f"Expected {kind} signature method_name to be {method}. Was: "
                                  f"{signature.method_name} {where}")
        if len(signature.inputs) != 1:
            raise InvalidArgument(f"Expected one input Tensor {where}")
        (spec,) = signature.inputs.values()
        if spec.dtype_enum != types_pb2.DT_STRING:
            raise InvalidArgument(f"Expected {kind} signature input of serialized tf.Examples (DT_STRING), got "
                                  f"{codec.dtype_name(spec.dtype_enum)} {where}")
        wanted = ("classes", "scores") if method == CLASSIFY_METHOD else ("outputs",)
        if not set(wanted) & set(signature.outputs):
            raise InvalidArgument(f"Expected {kind} signature outputs to contain {' or '.join(repr(w) for w in wanted)}"
                                  f"; it has {', '.join(sorted(signature.outputs))} {where}")
        if not examples:
            raise InvalidArgument(f"Input is empty. ({servable.label})")
        self._check_batch(len(examples), servable)
        array = np.empty(len(examples), dtype=object)
        array[:] = list(examples)
        (alias,) = signature.inputs
        self.metrics.record_examples(servable.name, len(examples))
        return signature, self._execute(servable, signature, {alias: array}, deadline, api)

    def _execute(self, servable: Servable, signature: Signature, arrays: Mapping[str, np.ndarray],
                 deadline: Optional[float], api: str) -> Arrays:
        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlineExceeded(f"deadline exceeded before {servable.label} ran")
        started = time.perf_counter()
        outputs = servable.execute(signature.key, arrays, deadline)
        self.metrics.record_runtime(servable.name, api, time.perf_counter() - started)
        return outputs

    def _check_batch(self, size: int, servable: Servable) -> None:
        if size > self.limits.max_request_batch:
            raise InvalidArgument(f"batch of {size} exceeds the limit of {self.limits.max_request_batch} per "
                                  f"request ({servable.label})")

    def _validate(self, servable: Servable, signature: Signature, arrays: Mapping[str, np.ndarray]) -> None:
        expected, given = set(signature.inputs), set(arrays)
        if expected != given:
            raise InvalidArgument(
                f"input size does not match signature: {len(given)}!={len(expected)} len({{{','.join(sorted(given))}"
                f"}}) != len({{{','.join(sorted(expected))}}}). Sent extra: {{{','.join(sorted(given - expected))}}}"
                f". Missing but required: {{{','.join(sorted(expected - given))}}}. ({servable.label}, signature "
                f"{signature.key})")
        for alias, array in arrays.items():
            spec = signature.inputs[alias]
            where = f"input '{alias}' of {servable.label}, signature {signature.key}"
            if codec.dtype_enum(array) != spec.dtype_enum:
                raise InvalidArgument(f"{where} expects {codec.dtype_name(spec.dtype_enum)}, got "
                                      f"{codec.dtype_name(codec.dtype_enum(array))}")
            if array.ndim:
                self._check_batch(array.shape[0], servable)
            request_checks.check_degenerate_shape(array.shape, spec.shape, where)
            if array.dtype == object and alias in self.limits.utf8_string_inputs:
                request_checks.check_utf8(array, where)


def _readiness_state(versions: Sequence[VersionStatus]) -> str:
    states = {status.state for status in versions}
    if State.AVAILABLE in states:
        return "AVAILABLE"
    if not states:
        return "NO_VERSIONS"
    return "LOADING" if states & {State.START, State.LOADING} else "NOT_AVAILABLE"


def _check_ref(ref: ModelRef) -> None:
    if not ref.name:
        raise InvalidArgument("Missing model name in request.")
    if ref.version is not None and ref.label:
        raise InvalidArgument(f"Both model version ({ref.version}) and model version label ({ref.label}) cannot "
                              "be supplied.")
