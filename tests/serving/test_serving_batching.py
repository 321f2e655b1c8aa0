"""Dynamic batching: the scheduler on a plain numpy function, then the server merging concurrent requests."""

import threading
import time

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from serving import server
from serving.batching import BatchScheduler
from serving.config import BatchingConfig, ServedModel, ServerConfig
from serving.errors import InvalidArgument, Unavailable
from serving_test_support import MODEL, Http, install, wait_for


class Recorder:
    """A model stand-in that doubles its input and records the batch sizes it was called with."""

    def __init__(self, delay=0.0):
        self.sizes, self.delay = [], delay

    def __call__(self, inputs):
        self.sizes.append(len(inputs["x"]))
        time.sleep(self.delay)
        return {"y": inputs["x"] * 2}


def concurrently(count, call):
    results, threads = [None] * count, []
    for i in range(count):
        def run(i=i):
            try:
                results[i] = call(i)
            except Exception as error:  # collected and asserted by the caller
                results[i] = error
        threads.append(threading.Thread(target=run))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_single_requests_become_one_model_call():
    model = Recorder()
    # The batch closes as soon as 8 rows are queued; the long timeout only absorbs slow thread starts.
    scheduler = BatchScheduler(model, BatchingConfig(max_batch_size=8, batch_timeout_micros=5_000_000,
                                                     num_batch_threads=1), "test")
    try:
        results = concurrently(8, lambda i: scheduler.submit({"x": np.array([float(i)])}))
    finally:
        scheduler.close()
    assert model.sizes == [8]
    assert [r["y"].tolist() for r in results] == [[2.0 * i] for i in range(8)]


def test_batches_are_padded_to_the_next_allowed_size():
    model = Recorder()
    scheduler = BatchScheduler(model, BatchingConfig(max_batch_size=8, batch_timeout_micros=500_000,
                                                     num_batch_threads=1, allowed_batch_sizes=(4, 8)), "test")
    try:
        results = concurrently(3, lambda i: scheduler.submit({"x": np.array([float(i)])}))
    finally:
        scheduler.close()
    assert model.sizes == [4]
    assert sorted(r["y"][0] for r in results) == [0.0, 2.0, 4.0]


def test_full_queue_is_unavailable_and_oversized_task_is_invalid():
    model = Recorder(delay=0.3)
    scheduler = BatchScheduler(model, BatchingConfig(max_batch_size=2, batch_timeout_micros=0,
                                                     max_enqueued_batches=1, num_batch_threads=1), "test")
    try:
        with pytest.raises(InvalidArgument, match="Task size 3 is larger than maximum input batch size 2"):
            scheduler.submit({"x": np.zeros(3)})
        results = concurrently(6, lambda i: scheduler.submit({"x": np.zeros(1)}))
    finally:
        scheduler.close()
    refused = [r for r in results if isinstance(r, Unavailable)]
    assert refused and "queue to which this task was submitted is full" in refused[0].message
    assert all(isinstance(r, (dict, Unavailable)) for r in results)


def test_large_batch_splitting_runs_a_big_task_in_pieces():
    model = Recorder()
    scheduler = BatchScheduler(model, BatchingConfig(max_batch_size=10, max_execution_batch_size=4,
                                                     enable_large_batch_splitting=True, num_batch_threads=1), "test")
    try:
        result = scheduler.submit({"x": np.arange(10.0)})
    finally:
        scheduler.close()
    assert sorted(model.sizes) == [2, 4, 4]
    assert result["y"].tolist() == (np.arange(10.0) * 2).tolist()


def test_server_merges_concurrent_grpc_requests_and_reports_batch_metrics(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1])
    config = ServerConfig(models=(ServedModel(MODEL, base),), host="localhost", port=0, rest_api_port=0,
                          file_system_poll_wait_seconds=0, enable_batching=True, enable_model_warmup=False,
                          batching=BatchingConfig(max_batch_size=16, batch_timeout_micros=300_000,
                                                  num_batch_threads=1, allowed_batch_sizes=(8, 16)))
    with server.start(config) as srv, grpc.insecure_channel(f"localhost:{srv.grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

        def predict(i):
            request = predict_pb2.PredictRequest()
            request.model_spec.name = MODEL
            request.inputs["text"].CopyFrom(tf.make_tensor_proto([f"text number {i}"], dtype=tf.string))
            return tf.make_ndarray(stub.Predict(request, timeout=30).outputs["probabilities"])

        batched = concurrently(6, predict)
        metrics = srv.metrics
        batches = metrics.sample_value(":tensorflow:serving:batching_session:processed_batch_size_count",
                                       model_name=MODEL)
        rows = metrics.sample_value(":tensorflow:serving:batching_session:input_batch_size_sum", model_name=MODEL)
        padded = metrics.sample_value(":tensorflow:serving:batching_session:processed_batch_size_sum",
                                      model_name=MODEL)
        assert rows == 6 and batches < 6 and padded % 8 == 0
        with srv.store.acquire(MODEL) as servable:
            direct = [servable.run("serving_default", {"text": np.array([f"text number {i}".encode()], object)})
                      for i in range(6)]
    for got, want in zip(batched, direct):
        np.testing.assert_allclose(got, want["probabilities"], rtol=1e-5)


def test_deadlines_are_honoured_over_grpc_and_rest(exported, tmp_path):
    base = install(exported, tmp_path / MODEL, [1])
    config = ServerConfig(models=(ServedModel(MODEL, base),), host="localhost", port=0, rest_api_port=0,
                          file_system_poll_wait_seconds=0, enable_batching=True, enable_model_warmup=False,
                          rest_api_timeout_in_ms=50,
                          batching=BatchingConfig(max_batch_size=64, batch_timeout_micros=1_000_000,
                                                  num_batch_threads=1))
    with server.start(config) as srv:
        status, body = Http(srv.rest_port).call("POST", f"/v1/models/{MODEL}:predict", {"instances": ["late"]})
        assert status == 504 and "deadline exceeded" in body["error"]
        with grpc.insecure_channel(f"localhost:{srv.grpc_port}") as channel:
            request = predict_pb2.PredictRequest()
            request.model_spec.name = MODEL
            request.inputs["text"].CopyFrom(tf.make_tensor_proto(["late"], dtype=tf.string))
            with pytest.raises(grpc.RpcError) as caught:
                prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=0.1)
            assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        # The server-side answer is recorded once the queued task gives up, just after the client's deadline.
        wait_for(lambda: srv.metrics.sample_value(":tensorflow:serving:request_count_total", model_name=MODEL,
                                                  status="DEADLINE_EXCEEDED") == 2, timeout=10,
                 what="both late requests to be counted as DEADLINE_EXCEEDED")
