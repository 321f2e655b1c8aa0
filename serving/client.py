"""Python clients for a TF-Serving-compatible server (ours or tensorflow_model_server): gRPC and REST.

Both speak only TF Serving's public API, with a timeout per call and retries with exponential backoff while the
server answers UNAVAILABLE (starting, batching queue full) or cannot be reached. Failures raise the
`serving.errors` class of the status code, with the server's message. Neither imports TensorFlow: the gRPC
messages come from `serving.wire_protos`, so a client command starts in a fraction of a second.
"""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, List, Optional, Sequence, TypeVar

import grpc
import numpy as np
from tensorflow_serving.config import model_server_config_pb2

from serving import wire_protos
from serving.errors import ServingError, Unavailable, from_code

T = TypeVar("T")
_RETRIED = (grpc.StatusCode.UNAVAILABLE,)
_DT_STRING = 7  # tensorflow.DataType
_NUMPY_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64}  # DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64
_VALUE_FIELDS = {1: "float_val", 2: "double_val", 3: "int_val", 9: "int64_val"}


@dataclasses.dataclass(frozen=True)
class TextPredictions:
    """Predictions for a batch of texts, and the version that made them (REST does not say: 0)."""

    version: int
    labels: List[str]
    probabilities: np.ndarray  # [len(texts), K]


@dataclasses.dataclass(frozen=True)
class VersionState:
    version: int
    state: str
    error: str = ""


def _with_retries(call: Callable[[], T], retries: int, backoff: float, retriable: Callable[[Exception], bool]) -> T:
    for attempt in range(retries + 1):
        try:
            return call()
        except Exception as error:
            if attempt == retries or not retriable(error):
                raise
            time.sleep(backoff * 2 ** attempt)
    raise AssertionError("unreachable")


class GrpcClient:
    """PredictionService + ModelService over one channel."""

    def __init__(self, target: str, timeout: float = 10.0, retries: int = 3, backoff: float = 0.1):
        self.target, self.timeout, self.retries, self.backoff = target, timeout, retries, backoff
        self._channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", -1)])
        prediction, models = "tensorflow.serving.PredictionService", "tensorflow.serving.ModelService"
        self._predict = wire_protos.rpc(self._channel, prediction, "Predict")
        self._get_metadata = wire_protos.rpc(self._channel, prediction, "GetModelMetadata")
        self._get_status = wire_protos.rpc(self._channel, models, "GetModelStatus")
        self._reload = wire_protos.rpc(self._channel, models, "HandleReloadConfigRequest")

    def call(self, method: Callable, request):
        """One RPC with the client's timeout and retries; gRPC errors become `ServingError`s."""
        def once():
            return method(request, timeout=self.timeout)
        try:
            return _with_retries(once, self.retries, self.backoff,
                                 lambda e: isinstance(e, grpc.RpcError) and e.code() in _RETRIED)
        except grpc.RpcError as error:
            raise from_code(error.code().value[0], f"{self.target}: {error.details()}") from None

    def predict_texts(self, model: str, texts: Sequence[str], version: Optional[int] = None,
                      label: Optional[str] = None, signature: str = "serving_default") -> TextPredictions:
        request = wire_protos.message("tensorflow.serving.PredictRequest")()
        _fill_spec(request.model_spec, model, version, label, signature)
        tensor = request.inputs["text"]
        tensor.dtype = _DT_STRING
        tensor.tensor_shape.dim.add(size=len(texts))
        tensor.string_val.extend(t.encode("utf-8") for t in texts)
        response = self.call(self._predict, request)
        labels = [value.decode("utf-8") for value in response.outputs["label"].string_val]
        return TextPredictions(response.model_spec.version.value, labels,
                               tensor_to_array(response.outputs["probabilities"]))

    def model_status(self, model: str, version: Optional[int] = None) -> List[VersionState]:
        request = wire_protos.message("tensorflow.serving.GetModelStatusRequest")()
        _fill_spec(request.model_spec, model, version, None, "")
        response = self.call(self._get_status, request)
        return [VersionState(s.version, wire_protos.enum_name("tensorflow.serving.ModelVersionStatus.State", s.state),
                             s.status.error_message) for s in response.model_version_status]

    def metadata(self, model: str, version: Optional[int] = None):
        """GetModelMetadata (signature_def) as a `tensorflow.serving.GetModelMetadataResponse` message."""
        request = wire_protos.message("tensorflow.serving.GetModelMetadataRequest")(metadata_field=["signature_def"])
        _fill_spec(request.model_spec, model, version, None, "")
        return self.call(self._get_metadata, request)

    def reload_config(self, config: model_server_config_pb2.ModelServerConfig) -> None:
        """HandleReloadConfigRequest; raises when the server refuses the config."""
        request = wire_protos.message("tensorflow.serving.ReloadConfigRequest")()
        request.config.ParseFromString(config.SerializeToString())
        response = self.call(self._reload, request)
        if response.status.error_code:
            raise from_code(response.status.error_code, f"{self.target}: {response.status.error_message}")

    def close(self) -> None:
        self._channel.close()


def tensor_to_array(tensor) -> np.ndarray:
    """A numeric TensorProto as a numpy array (packed `tensor_content` or the typed value field)."""
    dtype = _NUMPY_DTYPES.get(tensor.dtype)
    if dtype is None:
        raise ServingError(f"unexpected output dtype {tensor.dtype} (expected a float or integer tensor)")
    shape = [dim.size for dim in tensor.tensor_shape.dim]
    if tensor.tensor_content:
        values = np.frombuffer(tensor.tensor_content, dtype=dtype)
    else:
        values = np.asarray(getattr(tensor, _VALUE_FIELDS[tensor.dtype]), dtype=dtype)
        if values.size == 1 and int(np.prod(shape)) > 1:  # a single value stands for all (TF's convention)
            values = np.full(int(np.prod(shape)), values[0], dtype=dtype)
    return values.reshape(shape)


def _fill_spec(spec, model: str, version: Optional[int], label: Optional[str], signature: str) -> None:
    spec.name = model
    if version is not None:
        spec.version.value = version
    elif label:
        spec.version_label = label
    if signature:
        spec.signature_name = signature


class RestClient:
    """TF Serving's REST API (JSON over HTTP)."""

    def __init__(self, base_url: str, timeout: float = 10.0, retries: int = 3, backoff: float = 0.1):
        self.base_url, self.timeout, self.retries, self.backoff = base_url.rstrip("/"), timeout, retries, backoff

    def request(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        """One call; a non-200 answer raises the error class of its HTTP status with the server's message."""
        data = None if body is None else json.dumps(body).encode("utf-8")

        def once():
            request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        try:
            return _with_retries(once, self.retries, self.backoff, _retriable_http)
        except urllib.error.HTTPError as error:
            raise _http_error(error) from None
        except (urllib.error.URLError, OSError) as error:
            raise Unavailable(f"{self.base_url}: {getattr(error, 'reason', error)}") from None

    def predict_texts(self, model: str, texts: Sequence[str], version: Optional[int] = None,
                      label: Optional[str] = None, signature: str = "serving_default") -> TextPredictions:
        answer = self.request("POST", _model_path(model, version, label) + ":predict",
                              {"signature_name": signature, "instances": list(texts)})
        rows = answer["predictions"]
        return TextPredictions(0, [row["label"] for row in rows],
                               np.array([row["probabilities"] for row in rows], dtype=np.float32))

    def model_status(self, model: str, version: Optional[int] = None) -> List[VersionState]:
        answer = self.request("GET", _model_path(model, version, None))
        return [VersionState(int(s["version"]), s["state"], s.get("status", {}).get("error_message", ""))
                for s in answer["model_version_status"]]


def _model_path(model: str, version: Optional[int], label: Optional[str]) -> str:
    path = "/v1/models/" + urllib.parse.quote(model, safe="")
    if version is not None:
        return f"{path}/versions/{version}"
    if label:
        return f"{path}/labels/{urllib.parse.quote(label, safe='')}"
    return path


def _retriable_http(error: Exception) -> bool:
    if isinstance(error, urllib.error.HTTPError):
        return error.code == 503
    return isinstance(error, (urllib.error.URLError, ConnectionError))


def _http_error(error: urllib.error.HTTPError) -> ServingError:
    try:
        message = json.loads(error.read()).get("error", "")
    except (ValueError, AttributeError):
        message = error.reason
    codes = {400: 3, 404: 5, 413: 8, 429: 8, 501: 12, 503: 14, 504: 4}
    return from_code(codes.get(error.code, 13), f"HTTP {error.code}: {message}")
