"""D3D's parts: S3D-G's separable convolutions and gating, I3D inflation, the distillation loss against
hand-computed values, the frozen teacher, and the RGB-only clip sampler at test time."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from media.stacking import clip_starts, joint_test_batch
from tfx_models import config as config_lib, kinds
from tfx_models.kinds.d3d import distance, distillation_loss
from tfx_models.backbones.inflation import inflate_kernel, inflate_tower
from tfx_models.backbones.s3d import FeatureGating, build_s3d_g, separable_unit
from tfx_models.backbones.towers import build_tower


def test_s3d_g_maps_have_the_strides_and_widths_of_its_blocks():
    tower = build_s3d_g((4, 32, 32, 3), stream="spatial", width=0.125)
    shapes = {name: tuple(t.shape[1:]) for name, t in tower.output.items()}
    # conv1 strides 2x2x2; pools 1x2x2, 1x2x2, 2x2x2, 2x2x2. Channels x 1/8: conv1 64 -> 8, conv2c 192 -> 24,
    # mixed_3c 128+192+96+64 -> 16+24+12+8, mixed_4c 160+224+64+64 -> 20+28+8+8, mixed_5b 256+320+128+128.
    assert shapes == {"conv1": (2, 16, 16, 8), "conv2": (2, 8, 8, 24), "mixed_3": (2, 4, 4, 60),
                      "mixed_4": (1, 2, 2, 64), "mixed_5": (1, 1, 1, 104), "features": (104,)}
    assert list(tower.input.shape) == [None, 4, 32, 32, 3] and tower.input.name == "rgb"


def test_every_3d_conv_is_spatial_or_temporal_never_full():
    tower = build_s3d_g((4, 32, 32, 2), stream="temporal", width=0.125)
    convs = [layer for layer in tower.layers if isinstance(layer, keras.layers.Conv3D)]
    kernels = {layer.name: tuple(layer.kernel.shape[:3]) for layer in convs}
    assert kernels["conv1_spatial"] == (1, 7, 7) and kernels["conv1_temporal"] == (7, 1, 1)
    assert kernels["mixed_4b_b1b_spatial"] == (1, 3, 3) and kernels["mixed_4b_b1b_temporal"] == (3, 1, 1)
    for name, (t, h, w) in kernels.items():
        assert t == 1 or (h, w) == (1, 1), f"{name} is a full {t}x{h}x{w} conv"
    # Temporal convs: conv1, conv2c and two per Inception block (five blocks), each after its spatial half.
    temporal = [name for name, (t, _, _) in kernels.items() if t > 1]
    assert len(temporal) == 2 + 2 * 5 and all(name.endswith("_temporal") for name in temporal)


def test_a_separable_unit_has_the_parameters_of_k2_plus_k_not_k3():
    inputs = keras.Input((4, 8, 8, 8))
    model = keras.Model(inputs, separable_unit(inputs, 16, 3, name="sep"))
    convs = {layer.name: layer.kernel.shape for layer in model.layers if isinstance(layer, keras.layers.Conv3D)}
    assert convs == {"sep_spatial": (1, 3, 3, 8, 16), "sep_temporal": (3, 1, 1, 16, 16)}
    # 1x3x3x8x16 + 3x1x1x16x16 = 1152 + 768 = 1920 weights, against 3x3x3x8x16 = 3456 for a full 3D conv.
    assert sum(int(np.prod(shape)) for shape in convs.values()) == 1920


def test_feature_gating_is_a_sigmoid_of_the_pooled_features_times_the_input():
    x = np.arange(2 * 2 * 1 * 1 * 2, dtype=np.float32).reshape(2, 2, 1, 1, 2) / 8.0
    gate = FeatureGating()
    gate.build(x.shape)
    gate.set_weights([np.array([[1.0, -2.0], [0.5, 1.0]], np.float32), np.array([0.1, -0.3], np.float32)])
    # Example 0: frames (0, .125), (.25, .375): mean (.125, .25); W^T mean + b = (.125 + .125 + .1, -.25 + .25 - .3)
    # Example 1: mean (.625, .75): (.625 + .375 + .1, -1.25 + .75 - .3).
    pre = np.array([[0.35, -0.3], [1.1, -0.8]])
    expected = x * (1 / (1 + np.exp(-pre)))[:, None, None, None, :]
    np.testing.assert_allclose(gate(x), expected, rtol=1e-6)


def test_inflated_kernel_is_the_2d_kernel_repeated_over_time_and_divided_by_k():
    kernel = np.arange(12, dtype=np.float32).reshape(2, 2, 1, 3)
    inflated = inflate_kernel(kernel, 3)
    assert inflated.shape == (3, 2, 2, 1, 3)
    for t in range(3):
        np.testing.assert_array_equal(inflated[t], kernel / 3)


def test_inflated_cnn_m_on_identical_frames_responds_as_the_2d_net_on_one_frame():
    keras.utils.set_random_seed(0)
    flat = build_tower("cnn_m_2048", (48, 48, 3), stream="spatial", width=0.125, name="spatial")
    inflated = inflate_tower(flat, num_frames=4, time_kernel=3)
    frame = np.random.default_rng(0).uniform(0, 255, (1, 48, 48, 3)).astype(np.float32)
    clip = np.repeat(frame[:, None], 4, axis=1)
    want, got = flat(frame), inflated(clip)
    for key in ("conv1", "conv5", "fc7"):
        for t in range(4):  # every frame, the edge frames included (time is padded by repetition)
            np.testing.assert_allclose(got[key][:, t], want[key], rtol=1e-4, atol=1e-4 * float(np.abs(want[key]).max()))
    np.testing.assert_allclose(got["features"], want["features"], rtol=1e-4, atol=1e-5)
    # ...and it is a 3D net: on a moving clip a frame's conv1 response mixes its neighbours.
    moving = np.random.default_rng(1).uniform(0, 255, (1, 4, 48, 48, 3)).astype(np.float32)
    mixed = inflated(moving)["conv1"][:, 1]
    assert np.abs(mixed - flat(moving[:, 1])["conv1"]).max() > 1e-2


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


STUDENT = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 1.5]], np.float32)
TEACHER = np.array([[0.0, 1.0, 3.0], [2.0, 0.0, -1.0]], np.float32)
LABELS = np.array([1, 2])
# Cross-entropy by hand: -log softmax(z)[y], averaged over the two examples.
CE = np.mean([-np.log(_softmax(STUDENT[i])[LABELS[i]]) for i in range(2)])


def _loss(form, weight, temperature=1.0):
    fn = distillation_loss(["toy"], form=form, weight=weight, temperature=temperature)
    outputs = {"logits": tf.constant(STUDENT), "teacher_logits": tf.constant(TEACHER)}
    loss, logs = fn(outputs, {"label": tf.constant(LABELS), "task": tf.zeros(2, tf.int32)}, 2)
    return float(loss), {k: float(n) / float(d) for k, (n, d) in logs.items()}


def test_mse_distillation_against_hand_computed_values():
    # Example 0: (1-0)^2 + (2-1)^2 + (0-3)^2 = 11, over 3 classes; example 1: 1.5^2 + 1 + 2.5^2 = 9.5.
    # Both teacher rows have variance 14/9 over classes (0, 1, 3 and 2, 0, -1), so each is over 1 + 14/9.
    mse = (11 / 3 + 9.5 / 3) / 2 / (1 + 14 / 9)
    loss, logs = _loss("mse", weight=0.5)
    assert loss == pytest.approx(CE + 0.5 * mse, rel=1e-5)
    assert logs["distill"] == pytest.approx(mse, rel=1e-5) and logs["loss"] == pytest.approx(CE, rel=1e-5)


def test_the_mse_gradient_does_not_grow_with_the_teachers_logit_scale():
    """Raw MSE's gradient grows with the teacher's logits (x100 teacher: ~100x gradient), which
    diverged the demo against a teacher whose logits ran to the hundreds; the normalised one shrinks."""
    def gradient_norm(scale):
        student = tf.Variable(STUDENT)
        with tf.GradientTape() as tape:
            term = tf.reduce_mean(distance(student, tf.constant(TEACHER * scale), "mse"))
        return float(tf.norm(tape.gradient(term, student)))

    assert gradient_norm(100.0) < gradient_norm(1.0) < 1.0


def test_kl_distillation_at_temperature_carries_tau_squared():
    tau = 2.0
    p_teacher, p_student = _softmax(TEACHER / tau), _softmax(STUDENT / tau)
    kl = np.sum(p_teacher * np.log(p_teacher / p_student), axis=-1).mean()
    loss, logs = _loss("kl", weight=1.0, temperature=tau)
    assert logs["distill"] == pytest.approx(tau ** 2 * kl, rel=1e-5)
    assert loss == pytest.approx(CE + tau ** 2 * kl, rel=1e-5)
    same, _ = distillation_loss(["toy"], form="kl", weight=1.0)(
        {"logits": tf.constant(TEACHER), "teacher_logits": tf.constant(TEACHER)},
        {"label": tf.constant(LABELS), "task": tf.zeros(2, tf.int32)}, 2)
    ce_teacher = np.mean([-np.log(_softmax(TEACHER[i])[LABELS[i]]) for i in range(2)])
    assert float(same) == pytest.approx(ce_teacher, rel=1e-5)  # KL(p || p) = 0


def tiny_d3d_config(*overrides):
    return config_lib.override(config_lib.ExperimentConfig(name="tiny_d3d"), [
        "model.kind=d3d", "model.architecture=s3d_g", "model.width=0.125", "distill.teacher_width=0.125",
        "data.crop_size=32", "data.length=1", "data.snippets=4", "data.snippet_stride=2,2", *overrides])


def test_the_teacher_gets_no_gradient_and_keeps_its_weights_through_a_training_step():
    config = tiny_d3d_config()
    kind = kinds.kind_of(config)
    model = kind.build(config, {"toy": 3})
    teacher, student = model.get_layer("teacher"), model.get_layer("student")
    teacher_ids = {id(v) for v in teacher.weights}
    assert teacher_ids and not teacher_ids & {id(v) for v in model.trainable_variables}
    before = {v.path: v.numpy().copy() for v in model.weights}
    rng = np.random.default_rng(0)
    features = {"rgb": rng.uniform(0, 255, (2, 4, 32, 32, 3)).astype(np.float32),
                "flow": rng.normal(0, 2, (2, 4, 32, 32, 2)).astype(np.float32)}
    targets = {"label": tf.constant([0, 2]), "task": tf.zeros(2, tf.int32)}
    loss_fn = kind.loss(config, ["toy"])
    optimizer = keras.optimizers.SGD(0.1)
    teacher_vars = [v.value for v in teacher.trainable_weights + teacher.non_trainable_weights
                    if v.path.endswith("kernel")]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(teacher_vars)  # watched on purpose: only stop_gradient can keep the loss from reaching them
        loss, _ = loss_fn(model(features, training=True), targets, 2)
    assert all(g is None for g in tape.gradient(loss, teacher_vars))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    for v in teacher.weights:  # kernels, and batch norm's moving statistics (inference mode)
        np.testing.assert_array_equal(v.numpy(), before[v.path], err_msg=v.path)
    changed = [v.path for v in student.weights if not np.array_equal(v.numpy(), before[v.path])]
    assert any(p.endswith("kernel") for p in changed) and any("moving_mean" in p for p in changed)
    assert all(p.startswith("student/") for p in changed)


def test_weight_zero_is_refused_pointing_at_the_student_kind():
    with pytest.raises(ValueError, match="distill.weight=0.0.*model.kind=s3d"):
        kinds.kind_of(tiny_d3d_config("distill.weight=0"))
    with pytest.raises(ValueError, match="data.snippets=1"):
        kinds.kind_of(tiny_d3d_config("data.snippets=1"))


def test_rgb_clips_spread_over_all_frames_and_need_no_flow():
    # 20 frames, 3 clips of T=4 at stride 3 (span 10 frames): first frames 0, 5, 10 over 0..19-9.
    starts = clip_starts(20, count=3, snippets=4, stride=3)
    np.testing.assert_array_equal(starts, [[0, 3, 6, 9], [5, 8, 11, 14], [10, 13, 16, 19]])
    np.testing.assert_array_equal(clip_starts(3, count=2, snippets=3, stride=2), [[0, 2, 2], [0, 2, 2]])
    frames = np.stack([np.full((20, 24, 3), t, np.uint8) for t in range(20)])
    batch = joint_test_batch(frames, None, streams=("spatial",), num_frames=3, crops=2, crop_size=16, snippets=4,
                             snippet_stride=3)
    assert set(batch) == {"rgb"} and batch["rgb"].shape == (6, 4, 16, 16, 3)
    np.testing.assert_array_equal(batch["rgb"][2, :, 0, 0, 0], [5, 8, 11, 14])  # the second clip, first crop
    with pytest.raises(ValueError, match="needs flow"):
        joint_test_batch(frames, None, streams=("spatial", "temporal"), num_frames=3, crops=2, crop_size=16)


def _clip_record(frames: np.ndarray) -> bytes:
    from media.records import encode_record

    flow = np.zeros((len(frames) - 1, *frames.shape[1:3], 2), np.float32)
    return encode_record(id="t/a.avi", path="a.avi", dataset="t", label=0, label_name="a", group="g", view=0,
                         fps=25.0, frames=frames, flow=flow, flow_bound=20.0, flow_algorithm="dis_fast")


def test_the_record_signature_takes_the_rgb_clips_of_the_numpy_sampler():
    """In-graph (the export's predict_records) and NumPy (evaluator, client) pick the same frames and crop."""
    from media.records import decode_record
    from media.stacking import evaluation_batch
    from tfx_models.export.saved_model import ServingSignatures
    from tfx_models.export.contract import Preprocessing

    inputs = keras.Input((3, 16, 16, 3), name="rgb")
    logits = keras.layers.Dense(2, name="logits")(keras.layers.GlobalAveragePooling3D()(inputs))
    model = keras.Model({"rgb": inputs}, {"probabilities": keras.layers.Softmax(name="probabilities")(logits)})
    prep = Preprocessing(streams=("spatial",), classes=("a", "b"), crop_size=16, length=1, size=20, record_frames=3,
                         kind="d3d", joint=True, snippets=3, snippet_stride=2)
    # Frame t is flat grey 10 * t (JPEG keeps flat images), so a wrong frame is off by >= 10 levels.
    frames = np.stack([np.full((20, 26, 3), 10 * t, np.uint8) for t in range(11)])
    serialized = _clip_record(frames)
    got = ServingSignatures(model, prep)._record_inputs(tf.constant(serialized))
    assert set(got) == {"rgb"} and got["rgb"].shape == (3, 3, 16, 16, 3)
    record = decode_record(serialized)
    want = evaluation_batch(record.frames, None, joint=True, snippets=3, snippet_stride=2, streams=("spatial",),
                            num_frames=3, crops=1, crop_size=16, length=1)["rgb"]
    np.testing.assert_allclose(got["rgb"], want, atol=2)
    np.testing.assert_allclose(want[:, :, 0, 0, 0], [[0, 20, 40], [30, 50, 70], [60, 80, 100]], atol=2)
    one_frame = _clip_record(frames[:1])  # no flow field at all: an RGB clip model still reads it
    np.testing.assert_allclose(ServingSignatures(model, prep)._record_inputs(tf.constant(one_frame))["rgb"], 0, atol=2)


def test_a_2d_temporal_stream_teacher_scores_every_snippet_and_averages_its_logits():
    config = tiny_d3d_config("distill.teacher_architecture=cnn_m_2048", "data.length=2", "data.crop_size=48")
    model = kinds.kind_of(config).build(config, {"toy": 3})
    teacher = model.get_layer("teacher")
    assert list(model.input["flow"].shape) == [None, 4, 48, 48, 4] and list(teacher.input["flow"].shape) == [
        None, 48, 48, 4]
    flow = np.random.default_rng(0).normal(0, 2, (2, 4, 48, 48, 4)).astype(np.float32)
    rgb = np.zeros((2, 4, 48, 48, 3), np.float32)
    got = model({"rgb": rgb, "flow": flow})["teacher_logits"]
    per_snippet = np.stack([teacher({"flow": flow[:, t]})["logits"] for t in range(4)], axis=1)
    np.testing.assert_allclose(got, per_snippet.mean(axis=1), rtol=1e-5, atol=1e-5)
