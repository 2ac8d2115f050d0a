"""What an export promises its consumers: its layout, signature names and preprocessing constants.

The exporter writes the constants (JSON asset plus a `metadata` signature); the
client, the embedded server and the Beam prediction job read them back, so
nobody has to know how a model was trained to feed it the same inputs it saw
then. It sits below the trainer, the Beam jobs and the servers, which all use it.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields

import tensorflow as tf

from media.flow import canonical_algorithm
from media.quantize import DEFAULT_BOUND, DEFAULT_JPEG_QUALITY
from media.stacking import STACKINGS, check_options

ASSETS_EXTRA = "assets.extra"
PREPROCESSING_FILE = "preprocessing.json"
WARMUP_FILE = "tf_serving_warmup_requests"
METADATA_SIGNATURE = "metadata"
RECORDS_SIGNATURE = "predict_records"
DEFAULT_SIGNATURE = "serving_default"
# Exported when the model has an `embedding` output (e.g. a Siamese branch): the same inputs as
# serving_default -> `embedding`, for retrieval.
EMBED_SIGNATURE = "embed"
EMBEDDING_OUTPUT = "embedding"
# TF Serving rejects signatures without inputs (tensorflow/serving#1676), so the
# metadata signature takes this ignored scalar.
METADATA_PROBE = "probe"
# Model input name per stream (the model I/O contract).
INPUT_FOR_STREAM = {"spatial": "rgb", "temporal": "flow"}


@dataclass(frozen=True)
class Preprocessing:
    streams: tuple[str, ...]          # ("spatial",), ("temporal",) or both
    classes: tuple[str, ...]          # class names, index = model output column
    crop_size: int = 224
    length: int = 10                  # L flow fields per volume
    stacking: str = "optical_flow"
    bidirectional: bool = False
    mean_subtraction: bool = True
    size: int = 256                   # smaller side frames are resized to before flow
    stride: int = 1                   # keep every Nth decoded frame, as ingest did
    max_frames: int = 0               # frames kept per video at ingest; 0 = all
    flow_algorithm: str = "dis_fast"
    flow_bound: float = DEFAULT_BOUND
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    task: str = ""                    # dataset whose head is served (multi-task models)
    record_frames: int = 5            # test frames predict_records samples in-graph (centre crop)
    kind: str = "stream"              # the model kind (tfx_models.kinds), or "late_fusion" of two runs
    # True when one model sees both streams: its RGB frame and flow volume start at the same
    # frame and share the crop (media.stacking.joint_test_batch), T snippets per input.
    joint: bool = False
    snippets: int = 1
    snippet_stride: int = 10          # frames between test snippets
    top_k: int = 5
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.streams or any(s not in INPUT_FOR_STREAM for s in self.streams):
            raise ValueError(f"streams must be a non-empty subset of {tuple(INPUT_FOR_STREAM)}, "
                             f"got {self.streams!r}")
        if not self.classes:
            raise ValueError("classes: the export needs the class names")
        if self.stacking not in STACKINGS:
            raise ValueError(f"stacking must be one of {STACKINGS}, got {self.stacking!r}")
        check_options(self.length, self.stacking, self.bidirectional)
        canonical_algorithm(self.flow_algorithm)
        if self.crop_size < 1 or self.record_frames < 1 or self.top_k < 1:
            raise ValueError("crop_size, record_frames and top_k must be positive")
        if self.snippets < 1 or self.snippet_stride < 1:
            raise ValueError("snippets and snippet_stride must be positive")

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(INPUT_FOR_STREAM[s] for s in self.streams)

    @property
    def k(self) -> int:
        return min(self.top_k, len(self.classes))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str = "preprocessing JSON") -> "Preprocessing":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{source}: not JSON ({err})") from None
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown fields {unknown}")
        for key in ("streams", "classes"):
            if key not in data:
                raise ValueError(f"{source}: missing field {key!r}")
            data[key] = tuple(data[key])
        return cls(**data)


def version_dirs(model_dir: str) -> dict[int, str]:
    """Integer version -> path, for the numeric folders under `<base>/<name>` (TF Serving's layout)."""
    if not tf.io.gfile.isdir(model_dir):
        return {}
    out = {}
    for entry in tf.io.gfile.listdir(model_dir):
        entry = entry.rstrip("/")
        if entry.isdigit():
            out[int(entry)] = f"{model_dir.rstrip('/')}/{entry}"
    return out


def resolve_export(model_dir: str) -> str:
    """A version folder as given, or the highest integer version under `<base>/<name>`."""
    model_dir = model_dir.rstrip("/")
    if tf.io.gfile.exists(f"{model_dir}/saved_model.pb"):
        return model_dir
    versions = version_dirs(model_dir)
    if not versions:
        raise FileNotFoundError(f"{model_dir}: neither a SavedModel nor a folder of integer versions")
    return versions[max(versions)]


def read_preprocessing(export_dir: str) -> Preprocessing:
    path = os.path.join(export_dir, ASSETS_EXTRA, PREPROCESSING_FILE)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{path}: missing; was this exported with python -m tfx_models.export?")
    with tf.io.gfile.GFile(path) as f:
        return Preprocessing.from_json(f.read(), path)
