"""media.tfrecord against TensorFlow's own writer and reader, and its damage reports."""
from __future__ import annotations

import io
import struct

import pytest
import tensorflow as tf

from media.tfrecord import HEADER_BYTES, DamagedRecordError, masked_crc, read_records, write_records

RECORDS = [b"", b"a", b"two-stream" * 100, bytes(range(256)) * 40]


def tf_written(path) -> bytes:
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in RECORDS:
            writer.write(record)
    return path.read_bytes()


def test_our_framing_is_byte_identical_to_tensorflows_writer(tmp_path):
    ours = io.BytesIO()
    assert write_records(ours, RECORDS) == len(ours.getvalue())
    assert ours.getvalue() == tf_written(tmp_path / "tf.tfrecord")


def test_tensorflow_reads_what_we_write_and_we_read_what_it_writes(tmp_path):
    path = tmp_path / "ours.tfrecord"
    with open(path, "wb") as handle:
        write_records(handle, RECORDS)
    assert [r.numpy() for r in tf.data.TFRecordDataset(str(path))] == RECORDS
    data = tf_written(tmp_path / "tf.tfrecord")
    got = list(read_records(io.BytesIO(data), "tf.tfrecord"))
    assert [record for _, record in got] == RECORDS
    # Offsets worked by hand: each record is 12 bytes of header, its data, 4 bytes of CRC.
    assert [offset for offset, _ in got] == [0, 16, 33, 33 + 16 + 1000]


def _damaged(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1:]


@pytest.mark.parametrize("position,offset,problem", [
    (33 + 2, 33, "the length's checksum does not match"),  # the third record's length field
    (33 + HEADER_BYTES + 500, 33, "the data's checksum does not match"),  # its data
    (16 + HEADER_BYTES + 1, 16, "the data's checksum does not match"),  # the second record's CRC
])
def test_a_flipped_byte_is_named_by_its_records_offset(tmp_path, position, offset, problem):
    data = _damaged(tf_written(tmp_path / "tf.tfrecord"), position)
    with pytest.raises(DamagedRecordError, match=rf"shard: record at byte {offset}: corrupted: {problem}"):
        list(read_records(io.BytesIO(data), "shard"))


def test_a_cut_off_file_is_named_truncated_at_the_record_it_cuts(tmp_path):
    data = tf_written(tmp_path / "tf.tfrecord")
    with pytest.raises(DamagedRecordError, match="record at byte 33: truncated: 9 of 1004 bytes"):
        list(read_records(io.BytesIO(data[:33 + HEADER_BYTES + 9]), "shard"))
    with pytest.raises(DamagedRecordError, match="record at byte 1049: truncated: 5 of the header's 12"):
        list(read_records(io.BytesIO(data[:1049 + 5]), "shard"))


def test_a_length_over_the_bound_is_refused_before_it_is_allocated():
    length = struct.pack("<Q", 1 << 40)
    data = length + struct.pack("<I", masked_crc(length))
    with pytest.raises(DamagedRecordError, match="a length of 1099511627776 bytes, over the 1024 allowed"):
        list(read_records(io.BytesIO(data), "shard", max_record_bytes=1024))
