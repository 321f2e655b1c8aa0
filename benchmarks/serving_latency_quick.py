"""Quick serving latency check: in-process SavedModel call vs our server over gRPC and REST (concurrency 1).

    TF_CPP_MIN_LOG_LEVEL=3 python benchmarks/serving_latency_quick.py [--model_dir DIR] [--requests 2000]

Without --model_dir it exports the serving tests' tiny model (WhitespaceTokenizer + hashing + dense; the BERT
classifier's signatures). The server runs in a subprocess (`nlp2prod serve` code path, batching off) so client
and server do not share a GIL; the in-process call is `loaded.signatures["serving_default"](text=...)` plus
`.numpy()` on the outputs, in this process. Rounds interleave the three so machine noise hits them alike; the
table reports the median over rounds of each round's p50 / p99. The full benchmark (concurrency, batching,
throughput, naive wrapper) is the benchmark engineer's; this one only checks the hot path.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, REPO)

SENTENCE = "the match ended in a draw after extra time"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def _start_server(base_path: str, model: str, grpc_port: int, rest_port: int) -> subprocess.Popen:
    code = "import sys; from serving.cli import serve_main; sys.exit(serve_main(sys.argv[1:]))"
    command = [sys.executable, "-c", code, f"--port={grpc_port}", f"--rest_api_port={rest_port}",
               f"--model_name={model}", f"--model_base_path={base_path}", "--file_system_poll_wait_seconds=0"]
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if "gRPC on" not in process.stdout.readline():
        process.kill()
        raise SystemExit("the server did not start")
    return process


def _percentiles(call, count: int, warmup: int = 100):
    for _ in range(warmup):
        call()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    times.sort()
    return times[len(times) // 2] * 1e6, times[int(len(times) * 0.99)] * 1e6


def _callers(model_dir: str, model: str, grpc_port: int, rest_port: int, texts):
    import grpc
    import tensorflow as tf
    import tensorflow_text  # noqa: F401
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    function = tf.saved_model.load(model_dir).signatures["serving_default"]

    def in_process():
        return {k: v.numpy() for k, v in function(text=tf.constant(texts)).items()}

    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(f"localhost:{grpc_port}"))
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(texts, dtype=tf.string))

    def over_grpc():
        return stub.Predict(request, timeout=10)

    connection = http.client.HTTPConnection("localhost", rest_port)
    body = json.dumps({"instances": texts})

    def over_rest():
        connection.request("POST", f"/v1/models/{model}:predict", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200

    return {"in-process": in_process, "gRPC": over_grpc, "REST": over_rest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", help="a SavedModel version dir with the raw-text serving_default")
    parser.add_argument("--requests", type=int, default=2000, help="calls per round and path")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 32], help="texts per request")
    args = parser.parse_args()
    model = "bench"
    with tempfile.TemporaryDirectory() as work:
        base = os.path.join(work, model)
        if args.model_dir:
            os.makedirs(base)
            os.symlink(os.path.abspath(args.model_dir), os.path.join(base, "1"))
        else:
            from serving import sample_model

            sample_model.export_test_model(os.path.join(base, "1"), seed=1, model_name=model)
        grpc_port, rest_port = _free_port(), _free_port()
        server = _start_server(base, model, grpc_port, rest_port)
        try:
            rows = [_measure(os.path.join(base, "1"), model, grpc_port, rest_port, batch, args)
                    for batch in args.batch]
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(f"\n{args.rounds} rounds x {args.requests} sequential requests per path, median of per-round p50/p99")
    print("| batch | path | p50 (us) | p99 (us) | p50 / in-process | p50 added (us) |")
    print("|---|---|---|---|---|---|")
    for batch, results in rows:
        base_p50 = results["in-process"][0]
        for name, (p50, p99) in results.items():
            print(f"| {batch} | {name} | {p50:.0f} | {p99:.0f} | {p50 / base_p50:.2f} | {p50 - base_p50:+.0f} |")


def _measure(model_dir, model, grpc_port, rest_port, batch, args):
    texts = [SENTENCE] * batch
    callers = _callers(model_dir, model, grpc_port, rest_port, texts)
    samples = {name: [] for name in callers}
    for _ in range(args.rounds):
        for name, call in callers.items():
            samples[name].append(_percentiles(call, args.requests))
    return batch, {name: (statistics.median(p for p, _ in values), statistics.median(q for _, q in values))
                   for name, values in samples.items()}


if __name__ == "__main__":
    main()
