"""Where records live: shard names and the dataset_info.json beside them.

Paths go through tf.io.gfile so gs:// works unchanged on Dataflow.
"""
from __future__ import annotations

import json

import tensorflow as tf

INFO_FILE = "dataset_info.json"
SUBSETS = ("train", "test")


def shard_name(subset: str, index: int, count: int) -> str:
    return f"{subset}-{index:05d}-of-{count:05d}.tfrecord"


def shard_pattern(output_dir: str, subset: str) -> str:
    return f"{output_dir.rstrip('/')}/{subset}-?????-of-?????.tfrecord"


def list_shards(output_dir: str, subset: str) -> list[str]:
    """Sorted shard paths; an empty subset is an error naming the folder."""
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
    files = sorted(tf.io.gfile.glob(shard_pattern(output_dir, subset)))
    if not files:
        raise FileNotFoundError(f"{output_dir}: no {subset} shards ({subset}-*-of-*.tfrecord)")
    return files


def write_dataset_info(output_dir: str, info: dict) -> None:
    with tf.io.gfile.GFile(f"{output_dir.rstrip('/')}/{INFO_FILE}", "w") as f:
        json.dump(info, f, indent=2, sort_keys=True)


def read_dataset_info(output_dir: str) -> dict:
    """dataset_info.json as written by the ingest job.

    Keys: dataset, format, split, classes (list of names, index = label),
    counts {train, test}, flow {algorithm, bound, bidirectional, jpeg_quality},
    size (smaller side), schema_version.
    """
    path = f"{output_dir.rstrip('/')}/{INFO_FILE}"
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{path}: missing; run beam_pipelines.ingest first")
    with tf.io.gfile.GFile(path) as f:
        info = json.load(f)
    for key in ("dataset", "classes", "flow"):
        if key not in info:
            raise ValueError(f"{path}: missing field {key!r}")
    return info


def iter_records(output_dir: str, subset: str):
    """Serialized records of a subset, shard by shard (Python side)."""
    for path in list_shards(output_dir, subset):
        for raw in tf.data.TFRecordDataset(path):
            yield raw.numpy()
