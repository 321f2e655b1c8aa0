"""The servability check, run in a fresh process: op list, then load in a server, then canary requests.

    python -m components.serving_check.canary REQUEST.json REPORT.json

REQUEST: {"model_dir", "model_name", "labels": [...], "texts": {lang: [text, ...]}, "timeout_seconds"}.
REPORT:  {"blessed", "problems": [...], "server", "languages": {lang: {"texts", "labels"}}, "ops_checked",
          "round_trip_ms"}.
The op list is read before tensorflow_text is imported, so only core ops count as registered; then
tensorflow_text is imported (as any process that loads the model must) and the model is served, by the real
tensorflow_model_server when one is on PATH, else by the project's TF-Serving-compatible server, and asked
over gRPC with the official tensorflow_serving.apis stubs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, Iterator, List, Sequence

from components.serving_check import servability

_LONG_TEXT_CHARS = 5000


def run_canary(request: Dict[str, object]) -> Dict[str, object]:
    """Runs every check of REQUEST and returns the REPORT (see the module docstring)."""
    model_dir, labels = str(request["model_dir"]), list(request["labels"])
    used_ops, methods = servability.graph_ops(model_dir)
    problems = servability.op_problems(used_ops, servability.core_tensorflow_ops())
    problems += servability.signature_problems(methods)
    import tensorflow_text  # noqa: F401  (registers the TF Text kernels the model needs, before loading)

    report: Dict[str, object] = {"ops_checked": len(used_ops), "languages": {}}
    name = str(request.get("model_name", "candidate"))
    with _served(model_dir, name, float(request.get("timeout_seconds", 300))) as (address, server):
        report["server"] = server
        problems += _ask(address, name, request["texts"], labels, report)
    report.update(blessed=not problems, problems=problems)
    return report


@contextlib.contextmanager
def _served(model_dir: str, name: str, timeout: float) -> Iterator[tuple]:
    with tempfile.TemporaryDirectory(prefix="serving-check-") as base:
        os.symlink(os.path.abspath(model_dir), os.path.join(base, "1"))
        binary = shutil.which("tensorflow_model_server")
        if binary:
            with _model_server_binary(binary, base, name, timeout) as address:
                yield address, "tensorflow_model_server"
            return
        from serving import server
        srv = server.serve_model(name, base, rest_api_port=None, initial_load_timeout_seconds=timeout)
        try:
            yield f"localhost:{srv.grpc_port}", "nlp2prod in-process server"
        finally:
            srv.stop(grace=1.0)


@contextlib.contextmanager
def _model_server_binary(binary: str, base: str, name: str, timeout: float) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([binary, f"--port={port}", "--rest_api_port=0", f"--model_name={name}",
                                f"--model_base_path={base}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_available(f"localhost:{port}", name, timeout)
        yield f"localhost:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_available(address: str, name: str, timeout: float) -> None:
    import grpc
    from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

    stub = model_service_pb2_grpc.ModelServiceStub(grpc.insecure_channel(address))
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = name
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            states = stub.GetModelStatus(request, timeout=5).model_version_status
            if any(s.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE for s in states):
                return
        except grpc.RpcError:
            pass
        time.sleep(0.5)


def _ask(address: str, name: str, texts: Dict[str, List[str]], labels: List[str], report: Dict) -> List[str]:
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    channel = grpc.insecure_channel(address)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    problems: List[str] = []
    try:
        load_error = _load_error(channel, name)
        if load_error:
            return [load_error]
        _check_metadata(stub, name, problems)
        edge = ["", (" ".join(t for batch in texts.values() for t in batch) or "x") * 50]
        for lang, batch in list(texts.items()) + [("edge cases", [edge[0], edge[1][:_LONG_TEXT_CHARS]])]:
            started = time.perf_counter()
            probabilities, predicted = _predict(stub, name, batch)
            report.setdefault("round_trip_ms", {})[lang] = round(1000 * (time.perf_counter() - started), 2)
            found = servability.predict_problems(f"predict [{lang}]", len(batch), probabilities, predicted, labels)
            if not found:
                classes, scores = _classify(stub, name, batch)
                found = servability.classify_problems(f"classify [{lang}]", classes, scores, probabilities, labels)
            problems += found
            report["languages"][lang] = {"texts": len(batch), "labels": predicted}
    except grpc.RpcError as error:
        problems.append(f"gRPC {error.code().name}: {error.details()}")
    return problems


def _load_error(channel, name: str) -> str:
    from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = name
    states = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(request, timeout=30)
    for state in states.model_version_status:
        if state.state != get_model_status_pb2.ModelVersionStatus.AVAILABLE:
            state_name = get_model_status_pb2.ModelVersionStatus.State.Name(state.state)
            return f"the server did not load the model ({state_name}): {state.status.error_message}"
    return ""


def check_in_fresh_process(model_dir: str, labels: Sequence[str], texts: Dict[str, List[str]],
                           timeout_seconds: float = 600) -> Dict[str, object]:
    """Runs `run_canary` in a new Python process (a process that never imported this pipeline's graphs)
    and returns its REPORT; a crash or timeout becomes a not-blessed report that says so."""
    with tempfile.TemporaryDirectory(prefix="serving-check-") as folder:
        request_path, report_path = os.path.join(folder, "request.json"), os.path.join(folder, "report.json")
        with open(request_path, "w", encoding="utf-8") as f:
            json.dump({"model_dir": model_dir, "labels": list(labels), "texts": texts,
                       "timeout_seconds": timeout_seconds}, f, ensure_ascii=False)
        try:
            process = subprocess.run([sys.executable, "-m", __name__, request_path, report_path],
                                     capture_output=True, text=True, timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            return {"blessed": False, "problems": [f"the check did not finish within {timeout_seconds:.0f} s"]}
        if process.returncode != 0 or not os.path.isfile(report_path):
            tail = process.stderr.strip().splitlines()[-5:]
            return {"blessed": False, "problems": [f"the check process failed (exit {process.returncode}): "
                                                   + " | ".join(tail)]}
        with open(report_path, encoding="utf-8") as f:
            return json.load(f)


def _check_metadata(stub, name: str, problems: List[str]) -> None:
    from tensorflow_serving.apis import get_model_metadata_pb2

    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = name
    response = stub.GetModelMetadata(request, timeout=30)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signatures)
    problems += servability.signature_problems(
        {key: value.method_name for key, value in signatures.signature_def.items()})


def _predict(stub, name: str, texts: Sequence[str]):
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name, request.model_spec.signature_name = name, "serving_default"
    request.inputs["text"].CopyFrom(tf.make_tensor_proto([t.encode("utf-8") for t in texts], dtype=tf.string))
    response = stub.Predict(request, timeout=60)
    labels = [value.decode("utf-8") for value in tf.make_ndarray(response.outputs["label"]).reshape(-1)]
    return tf.make_ndarray(response.outputs["probabilities"]), labels


def _classify(stub, name: str, texts: Sequence[str]):
    import numpy as np
    from tensorflow_serving.apis import classification_pb2

    request = classification_pb2.ClassificationRequest()
    request.model_spec.name, request.model_spec.signature_name = name, "classify"
    for text in texts:
        example = request.input.example_list.examples.add()
        example.features.feature["text"].bytes_list.value.append(text.encode("utf-8"))
    response = stub.Classify(request, timeout=60)
    rows = response.result.classifications
    classes = [[c.label for c in row.classes] for row in rows]
    return classes, np.array([[c.score for c in row.classes] for row in rows], np.float32).reshape(len(rows), -1)


def main(argv: Sequence[str]) -> int:
    """Entry point of the fresh process: reads REQUEST, writes REPORT, returns 0 (the verdict is in REPORT)."""
    with open(argv[1], encoding="utf-8") as f:
        request = json.load(f)
    report = run_canary(request)
    with open(argv[2], "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
