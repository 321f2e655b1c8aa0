"""Small randomly initialised checkpoints with a vocabulary fitted to given texts, for tests and toy runs.

They go through exactly the same readers, tokenizer and trainer as the real e5 weights: only the numbers are
random. A SentencePiece vocabulary here holds the special pieces, every character of the texts (with and
without the "▁" word-start marker) and the most frequent whole words, scored by log frequency.
"""

from __future__ import annotations

import collections
import math
from typing import Iterable, Tuple

import numpy as np

from models.encoder.checkpoint import (SENTENCEPIECE, WORDPIECE, EncoderCheckpoint, EncoderConfig,
                                           Vocabulary, tensor_shapes)
from models.encoder.e5s1 import write_e5s1
from models.encoder.hf_bert import write_hf_bert

WORD_START = "\u2581"  # SentencePiece's "▁"
_SENTENCEPIECE_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
_WORDPIECE_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def sentencepiece_vocabulary(texts: Iterable[str], max_pieces: int = 400) -> Vocabulary:
    """A unigram vocabulary (ids 0-3 = <s>, <pad>, </s>, <unk>, like XLM-R) covering every character of `texts`."""
    words, chars = collections.Counter(), collections.Counter()
    for text in texts:
        for word in text.split():
            words[WORD_START + word] += 1
            chars.update(word)
    pieces = [WORD_START] + [c for c, _ in chars.most_common()] + [WORD_START + c for c, _ in chars.most_common()]
    pieces += [w for w, _ in words.most_common() if len(w) > 2]
    pieces = list(dict.fromkeys(pieces))[:max(0, max_pieces - len(_SENTENCEPIECE_SPECIALS))]
    counts = {**chars, **words}
    total = sum(counts.values()) or 1
    scores = [0.0] * len(_SENTENCEPIECE_SPECIALS) + [
        math.log(counts.get(piece.lstrip(WORD_START) if len(piece) == 2 else piece, 1) / total) - 1.0
        for piece in pieces]
    return Vocabulary(kind=SENTENCEPIECE, pieces=_SENTENCEPIECE_SPECIALS + tuple(pieces),
                      scores=np.asarray(scores, np.float32), normalization={},
                      special_ids={"bos": 0, "pad": 1, "eos": 2, "unk": 3})


def wordpiece_vocabulary(texts: Iterable[str], max_pieces: int = 400) -> Vocabulary:
    """A lower-cased WordPiece vocabulary: specials, characters (bare and "##"), then frequent words."""
    words, chars = collections.Counter(), collections.Counter()
    for text in texts:
        for word in text.lower().split():
            words[word] += 1
            chars.update(word)
    pieces = [c for c, _ in chars.most_common()] + ["##" + c for c, _ in chars.most_common()]
    pieces += [w for w, _ in words.most_common() if len(w) > 1]
    pieces = list(dict.fromkeys(pieces))[:max(0, max_pieces - len(_WORDPIECE_SPECIALS))]
    tokens = _WORDPIECE_SPECIALS + tuple(pieces)
    return Vocabulary(kind=WORDPIECE, pieces=tokens, lowercase=True,
                      special_ids={"pad": 0, "unk": 1, "cls": 2, "sep": 3, "bos": 2, "eos": 3})


def random_checkpoint(vocabulary: Vocabulary, hidden_size: int = 32, num_layers: int = 2, num_heads: int = 2,
                      intermediate_size: int = 64, max_positions: int = 128, seed: int = 0) -> EncoderCheckpoint:
    """A checkpoint with BERT's N(0, 0.02) initialisation for `vocabulary` (hidden a multiple of 32 for Q4_0)."""
    config = EncoderConfig(hidden_size=hidden_size, num_layers=num_layers, num_heads=num_heads,
                           intermediate_size=intermediate_size, vocab_size=len(vocabulary.pieces),
                           max_positions=max_positions)
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in tensor_shapes(config).items():
        if name.endswith(".gamma"):
            weights[name] = np.ones(shape, np.float32)
        elif name.endswith((".beta", ".bias")):
            weights[name] = np.zeros(shape, np.float32)
        else:
            weights[name] = rng.normal(0.0, 0.02, size=shape).astype(np.float32)
    return EncoderCheckpoint(config=config, vocabulary=vocabulary, weights=weights)


def write_synthetic_e5s1(path: str, texts: Iterable[str], max_pieces: int = 400, seed: int = 0,
                         **shape) -> Tuple[str, EncoderCheckpoint]:
    """Writes a random E5S1 checkpoint whose vocabulary covers `texts`; returns (path, checkpoint)."""
    checkpoint = random_checkpoint(sentencepiece_vocabulary(texts, max_pieces), seed=seed, **shape)
    write_e5s1(checkpoint, path)
    return path, checkpoint


def write_synthetic_hf_bert(folder: str, texts: Iterable[str], max_pieces: int = 400, seed: int = 0,
                            **shape) -> Tuple[str, EncoderCheckpoint]:
    """Writes a random Hugging Face BERT folder whose vocabulary covers `texts`; returns (folder, checkpoint)."""
    checkpoint = random_checkpoint(wordpiece_vocabulary(texts, max_pieces), seed=seed, **shape)
    write_hf_bert(checkpoint, folder)
    return folder, checkpoint
