"""Text-level cleaning rules: Unicode normalisation suited to each script, then noise removal.

Each rule has a name (unicode, whitespace, html, url, email, mention, control); `clean_text` returns the
names of the rules that changed the text, so every change is counted per rule and language in the cleaning
summary.

Unicode normalisation by declared language:
  ja, zh, zh-Hant  NFKC: full-width Latin/digits -> ASCII, half-width katakana -> full-width.
  ko               NFC plus width folding only: NFKC would turn compatibility jamo (ㅋㅋ, ㅠㅠ, common in
                   chat) into conjoining jamo that no longer render or tokenize as typed.
  fa (and ar, ur)  NFC; Arabic presentation forms -> base letters; for Persian also Arabic yeh/kaf/alef
                   maksura -> Persian yeh/keheh, Arabic-Indic -> Persian digits, tatweel removed.
                   Zero-width non-joiner (U+200C) is kept: it is part of Persian spelling (می‌خواهم).
  uk               NFC; apostrophe look-alikes inside words (’ ʼ) -> ' so the same word dedups.
  others           NFC: NFKC would rewrite superscripts, fractions and ligature-like symbols (m² -> m2).
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import List, Tuple

NFKC_LANGUAGES = frozenset({"ja", "zh", "zh-Hant"})
WIDTH_FOLD_LANGUAGES = frozenset({"ko"})
ARABIC_SCRIPT_LANGUAGES = frozenset({"fa", "ar", "ur"})

_PERSIAN_LETTERS = str.maketrans({
    "\u064a": "\u06cc",  # Arabic yeh -> Farsi yeh
    "\u0649": "\u06cc",  # alef maksura -> Farsi yeh
    "\u0643": "\u06a9",  # Arabic kaf -> keheh
    **{chr(0x0660 + digit): chr(0x06F0 + digit) for digit in range(10)},
    "\u0640": None,  # tatweel (kashida) only stretches letters
})
_FULL_WIDTH = str.maketrans({**{chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}, "\u3000": " "})
_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]")
_UK_APOSTROPHE = re.compile(r"(?<=\w)[\u2019\u02bc\u0060\u00b4](?=\w)")

_HTML_TAG = re.compile(r"<!--.*?-->|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>", re.S)
_HTML_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#\d{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_URL = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"]+", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_MENTION = re.compile(r"(?<![\w@])@\w+")
_WHITESPACE = re.compile(r"\s+")
# Joiners shape Persian/Arabic words and emoji sequences: formatting characters, but meaningful ones.
_KEEP_FORMAT = frozenset({"\u200c", "\u200d"})


def normalise_unicode(text: str, lang: str) -> str:
    """Normalises `text` the way its declared language's script needs (see the module docstring)."""
    if lang in NFKC_LANGUAGES:
        return unicodedata.normalize("NFKC", text)
    text = unicodedata.normalize("NFC", text)
    if lang in WIDTH_FOLD_LANGUAGES:
        text = text.translate(_FULL_WIDTH)
    if lang in ARABIC_SCRIPT_LANGUAGES:
        text = _PRESENTATION_FORMS.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    if lang == "fa":
        text = text.translate(_PERSIAN_LETTERS)
    if lang == "uk":
        text = _UK_APOSTROPHE.sub("'", text)
    return text


def strip_html(text: str) -> str:
    """Removes HTML tags and comments and decodes entities (&amp; -> &); a bare `a < b` is left alone."""
    text = _HTML_TAG.sub(" ", text)
    return _HTML_ENTITY.sub(lambda m: html.unescape(m.group()), text)


def strip_urls(text: str) -> str:
    """Removes http(s)/ftp URLs and bare www. addresses."""
    return _URL.sub(" ", text)


def strip_emails(text: str) -> str:
    """Removes e-mail addresses (Unicode local parts and domains included)."""
    return _EMAIL.sub(" ", text)


def strip_mentions(text: str) -> str:
    """Removes @handles (not the @ inside an e-mail address, which strip_emails removes first)."""
    return _MENTION.sub(" ", text)


def strip_control(text: str) -> str:
    """Removes control and invisible formatting characters, keeping ZWNJ/ZWJ and whitespace (collapsed later)."""
    return "".join(char for char in text
                   if char.isspace() or char in _KEEP_FORMAT or unicodedata.category(char) not in ("Cc", "Cf"))


def collapse_whitespace(text: str) -> str:
    """Turns every run of Unicode whitespace into one space and trims both ends."""
    return _WHITESPACE.sub(" ", text).strip()


_REMOVALS = (
    ("html", strip_html),
    ("url", strip_urls),
    ("email", strip_emails),
    ("mention", strip_mentions),
    ("control", strip_control),
)


def clean_text(text: str, lang: str) -> Tuple[str, List[str]]:
    """Normalises, collapses whitespace, then applies every removal rule; returns the text and the names of
    the rules that changed it. `whitespace` names irregular spacing in the input itself, not the gaps a
    removal leaves (those are collapsed as part of that removal)."""
    changed = []
    current = normalise_unicode(text, lang)
    if current != text:
        changed.append("unicode")
    if collapse_whitespace(current) != current:
        changed.append("whitespace")
        current = collapse_whitespace(current)
    for name, rule in _REMOVALS:
        result = collapse_whitespace(rule(current))
        if result != current:
            changed.append(name)
        current = result
    return current, changed


def dedup_key(text: str) -> str:
    """The key under which two texts count as the same: NFKC, case-folded, without punctuation or spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    key = "".join(char for char in folded if not unicodedata.category(char).startswith(("P", "Z")))
    return key or folded
