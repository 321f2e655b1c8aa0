"""The composition root: builds the model store, data plane, gRPC and REST servers from one `ServerConfig`.

In-process use (tests, the pipeline's ServingCheck canary, notebooks):

    from serving import client, server
    with server.serve_model("nlp2prod", "/serving/nlp2prod") as srv:    # free ports, polling off
        status = srv.store.status("nlp2prod")        # [VersionStatus(version, state, error)]; error says why
        remote = client.GrpcClient(f"localhost:{srv.grpc_port}")   # or the official stubs on that port
        answer = remote.predict_texts("nlp2prod", ["hello", "bonjour"])   # .labels, .probabilities, .version
        # REST: f"http://localhost:{srv.rest_port}/v1/models/nlp2prod:predict"

`serve_model(name, base_path, **config_overrides)` is `start(ServerConfig(...))` with ports 0 (free ports) and
no polling; `start(config)` takes a full ServerConfig. Both return once every configured version's first load
attempt has finished (AVAILABLE, or failed and retrying in the background; at most `initial_load_timeout_seconds`),
as tensorflow_model_server does before it
opens its ports; a failed load shows in `srv.store.status(name)` with its error. `srv.grpc_port` / `srv.rest_port`
are the bound ports, `srv.plane` the protocol-neutral data plane for direct calls, `srv.metrics` the metrics.
`stop(grace)` (or leaving the `with`) stops accepting, lets in-flight calls finish for up to `grace` seconds and
unloads every version.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import threading
from typing import Callable, Optional

import grpc

from serving import config as config_lib, grpc_auth, grpc_service, request_logging
from serving.config import ServedModel, ServerConfig, SslConfig
from serving.dataplane import Limits
from serving.errors import FailedPrecondition, ServingError, Unavailable
from serving.http_server import HttpServer
from serving.metrics import ServingMetrics
from serving.model_store import ModelStore, StoreOptions
from serving.profiler_service import add_profiler_service
from serving.rest import RestApi
from serving.servable import Servable
from serving.warmup import replay_warmup

__all__ = ["ModelServer", "ServedModel", "ServerConfig", "serve_model", "start"]

log = logging.getLogger(__name__)
BATCH_THREAD_POOL = "model_server_batch_threads"


class _Poller(threading.Thread):
    """Runs `action` every `interval` seconds until stopped; errors are logged, never fatal."""

    def __init__(self, name: str, interval: float, action: Callable[[], None]):
        super().__init__(name=name, daemon=True)
        self._interval, self._action, self._stopping = interval, action, threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self._action()
            except Exception:  # a bad poll (unreadable config, full disk) must not stop future polls
                log.exception("%s failed", self.name)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)


class ModelServer:
    """A running server; see the module docstring."""

    def __init__(self, config: ServerConfig):
        self.config = config
        self.metrics = ServingMetrics()
        options = StoreOptions(config.max_num_load_retries, config.load_retry_interval_seconds,
                               config.num_load_threads, config.allow_version_labels_for_unavailable_models,
                               config.prefer_tflite_model)
        self.store = ModelStore(config.models, self._load_version, options)
        limits = Limits(config.max_request_batch, config.utf8_string_inputs, config.max_request_bytes)
        self.plane = request_logging.data_plane(self.store, self.metrics, limits, config.request_logging_config_file,
                                                config.enable_signature_method_name_check)
        self._grpc: Optional[grpc.Server] = None
        self._health: Optional[grpc_service.ModelHealth] = None
        self._rest: Optional[HttpServer] = None
        self._pollers = []
        self._stopped = threading.Event()
        self._applied_config = None
        self.grpc_port = 0
        self.rest_port = 0

    def _load_version(self, name: str, version: int, path: str) -> Servable:
        batching = self.config.batching if self.config.enable_batching else None
        servable = Servable(name, version, path, batching, self._record_batch, self.config.prefer_tflite_model)
        try:
            if self.config.enable_model_warmup:
                replay_warmup(servable, self.plane, self.metrics, self.config.num_request_iterations_for_warmup)
        except BaseException:
            servable.close()
            raise
        return servable

    def _record_batch(self, model: str, queued, rows: int, padded: int) -> None:
        self.metrics.record_batch(model, BATCH_THREAD_POOL, queued, rows, padded)

    def start(self) -> "ModelServer":
        config = self.config
        if config.model_config_file:
            self._applied_config = config_lib.read_model_server_config(config.model_config_file)
        self.store.reconcile()
        # A version whose first load failed does not hold the ports closed through its retries: the models that
        # loaded are served, and the failure shows in its status, as upstream.
        if not self.store.wait_until_attempted(config.initial_load_timeout_seconds):
            log.warning("serving before every model finished loading (%.0fs)", config.initial_load_timeout_seconds)
        self._start_grpc()
        if config.rest_api_port is not None:
            api = RestApi(self.plane, config.rest_api_timeout_in_ms, config.max_json_depth, config.prometheus_path)
            try:
                self._rest = HttpServer(config.host, config.rest_api_port, api, config.max_request_bytes,
                                        max_handlers=config.rest_api_num_threads).start()
            except OSError as error:
                raise Unavailable(f"cannot bind the REST port {config.host}:{config.rest_api_port}: "
                                  f"{error.strerror}") from None
            self.rest_port = self._rest.port
        if config.file_system_poll_wait_seconds > 0:
            self._pollers.append(_Poller("poll-versions", config.file_system_poll_wait_seconds,
                                         self.store.reconcile))
        if config.model_config_file and config.model_config_file_poll_wait_seconds > 0:
            self._pollers.append(_Poller("poll-model-config", config.model_config_file_poll_wait_seconds,
                                         self.poll_model_config))
        for poller in self._pollers:
            poller.start()
        log.info("serving gRPC on %s:%d, REST on %s", config.host, self.grpc_port, self.rest_port or "off")
        return self

    def _start_grpc(self) -> None:
        config = self.config
        # Upstream's --grpc_channel_arguments come last, so they override these.
        options = [("grpc.max_receive_message_length", config.max_request_bytes),
                   ("grpc.max_send_message_length", -1), ("grpc.so_reuseport", 0), *config.grpc_channel_arguments]
        interceptors = [grpc_auth.KeyCheckInterceptor(config.grpc_auth_url)] if config.grpc_auth_url else []
        self._grpc = grpc.server(concurrent.futures.ThreadPoolExecutor(config.grpc_max_threads, "grpc"),
                                 options=options, maximum_concurrent_rpcs=None, interceptors=interceptors)
        self._health = grpc_service.add_services(self._grpc, self.plane, config.enable_serialization_as_tensor_content,
                                                 config.enable_grpc_healthcheck_service)
        if config.enable_profiler:
            add_profiler_service(self._grpc)
        self.grpc_port = self._bind_grpc(f"{config.host}:{config.port}", f"the gRPC port {config.host}:{config.port}")
        if config.grpc_socket_path:
            self._bind_grpc(f"unix:{config.grpc_socket_path}", f"the gRPC socket {config.grpc_socket_path}")
        self._grpc.start()

    def _bind_grpc(self, address: str, what: str) -> int:
        credentials = _server_credentials(self.config.ssl) if self.config.ssl else None
        try:
            bound = (self._grpc.add_secure_port(address, credentials) if credentials
                     else self._grpc.add_insecure_port(address))
        except RuntimeError:
            bound = 0
        if bound == 0:
            raise Unavailable(f"cannot bind {what} (in use, or not writable?)")
        return bound

    def poll_model_config(self) -> None:
        """Re-reads --model_config_file and applies it when it differs from what was last applied."""
        try:
            proto = config_lib.read_model_server_config(self.config.model_config_file)
        except ServingError as error:
            log.error("ignoring unreadable model config: %s", error.message)
            return
        if proto == self._applied_config:
            return
        try:
            models = config_lib.served_models(proto, self.config.model_config_file)
            self.store.reload(models)
            self._applied_config = proto
        except FailedPrecondition as error:
            # A label on a version that is not loaded yet: apply the versions now with the labels in force, and
            # leave the file marked unapplied so a later poll moves the label once the version is AVAILABLE.
            log.info("model config %s: %s; loading its versions first", self.config.model_config_file,
                     error.message)
            self.store.reload([dataclasses.replace(m, labels=tuple(sorted(self.store.labels(m.name).items())))
                               for m in models])
        except ServingError as error:
            log.error("model config %s not applied: %s", self.config.model_config_file, error.message)

    def stop(self, grace: float = 5.0) -> None:
        """Stops accepting, finishes in-flight calls (up to `grace` seconds) and unloads every version."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        for poller in self._pollers:
            poller.stop()
        if self._health is not None:
            self._health.shutdown()  # health watchers see NOT_SERVING before the ports close
        if self._rest is not None:
            self._rest.stop()
        if self._grpc is not None:
            self._grpc.stop(grace).wait()
        self.store.close()
        request_logging.close_request_log(self.plane)

    def wait(self) -> None:
        """Blocks until `stop` is called (from a signal handler or another thread)."""
        self._stopped.wait()

    def __enter__(self) -> "ModelServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _server_credentials(ssl: SslConfig) -> grpc.ServerCredentials:
    """TLS for gRPC from an SSLConfig; mutual TLS when it asks to verify clients (upstream's client_verify)."""
    return grpc.ssl_server_credentials([(ssl.server_key.encode("utf-8"), ssl.server_cert.encode("utf-8"))],
                                       root_certificates=ssl.custom_ca.encode("utf-8") or None,
                                       require_client_auth=ssl.client_verify)


def start(config: ServerConfig) -> ModelServer:
    """Builds and starts a server; see the module docstring."""
    server = ModelServer(config)
    try:
        server.start()
    except BaseException:
        server.stop(0)
        raise
    return server


def serve_model(name: str, base_path: str, **overrides) -> ModelServer:
    """Starts a server for one model on free ports with polling off (ServingCheck's canary server)."""
    defaults = dict(port=0, rest_api_port=0, host="localhost", file_system_poll_wait_seconds=0.0)
    config = ServerConfig(models=(ServedModel(name, base_path),), **{**defaults, **overrides})
    return start(config)

