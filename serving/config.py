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
from typing import Dict, Iterable, Optional, Tuple

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
class ServerConfig:
    """Everything the server needs, with tensorflow_model_server's defaults where it has one."""

    models: Tuple[ServedModel, ...] = ()
    host: str = "0.0.0.0"
    port: int = 8500  # 0 here (not on the CLI) picks a free port, for in-process use
    rest_api_port: Optional[int] = 8501  # None: no REST (the CLI maps upstream's --rest_api_port=0 to None)
    model_config_file: Optional[str] = None
    model_config_file_poll_wait_seconds: float = 0.0  # 0: read once
    file_system_poll_wait_seconds: float = 1.0  # 0: poll once at start; < 0: never
    enable_batching: bool = False
    batching: BatchingConfig = BatchingConfig()
    prometheus_path: Optional[str] = None  # None: no metrics endpoint (upstream's default)
    request_logging_config_file: Optional[str] = None  # text LoggingConfig (serving/request_logging.py)
    enable_model_warmup: bool = True
    num_request_iterations_for_warmup: int = 1
    max_num_load_retries: int = 5
    load_retry_interval_seconds: float = 60.0
    num_load_threads: int = 2
    allow_version_labels_for_unavailable_models: bool = False
    enable_grpc_healthcheck_service: bool = True
    enable_serialization_as_tensor_content: bool = False
    rest_api_timeout_in_ms: int = 30000
    grpc_max_threads: int = 16
    # Limits beyond upstream: request bytes (both protocols), examples per request, JSON nesting depth.
    max_request_bytes: int = 16 * 1024 * 1024
    max_request_batch: int = 1024
    max_json_depth: int = 32
    # String inputs that must hold valid UTF-8 (the raw-text inputs of our models); others may carry bytes.
    utf8_string_inputs: Tuple[str, ...] = ("text",)
    # How long `start()` waits for the first load of every configured model before serving anyway.
    initial_load_timeout_seconds: float = 300.0


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


def _parse_text_file(path: str, message, flag: str):
    try:
        with open(path, "r", encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{flag} {path}: cannot be read ({error})") from None
    try:
        return text_format.Parse(text, message)
    except text_format.ParseError as error:
        raise ConfigError(f"{flag} {path}: not a valid text {message.DESCRIPTOR.name}: {error}") from None
