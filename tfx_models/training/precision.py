"""`train.precision=auto`: mixed_float16 on a GPU; on a CPU, whichever of float32 and
mixed_bfloat16 trains this model faster on this machine, timed on a training batch before
the run starts.

No fixed rule holds on CPUs: with AVX-512 BF16 here, the demo's temporal net trains faster in
bfloat16 and its spatial net slower (docs/performance.md). bfloat16 is taken only when it is
at least MARGIN faster, since it rounds activations to 8 bits of mantissa. The choice is
recorded in run_info.json and reused when the run resumes. Multi-worker runs must agree on
one policy without a second timing per worker, so they name it.
"""
from __future__ import annotations

import time
from typing import Callable

import keras
import tensorflow as tf

CANDIDATES = ("float32", "mixed_bfloat16")
MARGIN = 0.10  # bfloat16 must save at least this share of a step's time


def seconds_per_step(policy: str, build: Callable[[], keras.Model], loss_fn, batch: tuple, batch_size: int,
                     *, steps: int = 8, warmup: int = 3) -> float:
    """Time of one SGD step (forward, loss, gradients, update) of a fresh model under `policy`."""
    keras.mixed_precision.set_global_policy(policy)
    model = build()
    optimizer = keras.optimizers.SGD(learning_rate=0.0)

    @tf.function
    def step(features, targets):
        with tf.GradientTape() as tape:
            loss, _ = loss_fn(model(features, training=True), targets, batch_size)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    features, targets = batch
    for _ in range(warmup):
        float(step(features, targets))
    start = time.perf_counter()
    for _ in range(steps):
        loss = step(features, targets)
    float(loss)
    return (time.perf_counter() - start) / steps


def choose(build: Callable[[], keras.Model], loss_fn, batch: tuple, batch_size: int, **timing) -> dict:
    """{"policy": the faster candidate, "seconds_per_step": {candidate: seconds}}. The timing
    models are let go and the global policy restored; variable paths do not depend on how many
    models were built before (the kinds name their layers), so checkpoints are unaffected."""
    previous = keras.mixed_precision.global_policy().name
    try:
        timings = {p: seconds_per_step(p, build, loss_fn, batch, batch_size, **timing) for p in CANDIDATES}
    finally:
        keras.backend.clear_session()
        keras.mixed_precision.set_global_policy(previous)
    return {"policy": pick(timings), "seconds_per_step": {p: round(s, 5) for p, s in timings.items()}}


def pick(seconds: dict[str, float]) -> str:
    """mixed_bfloat16 when its step takes at most (1 - MARGIN) of float32's, else float32."""
    return "mixed_bfloat16" if seconds["mixed_bfloat16"] <= (1 - MARGIN) * seconds["float32"] else "float32"
