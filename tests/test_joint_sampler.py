"""The joint sampler: one time, crop and flip for both streams and all T snippets.

Records are built so every pixel says where and when it came from: the RGB
frame t has green = 8*t and red = 8*column; flow field j has y = j/2 pixels
everywhere and x = column/4 - 4 pixels. A sample's crop then reveals its start
time and its box in either stream, independently, so drift between the
streams (or between snippets) shows up as disagreeing reads.
"""
import os

import numpy as np
import tensorflow as tf

from media.records import encode_record
from media.shards import shard_name, write_dataset_info
from tfx_models.data.pipeline import train_dataset

FRAMES, HEIGHT, WIDTH, CROP, LENGTH = 30, 24, 32, 16, 2


def write_coded_records(path, videos=4):
    os.makedirs(path, exist_ok=True)
    columns = np.arange(WIDTH, dtype=np.float32)
    frames = np.zeros((FRAMES, HEIGHT, WIDTH, 3), np.uint8)
    frames[..., 0] = (8 * columns).astype(np.uint8)
    frames[..., 1] = (8 * np.arange(FRAMES))[:, None, None]
    flow = np.zeros((FRAMES - 1, HEIGHT, WIDTH, 2), np.float32)
    flow[..., 0] = flow_x_code(columns)
    flow[..., 1] = (np.arange(FRAMES - 1) / 2)[:, None, None]
    with tf.io.TFRecordWriter(os.path.join(path, shard_name("train", 0, 1))) as writer:
        for i in range(videos):
            writer.write(encode_record(id=f"toy/v{i}", path=f"v{i}", dataset="toy", label=i % 2, label_name="c",
                                       group=f"g{i}", view=0, fps=25.0, frames=frames, flow=flow,
                                       flow_bound=20.0, flow_algorithm="dis_fast", jpeg_quality=100))
    write_dataset_info(path, {"dataset": "toy", "classes": ["a", "b"], "counts": {"train": videos, "test": 0},
                              "flow": {"algorithm": "dis_fast", "bound": 20.0, "bidirectional": False,
                                       "jpeg_quality": 100}, "size": HEIGHT})
    return path


def flow_x_code(columns):
    """Flow x by column: convex, so a mirrored (and negated) crop reads concave and cannot pass
    for an unmirrored one."""
    return columns.astype(np.float32) ** 2 / 64 - 4


def best_box(row, expected):
    """(left, mirrored) whose expected(left, mirrored) crop row fits `row` best."""
    candidates = [(left, mirrored) for left in range(WIDTH - CROP + 1) for mirrored in (False, True)]
    return min(candidates, key=lambda c: float(np.sum((expected(*c) - row) ** 2)))


def read_rgb(rgb):
    """(start frame, left column, mirrored) from a crop [c,c,3]."""
    def expected(left, mirrored):
        red = 8.0 * np.arange(left, left + CROP)
        return red[::-1] if mirrored else red

    return (int(round(rgb[..., 1].mean() / 8)), *best_box(rgb[..., 0].mean(axis=0), expected))


def read_flow(flow):
    """(start field, left column, mirrored) from a volume crop [c,c,2L] (no mean subtraction)."""
    def expected(left, mirrored):
        x = flow_x_code(np.arange(left, left + CROP))
        return -x[::-1] if mirrored else x  # a flip mirrors the field and negates x

    return (int(round(flow[..., 1].mean() * 2)), *best_box(flow[..., 0].mean(axis=0), expected))


def test_both_streams_and_all_snippets_share_time_crop_and_flip(tmp_path):
    records = write_coded_records(str(tmp_path / "coded"))
    dataset = train_dataset([(records, 0)], ("spatial", "temporal"), batch_size=8, crop_size=CROP, length=LENGTH,
                            mean_subtraction=False, color_jitter=False, snippets=3, snippet_stride=(2, 6), seed=1)
    seen_flips, seen_lefts, seen_strides = set(), set(), set()
    for features, _ in dataset.take(6):
        rgb, flow = features["rgb"].numpy(), features["flow"].numpy()
        assert rgb.shape == (8, 3, CROP, CROP, 3) and flow.shape == (8, 3, CROP, CROP, 2 * LENGTH)
        for n in range(8):
            reads = [(read_rgb(rgb[n, i]), read_flow(flow[n, i])) for i in range(3)]
            for (t_rgb, left_rgb, flip_rgb), (t_flow, left_flow, flip_flow) in reads:
                assert (t_rgb, left_rgb, flip_rgb) == (t_flow, left_flow, flip_flow)
            starts = [r[0][0] for r in reads]
            assert len({r[0][1:] for r in reads}) == 1  # one crop and flip for all snippets
            stride = starts[1] - starts[0]
            assert starts[2] - starts[1] == stride and 2 <= stride <= 6
            seen_flips.add(reads[0][0][2])
            seen_lefts.add(reads[0][0][1])
            seen_strides.add(stride)
    assert seen_flips == {False, True} and len(seen_lefts) > 3 and len(seen_strides) > 2


def test_one_snippet_gives_rank_four_batches(tmp_path):
    records = write_coded_records(str(tmp_path / "coded"))
    dataset = train_dataset([(records, 0)], ("spatial", "temporal"), batch_size=4, crop_size=CROP, length=LENGTH,
                            mean_subtraction=False, color_jitter=False, seed=2)
    features, _ = next(iter(dataset))
    assert features["rgb"].shape == (4, CROP, CROP, 3) and features["flow"].shape == (4, CROP, CROP, 2 * LENGTH)
    for n in range(4):
        assert read_rgb(features["rgb"][n].numpy()) == read_flow(features["flow"][n].numpy())
