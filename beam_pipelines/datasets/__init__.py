"""Dataset readers: UCF-101, HMDB-51 and CSV manifests -> sorted VideoEntry lists.

A video that is listed but missing on disk is not an error here: the ingest job
dead-letters it, so one lost file does not stop a run over thousands.
"""
from __future__ import annotations

from collections import Counter

from beam_pipelines.datasets import hmdb51, manifest as csv_manifest, ucf101
from beam_pipelines.datasets.entry import VideoEntry
from beam_pipelines.datasets.errors import DatasetError

FORMATS = ("ucf101", "hmdb51", "csv")

__all__ = ["FORMATS", "DatasetError", "VideoEntry", "load_class_names", "load_entries"]


def _source(format: str, root: str | None, manifest: str | None) -> str:
    if format not in FORMATS:
        raise ValueError(f"unknown dataset format {format!r}; choose from {FORMATS}")
    if format == "csv":
        if not manifest:
            raise ValueError("format 'csv' needs manifest=<path to the CSV file>")
        return manifest
    if not root:
        raise ValueError(f"format {format!r} needs root=<folder the archives unpacked into>")
    return root


def load_class_names(format: str, root: str | None = None, manifest: str | None = None) -> list[str]:
    """Class names; the position in the list is the label index."""
    source = _source(format, root, manifest)
    if format == "ucf101":
        return ucf101.class_names(source)
    if format == "hmdb51":
        return hmdb51.class_names(source)
    return csv_manifest.class_names(source)


def load_entries(format: str, split: int = 1, root: str | None = None,
                 manifest: str | None = None) -> list[VideoEntry]:
    """Train and test entries of one split, sorted by path; ids checked unique.

    CSV manifests carry a single split, so `split` is ignored for them.
    """
    source = _source(format, root, manifest)
    if format == "ucf101":
        entries = ucf101.load(source, split)
    elif format == "hmdb51":
        entries = hmdb51.load(source, split)
    else:
        entries = csv_manifest.load(source)
    repeated = [name for name, count in Counter(entry.id for entry in entries).items() if count > 1]
    if repeated:
        raise DatasetError(source, f"video ids must be unique within a dataset; repeated: {sorted(repeated)[:5]}")
    return sorted(entries, key=lambda entry: (entry.path, entry.view))
