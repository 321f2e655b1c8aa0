"""TFRecord files without TensorFlow: the framing `tf.data.TFRecordDataset` reads, with masked CRC-32C checks.

A record on disk is: uint64 length (little-endian), uint32 masked CRC-32C of those 8 bytes, the payload, uint32
masked CRC-32C of the payload. The mask is TensorFlow's: rotate right by 15 bits, add 0xa282ead8.
Gzip-compressed files (as TFX's ExampleGen writes them, `*.gz`) are read through `gzip`.
"""

from __future__ import annotations

import gzip
import struct
from typing import BinaryIO, Iterator

_MASK_DELTA = 0xA282EAD8
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")


def _crc32c_table() -> tuple:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of `data`, as TensorFlow computes it."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TensorFlow's masked CRC of a TFRecord length or payload."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(payload: bytes) -> bytes:
    """One TFRecord: the framed, checksummed payload."""
    length = _LENGTH.pack(len(payload))
    return length + _CRC.pack(masked_crc32c(length)) + payload + _CRC.pack(masked_crc32c(payload))


class CorruptRecordError(ValueError):
    """A TFRecord file is truncated or fails its checksum; the message names the file and offset."""


def read_records(path: str) -> Iterator[bytes]:
    """Yields the payloads of a TFRecord file (gzip-compressed when the name ends in .gz).

    Raises:
      CorruptRecordError: a checksum mismatch, or a record cut short (a file still being written ends cleanly
        only at a record boundary; a partial last record is reported, never returned).
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as handle:
        yield from _records(handle, path)


def _records(handle: BinaryIO, path: str) -> Iterator[bytes]:
    offset = 0
    while True:
        header = handle.read(12)
        if not header:
            return
        if len(header) < 12:
            raise CorruptRecordError(f"{path}: truncated record header at offset {offset}")
        length_bytes, (length_crc,) = header[:8], _CRC.unpack(header[8:])
        if masked_crc32c(length_bytes) != length_crc:
            raise CorruptRecordError(f"{path}: length checksum mismatch at offset {offset}")
        (length,) = _LENGTH.unpack(length_bytes)
        body = handle.read(length + 4)
        if len(body) < length + 4:
            raise CorruptRecordError(f"{path}: record at offset {offset} is cut short")
        payload, (payload_crc,) = body[:length], _CRC.unpack(body[length:])
        if masked_crc32c(payload) != payload_crc:
            raise CorruptRecordError(f"{path}: payload checksum mismatch at offset {offset}")
        offset += 12 + length + 4
        yield payload
