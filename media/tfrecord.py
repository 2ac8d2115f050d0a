"""The TFRecord file format, framed and checked in plain Python over any binary file object.

A TFRecord file is a run of records, each `length (uint64 LE) | masked CRC32C of the
length | data | masked CRC32C of the data`. Beam's jobs write and read shards through
Beam's FileSystems (gs://, s3://, local alike), and the verifier checks a shard's records
one by one, naming the byte offset of the first damaged one; both need the framing as
plain functions, not as TensorFlow ops bound to TensorFlow's own filesystems.
tests/test_tfrecord.py checks the bytes against tf.io.TFRecordWriter and tf.data.
"""
from __future__ import annotations

import struct
from typing import BinaryIO, Iterator

import google_crc32c

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
HEADER_BYTES = _LENGTH.size + _CRC.size
FOOTER_BYTES = _CRC.size
_MASK_DELTA = 0xA282EAD8


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC32C (rotate right by 15, add a constant), as its readers check it."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """One record's bytes as they stand in the file."""
    length = _LENGTH.pack(len(data))
    return length + _CRC.pack(masked_crc(length)) + data + _CRC.pack(masked_crc(data))


def write_records(handle: BinaryIO, records) -> int:
    """Write each record framed; returns the bytes written."""
    written = 0
    for data in records:
        framed = frame(data)
        handle.write(framed)
        written += len(framed)
    return written


class DamagedRecordError(ValueError):
    """A record that cannot be read whole: where it starts and what is wrong with it."""

    def __init__(self, source: str, offset: int, problem: str):
        super().__init__(f"{source}: record at byte {offset}: {problem}")
        self.source, self.offset, self.problem = source, offset, problem


def _read_exactly(handle: BinaryIO, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = handle.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_records(handle: BinaryIO, source: str = "<stream>", *, max_record_bytes: int = 1 << 32
                 ) -> Iterator[tuple[int, bytes]]:
    """(offset, data) of every record, checking both CRCs; DamagedRecordError at the first bad one.

    `max_record_bytes` bounds what a damaged length field can make us allocate: a length whose
    CRC matched but which exceeds it is reported, not read.
    """
    offset = 0
    while True:
        header = _read_exactly(handle, HEADER_BYTES)
        if not header:
            return
        if len(header) < HEADER_BYTES:
            raise DamagedRecordError(source, offset, f"truncated: {len(header)} of the header's "
                                                     f"{HEADER_BYTES} bytes, then the file ends")
        (length,), (length_crc,) = _LENGTH.unpack_from(header), _CRC.unpack_from(header, _LENGTH.size)
        if masked_crc(header[:_LENGTH.size]) != length_crc:
            raise DamagedRecordError(source, offset, "corrupted: the length's checksum does not match")
        if length > max_record_bytes:
            raise DamagedRecordError(source, offset, f"corrupted: a length of {length} bytes, over the "
                                                     f"{max_record_bytes} allowed")
        body = _read_exactly(handle, length + FOOTER_BYTES)
        if len(body) < length + FOOTER_BYTES:
            raise DamagedRecordError(source, offset, f"truncated: {len(body)} of {length + FOOTER_BYTES} "
                                                     "bytes of data and checksum, then the file ends")
        data = body[:length]
        if masked_crc(data) != _CRC.unpack_from(body, length)[0]:
            raise DamagedRecordError(source, offset, "corrupted: the data's checksum does not match")
        yield offset, data
        offset += HEADER_BYTES + length + FOOTER_BYTES
