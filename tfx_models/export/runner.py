"""Runs an export's signatures the way TF Serving does, so nothing here can hide what it would refuse.

TF Serving's C++ loader never sees the Python object graph that
`tf.saved_model.load` rebuilds: it imports the `serve` MetaGraph into a
session, restores variables through the MetaGraph's saver, and runs a
signature by feeding and fetching the tensor names its SignatureDef lists.
`tf.compat.v1.saved_model.loader.load` is that same C++ path, so the embedded
server, the Beam prediction job and the conformance tests all load and run
exports through this module.

Loading also refuses an export whose graph reads a variable that the saver
never restores (the Keras 3 + `tf.Module` failure, see tfx_models.export),
naming the variable, and replays the warmup requests as TF Serving does; a
failing warmup request fails the load.
"""
from __future__ import annotations

import os
import threading

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow.python.util import deprecation

from tfx_models.export.contract import ASSETS_EXTRA, DEFAULT_SIGNATURE, WARMUP_FILE

SERVE_TAG = "serve"
# The SavedModel's own init op, stored as a SignatureDef; TF Serving does not serve it.
INIT_OP_SIGNATURE = "__saved_model_init_op"
_LOADER_LOCK = threading.Lock()


class ExportLoadError(RuntimeError):
    """The export cannot be loaded or warmed up the way TF Serving would."""


class SavedModelRunner:
    """One export loaded into its own graph and session; thread-safe `run`."""

    def __init__(self, path: str, *, intra_op_threads: int = 0, inter_op_threads: int = 0,
                 replay_warmup: bool = True):
        self.path = path.rstrip("/")
        self.graph = tf.Graph()
        config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=intra_op_threads,
                                          inter_op_parallelism_threads=inter_op_threads)
        self.session = tf.compat.v1.Session(graph=self.graph, config=config)
        try:
            # The v1 loader is deprecated for Python users, but it is TF Serving's path: silence the notice.
            with _LOADER_LOCK, deprecation.silence():
                meta = tf.compat.v1.saved_model.loader.load(self.session, [SERVE_TAG], self.path)
        except Exception as err:
            self.session.close()
            raise ExportLoadError(f"{self.path}: TF's SavedModel loader failed: {_first_line(err)}") from None
        self.signature_defs: dict[str, meta_graph_pb2.SignatureDef] = {
            k: v for k, v in meta.signature_def.items() if k != INIT_OP_SIGNATURE}
        self._check_variables_restored()
        self.warmup_count = self.replay_warmup() if replay_warmup else 0

    def _variables_read(self) -> list:
        """The variable handles the signatures' outputs depend on (a graph may hold unused ones)."""
        stack = [self.graph.get_tensor_by_name(info.name).op
                 for definition in self.signature_defs.values() for info in definition.outputs.values()]
        seen, handles = set(), []
        while stack:
            op = stack.pop()
            if op.name in seen:
                continue
            seen.add(op.name)
            if op.type == "VarHandleOp":
                handles.append(op.outputs[0])
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
        return handles

    def _check_variables_restored(self) -> None:
        """Every variable a signature reads must hold a value after the saver's restore."""
        handles = self._variables_read()
        if not handles:
            return
        with self.graph.as_default():
            checks = [tf.raw_ops.VarIsInitializedOp(resource=h) for h in handles]
        initialized = self.session.run(checks)
        missing = sorted(h.op.get_attr("shared_name").decode() or h.op.name
                         for h, ok in zip(handles, initialized) if not ok)
        if missing:
            self.session.close()
            raise ExportLoadError(
                f"{self.path}: variable {missing[0]!r} (and {len(missing) - 1} more) is read by a signature but "
                f"never restored by the SavedModel's saver; TF Serving would fail with 'Could not find "
                f"variable {missing[0]}'. Re-export with tfx_models.export.")

    def signature(self, name: str) -> meta_graph_pb2.SignatureDef:
        if name not in self.signature_defs:
            raise KeyError(f"{self.path}: no signature {name!r} (has {sorted(self.signature_defs)})")
        return self.signature_defs[name]

    def run(self, signature_name: str, inputs: dict[str, np.ndarray],
            output_keys=None) -> dict[str, np.ndarray]:
        """Feeds the signature's input tensors by name and fetches its outputs (all, or output_keys)."""
        definition = self.signature(signature_name or DEFAULT_SIGNATURE)
        expected = set(definition.inputs)
        if set(inputs) != expected:
            raise ValueError(f"signature {signature_name!r} takes inputs {sorted(expected)}, got {sorted(inputs)}")
        feeds = {definition.inputs[k].name: v for k, v in inputs.items()}
        keys = list(output_keys) if output_keys else list(definition.outputs)
        fetches = {k: definition.outputs[k].name for k in keys}
        return {k: _as_array(v) for k, v in self.session.run(fetches, feeds).items()}

    def replay_warmup(self) -> int:
        """Runs every request of assets.extra/tf_serving_warmup_requests; returns how many."""
        from tensorflow_serving.apis import prediction_log_pb2

        path = os.path.join(self.path, ASSETS_EXTRA, WARMUP_FILE)
        if not tf.io.gfile.exists(path):
            return 0
        count = 0
        for index, raw in enumerate(r.numpy() for r in tf.data.TFRecordDataset(path)):
            try:
                log = prediction_log_pb2.PredictionLog.FromString(raw)
            except Exception as err:
                raise ExportLoadError(f"{path}: record {index} is not a PredictionLog: {err}") from None
            kind = log.WhichOneof("log_type")
            if kind != "predict_log":
                raise ExportLoadError(f"{path}: record {index} is a {kind}; only predict_log warmups are used")
            request = log.predict_log.request
            try:
                self.run(request.model_spec.signature_name or DEFAULT_SIGNATURE,
                         {k: tf.make_ndarray(v) for k, v in request.inputs.items()})
            except Exception as err:
                self.session.close()
                raise ExportLoadError(f"{path}: warmup request {index} (signature "
                                      f"{request.model_spec.signature_name!r}) failed: {_first_line(err)}") from None
            count += 1
        return count

    def close(self) -> None:
        self.session.close()


def _as_array(value) -> np.ndarray:
    """Session.run gives numpy scalars and plain bytes for rank-0 outputs."""
    if isinstance(value, np.ndarray):
        return value
    return np.array(value, dtype=object if isinstance(value, bytes) else None)


def _first_line(err: Exception) -> str:
    text = getattr(err, "message", None) or str(err)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__
