"""Multiplicative fusion trains through the product (issue 27): from two stream runs, the towers'
weights move under training, and in the frozen ablation they do not; the measured initialisation
is recorded in run_info."""
import numpy as np
import pytest

from tests.test_conv_fusion_runs import SMALL, stream_run
from tests.test_train_support import write_records
from tfx_models import config as config_lib, runs
from tfx_models.training.loop import train


@pytest.fixture(scope="module")
def m_fusion_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("m_fusion")
    records = write_records(str(root / "records"), "tiny", ["a", "b", "c"], frames=8)
    streams = {s: stream_run(str(root / s), records, s) for s in ("spatial", "temporal")}
    fused = {}
    for experiment in ("demo_m_fusion", "demo_m_fusion_frozen"):
        config = config_lib.override(config_lib.load_experiment(f"tfx_models/experiments/{experiment}.py"), [
            f"data.records={records}", *SMALL, f"fusion.spatial_run={streams['spatial']}",
            f"fusion.temporal_run={streams['temporal']}", "train.steps=3", "train.checkpoint_every=3",
            "train.learning_rate=0.05"])
        fused[experiment] = str(root / experiment)
        train(config, fused[experiment])
    return streams, fused


def moved(fused_dir, stream_dir, stream):
    model, _ = runs.load_model_from_run(fused_dir)
    single, _ = runs.load_model_from_run(stream_dir)
    return {name: not np.array_equal(model.get_layer(stream).get_layer(name).get_weights()[0],
                                     single.get_layer("tower").get_layer(name).get_weights()[0])
            for name in ("conv1", "conv5")}


def test_both_towers_train_through_the_product(m_fusion_runs):
    streams, fused = m_fusion_runs
    for stream in ("spatial", "temporal"):
        assert moved(fused["demo_m_fusion"], streams[stream], stream) == {"conv1": True, "conv5": True}


def test_the_frozen_ablation_keeps_the_towers(m_fusion_runs):
    streams, fused = m_fusion_runs
    for stream in ("spatial", "temporal"):
        assert moved(fused["demo_m_fusion_frozen"], streams[stream], stream) == {"conv1": False, "conv5": False}


def test_run_info_records_the_measured_scales(m_fusion_runs):
    _, fused = m_fusion_runs
    record = runs.read_run_info(fused["demo_m_fusion"])["initialisation"]
    assert record["spatial_rms"] > 0 and record["temporal_rms"] > 0 and record["scales"][0] == 1.0
    model, _ = runs.load_model_from_run(fused["demo_m_fusion"])
    np.testing.assert_allclose(model.get_layer("fusion").get_weights()[0], record["scales"], rtol=1e-6)
