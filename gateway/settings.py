"""The gateway's one frozen configuration, built at the edge (`nlp2prod gateway` flags and environment)."""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

DEFAULT_STATE_DIR = os.path.join(".nlp2prod", "gateway")


@dataclasses.dataclass(frozen=True)
class GatewaySettings:
    """Everything the gateway needs; nothing below `create_app` reads flags or the environment.

    Attributes:
      backend_url: TF Serving's REST base URL (the embedded server or tensorflow/serving), e.g. http://host:8501.
      hmac_secret: the server-side secret of the key digests; every replica must share it.
      database_url: SQLAlchemy URL of the key and usage store (sqlite:///... or postgresql+psycopg://...).
      model_name: the model `/v1/classify`, `/v1/versions` and the label endpoints address.
      key_cache_seconds: how long a replica trusts a key lookup; a revocation reaches every replica within it.
      default_rate_per_second, default_burst: the token bucket of a key that has no limits of its own.
      max_body_bytes: the largest request body accepted (413 above).
      max_texts: the most texts one `/v1/classify` call may carry.
      backend_timeout_seconds, backend_connect_timeout_seconds: limits of one backend call.
      backend_max_connections: the connection pool to the backend.
      usage_flush_seconds: how often usage counts go to the store.
      audit_log: JSON lines of key and label changes.
      model_config_file: the models.config that TF Serving polls; needed by `/v1/versions` and label moves.
      label_audit_log: the label-move history shared with `nlp2prod promote|canary|rollback` (default: the one
        serving.audit_log puts beside models.config).
      label_timeout_seconds: how long a label move waits for a version to load.
      monitoring_report: a JSON report written by the monitoring job, served at /v1/monitoring/report.
      request_log: where and how often to log calls (`monitoring.request_log.RequestLogSettings`, from
        --request_logging_config_file); None logs nothing.
      feedback_path: the JSON-lines file `POST /v1/feedback` appends to (what `nlp2prod monitor` reads).
    """

    backend_url: str = "http://localhost:8501"
    hmac_secret: bytes = b""
    database_url: str = "sqlite:///" + os.path.join(DEFAULT_STATE_DIR, "gateway.db")
    model_name: str = "nlp2prod"
    key_cache_seconds: float = 2.0
    default_rate_per_second: float = 50.0
    default_burst: int = 100
    max_body_bytes: int = 1 << 20
    max_texts: int = 256
    backend_timeout_seconds: float = 30.0
    backend_connect_timeout_seconds: float = 1.0
    backend_max_connections: int = 64
    usage_flush_seconds: float = 5.0
    audit_log: str = os.path.join(DEFAULT_STATE_DIR, "audit.jsonl")
    model_config_file: Optional[str] = None
    label_audit_log: Optional[str] = None
    label_timeout_seconds: float = 300.0
    monitoring_report: Optional[str] = None
    request_log: Optional[object] = None
    feedback_path: str = os.path.join(".nlp2prod", "feedback", "labels.jsonl")

    def __post_init__(self) -> None:
        if len(self.hmac_secret) < 16:
            raise ValueError("the gateway's HMAC secret must be at least 16 bytes (N2P_GATEWAY_SECRET or "
                             "--secret_file)")
        if not self.backend_url.startswith(("http://", "https://")):
            raise ValueError(f"backend URL {self.backend_url!r} must start with http:// or https://")

