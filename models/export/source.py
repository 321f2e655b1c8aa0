"""What a SavedModel offers an exporter: its ids-in function, tokenizer, packed length, reference outputs.

Read from the signatures of `models.classifier.export` and the graph itself, not from the architecture:
  from_token_ids       ids, mask int64 [N, L] → probabilities (everything after the tokenizer)
  serving_default      text → probabilities (the reference the gate compares with)
  transform_features   serialized examples → input_ids / input_mask [N, max_seq_length] (the packed length and
                       the ids the edge tokenizer must reproduce)
The SentencePiece ModelProto is the `model` attribute of the graph's SentencepieceOp (TF Text keeps it there).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, Sequence, Tuple

import numpy as np
import sentencepiece
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the SentencePiece ops the SavedModel's graph uses)
from google.protobuf.message import DecodeError
from tensorflow.core.protobuf import saved_model_pb2

from models import features
from models.classifier import export

_TOKENIZER_OP = "SentencepieceOp"


class ExportSourceError(ValueError):
    """The SavedModel lacks what an export needs (a signature, a SentencePiece tokenizer, a packed length)."""


@dataclasses.dataclass
class ExportSource:
    """A loaded SavedModel, seen by the exporter."""

    saved_model_dir: str
    loaded: object
    tokenizer_proto: bytes
    max_seq_length: int
    special_ids: Dict[str, int]

    @property
    def ids_signature(self):
        return self.loaded.signatures[export.FROM_TOKEN_IDS]

    def ids_function(self) -> tf.types.experimental.ConcreteFunction:
        """A concrete function (input_ids, input_mask) → probabilities, ready for a converter."""
        signature = self.ids_signature
        spec = [tf.TensorSpec([None, None], tf.int64, name=features.INPUT_IDS),
                tf.TensorSpec([None, None], tf.int64, name=features.INPUT_MASK)]

        @tf.function(input_signature=spec)
        def from_ids(input_ids, input_mask):
            return {export.PROBABILITIES: signature(input_ids=input_ids, input_mask=input_mask)[export.PROBABILITIES]}

        return from_ids.get_concrete_function()

    def reference_probabilities(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """serving_default's probabilities [N, K] of raw texts."""
        serve = self.loaded.signatures[export.SERVING_DEFAULT]
        chunks = [serve(text=tf.constant(list(texts[i:i + batch_size])))[export.PROBABILITIES].numpy()
                  for i in range(0, len(texts), batch_size)]
        return np.concatenate(chunks)

    def transformed_ids(self, serialized_examples: Sequence[bytes], batch_size: int) -> Tuple[np.ndarray, np.ndarray]:
        """(input_ids, input_mask) [N, max_seq_length] of transform_features on raw serialized examples."""
        transform = self.loaded.signatures[export.TRANSFORM_FEATURES]
        ids, masks = [], []
        for i in range(0, len(serialized_examples), batch_size):
            out = transform(examples=tf.constant(list(serialized_examples[i:i + batch_size])))
            ids.append(out[features.INPUT_IDS].numpy())
            masks.append(out[features.INPUT_MASK].numpy())
        return np.concatenate(ids).astype(np.int64), np.concatenate(masks).astype(np.int64)


def load_source(saved_model_dir: str) -> ExportSource:
    """Loads a SavedModel and finds what an export needs in it.

    Raises:
      ExportSourceError: a missing signature, no or several SentencePiece tokenizers, or no static packed length.
    """
    proto = tokenizer_proto(saved_model_dir)
    try:
        loaded = tf.saved_model.load(saved_model_dir)
    except (OSError, ValueError, tf.errors.OpError) as error:
        raise ExportSourceError(f"{saved_model_dir}: TensorFlow cannot load it: {error}") from None
    missing = [name for name in (export.FROM_TOKEN_IDS, export.SERVING_DEFAULT, export.TRANSFORM_FEATURES)
               if name not in loaded.signatures]
    if missing:
        raise ExportSourceError(f"{saved_model_dir}: no {', '.join(missing)} signature (exported before "
                                f"{export.FROM_TOKEN_IDS} existed?)")
    ids_shape = loaded.signatures[export.TRANSFORM_FEATURES].structured_outputs[features.INPUT_IDS].shape
    if ids_shape.rank != 2 or ids_shape[1] is None:
        raise ExportSourceError(f"{saved_model_dir}: transform_features' input_ids have no static length "
                                f"({ids_shape})")
    try:
        processor = sentencepiece.SentencePieceProcessor(model_proto=proto)
    except RuntimeError as error:
        raise ExportSourceError(f"{saved_model_dir}: the SentencePiece library rejects the graph's model: "
                                f"{error}") from None
    special_ids = {"bos_id": processor.bos_id(), "eos_id": processor.eos_id(), "pad_id": processor.pad_id()}
    return ExportSource(saved_model_dir, loaded, proto, int(ids_shape[1]), special_ids)


def tokenizer_proto(saved_model_dir: str) -> bytes:
    """The serialized SentencePiece ModelProto of the SavedModel's SentencepieceOp.

    Raises:
      ExportSourceError: the graph has none (e.g. a WordPiece model) or several different ones.
    """
    saved_model = saved_model_pb2.SavedModel()
    path = os.path.join(saved_model_dir, "saved_model.pb")
    try:
        with open(path, "rb") as handle:
            saved_model.ParseFromString(handle.read())
    except (OSError, DecodeError) as error:
        raise ExportSourceError(f"{path}: not a readable SavedModel: {error}") from None
    protos = set()
    for meta_graph in saved_model.meta_graphs:
        graph = meta_graph.graph_def
        nodes = list(graph.node) + [node for function in graph.library.function for node in function.node_def]
        protos |= {node.attr["model"].s for node in nodes if node.op == _TOKENIZER_OP and node.attr["model"].s}
    if not protos:
        raise ExportSourceError(f"{saved_model_dir}: no SentencePiece tokenizer ({_TOKENIZER_OP}) in the graph; "
                                f"the edge runtime ships SentencePiece models only")
    if len(protos) > 1:
        raise ExportSourceError(f"{saved_model_dir}: {len(protos)} different SentencePiece models in the graph")
    return protos.pop()
