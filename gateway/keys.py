"""API keys: their format, their digest and the scopes they grant (standard library only).

A key reads `n2p_<key id>_<secret>`: the fixed prefix lets secret scanners find leaked keys, the key id (12 hex
digits, not secret) finds the stored row, and the secret is 32 random bytes, URL-safe base64. Only
HMAC-SHA256(server secret, whole key) is stored; a presented key is compared with `hmac.compare_digest`.
This module is the small, dependency-free interface other processes may use to check a key's shape.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Iterable, Optional, Tuple

from gateway.errors import BadRequest, Unauthenticated

__all__ = ["PREFIX", "SCOPES", "new_key", "key_id_of", "bearer_key", "digest", "matches", "parse_scopes",
           "grants", "looks_like_key"]

PREFIX = "n2p_"
SCOPES = ("predict", "read", "admin")
_KEY = re.compile(r"n2p_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_KEY_ANYWHERE = re.compile(r"n2p_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}")
NO_KEY_MESSAGE = "no API key: send the header 'Authorization: Bearer n2p_...'"


def new_key() -> Tuple[str, str]:
    """A fresh (key id, key)."""
    key_id = secrets.token_hex(6)
    return key_id, f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(key: str) -> str:
    """The key id inside a well-formed key; raises Unauthenticated (without echoing it) otherwise."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise Unauthenticated("the API key is malformed: expected n2p_ followed by the id and secret "
                              "printed by `nlp2prod keys create`")
    return match.group(1)


def bearer_key(authorization: Optional[str]) -> str:
    """The key of an `Authorization: Bearer <key>` header value."""
    if not authorization or not authorization.strip():
        raise Unauthenticated(NO_KEY_MESSAGE)
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the Authorization header must read 'Bearer n2p_...'")
    return value.strip()


def digest(server_secret: bytes, key: str) -> str:
    """HMAC-SHA256 of the key under the server secret, hex."""
    return hmac.new(server_secret, key.encode("utf-8"), hashlib.sha256).hexdigest()


def matches(server_secret: bytes, key: str, stored_digest: str) -> bool:
    """Whether `key` has the stored digest, in constant time."""
    return hmac.compare_digest(digest(server_secret, key), stored_digest)


def parse_scopes(scopes: Iterable[str]) -> Tuple[str, ...]:
    """Known scopes, deduplicated in canonical order; raises BadRequest naming an unknown one."""
    wanted = {s.strip() for s in scopes if s.strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise BadRequest(f"unknown scope {unknown[0]!r} (scopes: {', '.join(SCOPES)})")
    if not wanted:
        raise BadRequest(f"a key needs at least one scope ({', '.join(SCOPES)})")
    return tuple(s for s in SCOPES if s in wanted)


def grants(scopes: Iterable[str], needed: str) -> bool:
    """Whether `scopes` allow `needed`; admin implies every scope."""
    held = set(scopes)
    return needed in held or "admin" in held


def looks_like_key(text: str) -> bool:
    """Whether `text` contains something shaped like a key (the audit log refuses such values)."""
    return bool(_KEY_ANYWHERE.search(text))
