"""Cross-fitting for late fusion: a run with data.folds never samples its held-out groups, and
evaluate fits a second SVM on training scores from runs that did not see those videos."""
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.test_train_support import write_records
from tfx_models import config as config_lib
from tfx_models.evaluation import protocol as evaluate
from tfx_models.data import pipeline as input_pipeline
from tfx_models.data.folds import fold_of
from tfx_models.training.loop import train

CLASSES = ["a", "b", "c", "d"]
SMALL = ["data.crop_size=32", "data.length=2", "model.width=0.125", "train.batch_size=4",
         "train.steps=2", "train.checkpoint_every=2", "train.log_every=1"]


def group_of_class(label, v):
    return f"g{label}"  # one group per class: a held-out fold removes whole classes


def fold_by_hand(group: str, folds: int) -> int:
    """Numbered groups ('g3') go round-robin; names without a number by TF's fixed hash."""
    if group[1:].isdigit():
        return int(group[1:]) % folds
    return int(tf.strings.to_hash_bucket_fast([group], folds).numpy()[0])


def test_numbered_groups_fill_the_folds_round_robin_and_names_hash():
    groups = ["g08", "g09", "g10", "g11", "12", "v_stem_of_a_video", "another_stem"]
    assert fold_of(groups, 3).numpy().tolist() == [2, 0, 1, 2, 0, *[fold_by_hand(g, 3) for g in groups[5:]]]


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    return write_records(str(tmp_path_factory.mktemp("oof") / "records"), "tiny", CLASSES, frames=6,
                         group=group_of_class)


@pytest.mark.parametrize("fold", [0, 1])
def test_training_never_samples_the_held_out_groups(records, fold):
    held_out = {label for label in range(len(CLASSES)) if fold_by_hand(f"g{label}", 2) == fold}
    assert held_out and len(held_out) < len(CLASSES), "the groups must fall in both folds"
    batches = input_pipeline.train_dataset([(records, 0)], "spatial", batch_size=8, crop_size=16, seed=3,
                                           holdout=(2, fold))
    seen = {int(label) for _, targets in batches.take(6) for label in targets["label"].numpy()}
    assert seen == set(range(len(CLASSES))) - held_out


def test_cross_fitting_config_names_the_key():
    with pytest.raises(ValueError, match="data.folds=2, data.holdout_fold=2"):
        config_lib.override(config_lib.ExperimentConfig(name="x"), ["data.folds=2", "data.holdout_fold=2"])


def constant_model(key: str, channels: int, favourite: int) -> keras.Model:
    """Scores every input alike, softmax(3 * one_hot(favourite)): its scores say which model ran."""
    inputs = keras.Input((32, 32, channels), name=key)
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    logits = keras.layers.Dense(len(CLASSES), kernel_initializer="zeros",
                                bias_initializer=keras.initializers.Constant(3.0 * np.eye(len(CLASSES))[favourite]),
                                name="logits")(pooled)
    return keras.Model({key: inputs}, {"logits": logits, "probabilities": keras.layers.Softmax()(logits)})


def test_out_of_fold_scores_come_from_the_run_that_held_each_video_out(records):
    """Fold k's videos are scored by the runs trained without fold k, never by one that trained on them."""
    def fold_model(key, channels, fold, favourite):
        entry = evaluate.eval_model(f"{key}{fold}", constant_model(key, channels, favourite), {}, "tiny", CLASSES)
        return evaluate.FoldModel(entry, folds=2, fold=fold)

    # The spatial run holding out fold k favours class k; the temporal one class k + 2.
    fold_models = [fold_model("rgb", 3, k, k) for k in (0, 1)] + [fold_model("flow", 4, k, k + 2) for k in (0, 1)]
    pair = (fold_models[0].entry, fold_models[2].entry)
    ids, labels, (spatial, temporal) = evaluate.out_of_fold_scores(fold_models, pair, records, num_frames=2,
                                                                   crops=1, batch_size=8)
    assert sorted(ids) == sorted(f"tiny/train_{name}_{v}.avi" for name in CLASSES for v in range(2))

    def softmax(logits):
        e = np.exp(logits - logits.max())
        return e / e.sum()

    folds = [fold_by_hand(f"g{label}", 2) for label in labels]  # group_of_class: video of class c is in g{c}
    assert set(folds) == {0, 1}
    np.testing.assert_allclose(spatial, [softmax(3.0 * np.eye(len(CLASSES))[k]) for k in folds], atol=1e-6)
    np.testing.assert_allclose(temporal, [softmax(3.0 * np.eye(len(CLASSES))[k + 2]) for k in folds], atol=1e-6)


def _run(tmp_path, records, stream, name, extra=()):
    config = config_lib.override(config_lib.ExperimentConfig(name=name), [
        f"data.stream={stream}", f"data.records={records}", *SMALL, *extra])
    run_dir = str(tmp_path / name)
    train(config, run_dir)
    return run_dir


def test_evaluate_fits_an_svm_on_out_of_fold_scores(records, tmp_path):
    spatial = _run(tmp_path, records, "spatial", "spatial")
    temporal = _run(tmp_path, records, "temporal", "temporal")
    folds = {(stream, k): _run(tmp_path, records, stream, f"{stream}_fold{k}",
                               ["data.folds=2", f"data.holdout_fold={k}"])
             for stream in ("spatial", "temporal") for k in (0, 1)}
    options = dict(num_frames=2, crops=1, batch_size=8, subset="test", svm=True, svm_frames=2, svm_crops=1,
                   svm_c=1.0)

    missing = [folds[("spatial", 0)], folds[("spatial", 1)], folds[("temporal", 0)]]
    with pytest.raises(ValueError, match=r"missing: Temporal: .* \(fold 1\)$"):
        evaluate.evaluate_runs([spatial], [temporal], str(tmp_path / "eval_missing"), fold_runs=missing,
                               **options)
    with pytest.raises(ValueError, match="needs a cross-fitted run"):
        evaluate.evaluate_runs([spatial], [temporal], str(tmp_path / "eval_bad"), fold_runs=[spatial], **options)

    out = str(tmp_path / "eval")
    result = evaluate.evaluate_runs([spatial], [temporal], out, fold_runs=list(folds.values()), **options)
    rows = next(iter(result["splits"].values()))
    assert {evaluate.SVM_ROW, evaluate.SVM_OOF_ROW} <= set(rows)
    assert evaluate.SVM_OOF_ROW in result["markdown"]
    saved = [os.path.join(root, f) for root, _, files in os.walk(out) for f in files if f == "svm_fusion.json"]
    infos = {json.load(open(p))["info"].get("scores", "training"): json.load(open(p))["info"] for p in saved}
    # Every training video scored once, by the runs of the fold that held its group out.
    assert infos["out of fold"]["train_videos"] == infos["training"]["train_videos"] == 2 * len(CLASSES)
    assert infos["out of fold"]["folds"] == 2
    # Both SVMs were fit on the training videos, none of the test videos.
    train_ids = sorted(f"tiny/train_{name}_{v}.avi" for name in CLASSES for v in range(2))
    assert sorted(infos["out of fold"]["train_ids"]) == sorted(infos["training"]["train_ids"]) == train_ids
