"""`nlp2prod compile`: each target compiled offline into a temp dir, its structure checked.

Airflow is not installed (the DAG file is generated source, checked by parsing it); Kubeflow V2 compiles for real
with KubeflowV2DagRunner when the KFP pipeline-spec protos are installed.
"""

import ast
import dataclasses
import json
import os

import pytest
import yaml

from pipeline import compile_cli, configs, run_cli
from pipeline.runners.kubeflow_v2 import KubeflowCompileUnsupported, compile_kubeflow_v2
from toy_pipeline import toy_pipeline_factory


def _config_of(argv):
    return compile_cli.compile_config(compile_cli.build_parser().parse_args(argv))


def _module_assignments(tree):
    return {node.targets[0].id: node.value for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}


def test_airflow_dag_file_builds_our_pipeline_with_the_schedule(tmp_path, capsys):
    argv = ["--target", "airflow", "--out", str(tmp_path), "--home", "/srv/nlp2prod",
            "--schedule", "*/30 * * * *", "--set", "model.epochs=1", "--beam", "multiprocess"]
    assert compile_cli.main(argv) == 0
    path = tmp_path / "nlp2prod_dag.py"
    assert f"wrote airflow dag {path}" in capsys.readouterr().out
    tree = ast.parse(path.read_text())
    imported = {(node.module, alias.name) for node in tree.body if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert {("tfx.orchestration.airflow.airflow_dag_runner", "AirflowDagRunner"),
            ("tfx.orchestration.airflow.airflow_dag_runner", "AirflowPipelineConfig"),
            ("pipeline.pipeline", "create_pipeline"), ("pipeline.configs", "config_from_dict")} <= imported
    assigned = _module_assignments(tree)
    embedded = configs.config_from_dict(ast.literal_eval(assigned["RUN_CONFIG"].args[0]))
    assert embedded == _config_of(argv)
    assert embedded.model.epochs == 1 and "--direct_running_mode=multi_processing" in embedded.beam_args
    dag_config = {ast.literal_eval(k): v for k, v in zip(assigned["AIRFLOW_DAG_CONFIG"].keys,
                                                         assigned["AIRFLOW_DAG_CONFIG"].values)}
    assert ast.literal_eval(dag_config["schedule"]) == "*/30 * * * *"
    assert ast.literal_eval(dag_config["catchup"]) is False
    assert ast.literal_eval(dag_config["max_active_runs"]) == 1
    run_call = assigned["DAG"]
    assert run_call.func.attr == "run" and run_call.func.value.func.id == "AirflowDagRunner"
    assert run_call.args[0].func.id == "create_pipeline"


def test_cronjob_runs_nlp2prod_run_with_the_same_config(tmp_path):
    argv = ["--target", "cronjob", "--out", str(tmp_path), "--schedule", "15 2 * * 1", "--image", "reg/nlp2prod:7",
            "--set", "data.languages=en,it", "--set", "eval.min_macro_f1=0.6", "--beam", "flink",
            "--namespace", "ml"]
    assert compile_cli.main(argv) == 0
    claim, cronjob = list(yaml.safe_load_all((tmp_path / "cronjob.yaml").read_text()))
    assert (claim["kind"], cronjob["kind"], cronjob["apiVersion"]) == ("PersistentVolumeClaim", "CronJob", "batch/v1")
    spec = cronjob["spec"]
    assert spec["schedule"] == "15 2 * * 1" and spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "reg/nlp2prod:7" and container["command"] == ["nlp2prod", "run"]
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert claims == {"home": claim["metadata"]["name"], "models": "nlp2prod-models"}
    assert mounts == {"home": "/workspace/.nlp2prod", "models": "/models"}
    rebuilt = run_cli.config_from_args(run_cli.build_parser().parse_args(container["args"]))
    expected = _config_of(argv)
    assert rebuilt.push.serving_root == "/models"
    assert rebuilt.replace(beam_args=expected.beam_args, push=expected.push) == expected
    assert rebuilt.ops.beam_target == "flink"


def test_cronjob_with_an_explicit_serving_root_keeps_it(tmp_path):
    argv = ["--target", "cronjob", "--out", str(tmp_path), "--serving-root", "/mnt/shared/models"]
    assert compile_cli.main(argv) == 0
    cronjob = list(yaml.safe_load_all((tmp_path / "cronjob.yaml").read_text()))[1]
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    rebuilt = run_cli.config_from_args(run_cli.build_parser().parse_args(container["args"]))
    assert rebuilt == _config_of(argv)
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/workspace/.nlp2prod"]


def test_bad_requests_print_one_line(tmp_path, capsys):
    assert compile_cli.main(["--target", "cronjob", "--out", str(tmp_path), "--schedule", "daily"]) == 2
    assert compile_cli.main(["--target", "kubeflow", "--out", str(tmp_path), "--home", "/local/dir"]) == 2
    assert compile_cli.main(["--target", "airflow", "--out", str(tmp_path), "--home", "/a", "--beam", "dataflow"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3
    assert "'daily' is not a valid cron expression" in errors[0]
    assert "must be a gs://" in errors[1] and "needs ops.gcp_project" in errors[2]


def test_kubeflow_v2_pipeline_json_and_vertex_schedule(tmp_path):
    pytest.importorskip("kfp.pipeline_spec", reason="kfp-pipeline-spec==0.2.2 is needed to compile for Kubeflow V2")
    config = _config_of(["--target", "kubeflow", "--out", str(tmp_path), "--home", "gs://bucket/nlp2prod",
                         "--image", "reg/nlp2prod:7", "--schedule", "0 4 * * *", "--set", "ops.gcp_project=proj",
                         "--beam", "multiprocess"])
    written = compile_kubeflow_v2(config, str(tmp_path), toy_pipeline_factory())
    job = json.loads(open(written["pipeline"]).read())
    spec = job["pipelineSpec"]
    assert spec["pipelineInfo"]["name"] == "nlp2prod" and spec["schemaVersion"] == "2.1.0"
    assert set(spec["root"]["dag"]["tasks"]) == {"ReadSpan", "Hold", "ToyPusher"}
    assert spec["root"]["dag"]["tasks"]["ToyPusher"]["dependentTasks"] == ["Hold"]
    for executor in spec["deploymentSpec"]["executors"].values():
        assert executor["container"]["image"] == "reg/nlp2prod:7"
        assert "--direct_running_mode=multi_processing" in executor["container"]["args"]
    assert job["runtimeConfig"]["gcsOutputDirectory"] == "gs://bucket/nlp2prod/pipeline_root"
    request = json.loads(open(written["schedule"]).read())
    assert request["cron"] == "0 4 * * *" and request["maxConcurrentRunCount"] == "1"
    assert request["createPipelineJobRequest"]["parent"] == "projects/proj/locations/us-central1"
    assert request["createPipelineJobRequest"]["pipelineJob"]["pipelineSpec"] == spec


def test_kubeflow_v2_compiles_the_project_pipeline(tmp_path):
    pytest.importorskip("kfp.pipeline_spec", reason="kfp-pipeline-spec==0.2.2 is needed to compile for Kubeflow V2")
    from pipeline.pipeline import create_pipeline

    argv = ["--target", "kubeflow", "--out", str(tmp_path), "--home", "gs://bucket/nlp2prod"]
    compile_cli.emit("kubeflow", _config_of(argv), str(tmp_path))
    tasks = json.loads((tmp_path / "pipeline.json").read_text())["pipelineSpec"]["root"]["dag"].get("tasks", {})
    config = _config_of(argv)
    without_drift = config.replace(gate=dataclasses.replace(config.gate, check_drift=False))
    # Kubeflow V2 splits the LatestBlessedModel resolver into one task per channel ("<id>-<channel>-resolver").
    assert {task.split("-")[0] for task in tasks} == {c.id for c in create_pipeline(without_drift).components}
    assert "PreviousStatistics" not in tasks  # the span-history resolver is a custom strategy
    assert os.path.exists(tmp_path / "schedule.json")


def test_kubeflow_refusal_names_every_blocking_node(tmp_path):
    import types

    from tfx.dsl.components.common import resolver
    from tfx.types import artifact, channel, standard_artifacts

    from pipeline.runners.kubeflow_v2 import check_kubeflow_compatible
    from toy_pipeline import ToyPusher

    class OddName(artifact.Artifact):
        TYPE_NAME = "OddName"

    class RecentStrategy(resolver.ResolverStrategy):
        def resolve_artifacts(self, store, input_dict):
            return input_dict

    toy = toy_pipeline_factory()(_config_of(["--target", "kubeflow", "--out", str(tmp_path), "--home", "gs://b/x"]))
    history = resolver.Resolver(strategy_class=RecentStrategy,
                                statistics=channel.Channel(type=standard_artifacts.ExampleStatistics)).with_id("History")
    odd = ToyPusher(held=toy.components[1].outputs["held"], serving_root="gs://b/s", model_name="m").with_id("Odd")
    odd.outputs["pushed_model"].type = OddName
    check_kubeflow_compatible(toy)
    with pytest.raises(KubeflowCompileUnsupported) as refused:
        check_kubeflow_compatible(types.SimpleNamespace(components=toy.components + [history, odd]))
    message = str(refused.value)
    assert "node History: only a Resolver with LatestArtifactStrategy" in message
    assert "node Odd output 'pushed_model': artifact type name 'OddName' must look like" in message
