"""The record schema: one tf.train.SequenceExample per video.

Written by the ingest job, read by the training input pipeline, the serving
signature on serialized records and the visualiser. Flow is stored quantised
(see media.quantize); the context keeps the bound and algorithm so readers can
reconstruct displacements.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import tensorflow as tf

from media.quantize import DEFAULT_JPEG_QUALITY, decode_jpeg, dequantize_flow, encode_jpeg, quantize_flow

# Version 2 added `partial` and `partial_reason` (a video that decoded only in part);
# readers take version 1 records as whole videos.
SCHEMA_VERSION = 2
READABLE_SCHEMA_VERSIONS = (1, 2)

# Context keys and their types; a reader fails loudly on a record that lacks one.
CONTEXT_BYTES = ("id", "path", "dataset", "label_name", "group", "flow_algorithm")
CONTEXT_INT = ("label", "view", "height", "width", "num_frames", "schema_version")
CONTEXT_FLOAT = ("fps", "flow_bound")
# Optional context keys (added after version 1) and the value a record without them means.
CONTEXT_OPTIONAL = {"partial": 0, "partial_reason": ""}
SEQUENCE_KEYS = ("rgb", "flow_x", "flow_y", "flow_back_x", "flow_back_y")


def check_schema_version(version: int, source: str = "record") -> None:
    if version not in READABLE_SCHEMA_VERSIONS:
        raise ValueError(f"{source}: schema_version {version}, this reader knows {READABLE_SCHEMA_VERSIONS}")


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
    partial_reason: str = ""  # non-empty: the video decoded only in part, and why
    extra: dict = field(default_factory=dict)


def _bytes(values):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def _int(value):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def _float(value):
    return tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(field: int, length: int) -> bytes:
    """Protobuf tag and length of a length-delimited field (wire type 2); the payload follows."""
    return _varint(field << 3 | 2) + _varint(length)


def _bytes_feature_header(length: int) -> bytes:
    """FeatureList.feature entry holding Feature{bytes_list: BytesList{value: [<length bytes>]}}."""
    bytes_list = len(_length_delimited(1, length)) + length
    feature = len(_length_delimited(1, bytes_list)) + bytes_list
    return _length_delimited(1, feature) + _length_delimited(1, bytes_list) + _length_delimited(1, length)


class RecordBuilder:
    """One record built frame by frame: each frame and flow field is JPEG-encoded as it
    arrives, so memory holds the encoded record, never the decoded video.

    The feature lists are kept as their serialized protobuf wire bytes (one growing buffer
    per list) and joined once at the end, so building a record peaks at about twice its
    size; a tf.train.SequenceExample built field by field and then serialized took about
    five times. The bytes are what SerializeToString(deterministic=True) writes for the
    same message (a test checks), so any protobuf reader parses them.
    """

    def __init__(self, flow_bound: float, jpeg_quality: int = DEFAULT_JPEG_QUALITY):
        self.flow_bound, self.jpeg_quality = flow_bound, jpeg_quality
        self._lists = {key: bytearray() for key in SEQUENCE_KEYS}
        self.shape: tuple[int, int] | None = None
        self.num_frames = self.num_flows = self.num_backward = 0

    def _append(self, key: str, image: np.ndarray) -> None:
        jpeg = encode_jpeg(image, self.jpeg_quality)
        self._lists[key] += _bytes_feature_header(len(jpeg))
        self._lists[key] += jpeg

    def add_frame(self, rgb: np.ndarray) -> None:
        if self.shape is None:
            self.shape = rgb.shape[:2]
        elif rgb.shape[:2] != self.shape:
            raise ValueError(f"frame {self.num_frames} is {rgb.shape[:2]}, earlier frames {self.shape}")
        self._append("rgb", rgb)
        self.num_frames += 1

    def _add_field(self, keys: tuple[str, str], flow: np.ndarray) -> None:
        if flow.shape != (*self.shape, 2):
            raise ValueError(f"flow field of shape {flow.shape} does not match frames {self.shape}")
        x, y = cv2.split(quantize_flow(flow, self.flow_bound))
        self._append(keys[0], x)
        self._append(keys[1], y)

    def add_flow(self, forward: np.ndarray, backward: np.ndarray | None = None) -> None:
        """Fields between the last two frames added: t -> t+1 and, if given, t+1 -> t."""
        self._add_field(("flow_x", "flow_y"), forward)
        self.num_flows += 1
        if backward is not None:
            self._add_field(("flow_back_x", "flow_back_y"), backward)
            self.num_backward += 1

    def serialize(self, *, id: str, path: str, dataset: str, label: int, label_name: str, group: str,
                  view: int, fps: float, flow_algorithm: str, partial_reason: str = "") -> bytes:
        if self.num_flows != self.num_frames - 1 or self.num_backward not in (0, self.num_flows):
            raise ValueError(f"{path}: {self.num_frames} frames need {self.num_frames - 1} flow fields, "
                             f"got {self.num_flows} forward and {self.num_backward} backward")
        height, width = self.shape
        context = tf.train.Features(feature={
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
            "num_frames": _int(self.num_frames),
            "schema_version": _int(SCHEMA_VERSION),
            "fps": _float(fps),
            "flow_bound": _float(self.flow_bound),
            "partial": _int(1 if partial_reason else 0),
            "partial_reason": _bytes([partial_reason.encode()]),
        }).SerializeToString(deterministic=True)
        # SequenceExample{context: 1, feature_lists: 2}; FeatureLists is a map, each entry
        # {key: 1, value: 2}, written in key order as deterministic serialization does.
        entries = []
        for key in sorted(self._lists):
            name, values = key.encode(), self._lists[key]
            head = _length_delimited(1, len(name)) + name + _length_delimited(2, len(values))
            entries += [_length_delimited(1, len(head) + len(values)), head, values]
        lists_length = sum(len(piece) for piece in entries)
        return b"".join([_length_delimited(1, len(context)), context,
                         _length_delimited(2, lists_length), *entries])


def encode_record(*, id: str, path: str, dataset: str, label: int, label_name: str,
                  group: str, view: int, fps: float, frames: np.ndarray, flow: np.ndarray,
                  flow_bound: float, flow_algorithm: str,
                  backward_flow: np.ndarray | None = None,
                  jpeg_quality: int = DEFAULT_JPEG_QUALITY, partial_reason: str = "") -> bytes:
    """Serialize one video (RGB frames [T,H,W,3] and flow [T-1,H,W,2]) held in memory."""
    num_frames, height, width = frames.shape[:3]
    if flow.shape[0] != num_frames - 1 or flow.shape[1:3] != (height, width):
        raise ValueError(f"{path}: flow shape {flow.shape} does not match frames {frames.shape}")
    builder = RecordBuilder(flow_bound, jpeg_quality)
    for t, rgb in enumerate(frames):
        builder.add_frame(rgb)
        if t:
            builder.add_flow(flow[t - 1], None if backward_flow is None else backward_flow[t - 1])
    return builder.serialize(id=id, path=path, dataset=dataset, label=label, label_name=label_name,
                             group=group, view=view, fps=fps, flow_algorithm=flow_algorithm,
                             partial_reason=partial_reason)


def _decode_flow(xs, ys, bound):
    if not xs:
        return None
    x = np.stack([decode_jpeg(b, gray=True) for b in xs])
    y = np.stack([decode_jpeg(b, gray=True) for b in ys])
    return dequantize_flow(np.stack([x, y], axis=-1), bound)


def record_context(serialized: bytes) -> dict:
    """A record's id, num_frames and partial_reason, without decoding its images."""
    ctx = tf.train.SequenceExample.FromString(serialized).context.feature
    if "id" not in ctx or "num_frames" not in ctx:
        raise ValueError("record lacks context fields id and num_frames")
    return {"id": ctx["id"].bytes_list.value[0].decode(), "num_frames": int(ctx["num_frames"].int64_list.value[0]),
            "partial_reason": (ctx["partial_reason"].bytes_list.value[0].decode() if "partial_reason" in ctx
                               else CONTEXT_OPTIONAL["partial_reason"])}


def decode_record(serialized: bytes) -> VideoRecord:
    """Parse a serialized record back into frames and displacements (NumPy)."""
    example = tf.train.SequenceExample.FromString(serialized)
    ctx = example.context.feature
    missing = [k for k in CONTEXT_BYTES + CONTEXT_INT + CONTEXT_FLOAT if k not in ctx]
    if missing:
        raise ValueError(f"record lacks context fields {missing}")
    check_schema_version(ctx["schema_version"].int64_list.value[0])
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
        partial_reason=(ctx["partial_reason"].bytes_list.value[0].decode() if "partial_reason" in ctx else ""),
    )


# tf.data side ---------------------------------------------------------------

CONTEXT_SPEC = {
    **{k: tf.io.FixedLenFeature([], tf.string) for k in CONTEXT_BYTES},
    **{k: tf.io.FixedLenFeature([], tf.int64) for k in CONTEXT_INT},
    **{k: tf.io.FixedLenFeature([], tf.float32) for k in CONTEXT_FLOAT},
    "partial": tf.io.FixedLenFeature([], tf.int64, default_value=CONTEXT_OPTIONAL["partial"]),
    "partial_reason": tf.io.FixedLenFeature([], tf.string, default_value=CONTEXT_OPTIONAL["partial_reason"]),
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


def _decode_jpeg_tf(jpeg: tf.Tensor, channels: int) -> tf.Tensor:
    return tf.io.decode_jpeg(jpeg, channels=channels, dct_method=JPEG_DCT_METHOD)


def decode_rgb_tf(jpeg: tf.Tensor) -> tf.Tensor:
    """One RGB JPEG string -> float32 [H,W,3] pixels, exactly as OpenCV decodes it."""
    return tf.cast(_decode_jpeg_tf(jpeg, 3), tf.float32)


def _decode_all_tf(jpegs: tf.Tensor, channels: int) -> tf.Tensor:
    """[N] JPEG strings -> uint8 [N,H,W,channels]."""
    return tf.map_fn(lambda b: _decode_jpeg_tf(b, channels), jpegs, fn_output_signature=tf.uint8)


def _decode_planes_tf(jpegs: tf.Tensor) -> tf.Tensor:
    return _decode_all_tf(jpegs, 1)[..., 0]


def _dequantize_flow_tf(x: tf.Tensor, y: tf.Tensor, bound: tf.Tensor) -> tf.Tensor:
    q = tf.cast(tf.stack([x, y], axis=-1), tf.float32)
    return q * (2.0 * bound / 255.0) - bound


def decode_flow_tf(jpeg_x: tf.Tensor, jpeg_y: tf.Tensor, bound: tf.Tensor) -> tf.Tensor:
    """[N] JPEG strings for x and y -> float32 displacements [N,H,W,2]."""
    return _dequantize_flow_tf(_decode_planes_tf(jpeg_x), _decode_planes_tf(jpeg_y), bound)


def predecode_frames_tf(record: dict, keys: tuple[str, ...]) -> dict:
    """A parsed record with the frame lists `keys` decoded to uint8, so a training set that
    fits in memory is decoded once and cached instead of once per sample. rgb_frame_tf and
    flow_fields_tf read either form."""
    out = dict(record)
    for key in keys:
        out[key] = _decode_all_tf(record[key], 3) if key == "rgb" else _decode_planes_tf(record[key])
    return out


def rgb_frame_tf(frames: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """Frame `index` of a record's rgb list (JPEG strings or predecoded) -> float32 [H,W,3]."""
    if frames.dtype == tf.string:
        return decode_rgb_tf(frames[index])
    return tf.cast(frames[index], tf.float32)


def flow_fields_tf(xs: tf.Tensor, ys: tf.Tensor, indices: tf.Tensor, bound: tf.Tensor) -> tf.Tensor:
    """Fields `indices` of a record's x/y flow lists (JPEG strings or predecoded) -> float32
    displacements [N,H,W,2]."""
    x, y = tf.gather(xs, indices), tf.gather(ys, indices)
    if xs.dtype == tf.string:
        return decode_flow_tf(x, y, bound)
    return _dequantize_flow_tf(x, y, bound)
