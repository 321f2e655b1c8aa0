"""The gateway's request log: sampled `/v1/classify` calls and proxied `:predict` calls as TF Serving
PredictionLogs (`monitoring.request_log`, written by a background thread), and the ids feedback refers to.

    nlp2prod gateway --request_logging_config_file=logging.config   # TF Serving's LoggingConfig, text format

A logged call gets a request id (the `X-Request-Id` response header; `/v1/classify` also gives each text its own
id: the first text the bare id, the n-th `<id>:<n-1>`, as `monitoring.feedback` keys them). The ids of the last
`RECENT_REQUESTS` logged calls are kept in this process with the model's class names, so `POST /v1/feedback` can
refuse an id it never issued or a label the answering version does not have. Logging never fails a request: a
call that cannot be logged is skipped with a warning. `monitoring` is imported only when logging is configured.
"""

from __future__ import annotations

import collections
import logging
import threading
import uuid
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from gateway.errors import BadRequest

__all__ = ["GatewayRequestLog", "RECENT_REQUESTS", "text_ids"]

log = logging.getLogger(__name__)
RECENT_REQUESTS = 100_000


class GatewayRequestLog:
    """One `RequestLogger` per gateway process, plus the recently logged request ids."""

    def __init__(self, settings, capacity: int = RECENT_REQUESTS):
        from monitoring.request_log import RequestLogger

        self.logger = RequestLogger(settings)
        self._capacity = capacity
        self._lock = threading.Lock()
        # request id -> (number of texts, (model, version)) of each logged call, oldest first
        self._recent: "collections.OrderedDict[str, Tuple[int, Tuple[str, int]]]" = collections.OrderedDict()
        self._classes: Dict[Tuple[str, int], Tuple[str, ...]] = {}

    @property
    def active(self) -> bool:
        """False when the sampling rate is 0 (nothing is ever logged)."""
        return self.logger.settings.sampling_rate > 0.0

    def log_classify(self, model: str, version: int, texts: Sequence[str], predictions: Sequence[dict],
                     latency_ms: float) -> Optional[str]:
        """Logs one `/v1/classify` call when sampled; returns its request id (None when not logged)."""
        classes = tuple(predictions[0]["probabilities"]) if predictions else ()
        rows = [[p["probabilities"][name] for name in classes] for p in predictions]
        with self._lock:
            self._classes[(model, int(version))] = classes
        return self._log(model, version, "classify", {"text": list(texts)},
                         {"probabilities": rows, "label": [p["label"] for p in predictions]}, latency_ms)

    def log_rest_predict(self, model: str, version: int, body: Mapping, answer: Mapping,
                         latency_ms: float) -> Optional[str]:
        """Logs one proxied REST `:predict` when sampled; returns its request id (None when not logged)."""
        from monitoring.rest_payloads import RestPayloadError, predict_tensors

        try:
            inputs, outputs = predict_tensors(body, answer)
        except RestPayloadError as error:
            log.warning("request log: a %s:predict call was not logged: %s", model, error)
            return None
        return self._log(model, version, str(body.get("signature_name") or "serving_default"), inputs, outputs,
                         latency_ms)

    def _log(self, model: str, version: int, signature: str, inputs: Mapping, outputs: Mapping,
             latency_ms: float) -> Optional[str]:
        first = next(iter(inputs.values()), [])
        texts = len(first) if isinstance(first, list) else 1
        try:
            request_id = self.logger.log_predict(model, version, inputs, outputs, signature=signature,
                                                 request_id=uuid.uuid4().hex, source="gateway",
                                                 latency_ms=latency_ms)
        except Exception:  # logging must never fail the call it logs
            log.exception("request log: a %s call was not logged", model)
            return None
        if request_id is not None:
            with self._lock:
                self._recent[request_id] = (max(1, texts), (model, int(version)))
                while len(self._recent) > self._capacity:
                    self._recent.popitem(last=False)
        return request_id

    def labels_for(self, feedback_id: str) -> Tuple[str, ...]:
        """The class names of the version that answered `feedback_id` (`<id>` or `<id>:<n>`); () when unknown.

        Raises:
          BadRequest: an id this gateway did not log recently, or a text index the call did not have.
        """
        request_id, _, index = feedback_id.strip().partition(":")
        with self._lock:
            found = self._recent.get(request_id)
            classes = self._classes.get(found[1], ()) if found else ()
        if found is None:
            raise BadRequest(f"unknown request_id {feedback_id!r}: not among the last {self._capacity} requests "
                             "this gateway logged (only sampled calls are logged; use the X-Request-Id or "
                             "per-text request_id of the answer)")
        if index and not (index.isdigit() and 1 <= int(index) < found[0]):
            raise BadRequest(f"request_id {feedback_id!r}: the call had {found[0]} text(s); texts after the first "
                             f"are <id>:1 .. <id>:{found[0] - 1}")
        return classes

    def close(self) -> None:
        """Writes what is queued and closes the log file."""
        self.logger.close()


def text_ids(request_id: Optional[str], count: int) -> List[Optional[str]]:
    """The per-text feedback ids of a logged call of `count` texts (all None when it was not logged)."""
    if request_id is None:
        return [None] * count
    return [request_id] + [f"{request_id}:{n}" for n in range(1, count)]
