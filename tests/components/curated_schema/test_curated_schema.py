"""The curated schema: domains from the configuration, validated by TFDV as ExampleValidator does."""

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

from components.curated_schema.schema import curated_schema

SCHEMA = curated_schema(["food", "money"], ["en", "fa"], max_label_drift=0.2, max_language_drift=0.3)


def _stats(**columns):
    return tfdv.generate_statistics_from_dataframe(pd.DataFrame(columns))


def test_domains_presence_and_drift_comparators():
    features = {feature.name: feature for feature in SCHEMA.feature}
    assert sorted(features) == ["label", "lang", "text"]
    assert all(f.presence.min_fraction == 1.0 and f.shape.dim[0].size == 1 for f in features.values())
    assert {d.name: list(d.value) for d in SCHEMA.string_domain} == {"label": ["food", "money"], "lang": ["en", "fa"]}
    assert features["label"].drift_comparator.infinity_norm.threshold == pytest.approx(0.2)
    assert features["lang"].drift_comparator.infinity_norm.threshold == pytest.approx(0.3)


def test_clean_statistics_have_no_anomaly():
    stats = _stats(text=["a", "b"], label=["food", "money"], lang=["en", "fa"])
    assert not tfdv.validate_statistics(stats, SCHEMA).anomaly_info


def test_values_outside_the_domains_are_anomalies():
    stats = _stats(text=["a", "b"], label=["food", "cars"], lang=["en", "de"])
    assert sorted(tfdv.validate_statistics(stats, SCHEMA).anomaly_info) == ["label", "lang"]


def test_empty_configuration_is_refused():
    with pytest.raises(ValueError):
        curated_schema([], ["en"], 0.1, 0.1)
