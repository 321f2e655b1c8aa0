"""`nlp2prod gateway` (serve the API) and `nlp2prod keys create|list|revoke|rotate|usage`.

Both read the same two secrets at the edge: the HMAC secret (env N2P_GATEWAY_SECRET, else --secret_file, else
`.nlp2prod/gateway/secret`, created with mode 0600 on first use) and the database URL (--database_url, else env
N2P_GATEWAY_DATABASE_URL, else SQLite under .nlp2prod/gateway). Every replica must share both.
A user's mistake prints one line to stderr and returns 2.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import json
import os
import secrets
import sys
from typing import List, Optional

from gateway import settings as settings_lib
from gateway.errors import GatewayError

__all__ = ["gateway_main", "keys_main"]

DEFAULT_SECRET_FILE = os.path.join(settings_lib.DEFAULT_STATE_DIR, "secret")


def _read_secret(path: str) -> bytes:
    if os.environ.get("N2P_GATEWAY_SECRET"):
        return os.environ["N2P_GATEWAY_SECRET"].encode("utf-8")
    if not os.path.exists(path):
        if path != DEFAULT_SECRET_FILE:
            raise GatewayError(f"--secret_file {path} does not exist")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(secrets.token_urlsafe(48))
    with open(path, "r", encoding="utf-8") as stream:
        return stream.read().strip().encode("utf-8")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database_url", default=os.environ.get("N2P_GATEWAY_DATABASE_URL",
                                                                 settings_lib.GatewaySettings.database_url),
                        help="SQLAlchemy URL: sqlite:///FILE (default) or postgresql+psycopg://USER@HOST/DB")
    parser.add_argument("--secret_file", default=DEFAULT_SECRET_FILE,
                        help="file holding the HMAC secret (env N2P_GATEWAY_SECRET wins)")
    parser.add_argument("--audit_log", default=settings_lib.GatewaySettings.audit_log)


def _gateway_parser() -> argparse.ArgumentParser:
    defaults = settings_lib.GatewaySettings
    parser = argparse.ArgumentParser(prog="nlp2prod gateway", description="The token-managed API in front of "
                                     "a TF Serving REST endpoint (nlp2prod serve or tensorflow/serving).")
    parser.add_argument("--backend_url", default=defaults.backend_url, help="TF Serving REST base URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--model_name", default=defaults.model_name)
    parser.add_argument("--model_config_file", help="the models.config the backend polls (versions, labels)")
    parser.add_argument("--label_audit_log", help="label history (default MODEL_CONFIG_FILE.audit.jsonl)")
    parser.add_argument("--monitoring_report", help="JSON report served at /v1/monitoring/report")
    parser.add_argument("--request_logging_config_file",
                        help="TF Serving LoggingConfig (text format): log sampled :predict and /v1/classify calls")
    parser.add_argument("--feedback_path", default=defaults.feedback_path,
                        help="where POST /v1/feedback appends true labels (what nlp2prod monitor reads)")
    parser.add_argument("--key_cache_seconds", type=float, default=defaults.key_cache_seconds)
    parser.add_argument("--rate_per_second", type=float, default=defaults.default_rate_per_second,
                        help="default per-key rate (a key's own limit wins)")
    parser.add_argument("--burst", type=int, default=defaults.default_burst)
    parser.add_argument("--max_body_bytes", type=int, default=defaults.max_body_bytes)
    parser.add_argument("--max_texts", type=int, default=defaults.max_texts)
    parser.add_argument("--backend_timeout_seconds", type=float, default=defaults.backend_timeout_seconds)
    _common(parser)
    return parser


def gateway_settings(args: argparse.Namespace) -> settings_lib.GatewaySettings:
    """The frozen settings of parsed `gateway` flags."""
    try:
        return settings_lib.GatewaySettings(
            backend_url=args.backend_url, hmac_secret=_read_secret(args.secret_file), database_url=args.database_url,
            model_name=args.model_name, key_cache_seconds=args.key_cache_seconds,
            default_rate_per_second=args.rate_per_second, default_burst=args.burst,
            max_body_bytes=args.max_body_bytes, max_texts=args.max_texts,
            backend_timeout_seconds=args.backend_timeout_seconds, audit_log=args.audit_log,
            model_config_file=args.model_config_file, label_audit_log=args.label_audit_log,
            monitoring_report=args.monitoring_report, request_log=_request_log_settings(args),
            feedback_path=args.feedback_path)
    except ValueError as error:
        raise GatewayError(str(error)) from None


def _request_log_settings(args: argparse.Namespace):
    """The request-log settings of --request_logging_config_file (the embedded server's parser), or None."""
    if not args.request_logging_config_file:
        return None
    from monitoring.request_log import RequestLogConfigError, settings_from_logging_config_file

    try:
        return settings_from_logging_config_file(args.request_logging_config_file)
    except RequestLogConfigError as error:
        raise GatewayError(f"--request_logging_config_file {args.request_logging_config_file}: {error}") from None


def gateway_main(argv: Optional[List[str]] = None) -> int:
    """Serves the gateway until SIGINT/SIGTERM."""
    args = _gateway_parser().parse_args(argv)
    try:
        settings = gateway_settings(args)
        import uvicorn

        from gateway.app import create_app

        app = create_app(settings)
    except (GatewayError, OSError, RuntimeError) as error:
        return _fail(error)
    except Exception as error:  # a database that cannot be reached: one line, not a traceback
        return _fail(_database_failure(args.database_url, error))
    print(f"nlp2prod gateway: http://{args.host}:{args.port} -> {settings.backend_url} (docs: /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False, server_header=False)
    return 0


def _fail(error: Exception) -> int:
    print(f"nlp2prod: {getattr(error, 'message', error)}", file=sys.stderr)
    return 2


def _keys_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nlp2prod keys", description="Create, list, revoke and rotate API keys; "
                                     "export usage.")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="a new key, printed once")
    create.add_argument("name")
    create.add_argument("--scopes", default="predict", help="comma-separated: predict, read, admin")
    create.add_argument("--expires_in_days", type=float)
    create.add_argument("--rate_per_second", type=float)
    create.add_argument("--burst", type=int)
    commands.add_parser("list", help="every key, without secrets").add_argument("--json", action="store_true")
    commands.add_parser("revoke", help="stop a key on every replica within seconds").add_argument("key_id")
    rotate = commands.add_parser("rotate", help="a new key with the same name and scopes; the old one is revoked")
    rotate.add_argument("key_id")
    rotate.add_argument("--grace_seconds", type=float, default=0.0, help="keep the old key working this long")
    usage = commands.add_parser("usage", help="export usage per key and day")
    usage.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    usage.add_argument("--since", type=datetime.date.fromisoformat)
    usage.add_argument("--until", type=datetime.date.fromisoformat)
    usage.add_argument("--key_id")
    for sub in commands.choices.values():
        _common(sub)
    return parser


def keys_main(argv: Optional[List[str]] = None) -> int:
    """`nlp2prod keys COMMAND`: key management straight on the store (no running gateway needed)."""
    args = _keys_parser().parse_args(argv)
    from gateway.audit import AuditLog
    from gateway.store import open_store

    try:
        store = open_store(args.database_url, _read_secret(args.secret_file))
        try:
            _run_keys_command(args, store, AuditLog(args.audit_log), f"cli:{getpass.getuser()}")
        finally:
            store.close()
    except (GatewayError, OSError, RuntimeError) as error:
        return _fail(error)
    except Exception as error:  # a database that cannot be reached: one line, not a traceback
        return _fail(_database_failure(args.database_url, error))
    return 0


def _database_failure(database_url: str, error: Exception) -> str:
    """One line naming the database (without its password) and the failure."""
    where = database_url.split("@")[-1]
    return f"database {where}: {type(error).__name__}: {(str(error).splitlines() or [''])[0]}"


def _run_keys_command(args: argparse.Namespace, store, audit, actor: str) -> None:
    if args.command == "create":
        expiry = (datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
                  + datetime.timedelta(days=args.expires_in_days)) if args.expires_in_days else None
        record, key = store.create(args.name, args.scopes.split(","), actor, expiry, args.rate_per_second, args.burst)
        audit.append(actor, "key.create", key_id=record.key_id, name=record.name, scopes=list(record.scopes),
                     expires_at=record.as_json()["expires_at"])
        print(f"key {record.key_id} ({record.name}; scopes {','.join(record.scopes)}); shown once, keep it safe:")
        print(key)
    elif args.command == "list":
        for record in store.list():
            row = record.as_json()
            print(json.dumps(row) if args.json else f"{row['key_id']}  {row['state']:<8} {','.join(row['scopes']):<20}"
                  f" {row['name']}  created {row['created_at']}  expires {row['expires_at'] or '-'}")
    elif args.command == "revoke":
        record = store.revoke(args.key_id)
        audit.append(actor, "key.revoke", key_id=record.key_id, name=record.name)
        print(f"key {record.key_id} ({record.name}) revoked at {record.revoked_at.isoformat()}")
    elif args.command == "rotate":
        old, new, key = store.rotate(args.key_id, actor, args.grace_seconds)
        audit.append(actor, "key.rotate", key_id=old.key_id, new_key_id=new.key_id, name=new.name,
                     old_revoked_at=old.revoked_at.isoformat())
        print(f"key {new.key_id} replaces {old.key_id} (which stops at {old.revoked_at.isoformat()}); shown once:")
        print(key)
    else:
        from gateway.store import export_rows

        sys.stdout.write(export_rows(store.usage(args.since, args.until, args.key_id), args.format))
