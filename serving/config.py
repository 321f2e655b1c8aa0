"""The server's one frozen configuration, and the readers of TF Serving's text-format config files.

`ServerConfig` is built once at the edge (the `serve` command's flags, or a caller of `server.start`) and handed to
constructors; nothing below reads flags or the environment. The three files that tensorflow_model_server reads
keep their upstream formats, so the same files drive the real server:

- `--model_config_file`: a text `ModelServerConfig` (tensorflow_serving.config protos) -> `ServedModel`s;
- `--batching_parameters_file`: a text `BatchingParameters` -> `BatchingConfig`;
- `--monitoring_config_file`: a text `MonitoringConfig` -> the Prometheus path (or None).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from serving import protos
from serving.errors import ConfigError

DEFAULT_PROMETHEUS_PATH = "/monitoring/prometheus/metrics"


@dataclasses.dataclass(frozen=True)
class VersionPolicy:
    """Which on-disk versions a model serves: the `latest` N, `all`, or a `specific` list."""

    kind: str = "latest"
    num_versions: int = 1
    versions: Tuple[int, ...] = ()

    def select(self, on_disk: Iterable[int]) -> Tuple[int, ...]:
        """The aspired versions among those on disk, highest first."""
        ordered = sorted(set(on_disk), reverse=True)
        if self.kind == "all":
            return tuple(ordered)
        if self.kind == "specific":
            return tuple(v for v in ordered if v in self.versions)
        return tuple(ordered[: self.num_versions])


@dataclasses.dataclass(frozen=True)
class ServedModel:
    """One entry of the model config list: a name, the base path of its version dirs, a policy and labels."""

    name: str
    base_path: str
    policy: VersionPolicy = VersionPolicy()
    labels: Tuple[Tuple[str, int], ...] = ()

    @property
    def label_map(self) -> Dict[str, int]:
        return dict(self.labels)


@dataclasses.dataclass(frozen=True)
class BatchingConfig:
    """TF Serving's BatchingParameters; defaults are BasicBatchScheduler's."""

    max_batch_size: int = 1000
    batch_timeout_micros: int = 0
    max_enqueued_batches: int = 10
    num_batch_threads: int = 2
    allowed_batch_sizes: Tuple[int, ...] = ()
    pad_variable_length_inputs: bool = False
    enable_large_batch_splitting: bool = False
    max_execution_batch_size: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class Flag:
    """How a `ServerConfig` field appears on `nlp2prod serve`: its help, and the conversions when the flag's name
    or spelling differs from the field (upstream's microseconds, `0` for "off", comma-separated lists)."""

    help: str
    name: str = ""  # the flag's name when it is not the field's
    kind: Optional[type] = None  # the flag's value type when it is not the default's
    parse: Optional[Callable[[Any], Any]] = None  # flag value -> field value
    show: Optional[Callable[[Any], Any]] = None  # field default -> flag default


def _flag(default, help_text: str, **spelling) -> Any:
    return dataclasses.field(default=default, metadata={"flag": Flag(help_text, **spelling)})


def parse_channel_arguments(text: str) -> Tuple[Tuple[str, Union[int, str]], ...]:
    """`--grpc_channel_arguments`: `key=value,...`; a value that is an integer is passed as one, as upstream."""
    arguments = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, separator, value = item.partition("=")
        if not separator or not key.strip():
            raise ConfigError(f"--grpc_channel_arguments: {item!r} is not key=value")
        value = value.strip()
        arguments.append((key.strip(), int(value) if value.lstrip("-").isdigit() else value))
    return tuple(arguments)


def _show_channel_arguments(arguments) -> str:
    return ",".join(f"{key}={value}" for key, value in arguments)


_CPUS = os.cpu_count() or 1


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """Everything the server needs, with tensorflow_model_server's defaults where it has one.

    Each field with a `Flag` is one flag of `nlp2prod serve`, under upstream's name; `models`, `batching`,
    `prometheus_path` and `ssl` come from the files the CLI reads (--model_config_file or --model_name/
    --model_base_path, --batching_parameters_file, --monitoring_config_file, --ssl_config_file).
    """

    models: Tuple[ServedModel, ...] = ()
    host: str = _flag("0.0.0.0", "address to bind (beyond upstream, which binds every address)")
    # 0 here (the CLI refuses it) picks a free port, for in-process use.
    port: int = _flag(8500, "gRPC port")
    grpc_socket_path: str = _flag("", "also serve gRPC on this UNIX socket")
    # None: no REST; upstream's --rest_api_port=0 means that (in-process, 0 picks a free port).
    rest_api_port: Optional[int] = _flag(8501, "REST port; 0 disables REST", kind=int, parse=lambda p: p or None,
                                         show=lambda p: p or 0)
    rest_api_num_threads: int = _flag(4 * _CPUS, "most REST requests handled at once")
    rest_api_timeout_in_ms: int = _flag(30000, "REST request timeout")
    model_config_file: Optional[str] = _flag(None, "text ModelServerConfig; replaces --model_name/--model_base_path",
                                             kind=str, parse=lambda p: p or None, show=lambda p: p or "")
    model_config_file_poll_wait_seconds: float = _flag(0.0, "seconds between re-reads of the config file; 0: never")
    file_system_poll_wait_seconds: float = _flag(1.0, "seconds between scans for new versions; 0: once")
    enable_batching: bool = _flag(False, "merge concurrent requests into batches")
    batching: BatchingConfig = BatchingConfig()
    prometheus_path: Optional[str] = None  # None: no metrics endpoint (upstream's default)
    ssl: Optional["SslConfig"] = None  # None: plaintext gRPC
    # Request logging with TF Serving's LoggingConfig semantics, from its own file (serving/request_logging.py).
    request_logging_config_file: Optional[str] = _flag(
        None, "text LoggingConfig: log sampled Predict calls as PredictionLogs (not a tensorflow_model_server flag)",
        kind=str, parse=lambda p: p or None, show=lambda p: p or "")
    enable_model_warmup: bool = _flag(True, "replay assets.extra/tf_serving_warmup_requests before serving")
    num_request_iterations_for_warmup: int = _flag(1, "times each warmup record is replayed")
    max_num_load_retries: int = _flag(5, "retries of a failed load")
    load_retry_interval_seconds: float = _flag(
        60.0, "microseconds between load retries", name="load_retry_interval_micros", kind=int,
        parse=lambda micros: micros / 1e6, show=lambda seconds: int(seconds * 1e6))
    num_load_threads: int = _flag(2, "parallel version loads")
    allow_version_labels_for_unavailable_models: bool = _flag(False, "allow new labels on unloaded versions")
    enable_grpc_healthcheck_service: bool = _flag(True, "serve grpc.health.v1")
    enable_serialization_as_tensor_content: bool = _flag(False, "encode outputs as tensor_content")
    enable_signature_method_name_check: bool = _flag(
        False, "Classify/Regress/MultiInference require the signature's method_name (else its structure suffices)")
    prefer_tflite_model: bool = _flag(False, "serve model.tflite through the TFLite interpreter when a version "
                                             "dir has one")
    enable_profiler: bool = _flag(True, "answer tensorflow.ProfilerService on the gRPC port")
    grpc_max_threads: int = _flag(16, "gRPC worker threads")
    grpc_channel_arguments: Tuple[Tuple[str, Union[int, str]], ...] = _flag(
        (), "comma-separated key=value gRPC server arguments", kind=str, parse=parse_channel_arguments,
        show=_show_channel_arguments)
    # Limits beyond upstream: request bytes (both protocols), examples per request, JSON nesting depth.
    max_request_bytes: int = _flag(16 * 1024 * 1024, "largest request body / message accepted")
    max_request_batch: int = _flag(1024, "most instances or examples per request")
    max_json_depth: int = _flag(32, "deepest JSON nesting accepted")
    # String inputs that must hold valid UTF-8 (the raw-text inputs of our models); others may carry bytes.
    utf8_string_inputs: Tuple[str, ...] = _flag(
        ("text",), "comma-separated string inputs that must be UTF-8", kind=str,
        parse=lambda text: tuple(n for n in text.split(",") if n), show=",".join)
    # The gateway's key check for gRPC calls (serving.grpc_auth); None: no keys, as tensorflow_model_server.
    grpc_auth_url: Optional[str] = _flag(None, "gateway key check for gRPC calls, e.g. http://gateway:8080/v1/authz "
                                         "(not a tensorflow_model_server flag)", kind=str,
                                         parse=lambda p: p or None, show=lambda p: p or "")
    # How long `start()` waits for the first load attempt of every configured model before serving anyway.
    initial_load_timeout_seconds: float = 300.0


def flag_fields() -> List[Tuple[dataclasses.Field, Flag]]:
    """The `ServerConfig` fields that are flags of `nlp2prod serve`, in declaration order."""
    return [(field, field.metadata["flag"]) for field in dataclasses.fields(ServerConfig) if "flag" in field.metadata]


@dataclasses.dataclass(frozen=True)
class SslConfig:
    """TF Serving's SSLConfig (`--ssl_config_file`): PEM strings; `client_verify` requires client certificates."""

    server_key: str
    server_cert: str
    custom_ca: str = ""
    client_verify: bool = False


def single_model_config(name: str, base_path: str) -> model_server_config_pb2.ModelServerConfig:
    """The config that `--model_name` + `--model_base_path` stand for."""
    config = model_server_config_pb2.ModelServerConfig()
    entry = config.model_config_list.config.add()
    entry.name, entry.base_path, entry.model_platform = name, base_path, "tensorflow"
    return config


def read_model_server_config(path: str) -> model_server_config_pb2.ModelServerConfig:
    """Parses a text-format ModelServerConfig file; `ConfigError` names the file and the parse error."""
    config = _parse_text_file(path, model_server_config_pb2.ModelServerConfig(), "--model_config_file")
    served_models(config, source=path)
    return config


def model_server_config_text(config: model_server_config_pb2.ModelServerConfig) -> str:
    return text_format.MessageToString(config)


def served_models(config: model_server_config_pb2.ModelServerConfig, source: str = "config") -> Tuple[ServedModel, ...]:
    """Validates a ModelServerConfig and turns its model list into `ServedModel`s."""
    if config.WhichOneof("config") == "custom_model_config":
        raise ConfigError(f"{source}: custom_model_config is not supported; use model_config_list")
    models, seen = [], set()
    for entry in config.model_config_list.config:
        if not entry.name or not entry.base_path:
            raise ConfigError(f"{source}: every model config needs a name and a base_path (got {entry.name!r})")
        if entry.name in seen:
            raise ConfigError(f"{source}: model {entry.name!r} is configured twice")
        if entry.model_platform not in ("", "tensorflow"):
            raise ConfigError(f"{source}: model {entry.name!r} has platform {entry.model_platform!r}; only "
                              "'tensorflow' is served")
        seen.add(entry.name)
        models.append(ServedModel(entry.name, entry.base_path, _policy(entry, source),
                                  tuple(sorted(entry.version_labels.items()))))
    return tuple(models)


def _policy(entry: model_server_config_pb2.ModelConfig, source: str) -> VersionPolicy:
    policy = entry.model_version_policy
    kind = policy.WhichOneof("policy_choice") or "latest"
    if kind == "latest":
        count = policy.latest.num_versions or 1
        if count < 0:
            raise ConfigError(f"{source}: model {entry.name!r}: latest.num_versions must be positive")
        return VersionPolicy("latest", count)
    if kind == "specific":
        if not policy.specific.versions:
            raise ConfigError(f"{source}: model {entry.name!r}: a specific policy needs at least one version")
        return VersionPolicy("specific", versions=tuple(sorted(set(policy.specific.versions))))
    return VersionPolicy("all")


def read_batching_config(path: str, num_batch_threads: int = 2) -> BatchingConfig:
    """Parses a text BatchingParameters file under TF Serving's rules for allowed_batch_sizes."""
    proto = _parse_text_file(path, protos.BatchingParameters(), "--batching_parameters_file")
    defaults = BatchingConfig(num_batch_threads=num_batch_threads)

    def wrapped(name, default):
        return getattr(proto, name).value if proto.HasField(name) else default

    config = BatchingConfig(
        max_batch_size=wrapped("max_batch_size", defaults.max_batch_size),
        batch_timeout_micros=wrapped("batch_timeout_micros", defaults.batch_timeout_micros),
        max_enqueued_batches=wrapped("max_enqueued_batches", defaults.max_enqueued_batches),
        num_batch_threads=wrapped("num_batch_threads", defaults.num_batch_threads),
        allowed_batch_sizes=tuple(proto.allowed_batch_sizes),
        pad_variable_length_inputs=proto.pad_variable_length_inputs,
        enable_large_batch_splitting=wrapped("enable_large_batch_splitting", False),
        max_execution_batch_size=wrapped("max_execution_batch_size", None))
    _validate_batching(config, path)
    return config


def _validate_batching(config: BatchingConfig, path: str) -> None:
    for name in ("max_batch_size", "max_enqueued_batches", "num_batch_threads"):
        if getattr(config, name) <= 0:
            raise ConfigError(f"{path}: {name} must be positive, got {getattr(config, name)}")
    if config.batch_timeout_micros < 0:
        raise ConfigError(f"{path}: batch_timeout_micros must not be negative")
    sizes = config.allowed_batch_sizes
    if sizes:
        if list(sizes) != sorted(set(sizes)) or sizes[0] <= 0:
            raise ConfigError(f"{path}: allowed_batch_sizes must be positive and strictly increasing, got {sizes}")
        if sizes[-1] != config.max_batch_size:
            raise ConfigError(f"{path}: the last allowed_batch_sizes entry ({sizes[-1]}) must equal "
                              f"max_batch_size ({config.max_batch_size})")


def read_prometheus_path(path: str) -> Optional[str]:
    """The metrics path a MonitoringConfig file enables, or None when Prometheus is off."""
    proto = _parse_text_file(path, protos.MonitoringConfig(), "--monitoring_config_file")
    prometheus = proto.prometheus_config
    if not prometheus.enable:
        return None
    metrics_path = prometheus.path or DEFAULT_PROMETHEUS_PATH
    if not metrics_path.startswith("/"):
        raise ConfigError(f"{path}: prometheus_config.path must start with '/', got {metrics_path!r}")
    return metrics_path


def read_ssl_config(path: str) -> SslConfig:
    """Parses a text SSLConfig file; a server key and certificate are required."""
    proto = _parse_text_file(path, protos.SSLConfig(), "--ssl_config_file")
    if not proto.server_key or not proto.server_cert:
        raise ConfigError(f"--ssl_config_file {path}: server_key and server_cert are required")
    if proto.client_verify and not proto.custom_ca:
        raise ConfigError(f"--ssl_config_file {path}: client_verify needs custom_ca to check client certificates")
    return SslConfig(proto.server_key, proto.server_cert, proto.custom_ca, proto.client_verify)


def _parse_text_file(path: str, message, flag: str):
    try:
        with open(path, "r", encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{flag} {path}: cannot be read ({error})") from None
    try:
        return text_format.Parse(text, message)
    except text_format.ParseError as error:
        # Upstream's wording (log scrapers look for it), then where and why: "<line>:<column> : <reason>".
        raise ConfigError(f"{flag} {path}: Error parsing text-format {message.DESCRIPTOR.full_name}: "
                          f"{error}") from None
