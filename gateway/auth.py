"""Key checks: a presented key -> its record, or 401/403; lookups cached for `key_cache_seconds`.

The cache is what bounds revocation delay: a replica re-reads a key at most `key_cache_seconds` after it last
read it, so a key revoked on one replica (or with `nlp2prod keys revoke`) stops working on all of them within
that time. Unknown key ids are cached too, so a flood of made-up keys does not reach the database each time.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, Optional, Tuple

import anyio.to_thread

from gateway import keys
from gateway.errors import PermissionDenied, Unauthenticated
from gateway.store import KeyRecord, KeyStore, utc_now

__all__ = ["Authenticator", "scope_of_grpc_method"]

_CACHE_LIMIT = 10_000
_INVALID = "the API key is not valid (unknown, or its secret does not match)"
_GRPC_SCOPES = {"Predict": "predict", "Classify": "predict", "Regress": "predict", "MultiInference": "predict",
                "GetModelMetadata": "read", "GetModelStatus": "read", "HandleReloadConfigRequest": "admin"}


def scope_of_grpc_method(path: str) -> Optional[str]:
    """The scope a TF Serving gRPC method needs (`/tensorflow.serving.PredictionService/Predict` -> predict);
    None for grpc.health.v1 (no key needed) and for unknown methods (refused)."""
    service, _, method = path.strip("/").partition("/")
    if service.startswith("grpc.health.v1."):
        return None
    if service.startswith("tensorflow.serving.") and method in _GRPC_SCOPES:
        return _GRPC_SCOPES[method]
    raise PermissionDenied(f"gRPC method {path[:200]!r} is not offered through the gateway")


class Authenticator:
    """Checks keys against the store, through a short-lived cache."""

    def __init__(self, store: KeyStore, server_secret: bytes, cache_seconds: float,
                 clock: Callable[[], float] = time.monotonic):
        self._store = store
        self._secret = server_secret
        self._ttl = cache_seconds
        self._clock = clock
        self._cache: Dict[str, Tuple[float, Optional[Tuple[KeyRecord, str]]]] = {}

    async def authenticate(self, authorization: Optional[str]) -> KeyRecord:
        """The record of the key in an Authorization header; raises Unauthenticated (never echoing the key)."""
        key = keys.bearer_key(authorization)
        key_id = keys.key_id_of(key)
        found = await self._lookup(key_id)
        if found is None or not keys.matches(self._secret, key, found[1]):
            raise Unauthenticated(_INVALID)
        record = found[0]
        state = record.state(utc_now())
        if state == "revoked":
            raise Unauthenticated(f"the API key {key_id} was revoked at {record.revoked_at.isoformat()}")
        if state == "expired":
            raise Unauthenticated(f"the API key {key_id} expired at {record.expires_at.isoformat()}")
        return record

    @staticmethod
    def authorize(record: KeyRecord, scope: str) -> None:
        """Raises PermissionDenied when the key lacks `scope`."""
        if not keys.grants(record.scopes, scope):
            raise PermissionDenied(f"key {record.key_id} ({record.name}) lacks the '{scope}' scope (it has: "
                                   f"{', '.join(record.scopes)})")

    def forget(self, key_id: str) -> None:
        """Drops a cached lookup (this replica sees its own revocations at once)."""
        self._cache.pop(key_id, None)

    async def _lookup(self, key_id: str) -> Optional[Tuple[KeyRecord, str]]:
        now = self._clock()
        cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        found = await anyio.to_thread.run_sync(self._store.lookup, key_id)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache = {k: v for k, v in self._cache.items() if now - v[0] < self._ttl}
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
        self._cache[key_id] = (now, found)
        return found
