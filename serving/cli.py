"""`nlp2prod serve` and `nlp2prod predict`; the version commands live in `serving.version_commands`.

`serve` takes tensorflow_model_server's flags (same names, same defaults, `--flag=true|false` booleans) plus a
few limits of its own, builds the one frozen `ServerConfig` here, and serves until SIGINT/SIGTERM. With no model
flags it serves what `nlp2prod run` pushed: model `nlp2prod` under `.nlp2prod/serving/nlp2prod`.
A user's mistake prints one line to stderr and returns 2; nothing here prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from typing import List, Optional

from serving import config as config_lib
from serving.errors import CommandError, ServingError
from serving.version_commands import canary_main, promote_main, report_failure, rollback_main, versions_main

__all__ = ["serve_main", "predict_main", "versions_main", "promote_main", "canary_main", "rollback_main"]

DEFAULT_MODEL_NAME = "nlp2prod"
DEFAULT_SERVING_ROOT = os.path.join(".nlp2prod", "serving")


def parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _flag(parser: argparse.ArgumentParser, name: str, default, help_text: str, kind=None) -> None:
    if isinstance(default, bool):
        parser.add_argument(f"--{name}", type=parse_bool, nargs="?", const=True, default=default, help=help_text)
    else:
        parser.add_argument(f"--{name}", type=kind or type(default), default=default, help=help_text)


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nlp2prod serve", description=__doc__.splitlines()[0])
    defaults = config_lib.ServerConfig()
    _flag(parser, "port", 8500, "gRPC port")
    _flag(parser, "rest_api_port", 8501, "REST port; 0 disables REST")
    _flag(parser, "host", defaults.host, "address to bind")
    _flag(parser, "model_name", DEFAULT_MODEL_NAME, "model name (ignored with --model_config_file)")
    _flag(parser, "model_base_path", "", "dir of integer version dirs (default .nlp2prod/serving/MODEL_NAME)", str)
    _flag(parser, "model_config_file", "", "text ModelServerConfig; replaces --model_name/--model_base_path", str)
    _flag(parser, "model_config_file_poll_wait_seconds", 0, "seconds between re-reads of the config file; 0: never")
    _flag(parser, "file_system_poll_wait_seconds", 1, "seconds between scans for new versions; 0: once")
    _flag(parser, "enable_batching", False, "merge concurrent requests into batches")
    _flag(parser, "batching_parameters_file", "", "text BatchingParameters (with --enable_batching)", str)
    _flag(parser, "monitoring_config_file", "", "text MonitoringConfig enabling Prometheus metrics", str)
    _flag(parser, "request_logging_config_file", "", "text LoggingConfig: log sampled requests (not upstream)", str)
    _flag(parser, "enable_model_warmup", True, "replay assets.extra/tf_serving_warmup_requests before serving")
    _flag(parser, "num_request_iterations_for_warmup", 1, "times each warmup record is replayed")
    _flag(parser, "max_num_load_retries", 5, "retries of a failed load")
    _flag(parser, "load_retry_interval_micros", 60_000_000, "microseconds between load retries")
    _flag(parser, "num_load_threads", defaults.num_load_threads, "parallel version loads")
    _flag(parser, "allow_version_labels_for_unavailable_models", False, "allow new labels on unloaded versions")
    _flag(parser, "rest_api_timeout_in_ms", defaults.rest_api_timeout_in_ms, "REST request timeout")
    _flag(parser, "grpc_max_threads", defaults.grpc_max_threads, "gRPC worker threads")
    _flag(parser, "enable_grpc_healthcheck_service", True, "serve grpc.health.v1")
    _flag(parser, "enable_serialization_as_tensor_content", False, "encode outputs as tensor_content")
    _flag(parser, "max_request_bytes", defaults.max_request_bytes, "largest request body / message accepted")
    _flag(parser, "max_request_batch", defaults.max_request_batch, "most instances or examples per request")
    _flag(parser, "max_json_depth", defaults.max_json_depth, "deepest JSON nesting accepted")
    _flag(parser, "utf8_string_inputs", ",".join(defaults.utf8_string_inputs),
          "comma-separated string inputs that must be UTF-8", str)
    return parser


def server_config(args: argparse.Namespace) -> config_lib.ServerConfig:
    """The frozen ServerConfig of parsed `serve` flags (reads the three config files)."""
    if args.model_config_file:
        models = config_lib.served_models(config_lib.read_model_server_config(args.model_config_file),
                                          args.model_config_file)
    else:
        base_path = args.model_base_path or os.path.join(DEFAULT_SERVING_ROOT, args.model_name)
        models = config_lib.served_models(config_lib.single_model_config(args.model_name, base_path))
    batching = config_lib.BatchingConfig()
    if args.enable_batching and args.batching_parameters_file:
        batching = config_lib.read_batching_config(args.batching_parameters_file)
    prometheus = (config_lib.read_prometheus_path(args.monitoring_config_file)
                  if args.monitoring_config_file else None)
    for name in ("port", "rest_api_port"):
        if not 0 <= getattr(args, name) <= 65535 or (name == "port" and args.port == 0):
            raise CommandError(f"--{name}={getattr(args, name)} is not a usable port")
    return config_lib.ServerConfig(
        models=models, host=args.host, port=args.port, rest_api_port=args.rest_api_port or None,
        model_config_file=args.model_config_file or None,
        model_config_file_poll_wait_seconds=args.model_config_file_poll_wait_seconds,
        file_system_poll_wait_seconds=args.file_system_poll_wait_seconds,
        enable_batching=args.enable_batching, batching=batching, prometheus_path=prometheus,
        request_logging_config_file=args.request_logging_config_file or None,
        enable_model_warmup=args.enable_model_warmup,
        num_request_iterations_for_warmup=args.num_request_iterations_for_warmup,
        max_num_load_retries=args.max_num_load_retries,
        load_retry_interval_seconds=args.load_retry_interval_micros / 1e6, num_load_threads=args.num_load_threads,
        allow_version_labels_for_unavailable_models=args.allow_version_labels_for_unavailable_models,
        rest_api_timeout_in_ms=args.rest_api_timeout_in_ms, grpc_max_threads=args.grpc_max_threads,
        enable_grpc_healthcheck_service=args.enable_grpc_healthcheck_service,
        enable_serialization_as_tensor_content=args.enable_serialization_as_tensor_content,
        max_request_bytes=args.max_request_bytes, max_request_batch=args.max_request_batch,
        max_json_depth=args.max_json_depth,
        utf8_string_inputs=tuple(n for n in args.utf8_string_inputs.split(",") if n))


def serve_main(argv: Optional[List[str]] = None) -> int:
    """Starts the server and blocks until SIGINT or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = server_config(_serve_parser().parse_args(argv))
        from serving import server  # TensorFlow loads here, after the flags are known to be good

        running = server.start(config)
    except (CommandError, ServingError) as error:
        return report_failure(error)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: running.stop())
    print(f"nlp2prod serve: gRPC on {config.host}:{running.grpc_port}, REST on "
          f"{config.host}:{running.rest_port or 'off'}; models: {', '.join(m.name for m in config.models)}",
          flush=True)
    running.wait()
    return 0


def predict_main(argv: Optional[List[str]] = None) -> int:
    """Classifies texts (arguments, or one per line from --input / stdin) through a running server."""
    parser = argparse.ArgumentParser(prog="nlp2prod predict", description=predict_main.__doc__)
    parser.add_argument("texts", nargs="*", help="texts to classify")
    parser.add_argument("--input", help="file with one text per line ('-' for stdin)")
    parser.add_argument("--server", default="localhost:8500", help="gRPC address (default localhost:8500)")
    parser.add_argument("--rest_url", help="use REST at this URL instead of gRPC, e.g. http://localhost:8501")
    parser.add_argument("--model_name", default=DEFAULT_MODEL_NAME)
    address = parser.add_mutually_exclusive_group()
    address.add_argument("--version", type=int, help="a version number")
    address.add_argument("--label", help="a version label, e.g. stable or canary")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call")
    parser.add_argument("--json", action="store_true", help="one JSON object per text")
    args = parser.parse_args(argv)
    try:
        texts = _texts(args)
        from serving import client

        remote = (client.RestClient(args.rest_url, args.timeout) if args.rest_url
                  else client.GrpcClient(args.server, args.timeout))
        result = remote.predict_texts(args.model_name, texts, args.version, args.label)
    except (CommandError, ServingError) as error:
        return report_failure(error)
    for text, label, probabilities in zip(texts, result.labels, result.probabilities.tolist()):
        if args.json:
            print(json.dumps({"text": text, "label": label, "probabilities": probabilities,
                              "version": result.version or None}, ensure_ascii=False))
        else:
            print(f"{label}\t{max(probabilities):.3f}\t{text}")
    return 0


def _texts(args: argparse.Namespace) -> List[str]:
    texts = list(args.texts)
    if args.input:
        try:
            stream = sys.stdin if args.input == "-" else open(args.input, "r", encoding="utf-8")
            with stream:
                texts += [line.rstrip("\n") for line in stream if line.strip()]
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"--input {args.input}: cannot be read ({error})") from None
    if not texts:
        raise CommandError("no texts: pass them as arguments or with --input FILE")
    return texts
