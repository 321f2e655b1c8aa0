"""Checks of the names that reach the backend's URLs (model names and version labels)."""

from __future__ import annotations

import re

from gateway.errors import BadRequest

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def checked_name(kind: str, value: str) -> str:
    """`value` when it is a plain name (letters, digits, `.`, `_`, `-`); BadRequest otherwise.

    Nothing else reaches a backend URL, so a path cannot smuggle a header, a query or another route.
    """
    if not _NAME.fullmatch(value):
        raise BadRequest(f"{kind} must be 1-128 letters, digits, '.', '_' or '-' (got {value[:40]!r})")
    return value
