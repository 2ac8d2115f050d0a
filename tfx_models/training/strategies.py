"""Choosing the tf.distribute strategy and who writes files under it.

The same training loop runs under all three; MultiWorkerMirroredStrategy reads
the cluster from TF_CONFIG. Following TF's multi-worker guide, only the chief
writes to the real output paths; other workers write to throw-away temp dirs
(saving is a collective op, so they must still take part).
"""
from __future__ import annotations

import os
import tempfile

import tensorflow as tf


def split_cpu(count: int) -> None:
    """Exposes the CPU as `count` logical devices (must run before TF initialises)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def make_strategy(name: str) -> tf.distribute.Strategy:
    """'default' (one device), 'mirrored' (all local GPUs, else all logical CPUs), 'multi_worker'."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("train.strategy=multi_worker needs the TF_CONFIG environment variable")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}: use default, mirrored or multi_worker")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def writable_dir(real_dir: str, strategy: tf.distribute.Strategy) -> str:
    """real_dir on the chief; a fresh temp dir on other workers (caller removes it)."""
    if is_chief(strategy):
        return real_dir
    return tempfile.mkdtemp(prefix="worker_scratch_")
