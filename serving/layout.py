"""The on-disk contract of a served model, defined once for every reader and writer.

    <serving_root>/<model_name>/<version>/   saved_model.pb, variables/, assets/,
                                             assets.extra/tf_serving_warmup_requests,
                                             assets.extra/nlp2prod_metadata.json
    <serving_root>/<model_name>/.staging-*/  a push in progress (never an integer name: servers skip it)
    <serving_root>/models.config             the ModelServerConfig the label commands rewrite (and its audit
                                             log, serving/audit_log.py)

The pusher (components/version_pusher) writes this layout; the server, the version commands, the pipeline's
run bookkeeping and lineage read it. TF-free, so the gateway may read it too.
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Optional

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
METADATA_FILE = os.path.join("assets.extra", "nlp2prod_metadata.json")
STAGING_PREFIX = ".staging-"
MODEL_CONFIG_FILE = "models.config"
_SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


class LayoutError(ValueError):
    """A version folder's metadata cannot be read; the message names the file."""


def is_version_name(name: str) -> bool:
    """True for the folder names TF Serving takes as versions: ASCII digits only.

    str.isdigit() alone also accepts "０２" (full-width digits) and "2²", which int() then refuses or misreads.
    """
    return name.isascii() and name.isdigit()


def version_dirs(model_root: str, complete_only: bool = True) -> Dict[int, str]:
    """Integer-named version folders under `model_root`, by version (empty when the folder is missing).

    Args:
      model_root: `<serving_root>/<model_name>` (a model's `base_path`).
      complete_only: keep only folders that hold saved_model.pb(txt): a copy in progress is not loaded
        half-written. False lists every integer-named folder (the pusher must not reuse their numbers).
    """
    try:
        names = os.listdir(model_root)
    except OSError:
        return {}
    found = {}
    for name in names:
        path = os.path.join(model_root, name)
        if not is_version_name(name) or not os.path.isdir(path):
            continue
        if not complete_only or any(os.path.exists(os.path.join(path, f)) for f in _SAVED_MODEL_FILES):
            found[int(name)] = path
    return found


def versions_on_disk(base_path: str) -> Dict[int, str]:
    """Complete version folders under a model's base path, by version (what a server may load)."""
    return version_dirs(base_path, complete_only=True)


def read_metadata(version_dir: str) -> Optional[dict]:
    """The version's nlp2prod metadata, or None when the version has none (not pushed by nlp2prod).

    Raises:
      LayoutError: the file exists but cannot be read or is not a JSON object.
    """
    path = os.path.join(version_dir, METADATA_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            metadata = json.load(handle)
    except (OSError, ValueError) as error:
        raise LayoutError(f"{path}: unreadable version metadata ({error})") from None
    if not isinstance(metadata, dict):
        raise LayoutError(f"{path}: version metadata is not a JSON object")
    return metadata


def write_metadata(version_dir: str, fields: Dict[str, object]) -> None:
    """Writes the version's metadata file (the folder `assets.extra/` is created when missing)."""
    path = os.path.join(version_dir, METADATA_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(fields, handle, indent=1, ensure_ascii=False, sort_keys=True)


def pushed_versions(model_root: str) -> Dict[int, dict]:
    """Metadata of every version folder that has it, by version: the versions nlp2prod pushed.

    Raises:
      LayoutError: a version's metadata file is damaged (named by path).
    """
    found = {}
    for version, path in version_dirs(model_root, complete_only=False).items():
        metadata = read_metadata(path)
        if metadata is not None:
            found[version] = metadata
    return found


def staging_dirs(model_root: str) -> List[str]:
    """Staging folders beside the versions (pushes in progress, or left by a killed one), sorted."""
    try:
        names = sorted(os.listdir(model_root))
    except OSError:
        return []
    return [os.path.join(model_root, name) for name in names if name.startswith(STAGING_PREFIX)]
