"""Every export runs in TF's C++ SavedModel loader, the path TF Serving takes, and gives the in-memory scores.

`tf.saved_model.load` rebuilds the Python object graph and so runs exports
that TF Serving cannot (tfx_models.export explains why); these tests never use
it. They run each signature of each exported model kind through
`saved_model_cli run` (TensorFlow's own tool) or the same loader in-process
(tfx_models.export.runner), and replay the warmup file there.
"""
from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from media.flow import FlowEstimator, compute_flows
from media.records import decode_record, encode_record
from media.stacking import evaluation_batch
from media.video import resize_short_side
from tests.test_serving_fixtures import CLASSES, SIZE, moving_frames, preprocessing, stream_model
from tfx_models.export import saved_model as export
from tfx_models.export.contract import ASSETS_EXTRA, WARMUP_FILE
from tfx_models.kinds.two_stream import two_stream_model
from tfx_models.export.runner import ExportLoadError, SavedModelRunner

SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")


def multi_task_model() -> keras.Model:
    keras.utils.set_random_seed(2)
    inputs = keras.Input((32, 32, 4), name="flow")
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv1")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = {}
    for task, classes in (("ucf101", len(CLASSES)), ("hmdb51", 3)):
        logits = keras.layers.Dense(classes, name=f"logits_{task}")(x)
        outputs[f"logits_{task}"] = logits
        outputs[f"probabilities_{task}"] = keras.layers.Softmax(name=f"probabilities_{task}")(logits)
    return keras.Model({"flow": inputs}, outputs, name="multitask")


def conv_fusion_model(snippets: int = 1, mode: str = "2d_conv_2d_pool", keep_temporal: bool = True):
    from tfx_models.backbones.towers import build_towers
    from tfx_models.kinds.conv_fusion import build_conv_fusion

    keras.utils.set_random_seed(4)
    towers = build_towers(crop_size=32, length=2, width=0.125)
    return build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"toy": len(CLASSES)}, fusion="conv",
                             fusion_layer="conv5", mode=mode, num_snippets=snippets, keep_temporal=keep_temporal)


GATED_CROP = 64  # conv5 of a CNN-M at 64 px is 3x3: a gate with a map to vary over


def amplified_model():
    from tfx_models.backbones.towers import build_towers
    from tfx_models.kinds.amplification import build_amplified

    keras.utils.set_random_seed(6)
    towers = build_towers(crop_size=GATED_CROP, length=2, width=0.125)
    return build_amplified(towers["spatial"], towers["temporal"], num_classes={"toy": len(CLASSES)}, gate="flow",
                           keep_temporal=True)


def m_fusion_model(layer: str, combine: bool):
    from tfx_models.backbones.towers import build_towers
    from tfx_models.kinds.amplification import build_m_fusion

    keras.utils.set_random_seed(7)
    towers = build_towers(crop_size=GATED_CROP, length=2, width=0.125)
    return build_m_fusion(towers["spatial"], towers["temporal"], num_classes={"toy": len(CLASSES)},
                          fusion_layer=layer, combine=combine)


def joint_preprocessing(kind: str):
    return preprocessing(("spatial", "temporal"), kind=kind, joint=True, crop_size=GATED_CROP)


def siamese_branch():
    from tfx_models.kinds.siamese import build_branch

    keras.utils.set_random_seed(6)
    return build_branch(num_classes=len(CLASSES), crop_size=32, width=0.125, projection=6)


def d3d_student_model(snippets: int = 3):
    """The RGB-only part of a D3D model: a 3D student on clips (input `rgb` only). The inflated CNN-M,
    as S3D-G's ~150 layers make three C++ loads slow; both are Keras layers plus custom layers with get_config."""
    from tfx_models.kinds.clip import build_clip_model

    keras.utils.set_random_seed(6)
    return build_clip_model(architecture="i3d_cnn_m", stream="spatial", num_classes={"toy": len(CLASSES)},
                            crop_size=32, length=1, frames=snippets, width=0.125, name="student")


# One entry per exported model kind; later kinds join this table.
CASES = {
    "conv_fusion": lambda: (conv_fusion_model(), preprocessing(("spatial", "temporal"), kind="conv_fusion",
                                                               joint=True)),
    "conv_fusion_3d": lambda: (conv_fusion_model(3, "3d_conv_3d_pool", False),
                               preprocessing(("spatial", "temporal"), kind="conv_fusion", joint=True, snippets=3,
                                             snippet_stride=2)),
    # the learned gate goes through the C++ loader in tests/test_amplification_runs.py
    "amplified": lambda: (amplified_model(), joint_preprocessing("amplified")),
    "m_fusion": lambda: (m_fusion_model("conv5", True), joint_preprocessing("m_fusion")),
    "spatial": lambda: (stream_model("spatial"), preprocessing(("spatial",))),
    "temporal": lambda: (stream_model("temporal", seed=1), preprocessing()),
    "temporal_bidirectional": lambda: (stream_model("temporal", seed=3), preprocessing(bidirectional=True)),
    "late_fusion": lambda: (two_stream_model(stream_model("spatial"), stream_model("temporal", seed=1)),
                            preprocessing(("spatial", "temporal"))),
    "multi_task": lambda: (multi_task_model(), preprocessing(task="ucf101")),
    "siamese": lambda: (siamese_branch(), preprocessing(("spatial",), kind="siamese")),
    "d3d_student": lambda: (d3d_student_model(), preprocessing(("spatial",), kind="d3d", joint=True, snippets=3,
                                                               snippet_stride=2, length=1)),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def exported(request, tmp_path_factory):
    model, prep = CASES[request.param]()
    base = str(tmp_path_factory.mktemp(request.param))
    path = export.export_model(model, prep, base, request.param)
    return path, model, prep


def inputs_for(prep, rows: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    batch = {}
    time = (prep.snippets,) if prep.snippets > 1 else ()
    if "spatial" in prep.streams:
        batch["rgb"] = rng.integers(0, 256, (rows, *time, prep.crop_size, prep.crop_size, 3), dtype=np.uint8)
    if "temporal" in prep.streams:
        batch["flow"] = rng.normal(0, 3, (rows, *time, prep.crop_size, prep.crop_size, 2 * prep.length)
                                   ).astype(np.float32)
    return batch


def video_record(prep) -> bytes:
    frames = resize_short_side(moving_frames(9), SIZE)
    estimator = FlowEstimator(prep.flow_algorithm)
    flow = compute_flows(frames, estimator)
    backward = compute_flows(frames, estimator, backward=True) if prep.bidirectional else None
    return encode_record(id="t/a.mp4", path="a.mp4", dataset="t", label=1, label_name=CLASSES[1], group="g",
                         view=0, fps=25.0, frames=frames, flow=flow, backward_flow=backward,
                         flow_bound=prep.flow_bound, flow_algorithm=prep.flow_algorithm)


def expected_signatures(model) -> set[str]:
    """Every export's three, plus `embed` for a model with an embedding (a Siamese branch)."""
    return {"serving_default", "predict_records", "metadata"} | ({"embed"} if "embedding" in model.output else set())


def test_every_signature_runs_in_the_cpp_loader_and_matches_in_memory(exported):
    path, model, prep = exported
    runner = SavedModelRunner(path)
    assert set(runner.signature_defs) == expected_signatures(model)
    signatures = export.ServingSignatures(model, prep)

    batch = inputs_for(prep)
    got = runner.run("serving_default", batch)
    expected = model({k: v.astype(np.float32) for k, v in batch.items()})
    np.testing.assert_allclose(got["probabilities"], expected[signatures.scores_key], rtol=1e-5, atol=1e-6)
    top = np.argsort(-np.asarray(expected[signatures.scores_key]), axis=1, kind="stable")[:, :prep.k]
    np.testing.assert_array_equal(got["top_k_indices"], top)
    assert [c.decode() for c in got["top_k_classes"][0]] == [CLASSES[i] for i in top[0]]

    records = np.array([video_record(prep)], dtype=object)
    got = runner.run("predict_records", {"records": records})
    in_memory = signatures.functions()["predict_records"](tf.constant(records))
    np.testing.assert_allclose(got["probabilities"], in_memory["probabilities"], rtol=1e-5, atol=1e-6)

    if "embed" in runner.signature_defs:
        # An untrained tower's embeddings are ~1e-3: the tolerance follows their scale.
        embedding = np.asarray(expected["embedding"])
        np.testing.assert_allclose(runner.run("embed", batch)["embedding"], embedding, rtol=1e-5,
                                   atol=1e-5 * np.abs(embedding).max())

    meta = runner.run("metadata", {"probe": np.int32(0)})
    assert [c.decode() for c in meta["classes"]] == list(CLASSES)
    assert int(meta["length"]) == prep.length and bool(meta["bidirectional"]) == prep.bidirectional
    assert meta["kind"].item().decode() == prep.kind and bool(meta["joint"]) == prep.joint
    runner.close()


def test_record_signature_samples_as_the_evaluator_does(exported):
    """predict_records' in-graph sampling == media.stacking's centre-crop test batch through serving_default."""
    path, _, prep = exported
    runner = SavedModelRunner(path, replay_warmup=False)
    serialized = video_record(prep)
    record = decode_record(serialized)
    batch = evaluation_batch(record.frames, record.flow, record.backward_flow, joint=prep.joint,
                             snippets=prep.snippets, snippet_stride=prep.snippet_stride, streams=prep.streams,
                             num_frames=prep.record_frames, crops=1, crop_size=prep.crop_size, length=prep.length,
                             stacking=prep.stacking, bidirectional=prep.bidirectional,
                             mean_subtraction=prep.mean_subtraction)
    inputs = {k: (np.round(v).astype(np.uint8) if k == "rgb" else v.astype(np.float32)) for k, v in batch.items()}
    expected = runner.run("serving_default", inputs)["probabilities"].mean(axis=0)
    got = runner.run("predict_records", {"records": np.array([serialized], dtype=object)})["probabilities"][0]
    np.testing.assert_allclose(got, expected, atol=2e-3)
    runner.close()


def test_warmup_records_parse_and_run_in_the_cpp_loader(exported):
    path, model, _ = exported
    raw = list(tf.compat.v1.io.tf_record_iterator(os.path.join(path, ASSETS_EXTRA, WARMUP_FILE)))
    logs = [prediction_log_pb2.PredictionLog.FromString(r) for r in raw]
    assert sorted(log.predict_log.request.model_spec.signature_name for log in logs) == sorted(
        expected_signatures(model))
    runner = SavedModelRunner(path, replay_warmup=False)
    for log in logs:
        request = log.predict_log.request
        outputs = runner.run(request.model_spec.signature_name,
                             {k: tf.make_ndarray(v) for k, v in request.inputs.items()})
        assert set(outputs) == set(runner.signature(request.model_spec.signature_name).outputs)
    assert runner.replay_warmup() == len(expected_signatures(model))
    runner.close()


def saved_model_cli_run(path: str, signature: str, inputs: dict[str, np.ndarray], tmp_path) -> dict:
    specs = []
    for key, value in inputs.items():
        np.save(tmp_path / f"in_{key}.npy", value, allow_pickle=True)
        specs.append(f"{key}={tmp_path / f'in_{key}.npy'}")
    out = tmp_path / f"out_{signature}"
    result = subprocess.run([SAVED_MODEL_CLI, "run", "--dir", path, "--tag_set", "serve", "--signature_def",
                             signature, "--inputs", ";".join(specs), "--outdir", str(out), "--overwrite"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return {f[:-len(".npy")]: np.load(out / f, allow_pickle=True) for f in os.listdir(out)}


def test_saved_model_cli_runs_serving_default_of_every_kind(exported, tmp_path):
    """TensorFlow's own tool, not our loader, runs each kind's export (one subprocess a kind)."""
    path, model, prep = exported
    batch = inputs_for(prep, rows=2, seed=7)
    got = saved_model_cli_run(path, "serving_default", batch, tmp_path)
    expected = model({k: v.astype(np.float32) for k, v in batch.items()})
    scores_key = export.ServingSignatures(model, prep).scores_key
    np.testing.assert_allclose(got["probabilities"], expected[scores_key], rtol=1e-5, atol=1e-6)


def test_saved_model_cli_runs_every_signature_of_a_fused_export(tmp_path):
    model, prep = CASES["late_fusion"]()
    path = export.export_model(model, prep, str(tmp_path / "models"), "two_stream")
    batch = inputs_for(prep, rows=2, seed=5)
    got = saved_model_cli_run(path, "serving_default", batch, tmp_path)
    expected = model({k: v.astype(np.float32) for k, v in batch.items()})
    for key in ("probabilities", "spatial_probabilities", "temporal_probabilities"):
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-6)

    record = video_record(prep)
    got = saved_model_cli_run(path, "predict_records", {"records": np.array([record], dtype=object)}, tmp_path)
    in_memory = export.ServingSignatures(model, prep).functions()["predict_records"](tf.constant([record]))
    np.testing.assert_allclose(got["probabilities"], in_memory["probabilities"], rtol=1e-5, atol=1e-6)
    assert decode_record(record).label == 1

    got = saved_model_cli_run(path, "metadata", {"probe": np.array(0, np.int32)}, tmp_path)
    assert [c.decode() for c in got["classes"]] == list(CLASSES)


class _ModuleExport(tf.Module):
    """How exports were written before: tf.saved_model.save of a tf.Module holding the Keras model."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.serve = tf.function(lambda flow: self.model({"flow": flow}),
                                 input_signature=[tf.TensorSpec([None, 32, 32, 4], tf.float32, name="flow")])


def test_an_export_tf_serving_cannot_run_is_refused_naming_the_variable(tmp_path):
    module = _ModuleExport(stream_model("temporal"))
    path = str(tmp_path / "broken")
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    # TensorFlow's own tool fails on it: the check below is not stricter than TF Serving.
    batch = inputs_for(preprocessing(), rows=1)
    np.save(tmp_path / "flow.npy", batch["flow"])
    result = subprocess.run([SAVED_MODEL_CLI, "run", "--dir", path, "--tag_set", "serve", "--signature_def",
                             "serving_default", "--inputs", f"flow={tmp_path / 'flow.npy'}"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "Could not find variable" in result.stderr
    with pytest.raises(ExportLoadError, match=r"variable '(conv1|logits)/(kernel|bias)' .* never restored"):
        SavedModelRunner(path)


def test_a_failing_warmup_request_fails_the_load(tmp_path):
    model, prep = CASES["temporal"]()
    path = export.export_model(model, prep, str(tmp_path), "m")
    from tensorflow_serving.apis import model_pb2, predict_pb2

    request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name="m", signature_name="predict_records"))
    request.inputs["records"].CopyFrom(tf.make_tensor_proto(np.array([b"not a record"], dtype=object)))
    log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
    with tf.io.TFRecordWriter(os.path.join(path, ASSETS_EXTRA, WARMUP_FILE)) as writer:
        writer.write(log.SerializeToString())
    with pytest.raises(ExportLoadError, match="warmup request 0 .*predict_records.* failed"):
        SavedModelRunner(path)
