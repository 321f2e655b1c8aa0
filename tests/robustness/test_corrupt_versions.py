"""Truncated and corrupt version dirs next to a healthy version, under sustained load.

For every kind of damage a newer version dir may carry, the server must: never serve the damaged version, show
why in its status (or not list it at all when it is not a version yet), keep answering every request with the
healthy version (0 failures), and answer requests addressed to the damaged version with a clean status.
"""

from __future__ import annotations

import os
import shutil

import grpc
import pytest
from tensorflow_serving.apis import prediction_service_pb2_grpc

from robustness_support import SustainedLoad, install, predict_request, start_server, wait_for
from serving.dataplane import ModelRef
from serving.model_store import State

REQUESTS_AFTER_SETTLING = 300


def _truncate(path: str) -> None:
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.truncate(size // 2)


def _overwrite(path: str, payload: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(payload)


def _variables_data(version_dir: str) -> str:
    folder = os.path.join(version_dir, "variables")
    return os.path.join(folder, next(name for name in os.listdir(folder) if name.startswith("variables.data")))


# name -> (damage applied to a copy of a good version, whether the dir still counts as a version)
DAMAGE = {
    "saved_model.pb truncated to half": (lambda d: _truncate(os.path.join(d, "saved_model.pb")), True),
    "saved_model.pb replaced by random bytes": (lambda d: _overwrite(os.path.join(d, "saved_model.pb"),
                                                                     os.urandom(4096)), True),
    "saved_model.pb empty": (lambda d: _overwrite(os.path.join(d, "saved_model.pb"), b""), True),
    "variables data truncated to half": (lambda d: _truncate(_variables_data(d)), True),
    "variables index missing": (lambda d: os.remove(os.path.join(d, "variables", "variables.index")), True),
    "variables dir missing": (lambda d: shutil.rmtree(os.path.join(d, "variables")), True),
    "warmup records corrupt": (lambda d: _overwrite(os.path.join(d, "assets.extra", "tf_serving_warmup_requests"),
                                                    b"\x00garbage" * 64), True),
    "no saved_model.pb yet (copy in progress)": (lambda d: os.remove(os.path.join(d, "saved_model.pb")), False),
}


def _states(srv):
    return {status.version: status for status in srv.plane.status(ModelRef("classifier"))}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_newer_version_is_never_served_and_the_old_one_keeps_answering(damage, exported_versions, tmp_path):
    apply, counts_as_version = DAMAGE[damage]
    base = install(exported_versions, tmp_path / "classifier", [1])
    srv = start_server(base)
    try:
        with SustainedLoad(srv.grpc_port) as load:
            staging = tmp_path / "staging-2"
            shutil.copytree(exported_versions[2], staging)
            apply(str(staging))
            os.rename(staging, os.path.join(base, "2"))
            if counts_as_version:
                wait_for(lambda: 2 in _states(srv) and _states(srv)[2].state is State.END, timeout=30,
                         what="the damaged version to fail its load")
            else:
                srv.store.reconcile()  # the poller's own scan, run now: were it a version, it would be known after it
                assert 2 not in _states(srv), f"{damage}: taken for a version: {_states(srv)}"
            load.wait_for_requests(REQUESTS_AFTER_SETTLING)
        states = _states(srv)
        assert not load.failures and set(load.versions) == {1}, f"{damage}: {load.summary()}"
        assert states[1].state is State.AVAILABLE, f"{damage}: version 1 is {states[1].state}"
        if counts_as_version:
            assert states[2].error is not None and states[2].error.message, f"{damage}: no error in the status"
        else:
            assert 2 not in states, f"{damage}: a dir without saved_model.pb was taken for a version"
        _assert_version_2_refused_cleanly(srv, damage)
    finally:
        srv.stop()


def _assert_version_2_refused_cleanly(srv, damage: str) -> None:
    request = predict_request()
    request.model_spec.version.value = 2
    with grpc.insecure_channel(f"127.0.0.1:{srv.grpc_port}") as channel:
        with pytest.raises(grpc.RpcError) as raised:
            prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=10)
    assert raised.value.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE), (
        f"{damage}: version 2 answered {raised.value.code().name}: {raised.value.details()}")


def test_a_good_version_pushed_after_a_broken_one_takes_over(exported_versions, tmp_path):
    base = install(exported_versions, tmp_path / "classifier", [1])
    srv = start_server(base)
    try:
        with SustainedLoad(srv.grpc_port) as load:
            broken = tmp_path / "staging-2"
            shutil.copytree(exported_versions[2], broken)
            _truncate(str(broken / "saved_model.pb"))
            os.rename(broken, os.path.join(base, "2"))
            wait_for(lambda: 2 in _states(srv) and _states(srv)[2].state is State.END, what="version 2 to fail")
            good = tmp_path / "staging-3"
            shutil.copytree(exported_versions[2], good)
            os.rename(good, os.path.join(base, "3"))
            wait_for(lambda: load.versions[3] >= 50, timeout=30, what="version 3 to take traffic")
        assert not load.failures and set(load.versions) <= {1, 3}, load.summary()
    finally:
        srv.stop()


# str.isdigit() is true for any Unicode digit ("０２" full-width, "2²"); TF Serving only takes ASCII digits.
NON_VERSION_NAMES = ("2.tmp", "-2", "latest", ".2", "０２", "2²", "٢", "3 ")  # full-width, superscript, Arabic-Indic


def test_non_integer_dirs_are_never_versions(exported_versions, tmp_path):
    base = install(exported_versions, tmp_path / "classifier", [1])
    for name in NON_VERSION_NAMES:
        shutil.copytree(exported_versions[2], os.path.join(base, name))
    srv = start_server(base)
    try:
        srv.store.reconcile()  # the poller's own scan, run now: whatever it takes for a version is known after it
        assert set(_states(srv)) == {1}, f"of {NON_VERSION_NAMES}, one was taken for a version: {_states(srv)}"
    finally:
        srv.stop()
