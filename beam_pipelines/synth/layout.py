"""Where every clip goes and the index files, laid out as the real archives unpack.

UCF-like: ucf101/UCF-101/<Class>/v_<Class>_gXX_cYY.avi (MPEG-4 Part 2, 25 fps)
with ucf101/ucfTrainTestlist/ (classInd, trainlist0N, testlist0N; CRLF like the
originals). HMDB-like: hmdb51/<class>/<title>_<class>_<tags>_<n>.avi (H.264 in
AVI, 30 fps) with hmdb51/testTrainMulti_7030_splits/<class>_test_splitN.txt
("<file> 1|2 " lines). Multi-view: multiview/<Class>/..._view{0,1}.mp4 and
multiview/manifest.csv. The "wherewhen" set (its own profiles) is laid out like
the UCF-like one under wherewhen/. Groups are cut into three folds in order (like UCF's
groups 1-7, 8-14, 15-21); split N tests fold N, so a group never straddles
train and test and every group is tested exactly once.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass

from beam_pipelines.storage import BEAM, join
from beam_pipelines.synth.classes import classes_of
from beam_pipelines.synth.render import Profile
from media.storage import write_text

SPLITS = (1, 2, 3)
CODECS = {"ucf101": ("mpeg4", 25.0), "hmdb51": ("libx264", 30.0), "multiview": ("libx264", 25.0),
          "wherewhen": ("mpeg4", 25.0)}
# HMDB-like source titles: real HMDB names carry movie titles with punctuation.
TITLES = ("Bob's_Backyard_(2009)", "#7_Park_Day", "Rock&Roll!_Tricks", "Summer+Fun-Clip", "O'Neil_Home_Video",
          "[HD]_Garden_Play", "Ballgame_@_Noon", "Kids,_Balls_and_More", "Uncle_Joe's_Cam_#2")
# Visible body part, camera motion, people, viewpoint, quality: HMDB's meta tags.
HMDB_TAGS = (("f", "nm", "np1", "fr", "goo"), ("u", "cm", "np1", "le", "med"), ("f", "cm", "np2", "ri", "bad"),
             ("h", "nm", "np1", "ba", "med"))


@dataclass(frozen=True)
class ClipJob:
    dataset: str   # "ucf101", "hmdb51" or "multiview"
    name: str      # class name as the dataset spells it
    label: int     # 0-based index in the dataset's class list
    group: int     # 1-based; one actor and scene
    clip: int      # 1-based within the group
    view: int
    path: str      # relative to <out>/<dataset>/
    fold: int      # the split (1-3) whose test set holds this group

    @property
    def stem(self) -> str:
        return os.path.splitext(os.path.basename(self.path))[0]


def fold_of(group: int, groups: int) -> int:
    return (group - 1) * 3 // groups + 1


def hmdb_file_name(name: str, group: int, clip: int) -> str:
    title = TITLES[(group - 1) % len(TITLES)]
    if group > len(TITLES):
        title += f"_{group}"
    tags = "_".join(HMDB_TAGS[(group + clip) % len(HMDB_TAGS)])
    return f"{title}_{name}_{tags}_{clip - 1}.avi"


def _path(dataset: str, name: str, group: int, clip: int, view: int) -> str:
    if dataset in ("ucf101", "wherewhen"):
        return f"UCF-101/{name}/v_{name}_g{group:02d}_c{clip:02d}.avi"
    if dataset == "hmdb51":
        return f"{name}/{hmdb_file_name(name, group, clip)}"
    return f"{name}/v_{name}_g{group:02d}_c{clip:02d}_view{view}.mp4"


def plan(profile: Profile, multiview: bool = False) -> list[ClipJob]:
    """Every clip to render, in a fixed order."""
    datasets = profile.datasets + (("multiview",) if multiview else ())
    jobs = []
    for dataset in datasets:
        for label, (name, _) in enumerate(classes_of(dataset)):
            for group in range(1, profile.groups + 1):
                for clip in range(1, profile.clips_per_group + 1):
                    for view in ((0, 1) if dataset == "multiview" else (0,)):
                        jobs.append(ClipJob(dataset, name, label, group, clip, view,
                                            _path(dataset, name, group, clip, view), fold_of(group, profile.groups)))
    return jobs


def _write_lines(path: str, lines: list[str], ending: str) -> None:
    write_text(BEAM, path, "".join(line + ending for line in lines))


def write_ucf_lists(root: str, jobs: list[ClipJob], dataset: str = "ucf101") -> None:
    """classInd.txt, trainlist0N.txt and testlist0N.txt with CRLF endings, like the originals."""
    folder = join(root, "ucfTrainTestlist")
    names = [name for name, _ in classes_of(dataset)]
    _write_lines(join(folder, "classInd.txt"), [f"{i} {name}" for i, name in enumerate(names, 1)], "\r\n")
    for split in SPLITS:
        relative = [(job, job.path.split("/", 1)[1]) for job in jobs]
        _write_lines(join(folder, f"trainlist{split:02d}.txt"),
                     [f"{path} {job.label + 1}" for job, path in relative if job.fold != split], "\r\n")
        _write_lines(join(folder, f"testlist{split:02d}.txt"),
                     [path for job, path in relative if job.fold == split], "\r\n")


def write_hmdb_splits(root: str, jobs: list[ClipJob]) -> None:
    """<class>_test_splitN.txt: every video of the class, 1 = train, 2 = test (trailing space as in HMDB)."""
    folder = join(root, "testTrainMulti_7030_splits")
    for name, _ in classes_of("hmdb51"):
        own = [job for job in jobs if job.name == name]
        for split in SPLITS:
            lines = [f"{os.path.basename(job.path)} {2 if job.fold == split else 1} " for job in own]
            _write_lines(join(folder, f"{name}_test_split{split}.txt"), lines, "\n")


def write_manifest(root: str, jobs: list[ClipJob]) -> None:
    """manifest.csv for the CSV reader; split 1's assignment; a view pair shares its group."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["path", "label", "split", "group", "view"])
    for job in jobs:
        pair = job.stem.rsplit("_view", 1)[0]
        writer.writerow([job.path, job.name, "test" if job.fold == 1 else "train", pair, job.view])
    write_text(BEAM, join(root, "manifest.csv"), text.getvalue())
