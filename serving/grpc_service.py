"""The gRPC adapter: TF Serving's PredictionService and ModelService, and grpc.health.v1, over the data plane.

Each method decodes its request into data-plane calls and encodes the answer; a `ServingError` becomes the
status code and details it carries (the one mapping of errors for gRPC). The gRPC deadline of a call becomes the
data plane's deadline.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Callable, Dict, Optional

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                     inference_pb2, model_management_pb2, model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc, regression_pb2)

from serving import codec, config as config_lib
from serving.dataplane import DataPlane, ModelRef, Result
from serving.errors import InvalidArgument, ServingError

log = logging.getLogger(__name__)
_SERVING, _NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def _rpc(method: Callable) -> Callable:
    @functools.wraps(method)
    def handler(self, request, context: grpc.ServicerContext):
        try:
            return method(self, request, context)
        except ServingError as error:
            context.abort(error.grpc_code, error.message)
        except grpc.RpcError:
            raise
        except Exception as error:  # a bug must answer INTERNAL and leave the server up
            log.exception("%s failed", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, f"internal error in {method.__name__}: {error}")
    return handler


def _deadline(context: grpc.ServicerContext) -> Optional[float]:
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


def model_ref(spec) -> ModelRef:
    """A ModelSpec as the data plane's address."""
    choice = spec.WhichOneof("version_choice")
    return ModelRef(spec.name, spec.version.value if choice == "version" else None,
                    spec.version_label if choice == "version_label" else None, spec.signature_name)


def _fill_spec(spec, result: Result) -> None:
    spec.name = result.model
    spec.version.value = result.version
    if result.signature:
        spec.signature_name = result.signature


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, plane: DataPlane, tensor_content: bool = False):
        self._plane, self._tensor_content = plane, tensor_content

    @_rpc
    def Predict(self, request, context):
        limit = self._plane.limits.max_tensor_elements
        result = self._plane.predict(
            model_ref(request.model_spec),
            lambda _: {name: codec.to_ndarray(tensor, name, limit) for name, tensor in request.inputs.items()},
            output_filter=list(request.output_filter), deadline=_deadline(context), entrypoint="GRPC")
        response = predict_pb2.PredictResponse()
        _fill_spec(response.model_spec, result)
        for name, array in result.value.items():
            codec.fill_tensor_proto(response.outputs[name], array, self._tensor_content)
        return response

    @_rpc
    def Classify(self, request, context):
        result = self._plane.classify(model_ref(request.model_spec), codec.examples_from_input(request.input),
                                      _deadline(context), "GRPC")
        response = classification_pb2.ClassificationResponse()
        _fill_spec(response.model_spec, result)
        _fill_classifications(response.result, result.value)
        return response

    @_rpc
    def Regress(self, request, context):
        result = self._plane.regress(model_ref(request.model_spec), codec.examples_from_input(request.input),
                                     _deadline(context), "GRPC")
        response = regression_pb2.RegressionResponse()
        _fill_spec(response.model_spec, result)
        response.result.regressions.extend(regression_pb2.Regression(value=v) for v in result.value)
        return response

    @_rpc
    def MultiInference(self, request, context):
        tasks = [(model_ref(task.model_spec), task.method_name) for task in request.tasks]
        results = self._plane.multi_inference(tasks, codec.examples_from_input(request.input),
                                              _deadline(context), "GRPC")
        response = inference_pb2.MultiInferenceResponse()
        for (_, method), result in zip(tasks, results):
            entry = response.results.add()
            _fill_spec(entry.model_spec, result)
            if method.endswith("classify"):
                _fill_classifications(entry.classification_result, result.value)
            else:
                entry.regression_result.regressions.extend(regression_pb2.Regression(value=v) for v in result.value)
        return response

    @_rpc
    def GetModelMetadata(self, request, context):
        fields = list(request.metadata_field)
        if fields != ["signature_def"]:
            raise InvalidArgument(f"Metadata field(s) {fields or '(none)'} not supported; request "
                                  "metadata_field: \"signature_def\"")
        result = self._plane.metadata(model_ref(request.model_spec))
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = result.model
        response.model_spec.version.value = result.version
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for key, signature_def in result.value.items():
            signature_map.signature_def[key].CopyFrom(signature_def)
        response.metadata["signature_def"].Pack(signature_map)
        return response


def _fill_classifications(target: classification_pb2.ClassificationResult, rows) -> None:
    for row in rows:
        classes = target.classifications.add().classes
        for label, score in row:
            classes.add(label=label, score=score)


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, plane: DataPlane):
        self._plane = plane

    @_rpc
    def GetModelStatus(self, request, context):
        if not request.HasField("model_spec"):
            raise InvalidArgument("Missing ModelSpec")
        ref = model_ref(request.model_spec)
        response = get_model_status_pb2.GetModelStatusResponse()
        for status in self._plane.status(ref):
            entry = response.model_version_status.add(version=status.version, state=status.state.value)
            if status.error is not None:
                entry.status.error_code = status.error.grpc_code.value[0]
                entry.status.error_message = status.error.message
        return response

    def HandleReloadConfigRequest(self, request, context):
        # Upstream answers with the status in the body *and* as the call's status.
        response = model_management_pb2.ReloadConfigResponse()
        try:
            if request.config.WhichOneof("config") != "model_config_list":
                raise InvalidArgument("ServerModelConfig type not supported by HandleReloadConfigRequest. Only "
                                      "ModelConfigList is currently supported")
            self._plane.reload(config_lib.served_models(request.config, "HandleReloadConfigRequest"))
        except ServingError as error:
            _refuse(response, context, error.grpc_code, error.message)
        except Exception as error:  # a bug must answer INTERNAL and leave the server up
            log.exception("HandleReloadConfigRequest failed")
            _refuse(response, context, grpc.StatusCode.INTERNAL,
                    f"internal error in HandleReloadConfigRequest: {error}")
        return response


def _refuse(response, context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> None:
    response.status.error_code = code.value[0]
    response.status.error_message = message
    context.set_code(code)
    context.set_details(message)


class ModelHealth:
    """grpc.health.v1 through grpc_health's `HealthServicer`: each model name is SERVING while it has an AVAILABLE
    version, "" once every configured model has one; a model dropped from the config turns NOT_SERVING. Statuses
    follow the data plane's availability as it changes; `shutdown()` turns every one NOT_SERVING for good."""

    def __init__(self, plane: DataPlane):
        self.servicer = health.HealthServicer()
        self._statuses: Dict[str, int] = {}
        plane.watch_availability(self._update)

    def _update(self, available: Dict[str, bool]) -> None:
        statuses = {name: _SERVING if up else _NOT_SERVING for name, up in available.items()}
        statuses.update({name: _NOT_SERVING for name in self._statuses if name and name not in available})
        statuses[""] = _SERVING if all(available.values()) else _NOT_SERVING
        for name, status in statuses.items():
            if self._statuses.get(name) != status:
                self.servicer.set(name, status)
        self._statuses = statuses

    def shutdown(self) -> None:
        self.servicer.enter_graceful_shutdown()


def add_services(server: grpc.Server, plane: DataPlane, tensor_content: bool,
                 with_health: bool) -> Optional[ModelHealth]:
    """Registers the services on `server`; returns the health service when `with_health` asks for one."""
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(plane, tensor_content), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(plane), server)
    if not with_health:
        return None
    model_health = ModelHealth(plane)
    health_pb2_grpc.add_HealthServicer_to_server(model_health.servicer, server)
    return model_health
