"""Which language a text is in, among a broad candidate set (the trained languages and the ones users may bring).

The monitor needs to see languages the model was *not* trained on, so the detector chooses among many languages,
not only the configured ones. lingua answers Chinese for both scripts: `zh` and `zh-Hant` are one language to
it, and to the monitor (the reference is built with this same detector, so both sides agree).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from typing import Dict, List, Sequence, Tuple

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from monitoring.config import DEFAULT_CANDIDATES

UNDETERMINED = "und"
_CACHE_SIZE = 50_000  # texts repeat in traffic ("hi", "thanks"); the cache is cleared when full
_ALIASES = {"zh-hant": "zh", "zh-hans": "zh"}

def canonical_language(code: str) -> str:
    """The monitor's name for a language code (lower case ISO 639-1; both Chinese scripts are `zh`)."""
    lowered = code.strip().lower()
    return _ALIASES.get(lowered, lowered)


@dataclasses.dataclass(frozen=True)
class Detection:
    language: str
    confidence: float


class LanguageDetector:
    """Detects the language of texts among `candidates` (ISO 639-1 codes lingua knows).

    Raises:
      ValueError: a candidate code lingua does not know, or fewer than two candidates.
    """

    def __init__(self, candidates: Sequence[str] = DEFAULT_CANDIDATES, min_confidence: float = 0.0):
        languages = []
        for code in dict.fromkeys(canonical_language(c) for c in candidates):
            iso = getattr(IsoCode639_1, code.upper(), None)
            if iso is None:
                raise ValueError(f"language detector: unknown ISO 639-1 code {code!r}")
            languages.append(Language.from_iso_code_639_1(iso))
        if len(languages) < 2:
            raise ValueError("language detector: give at least two candidate languages")
        self._detector = LanguageDetectorBuilder.from_languages(*languages).build()
        self._min_confidence = min_confidence
        self._cache: Dict[str, Detection] = {}
        self._lock = threading.Lock()

    def detect(self, texts: Sequence[str]) -> List[Detection]:
        """The most likely language of each text and its confidence (`und` below `min_confidence`)."""
        with self._lock:
            return self._detect(texts)

    def _detect(self, texts: Sequence[str]) -> List[Detection]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            # lingua's parallel call pays a thread-pool hand-off: worth it only for batches.
            results = (self._detector.compute_language_confidence_values_in_parallel(missing) if len(missing) > 8
                       else [self._detector.compute_language_confidence_values(t) for t in missing])
            if len(self._cache) + len(missing) > _CACHE_SIZE:
                self._cache.clear()
            for text, values in zip(missing, results):
                self._cache[text] = self._decide(values[0] if values else None)
        return [self._cache[t] for t in texts]

    def _decide(self, top) -> Detection:
        if top is None or top.value < self._min_confidence:
            return Detection(UNDETERMINED, float(top.value) if top else 0.0)
        return Detection(top.language.iso_code_639_1.name.lower(), float(top.value))


@functools.lru_cache(maxsize=4)
def shared_detector(candidates: Tuple[str, ...] = DEFAULT_CANDIDATES) -> LanguageDetector:
    """One detector per candidate set per process (building one loads lingua's models lazily)."""
    return LanguageDetector(candidates)
