"""The whole pipeline, scheduled: two firings on two spans, the second pushes or refuses with reasons, lineage
answers for what was pushed, and a re-run with unchanged inputs reuses the cache.

Tiny on purpose: two languages, three topics, a few hundred generated rows per span and a random 2-layer
Hugging Face BERT checkpoint whose vocabulary covers them (models.encoder.synthetic), so the model half trains in seconds.
"""

import csv
import json
import os
import random

import pytest

from ml_metadata.proto import metadata_store_pb2

from pipeline import configs, lineage, metadata_store
from pipeline.local_runner import run_once
from pipeline.run_history import read_history
from pipeline.schedule import run_schedule

pytestmark = pytest.mark.e2e

LANGUAGES = ("en", "it")
LABELS = ("food", "money", "sports")
_WORDS = {"en": {"food": "pizza bread soup cheese", "money": "bank coins price cash",
                 "sports": "football tennis goal match"},
          "it": {"food": "pane zuppa formaggio pasta", "money": "banca soldi prezzo conto",
                 "sports": "calcio partita gol squadra"}}
_FILLER = {"en": "the is very nice today we like", "it": "il molto bello oggi noi piace che"}


def _span_rows(seed, per_topic=40):
    rng = random.Random(seed)
    rows = []
    for lang, topics in _WORDS.items():
        for label, words in topics.items():
            for _ in range(per_topic):
                tokens = rng.sample(words.split(), 2) + rng.sample(_FILLER[lang].split(), 3)
                rng.shuffle(tokens)
                rows.append((" ".join(tokens), label, lang))
    return rows


def _write_span(data_root, span):
    folder = os.path.join(data_root, f"span-{span}")
    os.makedirs(folder)
    with open(os.path.join(folder, "rows.csv"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("text", "label", "lang"))
        writer.writerows(_span_rows(span))


def tiny_config(home: str) -> configs.RunConfig:
    """A whole-pipeline config that runs in about a minute on two cores."""
    from models.encoder.synthetic import write_synthetic_hf_bert

    texts = [text for span in (1, 2) for text, _, _ in _span_rows(span)]
    encoder, _ = write_synthetic_hf_bert(os.path.join(home, "tiny-encoder"), texts, max_pieces=300)
    config = configs.RunConfig(home=home, data=configs.DataConfig(data_root=os.path.join(home, "data")),
                               push=configs.PushConfig(serving_root=os.path.join(home, "serving")))
    return configs.with_overrides(config, [
        f"data.languages={','.join(LANGUAGES)}", f"data.labels={','.join(LABELS)}",
        f"model.encoder={encoder}", "model.max_seq_length=16", "model.epochs=1", "model.batch_size=16",
        "model.target_sparsity=0", "model.trim_vocabulary=false",
        "eval.min_macro_f1=0", "eval.min_language_accuracy=0", "eval.regression_tolerance=1.0"])


@pytest.fixture(scope="module")
def scheduled_twice(tmp_path_factory):
    config = tiny_config(str(tmp_path_factory.mktemp("scheduled")))

    def fire(number):
        _write_span(config.data.data_root, number)
        return run_once(config, trigger="schedule")

    return config, run_schedule("* * * * * */1", fire, max_runs=2)


def test_two_firings_on_two_spans_push_or_refuse_with_reasons(scheduled_twice):
    config, (first, second) = scheduled_twice
    assert (first.outcome, first.version, first.spans) == ("pushed", 1, [1]), first.summary()
    assert second.outcome in ("pushed", "refused") and second.spans == [2], second.summary()
    assert second.outcome == "pushed" or second.reasons
    assert [(r.run_id, r.trigger) for r in read_history(config.run_history_path)] == [
        (first.run_id, "schedule"), (second.run_id, "schedule")]


def test_lineage_traces_each_pushed_version(scheduled_twice):
    config, records = scheduled_twice
    for record in (r for r in records if r.outcome == "pushed"):
        traced = lineage.trace_version(config.metadata_path, config.push.serving_root, config.push.model_name,
                                       record.version)
        assert (traced["run_id"], traced["data_spans"]) == (record.run_id, record.spans)
        assert traced["evaluation"]["source"] == "Evaluator" and traced["evaluation"]["blessed"] is True
        assert {"overall", "lang=en", "lang=it"} <= set(traced["evaluation"]["metrics"])
        assert traced["model"]["trained_in_run"] == record.run_id
        expected_baseline = None if record.version == 1 else 1
        assert traced["baseline"]["version"] == expected_baseline
        json.dumps(traced)


def test_rerun_with_unchanged_inputs_reuses_the_cache(scheduled_twice):
    config, _ = scheduled_twice
    before = sorted(os.listdir(os.path.join(config.push.serving_root, config.push.model_name)))
    cached = run_once(config, trigger="manual")
    assert sorted(os.listdir(os.path.join(config.push.serving_root, config.push.model_name))) == before
    assert cached.outcome == "refused", cached.summary()
    assert any("already version" in reason for reason in cached.reasons), cached.reasons
    executions = metadata_store.run_executions(metadata_store.open_store(config.metadata_path), cached.run_id)
    expensive = ("SpanExampleGen", "TextCleaner", "StatisticsGen", "DataGate", "Transform", "TokenizationGate",
                 "Trainer", "ServingCheck")
    assert {node: executions[node].last_known_state for node in expensive} == {
        node: metadata_store_pb2.Execution.CACHED for node in expensive}
