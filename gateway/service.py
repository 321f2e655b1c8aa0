"""The gateway's parts for one process, and the admission step every keyed request goes through."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Optional

import anyio.to_thread

from gateway.audit import AuditLog
from gateway.auth import Authenticator
from gateway.backend import Backend
from gateway.metering import UsageMeter
from gateway.quotas import RateLimiter
from gateway.request_logging import GatewayRequestLog
from gateway.settings import GatewaySettings
from gateway.store import KeyRecord, KeyStore, open_store

log = logging.getLogger(__name__)

__all__ = ["Gateway"]


class Gateway:
    """Store, key checks, quotas, metering, audit, the request log and the backend of one gateway process."""

    def __init__(self, settings: GatewaySettings, store: Optional[KeyStore] = None):
        self.settings = settings
        self.store = store or open_store(settings.database_url, settings.hmac_secret)
        self.authenticator = Authenticator(self.store, settings.hmac_secret, settings.key_cache_seconds)
        self.limiter = RateLimiter(settings.default_rate_per_second, settings.default_burst)
        self.meter = UsageMeter()
        self.audit = AuditLog(settings.audit_log)
        self.backend = Backend(settings.backend_url, settings.backend_timeout_seconds,
                               settings.backend_connect_timeout_seconds, settings.backend_max_connections)
        self.request_log = GatewayRequestLog(settings.request_log) if settings.request_log else None
        self._flusher: Optional[asyncio.Task] = None

    async def admit(self, authorization: Optional[str], scope: str) -> KeyRecord:
        """Authenticates, checks the scope, then spends one request of the key's quota."""
        record = await self.authenticator.authenticate(authorization)
        try:
            self.authenticator.authorize(record, scope)
            self.limiter.check(record.key_id, record.rate_per_second, record.burst)
        except Exception:
            self.meter.record(record.key_id, error=True)
            raise
        return record

    async def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_forever())

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush_usage()
        await self.backend.close()
        if self.request_log is not None:
            self.request_log.close()
        self.store.close()

    async def flush_usage(self) -> None:
        """Adds the counts since the last flush to the store; on failure keeps them for the next one."""
        counts = self.meter.drain()
        if not counts:
            return
        try:
            await anyio.to_thread.run_sync(self.store.add_usage, counts)
        except Exception as error:  # a database outage must not lose counts nor stop the gateway
            self.meter.restore(counts)
            log.warning("usage flush failed, kept for the next one: %s", error)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.usage_flush_seconds)
            await self.flush_usage()
