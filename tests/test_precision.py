"""train.precision=auto: timed once per run, recorded, reused on resume; the rule that reads the timings."""
import json
import os

import pytest

from tests.test_train import run_small, small_config
from tfx_models import config as config_lib, runs
from tfx_models.training import precision


def test_bfloat16_must_save_a_tenth_of_the_step():
    assert precision.pick({"float32": 1.0, "mixed_bfloat16": 0.89}) == "mixed_bfloat16"
    assert precision.pick({"float32": 1.0, "mixed_bfloat16": 0.95}) == "float32"   # faster, not enough
    assert precision.pick({"float32": 1.0, "mixed_bfloat16": 1.6}) == "float32"


def test_auto_times_both_policies_once_and_the_resumed_run_keeps_the_choice(tmp_path):
    model, summary = run_small(tmp_path, small_config(precision="auto", steps=3))
    recorded = runs.read_run_info(str(tmp_path))["precision"]
    assert set(recorded["seconds_per_step"]) == {"float32", "mixed_bfloat16"}
    assert all(s > 0 for s in recorded["seconds_per_step"].values())
    assert recorded["policy"] == precision.pick(recorded["seconds_per_step"])
    want = {"float32": "float32", "mixed_bfloat16": "bfloat16"}[recorded["policy"]]
    assert model.get_layer("tower").get_layer("conv2").compute_dtype == want
    # A resumed run reads the recorded choice (here swapped by hand) instead of timing again.
    other = "float32" if recorded["policy"] == "mixed_bfloat16" else "mixed_bfloat16"
    path = os.path.join(str(tmp_path), runs.RUN_INFO_FILE)
    with open(path) as f:
        info = json.load(f)
    info["precision"] = {"policy": other, "seconds_per_step": {"float32": 1.0, "mixed_bfloat16": 1.0}}
    with open(path, "w") as f:
        json.dump(info, f)
    model, summary = run_small(tmp_path, small_config(precision="auto", steps=6))
    assert summary["step"] == 6
    assert model.get_layer("tower").get_layer("conv2").compute_dtype == {"float32": "float32",
                                                                        "mixed_bfloat16": "bfloat16"}[other]
    assert runs.read_run_info(str(tmp_path))["precision"] == info["precision"]   # not timed again


def test_auto_is_refused_for_multi_worker_runs():
    with pytest.raises(ValueError, match="train.precision='auto' with train.strategy='multi_worker'"):
        config_lib.override(small_config(), ["train.precision=auto", "train.strategy=multi_worker"])
