"""models.config read and written without TF Serving's Python packages: `serving.wire_protos` builds the
ModelServerConfig class from the installed schema, and protobuf's text format does the rest.

A write is atomic (a temp file renamed over the old one) and only happens when the text parses back to the same
config, as `serving.rollback.write_config` does for the CLI.
"""

from __future__ import annotations

import os

from google.protobuf import text_format

from gateway.errors import BadRequest, NotFound
from serving import layout

__all__ = ["read_config", "write_config"]


def _config_class() -> type:
    from serving import wire_protos

    try:
        return wire_protos.message("tensorflow.serving.ModelServerConfig")
    except (ImportError, KeyError) as error:
        raise NotFound(f"TF Serving's config schema is not installed here ({error}): install "
                       "tensorflow-serving-api with --no-deps for versions and label moves") from None


def read_config(path: str):
    """The ModelServerConfig in `path`; NotFound when missing, BadRequest when it does not parse."""
    if not os.path.exists(path):
        raise NotFound(f"model config {path} does not exist")
    try:
        with open(path, "r", encoding="utf-8") as stream:
            return text_format.Parse(stream.read(), _config_class()())
    except text_format.ParseError as error:
        raise BadRequest(f"{path}: not a text ModelServerConfig ({error})") from None


def write_config(path: str, config) -> None:
    """Writes `config` to `path` atomically after a text round trip."""
    text = text_format.MessageToString(config)
    if text_format.Parse(text, type(config)()) != config:
        raise BadRequest(f"{path}: the config does not survive a text round trip")
    layout.replace_file(path, text)
