"""The Resolver strategy that hands the DataGate recent statistics, to find the previous span's among them."""

from __future__ import annotations

from typing import Dict, List, Optional

from tfx import types
from tfx.dsl.components.common import resolver


class RecentArtifactsStrategy(resolver.ResolverStrategy):
    """Resolves up to `limit` newest artifacts per channel, and an empty list (not a failure) when there are
    none: the first run of a pipeline has no history, and that is normal."""

    def __init__(self, limit: int = 20):
        self._limit = limit

    def resolve_artifacts(self, store, input_dict: Dict[str, List[types.Artifact]]
                          ) -> Optional[Dict[str, List[types.Artifact]]]:
        return {key: sorted(artifacts, key=lambda a: a.id, reverse=True)[: self._limit]
                for key, artifacts in input_dict.items()}
