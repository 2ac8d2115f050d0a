"""HMDB-51 as it unpacks: <class>/<video>.avi + testTrainMulti_7030_splits/.

Each <class>_test_split<N>.txt lists every video of the class with a marker:
1 train, 2 test, 0 unused in that split (left out). HMDB has no actor or group
ids, so each video is its own group (the file name stem); the official splits
were drawn so that one actor's clips stay together, which we cannot check.
"""
from __future__ import annotations

import re

from beam_pipelines.datasets.entry import VideoEntry
from beam_pipelines.datasets.errors import DatasetError
from beam_pipelines.datasets.indexfile import check_split, numbered_lines
from beam_pipelines.storage import BEAM, join

DATASET = "hmdb51"
SPLIT_FOLDER = "testTrainMulti_7030_splits"
SPLIT_FILE = re.compile(r"^(.+)_test_split([123])\.txt$")
# File names may hold spaces and punctuation; the marker is the last token.
LINE = re.compile(r"^(.+?)\s+(\S+)$")
SUBSETS = {"1": "train", "2": "test"}


def class_names(root: str) -> list[str]:
    folder = join(root, SPLIT_FOLDER)
    files = BEAM.glob(join(folder, "*_test_split?.txt"))
    names = {match.group(1) for match in (SPLIT_FILE.match(path.rsplit("/", 1)[-1]) for path in files) if match}
    if not names:
        raise DatasetError(folder, "no <class>_test_split<N>.txt files (a missing folder or an empty dataset)")
    return sorted(names)


def load(root: str, split: int = 1) -> list[VideoEntry]:
    check_split(split)
    names = class_names(root)
    entries = []
    for label, name in enumerate(names):
        path = join(root, SPLIT_FOLDER, f"{name}_test_split{split}.txt")
        if not BEAM.exists(path):
            raise DatasetError(path, f"missing split file for class {name!r}")
        seen = set()
        for number, line in numbered_lines(path):
            match = LINE.match(line)
            if not match:
                raise DatasetError(path, f"malformed line {line!r}; expected '<video file> 0|1|2'", number)
            filename, marker = match.groups()
            if marker not in ("0", "1", "2"):
                raise DatasetError(path, f"split marker {marker!r} out of range; expected 0 (unused), "
                                         "1 (train) or 2 (test)", number)
            if filename in seen:
                raise DatasetError(path, f"video {filename!r} listed twice", number)
            seen.add(filename)
            if marker == "0":
                continue
            stem = filename.rsplit(".", 1)[0]
            entries.append(VideoEntry(path=join(root, name, filename), label=label, label_name=name,
                                      subset=SUBSETS[marker], group=stem, dataset=DATASET))
    if not entries:
        raise DatasetError(join(root, SPLIT_FOLDER), f"split {split} lists no train or test videos (empty dataset)")
    return entries
