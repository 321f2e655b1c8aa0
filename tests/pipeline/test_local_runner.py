"""The local runner on the toy pipeline: outcomes, caching, the run lock, failures and recovery after kill -9."""

import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline import metadata_store
from pipeline.configs import DataConfig, PushConfig, RunConfig
from pipeline.local_runner import run_local, run_once
from pipeline.run_history import read_history
from pipeline.run_lock import RunLockHeld, run_lock
from toy_pipeline import toy_pipeline_factory

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def _config(home) -> RunConfig:
    home = str(home)
    return RunConfig(home=home, data=DataConfig(data_root=os.path.join(home, "data")),
                     push=PushConfig(serving_root=os.path.join(home, "serving")))


def _add_span(config, span):
    os.makedirs(os.path.join(config.data.data_root, f"span-{span}"))


def _states(config):
    store = metadata_store.open_store(config.metadata_path, read_only=True)
    return [e.last_known_state for e in store.get_executions()]


def test_push_then_cached_rerun_then_new_span(tmp_path):
    config = _config(tmp_path)
    _add_span(config, 1)
    first = run_local(config, toy_pipeline_factory())
    assert (first.outcome, first.version, first.spans) == ("pushed", 1, [1])
    again = run_local(config, toy_pipeline_factory())
    assert again.outcome == "refused" and "reused from the cache" in again.reasons[0]
    _add_span(config, 2)
    second = run_local(config, toy_pipeline_factory())
    assert (second.outcome, second.version, second.spans) == ("pushed", 2, [2])
    assert [r.run_id for r in read_history(config.run_history_path)] == [first.run_id, again.run_id, second.run_id]


def test_run_while_another_holds_the_lock_is_refused_and_recorded(tmp_path):
    config = _config(tmp_path)
    _add_span(config, 1)
    with run_lock(config.run_lock_path, run_id="the-other-run"):
        skipped = run_once(config, toy_pipeline_factory())
        with pytest.raises(RunLockHeld, match=f"pid {os.getpid()}.*run the-other-run"):
            run_local(config, toy_pipeline_factory())
    assert skipped.outcome == "skipped" and "the-other-run" in skipped.reasons[0]
    assert [r.outcome for r in read_history(config.run_history_path)] == ["skipped", "skipped"]
    assert not os.path.exists(config.push.serving_root)


def test_failed_component_raises_its_error_and_is_recorded(tmp_path):
    config = _config(tmp_path)
    _add_span(config, 1)
    with pytest.raises(ValueError, match="span-1 has no rows"):
        run_local(config, toy_pipeline_factory(fail_with="span-1 has no rows"))
    record = read_history(config.run_history_path)[-1]
    assert (record.outcome, record.failed_component) == ("failed", "Hold")
    assert record.error == "ValueError: span-1 has no rows" and record.spans == [1]
    assert not os.path.exists(config.push.serving_root)


def test_gate_stop_is_a_refusal_with_its_reasons(tmp_path):
    config = _config(tmp_path)
    _add_span(config, 1)
    record = run_once(config, toy_pipeline_factory(refuse_with="language 'ko' drifted by 0.4"))
    assert (record.outcome, record.failed_component) == ("refused", "Hold")
    assert record.reasons == ["Hold: language 'ko' drifted by 0.4"]
    assert not os.path.exists(config.push.serving_root)


def test_pusher_refusal_reasons_come_from_its_report(tmp_path):
    config = _config(tmp_path)
    _add_span(config, 1)
    record = run_once(config, toy_pipeline_factory(push_refusal="model gate: macro_f1 overall: 0.41 < floor 0.5"))
    assert record.outcome == "refused"
    assert record.reasons == ["ToyPusher: model gate: macro_f1 overall: 0.41 < floor 0.5"]


def test_staging_left_by_a_killed_push_is_removed_under_the_lock(tmp_path):
    config = _config(tmp_path)
    _add_span(config, 1)
    stale = tmp_path / "serving" / "nlp2prod" / ".staging-k1ll3d"
    (stale / "version" / "variables").mkdir(parents=True)
    record = run_local(config, toy_pipeline_factory())
    assert record.removed_staging == [str(stale)] and not stale.exists()
    assert os.listdir(tmp_path / "serving" / "nlp2prod") == ["1"]


def test_kill_9_mid_run_then_next_run_recovers(tmp_path):
    config = _config(tmp_path)
    _add_span(config, 1)
    flag = tmp_path / "holding"
    script = ("from pipeline.configs import *\nfrom pipeline.local_runner import run_local\n"
              "from toy_pipeline import toy_pipeline_factory\n"
              f"home = {str(tmp_path)!r}\n"
              "run_local(RunConfig(home=home, data=DataConfig(data_root=home + '/data'),"
              " push=PushConfig(serving_root=home + '/serving')),"
              f" toy_pipeline_factory(hold_seconds=120, flag_file={str(flag)!r}))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([REPO, HERE])}
    victim = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists() and victim.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert flag.exists(), "the run never reached its second component"
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
    assert metadata_store.mlmd.Execution.RUNNING in _states(config)

    record = run_local(config, toy_pipeline_factory())
    assert record.outcome == "pushed" and record.version == 1 and record.recovered_executions
    assert metadata_store.mlmd.Execution.RUNNING not in _states(config)
    dead, recovered = read_history(config.run_history_path)
    assert dead.outcome == "failed" and f"pid {victim.pid}" in dead.error and dead.failed_component == "Hold"
    assert recovered.run_id == record.run_id
    assert os.listdir(os.path.join(config.push.serving_root, config.push.model_name)) == ["1"]
