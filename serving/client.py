"""Python clients for a TF-Serving-compatible server (ours or tensorflow_model_server): gRPC and REST.

Both speak only TF Serving's public API, with a timeout per call and retries with exponential backoff while the
server answers UNAVAILABLE (starting, batching queue full) or cannot be reached. Failures raise the
`serving.errors` class of the status code, with the server's message.
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
import tensorflow as tf
from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2, model_management_pb2,
                                     model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc)
from tensorflow_serving.config import model_server_config_pb2

from serving.errors import ServingError, Unavailable, from_code

T = TypeVar("T")
_RETRIED = (grpc.StatusCode.UNAVAILABLE,)


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
        self.prediction = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(self._channel)

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
        request = predict_pb2.PredictRequest()
        _fill_spec(request.model_spec, model, version, label, signature)
        request.inputs["text"].CopyFrom(tf.make_tensor_proto([t.encode("utf-8") for t in texts], dtype=tf.string))
        response = self.call(self.prediction.Predict, request)
        labels = [value.decode("utf-8") for value in tf.make_ndarray(response.outputs["label"]).tolist()]
        return TextPredictions(response.model_spec.version.value, labels,
                               tf.make_ndarray(response.outputs["probabilities"]))

    def model_status(self, model: str, version: Optional[int] = None) -> List[VersionState]:
        request = get_model_status_pb2.GetModelStatusRequest()
        _fill_spec(request.model_spec, model, version, None, "")
        response = self.call(self.models.GetModelStatus, request)
        names = get_model_status_pb2.ModelVersionStatus.State
        return [VersionState(s.version, names.Name(s.state), s.status.error_message)
                for s in response.model_version_status]

    def metadata(self, model: str, version: Optional[int] = None) -> get_model_metadata_pb2.GetModelMetadataResponse:
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        _fill_spec(request.model_spec, model, version, None, "")
        return self.call(self.prediction.GetModelMetadata, request)

    def reload_config(self, config: model_server_config_pb2.ModelServerConfig) -> None:
        """HandleReloadConfigRequest; raises when the server refuses the config."""
        response = self.call(self.models.HandleReloadConfigRequest,
                             model_management_pb2.ReloadConfigRequest(config=config))
        if response.status.error_code:
            raise from_code(response.status.error_code, f"{self.target}: {response.status.error_message}")

    def close(self) -> None:
        self._channel.close()


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
