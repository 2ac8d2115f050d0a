"""The one training loop under MirroredStrategy (two logical CPUs) and two-worker
MultiWorkerMirroredStrategy on loopback. Each runs in fresh processes: device layout and
the multi-worker runtime must be fixed before TensorFlow initialises."""
import json
import os
import subprocess
import sys

import numpy as np

from tests.test_train_support import QUIET_ENV, REPO, free_ports, python

# Trains the small model for 3 steps on fixed data and saves its weights and how far each moved
# from the seeded initial weights; argv: strategy, run_dir, out.npz.
TRAIN_SCRIPT = """
import sys
import keras
import numpy as np

from tests.test_train_support import dataset_info, fixed_dataset_fn
from tfx_models import config as config_lib
from tfx_models.kinds.two_stream import build_model_from_config
from tfx_models.training.strategies import is_chief, make_strategy, split_cpu
from tfx_models.training.loop import train

name, run_dir, out = sys.argv[1:4]
if name == "mirrored":
    split_cpu(2)
strategy = make_strategy(name)
config = config_lib.ExperimentConfig(
    name="dist", data=config_lib.DataConfig(records=("unused",), crop_size=32),
    model=config_lib.ModelConfig(width=0.125, dropout=0.0),
    train=config_lib.TrainConfig(steps=3, batch_size=8, log_every=1, checkpoint_every=2, seed=7))
model, summary = train(config, run_dir, strategy=strategy,
                       dataset_fn=fixed_dataset_fn("rgb", (32, 32, 3), 3, 8),
                       dataset_infos=[dataset_info("tiny", 3)])
keras.utils.set_random_seed(config.train.seed)
initial = build_model_from_config(config, {"tiny": 3})
np.savez(out, replicas=strategy.num_replicas_in_sync, chief=is_chief(strategy),
         **{v.path: v.numpy() for v in model.weights},
         **{"update:" + v.path: v.numpy() - i.numpy() for v, i in zip(model.weights, initial.weights)})
"""


def _weights(path):
    data = dict(np.load(path))
    return int(data.pop("replicas")), bool(data.pop("chief")), data


def _assert_same_weights(a, b, **tolerance):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], err_msg=key, **tolerance)


def test_mirrored_on_two_cpus_matches_one_device(tmp_path):
    results = {}
    for name in ("default", "mirrored"):
        out = str(tmp_path / f"{name}.npz")
        result = python(["-c", TRAIN_SCRIPT, name, str(tmp_path / name), out])
        assert result.returncode == 0, result.stderr[-3000:]
        results[name] = _weights(out)
    assert results["default"][0] == 1 and results["mirrored"][0] == 2
    single, mirrored = results["default"][2], results["mirrored"][2]
    # Compare the updates, not the weights, so a wrongly scaled gradient cannot hide behind
    # large initial weights: each variable's update must agree to 0.1% of its size.
    for key in (k for k in single if k.startswith("update:") and "kernel" in k):
        size = np.abs(single[key]).max()
        assert size > 0, f"{key} did not train"
        # An update is a difference of float32 weights: it carries their rounding, a few ulps
        # of the weights' magnitude, however small the update itself is.
        rounding = 8 * np.spacing(np.abs(single[key[len("update:"):]]).max())
        np.testing.assert_allclose(mirrored[key], single[key], atol=1e-3 * size + rounding, rtol=0, err_msg=key)


def test_two_workers_on_loopback_end_with_identical_weights(tmp_path):
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    run_dir = str(tmp_path / "run")
    workers = []
    for index in range(2):
        env = {**os.environ, **QUIET_ENV,
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(
            [sys.executable, "-c", TRAIN_SCRIPT, "multi_worker", run_dir, str(tmp_path / f"w{index}.npz")],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        outputs = [w.communicate(timeout=240) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    for w, (_, err) in zip(workers, outputs):
        assert w.returncode == 0, err[-3000:]
    (r0, chief0, w0), (r1, chief1, w1) = (_weights(tmp_path / f"w{i}.npz") for i in range(2))
    assert (r0, r1) == (2, 2) and (chief0, chief1) == (True, False)
    _assert_same_weights(w0, w1, rtol=0, atol=0)
    # Only the chief wrote the run dir's checkpoints; they hold the same weights.
    assert sorted(os.listdir(os.path.join(run_dir, "checkpoints"))) == [
        "checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index", "ckpt-2.manifest.json",
        "ckpt-3.data-00000-of-00001", "ckpt-3.index", "ckpt-3.manifest.json"]
    assert "step 3/3" in outputs[0][0] and "step 3/3" not in outputs[1][0]
