"""The Beam jobs' one I/O layer: Beam's FileSystems, for the launcher and the workers alike.

gs://, s3:// (with apache-beam[aws]), hdfs:// and local paths go through one code path, and
an emulator (fake-gcs-server, tests/gcs_emulator.py) can stand in for the cloud. Files are
opened uncompressed whatever their suffix: FileSystems would otherwise gzip a `.gz` name.

Publishing never renames. Beam's GCS rename is a copy and a batch delete, and an object store
has no atomic rename anyway; a GCS or S3 object appears whole when its upload completes. So the
jobs write final names directly and write dataset_info.json last, as the commit marker
(beam_pipelines.ingest_transforms). Deletes of single objects on gs:// go through Beam's GcsIO
one request each, not FileSystems' batch call: the jobs delete a handful of objects at most, and
so the same code runs against the emulator, which cannot answer batch requests.
"""
from __future__ import annotations

import os
import posixpath
from typing import BinaryIO

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

UNCOMPRESSED = CompressionTypes.UNCOMPRESSED


def is_remote(path: str) -> bool:
    return "://" in path


def absolute(path: str) -> str:
    """Local paths become absolute so worker processes agree on them; URLs pass through."""
    return path if is_remote(path) else os.path.abspath(path)


def join(root: str, *parts: str) -> str:
    """Join with '/' for URLs and os.path for local folders (made absolute)."""
    if is_remote(root):
        return posixpath.join(root, *parts)
    return os.path.abspath(os.path.join(root, *parts))


def dirname(path: str) -> str:
    return posixpath.dirname(path) if is_remote(path) else os.path.dirname(os.path.abspath(path))


class BeamStorage:
    """media.storage.Storage over Beam's FileSystems."""

    def glob(self, pattern: str) -> list[str]:
        return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)

    def exists(self, path: str) -> bool:
        return FileSystems.exists(path)

    def size(self, path: str) -> int:
        metadata = FileSystems.match([path])[0].metadata_list
        if not metadata:
            raise FileNotFoundError(f"{path}: does not exist")
        return metadata[0].size_in_bytes

    def open(self, path: str) -> BinaryIO:
        return FileSystems.open(path, compression_type=UNCOMPRESSED)

    def create(self, path: str) -> BinaryIO:
        return FileSystems.create(path, compression_type=UNCOMPRESSED)

    def delete(self, path: str) -> None:
        if path.startswith("gs://"):
            from apache_beam.io.gcp.gcsio import GcsIO

            GcsIO().delete(path)
        else:
            FileSystems.delete([path])

    def list_files(self, folder: str) -> list[str]:
        """Every file below `folder`, recursively (an object store has no folders, only prefixes)."""
        return self.glob(join(folder.rstrip("/"), "**"))


BEAM = BeamStorage()


def check_writable(probe: str) -> None:
    """Write and delete `probe`, so that an output that cannot be written (a bucket that does not
    exist, no permission, a mistyped scheme) fails at launch in one line, not on every worker."""
    try:
        with BEAM.create(probe) as handle:
            handle.write(b"")
        BEAM.delete(probe)
    except Exception as err:  # each filesystem's client raises its own types
        reason = " ".join(str(err).split())[:300] or type(err).__name__
        raise OSError(f"{probe.rsplit('/', 1)[0]}: cannot write there ({reason})") from err
