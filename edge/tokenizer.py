"""Raw text → the packed ids the exported graph takes: `bos pieces[:max_seq_length - 2] eos`, padded.

The same SentencePiece ModelProto as the SavedModel's in-graph tokenizer (TF Text wraps the same SentencePiece
library), the same packing as `models.tokenizer.text_encoder.encode_texts`. The input prefix (e5's "query: ")
and the vocabulary-trim remap are not applied here: the exported graph applies them, exactly as the
SavedModel does after its tokenizer.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np
import sentencepiece


class PieceTokenizer:
    """Packs batches of raw UTF-8 strings as int64 (input_ids, input_mask) [N, L], L = the longest row.

    Args:
      model_proto: the serialized SentencePiece ModelProto.
      max_seq_length: the packed length of the SavedModel's Transform layer (special tokens included).
      special_ids: "bos_id", "eos_id", "pad_id" as recorded in the manifest.
    """

    def __init__(self, model_proto: bytes, max_seq_length: int, special_ids: Dict[str, int]):
        if max_seq_length < 3:
            raise ValueError(f"max_seq_length must be at least 3, got {max_seq_length}")
        self._processor = sentencepiece.SentencePieceProcessor(model_proto=model_proto)
        self._max_pieces = max_seq_length - 2
        self._bos, self._eos, self._pad = (int(special_ids[key]) for key in ("bos_id", "eos_id", "pad_id"))

    def pieces(self, texts: Sequence[str]) -> list:
        """Piece ids of each text, without special tokens or truncation."""
        return self._processor.encode(list(texts), out_type=int)

    def length_ordered_batches(self, texts: Sequence[str], batch_size: int
                               ) -> Tuple[np.ndarray, List[Tuple[np.ndarray, np.ndarray]]]:
        """(order, packed batches): the texts sorted by packed length (shortest first, stable) and packed
        `batch_size` at a time, batch k holding texts order[k * batch_size:(k + 1) * batch_size]. Batches of
        similar length pad few positions."""
        pieces = self.pieces(texts)
        order = np.argsort([len(row) for row in pieces], kind="stable")
        batches = [self.pack_pieces([pieces[i] for i in order[start:start + batch_size]])
                   for start in range(0, len(order), batch_size)]
        return order, batches

    def pack(self, texts: Sequence[str], length: int = 0) -> Tuple[np.ndarray, np.ndarray]:
        """(input_ids, input_mask) int64 [N, L]; L = `length` when given, else the longest packed row."""
        return self.pack_pieces(self.pieces(texts), length)

    def pack_pieces(self, pieces: Sequence[Sequence[int]], length: int = 0) -> Tuple[np.ndarray, np.ndarray]:
        """`pack` of texts already split into piece ids (by `pieces`)."""
        rows = [[self._bos] + list(row[: self._max_pieces]) + [self._eos] for row in pieces]
        width = length or max((len(row) for row in rows), default=2)
        ids = np.full((len(rows), width), self._pad, np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for index, row in enumerate(rows):
            ids[index, : len(row)] = row
            mask[index, : len(row)] = 1
        return ids, mask
