"""The compiled Kubeflow V2 / Vertex spec, parsed strictly and its data half executed task by task.

The project pipeline is compiled with KubeflowV2DagRunner; the JSON must parse into `pipeline_spec_pb2.PipelineJob`
with unknown fields refused; then each data-half task runs its own compiled command line (no Docker) with a
hand-built ExecutorInput, in dependency order, each task's outputs feeding the next. A broken spec (a wrong
executor path, an artifact type that does not import, a parameter the executor does not accept) fails here.
"""

import json
import os

import pytest
import tensorflow as tf
from google.protobuf import json_format
from tensorflow_metadata.proto.v0 import statistics_pb2

from data import bundled
from pipeline.configs import DataConfig, ModelConfig, RunConfig
from pipeline.runners.kubeflow_tasks import KubeflowTaskError, dependency_order, load_pipeline_job, pipeline_spec, \
    run_tasks
from pipeline.runners.kubeflow_v2 import compile_kubeflow_v2

pytestmark = pytest.mark.engines

LANGUAGES = ("en", "ja")
LABELS = ("food", "greetings", "money")
DATA_HALF = ("SpanExampleGen", "TextCleaner", "StatisticsGen", "CuratedSchemaGen", "ExampleValidator", "DataGate",
             "Transform", "TokenizationGate")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    root = tmp_path_factory.mktemp("kubeflow")
    config = RunConfig(home=str(root / "home"), data=DataConfig(data_root=str(root / "data"), languages=LANGUAGES,
                                                                labels=LABELS),
                       model=ModelConfig(max_seq_length=32))
    rows = bundled.read_corpus(LANGUAGES, LABELS)
    bundled.write_span(rows, config.data.data_root, 1)
    written = compile_kubeflow_v2(config, str(root / "compiled"))
    return root, rows, written["pipeline"]


@pytest.fixture(scope="module")
def executed(compiled):
    root, rows, path = compiled
    job = load_pipeline_job(path)
    return rows, run_tasks(job, DATA_HALF, str(root / "tasks"))


def test_the_spec_parses_strictly_and_a_stray_field_is_refused(compiled, tmp_path):
    _, _, path = compiled
    spec = pipeline_spec(load_pipeline_job(path))
    assert set(DATA_HALF) <= set(spec.root.dag.tasks)
    order = dependency_order(spec, DATA_HALF)
    assert order.index("SpanExampleGen") < order.index("TextCleaner") < order.index("StatisticsGen")
    assert order.index("DataGate") < order.index("Transform") < order.index("TokenizationGate")
    document = json.loads(open(path, encoding="utf-8").read())
    document["pipelineSpec"]["root"]["dag"]["tasks"]["Transform"]["dependentTask"] = ["DataGate"]
    stray = tmp_path / "stray.json"
    stray.write_text(json.dumps(document))
    with pytest.raises(json_format.ParseError, match="dependentTask"):
        load_pipeline_job(str(stray))


def test_a_task_whose_producer_did_not_run_is_refused(compiled, tmp_path):
    _, _, path = compiled
    with pytest.raises(KubeflowTaskError, match="depend on tasks that are not run"):
        run_tasks(load_pipeline_job(path), ["Transform"], str(tmp_path))


def _uri(outputs, task, key):
    (artifact,) = outputs[task].artifacts[key].artifacts
    return artifact.uri


def test_the_data_half_runs_by_its_compiled_command_lines(executed):
    rows, outputs = executed
    assert set(outputs) == set(DATA_HALF)
    examples = outputs["SpanExampleGen"].artifacts["examples"].artifacts[0]
    metadata = json_format.MessageToDict(examples.metadata)
    # The span the preCacheCheck driver resolved, kept on the artifact (as a custom property: Examples has a
    # `span` property of its own, which the executor does not set).
    assert metadata.get("span", metadata.get("custom:span")) == 1
    stats_path = os.path.join(_uri(outputs, "StatisticsGen", "statistics"), "Split-train", "FeatureStats.pb")
    stats = statistics_pb2.DatasetFeatureStatisticsList.FromString(open(stats_path, "rb").read())
    train_rows = stats.datasets[0].num_examples
    assert 0 < train_rows < len(rows)
    gated = _uri(outputs, "DataGate", "gated_schema")
    assert os.listdir(gated)
    transformed = os.path.join(_uri(outputs, "Transform", "transformed_examples"), "Split-train")
    records = list(tf.data.TFRecordDataset([os.path.join(transformed, f) for f in os.listdir(transformed)],
                                           compression_type="GZIP"))
    assert len(records) == train_rows
    example = tf.train.Example.FromString(records[0].numpy())
    assert len(example.features.feature["input_ids"].int64_list.value) == 32
    report = json.load(open(os.path.join(_uri(outputs, "TokenizationGate", "report"), "tokenization.json")))
    assert set(report["per_language"]) == set(LANGUAGES) and not report["problems"]
    assert os.listdir(_uri(outputs, "TokenizationGate", "gated_transform_graph"))
