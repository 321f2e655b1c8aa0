"""The compiled Airflow DAG executed by Airflow: `airflow dags test` runs the whole tiny pipeline end to end.

Airflow 2.10 lives in its own environment (`.venv-airflow`, from requirements-airflow.lock): it moves 7 pins of
the main lock. The test builds it with `make airflow-env` when it is missing (about 75 s on a fresh machine), then
compiles the DAG with the tiny config, runs `airflow db migrate` and `airflow dags test` against a throw-away
AIRFLOW_HOME with SQLite, and checks what Airflow and MLMD recorded and what was pushed.
"""

import datetime
import json
import os
import sqlite3
import subprocess

import pytest
from ml_metadata.proto import metadata_store_pb2
from tfx.dsl.components.common import resolver

from pipeline import metadata_store
from pipeline.pipeline import create_pipeline
from pipeline.runners.airflow import write_airflow_dag
from tiny_run import tiny_config, write_span

pytestmark = pytest.mark.engines

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AIRFLOW_VENV = os.path.join(REPO, ".venv-airflow")
LOGICAL_DATE = "2026-01-02"


@pytest.fixture(scope="module")
def airflow_bin():
    """The Airflow environment's bin folder, built through `make airflow-env` when missing or stale."""
    result = subprocess.run(["make", "-s", "airflow-env"], cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"make airflow-env failed:\n{result.stdout}\n{result.stderr}"
    return os.path.join(AIRFLOW_VENV, "bin")


def _airflow_environment(airflow_home, dags, bin_dir):
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home}/airflow.db",
        # TF and TFX import in more than Airflow's 30 s default on a busy 2-core machine.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
        "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
        "PYTHONPATH": REPO,
        "TF_USE_LEGACY_KERAS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    })
    return env


def _airflow(bin_dir, env, *args, timeout):
    log = os.path.join(env["AIRFLOW_HOME"], f"{args[0]}-{args[1]}.log")
    with open(log, "w", encoding="utf-8") as handle:
        result = subprocess.run([os.path.join(bin_dir, "airflow"), *args], env=env, stdout=handle,
                                stderr=subprocess.STDOUT, timeout=timeout)
    with open(log, encoding="utf-8") as handle:
        tail = handle.read()[-6000:]
    assert result.returncode == 0, f"airflow {' '.join(args)} failed:\n{tail}"


@pytest.fixture(scope="module")
def dag_run(airflow_bin, tmp_path_factory):
    root = tmp_path_factory.mktemp("airflow")
    config = tiny_config(str(root / "home"))
    write_span(config.data.data_root, 1)
    dags = root / "dags"
    write_airflow_dag(config, str(dags), start_date=datetime.date(2026, 1, 1))
    env = _airflow_environment(root / "airflow-home", dags, airflow_bin)
    os.makedirs(env["AIRFLOW_HOME"])
    _airflow(airflow_bin, env, "db", "migrate", timeout=300)
    _airflow(airflow_bin, env, "dags", "test", config.pipeline_name, LOGICAL_DATE, timeout=900)
    with sqlite3.connect(os.path.join(env["AIRFLOW_HOME"], "airflow.db")) as db:
        runs = db.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ?", (config.pipeline_name,)).fetchall()
        tasks = dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?",
                                (config.pipeline_name,)).fetchall())
    return config, runs, tasks


def test_every_task_of_the_compiled_dag_succeeded(dag_run):
    config, runs, tasks = dag_run
    assert [state for _, state in runs] == ["success"]
    expected = {component.id for component in create_pipeline(config).components}
    assert set(tasks) == expected
    assert {task: state for task, state in tasks.items() if state != "success"} == {}


def test_mlmd_records_every_component_execution_complete(dag_run):
    config, _, tasks = dag_run
    resolvers = {c.id for c in create_pipeline(config).components if isinstance(c, resolver.Resolver)}
    store = metadata_store.open_store(config.metadata_path)
    states = {execution.properties["component_id"].string_value: execution.last_known_state
              for execution in store.get_executions()}
    assert set(states) == set(tasks)
    # TFX's legacy launcher (Airflow's) records a Resolver's execution as CACHED: it resolves, it does not run.
    assert {node: state for node, state in states.items() if node not in resolvers} == {
        node: metadata_store_pb2.Execution.COMPLETE for node in set(tasks) - resolvers}
    assert {states[node] for node in resolvers} == {metadata_store_pb2.Execution.CACHED}


def test_a_version_was_pushed_by_the_airflow_run(dag_run):
    config, runs, _ = dag_run
    model_dir = os.path.join(config.push.serving_root, config.push.model_name)
    assert sorted(os.listdir(model_dir)) == ["1"]
    with open(os.path.join(model_dir, "1", "assets.extra", "nlp2prod_metadata.json"), encoding="utf-8") as handle:
        pushed = json.load(handle)
    assert pushed["version"] == 1 and pushed["data_spans"] == [1]
    assert os.path.exists(os.path.join(model_dir, "1", "saved_model.pb"))
    # The push is the Airflow run's: MLMD records the VersionPusher execution under the DAG run's id. (TFX's
    # legacy launcher gives executors no pipeline_run_id, so the version's own metadata has none on Airflow.)
    store = metadata_store.open_store(config.metadata_path)
    pusher = [e for e in store.get_executions() if e.properties["component_id"].string_value == "VersionPusher"]
    assert [e.properties["run_id"].string_value for e in pusher] == [runs[0][0]]
