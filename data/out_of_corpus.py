"""The out-of-corpus test set: hand-written sentences on the bundled topics, none taken from chatterbot-corpus.

`data/out_of_corpus/<lang>.jsonl` (package data beside this module) holds one JSON object per line with the
keys `text`, `label`, `lang` and `style` (`formal`, or `chat`: abbreviations, emoji, slang, typos). Every file
has at least ten sentences per bundled label. The languages are the bundled training languages plus languages
chatterbot-corpus does not train on (fr, ru, ar, tr, hi), in Latin, Cyrillic, Arabic, Devanagari, CJK and
Hangul scripts. The set measures what the pipeline's own eval split cannot: text a user writes, in languages
the model may never have seen labelled.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Iterable, List, Optional, Sequence, Tuple

from data.input_format import fold_language

FOLDER = os.path.join(os.path.dirname(__file__), "out_of_corpus")
STYLES = ("formal", "chat")
KEYS = ("text", "label", "lang", "style")


class OutOfCorpusError(ValueError):
    """A file of the set is malformed, or a language that the set does not have was asked for."""


@dataclasses.dataclass(frozen=True)
class Sentence:
    """One hand-written test sentence."""

    text: str
    label: str
    lang: str
    style: str


def languages() -> Tuple[str, ...]:
    """The language codes of the set (one file each), sorted."""
    return tuple(sorted(name[: -len(".jsonl")] for name in os.listdir(FOLDER) if name.endswith(".jsonl")))


def _parse_line(path: str, number: int, line: str) -> Sentence:
    where = f"{os.path.basename(path)}:{number}"
    try:
        value = json.loads(line)
    except ValueError as error:
        raise OutOfCorpusError(f"{where}: invalid JSON ({error})") from error
    if not isinstance(value, dict) or set(value) != set(KEYS) or not all(isinstance(value[k], str) for k in KEYS):
        raise OutOfCorpusError(f"{where}: expected an object with exactly the string keys {', '.join(KEYS)}")
    if value["style"] not in STYLES:
        raise OutOfCorpusError(f"{where}: style {value['style']!r} is not one of {', '.join(STYLES)}")
    return Sentence(**{key: value[key] for key in KEYS})


def read_file(path: str) -> List[Sentence]:
    """The sentences of one JSONL file, in file order; raises OutOfCorpusError on a malformed line."""
    with open(path, encoding="utf-8") as handle:
        return [_parse_line(path, number, line) for number, line in enumerate(handle, start=1) if line.strip()]


def _resolve(wanted: Iterable[str]) -> List[str]:
    by_fold = {fold_language(code): code for code in languages()}
    missing = [code for code in wanted if fold_language(code) not in by_fold]
    if missing:
        raise OutOfCorpusError(f"the out-of-corpus set has no language {', '.join(missing)} "
                               f"(it has {', '.join(languages())})")
    return [by_fold[fold_language(code)] for code in wanted]


def load(langs: Optional[Sequence[str]] = None, labels: Optional[Sequence[str]] = None) -> List[Sentence]:
    """The sentences of the given languages (all when None), optionally only those of the given labels.

    Raises:
      OutOfCorpusError: a language the set does not have, or a malformed file.
    """
    sentences: List[Sentence] = []
    for code in _resolve(langs if langs is not None else languages()):
        sentences += read_file(os.path.join(FOLDER, f"{code}.jsonl"))
    return [s for s in sentences if labels is None or s.label in labels]


def absent_from_training(trained_languages: Sequence[str]) -> Tuple[str, ...]:
    """The set's languages that are not among `trained_languages` (e.g. data.languages minus the held-out ones)."""
    trained = {fold_language(code) for code in trained_languages}
    return tuple(code for code in languages() if fold_language(code) not in trained)
