"""Reading the official index files the way they really are on disk.

The published UCF-101 and HMDB-51 lists carry CRLF endings, trailing spaces,
blank lines at the end and, for HMDB, file names in a legacy encoding. Every
reader goes through these helpers so the quirks are handled once. Files are
read with tf.io.gfile so that a gs:// root works on Dataflow workers.
"""
from __future__ import annotations

import os
import posixpath

import tensorflow as tf

from beam_pipelines.datasets.errors import DatasetError


def is_remote(path: str) -> bool:
    return "://" in path


def join(root: str, *parts: str) -> str:
    """Join with '/' for URLs and os.path for local folders (made absolute)."""
    if is_remote(root):
        return posixpath.join(root, *parts)
    return os.path.abspath(os.path.join(root, *parts))


def dirname(path: str) -> str:
    return posixpath.dirname(path) if is_remote(path) else os.path.dirname(os.path.abspath(path))


def read_text(path: str) -> str:
    """Whole file as text; UTF-8 when it decodes, else Latin-1 (old HMDB names)."""
    if not tf.io.gfile.exists(path):
        raise DatasetError(path, "file does not exist")
    with tf.io.gfile.GFile(path, "rb") as handle:
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
