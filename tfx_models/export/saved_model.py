"""Trained Keras models -> SavedModels in TF Serving's layout, ready to serve.

`<base>/<name>/<version>/` holds three signatures:
- `serving_default`: preprocessed test inputs (`rgb` uint8 [N,c,c,3] and/or
  `flow` float32 [N,c,c,2L]) -> `probabilities`, `top_k_indices`,
  `top_k_scores`, `top_k_classes`, so clients need no label map;
- `predict_records`: serialized ingest records (string [N]) -> per-video
  scores, averaged over `record_frames` equally spaced frames/volumes taken
  in-graph at the centre crop (a cheaper version of the 25 x 10 protocol);
- `metadata`: the class names and preprocessing constants (it takes an ignored
  scalar `probe` because TF Serving refuses signatures without inputs);
- `embed`, only when the model has an `embedding` output (a Siamese branch):
  the inputs of `serving_default` -> `embedding`, for retrieval.
The same constants go to `assets.extra/preprocessing.json`, and
`assets.extra/tf_serving_warmup_requests` lets TF Serving warm the model up.
`<base>/models.config` and `<base>/batching_parameters.txt` configure a server
for everything under `<base>`.

The SavedModel is written by Keras's ExportArchive, not by tf.saved_model.save
of a tf.Module holding the model. Why: a Keras 3 variable is a wrapper around
a tf.Variable. Saved as a tracked attribute, the wrapper exports a *copy*
(`tf.Variable(value)`, named "Variable", "Variable_1", ...) which the
MetaGraph's saver restores, while the signature functions read the wrapped
variable, whose handle ("logits/kernel") nothing restores. tf.saved_model.load
rebuilds the Python object graph and papers over it; TF Serving's C++ loader
(restore by saver, run by tensor name) fails with "Could not find variable
logits/kernel" (tensorflow/tensorflow#72963, keras-team/keras#20095).
ExportArchive tracks exactly the tf.Variables the endpoints capture, so the
saver restores the variables the graph reads. tfx_models.export.runner
checks every export on that path.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys

import keras
import numpy as np
import tensorflow as tf

from media.records import decode_flow_tf, decode_rgb_tf, encode_record, parse_record_tf
from tfx_models.export.contract import (ASSETS_EXTRA, DEFAULT_SIGNATURE, EMBED_SIGNATURE, EMBEDDING_OUTPUT,
                                       METADATA_PROBE, METADATA_SIGNATURE, PREPROCESSING_FILE, RECORDS_SIGNATURE,
                                       WARMUP_FILE, Preprocessing, version_dirs)
from tfx_models import cli, runs
from tfx_models import kinds  # noqa: F401 (registers the kinds runs.load_model_from_run builds)
from tfx_models.data import stacking_tf
from tfx_models.kinds.two_stream import two_stream_model
from tfx_models.training.divergence import DivergenceError, check_variables

MODELS_CONFIG = "models.config"
BATCHING_FILE = "batching_parameters.txt"
DEFAULT_BATCHING = """\
max_batch_size { value: 32 }
batch_timeout_micros { value: 2000 }
max_enqueued_batches { value: 100 }
num_batch_threads { value: 2 }
"""


def probabilities_key(model, task: str) -> str:
    """The output holding the served class scores: the only head, or the head of `task`."""
    outputs = model.output
    if "probabilities" in outputs:
        return "probabilities"
    key = f"probabilities_{task}"
    if key not in outputs:
        heads = sorted(k[len("probabilities_"):] for k in outputs if k.startswith("probabilities_"))
        raise ValueError(f"model {model.name!r} is multi-task (heads {heads}): choose one with "
                         f"--task, got {task!r}")
    return key


def _input_specs(model, prep: Preprocessing) -> dict[str, tf.TensorSpec]:
    specs = {}
    for name in prep.input_names:
        if name not in model.input:
            raise ValueError(f"model {model.name!r} has inputs {sorted(model.input)}, "
                             f"preprocessing needs {name!r}")
        shape = tuple(model.input[name].shape[1:])
        dtype = tf.uint8 if name == "rgb" else tf.float32
        specs[name] = tf.TensorSpec((None, *shape), dtype, name=name)
    return specs


class ServingSignatures:
    """A Keras model plus its class names and constants -> the functions behind the signatures."""

    def __init__(self, model, prep: Preprocessing):
        self.model = model
        self.prep = prep
        self.specs = _input_specs(model, prep)
        self.scores_key = probabilities_key(model, prep.task)
        # Fusion models' per-stream scores are served beside the fused ones.
        self.extra_keys = sorted(k for k in model.output if k.endswith("_probabilities"))

    @property
    def class_names(self):
        # Built inside each traced function, so each signature's graph holds it as a plain constant.
        return tf.constant(list(self.prep.classes))

    @property
    def embeds(self) -> bool:
        return EMBEDDING_OUTPUT in self.model.output

    def input_signatures(self) -> dict[str, list]:
        signatures = {DEFAULT_SIGNATURE: [dict(self.specs)],
                      RECORDS_SIGNATURE: [tf.TensorSpec([None], tf.string, name="records")],
                      METADATA_SIGNATURE: [tf.TensorSpec([], tf.int32, name=METADATA_PROBE)]}
        if self.embeds:
            signatures[EMBED_SIGNATURE] = [dict(self.specs)]
        return signatures

    def functions(self) -> dict:
        functions = {DEFAULT_SIGNATURE: self._serve, RECORDS_SIGNATURE: self._predict_records,
                     METADATA_SIGNATURE: self._metadata}
        if self.embeds:
            functions[EMBED_SIGNATURE] = self._embed
        return functions

    def archive(self) -> keras.export.ExportArchive:
        archive = keras.export.ExportArchive()
        archive.track(self.model)
        signatures = self.input_signatures()
        for name, fn in self.functions().items():
            archive.add_endpoint(name, fn, input_signature=signatures[name])
        return archive

    def _scores(self, inputs: dict) -> dict:
        outputs = self.model(inputs, training=False)
        return {"probabilities": outputs[self.scores_key],
                **{k: outputs[k] for k in self.extra_keys}}

    def _with_top_k(self, scores: dict) -> dict:
        top = tf.math.top_k(scores["probabilities"], k=self.prep.k)
        return {**scores, "top_k_scores": top.values, "top_k_indices": top.indices,
                "top_k_classes": tf.gather(self.class_names, top.indices)}

    def _serve(self, inputs):
        model_inputs = {k: tf.cast(v, tf.float32) for k, v in inputs.items()}
        return self._with_top_k(self._scores(model_inputs))

    def _embed(self, inputs):
        model_inputs = {k: tf.cast(v, tf.float32) for k, v in inputs.items()}
        return {EMBEDDING_OUTPUT: self.model(model_inputs, training=False)[EMBEDDING_OUTPUT]}

    def _record_inputs(self, serialized):
        """One record -> {input name: [M,(T,)c,c,ch]} for M equally spaced centre crops, sampled as
        media.stacking's test batches are (joint models: aligned snippets)."""
        p = self.prep
        parsed = parse_record_tf(serialized)
        frames = tf.shape(parsed["rgb"])[0]
        tf.debugging.assert_positive(frames, message="record has no RGB frames")
        out = {}
        if p.joint:
            if "temporal" in p.streams:
                num_fields = self._assert_flow(parsed)
                positions, length, bidirectional = num_fields, p.length, p.bidirectional
            else:  # RGB-only clips over all frames (media.stacking.clip_starts): the record's flow is unused
                positions, length, bidirectional = frames, 1, False
            low, last_first = stacking_tf.first_snippet_range(positions, length, bidirectional, p.snippets,
                                                              p.snippet_stride)
            firsts = _equally_spaced(low, last_first, p.record_frames)
            clips = [stacking_tf.snippet_starts(positions, length, bidirectional, p.snippets, p.snippet_stride,
                                                firsts[i]) for i in range(p.record_frames)]
            if "spatial" in p.streams:
                out["rgb"] = self._clips(lambda t: self._frame_at(parsed, t), clips)
            if "temporal" in p.streams:
                out["flow"] = self._clips(lambda t: self._volume_at(parsed, t, num_fields), clips)
            return out
        if "spatial" in p.streams:
            positions = _equally_spaced(0, frames - 1, p.record_frames)
            out["rgb"] = tf.stack([self._frame_at(parsed, positions[i]) for i in range(p.record_frames)])
        if "temporal" in p.streams:
            num_fields = self._assert_flow(parsed)
            low, high = stacking_tf.start_range(num_fields, p.length, p.bidirectional)
            positions = _equally_spaced(low, high, p.record_frames)
            out["flow"] = tf.stack([self._volume_at(parsed, positions[i], num_fields)
                                    for i in range(p.record_frames)])
        return out

    def _clips(self, image_at, clips):
        stacked = tf.stack([tf.stack([image_at(clip[j]) for j in range(self.prep.snippets)]) for clip in clips])
        return stacked[:, 0] if self.prep.snippets == 1 else stacked

    def _assert_flow(self, parsed):
        num_fields = tf.shape(parsed["flow_x"])[0]
        tf.debugging.assert_positive(num_fields, message="record has no flow fields (one frame)")
        if self.prep.bidirectional:
            tf.debugging.assert_equal(
                tf.shape(parsed["flow_back_x"])[0], num_fields,
                message="bidirectional model needs records ingested with backward flow")
        return num_fields

    def _frame_at(self, parsed, t):
        size = self.prep.crop_size
        return _centre_crop(stacking_tf.resize_to_cover(decode_rgb_tf(tf.gather(parsed["rgb"], t)), size, False),
                            size, False)

    def _volume_at(self, parsed, start, num_fields):
        p = self.prep
        half = p.length // 2 if p.bidirectional else p.length
        forward, backward = stacking_tf.field_indices(num_fields, start, p.length, p.bidirectional)
        bound = parsed["flow_bound"]
        fields = tf.ensure_shape(decode_flow_tf(tf.gather(parsed["flow_x"], forward),
                                                tf.gather(parsed["flow_y"], forward), bound),
                                 [half, None, None, 2])
        back = None
        if p.bidirectional:
            back = tf.ensure_shape(decode_flow_tf(tf.gather(parsed["flow_back_x"], backward),
                                                  tf.gather(parsed["flow_back_y"], backward), bound),
                                   [half, None, None, 2])
        volume = stacking_tf.flow_volume(fields, back, stacking=p.stacking, mean_subtraction=p.mean_subtraction)
        return _centre_crop(stacking_tf.resize_to_cover(volume, p.crop_size, True), p.crop_size, True)

    def _predict_records(self, records):
        m = self.prep.record_frames
        signature = {name: tf.TensorSpec([m, *spec.shape[1:]], tf.float32)
                     for name, spec in self.specs.items()}
        per_record = tf.map_fn(self._record_inputs, records, fn_output_signature=signature)
        flat = {k: tf.reshape(v, [-1, *v.shape[2:]]) for k, v in per_record.items()}
        scores = self._scores(flat)
        count = tf.shape(records)[0]
        averaged = {k: tf.reduce_mean(tf.reshape(v, [count, m, v.shape[-1]]), axis=1) for k, v in scores.items()}
        return self._with_top_k(averaged)

    def _metadata(self, probe):
        del probe  # only there because TF Serving needs an input
        p = self.prep
        return {
            "classes": self.class_names,
            "preprocessing_json": tf.constant(p.to_json()),
            "streams": tf.constant(list(p.streams)),
            "crop_size": tf.constant(p.crop_size),
            "length": tf.constant(p.length),
            "stacking": tf.constant(p.stacking),
            "bidirectional": tf.constant(p.bidirectional),
            "mean_subtraction": tf.constant(p.mean_subtraction),
            "size": tf.constant(p.size),
            "flow_algorithm": tf.constant(p.flow_algorithm),
            "flow_bound": tf.constant(p.flow_bound, tf.float32),
            "jpeg_quality": tf.constant(p.jpeg_quality),
            "record_frames": tf.constant(p.record_frames),
            "kind": tf.constant(p.kind),
            "joint": tf.constant(p.joint),
            "snippets": tf.constant(p.snippets),
            "snippet_stride": tf.constant(p.snippet_stride),
        }


def _equally_spaced(low, high, count: int):
    """media.stacking.equally_spaced in TF (both round half to even)."""
    return tf.cast(tf.round(tf.linspace(tf.cast(low, tf.float64), tf.cast(high, tf.float64), count)), tf.int32)


def _centre_crop(image, size: int, is_flow: bool):
    """media.stacking.crop_boxes(crops=1): the centre box, rounded towards the top-left."""
    shape = tf.shape(image)
    return stacking_tf.crop(image, (shape[0] - size) // 2, (shape[1] - size) // 2, size,
                            tf.constant(False), is_flow)


def warmup_record(prep: Preprocessing) -> bytes:
    """A small blank video record of the export's size, enough for one flow volume."""
    side = max(prep.crop_size, 16)
    frames = np.full([prep.length + 1, side, side, 3], 128, np.uint8)
    flow = np.zeros([prep.length, side, side, 2], np.float32)
    return encode_record(id="warmup", path="warmup", dataset="warmup", label=0, label_name=prep.classes[0],
                         group="warmup", view=0, fps=25.0, frames=frames, flow=flow,
                         backward_flow=flow if prep.bidirectional else None, flow_bound=prep.flow_bound,
                         flow_algorithm=prep.flow_algorithm, jpeg_quality=prep.jpeg_quality)


def warmup_records(specs: dict[str, tf.TensorSpec], prep: Preprocessing, name: str,
                   signatures=(DEFAULT_SIGNATURE, RECORDS_SIGNATURE, METADATA_SIGNATURE)) -> list[bytes]:
    """PredictionLogs TF Serving replays at load, one per signature, so a load exercises every one."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    frames = {k: np.zeros([1, *spec.shape[1:]], spec.dtype.as_numpy_dtype) for k, spec in specs.items()}
    requests = {DEFAULT_SIGNATURE: frames, EMBED_SIGNATURE: frames,
                RECORDS_SIGNATURE: {"records": np.array([warmup_record(prep)], dtype=object)},
                METADATA_SIGNATURE: {METADATA_PROBE: np.int32(0)}}
    requests = {signature: requests[signature] for signature in signatures}
    logs = []
    for signature, inputs in requests.items():
        request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=name, signature_name=signature))
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
        logs.append(log.SerializeToString())
    return logs


def export_model(model, prep: Preprocessing, base: str, name: str, version: int | None = None) -> str:
    """Writes `<base>/<name>/<version>/` (next free version by default) and the server configs.

    Locally the SavedModel is written to a hidden folder and renamed into
    place, so a server polling `<base>/<name>` never loads a half-written
    version (on gs:// the server's load retries cover that window).
    """
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"model name {name!r}: use letters, digits, '_', '-', '.'")
    model_dir = os.path.join(base, name)
    existing = version_dirs(model_dir)
    version = version if version is not None else max(existing, default=0) + 1
    if version < 1:
        raise ValueError(f"version must be a positive integer, got {version}")
    if version in existing:
        raise FileExistsError(f"{existing[version]} already exists; pick another --version")
    # A diverged run would be served as NaN scores that rank like any others.
    check_variables(model.weights, f"model {model.name!r} cannot be exported")
    signatures = ServingSignatures(model, prep)
    final = os.path.join(model_dir, str(version))
    # Object stores (gs://) cannot rename folders: write in place there.
    staging = final if "://" in base else os.path.join(model_dir, f".staging-{version}-{os.getpid()}")
    if tf.io.gfile.exists(staging):
        tf.io.gfile.rmtree(staging)
    signatures.archive().write_out(staging, verbose=False)
    extra = os.path.join(staging, ASSETS_EXTRA)
    tf.io.gfile.makedirs(extra)
    with tf.io.gfile.GFile(os.path.join(extra, PREPROCESSING_FILE), "w") as f:
        f.write(prep.to_json())
    with tf.io.TFRecordWriter(os.path.join(extra, WARMUP_FILE)) as writer:
        for record in warmup_records(signatures.specs, prep, name, tuple(signatures.functions())):
            writer.write(record)
    if staging != final:
        tf.io.gfile.rename(staging, final)
    write_server_configs(base)
    return final


def write_server_configs(base: str, model_root: str | None = None) -> None:
    """models.config listing every model under `base`; batching_parameters.txt unless present.

    model_root replaces `base` in the config's paths (e.g. /models inside the
    tensorflow/serving container); a local base is written absolute, a URL (gs://) as given.
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    root = (model_root or (base if "://" in base else os.path.abspath(base))).rstrip("/")
    config = model_server_config_pb2.ModelServerConfig()
    for entry in sorted(tf.io.gfile.listdir(base)):
        entry = entry.rstrip("/")
        if version_dirs(os.path.join(base, entry)):
            model = config.model_config_list.config.add()
            model.name, model.base_path, model.model_platform = entry, f"{root}/{entry}", "tensorflow"
    with tf.io.gfile.GFile(os.path.join(base, MODELS_CONFIG), "w") as f:
        f.write(text_format.MessageToString(config))
    batching = os.path.join(base, BATCHING_FILE)
    if not tf.io.gfile.exists(batching):
        with tf.io.gfile.GFile(batching, "w") as f:
            f.write(DEFAULT_BATCHING)


# Command line ---------------------------------------------------------------

def preprocessing_from_runs(run_infos: list[dict], *, task: str | None, record_frames: int,
                            top_k: int) -> Preprocessing:
    """Merge run_info.json of one run (any kind), or of a spatial and a temporal run for late fusion."""
    per_run = [tuple(runs.streams_of(info)) for info in run_infos]
    streams = [s for run in per_run for s in run]
    if len(set(streams)) != len(streams):
        raise ValueError(f"late fusion export needs one spatial and one temporal run, got {per_run}")
    class_lists = [_classes(info, task) for info in run_infos]
    if any(c != class_lists[0] for c in class_lists[1:]):
        raise ValueError("the runs were trained on different class lists; late fusion needs the same")
    temporal = next((i for i, run in zip(run_infos, per_run) if "temporal" in run), run_infos[0])
    flow = temporal.get("flow") or {}
    # run_info's size is the records' short side; 0 means frames were stored unresized.
    size = temporal.get("size", flow.get("size"))
    stride = temporal.get("snippet_stride") or (10, 10)
    snippets = int(temporal.get("snippets", 1))
    if len(run_infos) > 1 and any(int(info.get("snippets", 1)) > 1 for info in run_infos):
        raise ValueError("late fusion export of clip models (snippets > 1) is not supported: export each run "
                         "alone (tfx_models.evaluate scores their late fusion)")
    return Preprocessing(
        streams=tuple(sorted(streams)), classes=tuple(class_lists[0][1]), task=class_lists[0][0],
        crop_size=int(run_infos[0]["crop_size"]), length=int(temporal.get("length", 10)),
        stacking=temporal.get("stacking", "optical_flow"),
        bidirectional=bool(temporal.get("bidirectional", False)),
        mean_subtraction=bool(temporal.get("mean_subtraction", True)),
        size=256 if size is None else int(size),
        stride=int(temporal.get("stride") or 1), max_frames=int(temporal.get("max_frames") or 0),
        flow_algorithm=flow.get("algorithm", "dis_fast"), flow_bound=float(flow.get("bound", 20.0)),
        jpeg_quality=int(flow.get("jpeg_quality", 90)), record_frames=record_frames, top_k=top_k,
        kind="late_fusion" if len(run_infos) > 1 else run_infos[0].get("kind", "stream"),
        # One model over both streams, or over clips of one (a 3D net): joint test sampling.
        joint=len(run_infos) == 1 and (len(per_run[0]) > 1 or snippets > 1), snippets=snippets,
        snippet_stride=int(round(sum(stride) / 2)))


def _classes(info: dict, task: str | None) -> tuple[str, list[str]]:
    """(task, class names) from run_info's classes: {task: [names]} or a plain list."""
    classes = info["classes"]
    if isinstance(classes, list):
        return task or info.get("dataset", ""), classes
    if task is None:
        if len(classes) != 1:
            raise ValueError(f"multi-task run (tasks {sorted(classes)}): pass --task")
        task = next(iter(classes))
    if task not in classes:
        raise ValueError(f"--task {task!r} not among the run's tasks {sorted(classes)}")
    return task, classes[task]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tfx_models.export",
        description="Export trained run(s) as a SavedModel in TF Serving's <base>/<name>/<version> layout. "
                    "One --run_dir exports that stream; a spatial and a temporal --run_dir export their "
                    "late fusion (averaged softmax scores).")
    parser.add_argument("--run_dir", action="append", required=True,
                        help="training run directory (repeat once for a two-stream fusion)")
    parser.add_argument("--base", required=True, help="serving base directory (holds <name>/<version>)")
    parser.add_argument("--name", required=True, help="model name clients will ask for")
    parser.add_argument("--version", type=int, default=None, help="integer version (default: next free)")
    parser.add_argument("--task", default=None, help="head to serve when a run is multi-task, e.g. ucf101")
    parser.add_argument("--record_frames", type=int, default=5,
                        help="frames/volumes predict_records samples per record (centre crop)")
    parser.add_argument("--top_k", type=int, default=5)
    parser.add_argument("--config_model_root", default=None,
                        help="path of <base> as the server sees it in models.config (e.g. /models in the "
                             "tensorflow/serving container); default: <base>'s absolute path")
    args = cli.add_flags(parser).parse_args(argv)
    if len(args.run_dir) > 2:
        parser.error("at most two --run_dir (one spatial, one temporal)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    loaded = [runs.load_model_from_run(run_dir) for run_dir in args.run_dir]
    prep = preprocessing_from_runs([info for _, info in loaded], task=args.task,
                                   record_frames=args.record_frames, top_k=args.top_k)
    if len(loaded) == 1:
        model = loaded[0][0]
    else:
        by_stream = {runs.streams_of(info)[0]: model for model, info in loaded}
        model = two_stream_model(by_stream["spatial"], by_stream["temporal"], task=prep.task or None)
    try:
        path = export_model(model, prep, args.base, args.name, args.version)
    except DivergenceError as err:
        print(f"error: {', '.join(args.run_dir)}: {err}", file=sys.stderr)
        return 2
    if args.config_model_root:
        write_server_configs(args.base, args.config_model_root)
    print(json.dumps({"export": path, "signatures": list(ServingSignatures(model, prep).functions()),
                      "models_config": os.path.join(args.base, MODELS_CONFIG),
                      "batching_parameters": os.path.join(args.base, BATCHING_FILE)}, indent=2))
    return 0

