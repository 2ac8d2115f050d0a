"""A conv-fusion run end to end through the model-kind registry: fused from two trained
single-stream runs, killed and resumed, evaluated with joint test inputs, exported and run in
TF's C++ loader."""
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.test_train_support import QUIET_ENV, REPO, kill_after_checkpoint, write_records
from tfx_models import config as config_lib, runs
from tfx_models.runs import checkpoints as checkpointing
from tfx_models.training.loop import train

SMALL = ["data.crop_size=32", "data.length=2", "model.width=0.125", "train.batch_size=4", "train.log_every=5"]


def stream_run(run_dir, records, stream, overrides=()):
    config = config_lib.override(config_lib.load_experiment(f"{REPO}/tfx_models/experiments/demo_{stream}.py"),
                                 [f"data.records={records}", *SMALL, "train.steps=3", "train.checkpoint_every=3",
                                  *overrides])
    train(config, run_dir)
    return run_dir


@pytest.fixture(scope="module")
def fused_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fusion")
    records = write_records(str(root / "records"), "tiny", ["a", "b", "c"], frames=8)
    spatial = stream_run(str(root / "spatial"), records, "spatial")
    temporal = stream_run(str(root / "temporal"), records, "temporal")
    run_dir = str(root / "fused")
    command = [sys.executable, "-m", "tfx_models.train", "--config", "tfx_models/experiments/demo_conv_fusion.py",
               "--run_dir", run_dir, "--set", f"data.records={records}", "--set", f"fusion.spatial_run={spatial}",
               "--set", f"fusion.temporal_run={temporal}", "--set", "fusion.keep_temporal=true",
               "--set", "train.steps=30", "--set", "train.checkpoint_every=5",
               *[arg for s in SMALL for arg in ("--set", s)]]
    env = {**os.environ, **QUIET_ENV}
    ckpt_dir = runs.checkpoint_dir(run_dir)
    killed_output = kill_after_checkpoint(command, ckpt_dir, 5)
    assert "initialised" in killed_output and "layers from trained runs" in killed_output
    survivor = checkpointing.latest_valid_checkpoint(ckpt_dir)
    killed_at = int(survivor.rsplit("-", 1)[-1])
    second = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"resumed from {survivor} at step {killed_at}" in second.stdout and "done: step 30" in second.stdout
    return {"records": records, "spatial": spatial, "temporal": temporal, "fused": run_dir}


def test_two_tower_checkpoint_keys_are_unique_per_tower(fused_run):
    fused, info = runs.load_model_from_run(fused_run["fused"])
    keys = checkpointing.model_variables(fused)
    assert "spatial/conv1/kernel" in keys and "temporal/conv1/kernel" in keys
    assert info["kind"] == "conv_fusion" and info["streams"] == ["spatial", "temporal"]


def test_frozen_towers_keep_the_single_stream_weights(fused_run):
    fused, _ = runs.load_model_from_run(fused_run["fused"])
    for stream in ("spatial", "temporal"):
        single, _ = runs.load_model_from_run(fused_run[stream])
        expected = single.get_layer("tower").get_layer("conv1").get_weights()[0]
        got = fused.get_layer(stream).get_layer("conv1").get_weights()[0]
        np.testing.assert_array_equal(got, expected)  # below the fusion point nothing trains
    fusion = next(layer for layer in fused.layers if "fusion" in layer.name and layer.weights)
    kernel = fusion.get_weights()[0].reshape(-1, fusion.get_weights()[0].shape[-1])
    channels = kernel.shape[1]
    w_s, w_t = runs.read_run_info(fused_run["fused"])["initialisation"]["identity_weights"]
    identities = np.concatenate([w_s * np.eye(channels), w_t * np.eye(channels)])
    assert 0 < np.abs(kernel - identities).max() < 0.5 * max(w_s, w_t)  # it trained, from the measured start


def test_evaluate_gives_the_fused_run_joint_inputs(fused_run, tmp_path):
    from tfx_models.evaluation.protocol import evaluate_runs

    result = evaluate_runs([fused_run["spatial"]], [fused_run["temporal"]], str(tmp_path / "eval"),
                           others=[fused_run["fused"]], subset="test", num_frames=2, crops=2, batch_size=50,
                           svm=False, svm_frames=2, svm_crops=1, svm_c=1.0)
    [split] = result["splits"].values()
    fused_rows = [label for label in split if label.startswith("conv_fusion: conv fusion at conv5")]
    assert fused_rows == ["conv_fusion: conv fusion at conv5, temporal tower kept"]
    assert split[fused_rows[0]]["videos"] == 6


def test_two_record_dirs_of_one_split_are_both_kept(fused_run, tmp_path):
    """Runs trained on two copies of split 1's records: each copy gets its own column; neither
    overwrites the other (both are named "tiny split 1")."""
    import json
    import shutil

    from tfx_models.evaluation.protocol import evaluate_runs

    moved = []
    for copy, stream in (("a", "spatial"), ("b", "temporal")):
        records, run = str(tmp_path / f"records_{copy}"), str(tmp_path / f"{stream}_{copy}")
        shutil.copytree(fused_run["records"], records)
        shutil.copytree(fused_run[stream], run)
        for path, key, value in ((f"{records}/dataset_info.json", "split", 1),
                                 (f"{run}/run_info.json", "records", [records])):
            data = json.load(open(path))
            data[key] = value
            json.dump(data, open(path, "w"))
        moved.append(run)
    result = evaluate_runs([moved[0]], [moved[1]], str(tmp_path / "eval"), subset="test",
                           num_frames=2, crops=1, batch_size=50, svm=False, svm_frames=2, svm_crops=1, svm_c=1.0)
    assert len(result["splits"]) == 2 and sorted(len(rows) for rows in result["splits"].values()) == [1, 1]


def test_fused_export_runs_in_the_cpp_loader(fused_run, tmp_path):
    from media.shards import iter_records
    from tfx_models.export import saved_model as export
    from tfx_models.export.runner import SavedModelRunner

    assert export.main(["--run_dir", fused_run["fused"], "--base", str(tmp_path), "--name", "fused"]) == 0
    runner = SavedModelRunner(str(tmp_path / "fused" / "1"))
    meta = runner.run("metadata", {"probe": np.int32(0)})
    assert meta["kind"].item() == b"conv_fusion" and bool(meta["joint"])
    records = np.array(list(iter_records(fused_run["records"], "test"))[:2], dtype=object)
    scores = runner.run("predict_records", {"records": records})
    assert scores["probabilities"].shape == (2, 3)
    assert set(scores) >= {"fused_probabilities", "temporal_probabilities"}


def test_fusing_a_temporal_run_at_another_flow_scale_is_refused(fused_run, tmp_path):
    # The fused model's input scaling comes from its own config: a temporal tower trained at
    # another model.flow_scale would silently see its flow at the wrong size.
    trained = runs.read_config(fused_run["temporal"]).model.flow_scale
    config = config_lib.override(config_lib.load_experiment(f"{REPO}/tfx_models/experiments/demo_conv_fusion.py"),
                                 [f"data.records={fused_run['records']}", f"fusion.temporal_run={fused_run['temporal']}",
                                  f"model.flow_scale={trained / 5}", *SMALL, "train.steps=1"])
    with pytest.raises(ValueError, match=f"fusion.temporal_run=.*model.flow_scale={trained}"):
        train(config, str(tmp_path / "mismatched"))
