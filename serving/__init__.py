"""A TensorFlow-Serving-compatible model server (gRPC + REST), its client, and version operations.

Never imports tfx, `pipeline` or `components`: a serving host installs only tensorflow, tensorflow-text,
tensorflow-serving-api, grpcio and prometheus-client. Importing this package imports nothing heavy; TensorFlow
loads with `serving.server`, `serving.client` or the data path.

Module map (imports point one way, adapters -> core):
    config.py          the frozen ServerConfig (each flag of `serve` is one of its fields); readers of models.config
                       / batching / monitoring / ssl text protos (protos.py: the upstream protos the wheel lacks)
    errors.py          the error hierarchy (gRPC code + HTTP status per class)
    layout.py          version dirs on disk
    servable.py        one loaded version (signatures, batching) over one of runtimes.py's:
    runtimes.py        TF2 functions, a TF1 Session, the TFLite interpreter
    batching.py        dynamic batching with TF Serving's BatchingParameters
    model_store.py     versions, policies, labels, loading/unloading, availability-preserving transitions
    dataplane.py       protocol-neutral predict / classify / regress / multi-inference / metadata / status,
                       model list, readiness, reload (request_checks.py: its checks on tensors and outputs)
    warmup.py          replay of assets.extra/tf_serving_warmup_requests before AVAILABLE
    metrics.py         Prometheus metrics under TF Serving's names, plus per-version series
    codec.py           TensorProto <-> numpy          rest_codec.py   REST JSON <-> numpy
    grpc_service.py    PredictionService, ModelService, grpc.health.v1 (gRPC adapter)
    profiler_service.py  tensorflow.ProfilerService over TensorFlow's in-process profiler
    grpc_auth.py       API-key check of gRPC calls through the gateway's HTTP key check (--grpc_auth_url)
    rest.py            the /v1 REST API (adapter)      http_server.py  the small HTTP/1.1 server under it
    openapi.py         the OpenAPI description served at /v1/openapi.json
    server.py          composition root: start/stop in-process or from `nlp2prod serve`
    client.py          gRPC and REST clients with timeouts and retries
    rollback.py        label-move planner + config write / reload / audit
    cli.py, version_commands.py   the serve, predict, versions, promote, canary and rollback commands
    deploy/            files for the real tensorflow/serving:2.16.1 (Docker, compose, Kubernetes)
"""

__all__ = ["cli", "client", "config", "errors", "rollback", "server"]
