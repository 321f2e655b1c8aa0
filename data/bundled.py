"""The bundled corpus: topic-labelled chat lines of chatterbot-corpus 1.3.3, written in the input format.

Each `<language folder>/<topic>.yml` of the package holds conversations (lists of lines); every line becomes
one row (text, label = normalised topic, lang = ISO code). Language folders and topic names are mapped
through `topics.yaml` beside this module. Lines are written as they are: cleaning (duplicates, noise,
language checks) is the pipeline's job, so it can be seen and counted there.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import importlib.resources
import os
from typing import Dict, Iterable, Iterator, List, Sequence, Tuple

import yaml

from data.input_format import COLUMNS

CORPUS_PACKAGE = "chatterbot_corpus"

# Languages of the bundled corpus (ISO 639-1; zh-Hant kept distinct from zh) and its normalised topics: the
# defaults of pipeline/configs.py's DataConfig. Not every language has every topic (see languages_and_labels).
BUNDLED_LANGUAGES: Tuple[str, ...] = ("en", "it", "ja", "ko", "uk", "zh", "zh-Hant", "fa", "nl", "es", "de", "pt", "sv")
BUNDLED_LABELS: Tuple[str, ...] = (
    "emotion", "food", "greetings", "humor", "literature",
    "money", "movies", "psychology", "science", "sports",
)
# Bundled languages kept out of training by default, so the held-out-language evaluation has a language the
# model never saw labelled (Dutch: Latin script, 9 of the 10 topics, close to the German and English it trains on).
HOLDOUT_LANGUAGES: Tuple[str, ...] = ("nl",)


@dataclasses.dataclass(frozen=True)
class CorpusMapping:
    """Corpus folder -> language code, and file name -> normalised topic."""

    languages: Dict[str, str]
    topics: Dict[str, str]

    def topic(self, file_stem: str) -> str:
        """The normalised topic of a corpus file name (without .yml)."""
        return self.topics.get(file_stem, file_stem.lower())


def load_mapping(path: str = "") -> CorpusMapping:
    """Reads the committed mapping file (data/topics.yaml unless `path` is given)."""
    path = path or os.path.join(os.path.dirname(__file__), "topics.yaml")
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    return CorpusMapping(languages=dict(raw["languages"]), topics=dict(raw["topics"]))


def corpus_root() -> str:
    """The `data/` folder of the installed chatterbot_corpus package."""
    return str(importlib.resources.files(CORPUS_PACKAGE) / "data")


def _lines(conversations: Iterable) -> Iterator[str]:
    for conversation in conversations or []:
        for line in conversation if isinstance(conversation, list) else [conversation]:
            if isinstance(line, str):
                yield line


def _read_document(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=yaml.BaseLoader) or {}


def corpus_lines(root: str = "") -> Iterator[str]:
    """Every line of every topic file of every language folder of the package (mapped or not)."""
    root = root or corpus_root()
    for folder in sorted(os.listdir(root)):
        folder_path = os.path.join(root, folder)
        if not os.path.isdir(folder_path):
            continue
        for file_name in sorted(os.listdir(folder_path)):
            if file_name.endswith(".yml"):
                yield from _lines(_read_document(os.path.join(folder_path, file_name)).get("conversations"))


def read_corpus(languages: Sequence[str], labels: Sequence[str], root: str = "",
                mapping: CorpusMapping | None = None) -> List[Tuple[str, str, str]]:
    """Returns (text, label, lang) rows of the wanted languages and labels, in a stable order.

    Files are parsed with YAML's base loader so every line stays a string ("yes", "1.0" are text, not
    booleans or numbers).
    """
    root = root or corpus_root()
    mapping = mapping or load_mapping()
    rows = []
    for folder, lang in sorted(mapping.languages.items()):
        folder_path = os.path.join(root, folder)
        if lang not in languages or not os.path.isdir(folder_path):
            continue
        for file_name in sorted(os.listdir(folder_path)):
            label = mapping.topic(os.path.splitext(file_name)[0])
            if not file_name.endswith(".yml") or label not in labels:
                continue
            with open(os.path.join(folder_path, file_name), encoding="utf-8") as handle:
                document = yaml.load(handle, Loader=yaml.BaseLoader) or {}
            rows += [(text, label, lang) for text in _lines(document.get("conversations"))]
    return rows


def write_span(rows: Sequence[Tuple[str, str, str]], data_root: str, span: int) -> List[str]:
    """Writes rows as one CSV per language under `<data_root>/span-<span>/`; returns the written paths."""
    span_dir = os.path.join(data_root, f"span-{span}")
    os.makedirs(span_dir, exist_ok=True)
    by_lang: Dict[str, List[Tuple[str, str, str]]] = collections.defaultdict(list)
    for row in rows:
        by_lang[row[2]].append(row)
    paths = []
    for lang, lang_rows in sorted(by_lang.items()):
        path = os.path.join(span_dir, f"chatterbot-{lang}.csv")
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(lang_rows)
        paths.append(path)
    return paths


def count_table(rows: Sequence[Tuple[str, str, str]], languages: Sequence[str], labels: Sequence[str]) -> str:
    """Renders rows per language (lines) and label (columns) as a fixed-width table."""
    counts = collections.Counter((lang, label) for _, label, lang in rows)
    width = max(len(label) for label in labels) + 1
    lines = ["lang".ljust(8) + "".join(label[:width].rjust(width) for label in labels) + "total".rjust(8)]
    for lang in languages:
        cells = [counts[(lang, label)] for label in labels]
        lines.append(lang.ljust(8) + "".join(str(n).rjust(width) for n in cells) + str(sum(cells)).rjust(8))
    totals = [sum(counts[(lang, label)] for lang in languages) for label in labels]
    lines.append("total".ljust(8) + "".join(str(n).rjust(width) for n in totals) + str(sum(totals)).rjust(8))
    return "\n".join(lines)
