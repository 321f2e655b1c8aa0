"""`POST /v1/feedback`: the true label of a logged call (or of one text of it), by the request id its answer gave.

Entries go to the feedback file `nlp2prod monitor` reads (`monitoring.feedback`, JSON lines), with the key id as
their source; an id this gateway did not log, or a label the answering version does not have, is a 400.
"""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field

from gateway import openapi_examples
from gateway.errors import BadRequest

__all__ = ["router"]

router = APIRouter(tags=["Monitoring"])


class FeedbackRequest(BaseModel):
    request_id: str = Field(min_length=1, description="an answer's `X-Request-Id`, or a text's `request_id` "
                            "from `/v1/classify` (`<id>:<n>` for the text at index n)")
    label: str = Field(min_length=1, description="the true label, one of the model's labels")


class FeedbackResponse(BaseModel):
    request_id: str
    label: str
    time: str


@router.post("/v1/feedback", response_model=FeedbackResponse, summary="The true label of a logged call "
             "(predict scope)", description=openapi_examples.FEEDBACK_DESCRIPTION,
             responses=openapi_examples.FEEDBACK_RESPONSES)
async def feedback(request: Request,
                   payload: FeedbackRequest = Body(openapi_examples=openapi_examples.FEEDBACK_EXAMPLES)):
    gateway = request.app.state.gateway
    record = await gateway.admit(request.headers.get("authorization"), "predict")
    if gateway.request_log is None:
        raise BadRequest(f"unknown request_id {payload.request_id!r}: this gateway logs no calls (start it with "
                         "--request_logging_config_file)")
    labels = gateway.request_log.labels_for(payload.request_id)
    from monitoring.feedback import FeedbackError, record_feedback

    try:
        entry = await anyio.to_thread.run_sync(
            lambda: record_feedback(gateway.settings.feedback_path, payload.request_id, payload.label,
                                    labels=labels, source=record.key_id))
    except FeedbackError as error:
        raise BadRequest(str(error)) from None
    return {"request_id": entry["request_id"], "label": entry["label"], "time": entry["time"]}
