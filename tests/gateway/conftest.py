"""Fixtures for the gateway tests: the real embedded server with the tiny test model behind a real gateway.

The backend is `serving.server` (TensorFlow, in the test process only); the gateway under test is served by
uvicorn on a free port and called over real HTTP with httpx.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import httpx
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_HERE = os.path.dirname(__file__)
sys.path.insert(0, _HERE)

from gateway_test_support import MODEL, Postgres, RunningGateway, postgres_bin, settings_for  # noqa: E402


@pytest.fixture(scope="session")
def tiny_versions(tmp_path_factory):
    """Versions 1 and 2 of the tiny classifier, exported once."""
    from serving import sample_model as serving_test_model

    root = tmp_path_factory.mktemp("gateway-exports")
    return {v: serving_test_model.export_test_model(str(root / f"v{v}"), seed=v, model_name=MODEL, version=v)
            for v in (1, 2)}


@pytest.fixture(scope="session")
def backend(tiny_versions, tmp_path_factory):
    """The embedded server: versions 1 and 2, stable=1, canary=2; REST and gRPC on free ports."""
    from serving_test_support import install

    from serving import server
    from serving.config import ServedModel, ServerConfig, VersionPolicy

    base = install(tiny_versions, tmp_path_factory.mktemp("gateway-backend") / MODEL, [1, 2])
    config = ServerConfig(models=(ServedModel(MODEL, base, VersionPolicy("all"), (("canary", 2), ("stable", 1))),),
                          host="127.0.0.1", port=0, rest_api_port=0, file_system_poll_wait_seconds=0)
    running = server.start(config)
    running.base_path = base
    yield running
    running.stop()


@pytest.fixture(scope="session")
def backend_url(backend):
    return f"http://127.0.0.1:{backend.rest_port}"


@pytest.fixture
def gateway(tmp_path, backend_url):
    with RunningGateway(settings_for(tmp_path, backend_url, model_name=MODEL)) as running:
        yield running


@pytest.fixture
def keys(gateway):
    """Keys by scope: predict, read, admin (created straight in the store)."""
    store = gateway.gateway.store
    return {scope: store.create(f"{scope}-key", [scope], "test")[1] for scope in ("predict", "read", "admin")}


@pytest.fixture
def client(gateway):
    with httpx.Client(base_url=gateway.url, timeout=30, trust_env=False) as opened:
        yield opened


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A real PostgreSQL server (Debian's `postgresql` package; scripts/bootstrap.sh installs it)."""
    if postgres_bin() is None:
        pytest.fail("PostgreSQL is not installed: run scripts/bootstrap.sh (apt-get install postgresql)")
    # Not under pytest's tmp dir: the server runs as the `postgres` user, who cannot enter root's 0700 dirs.
    root = tempfile.mkdtemp(prefix="n2p-postgres-")
    try:
        with Postgres(root) as running:
            yield running
    finally:
        shutil.rmtree(root, ignore_errors=True)
