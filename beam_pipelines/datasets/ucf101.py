"""UCF-101 as the official archives unpack: UCF-101/<Class>/*.avi + ucfTrainTestlist/.

classInd.txt holds "1 ApplyEyeMakeup" lines (1-based), trainlist0N.txt holds
"Class/v_Class_g08_c01.avi 1" and testlist0N.txt holds "Class/v_Class_g01_c01.avi".
The group is the gXX part of the name: one actor and scene, so the official
splits keep each group on one side.
"""
from __future__ import annotations

import re

from beam_pipelines.datasets.entry import VideoEntry
from beam_pipelines.datasets.errors import DatasetError
from beam_pipelines.datasets.indexfile import check_split, numbered_lines
from beam_pipelines.storage import join

DATASET = "ucf101"
VIDEO_FOLDER = "UCF-101"
LIST_FOLDER = "ucfTrainTestlist"

CLASS_LINE = re.compile(r"^(\d+)\s+(\S+)$")
TRAIN_LINE = re.compile(r"^(\S+)\s+(\d+)$")
TEST_LINE = re.compile(r"^(\S+)(?:\s+(\d+))?$")
GROUP = re.compile(r"_(g\d+)_c\d+\.[^/.]+$")


def class_names(root: str) -> list[str]:
    path = join(root, LIST_FOLDER, "classInd.txt")
    names = []
    for number, line in numbered_lines(path):
        match = CLASS_LINE.match(line)
        if not match:
            raise DatasetError(path, f"malformed line {line!r}; expected '<index> <ClassName>'", number)
        index, name = int(match.group(1)), match.group(2)
        if index != len(names) + 1:
            raise DatasetError(path, f"class index {index} out of order; expected {len(names) + 1}", number)
        if name in names:
            raise DatasetError(path, f"class {name!r} listed twice", number)
        names.append(name)
    if not names:
        raise DatasetError(path, "no classes listed (empty dataset)")
    return names


def _entry(root, path, number, relative, label, names, subset) -> VideoEntry:
    folder, _, filename = relative.replace("\\", "/").rpartition("/")
    if folder not in names:
        raise DatasetError(path, f"unknown class {folder!r} in {relative!r}", number)
    if label is not None:
        if not 1 <= label <= len(names):
            raise DatasetError(path, f"label {label} out of range 1..{len(names)}", number)
        if names[label - 1] != folder:
            raise DatasetError(path, f"label {label} is {names[label - 1]!r} but the video is in folder {folder!r}",
                               number)
    group = GROUP.search(filename)
    if not group:
        raise DatasetError(path, f"file name {filename!r} lacks the _gXX_cYY group and clip part", number)
    return VideoEntry(path=join(root, VIDEO_FOLDER, folder, filename), label=names.index(folder),
                      label_name=folder, subset=subset, group=group.group(1), dataset=DATASET)


def load(root: str, split: int = 1) -> list[VideoEntry]:
    check_split(split)
    names = class_names(root)
    entries = []
    for subset, pattern in (("train", TRAIN_LINE), ("test", TEST_LINE)):
        path = join(root, LIST_FOLDER, f"{subset}list{split:02d}.txt")
        before = len(entries)
        for number, line in numbered_lines(path):
            match = pattern.match(line)
            if not match:
                expected = "'Class/v_Class_gXX_cYY.avi <label>'" if subset == "train" else "'Class/v_Class_gXX_cYY.avi'"
                raise DatasetError(path, f"malformed line {line!r}; expected {expected}", number)
            label = int(match.group(2)) if match.group(2) else None
            entries.append(_entry(root, path, number, match.group(1), label, names, subset))
        if len(entries) == before:
            raise DatasetError(path, "no videos listed (empty dataset)")
    return entries
