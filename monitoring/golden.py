"""Golden set: a fixed set of texts per language, replayed through the served version, must keep its answers.

The texts are the version's own warmup requests (`assets.extra/tf_serving_warmup_requests`, written at push:
texts of every training language). `record` replays them through a server right after the push and keeps the
answers; `check` replays them later (after a deployment, a server upgrade, on the real container) and reports
every text whose label changed or whose probabilities moved more than the tolerance — the training–serving skew
check. Talks REST to any TF Serving (no TensorFlow here).
"""

from __future__ import annotations

import datetime
import json
import os
import urllib.request
from typing import Dict, List, Sequence, Tuple

from monitoring import tensors
from monitoring.language import shared_detector
from monitoring.log_protos import PredictionLog
from serving import layout, record_files


class GoldenSetError(RuntimeError):
    """No golden texts, no recording, or a server that does not answer; the message says which."""


def golden_texts(version_dir: str) -> List[str]:
    """The distinct texts of the version's warmup requests, in file order."""
    path = os.path.join(version_dir, layout.WARMUP_FILE)
    if not os.path.isfile(path):
        raise GoldenSetError(f"{path}: no warmup requests to take the golden texts from")
    texts: Dict[str, None] = {}
    for payload in record_files.read_records(path):
        inputs = PredictionLog.FromString(payload).predict_log.request.inputs
        if "text" in inputs:
            texts.update((v.decode("utf-8", "replace"), None) for v in tensors.tensor_values(inputs["text"])[1])
    if not texts:
        raise GoldenSetError(f"{path}: the warmup requests hold no text")
    return list(texts)


def replay(server: str, model: str, version: int, texts: Sequence[str], timeout: float = 30.0) -> List[dict]:
    """[{label, probabilities}] of `texts` from `server` (http://host:port) for exactly `version`."""
    url = f"{server.rstrip('/')}/v1/models/{model}/versions/{version}:predict"
    request = urllib.request.Request(url, json.dumps({"instances": list(texts)}).encode("utf-8"),
                                     {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.load(response)
    except OSError as error:
        raise GoldenSetError(f"{url}: {error}") from None
    return [{"label": row["label"], "probabilities": [float(p) for p in row["probabilities"]]}
            for row in answer["predictions"]]


def record(path: str, server: str, model: str, version: int, version_dir: str) -> dict:
    """Replays the golden texts and writes the answers to `path` (JSON); returns what was written."""
    texts = golden_texts(version_dir)
    answers = replay(server, model, version, texts)
    languages = [d.language for d in shared_detector().detect(texts)]
    golden = {"model": model, "version": version, "server": server,
              "recorded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "items": [dict(answer, text=text, language=language)
                        for text, language, answer in zip(texts, languages, answers)]}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(golden, handle, indent=1, ensure_ascii=False)
    return golden


def check(path: str, server: str, tolerance: float = 1e-3) -> Tuple[int, List[str]]:
    """(texts checked, one line per text whose answer changed) against the recording at `path`."""
    if not os.path.isfile(path):
        raise GoldenSetError(f"no golden recording at {path}: run `nlp2prod golden record` after the push")
    with open(path, encoding="utf-8") as handle:
        golden = json.load(handle)
    items = golden["items"]
    answers = replay(server, golden["model"], golden["version"], [item["text"] for item in items])
    changed = []
    for item, answer in zip(items, answers):
        moved = max((abs(a - b) for a, b in zip(item["probabilities"], answer["probabilities"])), default=0.0)
        if answer["label"] != item["label"] or moved > tolerance:
            changed.append(f"[{item['language']}] {item['text']!r}: {item['label']} -> {answer['label']} "
                           f"(largest probability change {moved:.4f})")
    return len(items), changed
