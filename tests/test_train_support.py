"""Shared helpers for the training tests (no tests here): tiny record dirs and stand-in inputs."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import tensorflow as tf

from media.records import encode_record
from media.shards import shard_name, write_dataset_info

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


def write_records(record_dir: str, dataset: str, classes: list[str], *, videos_per_class: int = 2,
                  frames: int = 6, height: int = 40, width: int = 48, shards: int = 2,
                  bidirectional: bool = False, seed: int = 0, group=lambda label, v: f"g{v}") -> str:
    """A record dir as the ingest job writes it: frames whose colour and motion depend on the class.

    group(label, v) names the group of class `label`'s v-th video."""
    rng = np.random.default_rng(seed)
    os.makedirs(record_dir, exist_ok=True)
    for subset in ("train", "test"):
        serialized = []
        for label, name in enumerate(classes):
            for v in range(videos_per_class):
                base = np.full((frames, height, width, 3), 40 + (60 * label) % 200, np.uint8)
                noise = rng.integers(0, 30, base.shape, dtype=np.uint8)
                flow = np.zeros((frames - 1, height, width, 2), np.float32)
                flow[..., 0] = 2.0 * (label + 1)
                flow += rng.normal(0, 0.5, flow.shape).astype(np.float32)
                serialized.append(encode_record(
                    id=f"{dataset}/{subset}_{name}_{v}.avi", path=f"/videos/{subset}_{name}_{v}.avi",
                    dataset=dataset, label=label, label_name=name, group=group(label, v), view=0, fps=25.0,
                    frames=base + noise, flow=flow, flow_bound=20.0, flow_algorithm="dis_fast",
                    backward_flow=-flow if bidirectional else None))
        write_shards(record_dir, subset, serialized, shards)
    write_dataset_info(record_dir, {
        "dataset": dataset, "classes": classes, "counts": {"train": len(classes) * videos_per_class,
                                                           "test": len(classes) * videos_per_class},
        "flow": {"algorithm": "dis_fast", "bound": 20.0, "bidirectional": bidirectional, "jpeg_quality": 90},
        "size": height, "schema_version": 1})
    return record_dir


def write_shards(record_dir: str, subset: str, serialized: list[bytes], shards: int) -> None:
    """Serialized records dealt round-robin into a complete N-of-N set of shards."""
    for s in range(shards):
        with tf.io.TFRecordWriter(os.path.join(record_dir, shard_name(subset, s, shards))) as w:
            for record in serialized[s::shards]:
                w.write(record)


def free_ports(count: int) -> list[int]:
    """Loopback ports free now, for a TF_CONFIG cluster of `count` tasks."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def dataset_info(dataset: str, num_classes: int) -> dict:
    return {"dataset": dataset, "classes": [f"c{i}" for i in range(num_classes)],
            "flow": {"algorithm": "dis_fast", "bound": 20.0, "bidirectional": False, "jpeg_quality": 90},
            "size": 32}


def fixed_dataset_fn(key: str, shape: tuple, num_classes: int, global_batch: int, *, num_tasks: int = 1):
    """Stand-in input honouring the pipeline contract: example i is a fixed function of i, so
    every strategy sees the same global batches however the batch is split over replicas."""
    def example(i):
        x = tf.random.stateless_uniform(shape, seed=tf.stack([i, 0]), maxval=255.0)
        label = tf.cast(i % num_classes, tf.int32)
        return {key: x}, {"label": label, "task": tf.cast(i % num_tasks, tf.int32)}

    def dataset_fn(input_context, seed):
        del seed  # fixed data: reseeding must not change what a step sees
        per_replica = input_context.get_per_replica_batch_size(global_batch)
        examples = tf.data.Dataset.range(10**9).map(example)
        # Worker k of n takes the k-th slice of each global batch.
        examples = examples.batch(global_batch // input_context.num_input_pipelines, drop_remainder=True)
        examples = examples.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        return examples.unbatch().batch(per_replica, drop_remainder=True)
    return dataset_fn


def python(args: list[str], *, env: dict | None = None, timeout: int = 240, **kwargs):
    """Runs `python args...` from the repo root with TF quiet; returns the CompletedProcess."""
    return subprocess.run([sys.executable, *args], cwd=REPO, env={**os.environ, **QUIET_ENV, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def kill_after_checkpoint(command: list[str], ckpt_dir: str, step: int, *, timeout: float = 240) -> str:
    """Runs a training command until checkpoint `step` is complete, then SIGKILLs it; returns its output."""
    import signal
    import time

    from tfx_models.runs import checkpoints as checkpointing

    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **QUIET_ENV}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + timeout
        while not os.path.exists(checkpointing.manifest_path(f"{ckpt_dir}/ckpt-{step}")):
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, f"no checkpoint within {timeout} s"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    return process.stdout.read()
