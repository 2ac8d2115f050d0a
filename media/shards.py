"""Where records live: shard names and the dataset_info.json beside them.

Paths go through tf.io.gfile so gs:// works unchanged on Dataflow.
"""
from __future__ import annotations

import json
import re

import tensorflow as tf

INFO_FILE = "dataset_info.json"
SUBSETS = ("train", "test")


def shard_name(subset: str, index: int, count: int) -> str:
    return f"{subset}-{index:05d}-of-{count:05d}.tfrecord"


def shard_pattern(output_dir: str, subset: str) -> str:
    return f"{output_dir.rstrip('/')}/{subset}-?????-of-?????.tfrecord"


_SHARD = re.compile(r"^(?P<subset>[a-z]+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.tfrecord$")


class ShardSetError(ValueError):
    """The shards on disk are not one complete N-of-N set; names the folder and the files."""


def check_shard_set(output_dir: str, subset: str, num_shards: int | None = None) -> list[str]:
    """Sorted shard paths of a subset, if they form exactly one complete N-of-N set.

    N is `num_shards` when given (dataset_info.json's), else what the names say; a
    missing index, a second N or an extra file raises ShardSetError naming them.
    """
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
    files = sorted(tf.io.gfile.glob(shard_pattern(output_dir, subset)))
    if not files:
        raise FileNotFoundError(f"{output_dir}: no {subset} shards ({subset}-*-of-*.tfrecord)")
    names = [path.rsplit("/", 1)[-1] for path in files]
    counts = sorted({int(_SHARD.match(name)["count"]) for name in names})
    count = num_shards if num_shards is not None else counts[-1]
    expected = {shard_name(subset, i, count) for i in range(count)}
    missing, extra = sorted(expected - set(names)), sorted(set(names) - expected)
    if missing or extra:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"extra {', '.join(extra)}"] if extra else [])
        raise ShardSetError(f"{output_dir}: the {subset} shards are not one complete "
                            f"{count}-of-{count} set: {'; '.join(problems)}")
    return files


def list_shards(output_dir: str, subset: str) -> list[str]:
    """Sorted shard paths; an empty subset or an incomplete N-of-N set is an error naming the folder."""
    return check_shard_set(output_dir, subset)


def verify_published(output_dir: str, info: dict) -> None:
    """Raise ShardSetError unless the shards on disk are the N-of-N sets `info` describes:
    info["num_shards"] per subset, and each shard's size and record count as listed in
    info["shards"], summing to info["counts"]."""
    listed = info.get("shards", {})
    for subset in SUBSETS:
        files = check_shard_set(output_dir, subset, info.get("num_shards"))
        total = 0
        for path in files:
            name = path.rsplit("/", 1)[-1]
            if listed:
                if name not in listed:
                    raise ShardSetError(f"{path}: not listed in {INFO_FILE}")
                size = tf.io.gfile.stat(path).length
                if size != listed[name]["bytes"]:
                    raise ShardSetError(f"{path}: {size} bytes on disk, {INFO_FILE} says {listed[name]['bytes']}")
                total += listed[name]["records"]
        if listed and "counts" in info and total != info["counts"][subset]:
            raise ShardSetError(f"{output_dir}: the {subset} shards hold {total} records, "
                                f"{INFO_FILE} counts {info['counts'][subset]}")


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
