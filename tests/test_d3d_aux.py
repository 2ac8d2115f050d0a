"""Kind d3d_aux: the flow-prediction loss teaches the decoder the clip's flow, and the export is RGB-only."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.test_train_support import REPO, write_records
from tfx_models import config as config_lib, kinds, runs
from tfx_models.training.loop import train

TINY = ["model.width=0.125", "data.crop_size=32", "data.snippets=4", "data.snippet_stride=2,2",
        "flow_aux.layer=mixed_3b", "flow_aux.weight=1.0"]


def tiny_aux_config(*overrides):
    return config_lib.override(config_lib.load_experiment(f"{REPO}/tfx_models/experiments/demo_d3d_aux.py"),
                               [*TINY, *overrides])


def decoded_error_after_training(flip_target: bool, steps: int = 30) -> tuple[float, float]:
    """EPE of the decoded flow to the clip's stored flow, before and after `steps` steps of the kind's loss
    on clips whose stored flow is (24, 32) px per frame, the target given sign-flipped or not."""
    keras.utils.set_random_seed(0)
    config = tiny_aux_config()
    kind = kinds.kind_of(config)
    model = kind.build(config, {"toy": 2})
    loss_fn = kind.loss(config, ["toy"])
    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 255, (2, 4, 32, 32, 3)).astype(np.float32)
    stored = np.zeros((2, 4, 32, 32, 2), np.float32)
    stored[..., 0], stored[..., 1] = 24.0, 32.0
    targets = {"label": tf.constant([0, 1]), "task": tf.zeros(2, tf.int32)}
    optimizer = keras.optimizers.Adam(1e-2)

    def error_to_stored():
        decoded = model({"rgb": rgb, "flow": stored}, training=True)["flow_decoded"]  # batch statistics
        # the layer's grid is 1/8 of the clip's: (24, 32) px there are (3, 4)
        return float(tf.reduce_mean(tf.norm(decoded - tf.constant([3.0, 4.0]), axis=-1)))

    before = error_to_stored()
    fed = -stored if flip_target else stored

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss, _ = loss_fn(model({"rgb": rgb, "flow": fed}, training=True), targets, 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))

    for _ in range(steps):
        step()
    return before, error_to_stored()


def test_the_flow_loss_teaches_the_decoder_the_stored_flow():
    before, after = decoded_error_after_training(flip_target=False)
    assert after < 0.5 * before


def test_the_same_check_fails_when_the_target_is_sign_flipped():
    before, after = decoded_error_after_training(flip_target=True)
    assert not after < 0.5 * before  # the decoder learnt -flow: further from the stored flow than at start
    assert after > before


def test_the_kind_refuses_a_bad_decoder_and_a_zero_weight():
    with pytest.raises(ValueError, match="flow_aux.decoder"):
        kinds.kind_of(tiny_aux_config("flow_aux.decoder=unet"))
    with pytest.raises(ValueError, match="flow_aux.weight"):
        kinds.kind_of(tiny_aux_config("flow_aux.weight=0"))


def test_an_aux_flow_run_exports_rgb_only(tmp_path):
    from tfx_models.export import saved_model as export
    from tfx_models.export.runner import SavedModelRunner

    records = write_records(str(tmp_path / "records"), "tiny", ["a", "b"], frames=8)
    run_dir = str(tmp_path / "aux")
    _, metrics = train(tiny_aux_config(f"data.records={records}", "train.batch_size=2", "train.steps=2",
                                       "train.checkpoint_every=2", "train.log_every=1"), run_dir)
    assert "flow_epe" in metrics
    student, info = runs.load_model_from_run(run_dir)
    assert list(student.input) == ["rgb"] and not any(k.startswith(("flow", "hidden")) for k in student.output)
    assert info["streams"] == ["spatial"] and info["training_streams"] == ["spatial", "temporal"]
    assert export.main(["--run_dir", run_dir, "--base", str(tmp_path / "models"), "--name", "aux"]) == 0
    runner = SavedModelRunner(str(tmp_path / "models" / "aux" / "1"))
    assert set(runner.signature("serving_default").inputs) == {"rgb"}
    clips = np.random.default_rng(0).integers(0, 256, (2, 4, 32, 32, 3), dtype=np.uint8)
    got = runner.run("serving_default", {"rgb": clips})["probabilities"]
    np.testing.assert_allclose(got, student({"rgb": clips.astype(np.float32)})["probabilities"], rtol=1e-5, atol=1e-6)
    runner.close()
