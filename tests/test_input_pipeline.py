"""tf.data training input (balance, tasks, stacking == NumPy, flips) and the test-input iterator."""
import os

import numpy as np
import pytest
import tensorflow as tf

from media import stacking
from media.records import decode_record, encode_record
from media.shards import iter_records, shard_name, write_dataset_info
from tfx_models.data.pipeline import train_dataset
from tfx_models.data.test_clips import record_test_inputs


def write_record_dir(path, counts, *, dataset="toy", frames=6, height=20, width=24, backward=True,
                     shards=2, brightness=None, seed=0, labels=None, disjoint=False, class_names=None,
                     cue_table=None):
    """Records of len(counts) classes: class c has counts[c] videos, frames whose channel c
    is bright and flow of about (2*(c-1), c-1) pixels. The train and test subsets hold the
    same records, or (disjoint=True) different videos with their own ids and pixels."""
    rng = np.random.default_rng(seed)
    path = str(path)
    os.makedirs(path, exist_ok=True)
    names = list(class_names or [f"class{c}" for c in range(len(counts))])

    def make_records(prefix):
        records = []
        for c, n in enumerate(counts):
            for i in range(n):
                video = rng.integers(30, 70, (frames, height, width, 3)).astype(np.uint8)
                video[..., c % 3] += 150
                if brightness is not None:
                    video[:] = brightness
                flow = rng.normal(0, 1.5, (frames - 1, height, width, 2)).astype(np.float32)
                flow[..., 0] += 2.0 * (c - 1)
                flow[..., 1] += c - 1.0
                records.append(encode_record(
                    id=f"{dataset}/{prefix}c{c}_v{i}.avi", path=f"/videos/{prefix}c{c}_v{i}.avi", dataset=dataset,
                    label=c if labels is None else labels, label_name=names[c], group=f"{prefix}g{i}", view=0,
                    fps=25.0, frames=video, flow=flow, flow_bound=20.0, flow_algorithm="dis_fast",
                    backward_flow=-flow if backward else None))
        return records

    shared = None if disjoint else make_records("")
    shared_order = None if disjoint else rng.permutation(len(shared))
    for subset in ("train", "test"):
        records = make_records(f"{subset}_") if disjoint else shared
        order = rng.permutation(len(records)) if disjoint else shared_order
        for s in range(shards):
            with tf.io.TFRecordWriter(os.path.join(path, shard_name(subset, s, shards))) as writer:
                for index in order[s::shards]:
                    writer.write(records[index])
    write_dataset_info(path, {
        "dataset": dataset, "classes": names,
        "counts": {"train": sum(counts), "test": sum(counts)},
        "flow": {"algorithm": "dis_fast", "bound": 20.0, "bidirectional": backward, "jpeg_quality": 90},
        "size": height, **({"cue_table": cue_table} if cue_table else {})})
    return path


@pytest.fixture(scope="module")
def imbalanced(tmp_path_factory):
    return write_record_dir(tmp_path_factory.mktemp("imbalanced"), [10, 2, 5])


def take(dataset, batches):
    features, targets = [], []
    for f, t in dataset.take(batches):
        features.append({k: v.numpy() for k, v in f.items()})
        targets.append({k: v.numpy() for k, v in t.items()})
    return ({k: np.concatenate([f[k] for f in features]) for k in features[0]},
            {k: np.concatenate([t[k] for t in targets]) for k in targets[0]})


@pytest.mark.parametrize("cache_decoded", [False, True])
def test_batches_are_class_balanced_despite_imbalanced_records(imbalanced, cache_decoded):
    dataset = train_dataset([(imbalanced, 0)], "spatial", batch_size=32, crop_size=16, seed=3,
                            cache_decoded=cache_decoded)
    features, targets = take(dataset, 30)
    assert features["rgb"].shape == (960, 16, 16, 3) and features["rgb"].dtype == np.float32
    assert targets["label"].dtype == np.int32 and set(targets["task"]) == {0}
    fractions = np.bincount(targets["label"], minlength=3) / 960
    # Records are 59% / 12% / 29%; balanced sampling gives a third each (sd ~1.5%).
    np.testing.assert_allclose(fractions, 1 / 3, atol=0.06)


def test_multitask_sources_carry_their_task_index(tmp_path, imbalanced):
    dark = write_record_dir(tmp_path / "dark", [3, 3], dataset="other", brightness=0)
    dataset = train_dataset([(imbalanced, 0), (dark, 1)], "spatial", batch_size=32, crop_size=16,
                            color_jitter=False, seed=5)
    features, targets = take(dataset, 10)
    task = targets["task"]
    assert 0.35 < task.mean() < 0.65
    brightness = features["rgb"].mean(axis=(1, 2, 3))
    assert np.all(brightness[task == 1] == 0) and np.all(brightness[task == 0] > 30)
    assert set(targets["label"][task == 1]) == {0, 1}
    assert set(targets["label"][task == 0]) == {0, 1, 2}


@pytest.mark.parametrize("method,bidirectional,frames,cache_decoded", [
    ("optical_flow", False, 5, False), ("trajectory", False, 5, False), ("optical_flow", True, 5, False),
    ("trajectory", True, 5, False), ("optical_flow", False, 3, False), ("trajectory", True, 2, False),
    ("optical_flow", True, 5, True), ("trajectory", False, 5, True)])
def test_tf_temporal_samples_equal_the_numpy_stacking(tmp_path, method, bidirectional, frames, cache_decoded):
    # One video, L >= T-1 and crop = frame: the sample is deterministic (no start, crop or flip
    # choice); with fewer than L+1 frames both sides repeat the edge fields.
    record_dir = write_record_dir(tmp_path, [1], frames=frames, height=20, width=20, shards=1)
    dataset = train_dataset([(record_dir, 0)], "temporal", batch_size=1, crop_size=20, length=4,
                            stacking=method, bidirectional=bidirectional, flip=False, seed=0,
                            cache_decoded=cache_decoded)
    features, _ = take(dataset, 1)
    record = decode_record(next(iter_records(record_dir, "train")))
    expected = stacking.video_test_batch(record.frames, record.flow, record.backward_flow,
                                         streams=("temporal",), num_frames=1, crops=1, crop_size=20,
                                         length=4, stacking=method, bidirectional=bidirectional)
    assert features["flow"].shape == (1, 20, 20, 8)
    np.testing.assert_allclose(features["flow"][0], expected["flow"][0], atol=1e-3)


@pytest.mark.parametrize("streams,snippets", [("spatial", 1), ("temporal", 1), (("spatial", "temporal"), 2)])
def test_predecoded_frames_give_the_samples_jpegs_give(tmp_path, streams, snippets):
    # One video, so both pipelines draw the same (seed, record) pairs: random times, crops,
    # flips and colour jitter must come out the same from cached uint8 frames as from JPEGs.
    record_dir = write_record_dir(tmp_path, [1], frames=8, height=20, width=24, shards=1)

    def batches(cache_decoded):
        dataset = train_dataset([(record_dir, 0)], streams, batch_size=4, crop_size=16, length=3,
                                snippets=snippets, snippet_stride=(1, 2), seed=11,
                                cache_decoded=cache_decoded)
        return take(dataset, 3)[0]

    jpegs, cached = batches(False), batches(True)
    assert set(jpegs) == set(cached)
    for key in jpegs:
        assert len(np.unique(jpegs[key].reshape(12, -1), axis=0)) > 1  # samples differ
        np.testing.assert_array_equal(cached[key], jpegs[key])


def test_seeded_pipelines_repeat_and_different_seeds_differ(imbalanced):
    def first_batch(seed):
        dataset = train_dataset([(imbalanced, 0)], "temporal", batch_size=8, crop_size=16,
                                length=2, seed=seed)
        return take(dataset, 1)

    (a, a_targets), (b, b_targets), (c, _) = first_batch(3), first_batch(3), first_batch(4)
    np.testing.assert_array_equal(a["flow"], b["flow"])
    np.testing.assert_array_equal(a_targets["label"], b_targets["label"])
    assert not np.array_equal(a["flow"], c["flow"])


def test_small_frames_are_resized_up_and_flips_negate_x(tmp_path):
    record_dir = write_record_dir(tmp_path, [1], frames=5, height=12, width=16, shards=1)
    dataset = train_dataset([(record_dir, 0)], "temporal", batch_size=16, crop_size=24, length=4,
                            mean_subtraction=False, seed=1)
    flows = take(dataset, 2)[0]["flow"]
    assert flows.shape == (32, 24, 24, 8)
    # Class 0 moves by (-2, -1) px at 12x16; the 2x upscale (to 24x32) doubles it; a flip negates x.
    mean_x = flows[..., 0::2].mean(axis=(1, 2, 3))
    mean_y = flows[..., 1::2].mean(axis=(1, 2, 3))
    assert np.any(np.abs(mean_x + 4.0) < 0.3) and np.any(np.abs(mean_x - 4.0) < 0.3)
    assert np.all(np.abs(np.abs(mean_x) - 4.0) < 0.3) and np.all(np.abs(mean_y + 2.0) < 0.3)


def test_input_context_gives_per_replica_batches(imbalanced):
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1,
                                         num_replicas_in_sync=2)
    dataset = train_dataset([(imbalanced, 0)], "temporal", batch_size=8, crop_size=16, length=2,
                            input_context=context, seed=0)
    features, targets = take(dataset, 1)
    assert features["flow"].shape == (4, 16, 16, 4) and targets["label"].shape == (4,)


def test_bad_inputs_name_the_problem(tmp_path, imbalanced):
    no_backward = write_record_dir(tmp_path / "fwd", [1, 1], backward=False)
    with pytest.raises(ValueError, match="dataset_info.json: flow.bidirectional is false"):
        train_dataset([(no_backward, 0)], "temporal", batch_size=2, bidirectional=True)
    with pytest.raises(FileNotFoundError, match="dataset_info.json"):
        train_dataset([(str(tmp_path / "missing"), 0)], "spatial", batch_size=2)
    with pytest.raises(ValueError, match="stacking must be one of"):
        train_dataset([(imbalanced, 0)], "temporal", batch_size=2, stacking="warped")
    bad_label = write_record_dir(tmp_path / "bad", [1], labels=7)
    dataset = train_dataset([(bad_label, 0)], "spatial", batch_size=1, crop_size=8)
    with pytest.raises(tf.errors.InvalidArgumentError, match="toy/c0_v0.avi"):
        take(dataset, 1)


def test_video_test_inputs_match_video_test_batch(imbalanced):
    videos = list(record_test_inputs(imbalanced, "test", ("spatial", "temporal"), num_frames=5,
                                    crops=10, crop_size=16, length=4, bidirectional=True))
    assert len(videos) == 17
    assert sorted(v.id for v in videos)[0] == "toy/c0_v0.avi"
    first = videos[0]
    record = decode_record(next(iter_records(imbalanced, "test")))
    assert (first.id, first.label, first.task_dataset) == (record.id, record.label, "toy")
    expected = stacking.video_test_batch(record.frames, record.flow, record.backward_flow,
                                         num_frames=5, crops=10, crop_size=16, length=4,
                                         bidirectional=True)
    assert first.features["rgb"].shape == (50, 16, 16, 3)
    assert first.features["flow"].shape == (50, 16, 16, 8)
    for key in ("rgb", "flow"):
        np.testing.assert_array_equal(first.features[key], expected[key])
