"""TensorFlow's side on a non-local scheme: records, run dirs, checkpoints, the evaluation report, the
export and the embedded server's model store all on `ram://`, TensorFlow's in-memory filesystem.

A local-only call (open, os.makedirs, np.savez or savefig to a path) on one of those paths fails
there, or writes a stray `ram:/...` folder into the working directory, which this test finds.
gs:// goes through the same tf.io.gfile calls, by TensorFlow's own client, whose endpoint is fixed
(storage.googleapis.com), so it cannot be tested offline. ram:// lives in one process: every stage
runs in this one, through its command line's main().
"""
from __future__ import annotations

import json
import os
import tempfile
import uuid

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from media.shards import read_dataset_info
from serving.server import EmbeddedServer, options_from_args, parse_args
from tests.test_train_support import REPO, write_records
from tfx_models import config as config_lib, runs, train as train_cli
from tfx_models.evaluation import protocol, validation
from tfx_models.export import saved_model
from tfx_models.runs import checkpoints as checkpointing

SMALL = ["data.crop_size=32", "data.length=2", "model.width=0.125", "train.batch_size=4", "train.log_every=2",
         "train.steps=4", "train.checkpoint_every=2", "train.keep_checkpoints=10"]


def copy_tree(source: str, target: str) -> None:
    """A local folder into any tf.io.gfile path."""
    for folder, _, files in tf.io.gfile.walk(source):
        relative = os.path.relpath(folder, source)
        destination = target if relative == "." else f"{target}/{relative}"
        tf.io.gfile.makedirs(destination)
        for name in files:
            tf.io.gfile.copy(f"{folder}/{name}", f"{destination}/{name}")


def listing(root: str) -> set[str]:
    """Every file under a tf.io.gfile folder, relative to it."""
    return {f"{folder}/{name}"[len(root) + 1:] for folder, _, files in tf.io.gfile.walk(root) for name in files}


def test_train_evaluate_export_and_serve_on_ram_filesystem(tmp_path, monkeypatch):
    local = write_records(str(tmp_path / "records"), "tiny", ["a", "b", "c"], videos_per_class=3, frames=8)
    root = f"ram://twostream-{uuid.uuid4().hex}"
    records, base, report = f"{root}/records", f"{root}/models", f"{root}/eval"
    copy_tree(local, records)
    assert read_dataset_info(records)["classes"] == ["a", "b", "c"]
    # Any local fallback would land in the working directory or the temp dir: both start empty.
    cwd, scratch = tmp_path / "cwd", tmp_path / "scratch"
    cwd.mkdir()
    scratch.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    # Training: a cross-fitted spatial run from a .py experiment, a temporal one from a .json on ram://.
    spatial, temporal = f"{root}/runs/spatial", f"{root}/runs/temporal"
    sets = [f"data.records={records}", *SMALL]
    assert train_cli.main(["--config", f"{REPO}/tfx_models/experiments/demo_spatial.py", "--run_dir", spatial,
                           *[a for s in [*sets, "data.folds=2", "data.holdout_fold=0"] for a in ("--set", s)]]) == 0
    experiment = f"{root}/experiments/temporal.json"
    tf.io.gfile.makedirs(f"{root}/experiments")
    with tf.io.gfile.GFile(experiment, "w") as f:
        f.write(json.dumps(config_lib.to_dict(config_lib.override(
            config_lib.load_experiment(f"{REPO}/tfx_models/experiments/demo_temporal.py"), sets))))
    assert train_cli.main(["--config", experiment, "--run_dir", temporal]) == 0
    for run in (spatial, temporal):
        assert {runs.CONFIG_FILE, runs.RUN_INFO_FILE} <= listing(run)
        assert [p.rsplit("/", 1)[-1] for p in checkpointing.checkpoints_newest_first(runs.checkpoint_dir(run))] \
            == ["ckpt-4", "ckpt-2"]
        assert checkpointing.verify(f"{runs.checkpoint_dir(run)}/ckpt-4") is None
        assert tf.io.gfile.glob(f"{runs.tensorboard_dir(run)}/events.out.tfevents.*")
    assert runs.trained_to(spatial, 4)  # what table builders check before they skip a run

    # Validation curve of the cross-fitted run, written beside it.
    validation.main(["--run", spatial, "--num_frames", "2"])
    with tf.io.gfile.GFile(f"{spatial}/{validation.VALIDATION_FILE}") as f:
        assert [p["step"] for p in json.load(f)["curve"]] == [2, 4]

    # Evaluation from ram:// runs and records, its report (JSON, markdown, PNG, scores, SVM) on ram://.
    protocol.main(["--spatial", spatial, "--temporal", temporal, "--out", report, "--num_frames", "2",
                   "--crops", "1", "--svm_frames", "2", "--svm_crops", "1"])
    written = listing(report)
    assert {"results.md", "results.json", "records/video_scores.npz", "records/spatial.json",
            "records/spatial_confusion.png", "records/spatial_recall.png",
            "records/two_stream_fusion_by_svm/svm_fusion.json"} <= written, written
    with tf.io.gfile.GFile(f"{report}/records/spatial_confusion.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with tf.io.gfile.GFile(f"{report}/records/video_scores.npz", "rb") as f:
        scores = np.load(f)
        assert scores["spatial"].shape == (9, 3)

    # Export of the late fusion to ram://, served by the embedded server from its models.config.
    assert saved_model.main(["--run_dir", spatial, "--run_dir", temporal, "--base", base, "--name", "two_stream"]) == 0
    assert {"models.config", "batching_parameters.txt", "two_stream/1/saved_model.pb",
            "two_stream/1/assets.extra/preprocessing.json"} <= listing(base)
    with tf.io.gfile.GFile(f"{base}/models.config") as f:
        assert f'base_path: "{base}/two_stream"' in f.read()
    options = options_from_args(parse_args([
        "--model_config_file", f"{base}/models.config", "--enable_batching",
        "--batching_parameters_file", f"{base}/batching_parameters.txt", "--port", "0", "--rest_api_port", "0",
        "--file_system_poll_wait_seconds", "0"]))
    rng = np.random.default_rng(0)
    inputs = {"rgb": rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8),
              "flow": rng.normal(0, 3, (2, 32, 32, 4)).astype(np.float32)}
    with EmbeddedServer(options) as server:
        assert server.store.get("two_stream").path == f"{base}/two_stream/1"
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "two_stream"
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=60)
    served = tf.make_ndarray(response.outputs["probabilities"])
    (spatial_model, _), (temporal_model, _) = runs.load_model_from_run(spatial), runs.load_model_from_run(temporal)
    expected = (np.asarray(spatial_model({"rgb": inputs["rgb"].astype(np.float32)})["probabilities"])
                + np.asarray(temporal_model({"flow": inputs["flow"]})["probabilities"])) / 2
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-6)

    assert not os.listdir(cwd), f"written locally instead of to ram://: {os.listdir(cwd)}"
    # tf.function's autograph writes the Python source of converted functions there; nothing else may.
    stray = [name for name in os.listdir(scratch) if not name.startswith("__autograph_generated_file")]
    assert not stray, f"written to the temp dir instead of to ram://: {stray}"
