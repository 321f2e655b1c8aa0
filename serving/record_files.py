"""TFRecord files without TensorFlow: the framing TensorFlow writes and reads, for TF-free readers and writers.

A record is: uint64 length (little-endian), uint32 masked CRC32C of the length bytes, the data, uint32 masked
CRC32C of the data. Files read here are uncompressed (TFMA's metrics, TF Serving's warmup and request logs).
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Iterator

import google_crc32c

_MASK_DELTA = 0xA282EAD8


class CorruptRecordError(ValueError):
    """A record's length or data does not match its checksum; the message names the file and offset."""


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC32C of `data`."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def read_records(path: str) -> Iterator[bytes]:
    """Yields the records of one uncompressed TFRecord file, checking both checksums of each.

    Raises:
      CorruptRecordError: a checksum does not match, or the file ends inside a record.
    """
    with open(path, "rb") as handle:
        while True:
            offset = handle.tell()
            header = handle.read(12)
            if not header:
                return
            data = _read_one(handle, header, path, offset)
            yield data


def _read_one(handle: BinaryIO, header: bytes, path: str, offset: int) -> bytes:
    if len(header) < 12:
        raise CorruptRecordError(f"{path}: truncated record header at byte {offset}")
    (length,), (length_crc,) = struct.unpack("<Q", header[:8]), struct.unpack("<I", header[8:])
    if masked_crc(header[:8]) != length_crc:
        raise CorruptRecordError(f"{path}: corrupt record length at byte {offset}")
    data, footer = handle.read(length), handle.read(4)
    if len(data) < length or len(footer) < 4:
        raise CorruptRecordError(f"{path}: truncated record at byte {offset}")
    if masked_crc(data) != struct.unpack("<I", footer)[0]:
        raise CorruptRecordError(f"{path}: corrupt record data at byte {offset}")
    return data


def write_record(handle: BinaryIO, data: bytes) -> int:
    """Appends one record to an open binary file; returns the bytes written."""
    length = struct.pack("<Q", len(data))
    handle.write(length + struct.pack("<I", masked_crc(length)) + data + struct.pack("<I", masked_crc(data)))
    return len(data) + 16
