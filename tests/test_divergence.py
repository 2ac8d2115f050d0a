"""A diverging run stops loudly: the step's error names the term, no non-finite checkpoint is
written, the last finite one resumes, export refuses NaN weights, the client refuses NaN scores."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from serving.client import NonFiniteScores, predict_video_inputs
from tests.test_serving_fixtures import preprocessing, stream_model
from tests.test_train import run_small, small_config
from tests.test_train_support import QUIET_ENV, REPO, write_records
from tfx_models import runs
from tfx_models.runs import checkpoints as checkpointing
from tfx_models.training import divergence
from tfx_models.export import saved_model as export

DEMO = "tfx_models/experiments/demo_spatial.py"
# Weights of ~1e37 after one step: the next forward pass overflows to inf, its loss is NaN.
ABSURD_LR = "1e38"


def checkpoint_steps(run_dir) -> list[int]:
    return [int(p.rsplit("-", 1)[-1]) for p in checkpointing.checkpoints_newest_first(
        runs.checkpoint_dir(str(run_dir)))]


def test_the_error_names_the_first_term_that_went_non_finite():
    values = {"loss": 2.3, "accuracy": math.nan, "distillation": math.inf, "total_loss": math.nan,
              "weight_decay": 0.1, "gradient_norm": math.nan}
    with pytest.raises(divergence.DivergenceError) as err:
        divergence.check_step(17, values, "runs/x/checkpoints/ckpt-15")
    message = str(err.value)
    assert message.startswith("training diverged at step 17: distillation is not finite")
    assert "total_loss = nan" in message and "gradient_norm = nan" in message and "accuracy" not in message
    assert "ckpt-15" in message and "train.learning_rate" in message
    divergence.check_step(18, {"loss": 2.3, "accuracy": math.nan, "gradient_norm": 4.0}, None)


def test_absurd_learning_rate_stops_before_any_non_finite_checkpoint_and_the_last_one_resumes(tmp_path):
    run_small(tmp_path, small_config())
    assert checkpoint_steps(tmp_path) == [6, 3]
    with pytest.raises(divergence.DivergenceError, match=r"training diverged at step [78]: loss is not finite"):
        run_small(tmp_path, small_config(steps=12, learning_rate=float(ABSURD_LR)))
    assert checkpoint_steps(tmp_path) == [6, 3]
    model, _ = runs.load_model_from_run(str(tmp_path))
    assert divergence.non_finite_variables(model.weights) == []

    _, summary = run_small(tmp_path, small_config(steps=12))
    assert summary["step"] == 12 and math.isfinite(summary["total_loss"])
    assert checkpoint_steps(tmp_path) == [12, 9, 6]


def test_a_nan_gradient_under_a_finite_loss_stops_the_step_that_made_it(tmp_path):
    def nan_gradient(outputs, targets, global_batch):
        # sqrt at 0: the loss is 0, its gradient 0 * inf = NaN.
        loss = tf.sqrt(tf.reduce_sum(tf.cast(outputs["logits"], tf.float32) * 0.0))
        return loss, {"loss": (loss, tf.constant(1.0))}

    with pytest.raises(divergence.DivergenceError, match="at step 1: gradient_norm is not finite"):
        run_small(tmp_path, small_config(), loss_fn=nan_gradient)
    assert checkpoint_steps(tmp_path) == []


def test_the_cli_exits_non_zero_with_the_message_and_resumes_with_a_lower_learning_rate(tmp_path):
    records = write_records(str(tmp_path / "records"), "tiny", ["a", "b", "c"])
    run_dir = str(tmp_path / "run")
    command = [sys.executable, "-m", "tfx_models.train", "--config", DEMO, "--run_dir", run_dir,
               "--set", f"data.records={records}", "--set", "data.crop_size=32", "--set", "model.width=0.125",
               "--set", "train.batch_size=4", "--set", "train.checkpoint_every=2", "--set", "train.log_every=2"]
    env = {**os.environ, **QUIET_ENV}
    first = subprocess.run(command + ["--set", "train.steps=4"], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=240)
    assert first.returncode == 0, first.stderr[-3000:]
    diverged = subprocess.run(command + ["--set", "train.steps=8", "--set", f"train.learning_rate={ABSURD_LR}"],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert diverged.returncode == 3, diverged.stdout[-2000:] + diverged.stderr[-2000:]
    assert "error: training diverged at step" in diverged.stderr and "ckpt-4" in diverged.stderr
    assert "Traceback" not in diverged.stderr and "done:" not in diverged.stdout
    assert checkpoint_steps(run_dir) == [4, 2]

    resumed = subprocess.run(command + ["--set", "train.steps=8"], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "at step 4" in resumed.stdout and "done: step 8" in resumed.stdout


def test_export_refuses_a_model_with_a_nan_weight_and_names_it(tmp_path):
    model = stream_model("temporal")
    kernel = model.get_layer("logits").kernel
    values = kernel.numpy()
    values[0, 0] = np.nan
    kernel.assign(values)
    with pytest.raises(divergence.DivergenceError, match="logits/kernel"):
        export.export_model(model, preprocessing(), str(tmp_path), "diverged")
    assert not os.path.exists(tmp_path / "diverged" / "1")


class _Answers:
    """A transport answering fixed scores: the client's own arithmetic is what is tested."""

    def __init__(self, scores):
        self.scores = np.asarray(scores, np.float32)

    def predict(self, signature, inputs):
        rows = len(next(iter(inputs.values())))
        answer, self.scores = self.scores[:rows], self.scores[rows:]
        return {"probabilities": answer}


def test_the_client_refuses_to_rank_nan_scores():
    inputs = {"rgb": np.zeros((4, 2), np.float32)}
    fine = predict_video_inputs(_Answers([[0.2, 0.8]] * 3 + [[0.6, 0.4]]), inputs, max_request_bytes=16)
    np.testing.assert_allclose(fine, [0.3, 0.7])
    with pytest.raises(NonFiniteScores, match="non-finite scores for 1 of 4 inputs.*input 2"):
        predict_video_inputs(_Answers([[0.2, 0.8]] * 2 + [[np.nan, np.nan], [0.6, 0.4]]), inputs,
                             max_request_bytes=16)
