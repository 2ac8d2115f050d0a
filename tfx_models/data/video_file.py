"""A video file -> the exported model's test inputs, through the ingest job's own steps.

Decode, resize to the exported short side, flow with the exported algorithm,
then the storage round trip (RGB and flow through JPEG, flow quantised) so the
model sees at serving time the same losses it saw in training; the test batch
comes from media.stacking like the evaluator's.
"""
from __future__ import annotations

import numpy as np

from media.flow import FlowEstimator, compute_flows
from media.quantize import decode_jpeg, encode_jpeg, stored_flow
from media.stacking import evaluation_batch
from media.video import VideoDecodeError, VideoReader
from tfx_models.export.contract import Preprocessing

# The ingest job refuses frames smaller than this on a side (beam_pipelines.ingest_transforms.MIN_SIDE).
MIN_SIDE = 16


class UnusableVideoError(VideoDecodeError):
    """Decodes, but cannot feed the model (too short, too small)."""


def stored_frames(frames: np.ndarray, quality: int) -> np.ndarray:
    """RGB frames as a record reader gets them back (JPEG at the ingest quality)."""
    return np.stack([decode_jpeg(encode_jpeg(f, quality)) for f in frames])


def video_test_inputs(path: str, prep: Preprocessing, *, num_frames: int = 25, crops: int = 10,
                      estimator: FlowEstimator | None = None) -> dict[str, np.ndarray]:
    """{"rgb": uint8 [N,c,c,3], "flow": float32 [N,c,c,2L]} (as the export needs), N = num_frames*crops.

    Raises VideoDecodeError naming the file when it is unreadable or too short.
    """
    with VideoReader(path, size=prep.size, stride=prep.stride, max_frames=prep.max_frames or None) as reader:
        if min(reader.source_height, reader.source_width) < MIN_SIDE:
            raise UnusableVideoError(path, f"resolution {reader.source_width}x{reader.source_height} is below "
                                           f"{MIN_SIDE} px on a side")
        # Frames are resized as they decode, as the ingest job does: memory holds the resized clip only.
        frames = np.stack(list(reader))
    count = len(frames)
    if "temporal" in prep.streams and count < 2:
        raise UnusableVideoError(path, f"too short: {count} frame(s), the temporal stream needs at least 2")
    flow = backward = None
    if "temporal" in prep.streams:
        estimator = estimator or FlowEstimator(prep.flow_algorithm)
        flow = stored_flow(compute_flows(frames, estimator), prep.flow_bound, prep.jpeg_quality)
        if prep.bidirectional:
            backward = stored_flow(compute_flows(frames, estimator, backward=True),
                                   prep.flow_bound, prep.jpeg_quality)
    if "spatial" in prep.streams:
        frames = stored_frames(frames, prep.jpeg_quality)
    options = dict(streams=prep.streams, num_frames=num_frames, crops=crops, crop_size=prep.crop_size,
                   length=prep.length, stacking=prep.stacking, bidirectional=prep.bidirectional,
                   mean_subtraction=prep.mean_subtraction)
    batch = evaluation_batch(frames, flow, backward, joint=prep.joint, snippets=prep.snippets,
                       snippet_stride=prep.snippet_stride, **options)
    if "rgb" in batch:
        batch["rgb"] = np.clip(np.round(batch["rgb"]), 0, 255).astype(np.uint8)
    if "flow" in batch:
        batch["flow"] = batch["flow"].astype(np.float32)
    return batch
