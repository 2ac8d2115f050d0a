"""Model outputs, saving in safe mode, late fusion, multi-task losses, schedules and configs."""
import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_models import config as config_lib
from tfx_models.losses import classification_loss, cross_entropy_heads
from tfx_models.kinds.two_stream import build_model, two_stream_model
from tfx_models.training.loop import learning_rate_schedule

SMALL = dict(crop_size=64, width=0.125)


def test_single_and_multi_task_outputs():
    single = build_model(stream="spatial", num_classes={"ucf101": 5}, **SMALL)
    out = single({"rgb": np.random.uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)})
    assert set(out) == {"logits", "probabilities"}
    np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, rtol=1e-5)
    multi = build_model(stream="temporal", num_classes={"ucf101": 5, "hmdb51": 3}, length=4, **SMALL)
    out = multi({"flow": np.zeros((2, 64, 64, 8), np.float32)})
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "logits_ucf101": (2, 5), "probabilities_ucf101": (2, 5),
        "logits_hmdb51": (2, 3), "probabilities_hmdb51": (2, 3)}


def test_mixed_precision_outputs_stay_float32():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_model(stream="spatial", num_classes={"a": 3}, **SMALL)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("tower").get_layer("conv1").compute_dtype == "bfloat16"
    out = model({"rgb": np.zeros((1, 64, 64, 3), np.float32)})
    assert out["logits"].dtype == tf.float32 and out["probabilities"].dtype == tf.float32


def test_saved_model_loads_in_safe_mode_with_same_outputs(tmp_path):
    model = build_model(stream="spatial", num_classes={"a": 4}, **SMALL)
    path = str(tmp_path / "spatial.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = {"rgb": np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)}
    np.testing.assert_allclose(loaded(x)["probabilities"], model(x)["probabilities"], rtol=1e-5)


def test_two_stream_model_averages_softmax_scores():
    spatial = build_model(stream="spatial", num_classes={"ucf101": 4}, **SMALL)
    temporal = build_model(stream="temporal", num_classes={"ucf101": 4, "hmdb51": 3}, length=2, **SMALL)
    fused = two_stream_model(spatial, temporal, task="ucf101")
    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 255, (3, 64, 64, 3)).astype(np.float32)
    flow = rng.normal(0, 3, (3, 64, 64, 4)).astype(np.float32)
    out = fused({"rgb": rgb, "flow": flow})
    ps = spatial({"rgb": rgb})["probabilities"].numpy()
    pt = temporal({"flow": flow})["probabilities_ucf101"].numpy()
    np.testing.assert_allclose(out["probabilities"], (ps + pt) / 2, rtol=1e-5)
    np.testing.assert_allclose(out["temporal_probabilities"], pt, rtol=1e-5)
    with pytest.raises(ValueError, match="multi-task"):
        two_stream_model(spatial, temporal)


def test_last_layer_setting_trains_only_the_softmax_layer(tmp_path):
    rgb = build_model(stream="spatial", num_classes={"a": 3}, **SMALL).get_layer("tower")
    path = str(tmp_path / "tower.weights.h5")
    rgb.save_weights(path)
    model = build_model(stream="spatial", num_classes={"a": 3}, weights=path, train_tower=False, **SMALL)
    assert sorted(v.path for v in model.trainable_variables) == ["logits/bias", "logits/kernel"]


def test_multitask_heads_ignore_other_tasks_samples():
    loss_fn = classification_loss(["ucf101", "hmdb51"])
    logits_a = tf.constant([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 3.0], [1.0, 1.0, 1.0]])
    logits_b = tf.constant([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0], [1.0, 0.0]])
    # Samples 0, 1 are task 0 (ucf101, 3 classes); samples 2, 3 are task 1 (hmdb51, 2 classes).
    # Sample 2's label 2 exists only in ucf101: the hmdb51 head must never look it up.
    targets = {"label": tf.constant([0, 1, 1, 0]), "task": tf.constant([0, 0, 1, 1])}
    with tf.GradientTape() as tape:
        tape.watch([logits_a, logits_b])
        outputs = {"logits_ucf101": logits_a, "logits_hmdb51": logits_b}
        loss, logs = loss_fn(outputs, targets, 4)
    grad_a, grad_b = tape.gradient(loss, [logits_a, logits_b])

    def ce(logits, label):
        return -np.log(np.exp(logits[label]) / np.exp(logits).sum())

    la, lb = logits_a.numpy(), logits_b.numpy()
    # Each head averages over its own task's share of the batch (4 samples / 2 tasks).
    expected = (ce(la[0], 0) + ce(la[1], 1)) / 2 + (ce(lb[2], 1) + ce(lb[3], 0)) / 2
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-5)
    np.testing.assert_array_equal(grad_a.numpy()[2:], 0.0)   # ucf101 head: no hmdb51 samples
    np.testing.assert_array_equal(grad_b.numpy()[:2], 0.0)   # hmdb51 head: no ucf101 samples
    # Each head's own samples get d(CE / (global batch / 2))/d logits = (softmax - one-hot) / 2.
    def ce_grad(logits, label):
        return (np.exp(logits) / np.exp(logits).sum() - np.eye(len(logits))[label]) / 2
    np.testing.assert_allclose(grad_a.numpy()[:2], [ce_grad(la[0], 0), ce_grad(la[1], 1)], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grad_b.numpy()[2:], [ce_grad(lb[2], 1), ce_grad(lb[3], 0)], rtol=1e-5, atol=1e-7)
    assert [float(v) for v in logs["accuracy_ucf101"]] == [2.0, 2.0]
    # hmdb51: sample 2 predicts 0 for label 1 (wrong), sample 3 predicts 0 for label 0 (right).
    assert [float(v) for v in logs["accuracy_hmdb51"]] == [1.0, 2.0]


def test_single_head_loss_is_global_batch_mean():
    loss_fn = cross_entropy_heads({"logits": None})
    logits = tf.constant([[0.0, 0.0], [5.0, 0.0]])
    loss, _ = loss_fn({"logits": logits}, {"label": tf.constant([0, 0]), "task": tf.constant([0, 0])}, 4)
    np.testing.assert_allclose(loss.numpy(), (np.log(2) + np.log(1 + np.exp(-5))) / 4, rtol=1e-5)


def test_schedule_boundaries_scale_with_steps():
    scratch = learning_rate_schedule(config_lib.TrainConfig(steps=800, learning_rate=1e-2))
    assert [float(scratch(s)) for s in (0, 500, 501, 700, 701, 799)] == pytest.approx(
        [1e-2, 1e-2, 1e-3, 1e-3, 1e-4, 1e-4])
    paper = learning_rate_schedule(config_lib.TrainConfig(steps=80_000))
    assert float(paper(50_001)) == pytest.approx(1e-3) and float(paper(70_001)) == pytest.approx(1e-4)
    finetune = learning_rate_schedule(config_lib.TrainConfig(steps=20_000, learning_rate=1e-3, lr_drops=(0.7,)))
    assert float(finetune(14_000)) == pytest.approx(1e-3) and float(finetune(14_001)) == pytest.approx(1e-4)


EXPERIMENTS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "tfx_models", "experiments", "*.py")))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=os.path.basename)
def test_experiment_files_load(path):
    config = config_lib.load_experiment(path)
    assert config.name == os.path.basename(path)[:-3]


def test_overrides_are_typed_and_errors_name_the_key():
    base = config_lib.ExperimentConfig()
    config = config_lib.override(base, ["train.steps=200", "data.records=a,b", "model.weights=none",
                                        "data.flip=false", "train.lr_drops=0.5,0.75", "model.dropout=0.9"])
    assert config.train.steps == 200 and config.data.records == ("a", "b")
    assert config.model.weights is None and config.data.flip is False
    assert config.train.lr_drops == (0.5, 0.75) and config.model.dropout == 0.9
    with pytest.raises(ValueError, match="train.steps='many': expected int"):
        config_lib.override(base, ["train.steps=many"])
    with pytest.raises(ValueError, match="train.step: unknown key"):
        config_lib.override(base, ["train.step=3"])
    with pytest.raises(ValueError, match="data.stream='audio'"):
        config_lib.override(base, ["data.stream=audio"])
    with pytest.raises(TypeError, match="train.batch_size: expected int"):
        config_lib.from_dict({"train": {"batch_size": "32"}})
    assert config_lib.from_dict(config_lib.to_dict(config)) == config
