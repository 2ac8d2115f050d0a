"""Validation curves: a cross-fitted run's checkpoints scored on its held-out groups, and the rule
that says when accuracy has stopped rising."""
import json
import os

import pytest

from tests.test_train_support import write_records
from tfx_models import config as config_lib
from tfx_models.evaluation import validation
from tfx_models.training.loop import train

SMALL = ["data.crop_size=32", "model.width=0.125", "train.batch_size=4", "train.log_every=2",
         "train.steps=6", "train.checkpoint_every=2", "train.keep_checkpoints=10"]


def _curve(*accuracies):
    return [{"step": 100 * (i + 1), "accuracy": a} for i, a in enumerate(accuracies)]


def test_the_best_checkpoint_stops_rising_after_patience_checkpoints():
    decision = validation.stopping_step(_curve(0.2, 0.4, 0.5, 0.45, 0.5), patience=2)
    assert (decision["step"], decision["accuracy"], decision["stopped"]) == (300, 0.5, True)
    still = validation.stopping_step(_curve(0.2, 0.4, 0.5, 0.45), patience=2)
    assert (still["step"], still["stopped"]) == (300, False)


def test_a_gain_below_min_gain_does_not_move_the_best():
    decision = validation.stopping_step(_curve(0.40, 0.41, 0.42, 0.47), patience=1, min_gain=0.02)
    assert (decision["step"], decision["stopped"]) == (400, False)   # 0.47 beats 0.40 by more than 0.02
    flat = validation.stopping_step(_curve(0.40, 0.41, 0.42, 0.41), patience=2, min_gain=0.02)
    assert (flat["step"], flat["stopped"]) == (100, True)


def test_by_loss_the_lowest_log_loss_wins():
    curve = [{"step": 100 * (i + 1), "accuracy": a, "loss": l}
             for i, (a, l) in enumerate([(0.3, 1.9), (0.5, 1.2), (0.55, 1.4), (0.6, 1.6)])]
    by_loss = validation.stopping_step(curve, patience=2, metric="loss")
    assert (by_loss["step"], by_loss["loss"], by_loss["stopped"]) == (200, 1.2, True)
    assert validation.stopping_step(curve, patience=2)["step"] == 400   # accuracy still rose


def test_steps_out_of_order_are_refused():
    with pytest.raises(ValueError, match="must rise"):
        validation.stopping_step([{"step": 200, "accuracy": 0.1}, {"step": 100, "accuracy": 0.2}])


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    # Groups g0, g1, g2 per class; with 2 folds numbered groups go round-robin: g0, g2 -> fold 0.
    return write_records(str(tmp_path_factory.mktemp("validation") / "records"), "tiny", ["a", "b", "c"],
                         videos_per_class=3)


def _run(tmp_path, records, name, extra):
    config = config_lib.override(config_lib.ExperimentConfig(name=name), [
        "data.stream=spatial", f"data.records={records}", *SMALL, *extra])
    run_dir = str(tmp_path / name)
    train(config, run_dir)
    return run_dir


def test_a_cross_fitted_run_is_scored_on_its_held_out_groups_at_every_checkpoint(records, tmp_path):
    run_dir = _run(tmp_path, records, "fold0", ["data.folds=2", "data.holdout_fold=0"])
    curve = validation.checkpoint_curve(run_dir, num_frames=2)
    assert [p["step"] for p in curve] == [2, 4, 6]
    assert all(p["videos"] == 6 for p in curve)   # 3 classes x (g0, g2)
    assert all(0 <= p["accuracy"] <= 1 and p["loss"] > 0 for p in curve)
    assert len({p["loss"] for p in curve}) == 3   # each checkpoint's own weights were loaded
    validation.main(["--run", run_dir, "--num_frames", "2", "--patience", "5"])
    with open(os.path.join(run_dir, validation.VALIDATION_FILE)) as f:
        saved = json.load(f)
    assert saved["curve"] == curve and saved["decision"]["stopped"] is False


def test_a_run_without_held_out_groups_is_refused(records, tmp_path):
    run_dir = _run(tmp_path, records, "all", ["train.steps=2"])
    with pytest.raises(ValueError, match="not a cross-fitted run"):
        validation.checkpoint_curve(run_dir)
