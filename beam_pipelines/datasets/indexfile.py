"""Reading the official index files the way they really are on disk.

The published UCF-101 and HMDB-51 lists carry CRLF endings, trailing spaces,
blank lines at the end and, for HMDB, file names in a legacy encoding. Every
reader goes through these helpers so the quirks are handled once. Files are
read through Beam's FileSystems (beam_pipelines.storage), so a gs:// or s3:// root
works on the launcher and on workers alike.
"""
from __future__ import annotations

from beam_pipelines.datasets.errors import DatasetError
from beam_pipelines.storage import BEAM


def read_text(path: str) -> str:
    """Whole file as text; UTF-8 when it decodes, else Latin-1 (old HMDB names)."""
    if not BEAM.exists(path):
        raise DatasetError(path, "file does not exist")
    with BEAM.open(path) as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.lstrip("\ufeff")


def numbered_lines(path: str) -> list[tuple[int, str]]:
    """(1-based line number, stripped text) for every non-blank line."""
    lines = read_text(path).splitlines()
    return [(number, line.strip()) for number, line in enumerate(lines, start=1) if line.strip()]


def check_split(split: int) -> None:
    if split not in (1, 2, 3):
        raise ValueError(f"split must be 1, 2 or 3, got {split!r}")
