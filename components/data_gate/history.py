"""The Resolver strategy that hands the DataGate recent statistics of earlier spans, to find the previous span's."""

from __future__ import annotations

from typing import Dict, List, Optional

from tfx import types
from tfx.dsl.components.common import resolver

# The Resolver input holding this run's own statistics (StatisticsGen's output), when it is given one.
CURRENT_KEY = "current"


class RecentArtifactsStrategy(resolver.ResolverStrategy):
    """Resolves up to `limit` newest artifacts per channel, and an empty list (not a failure) when there are
    none: the first run of a pipeline has no history, and that is normal.

    With a `current` channel (this run's statistics), every other channel keeps only artifacts of an earlier span
    than the current one: the history never holds the run's own artifact, so no component gets one artifact under
    two inputs (TFX's legacy launcher, which Airflow runs, cannot record that in MLMD), and a re-run of unchanged
    data resolves the same history (its cache stays valid).
    """

    def __init__(self, limit: int = 20):
        self._limit = limit

    def resolve_artifacts(self, store, input_dict: Dict[str, List[types.Artifact]]
                          ) -> Optional[Dict[str, List[types.Artifact]]]:
        current_spans = [artifact.span for artifact in input_dict.get(CURRENT_KEY, [])]
        resolved = {}
        for key, artifacts in input_dict.items():
            if key != CURRENT_KEY and current_spans:
                artifacts = [artifact for artifact in artifacts if artifact.span < min(current_spans)]
            resolved[key] = sorted(artifacts, key=lambda a: a.id, reverse=True)[: self._limit]
        return resolved
