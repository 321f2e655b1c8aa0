"""The bundled corpus: topic-labelled chat lines of chatterbot-corpus 1.3.3, written in the input format.

Each `<language folder>/<topic>.yml` of the package holds conversations (lists of lines); every line becomes
one row (text, label = normalised topic, lang = ISO code, group = its translation group). Language folders
and topic names are mapped through `topics.yaml` beside this module; the translation groups (lines of other
language folders that say the same thing, see alignment.py) come from `bundled_groups.json`. Lines are
written as they are: cleaning (duplicates, noise, language checks) is the pipeline's job, so it can be seen
and counted there.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import importlib.resources
import json
import os
from typing import Dict, Iterable, Iterator, List, NamedTuple, Sequence, Tuple

import yaml

from data import alignment
from data.alignment import Line
from data.input_format import COLUMNS, GROUP

CORPUS_PACKAGE = "chatterbot_corpus"
GROUPS_FILE = os.path.join(os.path.dirname(__file__), "bundled_groups.json")

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


class CorpusRow(NamedTuple):
    """One bundled row in the input format, with its split group."""

    text: str
    label: str
    lang: str
    group: str


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


def _positioned(conversations: Iterable) -> Iterator[Tuple[int, int, str]]:
    """(conversation index, line index, text) of every string line; a bare string is a one-line conversation."""
    for conversation_index, conversation in enumerate(conversations or []):
        lines = conversation if isinstance(conversation, list) else [conversation]
        for line_index, line in enumerate(lines):
            if isinstance(line, str):
                yield conversation_index, line_index, line


def _read_document(path: str) -> dict:
    # YAML's base loader keeps every line a string ("yes", "1.0" are text, not booleans or numbers).
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
                document = _read_document(os.path.join(folder_path, file_name))
                yield from (text for _, _, text in _positioned(document.get("conversations")))


def read_lines(languages: Sequence[str], labels: Sequence[str], root: str = "",
               mapping: CorpusMapping | None = None) -> List[Line]:
    """Every line of the wanted languages and labels with its position, in a stable order."""
    root = root or corpus_root()
    mapping = mapping or load_mapping()
    lines = []
    for folder, lang in sorted(mapping.languages.items()):
        folder_path = os.path.join(root, folder)
        if lang not in languages or not os.path.isdir(folder_path):
            continue
        for file_name in sorted(os.listdir(folder_path)):
            stem = os.path.splitext(file_name)[0]
            label = mapping.topic(stem)
            if not file_name.endswith(".yml") or label not in labels:
                continue
            document = _read_document(os.path.join(folder_path, file_name))
            lines += [Line(lang, stem, label, conversation, index, text)
                      for conversation, index, text in _positioned(document.get("conversations"))]
    return lines


def read_corpus(languages: Sequence[str], labels: Sequence[str], root: str = "",
                mapping: CorpusMapping | None = None) -> List[Tuple[str, str, str]]:
    """Returns (text, label, lang) rows of the wanted languages and labels, in a stable order."""
    return [(line.text, line.label, line.lang) for line in read_lines(languages, labels, root, mapping)]


def load_groups(path: str = "") -> Dict[str, Dict[str, List[int]]]:
    """The committed translation groups: lang -> topic file stem -> group number per line, in file order."""
    with open(path or GROUPS_FILE, encoding="utf-8") as handle:
        return json.load(handle)


def _named_groups(lines: Sequence[Line], groups: Dict[str, Dict[str, List[int]]]) -> List[str]:
    files = collections.Counter((line.lang, line.stem) for line in lines)
    for (lang, stem), count in files.items():
        numbers = groups.get(lang, {}).get(stem)
        if numbers is not None and len(numbers) != count:
            raise ValueError(f"bundled_groups.json has {len(numbers)} lines for {lang}/{stem}.yml, the corpus "
                             f"{count}: it was made for another chatterbot-corpus version")
    offsets: Dict[Tuple[str, str], int] = collections.Counter()
    named = []
    for line in lines:
        numbers = groups.get(line.lang, {}).get(line.stem)
        named.append(f"cc{numbers[offsets[(line.lang, line.stem)]]}" if numbers is not None
                     else f"{line.label}/{line.lang}/{line.conversation}/{line.index}")
        offsets[(line.lang, line.stem)] += 1
    return named


def line_groups(lines: Sequence[Line], groups: Dict[str, Dict[str, List[int]]]) -> List[str]:
    """The split group of each line: its translation group where bundled_groups.json has the line's file,
    else one of its own (`<label>/<lang>/<conversation>/<line>`); groups sharing a text are then joined.

    Lines must be in file order per file (as `read_lines` returns them, any subset of whole files).
    """
    named = _named_groups(lines, groups)
    components = alignment.Components(len(lines))
    first: Dict[str, int] = {}
    for number, (line, group) in enumerate(zip(lines, named)):
        components.join(first.setdefault("group:" + group, number), number)
        text = alignment.comparable_text(line.text) or line.text.strip()
        components.join(first.setdefault("text:" + text, number), number)
    return [named[components.find(number)] for number in range(len(lines))]


def read_rows(languages: Sequence[str], labels: Sequence[str], root: str = "",
              mapping: CorpusMapping | None = None, groups_path: str = "") -> List[CorpusRow]:
    """Rows (text, label, lang, group) of the wanted languages and labels, in a stable order."""
    lines = read_lines(languages, labels, root, mapping)
    groups = line_groups(lines, load_groups(groups_path))
    return [CorpusRow(line.text, line.label, line.lang, group) for line, group in zip(lines, groups)]


def languages_and_labels(languages: Sequence[str] = BUNDLED_LANGUAGES, labels: Sequence[str] = BUNDLED_LABELS,
                         root: str = "", mapping: CorpusMapping | None = None) -> Dict[str, Tuple[str, ...]]:
    """The labels each bundled language has rows for (per-language metrics cover these labels only)."""
    have: Dict[str, set] = collections.defaultdict(set)
    for line in read_lines(languages, labels, root, mapping):
        have[line.lang].add(line.label)
    return {lang: tuple(label for label in labels if label in have[lang]) for lang in languages if have[lang]}


def write_span(rows: Sequence[Sequence[str]], data_root: str, span: int) -> List[str]:
    """Writes rows as one CSV per language under `<data_root>/span-<span>/`; returns the written paths.

    Rows are (text, label, lang) or (text, label, lang, group); with groups the files get a `group` column.
    """
    span_dir = os.path.join(data_root, f"span-{span}")
    os.makedirs(span_dir, exist_ok=True)
    by_lang: Dict[str, List[Sequence[str]]] = collections.defaultdict(list)
    for row in rows:
        by_lang[row[2]].append(row)
    header = COLUMNS + (GROUP,) if rows and len(rows[0]) > len(COLUMNS) else COLUMNS
    paths = []
    for lang, lang_rows in sorted(by_lang.items()):
        path = os.path.join(span_dir, f"chatterbot-{lang}.csv")
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(lang_rows)
        paths.append(path)
    return paths


def count_table(rows: Sequence[Sequence[str]], languages: Sequence[str], labels: Sequence[str]) -> str:
    """Renders rows per language (lines) and label (columns) as a fixed-width table."""
    counts = collections.Counter((row[2], row[1]) for row in rows)
    width = max(len(label) for label in labels) + 1
    lines = ["lang".ljust(8) + "".join(label[:width].rjust(width) for label in labels) + "total".rjust(8)]
    for lang in languages:
        cells = [counts[(lang, label)] for label in labels]
        lines.append(lang.ljust(8) + "".join(str(n).rjust(width) for n in cells) + str(sum(cells)).rjust(8))
    totals = [sum(counts[(lang, label)] for lang in languages) for label in labels]
    lines.append("total".ljust(8) + "".join(str(n).rjust(width) for n in totals) + str(sum(totals)).rjust(8))
    return "\n".join(lines)
