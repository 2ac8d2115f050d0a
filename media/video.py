"""Video decoding, encoding and resizing as plain functions.

Shared by the synthetic renderer, the ingest job and the serving client so that
every stage sees the same pixels for the same file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

# Refuse resolutions no real action dataset has: a corrupt header claiming
# 60000x60000 would otherwise allocate gigabytes before failing.
MAX_PIXELS = 4096 * 4096


class VideoDecodeError(ValueError):
    """A file that cannot be turned into frames; carries the path and why."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class Video:
    frames: np.ndarray  # uint8 [T, H, W, 3], RGB
    fps: float


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise VideoDecodeError(path, "file does not exist")
    if os.path.isdir(path):
        raise VideoDecodeError(path, "is a directory, not a video file")
    if os.path.getsize(path) == 0:
        raise VideoDecodeError(path, "file is empty (0 bytes)")


def _check_size(path: str, height: int, width: int) -> None:
    if height <= 0 or width <= 0:
        raise VideoDecodeError(path, f"invalid resolution {width}x{height}")
    if height * width > MAX_PIXELS:
        raise VideoDecodeError(path, f"absurd resolution {width}x{height}")


def _decode_pyav(path: str, max_frames: int | None, stride: int) -> Video:
    import av  # imported lazily: the OpenCV path must work without it

    frames = []
    with av.open(path) as container:
        if not container.streams.video:
            raise VideoDecodeError(path, "no video stream")
        stream = container.streams.video[0]
        _check_size(path, stream.codec_context.height, stream.codec_context.width)
        fps = float(stream.average_rate or stream.guessed_rate or 25.0)
        for index, frame in enumerate(container.decode(stream)):
            if index % stride:
                continue
            frames.append(frame.to_ndarray(format="rgb24"))
            if max_frames and len(frames) >= max_frames:
                break
    if not frames:
        raise VideoDecodeError(path, "no decodable frames")
    return Video(np.stack(frames), fps)


def _decode_opencv(path: str, max_frames: int | None, stride: int) -> Video:
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise VideoDecodeError(path, "OpenCV cannot open the file")
        _check_size(path, int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                    int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)))
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 25.0)
        frames, index = [], 0
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            if index % stride == 0:
                frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                if max_frames and len(frames) >= max_frames:
                    break
            index += 1
    finally:
        capture.release()
    if not frames:
        raise VideoDecodeError(path, "no decodable frames")
    return Video(np.stack(frames), fps)


def read_video(path: str, max_frames: int | None = None, stride: int = 1,
               backend: str = "auto") -> Video:
    """Decode all frames as RGB uint8; PyAV first, OpenCV when PyAV fails.

    Raises VideoDecodeError naming the file for anything that is not a video.
    """
    path = str(path)
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    _check_file(path)
    if backend not in ("auto", "pyav", "opencv"):
        raise ValueError(f"unknown backend {backend!r}")
    errors = []
    if backend in ("auto", "pyav"):
        try:
            return _decode_pyav(path, max_frames, stride)
        except VideoDecodeError as err:
            if err.reason.startswith("absurd resolution"):
                raise
            errors.append(f"pyav: {err.reason}")
        except Exception as err:  # PyAV raises many FFmpeg error types
            errors.append(f"pyav: {type(err).__name__}: {err}")
    if backend in ("auto", "opencv"):
        try:
            return _decode_opencv(path, max_frames, stride)
        except VideoDecodeError as err:
            if err.reason.startswith("absurd resolution"):
                raise
            errors.append(f"opencv: {err.reason}")
        except cv2.error as err:
            errors.append(f"opencv: {err}")
    raise VideoDecodeError(path, "; ".join(errors))


def resize_short_side(frames: np.ndarray, size: int) -> np.ndarray:
    """Rescale [T,H,W,C] (or one [H,W,C] frame) so the smaller side is `size`."""
    if size <= 0:
        return frames
    single = frames.ndim == 3
    batch = frames[None] if single else frames
    height, width = batch.shape[1:3]
    scale = size / min(height, width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    if (new_h, new_w) == (height, width):
        return frames
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = np.stack([cv2.resize(f, (new_w, new_h), interpolation=interp) for f in batch])
    return out[0] if single else out


# Container suffix -> FFmpeg encoder name used by write_video's default.
CODEC_FOR_SUFFIX = {".avi": "mpeg4", ".mp4": "libx264", ".mkv": "libx264"}


def write_video(path: str, frames: np.ndarray, fps: float = 25.0,
                codec: str | None = None, quality: int = 4) -> None:
    """Encode RGB uint8 frames [T,H,W,3] to a real video file with PyAV.

    `quality` is qscale for MPEG-4 Part 2 and (x4) the CRF for H.264; lower is
    better.  Frame sizes must be even for yuv420p.
    """
    import av
    from fractions import Fraction

    frames = np.asarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be [T,H,W,3], got {frames.shape}")
    suffix = os.path.splitext(path)[1].lower()
    codec = codec or CODEC_FOR_SUFFIX.get(suffix, "mpeg4")
    rate = Fraction(fps).limit_denominator(1000)
    with av.open(path, mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(quality * 4), "preset": "veryfast"}
        else:
            # Fixed quantiser (ffmpeg's -q:v): global_quality is qscale * FF_QP2LAMBDA.
            stream.codec_context.flags |= av.codec.context.Flags.qscale
            stream.codec_context.global_quality = quality * 118
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
