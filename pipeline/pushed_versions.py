"""The numbered versions on disk and the `assets.extra/nlp2prod_metadata.json` each push wrote.

Only fully pushed versions count: the pusher renames a finished directory into place, so a version directory
without its metadata file is not one of ours (or is damaged) and is reported as such, never guessed at.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Dict, List, Optional

METADATA_FILE = os.path.join("assets.extra", "nlp2prod_metadata.json")


def read_pushed_versions(serving_root: str, model_name: str) -> Dict[int, dict]:
    """Metadata of every pushed version, keyed by integer version (empty when nothing was pushed).

    Raises:
      ValueError: a version's metadata file is not valid JSON (named by path).
    """
    model_dir = os.path.join(serving_root, model_name)
    if not os.path.isdir(model_dir):
        return {}
    versions = {}
    for name in os.listdir(model_dir):
        path = os.path.join(model_dir, name, METADATA_FILE)
        if name.isdigit() and os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                try:
                    versions[int(name)] = json.load(handle)
                except ValueError as error:
                    raise ValueError(f"{path}: not valid JSON ({error})") from None
    return versions


def version_pushed_by(serving_root: str, model_name: str, run_id: str) -> Optional[int]:
    """The version a run pushed, found through the run id in the version metadata, or None."""
    for version, metadata in sorted(read_pushed_versions(serving_root, model_name).items()):
        if metadata.get("run_id") == run_id:
            return version
    return None


def remove_stale_staging(serving_root: str, model_name: str, staging_prefix: str) -> List[str]:
    """Deletes staging folders a killed push left beside the versions; returns their paths.

    Call only while holding the run lock: pushes happen inside runs, so none can be in progress then. Servers
    never load these folders (their names are not integers); removing them only frees the space.
    """
    model_dir = os.path.join(serving_root, model_name)
    if not os.path.isdir(model_dir):
        return []
    stale = [os.path.join(model_dir, name) for name in sorted(os.listdir(model_dir))
             if name.startswith(staging_prefix)]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale
