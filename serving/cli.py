"""`nlp2prod serve` and `nlp2prod predict`; the version commands live in `serving.version_commands`.

`serve` takes tensorflow_model_server's flags (same names, `--flag=true|false` booleans) plus a few limits of its
own: one flag per flagged `ServerConfig` field, with that field's default (`config.flag_fields`), plus the files
the models, batching, metrics and TLS are read from. It builds the one frozen `ServerConfig` here and serves until
SIGINT/SIGTERM. With no model flags it serves what `nlp2prod run` pushed: model `nlp2prod` under
`.nlp2prod/serving/nlp2prod`. A user's mistake, or an upstream flag that is not supported, prints one line to
stderr and returns 2; nothing here prints a traceback for bad input.
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


# tensorflow_model_server flags that `serve` does not implement; each is refused by name (README lists them).
UNSUPPORTED_FLAGS = (
    "rest_api_enable_cors_support", "enable_per_model_batching_parameters", "num_unload_threads",
    "flush_filesystem_caches", "tensorflow_session_parallelism", "tensorflow_session_config_file",
    "tensorflow_intra_op_parallelism", "tensorflow_inter_op_parallelism", "use_alts_credentials",
    "platform_config_file", "per_process_gpu_memory_fraction", "saved_model_tags", "version",
    "remove_unused_fields_from_bundle_metagraph", "num_tflite_pools", "num_tflite_interpreters_per_pool",
    "xla_cpu_compilation_enabled", "xla_gpu_compilation_enabled", "thread_pool_factory_config_file",
    "mixed_precision", "skip_initialize_tpu")


def parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _add(parser: argparse.ArgumentParser, name: str, default, help_text: str, kind=None, dest=None) -> None:
    options = dict(default=default, help=help_text, dest=dest or name)
    if isinstance(default, bool):
        parser.add_argument(f"--{name}", type=parse_bool, nargs="?", const=True, **options)
    else:
        parser.add_argument(f"--{name}", type=kind or type(default), **options)


class _ServeParser(argparse.ArgumentParser):
    def error(self, message: str):
        raise CommandError(f"serve: {message}")


def _serve_parser() -> argparse.ArgumentParser:
    """`serve`'s flags: one per flagged `ServerConfig` field (its default, under upstream's name), plus the
    files and names that the config's models, batching, metrics and TLS are read from."""
    parser = _ServeParser(prog="nlp2prod serve", description=__doc__.splitlines()[0], allow_abbrev=False)
    for field, flag in config_lib.flag_fields():
        default = flag.show(field.default) if flag.show else field.default
        _add(parser, flag.name or field.name, default, flag.help, flag.kind, dest=field.name)
    _add(parser, "model_name", DEFAULT_MODEL_NAME, "model name (ignored with --model_config_file)")
    _add(parser, "model_base_path", "", "dir of integer version dirs (default .nlp2prod/serving/MODEL_NAME)")
    _add(parser, "batching_parameters_file", "", "text BatchingParameters (with --enable_batching)")
    _add(parser, "monitoring_config_file", "", "text MonitoringConfig enabling Prometheus metrics")
    _add(parser, "ssl_config_file", "", "text SSLConfig: serve gRPC over TLS (mutual with client_verify)")
    return parser


def parse_serve_flags(argv: Optional[List[str]]) -> argparse.Namespace:
    """Parses `serve`'s flags; a tensorflow_model_server flag that is not implemented is named and refused."""
    parser = _serve_parser()
    args, unknown = parser.parse_known_args(argv)
    for item in unknown:
        name = item.split("=", 1)[0].lstrip("-")
        if name in UNSUPPORTED_FLAGS:
            raise CommandError(f"--{name} is a tensorflow_model_server flag that nlp2prod serve "
                               "does not support")
        raise CommandError(f"serve: unrecognized argument {item}")
    return args


def server_config(args: argparse.Namespace) -> config_lib.ServerConfig:
    """The frozen ServerConfig of parsed `serve` flags (reads the config files they name)."""
    if args.model_config_file:
        models = config_lib.served_models(config_lib.read_model_server_config(args.model_config_file),
                                          args.model_config_file)
    else:
        base_path = args.model_base_path or os.path.join(DEFAULT_SERVING_ROOT, args.model_name)
        models = config_lib.served_models(config_lib.single_model_config(args.model_name, base_path))
    for name in ("port", "rest_api_port"):
        if not 0 <= getattr(args, name) <= 65535 or (name == "port" and args.port == 0):
            raise CommandError(f"--{name}={getattr(args, name)} is not a usable port")
    fields = {field.name: flag.parse(getattr(args, field.name)) if flag.parse else getattr(args, field.name)
              for field, flag in config_lib.flag_fields()}
    return config_lib.ServerConfig(
        models=models, **fields,
        batching=(config_lib.read_batching_config(args.batching_parameters_file)
                  if args.enable_batching and args.batching_parameters_file else config_lib.BatchingConfig()),
        prometheus_path=(config_lib.read_prometheus_path(args.monitoring_config_file)
                         if args.monitoring_config_file else None),
        ssl=config_lib.read_ssl_config(args.ssl_config_file) if args.ssl_config_file else None)


def serve_main(argv: Optional[List[str]] = None) -> int:
    """Starts the server and blocks until SIGINT or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = server_config(parse_serve_flags(argv))
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
