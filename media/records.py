"""The record schema: one tf.train.SequenceExample per video.

Written by the ingest job, read by the training input pipeline, the serving
signature on serialized records and the visualiser. Flow is stored quantised
(see media.quantize); the context keeps the bound and algorithm so readers can
reconstruct displacements.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from media.quantize import DEFAULT_JPEG_QUALITY, decode_jpeg, dequantize_flow, encode_jpeg, quantize_flow

SCHEMA_VERSION = 1

# Context keys and their types; a reader fails loudly on a record that lacks one.
CONTEXT_BYTES = ("id", "path", "dataset", "label_name", "group", "flow_algorithm")
CONTEXT_INT = ("label", "view", "height", "width", "num_frames", "schema_version")
CONTEXT_FLOAT = ("fps", "flow_bound")
SEQUENCE_KEYS = ("rgb", "flow_x", "flow_y", "flow_back_x", "flow_back_y")


@dataclass
class VideoRecord:
    """Decoded content of one record; flows are float32 displacements [T-1,H,W,2]."""

    id: str
    path: str
    dataset: str
    label: int
    label_name: str
    group: str
    view: int
    fps: float
    frames: np.ndarray
    flow: np.ndarray
    flow_bound: float
    flow_algorithm: str
    backward_flow: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


def _bytes(values):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def _int(value):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def _float(value):
    return tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))


def _flow_lists(flow: np.ndarray, bound: float, quality: int):
    q = quantize_flow(flow, bound)
    xs = [encode_jpeg(np.ascontiguousarray(f[..., 0]), quality) for f in q]
    ys = [encode_jpeg(np.ascontiguousarray(f[..., 1]), quality) for f in q]
    return xs, ys


def encode_record(*, id: str, path: str, dataset: str, label: int, label_name: str,
                  group: str, view: int, fps: float, frames: np.ndarray, flow: np.ndarray,
                  flow_bound: float, flow_algorithm: str,
                  backward_flow: np.ndarray | None = None,
                  jpeg_quality: int = DEFAULT_JPEG_QUALITY) -> bytes:
    """Serialize one video (RGB frames [T,H,W,3] and flow [T-1,H,W,2])."""
    num_frames, height, width = frames.shape[:3]
    if flow.shape[0] != num_frames - 1 or flow.shape[1:3] != (height, width):
        raise ValueError(f"{path}: flow shape {flow.shape} does not match frames {frames.shape}")
    context = {
        "id": _bytes([id.encode()]),
        "path": _bytes([path.encode()]),
        "dataset": _bytes([dataset.encode()]),
        "label_name": _bytes([label_name.encode()]),
        "group": _bytes([group.encode()]),
        "flow_algorithm": _bytes([flow_algorithm.encode()]),
        "label": _int(label),
        "view": _int(view),
        "height": _int(height),
        "width": _int(width),
        "num_frames": _int(num_frames),
        "schema_version": _int(SCHEMA_VERSION),
        "fps": _float(fps),
        "flow_bound": _float(flow_bound),
    }
    fx, fy = _flow_lists(flow, flow_bound, jpeg_quality)
    if backward_flow is not None:
        bx, by = _flow_lists(backward_flow, flow_bound, jpeg_quality)
    else:
        bx, by = [], []
    lists = {
        "rgb": [encode_jpeg(f, jpeg_quality) for f in frames],
        "flow_x": fx, "flow_y": fy, "flow_back_x": bx, "flow_back_y": by,
    }
    example = tf.train.SequenceExample(
        context=tf.train.Features(feature=context),
        feature_lists=tf.train.FeatureLists(feature_list={
            key: tf.train.FeatureList(feature=[_bytes([v]) for v in values])
            for key, values in lists.items()
        }),
    )
    # Deterministic: map fields (the context and feature lists) in key order, so the
    # same video gives the same bytes in every process and rerun.
    return example.SerializeToString(deterministic=True)


def _decode_flow(xs, ys, bound):
    if not xs:
        return None
    x = np.stack([decode_jpeg(b, gray=True) for b in xs])
    y = np.stack([decode_jpeg(b, gray=True) for b in ys])
    return dequantize_flow(np.stack([x, y], axis=-1), bound)


def decode_record(serialized: bytes) -> VideoRecord:
    """Parse a serialized record back into frames and displacements (NumPy)."""
    example = tf.train.SequenceExample.FromString(serialized)
    ctx = example.context.feature
    missing = [k for k in CONTEXT_BYTES + CONTEXT_INT + CONTEXT_FLOAT if k not in ctx]
    if missing:
        raise ValueError(f"record lacks context fields {missing}")
    version = ctx["schema_version"].int64_list.value[0]
    if version != SCHEMA_VERSION:
        raise ValueError(f"record schema_version {version}, this reader knows {SCHEMA_VERSION}")
    lists = {k: [f.bytes_list.value[0] for f in example.feature_lists.feature_list[k].feature]
             for k in SEQUENCE_KEYS}
    text = {k: ctx[k].bytes_list.value[0].decode() for k in CONTEXT_BYTES}
    bound = ctx["flow_bound"].float_list.value[0]
    return VideoRecord(
        id=text["id"], path=text["path"], dataset=text["dataset"],
        label=int(ctx["label"].int64_list.value[0]), label_name=text["label_name"],
        group=text["group"], view=int(ctx["view"].int64_list.value[0]),
        fps=float(ctx["fps"].float_list.value[0]),
        frames=np.stack([decode_jpeg(b) for b in lists["rgb"]]),
        flow=_decode_flow(lists["flow_x"], lists["flow_y"], bound),
        backward_flow=_decode_flow(lists["flow_back_x"], lists["flow_back_y"], bound),
        flow_bound=float(bound), flow_algorithm=text["flow_algorithm"],
    )


# tf.data side ---------------------------------------------------------------

CONTEXT_SPEC = {
    **{k: tf.io.FixedLenFeature([], tf.string) for k in CONTEXT_BYTES},
    **{k: tf.io.FixedLenFeature([], tf.int64) for k in CONTEXT_INT},
    **{k: tf.io.FixedLenFeature([], tf.float32) for k in CONTEXT_FLOAT},
}
SEQUENCE_SPEC = {k: tf.io.FixedLenSequenceFeature([], tf.string) for k in SEQUENCE_KEYS}


def parse_record_tf(serialized: tf.Tensor) -> dict:
    """Graph-mode parse: context scalars plus JPEG byte strings per frame.

    JPEGs stay encoded so the input pipeline decodes only the frames it samples.
    """
    context, sequence = tf.io.parse_single_sequence_example(
        serialized, context_features=CONTEXT_SPEC, sequence_features=SEQUENCE_SPEC)
    return {**context, **sequence}


# TF's default fast IDCT differs from OpenCV's decode (decode_record, the serving
# client) by a few levels; INTEGER_ACCURATE makes them bit-identical.
JPEG_DCT_METHOD = "INTEGER_ACCURATE"


def decode_rgb_tf(jpeg: tf.Tensor) -> tf.Tensor:
    """One RGB JPEG string -> float32 [H,W,3] pixels, exactly as OpenCV decodes it."""
    return tf.cast(tf.io.decode_jpeg(jpeg, channels=3, dct_method=JPEG_DCT_METHOD), tf.float32)


def decode_flow_tf(jpeg_x: tf.Tensor, jpeg_y: tf.Tensor, bound: tf.Tensor) -> tf.Tensor:
    """[N] JPEG strings for x and y -> float32 displacements [N,H,W,2]."""
    decode = lambda b: tf.io.decode_jpeg(b, channels=1, dct_method=JPEG_DCT_METHOD)[..., 0]  # noqa: E731
    x = tf.map_fn(decode, jpeg_x, fn_output_signature=tf.uint8)
    y = tf.map_fn(decode, jpeg_y, fn_output_signature=tf.uint8)
    q = tf.cast(tf.stack([x, y], axis=-1), tf.float32)
    return q * (2.0 * bound / 255.0) - bound
