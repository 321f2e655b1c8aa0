"""The interface's languages: one JSON catalog per language under messages/, and how a request picks one.

A request's language is, in order: `?lang=` (remembered in a cookie), the cookie, the browser's
Accept-Language, English. Every catalog must have exactly the keys of the English one (a test checks it).
"""

from __future__ import annotations

import functools
import json
import os
import re
from typing import Dict, Optional

LANGUAGES = ("en", "es")
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE = "en"
COOKIE = "n2p_lang"

_MESSAGES_DIR = os.path.join(os.path.dirname(__file__), "messages")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@functools.lru_cache(maxsize=None)
def catalog(language: str) -> Dict[str, str]:
    """The messages of one interface language, key to text with `{name}` placeholders."""
    if language not in LANGUAGES:
        raise KeyError(f"no interface language {language!r} (languages: {', '.join(LANGUAGES)})")
    with open(os.path.join(_MESSAGES_DIR, f"{language}.json"), encoding="utf-8") as stream:
        return json.load(stream)


def translate(language: str, key: str, **params: object) -> str:
    """The text of `key` in `language` with its placeholders filled; an unknown key raises KeyError."""
    text = catalog(language)[key]
    return _PLACEHOLDER.sub(lambda m: str(params[m.group(1)]) if m.group(1) in params else m.group(0), text)


def choose_language(query: Optional[str], cookie: Optional[str], accept_language: Optional[str]) -> str:
    """The interface language for one request (see the module docstring for the order)."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return _from_accept_language(accept_language or "")


def _from_accept_language(header: str) -> str:
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                weight = float(match.group(1))
            except ValueError:
                weight = 0.0
        ranked.append((-weight, position, tag.strip().lower().split("-")[0]))
    for negative_weight, _, primary in sorted(ranked):
        if primary in LANGUAGES and negative_weight < 0:
            return primary
    return DEFAULT_LANGUAGE
