"""Vocabulary trimming: keep only the embedding rows the corpus (and a per-script margin) needs.

~80% of multilingual-e5-small's parameters are its 250k-row word embedding, of which one corpus uses a few
thousand rows. Trimming keeps:
  * the special pieces (bos/eos/pad/unk),
  * every piece id that occurs in any split (train and eval alike: text the model is asked about must not
    turn into <unk> just because it was held out), and
  * a margin for unseen text: the `margin_per_script` most probable pieces (by unigram score; vocabulary order
    for WordPiece) of every Unicode script that occurs in the corpus, so common words and characters of the
    corpus's languages stay known.
Ids are remapped inside the served graph with a dense int32 table full id → trimmed id (unknown → trimmed unk).
"""

from __future__ import annotations

import dataclasses
import unicodedata
from typing import Dict, Iterable, Set

import numpy as np

from models.encoder.checkpoint import EncoderCheckpoint, Vocabulary

COMMON_SCRIPT = "COMMON"
# unicodedata names start with the script for letters; these name prefixes are one script each.
_SCRIPT_ALIASES = {"CJK": "HAN", "HIRAGANA": "KANA", "KATAKANA": "KANA", "HALFWIDTH": "KANA"}


@dataclasses.dataclass(frozen=True)
class VocabularyTrim:
    """Which full-vocabulary ids survive, and the remap table the served graph gathers through.

    Attributes:
      kept_ids: sorted full ids that keep an embedding row (row i of the trimmed matrix = kept_ids[i]).
      remap: int32 [full embedding rows]: full id → trimmed id; dropped ids map to the trimmed unk row.
      unk_id: the trimmed id of <unk>.
    """

    kept_ids: np.ndarray
    remap: np.ndarray
    unk_id: int

    @property
    def size(self) -> int:
        return len(self.kept_ids)


def piece_script(piece: str) -> str:
    """The Unicode script of a piece's first letter (HAN, KANA, LATIN, CYRILLIC, ...), else COMMON."""
    for char in piece:
        if char.isalpha():
            name = unicodedata.name(char, "")
            first = name.split(" ", 1)[0] if name else COMMON_SCRIPT
            return _SCRIPT_ALIASES.get(first, first)
    return COMMON_SCRIPT


def margin_ids(vocabulary: Vocabulary, scripts: Iterable[str], margin_per_script: int) -> Set[int]:
    """The `margin_per_script` most probable pieces of each script in `scripts`."""
    wanted = set(scripts)
    order = (np.argsort(-vocabulary.scores, kind="stable") if vocabulary.scores is not None
             else np.arange(len(vocabulary.pieces)))
    taken: Dict[str, int] = {script: 0 for script in wanted}
    chosen = set()
    for piece_id in order:
        script = piece_script(vocabulary.pieces[piece_id])
        if script in wanted and taken[script] < margin_per_script:
            taken[script] += 1
            chosen.add(int(piece_id))
    return chosen


def plan_trim(vocabulary: Vocabulary, embedding_rows: int, corpus_ids: Iterable[int],
              margin_per_script: int) -> VocabularyTrim:
    """Chooses the kept ids: specials, every corpus id, and the per-script margin of the corpus's scripts.

    Args:
      vocabulary: the encoder's vocabulary (row i = piece i).
      embedding_rows: rows of the full word embedding (may exceed the piece count).
      corpus_ids: full ids that occur in any split.
      margin_per_script: pieces per script kept beyond the corpus (0 = none).
    """
    corpus = {int(i) for i in corpus_ids if 0 <= int(i) < embedding_rows}
    scripts = {piece_script(vocabulary.pieces[i]) for i in corpus if i < len(vocabulary.pieces)}
    kept = corpus | set(vocabulary.special_ids.values())
    if margin_per_script > 0:
        kept |= margin_ids(vocabulary, scripts | {COMMON_SCRIPT}, margin_per_script)
    kept_ids = np.array(sorted(kept), np.int32)
    unk_id = int(np.searchsorted(kept_ids, vocabulary.unk_id))
    remap = np.full(embedding_rows, unk_id, np.int32)
    remap[kept_ids] = np.arange(len(kept_ids), dtype=np.int32)
    return VocabularyTrim(kept_ids=kept_ids, remap=remap, unk_id=unk_id)


def trimmed_checkpoint(checkpoint: EncoderCheckpoint, trim: VocabularyTrim) -> EncoderCheckpoint:
    """A copy of `checkpoint` whose word embedding holds only the kept rows (other tensors shared)."""
    weights = dict(checkpoint.weights)
    weights["embeddings.word"] = checkpoint.weights["embeddings.word"][trim.kept_ids]
    config = dataclasses.replace(checkpoint.config, vocab_size=trim.size)
    return EncoderCheckpoint(config=config, vocabulary=checkpoint.vocabulary, weights=weights)


def identity_trim(embedding_rows: int, unk_id: int) -> VocabularyTrim:
    """The no-op trim (every row kept), used when trimming is switched off."""
    ids = np.arange(embedding_rows, dtype=np.int32)
    return VocabularyTrim(kept_ids=ids, remap=ids.copy(), unk_id=unk_id)


def unknown_rate(piece_ids: np.ndarray, trim: VocabularyTrim, unk_id: int) -> float:
    """Share of real (non-pad) pieces that are <unk> after the remap (already-unknown pieces included)."""
    piece_ids = np.asarray(piece_ids)
    if piece_ids.size == 0:
        return 0.0
    remapped = trim.remap[np.clip(piece_ids, 0, len(trim.remap) - 1)]
    return float(np.mean((remapped == trim.unk_id) | (piece_ids == unk_id)))
