"""The training loop in-process: run files, checkpoint manifests, corrupt-checkpoint fallback,
mixed precision, and multi-task training through the real input pipeline."""
import json
import logging
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.test_train_support import REPO, dataset_info, fixed_dataset_fn, write_records
from tfx_models import config as config_lib, runs
from tfx_models.runs import checkpoints as checkpointing
from tfx_models.training.loop import train


def small_config(**train_overrides) -> config_lib.ExperimentConfig:
    return config_lib.ExperimentConfig(
        name="small", data=config_lib.DataConfig(records=("unused",), crop_size=32),
        model=config_lib.ModelConfig(width=0.125, dropout=0.0),
        train=config_lib.TrainConfig(**{"steps": 6, "batch_size": 4, "log_every": 3, "checkpoint_every": 3,
                                        **train_overrides}))


def run_small(run_dir, config, **kwargs):
    return train(config, str(run_dir), dataset_fn=fixed_dataset_fn("rgb", (32, 32, 3), 3, config.train.batch_size),
                 dataset_infos=[dataset_info("tiny", 3)], **kwargs)


def test_run_dir_holds_config_run_info_and_loadable_checkpoints(tmp_path):
    model, summary = run_small(tmp_path, small_config())
    assert summary["step"] == 6 and [steps for steps, _ in summary["windows"]] == [3, 3]
    seconds = sum(s for _, s in summary["windows"])
    assert summary["mean_examples_per_second"] == pytest.approx(6 * 4 / seconds)
    assert set(summary) >= {"loss", "accuracy", "total_loss", "weight_decay", "learning_rate"}
    assert runs.read_config(str(tmp_path)) == small_config()
    info = runs.read_run_info(str(tmp_path))
    assert info["stream"] == "spatial" and info["tasks"] == ["tiny"]
    assert info["classes"] == {"tiny": ["c0", "c1", "c2"]} and info["flow"]["bound"] == 20.0
    assert info["crop_size"] == 32 and info["length"] == 10 and info["stacking"] == "optical_flow"
    assert [p.rsplit("/", 1)[-1] for p in checkpointing.checkpoints_newest_first(runs.checkpoint_dir(
        str(tmp_path)))] == ["ckpt-6", "ckpt-3"]
    assert tf.io.gfile.glob(f"{runs.tensorboard_dir(str(tmp_path))}/events.out.tfevents.*")

    loaded, loaded_info = runs.load_model_from_run(str(tmp_path))
    assert loaded_info["checkpoint"].endswith("ckpt-6")
    x = {"rgb": np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)}
    np.testing.assert_allclose(loaded(x)["probabilities"], model(x)["probabilities"], rtol=1e-5)


def test_corrupt_latest_checkpoint_is_skipped_with_a_warning(tmp_path, caplog):
    run_small(tmp_path, small_config())
    ckpt_dir = runs.checkpoint_dir(str(tmp_path))
    data_file = tf.io.gfile.glob(f"{ckpt_dir}/ckpt-6.data-*")[0]
    with open(data_file, "r+b") as f:
        f.seek(10)
        byte = f.read(1)
        f.seek(10)
        f.write(bytes([byte[0] ^ 0xFF]))
    assert "checksum" in checkpointing.verify(f"{ckpt_dir}/ckpt-6")
    with caplog.at_level(logging.WARNING, logger="tfx_models.runs.checkpoints"):
        prefix = checkpointing.latest_valid_checkpoint(ckpt_dir)
    assert prefix.endswith("ckpt-3")
    assert any("skipping checkpoint" in r.message and "ckpt-6" in r.message for r in caplog.records)

    # Training again resumes from step 3 (not the corrupt step 6) and rewrites ckpt-6 cleanly.
    _, summary = run_small(tmp_path, small_config())
    assert summary["step"] == 6
    assert checkpointing.verify(f"{ckpt_dir}/ckpt-6") is None


def test_checkpoint_without_manifest_counts_as_unfinished(tmp_path):
    run_small(tmp_path, small_config())
    ckpt_dir = runs.checkpoint_dir(str(tmp_path))
    tf.io.gfile.remove(checkpointing.manifest_path(f"{ckpt_dir}/ckpt-6"))
    assert checkpointing.verify(f"{ckpt_dir}/ckpt-6") == "no manifest (the save did not finish)"
    _, info = runs.load_model_from_run(str(tmp_path))
    assert info["checkpoint"].endswith("ckpt-3")


def test_rerun_with_a_different_config_is_refused(tmp_path):
    run_small(tmp_path, small_config())
    other = small_config()
    other.model.dropout = 0.5
    with pytest.raises(ValueError, match=r"different config \(changed: model.dropout\)"):
        run_small(tmp_path, other)
    # More steps is a continuation, not a new experiment.
    _, summary = run_small(tmp_path, small_config(steps=9))
    assert summary["step"] == 9


def test_mixed_bfloat16_training_runs_with_float32_outputs(tmp_path):
    model, summary = run_small(tmp_path, small_config(precision="mixed_bfloat16", steps=3))
    assert np.isfinite(summary["loss"])
    out = model({"rgb": np.zeros((1, 32, 32, 3), np.float32)})
    assert out["probabilities"].dtype == tf.float32
    assert model.get_layer("tower").get_layer("conv2").compute_dtype == "bfloat16"


def test_multitask_temporal_training_through_the_input_pipeline(tmp_path):
    ucf = write_records(str(tmp_path / "ucf"), "ucf_tiny", ["a", "b", "c"])
    hmdb = write_records(str(tmp_path / "hmdb"), "hmdb_tiny", ["x", "y"], seed=1)
    config = config_lib.load_experiment(os.path.join(REPO, "tfx_models/experiments/temporal_multitask.py"))
    config = config_lib.override(config, [
        f"data.records={ucf},{hmdb}", "data.crop_size=32", "data.length=2", "model.width=0.125",
        "train.steps=4", "train.batch_size=8", "train.log_every=2", "train.checkpoint_every=4"])
    model, summary = train(config, str(tmp_path / "run"))
    assert set(model.output) == {"logits_ucf_tiny", "probabilities_ucf_tiny",
                                 "logits_hmdb_tiny", "probabilities_hmdb_tiny"}
    assert {"loss_ucf_tiny", "loss_hmdb_tiny", "accuracy_ucf_tiny", "accuracy_hmdb_tiny"} <= set(summary)
    info = json.loads((tmp_path / "run" / "run_info.json").read_text())
    assert info["tasks"] == ["ucf_tiny", "hmdb_tiny"] and info["classes"]["hmdb_tiny"] == ["x", "y"]
    assert info["stream"] == "temporal" and info["length"] == 2


def test_a_kill_between_save_and_manifest_leaves_a_complete_checkpoint(tmp_path, monkeypatch):
    """keep_checkpoints=1: the old checkpoint must outlive the new one's save until its manifest exists."""
    real_write_manifest = checkpointing.write_manifest

    def killed_at_step_6(prefix, step):
        if step == 6:
            raise KeyboardInterrupt("killed after the data files, before the manifest")
        real_write_manifest(prefix, step)

    monkeypatch.setattr(checkpointing, "write_manifest", killed_at_step_6)
    with pytest.raises(KeyboardInterrupt):
        run_small(tmp_path, small_config(keep_checkpoints=1))
    ckpt_dir = runs.checkpoint_dir(str(tmp_path))
    assert checkpointing.verify(f"{ckpt_dir}/ckpt-6") == "no manifest (the save did not finish)"
    assert checkpointing.latest_valid_checkpoint(ckpt_dir) == f"{ckpt_dir}/ckpt-3"

    # Resumed, the run finishes and keeps exactly one checkpoint, the newest.
    monkeypatch.setattr(checkpointing, "write_manifest", real_write_manifest)
    _, summary = run_small(tmp_path, small_config(keep_checkpoints=1))
    assert summary["step"] == 6
    assert checkpointing.checkpoints_newest_first(ckpt_dir) == [f"{ckpt_dir}/ckpt-6"]
    assert sorted(os.listdir(ckpt_dir)) == ["checkpoint",  # the manager's state file
                                           "ckpt-6.data-00000-of-00001", "ckpt-6.index", "ckpt-6.manifest.json"]


def test_training_writes_scalars_tensorboard_reads(tmp_path):
    from tensorboard.backend.event_processing import plugin_event_accumulator

    run_small(tmp_path, small_config())
    accumulator = plugin_event_accumulator.EventAccumulator(runs.tensorboard_dir(str(tmp_path)))
    accumulator.Reload()
    scalars = set(accumulator.PluginTagToContent("scalars"))
    assert {"loss", "accuracy", "total_loss", "learning_rate", "examples_per_second"} <= scalars
    events = accumulator.Tensors("learning_rate")
    assert [e.step for e in events] == [3, 6]
    np.testing.assert_allclose([tf.make_ndarray(e.tensor_proto) for e in events], [1e-2, 1e-4], rtol=1e-6)  # drops at steps 4 and 5 of 6
