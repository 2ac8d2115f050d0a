"""Video decoding, encoding and resizing as plain functions.

Shared by the synthetic renderer, the ingest job and the serving client so that
every stage sees the same pixels for the same file.
"""
from __future__ import annotations

import io
import itertools
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
    partial_reason: str = ""  # why decoding stopped before the end ("" = decoded whole)


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise VideoDecodeError(path, "file does not exist")
    if os.path.isdir(path):
        raise VideoDecodeError(path, "is a directory, not a video file")
    if os.path.getsize(path) == 0:
        raise VideoDecodeError(path, "file is empty (0 bytes)")


def _without_path(message: str, path: str) -> str:
    """A decoder's message without the file name it quotes: the reason must not depend on where
    the file was read from (a remote video is decoded from a local copy; the dead letter
    names the video already)."""
    return message.replace(f": '{path}'", "").replace(path, "<file>")


def _check_size(path: str, height: int, width: int) -> None:
    if height <= 0 or width <= 0:
        raise VideoDecodeError(path, f"invalid resolution {width}x{height}")
    if height * width > MAX_PIXELS:
        raise VideoDecodeError(path, f"absurd resolution {width}x{height}")


class _PyAVSource:
    """One open file through PyAV: header facts, then RGB frames one at a time."""

    name = "pyav"

    def __init__(self, path: str):
        import av  # imported lazily: the OpenCV path must work without it

        self._container = av.open(path)
        try:
            if not self._container.streams.video:
                raise VideoDecodeError(path, "no video stream")
            self._stream = self._container.streams.video[0]
            self.height, self.width = self._stream.codec_context.height, self._stream.codec_context.width
            _check_size(path, self.height, self.width)
            self.fps = float(self._stream.average_rate or self._stream.guessed_rate or 25.0)
            # The frame count from the header (AVI, MP4), else the duration (Matroska);
            # raw streams declare neither (0).
            seconds = (self._container.duration or 0) / 1e6
            if self._stream.duration and self._stream.time_base:
                seconds = float(self._stream.duration * self._stream.time_base)
            self.declared_frames = int(self._stream.frames or 0) or round(seconds * self.fps)
            self.declared_seconds = self.declared_frames / self.fps
        except BaseException:
            self._container.close()
            raise

    def frames(self):
        for frame in self._container.decode(self._stream):
            yield frame.to_ndarray(format="rgb24")

    def close(self):
        self._container.close()


class _OpenCVSource:
    name = "opencv"

    def __init__(self, path: str):
        self._capture = cv2.VideoCapture(path)
        try:
            if not self._capture.isOpened():
                raise VideoDecodeError(path, "OpenCV cannot open the file")
            self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
            self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
            _check_size(path, self.height, self.width)
            self.fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 25.0)
            self.declared_frames = max(0, int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)))
            self.declared_seconds = self.declared_frames / self.fps
        except BaseException:
            self._capture.release()
            raise

    def frames(self):
        while True:
            ok, bgr = self._capture.read()
            if not ok:
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self):
        self._capture.release()


_SOURCES = {"pyav": _PyAVSource, "opencv": _OpenCVSource}


def _short_fraction(decoded: int, declared: int) -> bool:
    """Fewer frames than the container declares, beyond the slack real files show
    (a frame or two of decoder delay, rounded durations)."""
    return declared > 0 and declared - decoded > max(2, 0.02 * declared)


class VideoReader:
    """Frames of one file, decoded and resized one at a time.

    Memory stays at a few full-resolution frames whatever the video's length. PyAV
    first, OpenCV when PyAV cannot open the file or decode its first frame. After
    iterating, `partial_reason` says why decoding stopped before the end (a decoder
    error, or fewer frames than the container declares), or is "" for a whole video.

        with VideoReader(path, size=256) as reader:
            for frame in reader: ...
    """

    def __init__(self, path: str, *, size: int = 0, stride: int = 1, max_frames: int | None = None,
                 backend: str = "auto"):
        path = str(path)
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        if backend not in ("auto", "pyav", "opencv"):
            raise ValueError(f"unknown backend {backend!r}")
        _check_file(path)
        self.path, self.size, self.stride, self.max_frames = path, size, stride, max_frames
        self.decoded_frames = 0  # source frames decoded so far, before the stride
        self.partial_reason = ""
        self.stopped_by_max_frames = False
        self._source, self._first, self._rest = self._open(backend)
        self.fps = self._source.fps
        self.source_height, self.source_width = self._source.height, self._source.width
        self.declared_frames = self._source.declared_frames
        self.declared_seconds = self._source.declared_seconds
        self.backend = self._source.name

    def _open(self, backend: str):
        errors = []
        for name in (("pyav", "opencv") if backend == "auto" else (backend,)):
            source = None
            try:
                source = _SOURCES[name](self.path)
                frames = source.frames()
                first = next(frames, None)
                if first is None:
                    raise VideoDecodeError(self.path, "no decodable frames")
                return source, first, frames
            except VideoDecodeError as err:
                if source is not None:
                    source.close()
                if err.reason.startswith("absurd resolution"):
                    raise
                errors.append(f"{name}: {err.reason}")
            except Exception as err:  # PyAV and OpenCV raise many error types
                if source is not None:
                    source.close()
                errors.append(f"{name}: {type(err).__name__}: {_without_path(str(err), self.path)}")
        raise VideoDecodeError(self.path, "; ".join(errors))

    def __iter__(self):
        frame, kept = self._first, 0
        self._first = None
        if frame is None:
            raise RuntimeError(f"{self.path}: a VideoReader can be iterated only once")
        while frame is not None:
            index = self.decoded_frames
            self.decoded_frames += 1
            if index % self.stride == 0:
                yield resize_short_side(frame, self.size)
                kept += 1
                if self.max_frames and kept >= self.max_frames:
                    self.stopped_by_max_frames = True
                    return
            try:
                frame = next(self._rest, None)
            except Exception as err:  # a damaged or cut-off stream: keep what decoded
                self.partial_reason = (f"{self.backend} stopped after {self.decoded_frames} frame(s): "
                                       f"{type(err).__name__}: {_without_path(str(err), self.path)}")
                return
        if _short_fraction(self.decoded_frames, self.declared_frames):
            self.partial_reason = (f"decoded {self.decoded_frames} of the {self.declared_frames} frames "
                                   "the container declares")

    def close(self) -> None:
        self._source.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_video(path: str, max_frames: int | None = None, stride: int = 1,
               backend: str = "auto", size: int = 0) -> Video:
    """Decode all frames as RGB uint8 (resized so the short side is `size`, if > 0).

    PyAV first, OpenCV when PyAV fails. Raises VideoDecodeError naming the file for
    anything that is not a video. Holds the whole clip in memory: the ingest job
    streams with VideoReader instead.
    """
    with VideoReader(path, size=size, stride=stride, max_frames=max_frames, backend=backend) as reader:
        frames = np.stack(list(reader))
        return Video(frames, reader.fps, reader.partial_reason)


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


# Container suffix -> FFmpeg encoder name used by encode_video's default, and its muxer.
CODEC_FOR_SUFFIX = {".avi": "mpeg4", ".mp4": "libx264", ".mkv": "libx264", ".h264": "libx264"}
FORMAT_FOR_SUFFIX = {".avi": "avi", ".mp4": "mp4", ".mkv": "matroska", ".h264": "h264"}


def write_video(path: str, frames, fps: float = 25.0,
                codec: str | None = None, quality: int = 4) -> None:
    """encode_video to a local file, its container named by the path's suffix."""
    data = encode_video(frames, os.path.splitext(path)[1], fps=fps, codec=codec, quality=quality, name=path)
    with open(path, "wb") as handle:
        handle.write(data)


def encode_video(frames, suffix: str, fps: float = 25.0, codec: str | None = None, quality: int = 4,
                 name: str = "video") -> bytes:
    """Encode RGB uint8 frames ([T,H,W,3], or any iterable of [H,W,3]) with PyAV, in memory, so
    the bytes can be stored anywhere (the renderer writes them through Beam's FileSystems).

    `suffix` picks the container (.avi, .mp4, .mkv, or .h264 for a raw stream). `quality` is qscale for MPEG-4 Part 2
    and (x4) the CRF for H.264; lower is better. Frame sizes must be even for yuv420p.
    Encoding is single-threaded, so the same frames give the same bytes on any machine
    (x264's output depends on its thread count, which by default follows the CPU count).
    """
    import av
    from fractions import Fraction

    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise ValueError(f"{name}: no frames to write")
    first = np.asarray(first, dtype=np.uint8)
    if first.ndim != 3 or first.shape[-1] != 3:
        raise ValueError(f"frames must be [T,H,W,3], got frames of shape {first.shape}")
    suffix = suffix.lower()
    if suffix not in FORMAT_FOR_SUFFIX:
        raise ValueError(f"{name}: no container for suffix {suffix!r}; choose from {sorted(FORMAT_FOR_SUFFIX)}")
    codec = codec or CODEC_FOR_SUFFIX[suffix]
    rate = Fraction(fps).limit_denominator(1000)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=FORMAT_FOR_SUFFIX[suffix]) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1
        if codec == "libx264":
            # MB-tree rate control makes x264's output vary from one encode to the next in
            # the same process (the same frames gave up to 5 different files in 8 encodes),
            # so it is off: the same frames then always give the same bytes.
            stream.options = {"crf": str(quality * 4), "preset": "veryfast", "threads": "1",
                              "x264-params": "mbtree=0"}
        else:
            # Fixed quantiser (ffmpeg's -q:v): global_quality is qscale * FF_QP2LAMBDA.
            stream.codec_context.flags |= av.codec.context.Flags.qscale
            stream.codec_context.global_quality = quality * 118
        for rgb in itertools.chain([first], frames):
            frame = av.VideoFrame.from_ndarray(np.asarray(rgb, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()
