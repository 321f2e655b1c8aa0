"""The language of a text, for `/v1/classify`: lingua restricted to the languages the model was evaluated on.

lingua (TF-free, in the lock for the pipeline's language check) is optional here: without it, or before the
model's languages are known, every text reads `und` and `language_supported` is False.
"""

from __future__ import annotations

import threading
from typing import Iterable, Optional, Tuple

__all__ = ["LanguageGuesser"]


class LanguageGuesser:
    """Guesses among a fixed set of ISO 639-1 codes; rebuilt when that set changes."""

    def __init__(self, languages: Iterable[str] = ()):
        self._lock = threading.Lock()
        self._codes: Tuple[str, ...] = ()
        self._detector = None
        self._by_language = {}
        self.use(languages)

    def use(self, languages: Iterable[str]) -> None:
        codes = tuple(sorted(set(languages)))
        if codes == self._codes:
            return
        detector, by_language = _build(codes)
        with self._lock:
            self._codes, self._detector, self._by_language = codes, detector, by_language

    def guess(self, text: str) -> Tuple[str, bool]:
        """(language code or `und`, whether the model supports it)."""
        if self._detector is None:
            return ("und", False) if len(self._codes) != 1 else (self._codes[0], True)
        found = self._detector.detect_language_of(text)
        code = self._by_language.get(found) if found is not None else None
        return (code, True) if code else ("und", False)


def _build(codes: Tuple[str, ...]):
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    except ImportError:
        return None, {}
    by_language = {}
    for code in codes:
        iso = getattr(IsoCode639_1, code.split("-")[0].upper(), None)
        language: Optional[object] = Language.from_iso_code_639_1(iso) if iso is not None else None
        if language is not None:
            by_language.setdefault(language, code)
    if len(by_language) < 2:
        return None, by_language
    return LanguageDetectorBuilder.from_languages(*by_language).with_low_accuracy_mode().build(), by_language
