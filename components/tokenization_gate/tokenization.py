"""Per-language tokenization statistics of the transformed examples, and the limits they must respect.

  unknown_rate     <unk> pieces / all pieces of the language's rows (pieces before truncation)
  truncation_rate  rows whose pieces did not fit in max_seq_length / rows
  min_tokens       the fewest pieces any row has: a row with no piece at all carries no text to learn from
"""

from __future__ import annotations

import collections
from typing import Dict, Iterable, List, Tuple


def tokenization_stats(rows: Iterable[Tuple[str, int, int, int]]) -> Dict[str, Dict[str, float]]:
    """Aggregates (lang, token_count, unknown_count, truncated) rows into per-language statistics."""
    totals: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    shortest: Dict[str, int] = {}
    for lang, tokens, unknown, truncated in rows:
        counter = totals[lang]
        counter["rows"] += 1
        counter["pieces"] += tokens
        counter["unknown"] += unknown
        counter["truncated"] += truncated
        shortest[lang] = min(shortest.get(lang, tokens), tokens)
    return {lang: {"rows": c["rows"], "pieces": c["pieces"], "unknown_pieces": c["unknown"],
                   "truncated_rows": c["truncated"],
                   "unknown_rate": c["unknown"] / c["pieces"] if c["pieces"] else 0.0,
                   "truncation_rate": c["truncated"] / c["rows"],
                   "mean_tokens": c["pieces"] / c["rows"], "min_tokens": shortest[lang]}
            for lang, c in sorted(totals.items())}


def tokenization_problems(stats: Dict[str, Dict[str, float]], max_unknown_rate: float,
                          max_truncation_rate: float, min_tokens: int) -> List[str]:
    """One message per language and limit exceeded (config.gate.max_unknown_rate / max_truncation_rate)."""
    problems = []
    for lang, values in stats.items():
        if values["unknown_rate"] > max_unknown_rate:
            problems.append(f"language {lang!r}: <unk> rate {values['unknown_rate']:.3f} is above "
                            f"config.gate.max_unknown_rate={max_unknown_rate}")
        if values["truncation_rate"] > max_truncation_rate:
            problems.append(f"language {lang!r}: truncation rate {values['truncation_rate']:.3f} is above "
                            f"config.gate.max_truncation_rate={max_truncation_rate} (raise config.model.max_seq_length)")
        if values["min_tokens"] < min_tokens:
            problems.append(f"language {lang!r}: a row has {values['min_tokens']} tokens, fewer than {min_tokens}")
    return problems


def render_stats(stats: Dict[str, Dict[str, float]]) -> str:
    """A small table: language, rows, mean tokens, unknown rate, truncation rate."""
    lines = [f"{'lang':8} {'rows':>6} {'tokens':>7} {'unk':>7} {'trunc':>7}"]
    for lang, v in stats.items():
        lines.append(f"{lang:8} {v['rows']:>6} {v['mean_tokens']:>7.1f} {v['unknown_rate']:>7.3%} "
                     f"{v['truncation_rate']:>7.1%}")
    return "\n".join(lines)
