"""The gateway's errors: each carries its HTTP status and the gRPC code name it maps to, mapped once per protocol.

    GatewayError (500, INTERNAL)
    ├── BadRequest (400, INVALID_ARGUMENT)          malformed JSON, a body that breaks the schema, a bad path
    │   └── PayloadTooLarge (413)                   a body over --max_body_bytes
    ├── Unauthenticated (401, UNAUTHENTICATED)      no key, a malformed, unknown, expired or revoked key
    ├── PermissionDenied (403, PERMISSION_DENIED)   a valid key without the scope the endpoint needs
    ├── NotFound (404, NOT_FOUND)                   an unknown key id, version or report
    ├── Conflict (409, FAILED_PRECONDITION)         a label move whose confirmation no longer matches
    ├── QuotaExceeded (429, RESOURCE_EXHAUSTED)     the key's token bucket is empty; carries Retry-After
    ├── BackendUnavailable (503, UNAVAILABLE)       the model server refuses connections or is not configured
    └── BackendTimeout (504, DEADLINE_EXCEEDED)     the model server did not answer in time

No message ever holds an API key: at most the key id, which is not a secret.
"""

from __future__ import annotations

from typing import Dict, Optional

__all__ = ["GatewayError", "BadRequest", "PayloadTooLarge", "Unauthenticated", "PermissionDenied", "NotFound",
           "Conflict", "QuotaExceeded", "BackendUnavailable", "BackendTimeout"]


class GatewayError(Exception):
    """A message plus the status it maps to on HTTP and gRPC."""

    http_status = 500
    grpc_code = "INTERNAL"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def headers(self) -> Dict[str, str]:
        """Extra response headers (Retry-After, WWW-Authenticate)."""
        return {}


class BadRequest(GatewayError):
    http_status = 400
    grpc_code = "INVALID_ARGUMENT"


class PayloadTooLarge(BadRequest):
    http_status = 413


class Unauthenticated(GatewayError):
    http_status = 401
    grpc_code = "UNAUTHENTICATED"

    def headers(self) -> Dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="nlp2prod"'}


class PermissionDenied(GatewayError):
    http_status = 403
    grpc_code = "PERMISSION_DENIED"


class NotFound(GatewayError):
    http_status = 404
    grpc_code = "NOT_FOUND"


class Conflict(GatewayError):
    http_status = 409
    grpc_code = "FAILED_PRECONDITION"


class QuotaExceeded(GatewayError):
    http_status = 429
    grpc_code = "RESOURCE_EXHAUSTED"

    def __init__(self, message: str, retry_after_seconds: int):
        super().__init__(message)
        self.retry_after_seconds = max(1, int(retry_after_seconds))

    def headers(self) -> Dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class BackendUnavailable(GatewayError):
    http_status = 503
    grpc_code = "UNAVAILABLE"

    def __init__(self, message: str, retry_after_seconds: Optional[int] = 1):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds

    def headers(self) -> Dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)} if self.retry_after_seconds else {}


class BackendTimeout(GatewayError):
    http_status = 504
    grpc_code = "DEADLINE_EXCEEDED"
