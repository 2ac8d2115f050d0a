"""Choosing the tf.distribute strategy and who writes files under it.

The same training loop runs under all three; MultiWorkerMirroredStrategy reads
the cluster from TF_CONFIG. Following TF's multi-worker guide, only the chief
writes to the real output paths; other workers write to throw-away temp dirs
(saving is a collective op, so they must still take part).
"""
from __future__ import annotations

import os
import re
import tempfile

import tensorflow as tf

# The exit status of a worker that lost a peer: EX_TEMPFAIL, "try again" (rerun every worker).
EXIT_LOST_WORKER = 75
# How TensorFlow reports a multi-worker peer that died or froze (in 2-12 s: docs/training.md).
PEER_LOST = (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.AbortedError,
             tf.errors.DeadlineExceededError)
_TASK = re.compile(r"/job:(\w+)/replica:\d+/task:(\d+)")


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


class LostWorkerError(RuntimeError):
    """A multi-worker run lost a peer; the message is the one line every survivor prints."""


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    return bool(resolver is not None and resolver.task_type)


def lost_peer(strategy: tf.distribute.Strategy, error: Exception) -> str:
    """Which peer TensorFlow's error names ('worker 1 (host:port)'), by task or by address; in a
    two-task cluster the other task; else what the error says."""
    resolver = strategy.cluster_resolver
    tasks = {}
    for job, addresses in resolver.cluster_spec().as_dict().items():
        items = addresses.items() if isinstance(addresses, dict) else enumerate(addresses)
        tasks.update({(job, int(index)): address for index, address in items})
    me = (resolver.task_type, int(resolver.task_id))
    text = getattr(error, "message", None) or str(error)
    named = {(job, int(index)) for job, index in _TASK.findall(text)}
    named |= {task for task, address in tasks.items() if address in text}
    named.discard(me)
    if not named and len(tasks) == 2:
        named = set(tasks) - {me}
    if len(named) == 1:
        (job, index), = named
        return f"{job} {index} ({tasks.get((job, index), 'address unknown')})"
    if named:
        return "one of " + ", ".join(f"{job} {index} ({tasks.get((job, index), '?')})" for job, index in sorted(named))
    return f"a peer (TensorFlow did not say which: {' '.join(text.split())[:200]})"
