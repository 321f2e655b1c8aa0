"""`GET /v1/versions` and `/v1/versions/{v}/lineage`: the versions on disk with their labels, state and metrics.

Labels come from the models.config that TF Serving polls (TF Serving has no RPC that lists them), states from the
backend's REST status, metrics and lineage fields from each version's `assets.extra/nlp2prod_metadata.json`.
The config is read through `gateway.model_config` (serving.wire_protos: the installed schema, no TF Serving
package imported); planner and layout are serving's TF-free `label_planner` and `layout`.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from fastapi import APIRouter, Request

from gateway import model_config
from gateway.backend import model_path
from gateway.errors import BackendUnavailable, GatewayError, NotFound

__all__ = ["router", "model_entry", "served_states", "version_metadata"]

router = APIRouter(tags=["Versions"])


def model_entry(settings) -> Tuple[object, object]:
    """(ModelServerConfig, the ModelConfig entry of the gateway's model); NotFound without --model_config_file."""
    from serving import label_planner

    if not settings.model_config_file:
        raise NotFound("the gateway was started without --model_config_file: versions and labels are unknown")
    config = model_config.read_config(settings.model_config_file)
    try:
        return config, label_planner.model_entry(config, settings.model_name)
    except Exception as error:
        raise NotFound(getattr(error, "message", str(error))) from None


async def served_states(gateway) -> Dict[int, Tuple[str, str]]:
    """{version: (state, error message)} from the backend; empty when the backend does not know the model."""
    try:
        status, answer = await gateway.backend.json("GET", model_path(gateway.settings.model_name))
    except BackendUnavailable:
        return {}
    if status != 200:
        return {}
    return {int(s["version"]): (s.get("state", "UNKNOWN"), s.get("status", {}).get("error_message", ""))
            for s in answer.get("model_version_status", [])}


def version_metadata(path: Optional[str]) -> dict:
    """The version's nlp2prod metadata (serving.layout's reader); {} when none, an error field when unreadable."""
    from serving import layout

    if not path:
        return {}
    try:
        return layout.read_metadata(path) or {}
    except layout.LayoutError as error:
        return {"error": str(error)}


def _row(version: int, path: Optional[str], state: Optional[Tuple[str, str]], labels: List[str]) -> dict:
    metadata = version_metadata(path)
    metrics = metadata.get("metrics", {}) if isinstance(metadata.get("metrics"), dict) else {}
    per_language = metrics.get("per_language", {}) or {}
    spans = metadata.get("data_spans") or []
    return {"version": version, "state": state[0] if state else ("ON_DISK" if path else "UNKNOWN"),
            "labels": sorted(labels), "pushed_at": metadata.get("pushed_at"),
            "data_span": ",".join(str(s) for s in spans) if spans else metadata.get("data_span"),
            "metrics": {"overall": metrics.get("overall", {}) or {}, "per_language": per_language},
            "languages": sorted(per_language), "on_disk": path is not None}


async def list_versions(gateway) -> dict:
    from serving.layout import versions_on_disk

    _, entry = model_entry(gateway.settings)
    labels: Dict[int, List[str]] = {}
    for label, version in entry.version_labels.items():
        labels.setdefault(version, []).append(label)
    on_disk = versions_on_disk(entry.base_path)
    states = await served_states(gateway)
    rows = [_row(v, on_disk.get(v), states.get(v), labels.get(v, [])) for v in sorted(set(on_disk) | set(states))]
    return {"model": entry.name, "versions": rows}


@router.get("/v1/versions", summary="Versions, their state, labels and metrics (read scope)")
async def versions(request: Request):
    gateway = request.app.state.gateway
    await gateway.admit(request.headers.get("authorization"), "read")
    return await list_versions(gateway)


@router.get("/v1/versions/{version}/lineage", summary="Where a version came from (read scope)")
async def lineage(request: Request, version: int):
    from serving.layout import versions_on_disk

    gateway = request.app.state.gateway
    await gateway.admit(request.headers.get("authorization"), "read")
    _, entry = model_entry(gateway.settings)
    path = versions_on_disk(entry.base_path).get(version)
    if path is None:
        raise NotFound(f"version {version} of model {entry.name} is not on disk")
    metadata = version_metadata(path)
    fields = ("run_id", "pipeline_name", "data_spans", "baseline_version", "pushed_at", "metrics", "labels",
              "saved_model_bytes", "sparsity")
    return {"model": entry.name, "version": version, "path": path, **{k: metadata.get(k) for k in fields}}


def as_gateway_error(error: Exception) -> GatewayError:
    """A serving error (from the planner or config readers) as the gateway's error of the same status."""
    from gateway import errors

    status = getattr(error, "http_status", 400)
    kind = {404: errors.NotFound, 409: errors.Conflict, 503: errors.BackendUnavailable,
            504: errors.BackendTimeout}.get(status, errors.BadRequest)
    return kind(getattr(error, "message", str(error)))
