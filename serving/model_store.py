"""Which SavedModel versions are loaded, and swapping in new ones as they appear.

Follows TF Serving's default version policy: serve the highest integer
version under each model's base path. A poll thread loads a newer version
off to the side through TF's C++ SavedModel loader (as TF Serving does, so an
export TF Serving would refuse is refused here too), replays its warmup
requests, then swaps it in under a lock; requests already running keep their
reference to the old version and finish.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.protobuf import meta_graph_pb2

from media.storage import TENSORFLOW, read_text
from serving.errors import invalid, not_found
from tfx_models.export.contract import version_dirs
from tfx_models.export.runner import SavedModelRunner

LOG = logging.getLogger(__name__)
# A version still being copied in fails to load; retry it on later polls, then give up (as TF Serving).
MAX_LOAD_ATTEMPTS = 5


@dataclass(frozen=True)
class InputSpec:
    dtype: np.dtype          # object for DT_STRING
    tf_dtype: tf.dtypes.DType
    shape: tuple[int, ...] | None  # -1 = any; None = unknown rank


@dataclass
class Signature:
    name: str
    definition: meta_graph_pb2.SignatureDef
    runner: SavedModelRunner
    inputs: dict[str, InputSpec]
    batchable: bool   # every input and output is batch-major, so requests can be merged

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.runner.run(self.name, inputs)


@dataclass
class Servable:
    """One loaded version of one model."""

    name: str
    version: int
    path: str
    signatures: dict[str, Signature]
    signature_defs: dict[str, meta_graph_pb2.SignatureDef]
    runner: SavedModelRunner = field(repr=False)

    def signature(self, name: str) -> Signature:
        if name not in self.signatures:
            raise invalid(f'Serving signature name: "{name}" not found in signature def of model '
                          f"{self.name} version {self.version} (has {sorted(self.signatures)})")
        return self.signatures[name]


def _shape(proto) -> tuple[int, ...] | None:
    if proto.unknown_rank:
        return None
    return tuple(int(d.size) for d in proto.dim)


def load_servable(name: str, version: int, path: str) -> Servable:
    """Loads through TF's C++ loader (warmup replayed there), with the SignatureDefs requests are checked against."""
    runner = SavedModelRunner(path)
    signatures = {}
    for key, definition in runner.signature_defs.items():
        inputs = {}
        for input_name, info in definition.inputs.items():
            dtype = tf.as_dtype(info.dtype)
            inputs[input_name] = InputSpec(np.dtype(object) if dtype == tf.string else np.dtype(dtype.as_numpy_dtype),
                                           dtype, _shape(info.tensor_shape))
        shapes = [_shape(i.tensor_shape) for i in list(definition.inputs.values()) + list(definition.outputs.values())]
        batchable = all(s is not None and len(s) > 0 and s[0] == -1 for s in shapes)
        signatures[key] = Signature(key, definition, runner, inputs, batchable)
    return Servable(name, version, path, signatures, runner.signature_defs, runner)


def read_model_config(path: str) -> dict[str, str]:
    """name -> base_path from a model_config_list text proto (tensorflow_model_server's format)."""
    from tensorflow_serving.config import model_server_config_pb2

    text = read_text(TENSORFLOW, path)
    config = model_server_config_pb2.ModelServerConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as err:
        raise ValueError(f"{path}: not a ModelServerConfig text proto: {err}") from None
    models = {}
    for entry in config.model_config_list.config:
        if not entry.name or not entry.base_path:
            raise ValueError(f"{path}: every config needs name and base_path, got {entry}")
        if entry.model_platform not in ("", "tensorflow"):
            raise ValueError(f"{path}: model {entry.name}: platform {entry.model_platform!r} unsupported")
        models[entry.name] = entry.base_path
    if not models:
        raise ValueError(f"{path}: model_config_list lists no models")
    return models


class ModelStore:
    """Latest version of each model, with per-version states for GetModelStatus."""

    def __init__(self, models: dict[str, str], poll_seconds: float = 1.0):
        self.models = dict(models)
        self.poll_seconds = poll_seconds
        self._current: dict[str, Servable] = {}
        # name -> version -> (state, error message); states as in TF Serving's ModelVersionStatus.
        self._states: dict[str, dict[int, tuple[str, str]]] = {name: {} for name in models}
        self._failures: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> None:
        """Loads each model's highest version if it is newer than the one served."""
        for name, base in self.models.items():
            versions = sorted(version_dirs(base))
            if not versions:
                continue
            latest = versions[-1]
            current = self._current.get(name)
            if (current and current.version >= latest) or self._failures.get((name, latest), 0) >= MAX_LOAD_ATTEMPTS:
                continue
            self._set_state(name, latest, "LOADING")
            try:
                servable = load_servable(name, latest, f"{base.rstrip('/')}/{latest}")
            except Exception as err:  # a broken export must not take the server down
                attempts = self._failures[(name, latest)] = self._failures.get((name, latest), 0) + 1
                LOG.error("model %s version %d failed to load (attempt %d of %d): %s",
                          name, latest, attempts, MAX_LOAD_ATTEMPTS, err)
                self._set_state(name, latest, "END", f"load failed: {err}")
                continue
            with self._lock:
                old = self._current.get(name)
                self._current[name] = servable
                self._states[name][latest] = ("AVAILABLE", "")
                if old is not None:
                    self._states[name][old.version] = ("END", "")
            LOG.info("serving model %s version %d from %s", name, latest, servable.path)

    def _set_state(self, name: str, version: int, state: str, error: str = "") -> None:
        with self._lock:
            self._states[name][version] = (state, error)

    def get(self, name: str, version: int | None = None) -> Servable:
        with self._lock:
            servable = self._current.get(name)
        if name not in self.models:
            raise not_found(f"Servable not found for request: model {name!r} is not served "
                            f"(models: {sorted(self.models)})")
        if servable is None:
            raise not_found(f"Servable not found for request: model {name!r} has no loaded version "
                            f"under {self.models[name]}")
        if version is not None and version != servable.version:
            raise not_found(f"Servable not found for request: Specific({name}, {version}); "
                            f"version {servable.version} is served")
        return servable

    def states(self, name: str, version: int | None = None) -> list[tuple[int, str, str]]:
        """[(version, state, error message)] newest first."""
        if name not in self.models:
            raise not_found(f"Could not find any versions of model {name!r}")
        with self._lock:
            states = dict(self._states[name])
        if version is not None:
            if version not in states:
                raise not_found(f"Could not find version {version} of model {name!r}")
            states = {version: states[version]}
        return [(v, s, e) for v, (s, e) in sorted(states.items(), reverse=True)]

    def start_polling(self) -> None:
        if self.poll_seconds > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._poll, name="model-store-poll", daemon=True)
            self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # keep polling through transient file-system errors
                LOG.exception("polling model base paths failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
