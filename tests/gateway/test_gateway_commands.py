"""`nlp2prod keys ...` and `nlp2prod gateway` in front of `nlp2prod serve`, as processes; no TensorFlow in them."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys

import httpx
import pytest
from gateway_test_support import MODEL, bearer, free_port, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEAVY = ("tensorflow", "tensorflow_serving", "tfx", "tensorflow_text", "keras", "tf_keras", "apache_beam")


def _env(tmp_path) -> dict:
    return {**os.environ, "PYTHONPATH": ROOT, "N2P_GATEWAY_SECRET": "a-secret-for-the-command-tests",
            "N2P_GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/gw.db"}


def _nlp2prod(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)


def test_the_gateway_side_imports_no_tensorflow(tmp_path):
    (tmp_path / "models.config").write_text('model_config_list { config { name: "m" base_path: "/m" '
                                            'version_labels { key: "stable" value: 3 } } }')
    probe = ("import sys; from gateway import app, cli, model_config, settings; from serving import label_planner; "
             "entry = label_planner.model_entry(model_config.read_config('models.config'), 'm'); "
             "assert dict(entry.version_labels) == {'stable': 3}; "
             "app.create_app(settings.GatewaySettings(hmac_secret=b'x' * 16, database_url='sqlite://', "
             f"audit_log={str(tmp_path / 'a.jsonl')!r})).openapi(); "
             f"print([m for m in sys.modules if m.split('.')[0] in {HEAVY!r}])")
    found = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                           text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "[]"
    tree = ast.parse(open(os.path.join(ROOT, "setup.py"), encoding="utf-8").read())
    gateway_extra = next(ast.literal_eval(node.value) for node in tree.body
                         if isinstance(node, ast.Assign) and node.targets[0].id == "GATEWAY")
    names = {re.split(r"[=<>\[ ]", requirement)[0].lower() for requirement in gateway_extra}
    assert {"fastapi", "uvicorn", "sqlalchemy"} <= names and not names & {"tensorflow", "tfx", "tensorflow-text"}
    serving_dir = os.path.join(ROOT, "serving")
    for name in os.listdir(serving_dir):
        if name.endswith(".py"):
            source = open(os.path.join(serving_dir, name), encoding="utf-8").read()
            assert not re.search(r"^\s*(from|import) gateway\b", source, re.MULTILINE), f"serving/{name} imports gateway"


def _keys(capsys, *args: str):
    from pipeline import cli as nlp2prod

    code = nlp2prod.main(["keys", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_commands_create_list_rotate_revoke_and_export(tmp_path, monkeypatch, capsys):
    for name, value in _env(tmp_path).items():
        if name.startswith("N2P_"):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    code, out, _ = _keys(capsys, "create", "partner", "--scopes", "predict,read", "--expires_in_days", "7")
    key = out.strip().splitlines()[-1]
    key_id = key.split("_")[1]
    assert code == 0 and key.startswith("n2p_") and key_id in out.splitlines()[0]
    _, listed, _ = _keys(capsys, "list", "--json")
    row = json.loads(listed)
    assert (row["key_id"], row["scopes"], row["state"]) == (key_id, ["predict", "read"], "active")
    assert key not in listed

    code, rotated, _ = _keys(capsys, "rotate", key_id)
    assert code == 0 and rotated.strip().splitlines()[-1].startswith("n2p_")
    states = [json.loads(line)["state"] for line in _keys(capsys, "list", "--json")[1].splitlines()]
    assert sorted(states) == ["active", "revoked"]
    assert _keys(capsys, "revoke", key_id)[0] == 0
    assert _keys(capsys, "usage")[1].startswith("day,key_id,name,requests,texts,errors")

    code, _, err = _keys(capsys, "create", "x", "--scopes", "everything")
    assert code == 2 and "unknown scope 'everything'" in err and "Traceback" not in err
    code, _, err = _keys(capsys, "revoke", "0123456789ab")
    assert code == 2 and "no key with id" in err
    code, _, err = _keys(capsys, "list", "--database_url", f"postgresql+psycopg://u:hunter2@127.0.0.1:{free_port()}/x")
    assert code == 2 and err.startswith("nlp2prod: database 127.0.0.1:") and "hunter2" not in err
    audit = (tmp_path / ".nlp2prod" / "gateway" / "audit.jsonl").read_text()
    assert [json.loads(line)["action"] for line in audit.splitlines()] == ["key.create", "key.rotate", "key.revoke"]
    assert "n2p_" not in audit
    process = _nlp2prod(tmp_path, "keys", "list")
    assert process.returncode == 0 and key_id in process.stdout


@pytest.mark.e2e
def test_nlp2prod_gateway_in_front_of_nlp2prod_serve(tmp_path, tiny_versions):
    from serving_test_support import install

    base = install(tiny_versions, tmp_path / "serving" / MODEL, [1])
    grpc_port, rest_port, gateway_port = free_port(), free_port(), free_port()
    serve = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "serve", f"--port={grpc_port}",
                              f"--rest_api_port={rest_port}", f"--model_name={MODEL}", f"--model_base_path={base}",
                              "--host=127.0.0.1"], cwd=tmp_path, env=_env(tmp_path),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gateway = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "gateway", f"--port={gateway_port}",
                                f"--backend_url=http://127.0.0.1:{rest_port}", f"--model_name={MODEL}",
                                "--rate_per_second=1", "--burst=3"], cwd=tmp_path, env=_env(tmp_path),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        keys = [_nlp2prod(tmp_path, "keys", "create", name, "--scopes", scopes).stdout.strip().splitlines()[-1]
                for name, scopes in (("flooder", "predict"), ("polite", "predict"), ("probe", "read"))]
        url = f"http://127.0.0.1:{gateway_port}"

        def ready():
            try:
                return httpx.get(f"{url}/v1/models/{MODEL}", headers=bearer(keys[2]), timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=120, interval=0.5, what="nlp2prod serve and nlp2prod gateway to answer")
        body = {"instances": ["hello there"]}
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.post(f"/v1/models/{MODEL}:predict", json=body).status_code == 401
            flood = [client.post(f"/v1/models/{MODEL}:predict", json=body, headers=bearer(keys[0])).status_code
                     for _ in range(10)]
            assert flood[0] == 200 and 429 in flood
            polite = client.post("/v1/classify", json={"texts": ["hello there"]}, headers=bearer(keys[1]))
            assert polite.status_code == 200 and polite.json()["version"] == 1
    finally:
        for process in (gateway, serve):
            process.terminate()
            process.wait(30)
