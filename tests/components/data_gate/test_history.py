"""The statistics-history strategy: newest first, bounded, and never the run's own span (or a later one)."""

from tfx.types import standard_artifacts

from components.data_gate.history import CURRENT_KEY, RecentArtifactsStrategy


def _statistics(artifact_id, span):
    artifact = standard_artifacts.ExampleStatistics()
    artifact.id, artifact.span = artifact_id, span
    return artifact


def test_history_leaves_out_the_current_span_and_keeps_the_newest_earlier_ones():
    current = _statistics(9, 3)
    history = [_statistics(i, span) for i, span in ((1, 1), (2, 2), (4, 2), (5, 3), (7, 4))] + [current]
    resolved = RecentArtifactsStrategy(limit=2).resolve_artifacts(None, {CURRENT_KEY: [current],
                                                                         "statistics": history})
    assert [a.id for a in resolved["statistics"]] == [4, 2]
    assert resolved[CURRENT_KEY] == [current]


def test_without_a_current_channel_every_artifact_counts_and_an_empty_history_is_normal():
    history = [_statistics(i, 1) for i in (3, 1, 2)]
    assert [a.id for a in RecentArtifactsStrategy(limit=5).resolve_artifacts(None, {"statistics": history})[
        "statistics"]] == [3, 2, 1]
    first_run = RecentArtifactsStrategy().resolve_artifacts(None, {CURRENT_KEY: [_statistics(1, 1)],
                                                                   "statistics": [_statistics(1, 1)]})
    assert first_run["statistics"] == []
