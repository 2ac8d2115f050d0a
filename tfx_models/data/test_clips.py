"""Test-time sampling from record dirs: every video's 25 x 10 inputs (Simonyan & Zisserman 2014, Sect. 5).

Built by media.stacking.evaluation_batch, the same function the serving client
uses on a video file (tfx_models.data.video_file); each model kind names this
sampler as its `test_sampler`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import tensorflow as tf

from media import stacking as np_stacking
from media.quantize import decode_jpeg, dequantize_flow
from media.records import check_schema_version
from media.shards import iter_records
from tfx_models.data.folds import fold_of
from tfx_models.data.pipeline import check_source, check_stream_options


@dataclass
class VideoInputs:
    id: str
    label: int
    task_dataset: str  # dataset name of the record: picks a multi-task model's head
    group: str
    features: dict     # {"rgb": [N,c,c,3], "flow": [N,c,c,2L]} for the requested streams


class LazyFrames:
    """A record's JPEG list as a sequence of decoded arrays, decoded on first access."""

    def __init__(self, jpegs: list[bytes], decode):
        self._jpegs = jpegs
        self._decode = functools.lru_cache(maxsize=None)(decode)

    def __len__(self) -> int:
        return len(self._jpegs)

    def __getitem__(self, index: int) -> np.ndarray:
        return self._decode(int(index))


def lazy_video(serialized: bytes, source: str):
    """(context dict, frames, flow, backward flow) of one record, decoding nothing yet."""
    example = tf.train.SequenceExample.FromString(serialized)
    ctx = example.context.feature
    for key in ("id", "label", "dataset", "group", "flow_bound", "schema_version"):
        if key not in ctx:
            raise ValueError(f"{source}: record lacks context field {key!r}")
    record_id = ctx["id"].bytes_list.value[0].decode()
    check_schema_version(ctx["schema_version"].int64_list.value[0], f"{source}: record {record_id}")
    lists = {key: [f.bytes_list.value[0] for f in feature_list.feature]
             for key, feature_list in example.feature_lists.feature_list.items()}
    bound = ctx["flow_bound"].float_list.value[0]

    def flow_sequence(x_key, y_key):
        xs, ys = lists.get(x_key, []), lists.get(y_key, [])
        if not xs:
            return None

        def field(i):
            planes = np.stack([decode_jpeg(xs[i], gray=True), decode_jpeg(ys[i], gray=True)], -1)
            return dequantize_flow(planes, bound)

        return LazyFrames(xs, field)

    rgb = lists.get("rgb", [])
    frames = LazyFrames(rgb, lambda i: decode_jpeg(rgb[i]))
    context = {"id": record_id, "label": int(ctx["label"].int64_list.value[0]),
               "dataset": ctx["dataset"].bytes_list.value[0].decode(),
               "group": ctx["group"].bytes_list.value[0].decode()}
    return context, frames, flow_sequence("flow_x", "flow_y"), flow_sequence("flow_back_x", "flow_back_y")


def record_test_inputs(record_dir: str, subset: str, streams: tuple[str, ...], *,
                      num_frames: int = 25, crops: int = 10, crop_size: int = 224,
                      length: int = 10, stacking: str = "optical_flow",
                      bidirectional: bool = False, mean_subtraction: bool = True,
                      joint: bool = False, snippets: int = 1, snippet_stride: int = 10,
                      fold: tuple[int, int] | None = None) -> Iterator[VideoInputs]:
    """Each video's test inputs (num_frames equally spaced x crops), in shard order.

    joint: the streams feed one model, so their images start at the same frames
    and share crops (media.stacking.joint_test_batch, T snippets per input).
    fold=(folds, k): only the videos whose group is in fold k (tfx_models.data.folds).
    """
    for stream in streams:
        check_stream_options(stream, length, stacking, bidirectional)
    if "temporal" in streams:
        check_source(record_dir, "temporal", bidirectional)
    buffers = np_stacking.Buffers()  # this generator runs on one thread: the evaluator's input builder
    for serialized in iter_records(record_dir, subset):
        context, frames, flow, backward = lazy_video(serialized, record_dir)
        if fold is not None and int(fold_of(context["group"], fold[0])) != fold[1]:
            continue
        options = dict(streams=streams, num_frames=num_frames, crops=crops, crop_size=crop_size, length=length,
                       stacking=stacking, bidirectional=bidirectional, mean_subtraction=mean_subtraction)
        try:
            features = np_stacking.evaluation_batch(frames, flow, backward, joint=joint, snippets=snippets,
                                                    snippet_stride=snippet_stride, buffers=buffers, **options)
        except ValueError as error:
            raise ValueError(f"{record_dir}: record {context['id']}: {error}") from None
        yield VideoInputs(id=context["id"], label=context["label"], task_dataset=context["dataset"],
                          group=context["group"], features=features)
