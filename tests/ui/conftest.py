"""Fixtures for the web-interface tests: a real `nlp2prod serve` (subprocess) with two tiny versions, a real
gateway (the app of `gateway.app.create_app`, served by uvicorn in a thread) in front of it, keys of each kind,
and one headless Chromium driven by Selenium through Debian's chromium-driver.

Everything binds 127.0.0.1; nothing is downloaded (the browser and its driver are the system's, installed by
scripts/bootstrap.sh).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import ui_test_support  # noqa: E402

from ui_test_support import MODEL, TRAINED_LANGUAGES  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _describe_version(version_dir: str, version: int) -> None:
    path = os.path.join(version_dir, "assets.extra", "nlp2prod_metadata.json")
    with open(path, encoding="utf-8") as stream:
        metadata = json.load(stream)
    metadata["metrics"]["per_language"] = {
        language: {"macro_f1": round(0.6 + 0.1 * index + 0.02 * version, 3), "accuracy": 0.9}
        for index, language in enumerate(TRAINED_LANGUAGES)}
    metadata.update(data_spans=[version], pushed_at=f"2026-11-{20 + version}T09:30:00Z",
                    baseline_version=version - 1 or None)
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(metadata, stream)


@pytest.fixture(scope="session")
def serving_root(tmp_path_factory):
    """models.config (stable -> 1, only 1 loaded) over versions 1 and 2 of the tiny test model."""
    from serving import sample_model as serving_test_model
    from serving import config as config_lib, rollback

    root = tmp_path_factory.mktemp("ui-serving")
    base_path = root / MODEL
    for version in (1, 2):
        exported = serving_test_model.export_test_model(str(base_path / str(version)), seed=version,
                                                        model_name=MODEL, version=version)
        _describe_version(exported, version)
    config = config_lib.single_model_config(MODEL, str(base_path))
    entry = rollback.model_entry(config, MODEL)
    entry.model_version_policy.specific.versions.append(1)
    entry.version_labels["stable"] = 1
    rollback.write_config(str(root / "models.config"), config)
    return root


@pytest.fixture(scope="session")
def model_server(serving_root):
    """`nlp2prod serve` re-reading models.config every second, as a label move through the gateway needs."""
    port, rest_port = _free_port(), _free_port()
    log_path = serving_root / "serve.log"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")])),
               TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, "-m", "pipeline.cli", "serve", "--host=127.0.0.1", f"--port={port}",
               f"--rest_api_port={rest_port}", f"--model_config_file={serving_root / 'models.config'}",
               "--model_config_file_poll_wait_seconds=1", "--file_system_poll_wait_seconds=1"]
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=str(serving_root), env=env)
    url = f"http://127.0.0.1:{rest_port}"
    try:
        ui_test_support.wait_for(lambda: process.poll() is not None or ui_test_support.version_state(url, MODEL, 1)
                                 == "AVAILABLE", timeout=120, what="nlp2prod serve to load version 1")
        assert process.poll() is None, "nlp2prod serve exited:\n" + log_path.read_text(encoding="utf-8")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def gateway(model_server, serving_root, tmp_path_factory):
    """The gateway app on a free port in front of the server; `.url`, `.keys` (admin, reader, predictor)."""
    import uvicorn

    from gateway.app import create_app
    from gateway.service import Gateway
    from gateway.settings import GatewaySettings

    state = tmp_path_factory.mktemp("ui-gateway")
    settings = GatewaySettings(
        backend_url=model_server, hmac_secret=b"ui-tests-secret-0123456789abcdef",
        database_url=f"sqlite:///{state / 'gateway.db'}", model_name=MODEL, key_cache_seconds=0.0,
        audit_log=str(state / "audit.jsonl"), model_config_file=str(serving_root / "models.config"),
        label_timeout_seconds=60.0, monitoring_report=str(state / "monitoring-report.json"))
    parts = Gateway(settings)
    keys = {name: parts.store.create(name, scopes, "tests/ui")[1]
            for name, scopes in (("ops-admin", ["admin"]), ("support-lead", ["predict", "read"]),
                                 ("ticket-bot", ["predict"]))}
    server = uvicorn.Server(uvicorn.Config(create_app(settings, parts), host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="ui-gateway", daemon=True)
    thread.start()
    ui_test_support.wait_for(lambda: server.started or not thread.is_alive(), timeout=30, what="the gateway")
    assert server.started, "the gateway did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield ui_test_support.RunningGateway(f"http://127.0.0.1:{port}", keys, settings)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """One headless Chromium for the session (fresh profile); each test signs in as it needs."""
    driver = ui_test_support.start_chromium(str(tmp_path_factory.mktemp("chromium-profile")))
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, gateway, tmp_path):
    """A signed-out browser on the gateway, with a helper to sign in and to take screenshots."""
    helper = ui_test_support.Page(browser, gateway, tmp_path)
    helper.sign_out()
    return helper
