"""Table 2's training options: extra classes from another dataset (data.extra_records) and
fine-tuning from another dataset's run (model.init_run)."""
import keras
import numpy as np
import pytest

from tests.test_train_support import write_records
from tfx_models import config as config_lib
from tfx_models.evaluation import protocol as evaluate
from tfx_models.data import extra_classes, pipeline as input_pipeline
from tfx_models import kinds
from tfx_models.runs import load_model_from_run, read_run_info
from tfx_models.training.loop import train

OWN = ["bounce_ball", "shake_ball"]
# write_records paints class k at grey level 40 + 60 k: the shared class (BounceBall) is the one at 160.
OTHER = ["OrbitStar", "SpinBall", "BounceBall"]
SMALL = ["data.crop_size=32", "data.length=2", "model.width=0.125", "train.batch_size=4",
         "train.steps=2", "train.checkpoint_every=2", "train.log_every=1", "data.color_jitter=false"]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("table2")
    return (write_records(str(root / "own"), "own", OWN, frames=6),
            write_records(str(root / "other"), "other", OTHER, frames=6, seed=1))


def test_merge_appends_only_the_classes_the_task_lacks():
    merged, maps = extra_classes.merge(OWN, [OTHER, ["spin_ball", "Juggle"]])
    assert merged == ["bounce_ball", "shake_ball", "OrbitStar", "SpinBall", "Juggle"]
    assert maps == [[2, 3, -1], [3, 4]]


def test_extra_records_join_the_task_relabelled_without_the_shared_class(datasets):
    own, other = datasets
    batches = input_pipeline.train_dataset([(own, 0), (other, 0, (2, 3, -1))], "spatial", batch_size=16,
                                           crop_size=16, flip=False, color_jitter=False, seed=2)
    grey_by_label = {}
    for features, targets in batches.take(8):
        for rgb, label in zip(features["rgb"].numpy(), targets["label"].numpy()):
            grey_by_label.setdefault(int(label), []).append(float(rgb.mean()))
    assert sorted(grey_by_label) == [0, 1, 2, 3]
    level = {label: np.median(values) for label, values in grey_by_label.items()}
    # own 0 and OrbitStar were painted alike (level 40), own 1 and SpinBall alike (level 100).
    assert abs(level[0] - level[2]) < 0.1 * abs(level[1] - level[0])
    assert abs(level[1] - level[3]) < 0.1 * abs(level[1] - level[0])
    # No sample comes from the shared class, which was painted brighter than all the others.
    shared = 2 * level[1] - level[0]
    assert max(max(values) for values in grey_by_label.values()) < (level[1] + shared) / 2


def test_extra_records_that_add_no_class_name_the_record_dir(datasets, tmp_path):
    own, _ = datasets
    config = config_lib.override(config_lib.ExperimentConfig(name="x"), [
        f"data.records={own}", f"data.extra_records={own}", *SMALL])
    with pytest.raises(ValueError, match=f"{own} has no class that own lacks"):
        train(config, str(tmp_path / "run"))


def test_a_run_with_extra_classes_is_scored_on_the_task_classes(datasets, tmp_path):
    own, other = datasets
    config = config_lib.override(config_lib.ExperimentConfig(name="extra"), [
        "data.stream=spatial", f"data.records={own}", f"data.extra_records={other}", *SMALL])
    run_dir = str(tmp_path / "extra")
    train(config, run_dir)
    info = read_run_info(run_dir)
    assert info["classes"]["own"] == ["bounce_ball", "shake_ball", "OrbitStar", "SpinBall"]
    assert info["extra_records"] == [other]
    results = evaluate.evaluate_runs([run_dir], [], str(tmp_path / "eval"), num_frames=2, crops=1, batch_size=8,
                                     subset="test", svm=False, svm_frames=1, svm_crops=1, svm_c=1.0)
    (split,) = results["splits"].values()
    (row,) = split.values()
    assert len(row["confusion_matrix"]) == len(OWN)


def test_scores_of_a_wider_head_are_its_first_columns_renormalised():
    inputs = keras.Input((4, 4, 3), name="rgb")
    logits = keras.layers.Dense(4, name="logits")(keras.layers.GlobalAveragePooling2D()(inputs))
    model = keras.Model({"rgb": inputs}, {"probabilities": keras.layers.Softmax()(logits)})
    settings = {"classes": {"own": ["a", "b", "x", "y"]}, "extra_records": ["other"]}
    entry = evaluate.eval_model("m", model, settings, "own", ["a", "b"])
    frames = np.random.default_rng(0).uniform(size=(3, 4, 4, 3)).astype(np.float32)
    full = model.predict({"rgb": frames}, verbose=0)["probabilities"]
    expected = full[:, :2] / (full[:, 0] + full[:, 1])[:, None]
    np.testing.assert_allclose(entry.scores({"rgb": frames}, batch_size=8), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="has 4 classes, the records of 'own' have 2"):
        evaluate.eval_model("m", model, {**settings, "extra_records": []}, "own", ["a", "b"])
    with pytest.raises(ValueError, match="has 4 classes"):
        evaluate.eval_model("m", model, settings, "own", ["b", "a"])


def test_init_run_copies_the_tower_and_leaves_the_heads_fresh(datasets, tmp_path):
    own, other = datasets
    source_dir = str(tmp_path / "source")
    train(config_lib.override(config_lib.ExperimentConfig(name="source"), [
        "data.stream=temporal", f"data.records={other}", *SMALL]), source_dir)
    source, _ = load_model_from_run(source_dir)
    config = config_lib.override(config_lib.ExperimentConfig(name="tuned"), [
        "data.stream=temporal", f"data.records={own}", f"model.init_run={source_dir}", *SMALL])
    kind = kinds.kind_of(config)
    model = kind.build(config, {"own": len(OWN)})
    fresh_head = [w.copy() for w in model.get_layer("logits").get_weights()]
    copied = kind.initialise(model, config)
    assert "conv1" in copied and "fc7" in copied
    for name in copied:
        for got, want in zip(model.get_layer("tower").get_layer(name).get_weights(),
                             source.get_layer("tower").get_layer(name).get_weights()):
            np.testing.assert_array_equal(got, want)
    for got, want in zip(model.get_layer("logits").get_weights(), fresh_head):
        np.testing.assert_array_equal(got, want)

    spatial = config_lib.override(config, ["data.stream=spatial"])
    with pytest.raises(ValueError, match="not a spatial stream"):
        kind.initialise(kind.build(spatial, {"own": len(OWN)}), spatial)
    wider = config_lib.override(config, ["model.width=0.25"])
    with pytest.raises(ValueError, match="layer 'conv1' has weights"):
        kind.initialise(kind.build(wider, {"own": len(OWN)}), wider)
