"""The neutral form every encoder checkpoint is read into, whatever file format it came from.

Tensor names (all float32 numpy arrays; matrices are Keras-style [in, out]):
  embeddings.word [V, H], embeddings.position [P, H], embeddings.token_type [T, H],
  embeddings.norm.{gamma,beta} [H]
  layer.{i}.attention.{query,key,value,output}.{kernel [H, H], bias [H]}
  layer.{i}.attention_norm.{gamma,beta} [H]          (post-LN after the attention residual)
  layer.{i}.ffn.intermediate.{kernel [H, F], bias [F]}
  layer.{i}.ffn.output.{kernel [F, H], bias [H]}
  layer.{i}.output_norm.{gamma,beta} [H]              (post-LN after the feed-forward residual)
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np

SENTENCEPIECE = "sentencepiece"
WORDPIECE = "wordpiece"


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, of an unknown format or inconsistent with its config."""


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Shape of a post-LayerNorm BERT encoder."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_heads


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """The tokenizer vocabulary that belongs to the embedding rows (row i = piece i).

    `kind` is SENTENCEPIECE (unigram pieces with log-probability scores, e5 / XLM-R) or WORDPIECE (BERT
    vocab.txt, no scores). `special_ids` maps "bos", "eos", "pad", "unk" (and "cls"/"sep" for WordPiece).
    `normalization` (SentencePiece only) maps a code point to its replacement code points.
    """

    kind: str
    pieces: Tuple[str, ...]
    special_ids: Dict[str, int]
    scores: Optional[np.ndarray] = None
    normalization: Optional[Dict[int, Tuple[int, ...]]] = None
    lowercase: bool = False

    @property
    def unk_id(self) -> int:
        return self.special_ids["unk"]

    @property
    def pad_id(self) -> int:
        return self.special_ids["pad"]


@dataclasses.dataclass
class EncoderCheckpoint:
    """Config, vocabulary and float32 weights of one encoder, independent of the file format."""

    config: EncoderConfig
    vocabulary: Vocabulary
    weights: Dict[str, np.ndarray]


def tensor_shapes(config: EncoderConfig) -> Dict[str, Tuple[int, ...]]:
    """Returns the name → shape map a complete checkpoint of `config` must hold."""
    h, f = config.hidden_size, config.intermediate_size
    shapes = {
        "embeddings.word": (config.vocab_size, h),
        "embeddings.position": (config.max_positions, h),
        "embeddings.token_type": (config.type_vocab_size, h),
        "embeddings.norm.gamma": (h,),
        "embeddings.norm.beta": (h,),
    }
    for i in range(config.num_layers):
        prefix = f"layer.{i}"
        for part in ("query", "key", "value", "output"):
            shapes[f"{prefix}.attention.{part}.kernel"] = (h, h)
            shapes[f"{prefix}.attention.{part}.bias"] = (h,)
        shapes[f"{prefix}.ffn.intermediate.kernel"] = (h, f)
        shapes[f"{prefix}.ffn.intermediate.bias"] = (f,)
        shapes[f"{prefix}.ffn.output.kernel"] = (f, h)
        shapes[f"{prefix}.ffn.output.bias"] = (h,)
        for norm in ("attention_norm", "output_norm"):
            shapes[f"{prefix}.{norm}.gamma"] = (h,)
            shapes[f"{prefix}.{norm}.beta"] = (h,)
    return shapes


def check_complete(checkpoint: EncoderCheckpoint, source: str) -> EncoderCheckpoint:
    """Checks that every tensor `checkpoint.config` needs is present with the right shape.

    Raises:
      CheckpointError: naming the file and the first missing or mis-shaped tensor.
    """
    expected = tensor_shapes(checkpoint.config)
    missing: List[str] = sorted(set(expected) - set(checkpoint.weights))
    if missing:
        raise CheckpointError(f"{source}: tensor {missing[0]!r} missing ({len(missing)} missing in all)")
    for name, shape in expected.items():
        actual = tuple(checkpoint.weights[name].shape)
        if actual != shape:
            raise CheckpointError(f"{source}: tensor {name!r} has shape {actual}, config needs {shape}")
    if len(checkpoint.vocabulary.pieces) > checkpoint.config.vocab_size:
        raise CheckpointError(f"{source}: {len(checkpoint.vocabulary.pieces)} vocabulary pieces but only "
                              f"{checkpoint.config.vocab_size} embedding rows")
    return checkpoint

