"""The pipeline's view of the pushed versions: which version a run pushed, and clearing a killed push's leftovers.

The layout itself (version folders, metadata file, staging prefix) is serving/layout.py's: one contract for the
pusher, the server and these readers.
"""

from __future__ import annotations

import os
import shutil
from typing import Dict, List, Optional

from serving import layout


def read_pushed_versions(serving_root: str, model_name: str) -> Dict[int, dict]:
    """Metadata of every pushed version, keyed by integer version (empty when nothing was pushed).

    Raises:
      serving.layout.LayoutError: a version's metadata file is damaged (named by path).
    """
    return layout.pushed_versions(os.path.join(serving_root, model_name))


def version_pushed_by(serving_root: str, model_name: str, run_id: str) -> Optional[int]:
    """The version a run pushed, found through the run id in the version metadata, or None."""
    for version, metadata in sorted(read_pushed_versions(serving_root, model_name).items()):
        if metadata.get("run_id") == run_id:
            return version
    return None


def remove_stale_staging(serving_root: str, model_name: str) -> List[str]:
    """Deletes staging folders a killed push left beside the versions; returns their paths.

    Call only while holding the run lock: pushes happen inside runs, so none can be in progress then. Servers
    never load these folders (their names are not integers); removing them only frees the space.
    """
    stale = layout.staging_dirs(os.path.join(serving_root, model_name))
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale
