"""The request path both front ends share: admit, find the servable, decode, validate, run.

Order matters: a request takes a concurrency slot before its tensors are
decoded, so a flood of large requests waits (or is refused) undecoded.

Validation follows what TF Serving checks against the SignatureDef (input
names, dtype, shape), so a request that passes here passes there and a bad one
gets the same status code.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

import grpc
import numpy as np
import tensorflow as tf

from serving.batching import Batcher
from serving.decoding import RequestLimits
from serving.errors import ServingError, exhausted, invalid
from serving.model_store import ModelStore, Servable, Signature
from tfx_models.export.contract import DEFAULT_SIGNATURE

log = logging.getLogger(__name__)


class RequestLimiter:
    """At most `max_concurrent` requests run; `max_queued` more may wait; the rest are refused."""

    def __init__(self, max_concurrent: int, max_queued: int):
        if max_concurrent < 1 or max_queued < 0:
            raise ValueError("max_concurrent must be >= 1 and max_queued >= 0")
        self.capacity = max_concurrent + max_queued
        self._running = threading.BoundedSemaphore(max_concurrent)
        self._admitted = 0
        self._lock = threading.Lock()

    @contextmanager
    def slot(self):
        with self._lock:
            if self._admitted >= self.capacity:
                raise exhausted(f"server busy: {self._admitted} requests in flight or queued "
                                f"(limit {self.capacity}); retry later")
            self._admitted += 1
        try:
            with self._running:
                yield
        finally:
            with self._lock:
                self._admitted -= 1


def check_inputs(signature: Signature, inputs: dict[str, np.ndarray]) -> None:
    expected, given = set(signature.inputs), set(inputs)
    if expected != given:
        raise invalid(f"input size does not match signature {signature.name!r}: {len(given)}!={len(expected)} "
                      f"len({{{', '.join(sorted(given))}}}) != len({{{', '.join(sorted(expected))}}}); "
                      f"missing: {sorted(expected - given)}, unexpected: {sorted(given - expected)}")
    batch = None
    for name, spec in signature.inputs.items():
        value = inputs[name]
        if value.dtype != spec.dtype and not (spec.dtype == object and value.dtype.kind in "SUO"):
            raise invalid(f"input {name!r} of signature {signature.name!r} expects {spec.tf_dtype.name}, "
                          f"got {tf.as_dtype(value.dtype).name if value.dtype != object else 'string'}")
        if spec.shape is not None:
            shape = value.shape
            if len(shape) != len(spec.shape) or any(e not in (-1, g) for e, g in zip(spec.shape, shape)):
                raise invalid(f"input {name!r} of signature {signature.name!r} expects shape "
                              f"{list(spec.shape)} (-1 = any), got {list(shape)}")
        if signature.batchable:
            if batch is not None and value.shape[0] != batch:
                raise invalid(f"inputs of signature {signature.name!r} disagree on the batch size "
                              f"(dim 0): {batch} vs {value.shape[0]} for {name!r}")
            batch = value.shape[0]


class Predictor:
    """Finds servables and runs validated inputs; the front ends take a limiter slot around decode + run."""

    def __init__(self, store: ModelStore, limiter: RequestLimiter, batcher: Batcher | None = None,
                 limits: RequestLimits = RequestLimits()):
        self.store, self.limiter, self.batcher, self.limits = store, limiter, batcher, limits

    def find(self, name: str, version: int | None, signature_name: str) -> tuple[Servable, Signature]:
        servable = self.store.get(name, version)
        return servable, servable.signature(signature_name or DEFAULT_SIGNATURE)

    def run(self, servable: Servable, signature: Signature, inputs: dict[str, np.ndarray],
            output_filter=()) -> dict[str, np.ndarray]:
        """Validates `inputs` against the signature and runs it. Raises ServingError."""
        check_inputs(signature, inputs)
        unknown = set(output_filter) - set(signature.definition.outputs)
        if unknown:
            raise invalid(f"output_filter names unknown outputs {sorted(unknown)} of signature "
                          f"{signature.name!r} (has {sorted(signature.definition.outputs)})")
        outputs = self._run(servable, signature, inputs)
        _warn_if_non_finite(servable, signature, outputs)
        if output_filter:
            outputs = {k: v for k, v in outputs.items() if k in set(output_filter)}
        return outputs

    def _run(self, servable: Servable, signature: Signature, inputs: dict[str, np.ndarray]):
        try:
            rows = next(iter(inputs.values())).shape[0] if signature.batchable else 0
            if self.batcher is None or not signature.batchable or rows == 0:
                return signature(inputs)
            key = (servable.path, signature.name,
                   tuple((k, v.shape[1:], v.dtype.str) for k, v in sorted(inputs.items())))
            return self.batcher.run(key, signature, inputs)
        except ServingError:
            raise
        except tf.errors.InvalidArgumentError as err:
            raise invalid(f"model {servable.name} version {servable.version} signature "
                          f"{signature.name!r} rejected the input: {_first_line(err.message)}") from None
        except (ValueError, TypeError) as err:
            raise invalid(f"signature {signature.name!r}: {err}") from None
        except Exception as err:
            raise ServingError(grpc.StatusCode.INTERNAL, f"{type(err).__name__}: {err}") from None


def _warn_if_non_finite(servable: Servable, signature: Signature, outputs: dict[str, np.ndarray]) -> None:
    """Passes NaN outputs through, as TF Serving does (so a client written against this server
    handles TF Serving too), but says so in the server's log: the operator should know."""
    for key, value in outputs.items():
        value = np.asarray(value)
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            log.warning("model %s version %s signature %r: output %r holds %d non-finite values",
                        servable.name, servable.version, signature.name, key, int((~np.isfinite(value)).sum()))


def _first_line(message: str) -> str:
    lines = [line for line in message.splitlines() if line.strip()]
    return lines[0] if lines else message
