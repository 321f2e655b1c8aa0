"""The one RunConfig: paths derived from home in one place, and --set reaching every field."""

import dataclasses

import pytest

from pipeline import configs


def test_for_home_derives_data_and_serving_roots_from_home():
    config = configs.for_home("/srv/n2p")
    assert (config.home, config.data.data_root, config.push.serving_root) == (
        "/srv/n2p", "/srv/n2p/data", "/srv/n2p/serving")
    assert config.pipeline_root == "/srv/n2p/pipeline_root" and config.metadata_path == "/srv/n2p/metadata.sqlite"
    given = configs.for_home("/srv/n2p", data_root="/data", serving_root="/models", model_name="tickets")
    assert (given.data.data_root, given.push.serving_root, given.push.model_name) == ("/data", "/models", "tickets")


def test_the_default_config_is_the_default_home():
    assert configs.for_home() == configs.RunConfig()


def test_set_overrides_section_fields_with_their_types():
    config = configs.with_overrides(configs.RunConfig(), [
        "model.epochs=1", "eval.min_macro_f1=0.7", "model.freeze_embeddings=false", "data.labels=a,b",
        "check.timeout_seconds=30", "gate.min_tokens=2", "push.warmup_per_language=1"])
    assert (config.model.epochs, config.eval.min_macro_f1, config.model.freeze_embeddings) == (1, 0.7, False)
    assert config.data.labels == ("a", "b")
    assert configs.with_overrides(config, ["model.weight_mixes=0.5, 1"]).model.weight_mixes == (0.5, 1.0)
    assert (config.check.timeout_seconds, config.gate.min_tokens, config.push.warmup_per_language) == (30, 2, 1)


def test_set_overrides_top_level_fields():
    config = configs.with_overrides(configs.RunConfig(), ["enable_cache=false", "pipeline_name=tickets"])
    assert (config.enable_cache, config.pipeline_name) == (False, "tickets")


@pytest.mark.parametrize("item, message", [
    ("model.epochs", "not of the form"),
    ("modle.epochs=1", "unknown config section 'modle'.*known: check, cleaning, data"),
    ("model.epoch=1", "unknown field 'epoch' in section 'model'"),
    ("model=1", "unknown field 'model' in the run config"),
    ("enable_cahce=false", "unknown field 'enable_cahce' in the run config"),
    ("model.epochs=three", "'three' is not a number"),
    ("enable_cache=maybe", "expected true or false"),
    ("model.ffn_keep=0", r"model\.ffn_keep must be in \(0, 1\].*got 0"),
    ("model.target_sparsity=1", r"model\.target_sparsity must be in \[0, 1\).*got 1"),
    ("model.weight_mixes=0.5,1.5", r"model\.weight_mixes must be one or more mixes in \(0, 1\]"),
    ("model.learning_rate=-1e-5", r"model\.learning_rate must be > 0, got -1e-05"),
    ("export.int8_outlier_share=0.5", r"export\.int8_outlier_share must be in \[0, 0\.5\).*got 0\.5"),
    ("export.int8_smooth_alpha=1.5", r"export\.int8_smooth_alpha must be in \[0, 1\].*got 1\.5"),
    ("export.batch_size=0", r"export\.batch_size must be > 0, got 0"),
])
def test_bad_overrides_say_what_is_wrong(item, message):
    with pytest.raises(ValueError, match=message):
        configs.with_overrides(configs.RunConfig(), [item])


def test_every_tunable_of_every_section_is_reachable_with_set():
    config = configs.RunConfig()
    for section in dataclasses.fields(config):
        value = getattr(config, section.name)
        if not dataclasses.is_dataclass(value):
            continue
        for field in dataclasses.fields(value):
            current = getattr(value, field.name)
            if isinstance(current, bool):
                raw = str(not current).lower()
            elif isinstance(current, (int, float)) and current is not None:
                raw = str(current)
            else:
                continue
            overridden = configs.with_overrides(config, [f"{section.name}.{field.name}={raw}"])
            assert getattr(getattr(overridden, section.name), field.name) == type(current)(
                raw == "true" if isinstance(current, bool) else raw)


def test_every_bad_model_value_is_named_at_once():
    with pytest.raises(ValueError, match=r"model\.batch_size must be > 0, got 0; model\.epochs must be > 0, got 0"):
        configs.ModelConfig(batch_size=0, epochs=0)
