"""The token-managed API gateway in front of any TensorFlow Serving REST endpoint. Imports no TensorFlow.

Module map (routers -> service -> store):
    settings.py   the frozen GatewaySettings        errors.py   the error hierarchy (HTTP status + gRPC code)
    keys.py       key format, HMAC digest, scopes (standard library only)
    store.py      keys and usage in SQLite or PostgreSQL (SQLAlchemy 2 Core)
    auth.py       key checks with a short cache      quotas.py   per-key token buckets
    metering.py   usage counts, flushed to the store audit.py    the JSONL audit log
    backend.py    the pooled aiohttp client to TF Serving REST
    service.py    the parts of one process and the admission step (key, scope, quota)
    proxy.py      TF Serving's REST paths            classify.py /v1/classify
    fast_path.py  the inference POSTs relayed without FastAPI's routing (same steps as proxy.py)
    catalog.py    /v1/versions, lineage              labels.py   /v1/labels/plan|apply (serving's planner)
    account.py    whoami, keys, usage, audit, monitoring report
    authz.py      gRPC key checks (Envoy ext_authz, the embedded server's interceptor)
    docs.py       offline Swagger UI at /docs        middleware.py  body limit, CSP and security headers
    request_logging.py  sampled calls as PredictionLogs (monitoring.request_log), the ids feedback uses
    feedback.py   POST /v1/feedback (monitoring.feedback)
    app.py        create_app (composition root)      cli.py      `nlp2prod gateway` and `nlp2prod keys`
"""

__all__ = ["app", "cli", "errors", "keys", "settings", "store"]
