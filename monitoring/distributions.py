"""Distributions and the distances between them (TFDV's comparators: L-infinity and Jensen-Shannon)."""

from __future__ import annotations

import bisect
import collections
import math
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

# Text length bins in characters: chat lines are short, documents long.
LENGTH_EDGES: Tuple[int, ...] = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512)


def shares(values: Iterable[str]) -> Dict[str, float]:
    """Share of each value among `values` (empty for no values)."""
    counts = collections.Counter(values)
    total = sum(counts.values())
    return {key: count / total for key, count in sorted(counts.items())} if total else {}


def normalise(counts: Mapping[str, float]) -> Dict[str, float]:
    """Counts → shares."""
    total = float(sum(counts.values()))
    return {key: value / total for key, value in counts.items()} if total > 0 else {}


def length_bin_labels() -> List[str]:
    """Names of the length bins, e.g. "<8", "8-15", ..., ">=512"."""
    edges = LENGTH_EDGES
    return [f"<{edges[0]}"] + [f"{low}-{high - 1}" for low, high in zip(edges, edges[1:])] + [f">={edges[-1]}"]


def length_histogram(lengths: Sequence[int]) -> List[float]:
    """Shares of `lengths` per length bin (all zero for no lengths)."""
    counts = [0] * (len(LENGTH_EDGES) + 1)
    for length in lengths:
        counts[bisect.bisect_right(LENGTH_EDGES, length)] += 1
    total = sum(counts)
    return [c / total for c in counts] if total else [0.0] * len(counts)


def l_infinity(current: Mapping[str, float], reference: Mapping[str, float]) -> Tuple[float, str]:
    """Largest absolute difference of shares, and the value where it is (TFDV's infinity_norm)."""
    keys = sorted(set(current) | set(reference))
    if not keys:
        return 0.0, ""
    worst = max(keys, key=lambda k: (abs(current.get(k, 0.0) - reference.get(k, 0.0)), k))
    return abs(current.get(worst, 0.0) - reference.get(worst, 0.0)), worst


def jensen_shannon(current: Sequence[float], reference: Sequence[float]) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of two histograms over the same bins."""
    if len(current) != len(reference):
        raise ValueError(f"histograms of {len(current)} and {len(reference)} bins cannot be compared")
    p, q = _normalised(current), _normalised(reference)
    if not p or not q:
        return 0.0
    mixture = [(a + b) / 2 for a, b in zip(p, q)]
    return max(0.0, (_kl(p, mixture) + _kl(q, mixture)) / 2)


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (nearest rank) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))])


def _normalised(values: Sequence[float]) -> List[float]:
    total = float(sum(values))
    return [v / total for v in values] if total > 0 else []


def _kl(p: Sequence[float], q: Sequence[float]) -> float:
    return sum(a * math.log2(a / b) for a, b in zip(p, q) if a > 0)
