"""Key management, usage export, audit, whoami and the monitoring report (JSON, under /v1)."""

from __future__ import annotations

import datetime
import json
import os
from typing import List, Optional

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from gateway import store as store_lib
from gateway.errors import BadRequest, NotFound

__all__ = ["router"]

router = APIRouter(tags=["Keys and usage"])


class KeyCreate(BaseModel):
    name: str = Field(description="who or what the key is for", examples=["mobile-app"])
    scopes: List[str] = Field(default=["predict"], examples=[["predict", "read"]])
    expires_in_days: Optional[float] = Field(None, gt=0, description="days until the key stops working")
    rate_per_second: Optional[float] = Field(None, gt=0, description="the key's own rate (default: the gateway's)")
    burst: Optional[int] = Field(None, ge=1)


def _expiry(days: Optional[float]) -> Optional[datetime.datetime]:
    if days is None:
        return None
    return store_lib.utc_now().replace(microsecond=0) + datetime.timedelta(days=days)


@router.get("/v1/whoami", summary="The calling key (any valid key)")
async def whoami(request: Request):
    record = await request.app.state.gateway.authenticator.authenticate(request.headers.get("authorization"))
    return {"key_id": record.key_id, "name": record.name, "scopes": list(record.scopes)}


@router.get("/v1/keys", summary="Every key, without secrets (admin scope)")
async def list_keys(request: Request):
    gateway = request.app.state.gateway
    await gateway.admit(request.headers.get("authorization"), "admin")
    records = await anyio.to_thread.run_sync(gateway.store.list)
    return {"keys": [record.as_json() for record in records]}


@router.post("/v1/keys", status_code=201, summary="Create a key; the answer holds it once (admin scope)")
async def create_key(request: Request, payload: KeyCreate):
    gateway = request.app.state.gateway
    admin = await gateway.admit(request.headers.get("authorization"), "admin")
    actor = f"key:{admin.key_id}:{admin.name}"
    record, key = await anyio.to_thread.run_sync(lambda: gateway.store.create(
        payload.name, payload.scopes, actor, _expiry(payload.expires_in_days), payload.rate_per_second,
        payload.burst))
    gateway.audit.append(actor, "key.create", key_id=record.key_id, name=record.name, scopes=list(record.scopes),
                         expires_at=record.as_json()["expires_at"])
    return {**record.as_json(), "key": key}


@router.delete("/v1/keys/{key_id}", summary="Revoke a key on every replica within seconds (admin scope)")
async def revoke_key(request: Request, key_id: str):
    gateway = request.app.state.gateway
    admin = await gateway.admit(request.headers.get("authorization"), "admin")
    record = await anyio.to_thread.run_sync(gateway.store.revoke, key_id)
    gateway.authenticator.forget(key_id)
    gateway.audit.append(f"key:{admin.key_id}:{admin.name}", "key.revoke", key_id=key_id, name=record.name)
    return record.as_json()


@router.get("/v1/usage", summary="Usage per key and day: JSON, or ?format=csv|jsonl for export (admin scope)")
async def usage(request: Request, since: Optional[datetime.date] = None, until: Optional[datetime.date] = None,
                key_id: Optional[str] = None, format: str = Query("json", pattern="^(json|csv|jsonl)$")):
    gateway = request.app.state.gateway
    await gateway.admit(request.headers.get("authorization"), "admin")
    await gateway.flush_usage()
    rows = await anyio.to_thread.run_sync(lambda: gateway.store.usage(since, until, key_id))
    if format == "json":
        return {"usage": rows}
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return Response(store_lib.export_rows(rows, format), media_type=media)


@router.get("/v1/audit", summary="The newest audit records, newest first (admin scope)")
async def audit(request: Request, limit: int = Query(100, ge=1, le=10_000)):
    gateway = request.app.state.gateway
    await gateway.admit(request.headers.get("authorization"), "admin")
    return {"entries": gateway.audit.tail(limit)}


@router.get("/v1/monitoring/report", summary="The monitoring job's latest report (read scope)")
async def monitoring_report(request: Request):
    gateway = request.app.state.gateway
    await gateway.admit(request.headers.get("authorization"), "read")
    path = gateway.settings.monitoring_report
    if not path or not os.path.exists(path):
        raise NotFound("no monitoring report yet" + (f" at {path}" if path else " (no --monitoring_report)"))
    try:
        with open(path, "r", encoding="utf-8") as stream:
            return json.load(stream)
    except (OSError, ValueError) as error:
        raise BadRequest(f"monitoring report {path} is unreadable: {error}") from None
