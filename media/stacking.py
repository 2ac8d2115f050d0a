"""Simonyan & Zisserman's flow input volumes and the test-time sampling protocol, in NumPy.

The training pipeline re-implements the same equations as TF ops
(tfx_models.stacking_tf, tested equal to these); the evaluator and the serving
client build their test batches with `video_test_batch` so every consumer sees
the same inputs for the same video.

Conventions (documented choices where the paper is silent):
- A volume starts at frame t. Forward field j maps frame j to j+1; backward
  field j maps frame j+1 to j (media.flow.compute_flows).
- Channels are interleaved per field: [x_1, y_1, x_2, y_2, ...] (Eq. 1/2).
- Bi-directional: L/2 forward fields t .. t+L/2-1, then L/2 backward fields
  t-1, t-2, .. t-L/2 (moving away from t, so trajectory stacking can follow the
  backward flow from frame t the same way it follows the forward flow).
- Trajectory stacking (Eq. 2) samples flow bilinearly; a trajectory that leaves
  the frame is clamped to the border and reads the edge values.
- Videos with too few fields for a volume repeat the edge fields (indices are
  clamped to the valid range), so every video yields full 2L-channel inputs.
- Mean flow subtraction removes each stacked field's mean vector over the whole
  frame (before cropping): the paper's global camera-motion compensation.
- Frames smaller than the crop are resized up (bilinear) until both sides cover
  it; flow displacements are scaled by the same factors.

`flow` arguments may be arrays [T-1,H,W,2] or any sequence of [H,W,2] fields
supporting len() and integer indexing, so readers can decode lazily.
"""
from __future__ import annotations

import math
import sys

import cv2
import numpy as np

STACKINGS = ("optical_flow", "trajectory")
STREAMS = ("spatial", "temporal")
# Test-time crops: 1 = centre, 2 = centre and its flip, 5 = corners + centre, 10 = those and flips.
CROP_COUNTS = (1, 2, 5, 10)


def check_options(length: int, stacking: str, bidirectional: bool) -> None:
    if length < 1:
        raise ValueError(f"length (L) must be >= 1, got {length}")
    if stacking not in STACKINGS:
        raise ValueError(f"stacking must be one of {STACKINGS}, got {stacking!r}")
    if bidirectional and length % 2:
        raise ValueError(f"bidirectional stacking needs an even length (L), got {length}")


def start_range(num_fields: int, length: int, bidirectional: bool) -> tuple[int, int]:
    """Inclusive range of start frames t whose volume needs no padding (collapsed when short)."""
    if num_fields < 1:
        raise ValueError("a flow volume needs at least one flow field (two frames)")
    if bidirectional:
        half = length // 2
        return half, max(half, num_fields - half)
    return 0, max(0, num_fields - length)


def field_indices(num_fields: int, start: int, length: int,
                  bidirectional: bool) -> tuple[np.ndarray, np.ndarray]:
    """(forward field indices, backward field indices) of the volume at frame `start`, clamped."""
    if bidirectional:
        half = length // 2
        forward = start + np.arange(half)
        backward = start - 1 - np.arange(half)
    else:
        forward = start + np.arange(length)
        backward = np.zeros([0], np.int64)
    return np.clip(forward, 0, num_fields - 1), np.clip(backward, 0, num_fields - 1)


def bilinear_sample(field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """field [H,W,C] read at float positions (x, y) [H,W]; positions are clamped to the frame."""
    height, width = field.shape[:2]
    x = np.clip(x, 0.0, width - 1.0)
    y = np.clip(y, 0.0, height - 1.0)
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    x1 = np.minimum(x0 + 1, width - 1)
    y1 = np.minimum(y0 + 1, height - 1)
    wx = (x - x0)[..., None].astype(np.float32)
    wy = (y - y0)[..., None].astype(np.float32)
    top = field[y0, x0] * (1 - wx) + field[y0, x1] * wx
    bottom = field[y1, x0] * (1 - wx) + field[y1, x1] * wx
    return (top * (1 - wy) + bottom * wy).astype(np.float32)


def stack_fields(fields: list[np.ndarray], stacking: str) -> np.ndarray:
    """K fields [H,W,2] -> volume [H,W,2K] by Eq. 1 (optical_flow) or Eq. 2 (trajectory)."""
    if stacking == "optical_flow":
        return np.concatenate([np.asarray(f, np.float32) for f in fields], axis=-1)
    if stacking != "trajectory":
        raise ValueError(f"stacking must be one of {STACKINGS}, got {stacking!r}")
    height, width = fields[0].shape[:2]
    y, x = np.meshgrid(np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32),
                       indexing="ij")
    out = []
    for f in fields:
        value = bilinear_sample(np.asarray(f, np.float32), x, y)
        out.append(value)
        # p_{k+1} = p_k + d_k(p_k), kept inside the frame.
        x = np.clip(x + value[..., 0], 0.0, width - 1.0)
        y = np.clip(y + value[..., 1], 0.0, height - 1.0)
    return np.concatenate(out, axis=-1)


def flow_volume(flow, backward_flow, start: int, *, length: int = 10,
                stacking: str = "optical_flow", bidirectional: bool = False,
                mean_subtraction: bool = True) -> np.ndarray:
    """Full-frame input volume [H,W,2L] starting at frame `start`."""
    check_options(length, stacking, bidirectional)
    forward, backward = field_indices(len(flow), start, length, bidirectional)
    volume = stack_fields([flow[int(j)] for j in forward], stacking)
    if bidirectional:
        if backward_flow is None or len(backward_flow) != len(flow):
            raise ValueError("bidirectional stacking needs backward flow with as many fields as "
                             "the forward flow (ingest with backward flow enabled)")
        volume = np.concatenate(
            [volume, stack_fields([backward_flow[int(j)] for j in backward], stacking)], axis=-1)
    if mean_subtraction:  # each field's mean displacement vector, removed in place (the volume is new)
        volume -= volume.mean(axis=(0, 1), keepdims=True)
    return volume


def cover_size(height: int, width: int, crop_size: int) -> tuple[int, int]:
    """Smallest (height, width) with the same aspect that holds a crop_size square."""
    scale = max(1.0, crop_size / height, crop_size / width)
    if scale == 1.0:
        return height, width
    return max(crop_size, math.ceil(height * scale)), max(crop_size, math.ceil(width * scale))


def resize_to_cover(image: np.ndarray, crop_size: int, is_flow: bool) -> np.ndarray:
    """Resizes [H,W,C] up so a crop fits; flow displacements scale with the image."""
    height, width = image.shape[:2]
    new_h, new_w = cover_size(height, width, crop_size)
    if (new_h, new_w) == (height, width):
        return image
    channels = image.shape[2]
    # cv2.resize handles at most 512 channels and drops a trailing 1; resize in groups.
    parts = [cv2.resize(np.ascontiguousarray(image[..., c:c + 4], np.float32), (new_w, new_h),
                        interpolation=cv2.INTER_LINEAR).reshape(new_h, new_w, -1)
             for c in range(0, channels, 4)]
    resized = np.concatenate(parts, axis=-1)
    if is_flow:
        resized[..., 0::2] *= new_w / width
        resized[..., 1::2] *= new_h / height
    return resized


_MIRROR_SIGNS = np.tile(np.array([-1.0, 1.0], np.float32), 256)


def crop(image: np.ndarray, top: int, left: int, size: int, flip: bool, is_flow: bool,
         out: np.ndarray | None = None) -> np.ndarray:
    """A size x size crop, mirrored left-right if `flip`; mirrored flow has its x negated.
    Written into `out` (a float32 [size,size,C] slot of a batch) when given."""
    region = image[top:top + size, left:left + size]
    if region.shape[:2] != (size, size):
        raise ValueError(f"crop {size}x{size} at ({top},{left}) exceeds image {image.shape[:2]}")
    if flip:
        region = region[:, ::-1]
    if out is None:
        out = np.empty(region.shape, np.float32)
    if flip and is_flow:  # mirror and negate x in one pass: (-1, 1) per (x, y) channel pair
        np.multiply(region, _MIRROR_SIGNS[:region.shape[-1]], out=out)
    else:
        out[...] = region
    return out


class Buffers:
    """Arrays handed out again once nothing else holds them (neither the array nor a view of it).

    A video's 25 x 10 flow crops fill 128-250 MB; in a fresh array each video, the kernel's page
    faults cost about as much as cutting the crops (docs/performance.md). The evaluator keeps one
    Buffers for the thread that builds its inputs. An array still held anywhere is never handed
    out, whatever that thread's timing: then a new one is made, as without Buffers.
    """

    def __init__(self, keep: int = 3):
        self.keep = keep
        self._arrays: list[np.ndarray] = []

    def empty(self, shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
        for array in self._arrays:
            # Held by the list, the loop variable and getrefcount's argument only: free.
            if array.shape == shape and array.dtype == dtype and sys.getrefcount(array) == 3:
                return array
        array = np.empty(shape, dtype)
        self._arrays = (self._arrays + [array])[-self.keep:]
        return array


def crop_batch(clips: list[list[np.ndarray]], boxes: list[tuple[int, int, bool]], size: int,
               is_flow: bool, buffers: Buffers | None = None) -> np.ndarray:
    """[clips][T] images -> [clips * boxes, T, size, size, C], clip-major, every crop written once
    into one array (from `buffers` when given): a video's 25 x 10 flow crops are 180 MB at 96 px,
    and stacking them in steps copied them two or three times."""
    channels = clips[0][0].shape[-1]
    shape = (len(clips) * len(boxes), len(clips[0]), size, size, channels)
    out = buffers.empty(shape) if buffers is not None else np.empty(shape, np.float32)
    first: dict[tuple[int, ...], int] = {}  # a clip of the very same images as an earlier one: its crops
    for i, clip in enumerate(clips):
        rows = slice(i * len(boxes), (i + 1) * len(boxes))
        seen = first.setdefault(tuple(map(id, clip)), i)
        if seen != i:
            out[rows] = out[seen * len(boxes):(seen + 1) * len(boxes)]
            continue
        for b, (top, left, flip) in enumerate(boxes):
            for t, image in enumerate(clip):
                crop(image, top, left, size, flip, is_flow, out=out[i * len(boxes) + b, t])
    return out


def crop_boxes(height: int, width: int, crop_size: int, crops: int = 10) -> list[tuple[int, int, bool]]:
    """(top, left, flip) for the test crops: four corners and the centre, then their flips."""
    if crops not in CROP_COUNTS:
        raise ValueError(f"crops must be one of {CROP_COUNTS}, got {crops}")
    if height < crop_size or width < crop_size:
        raise ValueError(f"crop {crop_size} larger than the image {height}x{width}")
    bottom, right = height - crop_size, width - crop_size
    centre = (bottom // 2, right // 2)
    positions = [centre] if crops in (1, 2) else [(0, 0), (0, right), (bottom, 0), (bottom, right), centre]
    flips = (False, True) if crops in (2, 10) else (False,)
    return [(top, left, flip) for flip in flips for top, left in positions]


def equally_spaced(low: int, high: int, count: int) -> np.ndarray:
    """`count` integer positions spread evenly over [low, high] (repeats when the range is short)."""
    if count < 1:
        raise ValueError(f"need at least one test frame, got {count}")
    return np.round(np.linspace(low, high, count)).astype(np.int64)


def test_positions(num_frames: int, stream: str, *, count: int = 25, length: int = 10,
                   bidirectional: bool = False) -> np.ndarray:
    """Frames sampled for testing: RGB over all frames, flow over the valid volume starts."""
    if stream == "spatial":
        return equally_spaced(0, num_frames - 1, count)
    if stream == "temporal":
        return equally_spaced(*start_range(num_frames - 1, length, bidirectional), count)
    raise ValueError(f"stream must be one of {STREAMS}, got {stream!r}")


def snippet_test_starts(num_fields: int, *, count: int, length: int, bidirectional: bool, snippets: int,
                        stride: int) -> np.ndarray:
    """[count, T] volume starts: `count` clips equally spaced over the video, each T snippets
    `stride` frames apart, clipped to the valid starts (as the training sampler does)."""
    low, high = start_range(num_fields, length, bidirectional)
    firsts = equally_spaced(low, max(low, high - (snippets - 1) * stride), count)
    return np.clip(firsts[:, None] + stride * np.arange(snippets), low, high)


def clip_starts(num_frames: int, *, count: int, snippets: int, stride: int) -> np.ndarray:
    """[count, T] frame indices of `count` RGB clips equally spaced over the whole video, each T frames
    `stride` apart, clipped to the last frame: the frame-only sampler of RGB clip models."""
    if num_frames < 1:
        raise ValueError("a clip needs at least one frame")
    return snippet_test_starts(num_frames, count=count, length=1, bidirectional=False, snippets=snippets,
                               stride=stride)


def joint_test_batch(frames, flow, backward_flow=None, *, streams=("spatial", "temporal"), num_frames: int = 25,
                     crops: int = 10, crop_size: int = 224, length: int = 10, stacking: str = "optical_flow",
                     bidirectional: bool = False, mean_subtraction: bool = True, snippets: int = 1,
                     snippet_stride: int = 10, buffers: Buffers | None = None) -> dict:
    """Test inputs of a model that sees its streams together: for each of num_frames clips and
    each crop, T snippets whose RGB frame and flow volume start at the same frame and share the
    crop. {"rgb": [N,T,c,c,3], "flow": [N,T,c,c,2L]} (no T axis when T=1), N = num_frames*crops.

    An RGB-only clip model (streams=("spatial",), e.g. a distilled student) needs no flow: its
    clips spread over all the frames (clip_starts)."""
    if "temporal" not in streams:
        starts = clip_starts(len(frames), count=num_frames, snippets=snippets, stride=snippet_stride)
    elif flow is None or len(flow) == 0:
        raise ValueError("a joint model needs flow (at least two frames)")
    else:
        starts = snippet_test_starts(len(flow), count=num_frames, length=length, bidirectional=bidirectional,
                                     snippets=snippets, stride=snippet_stride)
    images = {}
    if "spatial" in streams:
        images["rgb"] = [[resize_to_cover(np.asarray(frames[int(t)], np.float32), crop_size, False) for t in clip]
                         for clip in starts]
    if "temporal" in streams:
        images["flow"] = [[resize_to_cover(flow_volume(flow, backward_flow, int(t), length=length, stacking=stacking,
                                                       bidirectional=bidirectional, mean_subtraction=mean_subtraction),
                                           crop_size, True) for t in clip] for clip in starts]
    height, width = next(iter(images.values()))[0][0].shape[:2]
    boxes = crop_boxes(height, width, crop_size, crops)
    out = {}
    for key, clips in images.items():
        batch = crop_batch(clips, boxes, crop_size, key == "flow", buffers)
        out[key] = batch[:, 0] if snippets == 1 else batch
    return out


def _once_per_position(positions, build) -> list[np.ndarray]:
    """build(t) for each position, built once per distinct t: a short video repeats positions
    (25 of them over fewer frames), and crop_batch then copies a repeated image's crops."""
    built: dict[int, np.ndarray] = {}
    return [built[int(t)] if int(t) in built else built.setdefault(int(t), build(int(t))) for t in positions]


def video_test_batch(frames, flow, backward_flow=None, *, streams=("spatial", "temporal"),
                     num_frames: int = 25, crops: int = 10, crop_size: int = 224,
                     length: int = 10, stacking: str = "optical_flow",
                     bidirectional: bool = False, mean_subtraction: bool = True,
                     buffers: Buffers | None = None) -> dict:
    """All test inputs of one video for separate streams: {"rgb": [N,c,c,3], "flow": [N,c,c,2L]},
    N = num_frames*crops; each stream spreads its frames over its own valid range.

    Inputs are ordered frame-major: the crops of the first sampled frame first,
    in crop_boxes order. Class scores are averaged over the N inputs.
    """
    out = {}
    for stream in streams:
        if stream == "spatial":
            positions = test_positions(len(frames), "spatial", count=num_frames)
            images = _once_per_position(positions, lambda t: resize_to_cover(
                np.asarray(frames[t], np.float32), crop_size, False))
            key, is_flow = "rgb", False
        elif stream == "temporal":
            if flow is None or len(flow) == 0:
                raise ValueError("the temporal stream needs flow (at least two frames)")
            positions = test_positions(len(flow) + 1, "temporal", count=num_frames,
                                       length=length, bidirectional=bidirectional)
            images = _once_per_position(positions, lambda t: resize_to_cover(
                flow_volume(flow, backward_flow, t, length=length, stacking=stacking,
                            bidirectional=bidirectional, mean_subtraction=mean_subtraction),
                crop_size, True))
            key, is_flow = "flow", True
        else:
            raise ValueError(f"stream must be one of {STREAMS}, got {stream!r}")
        height, width = images[0].shape[:2]
        boxes = crop_boxes(height, width, crop_size, crops)
        out[key] = crop_batch([[image] for image in images], boxes, crop_size, is_flow, buffers)[:, 0]
    return out


def evaluation_batch(frames, flow, backward_flow=None, *, joint: bool = False, snippets: int = 1,
               snippet_stride: int = 10, **options) -> dict:
    """A video's test inputs for a model of separate streams (video_test_batch) or of joint ones
    (joint_test_batch): the one place that decides which frames and crops a video contributes."""
    if joint:
        return joint_test_batch(frames, flow, backward_flow, snippets=snippets, snippet_stride=snippet_stride,
                                **options)
    if snippets != 1:
        raise ValueError("snippets > 1 needs a joint model")
    return video_test_batch(frames, flow, backward_flow, **options)
