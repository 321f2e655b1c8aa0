"""`POST /v1/classify`: texts in; per text the label, every class's probability and the model version out.

It calls the backend's `classify` signature (TF Serving's Classify API: class names with their scores), so it
works unchanged in front of tensorflow/serving. The version comes from the request, else from the backend's
status of the label or model (the highest AVAILABLE version is the one TF Serving answers with), cached briefly.
"""

from __future__ import annotations

import time
from typing import Dict, List, Optional, Tuple

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, Field

from gateway import openapi_examples
from gateway.backend import Backend, model_path
from gateway.errors import BackendUnavailable, BadRequest, GatewayError, NotFound
from gateway.languages import LanguageGuesser
from gateway.names import checked_name
from gateway.request_logging import text_ids

__all__ = ["router", "ClassifyRequest"]

router = APIRouter(tags=["Classification"])
_VERSION_CACHE_SECONDS = 1.0


class ClassifyRequest(BaseModel):
    texts: List[str] = Field(min_length=1, description="texts to classify, any language")
    version: Optional[int] = Field(None, ge=1, description="a version number (default: what the model serves)")
    label: Optional[str] = Field(None, description="a version label, e.g. stable or canary")


class Prediction(BaseModel):
    label: str
    probabilities: Dict[str, float]
    language: str
    language_supported: bool
    request_id: Optional[str] = Field(None, description="the id `POST /v1/feedback` takes for this text (only "
                                      "when the gateway logged the call)")


class ClassifyResponse(BaseModel):
    model: str
    version: int
    predictions: List[Prediction]


class VersionResolver:
    """The version a model name or label answers with, from the backend's status, cached for a second."""

    def __init__(self, backend: Backend):
        self._backend = backend
        self._cache: Dict[Tuple[str, Optional[str]], Tuple[float, int]] = {}

    async def resolve(self, model: str, label: Optional[str]) -> int:
        cached = self._cache.get((model, label))
        if cached is not None and time.monotonic() - cached[0] < _VERSION_CACHE_SECONDS:
            return cached[1]
        status, answer = await self._backend.json("GET", model_path(model, None, label))
        if status != 200:
            raise _backend_error(status, answer)
        available = [int(s["version"]) for s in answer.get("model_version_status", []) if s.get("state") == "AVAILABLE"]
        if not available:
            raise BackendUnavailable(f"model {model} has no AVAILABLE version"
                                     + (f" under label {label}" if label else ""))
        self._cache[(model, label)] = (time.monotonic(), max(available))
        return max(available)


def _backend_error(status: int, answer) -> GatewayError:
    message = answer.get("error", str(answer)) if isinstance(answer, dict) else str(answer)
    if status == 404:
        return NotFound(message)
    if 400 <= status < 500:
        return BadRequest(message)
    return BackendUnavailable(f"the model server answered {status}: {message}")


def _predictions(results, texts: List[str], guesser: LanguageGuesser) -> List[dict]:
    if not isinstance(results, list) or len(results) != len(texts):
        raise BackendUnavailable("the model server's classify answer does not have one result per text")
    predictions = []
    for text, classes in zip(texts, results):
        probabilities = {str(name): float(score) for name, score in classes}
        language, supported = guesser.guess(text)
        predictions.append({"label": max(probabilities, key=probabilities.get), "probabilities": probabilities,
                            "language": language, "language_supported": supported})
    return predictions


@router.post("/v1/classify", response_model=ClassifyResponse, summary="Classify texts (predict scope)",
             description=openapi_examples.API_DESCRIPTION.split("\n\n")[0])
async def classify(request: Request, response: Response,
                   payload: ClassifyRequest = Body(openapi_examples=openapi_examples.CLASSIFY_EXAMPLES)):
    gateway = request.app.state.gateway
    record = await gateway.admit(request.headers.get("authorization"), "predict")
    texts = payload.texts
    try:
        if len(texts) > gateway.settings.max_texts:
            raise BadRequest(f"{len(texts)} texts in one call; at most {gateway.settings.max_texts}")
        if payload.version is not None and payload.label:
            raise BadRequest("give a version or a label, not both")
        model = gateway.settings.model_name
        label = checked_name("label", payload.label) if payload.label else None
        version = payload.version or await request.app.state.versions.resolve(model, label)
        started = time.perf_counter()
        status, answer = await gateway.backend.json(
            "POST", model_path(model, version, None) + ":classify",
            {"signature_name": "classify", "examples": [{"text": text} for text in texts]})
        if status != 200:
            raise _backend_error(status, answer)
        predictions = _predictions(answer.get("results"), texts, request.app.state.languages)
    except GatewayError:
        gateway.meter.record(record.key_id, len(texts), error=True)
        raise
    gateway.meter.record(record.key_id, len(texts))
    if gateway.request_log is not None:
        request_id = gateway.request_log.log_classify(model, version, texts, predictions,
                                                      (time.perf_counter() - started) * 1e3)
        for prediction, text_id in zip(predictions, text_ids(request_id, len(predictions))):
            prediction["request_id"] = text_id
        if request_id is not None:
            response.headers["X-Request-Id"] = request_id
    return {"model": model, "version": version, "predictions": predictions}
