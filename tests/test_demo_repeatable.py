"""Per-machine repeatability (issue 39): the demo's train-then-evaluate, run twice in fresh
processes with one seed, ends with the same weights and writes the same table; another seed
does not end with the same weights (so the comparison can fail)."""
import glob
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.test_input_pipeline import write_record_dir
from tests.test_train_support import REPO

# The demo's own commands (scripts/demo.sh), on toy records and a handful of steps.
DEMO = '''
import sys
from tfx_models.evaluate import main as evaluate
from tfx_models.train import main as train
records, out, seed, whole = sys.argv[1:]
sets = [f"data.records={records}", "data.crop_size=32", "data.cache_decoded=true", f"train.seed={seed}",
        "train.steps=6", "train.batch_size=8", "train.checkpoint_every=6", "train.log_every=6"]
sets = [arg for value in sets for arg in ("--set", value)]
for stream in ("spatial", "temporal") if whole == "1" else ("spatial",):
    assert train(["--config", f"tfx_models/experiments/demo_{stream}.py", *sets, "--run_dir", f"{out}/{stream}"]) == 0
if whole == "1":
    evaluate(["--spatial", f"{out}/spatial", "--temporal", f"{out}/temporal", "--out", f"{out}/eval",
              "--num_frames", "3", "--crops", "2", "--svm_frames", "2", "--svm_crops", "1"])
'''


def demo(records, out, seed, whole=True):
    """The demo's training and evaluation, or (whole=False) its spatial training alone."""
    subprocess.run([sys.executable, "-c", DEMO, str(records), str(out), str(seed), "1" if whole else "0"],
                   cwd=REPO, check=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, capture_output=True)
    return out


def weights(run_dir):
    reader = tf.train.load_checkpoint(sorted(glob.glob(f"{run_dir}/checkpoints/ckpt-*.index"))[-1][:-len(".index")])
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if "save_counter" not in name}


def same_weights(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("repeat")
    records = write_record_dir(root / "records", [4, 4, 4], frames=12, height=36, width=44, disjoint=True)
    return {"a": demo(records, root / "a", 0), "b": demo(records, root / "b", 0),
            "other_seed": demo(records, root / "other_seed", 1, whole=False)}


def test_two_runs_with_one_seed_end_with_the_same_weights_and_table(runs):
    for stream in ("spatial", "temporal"):
        assert same_weights(weights(runs["a"] / stream), weights(runs["b"] / stream)), stream
    assert (runs["a"] / "eval" / "results.md").read_text() == (runs["b"] / "eval" / "results.md").read_text()
    assert (runs["a"] / "eval" / "results.json").read_bytes() == (runs["b"] / "eval" / "results.json").read_bytes()


def test_another_seed_ends_elsewhere(runs):
    assert not same_weights(weights(runs["a"] / "spatial"), weights(runs["other_seed"] / "spatial"))
