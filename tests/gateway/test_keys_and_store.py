"""Keys (format, digest, scopes) and the store on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import datetime

import pytest
from gateway_test_support import SECRET

from gateway import keys
from gateway.errors import BadRequest, NotFound, Unauthenticated
from gateway.store import open_store, utc_now


def test_a_key_is_prefixed_random_and_stored_only_as_its_hmac():
    key_id, key = keys.new_key()
    other_id, other = keys.new_key()
    assert key.startswith("n2p_") and keys.key_id_of(key) == key_id
    assert key != other and key_id != other_id
    stored = keys.digest(SECRET, key)
    assert key not in stored and len(stored) == 64
    assert keys.matches(SECRET, key, stored)
    assert not keys.matches(SECRET, other, stored)
    assert not keys.matches(b"another-secret-of-16-bytes", key, stored)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer n2p_short", "Bearer sk-123"])
def test_missing_or_malformed_keys_are_refused_without_echo(header):
    with pytest.raises(Unauthenticated) as refused:
        keys.key_id_of(keys.bearer_key(header))
    if header:
        assert header.split(" ")[-1] not in refused.value.message or not header.split(" ")[-1]


def test_scopes_are_checked_and_admin_implies_the_others():
    assert keys.parse_scopes(["read", "predict", "read"]) == ("predict", "read")
    assert keys.grants(("admin",), "predict") and keys.grants(("admin",), "read")
    assert not keys.grants(("read",), "predict")
    with pytest.raises(BadRequest, match="unknown scope 'write'"):
        keys.parse_scopes(["write"])
    with pytest.raises(BadRequest, match="at least one scope"):
        keys.parse_scopes([])


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path}/keys.db", SECRET)
    else:
        opened = open_store(request.getfixturevalue("postgres").url, SECRET)
        with opened.engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE api_keys, usage")
    yield opened
    opened.close()


def test_create_lookup_list_revoke_and_rotate(store):
    record, key = store.create("app", ["predict", "read"], "tester", rate_per_second=2.0, burst=3)
    found, stored = store.lookup(record.key_id)
    assert found == record and keys.matches(SECRET, key, stored)
    assert [r.key_id for r in store.list()] == [record.key_id]
    assert found.state(utc_now()) == "active"

    old, new, new_key = store.rotate(record.key_id, "tester", grace_seconds=60)
    assert (new.name, new.scopes, new.rate_per_second, new.burst) == ("app", ("predict", "read"), 2.0, 3)
    assert old.state(utc_now()) == "active" and old.state(utc_now() + datetime.timedelta(seconds=61)) == "revoked"
    assert keys.key_id_of(new_key) == new.key_id

    revoked = store.revoke(new.key_id)
    assert store.get(new.key_id).state(utc_now()) == "revoked" and revoked.revoked_at is not None
    with pytest.raises(NotFound):
        store.revoke("000000000000")


def test_expiry_and_bad_input(store):
    soon = utc_now().replace(microsecond=0) + datetime.timedelta(seconds=30)
    record, _ = store.create("short-lived", ["read"], "tester", expires_at=soon)
    assert store.get(record.key_id).expires_at == soon
    assert record.state(soon + datetime.timedelta(seconds=1)) == "expired"
    with pytest.raises(BadRequest, match="in the past"):
        store.create("old", ["read"], "tester", expires_at=utc_now() - datetime.timedelta(days=1))
    with pytest.raises(BadRequest, match="name"):
        store.create("  ", ["read"], "tester")


def test_usage_from_several_replicas_adds_up_and_exports(store):
    record, _ = store.create("metered", ["predict"], "tester")
    today = datetime.date(2026, 12, 1)
    store.add_usage({(record.key_id, today): (3, 10, 1)})
    store.add_usage({(record.key_id, today): (2, 4, 0), (record.key_id, today + datetime.timedelta(days=1)): (1, 1, 1)})
    rows = store.usage(key_id=record.key_id)
    assert [(r["day"], r["requests"], r["texts"], r["errors"]) for r in rows] == [
        ("2026-12-01", 5, 14, 1), ("2026-12-02", 1, 1, 1)]
    assert rows[0]["name"] == "metered"
    assert store.usage(since=today + datetime.timedelta(days=1))[0]["requests"] == 1
