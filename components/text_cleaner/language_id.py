"""Declared vs detected language, with lingua restricted to the configured languages.

Only a confident disagreement counts: the detector must give another *configured* language at least the
configured confidence. Texts written only in Han characters are consistent with Japanese and both Chinese
variants (kanji and hanzi are shared), and zh / zh-Hant are one language to the detector.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Tuple

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

_CODE_ALIASES = {"zh-Hant": "zh"}
_HAN_SHARED = frozenset({"ja", "zh", "zh-Hant"})
_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")


def _lingua_language(code: str) -> Optional[Language]:
    iso = getattr(IsoCode639_1, _CODE_ALIASES.get(code, code).upper(), None)
    return Language.from_iso_code_639_1(iso) if iso is not None else None


class LanguageIdentifier:
    """Finds rows whose text is confidently in another configured language than the declared one."""

    def __init__(self, languages: Sequence[str], min_confidence: float):
        self._codes: Dict[str, Language] = {code: lang for code in languages if (lang := _lingua_language(code))}
        self._min_confidence = min_confidence
        distinct = set(self._codes.values())
        # lingua needs two languages to choose between; with fewer there is nothing to disagree with.
        self._detector = LanguageDetectorBuilder.from_languages(*distinct).build() if len(distinct) >= 2 else None

    def mismatches(self, texts: Sequence[str], declared: Sequence[str]) -> List[Optional[Tuple[str, float]]]:
        """Per text: None when consistent, else (detected configured language code, confidence)."""
        if self._detector is None:
            return [None] * len(texts)
        results = self._detector.compute_language_confidence_values_in_parallel(list(texts))
        return [self._judge(text, lang, values[0] if values else None)
                for text, lang, values in zip(texts, declared, results)]

    def _judge(self, text: str, declared: str, top) -> Optional[Tuple[str, float]]:
        if top is None or declared not in self._codes or top.value < self._min_confidence:
            return None
        if top.language == self._codes[declared]:
            return None
        detected = next(code for code, lang in self._codes.items() if lang == top.language)
        if declared in _HAN_SHARED and detected in _HAN_SHARED and not _KANA.search(text):
            return None
        return detected, float(top.value)
