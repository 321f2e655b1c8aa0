"""The key and usage store: SQLAlchemy 2 Core over SQLite (default) or PostgreSQL (several replicas).

Tables: `api_keys` (one row per key: id, name, HMAC digest, scopes, limits, created/expires/revoked times),
`usage` (requests, texts and errors per key and UTC day, added to by every replica) and `schema_info` (the
schema version; `open_store` creates missing tables and refuses a database written by a newer gateway).
Times are stored as naive UTC and returned timezone-aware.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import os
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from gateway import keys
from gateway.errors import BadRequest, NotFound

SCHEMA_VERSION = 1
_metadata = sa.MetaData()
api_keys = sa.Table(
    "api_keys", _metadata,
    sa.Column("key_id", sa.String(24), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("scopes", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=True),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
    sa.Column("rate_per_second", sa.Float, nullable=True),
    sa.Column("burst", sa.Integer, nullable=True),
)
usage = sa.Table(
    "usage", _metadata,
    sa.Column("key_id", sa.String(24), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("requests", sa.BigInteger, nullable=False, default=0),
    sa.Column("texts", sa.BigInteger, nullable=False, default=0),
    sa.Column("errors", sa.BigInteger, nullable=False, default=0),
)
schema_info = sa.Table("schema_info", _metadata, sa.Column("version", sa.Integer, nullable=False))


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _to_db(moment: Optional[datetime.datetime]) -> Optional[datetime.datetime]:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise BadRequest(f"time {moment.isoformat()} has no time zone")
    return moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def _from_db(moment: Optional[datetime.datetime]) -> Optional[datetime.datetime]:
    return moment.replace(tzinfo=datetime.timezone.utc) if moment is not None else None


@dataclasses.dataclass(frozen=True)
class KeyRecord:
    """A stored key without its digest: what listings, audit lines and auth decisions use."""

    key_id: str
    name: str
    scopes: Tuple[str, ...]
    created_at: datetime.datetime
    created_by: str
    expires_at: Optional[datetime.datetime] = None
    revoked_at: Optional[datetime.datetime] = None
    rate_per_second: Optional[float] = None
    burst: Optional[int] = None

    def state(self, now: datetime.datetime) -> str:
        """`revoked`, `expired` or `active` at `now`."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def as_json(self, now: Optional[datetime.datetime] = None) -> dict:
        """The public fields, times as ISO 8601."""
        stamp = lambda m: m.isoformat(timespec="seconds") if m else None  # noqa: E731
        return {"key_id": self.key_id, "name": self.name, "scopes": list(self.scopes),
                "created_at": stamp(self.created_at), "created_by": self.created_by,
                "expires_at": stamp(self.expires_at), "revoked_at": stamp(self.revoked_at),
                "rate_per_second": self.rate_per_second, "burst": self.burst,
                "state": self.state(now or utc_now())}


def _record(row) -> KeyRecord:
    return KeyRecord(row.key_id, row.name, tuple(row.scopes.split(",")), _from_db(row.created_at), row.created_by,
                     _from_db(row.expires_at), _from_db(row.revoked_at), row.rate_per_second, row.burst)


UsageCounts = Dict[Tuple[str, datetime.date], Tuple[int, int, int]]


class KeyStore:
    """Keys and usage in one database; safe to share between threads and between replicas."""

    def __init__(self, engine: sa.Engine, server_secret: bytes):
        self.engine = engine
        self._secret = server_secret

    def create(self, name: str, scopes: Iterable[str], created_by: str,
               expires_at: Optional[datetime.datetime] = None, rate_per_second: Optional[float] = None,
               burst: Optional[int] = None) -> Tuple[KeyRecord, str]:
        """Stores a new key; returns its record and the key itself (shown once, never stored)."""
        if not name.strip() or len(name) > 200:
            raise BadRequest("a key needs a name of 1 to 200 characters")
        if rate_per_second is not None and rate_per_second <= 0 or burst is not None and burst < 1:
            raise BadRequest("rate_per_second must be > 0 and burst >= 1")
        now = utc_now().replace(microsecond=0)
        if expires_at is not None and expires_at <= now:
            raise BadRequest(f"expiry {expires_at.isoformat()} is in the past")
        key_id, key = keys.new_key()
        record = KeyRecord(key_id, name.strip(), keys.parse_scopes(scopes), now, created_by, expires_at, None,
                           rate_per_second, burst)
        with self.engine.begin() as connection:
            connection.execute(api_keys.insert().values(
                key_id=key_id, name=record.name, digest=keys.digest(self._secret, key), scopes=",".join(record.scopes),
                created_at=_to_db(now), created_by=created_by, expires_at=_to_db(expires_at),
                rate_per_second=rate_per_second, burst=burst))
        return record, key

    def lookup(self, key_id: str) -> Optional[Tuple[KeyRecord, str]]:
        """The record and stored digest of `key_id`, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
        return (_record(row), row.digest) if row is not None else None

    def get(self, key_id: str) -> KeyRecord:
        found = self.lookup(key_id)
        if found is None:
            raise NotFound(f"no key with id {key_id!r}")
        return found[0]

    def list(self) -> List[KeyRecord]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id))
            return [_record(row) for row in rows]

    def revoke(self, key_id: str, when: Optional[datetime.datetime] = None) -> KeyRecord:
        """Revokes `key_id` at `when` (default now); an already revoked key keeps its first revocation time."""
        record = self.get(key_id)
        if record.revoked_at is not None and (when is None or record.revoked_at <= when):
            return record
        moment = (when or utc_now()).replace(microsecond=0)
        with self.engine.begin() as connection:
            connection.execute(api_keys.update().where(api_keys.c.key_id == key_id).values(revoked_at=_to_db(moment)))
        return dataclasses.replace(record, revoked_at=moment)

    def rotate(self, key_id: str, created_by: str, grace_seconds: float = 0.0) -> Tuple[KeyRecord, KeyRecord, str]:
        """A new key with the same name, scopes, limits and expiry; the old one is revoked after the grace time.

        Returns (old record, new record, new key).
        """
        old = self.get(key_id)
        if old.state(utc_now()) != "active":
            raise BadRequest(f"key {key_id} is {old.state(utc_now())}; only an active key can be rotated")
        new, key = self.create(old.name, old.scopes, created_by, old.expires_at, old.rate_per_second, old.burst)
        old = self.revoke(key_id, utc_now() + datetime.timedelta(seconds=max(0.0, grace_seconds)))
        return old, new, key

    def add_usage(self, counts: UsageCounts) -> None:
        """Adds (requests, texts, errors) per (key id, day) to the stored totals; replicas add concurrently."""
        if not counts:
            return
        rows = [{"key_id": k, "day": d, "requests": r, "texts": t, "errors": e} for (k, d), (r, t, e) in counts.items()]
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(usage)
        statement = statement.on_conflict_do_update(
            index_elements=[usage.c.key_id, usage.c.day],
            set_={name: getattr(usage.c, name) + getattr(statement.excluded, name)
                  for name in ("requests", "texts", "errors")})
        with self.engine.begin() as connection:
            connection.execute(statement, rows)

    def usage(self, since: Optional[datetime.date] = None, until: Optional[datetime.date] = None,
              key_id: Optional[str] = None) -> List[dict]:
        """Usage rows (key id, name, day, requests, texts, errors), by day then key."""
        query = sa.select(usage, api_keys.c.name).join(api_keys, api_keys.c.key_id == usage.c.key_id, isouter=True)
        if since:
            query = query.where(usage.c.day >= since)
        if until:
            query = query.where(usage.c.day <= until)
        if key_id:
            query = query.where(usage.c.key_id == key_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(usage.c.day, usage.c.key_id))
            return [{"day": row.day.isoformat(), "key_id": row.key_id, "name": row.name, "requests": row.requests,
                     "texts": row.texts, "errors": row.errors} for row in rows]

    def close(self) -> None:
        self.engine.dispose()


def open_store(database_url: str, server_secret: bytes) -> KeyStore:
    """Connects, creates missing tables and checks the schema version."""
    engine = _engine(database_url)
    _metadata.create_all(engine)
    with engine.begin() as connection:
        versions = [row.version for row in connection.execute(sa.select(schema_info.c.version))]
        if not versions:
            connection.execute(schema_info.insert().values(version=SCHEMA_VERSION))
        elif max(versions) > SCHEMA_VERSION:
            raise RuntimeError(f"{engine.url.render_as_string(hide_password=True)} has schema version "
                               f"{max(versions)}; this gateway knows {SCHEMA_VERSION} (upgrade the gateway)")
    return KeyStore(engine, server_secret)


def _engine(database_url: str) -> sa.Engine:
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    if url.database and url.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return engine


def export_rows(rows: Sequence[dict], fmt: str) -> str:
    """Usage rows as `csv` or `jsonl` text."""
    fields = ("day", "key_id", "name", "requests", "texts", "errors")
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    raise BadRequest(f"unknown export format {fmt!r} (csv or jsonl)")
