"""The edge runtime: raw text in through `nlp2prod edge predict`, no TensorFlow imported, and a clear one-line
refusal for a folder that holds no valid artefact."""

import ast
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from edge import manifest as contract
from models.export import exporter
from models.export.settings import ExportSettings
from tiny_model import LABELS, export_untrained, raw_example

REPO = pathlib.Path(__file__).resolve().parents[2]
_ALLOWED_IMPORTS = {"numpy", "onnxruntime", "sentencepiece", "tflite_runtime", "ai_edge_litert", "edge"}
_HEAVY = ("tensorflow", "tensorflow_text", "tf_keras", "keras", "tfx", "models", "components", "serving")
TEXTS = ["pizza bread soup", "calcio gol squadra", "私は映画が好きです", "Привіт, як справи?"]


@pytest.fixture(scope="module")
def export_dir(tiny_corpus, tmp_path_factory):
    model_dir = export_untrained(tiny_corpus, tmp_path_factory.mktemp("edge_source") / "model")
    rows = [exporter.EvalRow(raw_example(t, l, g), t, LABELS.index(l), g) for t, l, g in tiny_corpus.eval_rows[::4]]
    out_dir = str(tmp_path_factory.mktemp("edge_export"))
    manifest = exporter.export_model(model_dir, out_dir, rows, LABELS, ExportSettings(formats=("onnx_fp32", "tflite_fp16")))
    assert set(manifest["artefacts"]) == {"onnx_fp32", "tflite_fp16"}, manifest["refused"]
    return out_dir


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "edge", *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))


def test_edge_modules_import_only_the_edge_runtimes():
    for path in (REPO / "edge").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        third_party = {name.split(".")[0] for name in names} - set(sys.stdlib_module_names) - {"__future__"}
        assert third_party <= _ALLOWED_IMPORTS, (path.name, third_party - _ALLOWED_IMPORTS)


def test_edge_predict_classifies_raw_text_without_importing_tensorflow(export_dir):
    probe = ("import json, sys\nfrom pipeline import cli\n"
             f"code = cli.main(['edge', 'predict', '--model', {export_dir!r}, *{TEXTS!r}])\n"
             f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {_HEAVY!r})\n"
             "print(json.dumps({'code': code, 'heavy': heavy}))\n")
    for artefact in ("onnx_fp32", "tflite_fp16"):
        result = subprocess.run([sys.executable, "-c", probe.replace("'predict',", f"'predict', '--artefact', '{artefact}',")],
                                capture_output=True, text=True, timeout=120, cwd=REPO,
                                env=dict(os.environ, PYTHONPATH=str(REPO)))
        assert result.returncode == 0, result.stderr[-2000:]
        lines = result.stdout.strip().splitlines()
        assert json.loads(lines[-1]) == {"code": 0, "heavy": []}
        answers = [line.split("\t") for line in lines[:-1]]
        assert [answer[2] for answer in answers] == TEXTS
        assert all(answer[0] in LABELS and 0 < float(answer[1]) <= 1 for answer in answers)


def test_edge_predict_refuses_a_folder_without_an_export_in_one_line(tmp_path):
    result = _cli("predict", "--model", str(tmp_path), "hello")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "no manifest.json" in result.stderr


def test_edge_predict_refuses_an_altered_artefact_in_one_line(export_dir, tmp_path):
    copy = shutil.copytree(export_dir, tmp_path / "copy")
    with open(copy / contract.ARTEFACTS["onnx_fp32"][0], "ab") as handle:
        handle.write(b"\0")
    result = _cli("predict", "--model", str(copy), "--artefact", "onnx_fp32", "hello")
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "differs from the manifest" in result.stderr


def test_a_refused_artefact_is_named_with_its_reason():
    manifest = {"artefacts": {"onnx_fp32": {}}, "refused": {"onnx_int8": "accuracy gate: ja: top-1 agreement 0.9"}}
    assert contract.choose_artefact(manifest) == "onnx_fp32"
    with pytest.raises(contract.EdgeModelError, match="refused: accuracy gate: ja"):
        contract.choose_artefact(manifest, "onnx_int8")
    with pytest.raises(contract.EdgeModelError, match="no artefact passed the export gate"):
        contract.choose_artefact({"artefacts": {}, "refused": manifest["refused"]})


# onnxruntime's declared dependencies that only its Python tooling (quantization, transformer fusions, symbolic
# shape inference) imports; requirements-edge.lock leaves them out of a device install.
_ONNXRUNTIME_TOOLING = ("sympy", "mpmath", "coloredlogs", "humanfriendly", "flatbuffers", "packaging", "google")


def test_edge_predict_runs_without_onnxruntimes_tooling_dependencies(export_dir):
    blocker = ("import sys\nclass Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               f"        if name.split('.')[0] in {_ONNXRUNTIME_TOOLING!r}:\n"
               "            raise ImportError('blocked: ' + name)\n"
               "sys.meta_path.insert(0, Block())\n"
               "from pipeline import cli\n")
    for artefact in ("onnx_fp32", "tflite_fp16"):
        probe = blocker + f"sys.exit(cli.main(['edge', 'predict', '--model', {export_dir!r}, '--artefact', " \
                          f"{artefact!r}, *{TEXTS!r}]))\n"
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                                cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))
        assert result.returncode == 0, result.stderr[-2000:]
        assert [line.split("\t")[2] for line in result.stdout.strip().splitlines()] == TEXTS


def test_edge_lock_pins_the_versions_of_the_main_lock():
    def pins(name):
        lines = (REPO / name).read_text(encoding="utf-8").splitlines()
        return dict(line.split("==") for line in lines if line and not line.startswith("#"))

    edge, main = pins("requirements-edge.lock"), pins("requirements.lock")
    assert set(edge) == {"numpy", "onnxruntime", "sentencepiece", "tflite-runtime"}
    assert all(main[name] == version for name, version in edge.items())
