"""The synthetic benchmark: layouts, splits, determinism, class design and true flow."""
from __future__ import annotations

import hashlib
import json
import os
import re

import av
import cv2
import numpy as np
import pytest

from beam_pipelines.datasets import load_entries
from beam_pipelines.synth import FLOW_BOUND, layout, render_clip
from beam_pipelines.synth.__main__ import main
from beam_pipelines.synth.classes import CLASSES, CUE_CLASSES, classes_of
from media.video import read_video

SEED = 7
MOTION_ONLY = ("SwingBall", "BounceBall", "SpinBall", "ApproachBall", "RecedeBall")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    assert main(["--out", str(out), "--seed", str(SEED), "--profile", "tiny", "--multiview"]) == 0
    return str(out)


def _raw_lines(path):
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8")


def test_ucf_index_files_have_the_official_line_formats(tiny):
    folder = os.path.join(tiny, "ucf101", "ucfTrainTestlist")
    assert sorted(os.listdir(folder)) == ["classInd.txt"] + [f"{kind}list0{k}.txt" for kind in ("test", "train")
                                                              for k in (1, 2, 3)]
    class_ind = _raw_lines(os.path.join(folder, "classInd.txt"))
    assert class_ind.endswith("\r\n")
    names = []
    for line in class_ind.split("\r\n")[:-1]:
        index, name = re.fullmatch(r"(\d+) ([A-Z][A-Za-z]+)", line).groups()
        assert int(index) == len(names) + 1
        names.append(name)
    assert len(names) == 10
    train_line = re.compile(r"([A-Z][A-Za-z]+)/v_\1_g(\d\d)_c(\d\d)\.avi (\d+)")
    test_line = re.compile(r"([A-Z][A-Za-z]+)/v_\1_g(\d\d)_c(\d\d)\.avi")
    for split in (1, 2, 3):
        for kind, pattern in (("train", train_line), ("test", test_line)):
            text = _raw_lines(os.path.join(folder, f"{kind}list0{split}.txt"))
            assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
            for line in text.split("\r\n")[:-1]:
                match = pattern.fullmatch(line)
                assert match, line
                if kind == "train":
                    assert names[int(match.group(4)) - 1] == match.group(1)
                assert os.path.isfile(os.path.join(tiny, "ucf101", "UCF-101", line.split(" ")[0]))


def test_hmdb_split_files_have_the_official_line_formats(tiny):
    root = os.path.join(tiny, "hmdb51")
    folder = os.path.join(root, "testTrainMulti_7030_splits")
    names = [name for name, _ in classes_of("hmdb51")]
    assert len(names) == 8 and all(re.fullmatch(r"[a-z]+(_[a-z]+)+", name) for name in names)
    assert sorted(os.listdir(folder)) == sorted(f"{name}_test_split{k}.txt" for name in names for k in (1, 2, 3))
    for name in names:
        for split in (1, 2, 3):
            text = _raw_lines(os.path.join(folder, f"{name}_test_split{split}.txt"))
            for line in text.split("\n")[:-1]:
                match = re.fullmatch(r"(\S+_" + name + r"_[fhu]_[cn]m_np\d_(?:fr|le|ri|ba)_(?:goo|med|bad)_\d+\.avi) ([012]) ",
                                     line)
                assert match, line
                assert os.path.isfile(os.path.join(root, name, match.group(1)))
    assert any(set(name) & set("()#&!'+[]@,") for name in os.listdir(os.path.join(root, "swing_ball")))


def test_splits_keep_groups_on_one_side_and_test_each_group_once(tiny):
    tested = []
    for split in (1, 2, 3):
        entries = load_entries("ucf101", split, root=os.path.join(tiny, "ucf101"))
        train = {(e.label_name, e.group) for e in entries if e.subset == "train"}
        test = {(e.label_name, e.group) for e in entries if e.subset == "test"}
        assert train and test and not train & test
        assert {e.group for e in entries if e.subset == "train"}.isdisjoint(
            {e.group for e in entries if e.subset == "test"})
        tested += sorted(test)
    assert len(tested) == len(set(tested)) == 10 * 3
    # HMDB-like: the reader cannot see groups (one per file), so check the source titles.
    for split in (1, 2, 3):
        entries = load_entries("hmdb51", split, root=os.path.join(tiny, "hmdb51"))
        title = {e.path: os.path.basename(e.path).split("_" + e.label_name + "_")[0] for e in entries}
        for name, _ in classes_of("hmdb51"):
            train = {title[e.path] for e in entries if e.label_name == name and e.subset == "train"}
            test = {title[e.path] for e in entries if e.label_name == name and e.subset == "test"}
            assert train and test and not train & test


def test_videos_are_real_files_in_the_promised_codecs(tiny):
    expected = {"ucf101": ("UCF-101/SwingBall/v_SwingBall_g01_c01.avi", "mpeg4"),
                "hmdb51": ("swing_ball/" + layout.hmdb_file_name("swing_ball", 1, 1), "h264"),
                "multiview": ("SwingBall/v_SwingBall_g01_c01_view1.mp4", "h264")}
    for dataset, (relative, codec) in expected.items():
        path = os.path.join(tiny, dataset, relative)
        with av.open(path) as container:
            assert container.streams.video[0].codec_context.name == codec
        by_pyav, by_opencv = read_video(path, backend="pyav"), read_video(path, backend="opencv")
        assert by_pyav.frames.shape == by_opencv.frames.shape
        assert by_pyav.frames.shape[1:] == (64, 80, 3) and 12 <= len(by_pyav.frames) <= 16
        assert np.abs(by_pyav.frames.astype(int) - by_opencv.frames).mean() < 2


def test_rendering_is_deterministic_and_seeded():
    first = render_clip("SpinBall", seed=3, group=2, clip=1, profile="tiny")
    again = render_clip("SpinBall", seed=3, group=2, clip=1, profile="tiny")
    other = render_clip("SpinBall", seed=4, group=2, clip=1, profile="tiny")
    assert np.array_equal(first.frames, again.frames) and np.array_equal(first.flow, again.flow)
    assert np.array_equal(first.valid, again.valid)
    assert first.frames.shape != other.frames.shape or not np.array_equal(first.frames, other.frames)


def test_parallel_rendering_matches_in_memory_rendering(tiny):
    """Files written by the worker pool hold exactly what render_clip gives for that clip."""
    for dataset, relative, name in (("ucf101", "v_TossLemon_g03_c01", "TossLemon"),
                                    ("hmdb51", layout.hmdb_file_name("toss_melon", 2, 1)[:-4], "toss_melon")):
        group = int(relative[-5]) if dataset == "ucf101" else 2
        clip = render_clip(name, SEED, group=group, clip=1, profile="tiny", dataset=dataset)
        stored = np.load(os.path.join(tiny, "groundtruth", dataset, relative + ".npz"))
        assert stored["flow"].dtype == np.float16 and stored["valid"].dtype == bool
        assert np.array_equal(stored["flow"], clip.flow.astype(np.float16))
        assert np.array_equal(stored["valid"], clip.valid)


def _warp_errors(frames, flow, valid):
    """Mean |prev - next warped back by the forward flow| on valid pixels, and without warping."""
    height, width = frames.shape[1:3]
    x, y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    warped_err, plain_err = [], []
    for t in range(len(flow)):
        warped = cv2.remap(frames[t + 1].astype(np.float32), x + flow[t, ..., 0].astype(np.float32),
                           y + flow[t, ..., 1].astype(np.float32), cv2.INTER_LINEAR)
        mask = valid[t]
        warped_err.append(np.abs(warped - frames[t]).mean(axis=-1)[mask].mean())
        plain_err.append(np.abs(frames[t + 1].astype(np.float32) - frames[t]).mean(axis=-1)[mask].mean())
    return float(np.mean(warped_err)), float(np.mean(plain_err))


# sha256 of frames, flow and valid (in that order, as bytes) of clips rendered with seed 0 and the
# tiny profile by the renderer before render_kit_clip was split out of render_clip (commit 20f4266):
# (dataset, class, group, clip, view, motion, digest).
STORED_RENDERS = [
    ("ucf101", "SwingBall", 1, 1, 0, "swing", "2db47b324736ebf94bb3b8b98244318d0f730295cb3d5d346db272c360ce76da"),
    ("ucf101", "TossApple", 2, 1, 0, "swing", "45dde2f5001016c15fc6776f394f2053a3e8f32d654dfb835317cb0850bab16f"),
    ("ucf101", "OrbitStar", 3, 1, 0, "orbit", "dd1ea60bf35a952b8551ac5788b8aa421e5dc7c5ba89161ed093b9f32d8d8290"),
    ("ucf101", "SlideBox", 1, 1, 0, "slide", "bd1a5b639bb6b67bac323edbb2d2c1bc35f4512def1f3a9409d9f336ade6a4cc"),
    ("hmdb51", "shake_ball", 1, 1, 0, "shake", "f064cb922b007415f3cb7e728cedb3e4367c9fe35c999602b58dae0f63afa010"),
    ("hmdb51", "toss_melon", 2, 1, 0, "bounce", "ab8ba953e3255d45f49b51b4e56b097867d6cb1de117944af8df3ad760f459a0"),
    ("multiview", "TossLemon", 1, 1, 0, "spin", "f7884f49cdfb795f7032dbf6eb6ae71150a7007b5040464dc0c9209114493ff2"),
    ("multiview", "TossLemon", 1, 1, 1, "spin", "82dcb718950b4388b5c79a24186f5ead8dcabe71c31403a0a29092e41a32f3ed"),
    ("multiview", "SpinBall", 2, 1, 1, "spin", "abc5c29af10996cd9962723f6139409ed3a5af836cf5586b6e7f7faa4794d975"),
]


@pytest.mark.parametrize("dataset,name,group,clip,view,motion,digest", STORED_RENDERS)
def test_benchmark_clips_render_as_stored(dataset, name, group, clip, view, motion, digest):
    rendered = render_clip(name, 0, group, clip, "tiny", view=view, dataset=dataset)
    sha = hashlib.sha256()
    for array in (rendered.frames, rendered.flow, rendered.valid):
        sha.update(array.tobytes())
    assert (rendered.motion, sha.hexdigest()) == (motion, digest)


@pytest.mark.parametrize("name,view", [("SwingBall", 0), ("SpinBall", 1), ("ApproachBall", 0), ("OrbitStar", 1)])
def test_ground_truth_flow_warps_next_frame_onto_previous(name, view):
    clip = render_clip(name, seed=11, profile="small", view=view, photometric=False, length=12)
    warped, plain = _warp_errors(clip.frames, clip.flow, clip.valid)
    assert warped < 0.8, warped
    assert plain > 3 * warped
    assert 0.6 < clip.valid.mean() < 1.0  # occlusions and frame borders are excluded
    assert np.abs(clip.flow).max() < FLOW_BOUND


def test_ground_truth_flow_holds_on_decoded_video(tiny):
    path = os.path.join(tiny, "ucf101", "UCF-101", "BounceBall", "v_BounceBall_g02_c01.avi")
    truth = np.load(os.path.join(tiny, "groundtruth", "ucf101", "v_BounceBall_g02_c01.npz"))
    frames = read_video(path).frames
    warped, plain = _warp_errors(frames, truth["flow"], truth["valid"])
    assert warped < 6, warped
    assert warped < 0.7 * plain, (warped, plain)


def _frame_features(frames):
    """Single-frame appearance: mean colour, share of saturated pixels, their hue histogram.

    Scenes are unsaturated, so the last two measure the object's size and colours.
    """
    features = []
    for frame in frames:
        hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
        saturated = (hsv[..., 1] > 180) & (hsv[..., 2] > 120)
        histogram = np.bincount(hsv[..., 0][saturated] // 15, minlength=12) / max(saturated.sum(), 1)
        features.append(np.concatenate([frame.reshape(-1, 3).mean(0), [saturated.mean()], histogram]))
    return np.array(features)


def _max_z(a, b):
    """Largest |difference of means| / standard error over feature dimensions (one value per clip)."""
    error = np.sqrt(a.var(0, ddof=1) / len(a) + b.var(0, ddof=1) / len(b)) + 1e-9
    return float(np.max(np.abs(a.mean(0) - b.mean(0)) / error))


@pytest.fixture(scope="module")
def renders():
    """24 clips per class, each from its own group (actor and scene), tiny frames."""
    names = MOTION_ONLY + ("TossApple", "TossLemon")
    return {name: [render_clip(name, SEED, group=g, profile="tiny", length=12) for g in range(1, 25)]
            for name in names}


def test_motion_only_classes_look_the_same_in_single_frames(renders):
    clip_features = {name: np.array([_frame_features(c.frames).mean(0) for c in clips])
                     for name, clips in renders.items()}
    for i, first in enumerate(MOTION_ONLY):
        for second in MOTION_ONLY[i + 1:]:
            assert _max_z(clip_features[first], clip_features[second]) < 4, (first, second)
    # The same statistic does see appearance and size differences:
    assert _max_z(clip_features["TossApple"], clip_features["TossLemon"]) > 8
    early = np.array([_frame_features(c.frames[:3]).mean(0) for c in renders["ApproachBall"]])
    late = np.array([_frame_features(c.frames[-3:]).mean(0) for c in renders["ApproachBall"]])
    assert late[:, 3].mean() > 2 * early[:, 3].mean()


def _motion_features(clip):
    """Object motion relative to the camera, from the true flow: an affine fit per frame pair.

    Returns mean |translation x|, |translation y|, |curl|, divergence.
    """
    height, width = clip.frames.shape[1:3]
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    rows = []
    for t in range(len(clip.flow)):
        flow = clip.flow[t].reshape(-1, 2).astype(np.float64)
        relative = flow - np.median(flow, axis=0)
        # Background and occluder move with the camera; what moves otherwise is the object.
        mask = np.linalg.norm(relative, axis=1) > 0.05
        if mask.sum() < 6:
            continue
        px, py = x.reshape(-1)[mask], y.reshape(-1)[mask]
        design = np.stack([np.ones_like(px), px - px.mean(), py - py.mean()], axis=1)
        (cu, ux, uy), *_ = np.linalg.lstsq(design, relative[mask, 0], rcond=None)
        (cv, vx, vy), *_ = np.linalg.lstsq(design, relative[mask, 1], rcond=None)
        rows.append([abs(cu), abs(cv), abs(vx - uy), ux + vy])
    return np.mean(rows, axis=0)


def test_motion_only_classes_differ_in_true_flow(renders):
    """A flow-based rule separates the motion-only classes that single frames cannot."""
    def predict(features):
        tx, ty, curl, divergence = features
        if abs(divergence) > 0.02 and abs(divergence) > curl:
            return "ApproachBall" if divergence > 0 else "RecedeBall"
        if curl > 0.05:
            return "SpinBall"
        return "SwingBall" if tx > ty else "BounceBall"

    correct = [predict(_motion_features(c)) == name for name in MOTION_ONLY for c in renders[name]]
    assert np.mean(correct) > 0.9, np.mean(correct)


def test_multiview_pairs_share_group_and_moment(tiny):
    entries = load_entries("csv", manifest=os.path.join(tiny, "multiview", "manifest.csv"))
    assert entries[0].dataset == "manifest"
    pairs = {}
    for entry in entries:
        pairs.setdefault(entry.group, []).append(entry)
    assert len(pairs) == 30 and all(sorted(e.view for e in pair) == [0, 1] for pair in pairs.values())
    assert all(len({e.path for e in pair}) == 2 and len({e.subset for e in pair}) == 1 for pair in pairs.values())
    # View 0 is the UCF-like clip itself; view 1 sees the same moment from elsewhere.
    view0 = np.load(os.path.join(tiny, "groundtruth", "multiview", "v_SpinBall_g01_c01_view0.npz"))
    ucf = np.load(os.path.join(tiny, "groundtruth", "ucf101", "v_SpinBall_g01_c01.npz"))
    view1 = np.load(os.path.join(tiny, "groundtruth", "multiview", "v_SpinBall_g01_c01_view1.npz"))
    assert np.array_equal(view0["flow"], ucf["flow"])
    assert view1["flow"].shape == view0["flow"].shape and not np.array_equal(view1["flow"], view0["flow"])


def test_benchmark_json_pictures_and_class_table(tiny, capsys):
    with open(os.path.join(tiny, "benchmark.json")) as handle:
        info = json.load(handle)
    assert info["profile"] == "tiny" and info["seed"] == SEED
    assert {name: data["videos"] for name, data in info["datasets"].items()} == {
        "ucf101": 30, "hmdb51": 24, "multiview": 60}
    assert set(info["datasets"]["ucf101"]["classes"]) & set(c.ucf_name for c in CLASSES if c.hmdb_name)
    assert all(0 < data["max_abs_flow_px"] < FLOW_BOUND for data in info["datasets"].values())
    sheet = cv2.imread(os.path.join(tiny, "pictures", "contact_sheet.png"))
    assert sheet.shape[0] == 64 * len(CLASSES)
    assert len([f for f in os.listdir(os.path.join(tiny, "pictures")) if f.startswith("flow_")]) == 5
    assert main(["--classes"]) == 0
    benchmark, wherewhen = (t.splitlines() for t in capsys.readouterr().out.strip().split("\n\n"))
    assert len(benchmark) == 2 + len(CLASSES) and all(line.startswith("|") for line in benchmark)
    assert len(wherewhen) == 2 + len(CUE_CLASSES) and all(line.startswith("|") for line in wherewhen)


def _tree(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


def test_encoding_the_same_frames_again_in_one_process_gives_the_same_bytes(tmp_path):
    """x264 kept state from one encode to the next: 8 encodes of one clip gave 2-5 different
    H.264 files in most processes tried (valgrind: x264 reads uninitialised stack memory in its
    MB-tree lookahead). Each codec the benchmark writes, 8 times over."""
    from media.video import write_video

    clips = [("SpinBall", ".mp4"), ("SlideBox", ".mp4"), ("TossApple", ".mp4"), ("SpinBall", ".avi")]
    frames = {name: render_clip(name, seed=SEED, group=1, clip=1, profile="tiny", dataset="hmdb51").frames
              for name, _ in clips}
    digests = {clip: set() for clip in clips}
    for i in range(8):  # interleaved, as a render writes them: what one encode leaves, the next meets
        for name, suffix in clips:
            path = str(tmp_path / f"{name}{i}{suffix}")
            write_video(path, frames[name])
            digests[name, suffix].add(hashlib.sha256(open(path, "rb").read()).hexdigest())
    assert {clip: len(d) for clip, d in digests.items()} == {clip: 1 for clip in clips}


def test_a_container_suffix_without_a_muxer_is_named(tmp_path):
    from media.video import write_video

    frames = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match=r"clip\.webm: no container for suffix '\.webm'"):
        write_video(str(tmp_path / "clip.webm"), frames)
    assert not (tmp_path / "clip.webm").exists()


def test_same_seed_and_profile_give_byte_identical_files_on_one_cpu_or_several(tiny, tmp_path):
    """A second render in another process, pinned to one CPU with one worker: every video
    (MPEG-4 and H.264), index file, ground truth and picture has the same bytes."""
    import subprocess
    import sys

    one_cpu = {min(os.sched_getaffinity(0))}
    again = tmp_path / "again"
    result = subprocess.run(
        [sys.executable, "-m", "beam_pipelines.synth", "--out", str(again), "--seed", str(SEED),
         "--profile", "tiny", "--multiview", "--processes", "1"],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), capture_output=True, text=True,
        timeout=300, preexec_fn=lambda: os.sched_setaffinity(0, one_cpu))
    assert result.returncode == 0, result.stderr[-2000:]
    files = _tree(tiny)
    assert files == _tree(again)
    videos = [f for f in files if f.endswith((".avi", ".mp4"))]
    assert {os.path.splitext(f)[1] for f in videos} == {".avi", ".mp4"} and len(videos) > 20
    for name in files:
        first, second = (open(os.path.join(root, name), "rb").read() for root in (tiny, again))
        if name == "benchmark.json":  # holds the render time and where each dataset went
            first, second = (json.loads(b) for b in (first, second))
            for info in (first, second):
                info["timing"] = None
                for dataset in info["datasets"].values():
                    dataset["root"] = None
        assert first == second, name


def _moving_steps(clip):
    """Per flow step: (object pixels moving relative to the camera, mean |relative u|, mean |relative v|)."""
    rows = []
    for flow in clip.flow:
        relative = flow.reshape(-1, 2) - np.median(flow.reshape(-1, 2), axis=0)
        # Objects ride with the camera: a still one has no flow on screen while the background pans.
        moving = (np.linalg.norm(relative, axis=1) > 0.3) & (np.linalg.norm(flow.reshape(-1, 2), axis=1) > 0.3)
        rows.append((moving.sum(), *np.abs(relative[moving]).mean(0)) if moving.sum() else (0, 0.0, 0.0))
    return np.array(rows)


def test_where_clips_move_the_named_texture_and_hold_the_other_still():
    from beam_pipelines.synth.classes import KITS

    for name, mover, still in (("AppleBounces", "apple", "lemon"), ("LemonSpins", "lemon", "apple")):
        clip = render_clip(name, SEED, profile="wherewhen_tiny", dataset="wherewhen", photometric=False, length=12)
        # Objects ride with the camera: the still one has no flow on screen, the background pans.
        relative = clip.flow[0] - np.median(clip.flow[0].reshape(-1, 2), axis=0)
        moving = (np.linalg.norm(relative, axis=-1) > 0.3) & (np.linalg.norm(clip.flow[0], axis=-1) > 0.3)
        colours = clip.frames[0][moving].astype(float).mean(0)
        near = {kit: np.abs(colours - np.mean(KITS[kit].colors, axis=0)).sum() for kit in (mover, still)}
        assert near[mover] < near[still], (name, colours)


def test_when_clips_do_one_motion_pause_then_the_other():
    for name, first in (("SwingThenBounce", "u"), ("BounceThenSwing", "v")):
        steps = _moving_steps(render_clip(name, SEED, profile="wherewhen_tiny", dataset="wherewhen",
                                          photometric=False))
        # A swing slows to a stop at each turn: bridge gaps of up to 4 steps (pauses shrink by 4).
        moving = np.convolve(steps[:, 0] > 10, np.ones(5), "same") > 0
        runs = np.split(np.arange(len(moving)), np.flatnonzero(np.diff(moving.astype(int))) + 1)
        segments = [r for r in runs if moving[r[0]]]
        pauses = [len(r) for r in runs if not moving[r[0]]]
        assert len(segments) == 2 and len(pauses) == 3 and min(pauses) >= 6, (name, pauses)
        u, v = steps[segments[0], 1].mean(), steps[segments[0], 2].mean()
        assert (u > v) == (first == "u"), (name, u, v)


def test_the_demo_profile_is_the_ucf_like_set_in_27_scenes_a_class():
    from beam_pipelines.synth.render import PROFILES

    jobs = layout.plan(PROFILES["demo"])
    assert {job.dataset for job in jobs} == {"ucf101"} and len(jobs) == 10 * 27
    for split in layout.SPLITS:   # 18 training scenes and 9 test scenes a class, whatever the split
        assert sum(job.fold == split for job in jobs) == 90
    clip = render_clip("SwingBall", seed=3, group=26, profile="demo")
    assert clip.frames.shape[1:3] == (112, 144) and 16 <= len(clip.frames) <= 24


def test_wherewhen_profiles_and_cue_table():
    from beam_pipelines.synth.classes import cue_table
    from beam_pipelines.synth.render import PROFILES

    jobs = layout.plan(PROFILES["wherewhen"])
    assert {job.dataset for job in jobs} == {"wherewhen"} and len(jobs) == 8 * 750
    per_class_test = [sum(j.fold == 1 and j.name == cls.ucf_name for j in jobs) for cls in CUE_CLASSES]
    assert per_class_test == [250] * 8  # 500 test videos per compared pair in each split
    assert {job.dataset for job in layout.plan(PROFILES["tiny"])} == {"ucf101", "hmdb51"}
    table = cue_table("wherewhen")["classes"]
    assert table["AppleBounces"]["variants"][0]["objects"] == [{"kit": "apple", "motions": ["bounce"]},
                                                               {"kit": "lemon", "motions": []}]
    assert table["BounceThenSwing"]["variants"][0]["objects"] == [{"kit": "ball", "motions": ["bounce", "swing"]}]
    assert table["BounceThenSwing"]["gap"] == [10, 14] and table["AppleBounces"]["gap"] is None
    assert cue_table("ucf101")["classes"]["TossApple"]["cue_group"] == "appearance only"


def test_the_rendered_cue_table_reaches_dataset_info(tiny):
    import argparse

    from beam_pipelines.ingest import read_cue_table
    from beam_pipelines.ingest_transforms import IngestConfig, dataset_info
    from beam_pipelines.synth.classes import cue_table

    table = read_cue_table(argparse.Namespace(root=os.path.join(tiny, "ucf101"), manifest=None))
    assert table == cue_table("ucf101")
    assert read_cue_table(argparse.Namespace(root=None, manifest=os.path.join(tiny, "multiview", "manifest.csv"))) \
        == cue_table("multiview")
    info = dataset_info(IngestConfig(), "ucf101", "ucf101", 1, list(table["classes"]), table)
    assert info["cue_table"] == table and "cue_table" not in dataset_info(IngestConfig(), "x", "csv", 1, ["a"])
