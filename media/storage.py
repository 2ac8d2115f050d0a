"""Where files live, behind one small interface, so record-set logic is written once.

The shard-set checks, dataset_info.json and the verifier's checksums are the same whoever
reads: TensorFlow's side (training, evaluation) goes through tf.io.gfile (local, ram://,
gs:// by TensorFlow's own client), and the Beam jobs go through Beam's FileSystems
(beam_pipelines.storage: gs://, s3://, hdfs:// and local by Beam's clients). Both
implement `Storage`; the functions below take one.
"""
from __future__ import annotations

import json
from typing import BinaryIO, Protocol

import google_crc32c
import tensorflow as tf

_CHUNK = 1 << 22


class Storage(Protocol):
    def glob(self, pattern: str) -> list[str]: ...
    def exists(self, path: str) -> bool: ...
    def size(self, path: str) -> int: ...
    def open(self, path: str) -> BinaryIO: ...  # for reading
    def create(self, path: str) -> BinaryIO: ...  # for writing; makes the parents, replaces the file
    def delete(self, path: str) -> None: ...


class TensorFlowStorage:
    """Storage over tf.io.gfile: every scheme TensorFlow's filesystem layer knows."""

    def glob(self, pattern: str) -> list[str]:
        return sorted(tf.io.gfile.glob(pattern))

    def exists(self, path: str) -> bool:
        return tf.io.gfile.exists(path)

    def size(self, path: str) -> int:
        return tf.io.gfile.stat(path).length

    def open(self, path: str) -> BinaryIO:
        if not tf.io.gfile.exists(path):  # TensorFlow's NotFoundError is no OSError: say it as one
            raise FileNotFoundError(f"{path}: does not exist")
        return tf.io.gfile.GFile(path, "rb")

    def create(self, path: str) -> BinaryIO:
        folder = path.rsplit("/", 1)[0]
        if folder and folder != path:
            tf.io.gfile.makedirs(folder)
        return tf.io.gfile.GFile(path, "wb")

    def delete(self, path: str) -> None:
        tf.io.gfile.remove(path)


TENSORFLOW = TensorFlowStorage()


def read_json(storage: Storage, path: str):
    with storage.open(path) as handle:
        return json.loads(handle.read().decode("utf-8"))


def write_json(storage: Storage, path: str, value) -> None:
    """One write of the whole text: an object store makes the object appear whole."""
    with storage.create(path) as handle:
        handle.write(json.dumps(value, indent=2, sort_keys=True).encode("utf-8"))


def read_text(storage: Storage, path: str) -> str:
    with storage.open(path) as handle:
        return handle.read().decode("utf-8")


def write_text(storage: Storage, path: str, text: str) -> None:
    write_bytes(storage, path, text.encode("utf-8"))


def write_bytes(storage: Storage, path: str, data: bytes) -> None:
    with storage.create(path) as handle:
        handle.write(data)


def crc32c_of(storage: Storage, path: str) -> str:
    """The file's CRC32C as 8 hex digits (the checksum GCS itself keeps for an object)."""
    checksum = google_crc32c.Checksum()
    with storage.open(path) as handle:
        while chunk := handle.read(_CHUNK):
            checksum.update(chunk)
    return checksum.hexdigest().decode("ascii")
