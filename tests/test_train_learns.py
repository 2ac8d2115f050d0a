"""Training that can fail: the loop must lower the loss (a sign-flipped gradient must not),
and a run killed with SIGKILL and resumed must end with the weights of an uninterrupted run."""
import os
import signal

import numpy as np
import pytest
import tensorflow as tf

from tests.test_train_support import REPO, dataset_info, python
from tfx_models import config as config_lib
from tfx_models.losses import classification_loss
from tfx_models.training.divergence import DivergenceError
from tfx_models.training.loop import train

CLASSES, BATCH, CROP = 3, 12, 32


def fixed_batch():
    """Class c images have a bright channel c: a batch a working loop fits in a few dozen steps."""
    rng = np.random.default_rng(0)
    labels = np.arange(BATCH) % CLASSES
    images = rng.uniform(0, 80, (BATCH, CROP, CROP, 3)).astype(np.float32)
    images[np.arange(BATCH), ..., labels] += 150
    return {"rgb": images}, {"label": labels.astype(np.int32), "task": np.zeros(BATCH, np.int32)}


def repeat_batch_fn(input_context, seed):
    del input_context, seed
    return tf.data.Dataset.from_tensors(fixed_batch()).repeat()


def config(steps, **train):
    return config_lib.ExperimentConfig(
        name="learns", data=config_lib.DataConfig(records=("unused",), crop_size=CROP),
        model=config_lib.ModelConfig(width=0.125, dropout=0.0),
        train=config_lib.TrainConfig(**{"steps": steps, "batch_size": BATCH, "log_every": steps,
                                        "checkpoint_every": steps, "lr_drops": (), **train}))


def cross_entropy(model) -> float:
    """The loss on the fixed batch, computed here from the model's probabilities."""
    features, targets = fixed_batch()
    probabilities = model(features, training=False)["probabilities"].numpy()
    return float(-np.log(probabilities[np.arange(BATCH), targets["label"]] + 1e-12).mean())


def loss_before_and_after(run_dir, loss_fn=None):
    before, _ = train(config(1, learning_rate=1e-12), str(run_dir / "untrained"), dataset_fn=repeat_batch_fn,
                      dataset_infos=[dataset_info("tiny", CLASSES)])
    after, _ = train(config(60, learning_rate=0.05), str(run_dir / "trained"), dataset_fn=repeat_batch_fn,
                     dataset_infos=[dataset_info("tiny", CLASSES)], loss_fn=loss_fn)
    return cross_entropy(before), cross_entropy(after)


def lowered_well_below_start(before, after) -> bool:
    return after < 0.25 * before


def test_training_lowers_the_loss_on_a_fixed_batch(tmp_path):
    before, after = loss_before_and_after(tmp_path)
    assert before > 0.5  # an untrained net is unsure among 3 classes (uniform: ln 3 = 1.10)
    assert lowered_well_below_start(before, after), (before, after)


def test_a_sign_flipped_gradient_fails_the_same_check(tmp_path):
    """The check above bites: negating the loss flips every gradient of the data term."""
    classify = classification_loss(["tiny"])

    def ascending(outputs, targets, global_batch):
        loss, logs = classify(outputs, targets, global_batch)
        return -loss, logs

    try:
        before, after = loss_before_and_after(tmp_path, loss_fn=ascending)
    except DivergenceError:
        return  # ascent diverged, and the divergence guard stopped the run before a checkpoint
    assert not lowered_well_below_start(before, after), (before, after)
    assert np.isnan(after) or after > before  # ascent: the loss grows (or is not a number)


# Trains the tiny config for 12 steps, checkpointing every 4 with keep_checkpoints=1, on a
# stream whose batch for step s depends only on s (the loop passes seed = train.seed + start).
# With KILL_AT > 0 the process SIGKILLs itself inside the save of that step, after the data
# files and before the manifest. Saves the final weights to OUT.
def checkpoint_weights(prefix) -> dict:
    """{variable path: value} of a training checkpoint (saved as weights/<path>)."""
    reader = tf.train.load_checkpoint(str(prefix))
    suffix = "/.ATTRIBUTES/VARIABLE_VALUE"
    return {key[len("weights/"):-len(suffix)].replace(".S", "/"): reader.get_tensor(key)
            for key in reader.get_variable_to_shape_map()
            if key.startswith("weights/") and key.endswith(suffix)}


RESUME_SCRIPT = r"""
import os, signal, sys
import numpy as np, tensorflow as tf

from tests.test_train_support import dataset_info
from tests.test_train_learns import config
from tfx_models.runs import checkpoints as checkpointing
from tfx_models.training.divergence import DivergenceError
from tfx_models.training.loop import train

run_dir, kill_at, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
write_manifest = checkpointing.write_manifest
def dying_write_manifest(prefix, step):
    if step == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    write_manifest(prefix, step)
checkpointing.write_manifest = dying_write_manifest

cfg = config(12, learning_rate=0.05, checkpoint_every=4, keep_checkpoints=1, log_every=4, lr_drops=(0.5,))
def batch(step):
    x = tf.random.stateless_uniform((12, 32, 32, 3), seed=tf.stack([step, 1]), maxval=255.0)
    label = tf.random.stateless_uniform((12,), seed=tf.stack([step, 2]), maxval=3, dtype=tf.int32)
    return {"rgb": x}, {"label": label, "task": tf.zeros((12,), tf.int32)}
def dataset_fn(input_context, seed):
    return tf.data.Dataset.range(seed - cfg.train.seed, 10**9).map(batch)
model, _ = train(cfg, run_dir, dataset_fn=dataset_fn, dataset_infos=[dataset_info("tiny", 3)])
np.savez(out, **{v.path: v.numpy() for v in model.weights})
"""


def test_a_run_killed_and_resumed_ends_with_the_weights_of_an_uninterrupted_run(tmp_path):
    whole = python(["-c", RESUME_SCRIPT, str(tmp_path / "whole"), "0", str(tmp_path / "whole.npz")])
    assert whole.returncode == 0, whole.stderr[-3000:]

    killed = python(["-c", RESUME_SCRIPT, str(tmp_path / "run"), "8", str(tmp_path / "unused.npz")])
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not os.path.exists(tmp_path / "unused.npz")
    at_step_4 = checkpoint_weights(tmp_path / "run" / "checkpoints" / "ckpt-4")
    resumed = python(["-c", RESUME_SCRIPT, str(tmp_path / "run"), "0", str(tmp_path / "resumed.npz")])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from {tmp_path / 'run' / 'checkpoints' / 'ckpt-4'} at step 4" in resumed.stdout

    expected, got = dict(np.load(tmp_path / "whole.npz")), dict(np.load(tmp_path / "resumed.npz"))
    assert expected.keys() == got.keys() and any("kernel" in k for k in expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-6, err_msg=key)
    # Steps 5-12 moved every kernel far more than the tolerance, so the equality says something.
    for key in (k for k in expected if k.endswith("kernel")):
        assert np.abs(expected[key] - at_step_4[key]).max() > 1e-4, key
