"""Pushing a SavedModel as the next integer version of a served model, atomically. Plain functions.

The layout written is serving/layout.py's. The version is staged whole under a `.staging-*` folder beside the
versions (same filesystem), fsynced, then renamed into place: a server polling
the folder never sees a half-written version (tensorflow/serving#1086), and a failed push leaves nothing but
the versions that were already there.
"""

from __future__ import annotations

import datetime
import errno
import os
import shutil
import tempfile
from typing import Dict, Iterable, List, Mapping, Sequence

import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

from serving import layout

MAX_WARMUP_RECORDS = 1000  # TF Serving replays at most this many
_RENAME_ATTEMPTS = 5


class PushError(RuntimeError):
    """The push could not complete; the served versions are as they were before it."""


def existing_versions(model_root: str) -> List[int]:
    """Every integer-named version folder under <serving_root>/<model_name>, complete or not, ascending."""
    return sorted(layout.version_dirs(model_root, complete_only=False))


def warmup_requests(texts_by_language: Mapping[str, Sequence[str]], model_name: str) -> List[bytes]:
    """Serialized PredictionLogs for `serving_default`: one batch per language, then one single-text request
    per language (TF Serving replays them before marking the version AVAILABLE)."""
    requests = [list(texts) for texts in texts_by_language.values() if texts]
    requests += [[texts[0]] for texts in texts_by_language.values() if texts]
    logs = []
    for batch in requests[:MAX_WARMUP_RECORDS]:
        request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(
            name=model_name, signature_name="serving_default"))
        request.inputs["text"].CopyFrom(tf.make_tensor_proto([t.encode("utf-8") for t in batch], dtype=tf.string))
        logs.append(prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)).SerializeToString())
    return logs


def push_version(model_dir: str, serving_root: str, model_name: str, warmup: Iterable[bytes],
                 metadata: Dict[str, object]) -> Dict[str, object]:
    """Copies `model_dir` to the next version of `model_name` with warmup requests and metadata.

    Args:
      model_dir: the SavedModel to push.
      serving_root: the folder that holds one folder per served model.
      model_name: the served model's name.
      warmup: serialized PredictionLog records for assets.extra/tf_serving_warmup_requests.
      metadata: fields of assets.extra/nlp2prod_metadata.json; "model_name", "version", "pushed_at" and
        "saved_model_bytes" are filled in here.

    Returns:
      The metadata written into the pushed version (its "version" is the number pushed).

    Raises:
      PushError: the SavedModel is missing or the version could not be renamed into place.
    """
    if not os.path.isfile(os.path.join(model_dir, "saved_model.pb")):
        raise PushError(f"{model_dir}: no saved_model.pb to push")
    model_root = os.path.join(serving_root, model_name)
    os.makedirs(model_root, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=layout.STAGING_PREFIX, dir=model_root)
    try:
        version_dir = os.path.join(staging, "version")
        shutil.copytree(model_dir, version_dir, symlinks=False)
        saved_model_bytes = _tree_bytes(version_dir)
        os.makedirs(os.path.join(version_dir, "assets.extra"), exist_ok=True)
        with tf.io.TFRecordWriter(os.path.join(version_dir, layout.WARMUP_FILE)) as writer:
            for record in warmup:
                writer.write(record)
        fields = dict(metadata, model_name=model_name, saved_model_bytes=saved_model_bytes,
                      pushed_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
        return _rename_into_place(version_dir, model_root, fields)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _rename_into_place(version_dir: str, model_root: str, fields: Dict[str, object]) -> Dict[str, object]:
    for _ in range(_RENAME_ATTEMPTS):
        version = max(existing_versions(model_root), default=0) + 1
        written = dict(fields, version=version)
        layout.write_metadata(version_dir, written)
        _fsync_tree(version_dir)
        try:
            os.rename(version_dir, os.path.join(model_root, str(version)))
        except OSError as error:
            if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
                continue  # another push took this number in the meantime: take the next one
            raise PushError(f"cannot move the staged version into {model_root}: {error}") from None
        _fsync_path(model_root)
        return written
    raise PushError(f"{model_root}: could not claim a free version number in {_RENAME_ATTEMPTS} attempts")


def _tree_bytes(folder: str) -> int:
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(folder) for name in names)


def _fsync_tree(folder: str) -> None:
    for root, _, names in os.walk(folder):
        for name in names:
            _fsync_path(os.path.join(root, name))
        _fsync_path(root)


def _fsync_path(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
