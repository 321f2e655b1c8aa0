"""Session fixtures: the training reference (real StatisticsGen output), held-out and untrained traffic, and
the classifier that answers it — built once, they take most of the monitoring tests' time."""

import pytest

from benchmarks import monitoring_traffic as support
from monitoring.config import MonitorConfig
from monitoring.reference import build_reference


@pytest.fixture(scope="session")
def training(tmp_path_factory):
    """(examples uri, statistics uri, training rows, held-out rows) of the bundled corpus."""
    root = tmp_path_factory.mktemp("training")
    train, held_out = support.split_corpus()
    examples, statistics = str(root / "examples"), str(root / "statistics")
    support.write_examples(train, examples)
    support.run_statistics_gen(examples, statistics)
    return examples, statistics, train, held_out


@pytest.fixture(scope="session")
def reference(training):
    examples, statistics, _, _ = training
    return build_reference(statistics, examples, MonitorConfig().languages)


@pytest.fixture(scope="session")
def traffic_model(training):
    return support.TrafficModel(training[2])


@pytest.fixture(scope="session")
def untrained_rows():
    return support.corpus(support.UNTRAINED)
