"""The data half on Beam's portable runner, with the job server and a worker pool in their own processes, gives
the same rows and the same statistics as on the DirectRunner.

The portable run takes the path Flink, Spark and Dataflow take: each Beam component's pipeline is submitted over
the Job API to `pipeline.runners.beam_job_server` and executed by SDK workers that the EXTERNAL worker pool
(`pipeline.runners.beam_worker_pool`) starts as separate processes, two per job.
"""

import glob
import json
import os
import re

import pytest
import tensorflow as tf
from google.protobuf import json_format
from tensorflow_metadata.proto.v0 import statistics_pb2
from tfx import v1 as tfx

from components.text_cleaner.summary import load_summary
from data import bundled
from pipeline import pipeline as pipeline_module
from pipeline.configs import DataConfig, ModelConfig, OpsConfig, RunConfig
from pipeline.runners.beam import beam_args_for
from pipeline.runners.portable import local_portable_services

pytestmark = pytest.mark.engines

LANGUAGES = ("en", "ja", "fa")
LABELS = ("food", "greetings", "money")
WORKERS = 2
# The Beam components of the data half: each one is a job on the portable runner.
BEAM_COMPONENTS = ("SpanExampleGen", "StatisticsGen", "Transform")


def _config(root, name, beam_args):
    return RunConfig(home=str(root / name), data=DataConfig(data_root=str(root / "data"), languages=LANGUAGES,
                                                            labels=LABELS),
                     model=ModelConfig(max_seq_length=32), beam_args=tuple(beam_args))


def _run_data_half(config):
    tfx.orchestration.LocalDagRunner().run(tfx.dsl.Pipeline(
        pipeline_name="data-half", pipeline_root=config.pipeline_root,
        components=pipeline_module._data_half(config), enable_cache=False,
        beam_pipeline_args=list(config.beam_args),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            config.metadata_path)))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("portable")
    bundled.write_span(bundled.read_corpus(LANGUAGES, LABELS), str(root / "data"), 1)
    direct = _config(root, "direct", beam_args_for(OpsConfig(), "direct"))
    _run_data_half(direct)
    logs = root / "beam-logs"
    with local_portable_services(str(logs)) as endpoints:
        ops = OpsConfig(beam_job_endpoint=endpoints.job_endpoint, beam_worker_pool=endpoints.worker_pool,
                        beam_workers=WORKERS)
        portable = _config(root, "portable", beam_args_for(ops, "portable"))
        _run_data_half(portable)
    return direct, portable, logs


def _artifact(config, component, output):
    (uri,) = glob.glob(os.path.join(config.pipeline_root, component, output, "*"))
    return uri


def _records_by_split(uri):
    splits = {}
    for folder in sorted(glob.glob(os.path.join(uri, "Split-*"))):
        files = sorted(glob.glob(os.path.join(folder, "*")))
        records = tf.data.TFRecordDataset(files, compression_type="GZIP")
        # Parsed, not raw bytes: a tf.Example's feature map serializes in no fixed order.
        splits[os.path.basename(folder)] = sorted(
            json.dumps(json_format.MessageToDict(tf.train.Example.FromString(record.numpy())), sort_keys=True)
            for record in records)
    return splits


def _statistics_by_split(uri):
    splits = {}
    for path in sorted(glob.glob(os.path.join(uri, "Split-*", "FeatureStats.pb"))):
        stats = statistics_pb2.DatasetFeatureStatisticsList.FromString(open(path, "rb").read())
        (dataset,) = stats.datasets
        splits[os.path.basename(os.path.dirname(path))] = (dataset.num_examples, {
            feature.path.step[0]: _feature_summary(feature) for feature in dataset.features})
    return splits


def _feature_summary(feature):
    """What must not depend on how the input was partitioned: counts, distinct values and their frequencies."""
    common = feature.string_stats.common_stats if feature.HasField("string_stats") else feature.num_stats.common_stats
    summary = {"non_missing": common.num_non_missing, "missing": common.num_missing}
    if feature.HasField("string_stats"):
        summary["unique"] = feature.string_stats.unique
        summary["top"] = sorted((v.value, v.frequency) for v in feature.string_stats.top_values)
        summary["avg_length"] = round(feature.string_stats.avg_length, 3)
    else:
        summary.update(min=feature.num_stats.min, max=feature.num_stats.max,
                       mean=round(feature.num_stats.mean, 6))
    return summary


def test_same_examples_and_cleaned_rows(two_runs):
    direct, portable, _ = two_runs
    for component, output in (("SpanExampleGen", "examples"), ("TextCleaner", "cleaned_examples")):
        expected = _records_by_split(_artifact(direct, component, output))
        assert set(expected) == {"Split-train", "Split-eval"} and all(expected.values())
        assert _records_by_split(_artifact(portable, component, output)) == expected, component
    assert load_summary(_artifact(portable, "TextCleaner", "quarantine")) == \
        load_summary(_artifact(direct, "TextCleaner", "quarantine"))


def test_same_statistics(two_runs):
    direct, portable, _ = two_runs
    expected = _statistics_by_split(_artifact(direct, "StatisticsGen", "statistics"))
    assert {split: count for split, (count, _) in expected.items()}["Split-train"] > 0
    assert {"text", "label", "lang"} <= set(expected["Split-train"][1])
    assert _statistics_by_split(_artifact(portable, "StatisticsGen", "statistics")) == expected


def test_same_transformed_examples(two_runs):
    direct, portable, _ = two_runs
    expected = _records_by_split(_artifact(direct, "Transform", "transformed_examples"))
    assert all(expected.values())
    assert _records_by_split(_artifact(portable, "Transform", "transformed_examples")) == expected


def test_the_portable_run_went_through_the_job_server_and_separate_workers(two_runs):
    _, _, logs = two_runs
    server_log = (logs / "beam-job-server.log").read_text()
    pool_log = (logs / "beam-worker-pool.log").read_text()
    done = re.findall(r"Completed job in [\d.]+ seconds with state DONE", server_log)
    # Transform runs two Beam jobs (analyze, then transform), the others one each.
    assert len(done) >= len(BEAM_COMPONENTS), server_log[-3000:]
    assert "FAILED" not in server_log
    workers = re.findall(r"Starting worker with command", pool_log)
    assert len(workers) >= WORKERS * len(done), pool_log[-3000:]
