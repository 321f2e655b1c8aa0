"""The key check for gRPC: Envoy's ext_authz (HTTP service) and the embedded server's interceptor both call it.

    ANY /v1/authz/<gRPC method path>, e.g. /v1/authz/tensorflow.serving.PredictionService/Predict
    with the caller's `authorization` header  ->  200 (header x-n2p-key-id) | 401 | 403 | 429 (+Retry-After)

Envoy appends the original request path to its `path_prefix` (`/v1/authz`) and forwards the `authorization`
header; `nlp2prod serve --grpc_auth_url=http://gateway:8080/v1/authz` does the same for each call. The scope
comes from the method (Predict/Classify/Regress/MultiInference: predict; GetModelMetadata/GetModelStatus: read;
HandleReloadConfigRequest: admin); grpc.health.v1 needs no key. Each allowed call counts as one request.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gateway.auth import scope_of_grpc_method

__all__ = ["router"]

router = APIRouter(tags=["gRPC authorization (Envoy ext_authz)"])


async def check(request: Request, method: str) -> Response:
    gateway = request.app.state.gateway
    scope = scope_of_grpc_method("/" + method)
    if scope is None:
        return Response(status_code=200)
    record = await gateway.admit(request.headers.get("authorization"), scope)
    gateway.meter.record(record.key_id)
    return Response(status_code=200, headers={"x-n2p-key-id": record.key_id})


for _verb in ("GET", "POST"):
    router.add_api_route("/v1/authz/{method:path}", check, methods=[_verb], operation_id=f"authz_{_verb.lower()}",
                         summary="Allow or refuse one gRPC call (Envoy ext_authz, `nlp2prod serve --grpc_auth_url`)")
