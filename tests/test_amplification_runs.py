"""An amplified run end to end through the model-kind registry: a learned gate on two trained
single-stream runs, trained, evaluated with joint test inputs, exported and run in TF's C++
loader, and drawn by tfx_models.visualize_gate."""
import numpy as np
import pytest

from tests.test_conv_fusion_runs import SMALL, stream_run
from tests.test_train_support import write_records
from tfx_models import config as config_lib, runs
from tfx_models.training.loop import train

GATED = ["data.crop_size=64"]  # conv5 is 3x3 at 64 px: a map for the gate to vary over


@pytest.fixture(scope="module")
def amplified_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("amplified")
    records = write_records(str(root / "records"), "tiny", ["a", "b", "c"], frames=8)
    spatial = stream_run(str(root / "spatial"), records, "spatial", GATED)
    temporal = stream_run(str(root / "temporal"), records, "temporal", GATED)
    config = config_lib.override(config_lib.load_experiment("tfx_models/experiments/demo_amplified.py"), [
        f"data.records={records}", *SMALL, *GATED, "amplification.gate=learned", "fusion.keep_temporal=true",
        f"fusion.spatial_run={spatial}", f"fusion.temporal_run={temporal}", "train.steps=6",
        "train.checkpoint_every=6", "train.learning_rate=0.05"])
    run_dir = str(root / "amplified")
    train(config, run_dir)
    return {"records": records, "spatial": spatial, "temporal": temporal, "amplified": run_dir}


def test_the_gate_trains_on_frozen_towers_from_the_stream_runs(amplified_run):
    model, info = runs.load_model_from_run(amplified_run["amplified"])
    assert info["kind"] == "amplified" and info["amplification"]["gate"] == "learned"
    for stream in ("spatial", "temporal"):
        single, _ = runs.load_model_from_run(amplified_run[stream])
        np.testing.assert_array_equal(model.get_layer(stream).get_layer("conv5").get_weights()[0],
                                      single.get_layer("tower").get_layer("conv5").get_weights()[0])
    assert np.abs(model.get_layer("gate").get_weights()[0]).max() > 0  # it started at zero


def test_evaluate_labels_the_amplified_row(amplified_run, tmp_path):
    from tfx_models.evaluation.protocol import evaluate_runs

    result = evaluate_runs([], [], str(tmp_path / "eval"), others=[amplified_run["amplified"]], subset="test",
                           num_frames=2, crops=1, batch_size=50, svm=False, svm_frames=2, svm_crops=1, svm_c=1.0)
    [split] = result["splits"].values()
    assert list(split) == ["amplified: learned gate (sigmoid) on spatial conv5, temporal tower kept"]
    assert split[list(split)[0]]["videos"] == 6


def test_amplified_export_runs_in_the_cpp_loader_as_in_memory(amplified_run, tmp_path):
    import tensorflow as tf

    from media.shards import iter_records
    from tfx_models.export import saved_model as export
    from tfx_models.export.runner import SavedModelRunner

    assert export.main(["--run_dir", amplified_run["amplified"], "--base", str(tmp_path), "--name", "amp"]) == 0
    runner = SavedModelRunner(str(tmp_path / "amp" / "1"))
    assert runner.run("metadata", {"probe": np.int32(0)})["kind"].item() == b"amplified"
    records = np.array(list(iter_records(amplified_run["records"], "test"))[:2], dtype=object)
    got = runner.run("predict_records", {"records": records})
    assert set(got) >= {"probabilities", "amplified_probabilities", "temporal_probabilities"}
    model, info = runs.load_model_from_run(amplified_run["amplified"])
    prep = export.preprocessing_from_runs([info], task=None, record_frames=5, top_k=3)
    expected = export.ServingSignatures(model, prep).functions()["predict_records"](tf.constant(records))
    np.testing.assert_allclose(got["probabilities"], expected["probabilities"], rtol=1e-5, atol=1e-6)


def test_visualize_gate_writes_a_png(amplified_run, tmp_path):
    from tfx_models.evaluation import gate_pictures as visualize_gate

    out = str(tmp_path / "gate.png")
    assert visualize_gate.run(["--run", amplified_run["amplified"], "--index", "1", "--clips", "2", "--clip", "1",
                               "--out", out]) == 0
    with open(out, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
