"""A CSV manifest for any other collection of videos.

Header `path,label` plus optional `split` (train/test), `group` and `view`.
Labels are class names; the class list is their sorted unique set. Relative
paths resolve against the manifest's folder so a dataset folder can move.
"""
from __future__ import annotations

import csv
import io
import posixpath

from beam_pipelines.datasets.entry import VideoEntry
from beam_pipelines.datasets.errors import DatasetError
from beam_pipelines.datasets.indexfile import read_text
from beam_pipelines.storage import dirname, is_remote, join

REQUIRED = ("path", "label")
OPTIONAL = ("split", "group", "view")


def dataset_name(manifest: str) -> str:
    return posixpath.basename(manifest.replace("\\", "/")).rsplit(".", 1)[0]


def _rows(manifest: str) -> list[tuple[int, dict]]:
    """(line number, row dict) for every non-blank data row, header and values checked."""
    reader = csv.reader(io.StringIO(read_text(manifest), newline=""))
    header, rows = None, []
    for fields in reader:
        fields = [field.strip() for field in fields]
        if not any(fields):
            continue
        if header is None:
            header = fields
            unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
            missing = [name for name in REQUIRED if name not in header]
            if unknown or missing or len(set(header)) != len(header):
                raise DatasetError(manifest, f"bad header {','.join(header)!r}; need columns {REQUIRED} "
                                             f"and optionally {OPTIONAL}, each once", reader.line_num)
            continue
        if len(fields) != len(header):
            raise DatasetError(manifest, f"malformed line: {len(fields)} fields, header has {len(header)}",
                               reader.line_num)
        row = dict(zip(header, fields))
        _check_row(manifest, reader.line_num, row)
        rows.append((reader.line_num, row))
    if not rows:
        raise DatasetError(manifest, "no videos listed (empty dataset)")
    return rows


def _check_row(manifest: str, number: int, row: dict) -> None:
    for name in REQUIRED:
        if not row[name]:
            raise DatasetError(manifest, f"malformed line: empty {name!r}", number)
    if (row.get("split") or "train").lower() not in ("train", "test"):
        raise DatasetError(manifest, f"split {row['split']!r} is not 'train' or 'test'", number)
    view = row.get("view") or "0"
    if not view.isdigit():
        raise DatasetError(manifest, f"view {view!r} is not a non-negative integer", number)


def class_names(manifest: str) -> list[str]:
    return sorted({row["label"] for _, row in _rows(manifest)})


def load(manifest: str) -> list[VideoEntry]:
    rows = _rows(manifest)
    names = sorted({row["label"] for _, row in rows})
    folder, dataset = dirname(manifest), dataset_name(manifest)
    entries = []
    for _, row in rows:
        path = row["path"]
        if not is_remote(path):
            path = join(folder, path)
        stem = posixpath.basename(path.replace("\\", "/")).rsplit(".", 1)[0]
        entries.append(VideoEntry(path=path, label=names.index(row["label"]), label_name=row["label"],
                                  subset=(row.get("split") or "train").lower(), group=row.get("group") or stem,
                                  view=int(row.get("view") or 0), dataset=dataset))
    return entries
