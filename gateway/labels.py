"""`POST /v1/labels/plan` and `/v1/labels/apply`: promote, canary and rollback with serving's own planner.

The planner is serving's (`serving.label_planner`, the one `serving.rollback` and the CLI use), so the gateway
moves labels exactly as `nlp2prod promote|canary|rollback` do; models.config goes through `gateway.model_config`.
The difference is the reload: the gateway cannot speak TF Serving's gRPC
ModelService without TensorFlow, so it writes models.config and lets the server re-read it
(`--model_config_file_poll_wait_seconds`, upstream and ours), waiting over REST until the version the next step
needs is AVAILABLE. Apply re-plans and refuses (409) when the target is no longer the confirmed one.
"""

from __future__ import annotations

from typing import List, Optional

import anyio.to_thread
import httpx
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from gateway import model_config
from gateway.catalog import as_gateway_error, model_entry, served_states
from gateway.errors import BadRequest, Conflict

__all__ = ["router"]

router = APIRouter(tags=["Labels (admin)"])


class PlanRequest(BaseModel):
    action: str = Field(description="canary, promote or rollback", examples=["promote"])
    version: Optional[int] = Field(None, ge=1, description="target version (default: as the CLI chooses)")


class ApplyRequest(PlanRequest):
    confirm_version: int = Field(description="the target version the plan showed; apply refuses another")


def _label_history(settings) -> str:
    from serving import audit_log

    return settings.label_audit_log or audit_log.path_for(settings.model_config_file)


async def _plan(gateway, action: str, version: Optional[int]):
    from serving import label_planner as planner
    from serving.layout import versions_on_disk

    if action not in planner.ACTIONS:
        raise BadRequest(f"unknown action {action!r} (actions: {', '.join(planner.ACTIONS)})")
    config, entry = model_entry(gateway.settings)
    on_disk = versions_on_disk(entry.base_path)
    states = await served_states(gateway)
    labels = dict(entry.version_labels)
    history = (planner.read_history(_label_history(gateway.settings), entry.name)
               if action == "rollback" and version is None else [])
    try:
        choice = planner.choose_move(action, labels, on_disk, history, version, "stable", entry.name,
                                      entry.base_path)
        steps = planner.plan_label_move(config, entry.name, choice.label, choice.target, on_disk,
                                         [v for v, (state, _) in states.items() if state == "AVAILABLE"],
                                         choice.drop_labels)
    except Exception as error:
        raise as_gateway_error(error) from None
    after = dict(planner.model_entry(steps[-1].config, entry.name).version_labels) if steps else labels
    changes = [{"label": name, "from": labels.get(name), "to": after.get(name)}
               for name in sorted(set(labels) | set(after)) if labels.get(name) != after.get(name)]
    return entry, choice, steps, changes


@router.post("/v1/labels/plan", summary="What a label move would change (admin scope; no side effect)")
async def plan(request: Request, payload: PlanRequest):
    gateway = request.app.state.gateway
    await gateway.admit(request.headers.get("authorization"), "admin")
    _, choice, steps, changes = await _plan(gateway, payload.action, payload.version)
    return {"changes": changes, "target": choice.target, "steps": [step.name for step in steps]}


@router.post("/v1/labels/apply", summary="Move labels as planned (admin scope)")
async def apply(request: Request, payload: ApplyRequest):
    from serving import label_planner as planner

    gateway = request.app.state.gateway
    record = await gateway.admit(request.headers.get("authorization"), "admin")
    entry, choice, steps, changes = await _plan(gateway, payload.action, payload.version)
    if choice.target != payload.confirm_version:
        raise Conflict(f"{payload.action} now targets version {choice.target}, not the confirmed "
                       f"{payload.confirm_version}: plan again")
    if not steps:
        return {"changes": [], "audit": []}
    settings = gateway.settings
    try:
        await anyio.to_thread.run_sync(_apply_steps, steps, settings, entry.name)
    except OSError as error:
        raise Conflict(f"cannot write {settings.model_config_file} ({error.strerror}): where it is read-only (a "
                       "Kubernetes ConfigMap) move labels as serving/deploy/README.md says") from None
    except Exception as error:
        raise as_gateway_error(error) from None
    moves = [planner.LabelMove(c["label"], c["from"], c["to"]) for c in changes if c["to"] is not None]
    actor = f"key:{record.key_id}:{record.name}"
    planner.append_audit(_label_history(settings), actor, payload.action, entry.name, moves,
                          settings.model_config_file)
    audit = gateway.audit.append(actor, f"label.{payload.action}", model=entry.name, changes=changes,
                                 steps=[step.name for step in steps])
    return {"changes": changes, "audit": [audit]}


def _apply_steps(steps: List, settings, model: str) -> None:
    from serving import label_planner

    with httpx.Client(base_url=settings.backend_url, timeout=5.0, trust_env=False) as client:
        def version_state(version: int) -> tuple:
            try:
                answer = client.get(f"/v1/models/{model}/versions/{version}").json()
                status = answer["model_version_status"][0]
                return status.get("state", "START"), status.get("status", {}).get("error_message", "")
            except (httpx.HTTPError, ValueError, KeyError, IndexError):
                return "START", ""

        label_planner.apply_steps(steps, settings.model_config_file, model_config.read_config,
                                  model_config.write_config, lambda _config: None, version_state,
                                  settings.label_timeout_seconds)
