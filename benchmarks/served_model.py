"""Which model a benchmark measures: a given version dir or base path, the newest pushed version, or the tiny
test model exported on the spot.

Resolution order (first match wins):
  1. an explicit path: a version dir (holds saved_model.pb) or a base path of integer version dirs;
  2. the newest version under `.nlp2prod/serving/nlp2prod` (what `nlp2prod run` pushes);
  3. the tiny TF Text sample model (serving/sample_model.py), exported to a temp dir.
The server always gets a base path; a lone version dir is linked into a temp base path as version 1.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from typing import Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUSHED_BASE_PATH = os.path.join(REPO, ".nlp2prod", "serving", "nlp2prod")
METADATA = os.path.join("assets.extra", "nlp2prod_metadata.json")

# One short chat line per language of the bundled corpus (plus German/Spanish/Russian), sent in rotation.
SAMPLE_TEXTS = (
    "hello there, how are you today?",
    "What is your favourite food?",
    "Il calcio è il mio sport preferito",
    "今日は何を食べましたか",
    "주식 시장이 오늘 많이 올랐어요",
    "Привіт, як справи?",
    "我喜欢看电影",
    "我們去吃晚飯吧",
    "سلام، حال شما چطور است؟",
    "Hoeveel geld heb je nodig?",
    "Ich habe großen Hunger",
    "¿Cuál es tu película favorita?",
)


@dataclasses.dataclass(frozen=True)
class ResolvedModel:
    """What is measured: the base path the server reads, the version dir loaded in process, and where it came
    from (for the results' header)."""

    base_path: str
    version_dir: str
    version: int
    description: str


class ModelNotFoundError(ValueError):
    """The given path holds neither a SavedModel nor integer version dirs with one."""


def _is_saved_model(path: str) -> bool:
    return any(os.path.isfile(os.path.join(path, name)) for name in ("saved_model.pb", "saved_model.pbtxt"))


def newest_version(base_path: str) -> Optional[int]:
    """The highest integer version dir under `base_path` that holds a SavedModel, or None."""
    if not os.path.isdir(base_path):
        return None
    versions = [int(name) for name in os.listdir(base_path)
                if name.isdigit() and _is_saved_model(os.path.join(base_path, name))]
    return max(versions) if versions else None


def _describe(version_dir: str, origin: str) -> str:
    path = os.path.join(version_dir, METADATA)
    if not os.path.isfile(path):
        return f"{origin}: {version_dir}"
    with open(path, encoding="utf-8") as handle:
        metadata = json.load(handle)
    run = metadata.get("run_id", "?")
    return f"{origin}: {version_dir} (model {metadata.get('model_name', '?')}, run {run})"


def _from_path(path: str, scratch: str) -> ResolvedModel:
    path = os.path.abspath(path)
    if _is_saved_model(path):
        base = os.path.join(scratch, "base")
        os.makedirs(base)
        os.symlink(path, os.path.join(base, "1"))
        return ResolvedModel(base, path, 1, _describe(path, "given version dir"))
    version = newest_version(path)
    if version is None:
        raise ModelNotFoundError(f"{path}: neither a SavedModel dir nor a base path with integer version dirs")
    version_dir = os.path.join(path, str(version))
    return ResolvedModel(path, version_dir, version, _describe(version_dir, f"given base path, version {version}"))


def export_tiny_model(export_dir: str, seed: int, model_name: str = "nlp2prod", version: int = 1) -> str:
    """Exports the tiny sample model (seed changes its answers) with warmup records and metadata."""
    from serving import sample_model

    return sample_model.export_test_model(export_dir, seed=seed, model_name=model_name, version=version)


def _tiny_test_model(scratch: str) -> ResolvedModel:
    version_dir = export_tiny_model(os.path.join(scratch, "base", "1"), seed=1)
    return ResolvedModel(os.path.dirname(version_dir), version_dir, 1,
                         "tiny sample model (serving/sample_model.py: TF Text whitespace tokenizer, "
                         f"hashed bag of words, dense layer), exported to {version_dir}")


def resolve_model(path: Optional[str], scratch: Optional[str] = None) -> ResolvedModel:
    """Resolves the model to measure (see the module docstring); `scratch` holds temp links/exports."""
    scratch = scratch or tempfile.mkdtemp(prefix="nlp2prod-bench-")
    if path:
        return _from_path(path, scratch)
    version = newest_version(PUSHED_BASE_PATH)
    if version is not None:
        version_dir = os.path.join(PUSHED_BASE_PATH, str(version))
        return ResolvedModel(PUSHED_BASE_PATH, version_dir, version,
                             _describe(version_dir, f"newest pushed version {version}"))
    return _tiny_test_model(scratch)
