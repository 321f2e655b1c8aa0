"""Translation groups of the bundled corpus: which lines of different language folders say the same thing.

chatterbot-corpus files of one topic are largely line-aligned translations across language folders (same
conversation index, same line index), but only in part: some folders are loose rewrites. Position alone is
not trusted: a link between two languages' lines is kept only when their multilingual embeddings agree.
`group_lines` joins, within one topic,
  1. lines at the same position in two languages that are a near copy (cosine >= `copy_threshold`), or that
     are similar (>= `POSITION_FLOOR`) and each among the other's `POSITION_RANK` nearest lines of its
     language and topic (an absolute threshold alone chains the many short, alike lines into one group);
  2. lines of two languages that are each other's nearest neighbour with similarity at least
     `neighbour_threshold` (translations whose position shifted);
  3. lines with the same text once case, punctuation and spacing are ignored (anywhere in the corpus).
Connected lines form one group. The embeddings are computed offline (benchmarks/corpus_alignment.py, with
the frozen multilingual-e5-small); the committed result, `bundled_groups.json`, is what `bundled` reads.
This module is numpy only.
"""

from __future__ import annotations

import collections
import dataclasses
import unicodedata
from typing import Dict, Iterable, List, Sequence, Tuple

import numpy as np

POSITION_FLOOR = 0.80
POSITION_RANK = 3
COPY_THRESHOLD = 0.92
NEIGHBOUR_THRESHOLD = 0.92


@dataclasses.dataclass(frozen=True)
class Line:
    """One corpus line and where it sits: language, topic file stem, label, conversation and line index."""

    lang: str
    stem: str
    label: str
    conversation: int
    index: int
    text: str

    @property
    def position(self) -> Tuple[str, int, int]:
        """The language-independent position: label, conversation, line."""
        return self.label, self.conversation, self.index


def comparable_text(text: str) -> str:
    """Text with case, punctuation, symbols and spacing removed: two lines equal here are copies."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in folded).split())


class Components:
    """Connected components over numbered nodes (union-find with path halving)."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, node: int) -> int:
        """The smallest node of the node's component."""
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def join(self, a: int, b: int) -> None:
        """Puts two nodes in one component."""
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def _by_label_and_lang(lines: Sequence[Line]) -> Dict[str, Dict[str, List[int]]]:
    grouped: Dict[str, Dict[str, List[int]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for number, line in enumerate(lines):
        grouped[line.label][line.lang].append(number)
    return grouped


def _rank_below(lines: Sequence[Line], embeddings: np.ndarray, index: Dict[Tuple[str, str], np.ndarray],
                a: int, b: int, rank: int) -> bool:
    """Whether fewer than `rank` lines of b's language and topic are closer to a than b is."""
    others = index[(lines[a].label, lines[b].lang)]
    return int((embeddings[others] @ embeddings[a] > float(embeddings[a] @ embeddings[b])).sum()) < rank


def position_links(lines: Sequence[Line], embeddings: np.ndarray,
                   copy_threshold: float = COPY_THRESHOLD) -> Iterable[Tuple[int, int]]:
    """Pairs of lines of different languages at the same position that the embeddings confirm (rule 1)."""
    at: Dict[Tuple[str, int, int], List[int]] = collections.defaultdict(list)
    index: Dict[Tuple[str, str], List[int]] = collections.defaultdict(list)
    for number, line in enumerate(lines):
        at[line.position].append(number)
        index[(line.label, line.lang)].append(number)
    arrays = {key: np.array(value) for key, value in index.items()}
    for members in at.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if lines[a].lang == lines[b].lang:
                    continue
                similarity = float(embeddings[a] @ embeddings[b])
                if similarity >= copy_threshold or (
                        similarity >= POSITION_FLOOR
                        and _rank_below(lines, embeddings, arrays, a, b, POSITION_RANK)
                        and _rank_below(lines, embeddings, arrays, b, a, POSITION_RANK)):
                    yield a, b


def neighbour_links(lines: Sequence[Line], embeddings: np.ndarray, threshold: float) -> Iterable[Tuple[int, int]]:
    """Pairs of lines of two languages (same label) that are mutual nearest neighbours above the threshold."""
    for per_lang in _by_label_and_lang(lines).values():
        langs = sorted(per_lang)
        for i, lang_a in enumerate(langs):
            for lang_b in langs[i + 1:]:
                a, b = np.array(per_lang[lang_a]), np.array(per_lang[lang_b])
                similarity = embeddings[a] @ embeddings[b].T
                best_b, best_a = similarity.argmax(axis=1), similarity.argmax(axis=0)
                for row, column in enumerate(best_b):
                    if best_a[column] == row and similarity[row, column] >= threshold:
                        yield int(a[row]), int(b[column])


def group_lines(lines: Sequence[Line], embeddings: np.ndarray, copy_threshold: float = COPY_THRESHOLD,
                neighbour_threshold: float = NEIGHBOUR_THRESHOLD) -> List[int]:
    """A group number per line (0, 1, ... in order of each group's first line); see the module docstring.

    Args:
      lines: every line to group.
      embeddings: one L2-normalised row per line.
      copy_threshold: similarity at which two same-position lines are joined whatever their rank.
      neighbour_threshold: similarity that a mutual-nearest-neighbour link needs.
    """
    components = Components(len(lines))
    for a, b in position_links(lines, embeddings, copy_threshold):
        components.join(a, b)
    for a, b in neighbour_links(lines, embeddings, neighbour_threshold):
        components.join(a, b)
    first_with_text: Dict[str, int] = {}
    for number, line in enumerate(lines):
        key = comparable_text(line.text) or line.text.strip()
        components.join(first_with_text.setdefault(key, number), number)
    numbering: Dict[int, int] = {}
    return [numbering.setdefault(components.find(number), len(numbering)) for number in range(len(lines))]
