"""The spatial net's pre-training set: determinism, disjointness from the benchmark, the manifest."""
from __future__ import annotations

import itertools
import json
import os

import numpy as np
import pytest

from beam_pipelines.datasets import load_entries
from beam_pipelines.synth.__main__ import main
from beam_pipelines.synth.classes import KITS, MOTIONS
from beam_pipelines.synth.pretrain import PRETRAIN_CODE, draw_kits, plan
from beam_pipelines.synth.render import DATASET_CODES
from media.video import read_video

TINY = ["--profile", "tiny", "--pretrain", "3", "--pretrain_clips", "4", "--seed", "5"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrain")
    assert main(["--out", str(out), *TINY]) == 0
    return str(out)


def _comparable(text):
    info = json.loads(text)
    info["timing"] = info["manifest"] = None
    return info


def _tree(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


def test_the_render_is_deterministic_and_only_the_pretraining_set(rendered, tmp_path):
    assert os.listdir(rendered) == ["pretrain"]  # the benchmark is not rendered with --pretrain
    again = str(tmp_path / "again")
    assert main(["--out", again, *TINY, "--processes", "1"]) == 0
    files = _tree(rendered)
    assert files == _tree(again) and len([f for f in files if f.endswith(".avi")]) == 12
    for name in files:
        first, second = (open(os.path.join(root, name), "rb").read() for root in (rendered, again))
        if name.endswith("pretrain.json"):  # holds the render time and where the manifest went
            first, second = (_comparable(text) for text in (first, second))
        assert first == second, name
    other = str(tmp_path / "other")
    assert main(["--out", other, *TINY[:-1], "6"]) == 0
    kits = [_comparable(open(os.path.join(root, "pretrain", "pretrain.json")).read())["kits"]
            for root in (rendered, other)]
    assert kits[0] != kits[1]


def test_the_manifest_is_read_by_the_csv_reader(rendered):
    entries = load_entries("csv", 1, manifest=os.path.join(rendered, "pretrain", "pretrain.csv"))
    assert len(entries) == 12 and {e.dataset for e in entries} == {"pretrain"}
    assert sorted({(e.label, e.label_name) for e in entries})[0][1].startswith("p000_")
    assert sorted({e.label for e in entries}) == [0, 1, 2]
    assert len({e.group for e in entries}) == 12
    assert sorted(e.label for e in entries if e.subset == "test") == [0, 1, 2]
    video = read_video(entries[0].path)
    assert video.frames.shape[1:] == (64, 80, 3) and 12 <= len(video.frames) <= 16


def test_class_colours_keep_away_from_every_benchmark_kit_and_from_each_other():
    benchmark = [np.array(color, float) for kit in KITS.values() for color in kit.colors]
    assert len(benchmark) == 14
    for seed in (0, 1):
        kits = draw_kits(seed, 40)
        assert len({(k.shape, k.pattern, k.colors) for k in kits}) == 40
        for kit in kits:
            first, second = (np.array(c, float) for c in kit.colors)
            for color in (first, second):
                assert min(np.sqrt(((color - b) ** 2).sum()) for b in benchmark) >= 80, kit
            assert np.sqrt(((first - second) ** 2).sum()) >= 80, kit
        for a, b in itertools.combinations(kits, 2):
            if (a.shape, a.pattern) == (b.shape, b.pattern):
                straight = max(np.linalg.norm(np.subtract(a.colors[i], b.colors[i])) for i in (0, 1))
                crossed = max(np.linalg.norm(np.subtract(a.colors[i], b.colors[1 - i])) for i in (0, 1))
                assert min(straight, crossed) >= 60, (a, b)
        assert {k.shape for k in kits} == {"disc", "square", "star"}
        assert {k.pattern for k in kits} == {"sectors", "checker"}
    assert draw_kits(0, 40)[:5] == draw_kits(0, 5)  # a longer draw keeps the first classes


def test_seeds_are_the_sets_own_and_motion_is_drawn_from_all_motions():
    assert PRETRAIN_CODE not in DATASET_CODES.values()
    jobs = plan(0, draw_kits(0, 40), 8)
    assert {job.motion for job in jobs} == set(MOTIONS)
    assert {job.length for job in jobs} == set(range(12, 17))
    assert sum(job.split == "test" for job in jobs) == 80


def test_too_few_clips_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--profile", "tiny", "--pretrain", "3", "--pretrain_clips", "3"])
    assert "clips per class must be >= 4" in capsys.readouterr().err
