"""tfx_models.export: TF Serving layout, signatures, warmup, constants, fresh-process reload."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2

from media.flow import FlowEstimator, compute_flows
from media.records import decode_record, encode_record
from media.stacking import video_test_batch
from media.video import resize_short_side
from serving.batching import BatchingParameters
from tfx_models.export.contract import Preprocessing
from tests.test_serving_fixtures import CLASSES, SIZE, moving_frames, preprocessing, stream_model
from tfx_models.export import saved_model as export
from tfx_models.kinds.two_stream import two_stream_model
from tfx_models.export.runner import SavedModelRunner

VENV_BIN = os.path.dirname(sys.executable)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("models"))
    model = two_stream_model(stream_model("spatial"), stream_model("temporal", seed=1))
    prep = preprocessing(("spatial", "temporal"))
    path = export.export_model(model, prep, base, "two_stream")
    return base, path, model, prep


def flow_batch(seed: int, rows: int = 3):
    rng = np.random.default_rng(seed)
    return {"rgb": rng.integers(0, 256, (rows, 32, 32, 3), dtype=np.uint8),
            "flow": rng.normal(0, 3, (rows, 32, 32, 4)).astype(np.float32)}


def test_layout_and_server_configs(exported):
    base, path, _, prep = exported
    assert path == os.path.join(base, "two_stream", "1")
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    with open(os.path.join(path, "assets.extra", "preprocessing.json")) as f:
        assert Preprocessing.from_json(f.read()) == prep
    config = text_format.Parse(open(os.path.join(base, "models.config")).read(),
                               model_server_config_pb2.ModelServerConfig())
    [entry] = config.model_config_list.config
    assert (entry.name, entry.base_path, entry.model_platform) == (
        "two_stream", os.path.join(os.path.abspath(base), "two_stream"), "tensorflow")
    params = BatchingParameters.parse(open(os.path.join(base, "batching_parameters.txt")).read())
    assert params.max_batch_size == 32 and params.num_batch_threads == 2


def test_versions_increment_and_never_overwrite(tmp_path):
    model, prep = stream_model("temporal"), preprocessing()
    assert export.export_model(model, prep, str(tmp_path), "m").endswith("/m/1")
    assert export.export_model(model, prep, str(tmp_path), "m").endswith("/m/2")
    with pytest.raises(FileExistsError, match="m/2 already exists"):
        export.export_model(model, prep, str(tmp_path), "m", version=2)
    with pytest.raises(ValueError, match="model name"):
        export.export_model(model, prep, str(tmp_path), "bad/name")
    assert sorted(os.listdir(tmp_path / "m")) == ["1", "2"]  # no staging folders left behind


def test_warmup_file_holds_prediction_logs(exported):
    _, path, _, _ = exported
    raw = [r.numpy() for r in tf.data.TFRecordDataset(os.path.join(path, "assets.extra",
                                                                   "tf_serving_warmup_requests"))]
    assert raw
    log = prediction_log_pb2.PredictionLog.FromString(raw[0])
    request = log.predict_log.request
    assert request.model_spec.signature_name == "serving_default"
    assert set(request.inputs) == {"rgb", "flow"}
    assert tf.make_ndarray(request.inputs["rgb"]).dtype == np.uint8
    assert tf.make_ndarray(request.inputs["flow"]).shape == (1, 32, 32, 4)


def test_signatures_scores_and_metadata(exported):
    _, path, model, prep = exported
    loaded = SavedModelRunner(path)
    assert set(loaded.signature_defs) == {"serving_default", "predict_records", "metadata"}
    batch = flow_batch(0)
    out = loaded.run("serving_default", batch)
    expected = model({k: v.astype(np.float32) for k, v in batch.items()})
    np.testing.assert_allclose(out["probabilities"], expected["probabilities"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["spatial_probabilities"], expected["spatial_probabilities"], rtol=1e-5)
    top = np.argsort(-expected["probabilities"].numpy(), axis=1)[:, :4]
    np.testing.assert_array_equal(out["top_k_indices"], top)
    assert [c.decode() for c in out["top_k_classes"][0]] == [CLASSES[i] for i in top[0]]
    meta = loaded.run("metadata", {"probe": np.int32(0)})
    assert [c.decode() for c in meta["classes"]] == list(CLASSES)
    assert int(meta["length"]) == prep.length and int(meta["crop_size"]) == prep.crop_size
    assert meta["flow_algorithm"].item().decode() == "dis_ultrafast"
    assert Preprocessing.from_json(meta["preprocessing_json"].item().decode()) == prep


def test_predict_records_matches_stacking_protocol(exported):
    """In-graph sampling of a record == media.stacking's centre-crop batch through serving_default."""
    _, path, _, prep = exported
    frames = resize_short_side(moving_frames(9), SIZE)
    flow = compute_flows(frames, FlowEstimator(prep.flow_algorithm))
    serialized = encode_record(id="t/a.mp4", path="a.mp4", dataset="t", label=1, label_name=CLASSES[1],
                               group="g", view=0, fps=25.0, frames=frames, flow=flow,
                               flow_bound=prep.flow_bound, flow_algorithm=prep.flow_algorithm)
    loaded = SavedModelRunner(path)
    got = loaded.run("predict_records", {"records": np.array([serialized, serialized], dtype=object)})
    record = decode_record(serialized)
    batch = video_test_batch(record.frames, record.flow, None, streams=prep.streams,
                             num_frames=prep.record_frames, crops=1, crop_size=prep.crop_size,
                             length=prep.length, stacking=prep.stacking, mean_subtraction=prep.mean_subtraction)
    inputs = {"rgb": batch["rgb"].astype(np.uint8), "flow": batch["flow"].astype(np.float32)}
    expected = loaded.run("serving_default", inputs)["probabilities"].mean(axis=0)
    assert got["probabilities"].shape == (2, len(CLASSES))
    np.testing.assert_allclose(got["probabilities"][0], expected, atol=2e-3)
    np.testing.assert_allclose(got["probabilities"][1], got["probabilities"][0])

    with pytest.raises(tf.errors.InvalidArgumentError):
        loaded.run("predict_records", {"records": np.array([b"not a record"], dtype=object)})


def test_saved_model_cli_lists_the_signatures(exported):
    _, path, _, _ = exported
    shown = subprocess.run([os.path.join(VENV_BIN, "saved_model_cli"), "show", "--all", "--dir", path],
                           check=True, capture_output=True, text=True, timeout=120).stdout
    for name in ("signature_def['serving_default']", "signature_def['predict_records']",
                 "signature_def['metadata']", "inputs['rgb']", "inputs['flow']", "outputs['top_k_classes']"):
        assert name in shown


def test_multi_task_model_needs_a_task():
    import keras

    inputs = keras.Input((32, 32, 4), name="flow")
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    outputs = {}
    for task, classes in (("ucf101", 4), ("hmdb51", 3)):
        logits = keras.layers.Dense(classes, name=f"logits_{task}")(x)
        outputs[f"logits_{task}"] = logits
        outputs[f"probabilities_{task}"] = keras.layers.Softmax(name=f"probabilities_{task}")(logits)
    model = keras.Model({"flow": inputs}, outputs)
    with pytest.raises(ValueError, match=r"multi-task \(heads \['hmdb51', 'ucf101'\]\)"):
        export.ServingSignatures(model, preprocessing())
    module = export.ServingSignatures(model, preprocessing(task="ucf101"))
    assert module.scores_key == "probabilities_ucf101"


def test_preprocessing_from_runs_merges_streams():
    spatial = {"stream": "spatial", "classes": {"ucf101": list(CLASSES)}, "crop_size": 32}
    temporal = {"stream": "temporal", "classes": {"ucf101": list(CLASSES)}, "crop_size": 32, "length": 4,
                "stacking": "trajectory", "bidirectional": True, "mean_subtraction": False,
                "flow": {"algorithm": "tvl1", "bound": 15.0, "jpeg_quality": 80}, "size": 128}
    prep = export.preprocessing_from_runs([temporal, spatial], task=None, record_frames=5, top_k=5)
    assert prep.streams == ("spatial", "temporal") and prep.task == "ucf101"
    assert (prep.length, prep.stacking, prep.bidirectional, prep.flow_algorithm, prep.flow_bound,
            prep.size, prep.jpeg_quality) == (4, "trajectory", True, "tvl1", 15.0, 128, 80)
    other = {**spatial, "classes": {"ucf101": list(CLASSES[::-1])}}
    with pytest.raises(ValueError, match="different class lists"):
        export.preprocessing_from_runs([temporal, other], task=None, record_frames=5, top_k=5)


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        export.parse_args(["--help"])
    assert exit_info.value.code == 0
    assert "--run_dir" in capsys.readouterr().out


def test_preprocessing_json_errors_name_the_source():
    with pytest.raises(ValueError, match="x.json: unknown fields \\['bogus'\\]"):
        Preprocessing.from_json(json.dumps({"streams": ["temporal"], "classes": ["a"], "bogus": 1}), "x.json")
    with pytest.raises(ValueError, match="x.json: missing field 'classes'"):
        Preprocessing.from_json(json.dumps({"streams": ["temporal"]}), "x.json")


def write_run(run_dir: str, experiment: str, classes: list[str]) -> None:
    """A run directory as tfx_models.train leaves it: config, run_info and one checkpoint."""
    from tfx_models import config as config_lib, runs
    from tfx_models.runs import checkpoints as checkpointing
    from tfx_models.kinds.two_stream import build_model_from_config

    config = config_lib.override(config_lib.load_experiment(os.path.join(REPO, "tfx_models", "experiments", f"{experiment}.py")),
                                 ["data.crop_size=64", "data.length=2", "model.width=0.125"])
    info = {"dataset": "ucf101", "classes": classes, "size": 64,
            "flow": {"algorithm": "dis_fast", "bound": 20.0, "bidirectional": False, "jpeg_quality": 90}}
    runs.write_run_files(run_dir, config, runs.make_run_info(config, [info]))
    model = build_model_from_config(config, {"ucf101": len(classes)})
    keeper = checkpointing.CheckpointKeeper(tf.train.Checkpoint(weights=checkpointing.model_variables(model)),
                                            runs.checkpoint_dir(run_dir))
    keeper.save(1)


def test_cli_exports_a_two_stream_fusion_of_two_runs(tmp_path, capsys):
    from tfx_models.runs import load_model_from_run

    write_run(str(tmp_path / "spatial"), "demo_spatial", list(CLASSES))
    write_run(str(tmp_path / "temporal"), "demo_temporal", list(CLASSES))
    assert export.main(["--run_dir", str(tmp_path / "spatial"), "--run_dir", str(tmp_path / "temporal"),
                        "--base", str(tmp_path / "models"), "--name", "fusion"]) == 0
    path = json.loads(capsys.readouterr().out)["export"]
    loaded = SavedModelRunner(path)
    prep = Preprocessing.from_json(loaded.run("metadata", {"probe": np.int32(0)})["preprocessing_json"]
                                   .item().decode())
    assert (prep.streams, prep.classes, prep.crop_size, prep.length, prep.task) == (
        ("spatial", "temporal"), CLASSES, 64, 2, "ucf101")
    rng = np.random.default_rng(3)
    batch = {"rgb": rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8),
             "flow": rng.normal(0, 2, (2, 64, 64, 4)).astype(np.float32)}
    got = loaded.run("serving_default", batch)
    spatial, _ = load_model_from_run(str(tmp_path / "spatial"))
    temporal, _ = load_model_from_run(str(tmp_path / "temporal"))
    expected = two_stream_model(spatial, temporal)({k: v.astype(np.float32) for k, v in batch.items()})
    np.testing.assert_allclose(got["probabilities"], expected["probabilities"], rtol=1e-4, atol=1e-6)
