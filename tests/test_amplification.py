"""Feature amplification and multiplicative fusion (Park et al. 2016): the gates against NumPy, the
product against the towers' own maps, and the amplified net with a gate of 1 against the plain one."""
import math

import keras
import numpy as np
import pytest

from tfx_models import config as config_lib
from tfx_models.backbones.towers import build_towers
from tfx_models.kinds.amplification import build_amplified, build_m_fusion, initialise_copies
from tfx_models.kinds.conv_fusion import load_stream_weights
from tfx_models.layers.gates import FlowGate, LearnedGate
from tfx_models.kinds.two_stream import build_model

CROP, LENGTH, WIDTH, CLASSES = 64, 2, 0.125, {"toy": 4}  # 64 px: conv5 is 3x3, a map to gate


def numpy_flow_gate(flow: np.ndarray, grid: tuple[int, int], epsilon: float) -> np.ndarray:
    """The documented gate, written out loop by loop: [N,H,W,2L] -> [N,h,w]."""
    n, height, width, channels = flow.shape
    gates = np.zeros((n, *grid))
    for example in range(n):
        magnitude = np.zeros((height, width))
        for field in range(channels // 2):
            x = flow[example, :, :, 2 * field].astype(np.float64)
            y = flow[example, :, :, 2 * field + 1].astype(np.float64)
            magnitude += np.hypot(x - x.mean(), y - y.mean()) / (channels // 2)
        pooled = np.zeros(grid)
        for i in range(grid[0]):
            rows = slice(math.floor(i * height / grid[0]), math.ceil((i + 1) * height / grid[0]))
            for j in range(grid[1]):
                cols = slice(math.floor(j * width / grid[1]), math.ceil((j + 1) * width / grid[1]))
                pooled[i, j] = magnitude[rows, cols].mean()
        gates[example] = (pooled + epsilon) / (pooled.mean() + epsilon)
    return gates


def test_flow_gate_equals_the_numpy_computation_and_averages_one():
    rng = np.random.default_rng(0)
    flow = rng.normal(0, 2, (3, 17, 19, 6)).astype(np.float32)  # L=3; 17x19 does not divide into 5x4
    flow[0, 4:9, 6:12, :] += 6.0  # a moving object in example 0
    gate = np.asarray(FlowGate((5, 4), epsilon=0.01)(flow))
    assert gate.shape == (3, 5, 4, 1)
    np.testing.assert_allclose(gate[..., 0], numpy_flow_gate(flow, (5, 4), 0.01), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gate.mean(axis=(1, 2, 3)), 1.0, rtol=1e-6)
    assert gate[0].max() > 1.5  # it picks out the moving object


def test_flow_gate_ignores_a_camera_pan_and_is_one_without_motion():
    rng = np.random.default_rng(1)
    flow = rng.normal(0, 1, (2, 16, 16, 4)).astype(np.float32)
    pan = np.tile(np.array([3.0, -2.0, 2.5, 1.0], np.float32), (2, 16, 16, 1))
    layer = FlowGate((4, 4), epsilon=0.01)
    np.testing.assert_allclose(np.asarray(layer(flow + pan)), np.asarray(layer(flow)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(layer(pan)), 1.0, rtol=1e-6)


@pytest.mark.parametrize("activation", ["sigmoid", "softmax"])
def test_learned_gate_starts_at_one_and_averages_one_once_trained(activation):
    rng = np.random.default_rng(2)
    maps = np.maximum(rng.normal(0, 1, (2, 5, 6, 8)), 0).astype(np.float32)
    layer = LearnedGate(activation, epsilon=0.01)
    np.testing.assert_array_equal(np.asarray(layer(maps)), np.ones((2, 5, 6, 1), np.float32))
    kernel = rng.normal(0, 1, (8, 1)).astype(np.float32)
    layer.set_weights([kernel, np.array([0.3], np.float32)])
    gate = np.asarray(layer(maps))[..., 0]
    scores = maps @ kernel[:, 0] + 0.3
    if activation == "sigmoid":
        activity = 1 / (1 + np.exp(-scores))
        expected = (activity + 0.01) / (activity.mean(axis=(1, 2), keepdims=True) + 0.01)
    else:
        e = np.exp(scores - scores.max(axis=(1, 2), keepdims=True))
        expected = e / e.sum(axis=(1, 2), keepdims=True) * 30
    np.testing.assert_allclose(gate, expected, rtol=1e-5)
    np.testing.assert_allclose(gate.mean(axis=(1, 2)), 1.0, rtol=1e-5)
    assert gate.std() > 0.05


def inputs(seed: int = 0, rows: int = 3, pan_only: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    flow = rng.normal(0, 3, (rows, CROP, CROP, 2 * LENGTH)).astype(np.float32)
    if pan_only:
        flow = np.broadcast_to(flow[:, :1, :1], flow.shape).copy()  # one displacement per field: a pan
    return {"rgb": rng.uniform(0, 255, (rows, CROP, CROP, 3)).astype(np.float32), "flow": flow}


def stream(stream_name: str, seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return build_model(stream=stream_name, num_classes=CLASSES, crop_size=CROP, length=LENGTH, width=WIDTH,
                       name=f"single_{stream_name}")


def towers():
    keras.utils.set_random_seed(5)
    built = build_towers(crop_size=CROP, length=LENGTH, width=WIDTH)
    return built["spatial"], built["temporal"]


def test_amplified_net_with_a_gate_of_one_equals_the_plain_spatial_net():
    spatial = stream("spatial", 1)
    for gate in ("flow", "learned"):
        amplified = build_amplified(*towers(), num_classes=CLASSES, gate=gate)
        load_stream_weights(amplified, spatial, "spatial")
        batch = inputs(pan_only=gate == "flow")  # flow gate: a pan is no motion; learned: starts at 1
        expected = np.asarray(spatial({"rgb": batch["rgb"]})["probabilities"])
        np.testing.assert_allclose(np.asarray(amplified(batch)["probabilities"]), expected, rtol=1e-5, atol=1e-6)
    # Under real motion the flow gate is not 1 and the nets differ: the comparison above can fail.
    flow_amplified = build_amplified(*towers(), num_classes=CLASSES, gate="flow")
    load_stream_weights(flow_amplified, spatial, "spatial")
    moving = inputs(seed=3)
    moving["flow"][:, 20:40, 20:40] += 8.0
    got, expected = np.asarray(flow_amplified(moving)["logits"]), np.asarray(spatial({"rgb": moving["rgb"]})["logits"])
    assert np.abs(got - expected).max() > 0.05 * np.abs(expected).max()


def test_amplify_scales_every_channel_of_conv5_by_the_gate():
    spatial, temporal = towers()
    amplified = build_amplified(spatial, temporal, num_classes=CLASSES, gate="flow")
    batch = inputs(seed=4)
    conv5 = np.asarray(spatial(batch["rgb"])["conv5"])
    assert conv5.shape[1:3] == (3, 3)
    probe = keras.Model(amplified.input, [amplified.get_layer("gate").output, amplified.get_layer("amplify").output])
    gate, got = (np.asarray(v) for v in probe(batch))
    np.testing.assert_allclose(gate[..., 0], numpy_flow_gate(batch["flow"], conv5.shape[1:3], 0.01), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(got, conv5 * gate, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer", ["conv5", "fc7"])
def test_m_fusion_is_the_element_wise_product_of_the_towers_maps(layer):
    spatial, temporal = towers()
    fused = build_m_fusion(spatial, temporal, num_classes=CLASSES, fusion_layer=layer)
    batch = inputs(seed=6)
    xs = np.asarray(spatial(batch["rgb"])[layer])
    xt = np.asarray(temporal(batch["flow"])[layer])
    assert xs.min() >= 0 and xt.min() >= 0 and (xs > 0).mean() > 0.1  # after ReLU, not all zero
    probe = keras.Model(fused.input, [fused.get_layer("fusion").output, fused.output["logits"]])
    product, logits = (np.asarray(v) for v in probe(batch))
    np.testing.assert_allclose(product, xs * xt, rtol=1e-5, atol=1e-6)
    # and the head reads the spatial tower's layers after the fusion point on the product
    expected = fused.get_layer("logits")(fused.get_layer("spatial_top")(xs * xt, training=False))
    np.testing.assert_allclose(logits, np.asarray(expected), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layer", ["conv5", "fc7"])
def test_combined_m_fusion_averages_the_loaded_streams_and_the_product_head(layer):
    spatial, temporal = stream("spatial", 1), stream("temporal", 2)
    fused = build_m_fusion(*towers(), num_classes=CLASSES, fusion_layer=layer, combine=True)
    load_stream_weights(fused, spatial, "spatial")
    load_stream_weights(fused, temporal, "temporal")
    copied = initialise_copies(fused)
    assert bool(copied) == (layer == "conv5")  # fc7 has only dropout after the fusion point
    batch = inputs(seed=7)
    out = {k: np.asarray(v) for k, v in fused(batch).items()}
    np.testing.assert_allclose(out["spatial_probabilities"], np.asarray(spatial({"rgb": batch["rgb"]})["probabilities"]),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["temporal_probabilities"],
                               np.asarray(temporal({"flow": batch["flow"]})["probabilities"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["probabilities"], (out["spatial_probabilities"] + out["temporal_probabilities"]
                                                      + out["m_fusion_probabilities"]) / 3, rtol=1e-5, atol=1e-6)
    # The product path starts from the spatial stream's weights but holds its own copy.
    np.testing.assert_array_equal(fused.get_layer("logits").get_weights()[0], spatial.get_layer("logits").get_weights()[0])
    if layer == "conv5":
        top = fused.get_layer("m_fusion_top").get_layer("m_fusion_fc6")
        np.testing.assert_array_equal(top.get_weights()[0], fused.get_layer("spatial_top").get_layer("fc6").get_weights()[0])
        assert top.kernel is not fused.get_layer("spatial_top").get_layer("fc6").kernel


def config_with(*assignments):
    return config_lib.override(config_lib.ExperimentConfig(), list(assignments))


def test_kind_options_are_checked_naming_the_key():
    from tfx_models import kinds

    # Each kind checks the sections it reads when it is looked up for a config (kinds.kind_of).
    with pytest.raises(ValueError, match="amplification.gate='optical'"):
        kinds.kind_of(config_with("model.kind=amplified", "amplification.gate=optical"))
    with pytest.raises(ValueError, match="amplification.epsilon"):
        kinds.kind_of(config_with("model.kind=amplified", "amplification.epsilon=0"))
    small = ["data.crop_size=32", "data.length=2", "model.width=0.125"]
    with pytest.raises(ValueError, match="fusion.layer='conv3': m_fusion fuses at one of"):
        kinds.kind_of(config_with("model.kind=m_fusion", "fusion.layer=conv3", *small))
    with pytest.raises(ValueError, match="data.snippets=3, expected 1"):
        kinds.kind_of(config_with("model.kind=amplified", "data.snippets=3", *small))
    config = config_with("model.kind=amplified", "fusion.temporal_run=/runs/t", *small)
    model = kinds.get("amplified").build(config, CLASSES)
    with pytest.raises(ValueError, match="flow gate without fusion.keep_temporal has no temporal tower"):
        kinds.get("amplified").initialise(model, config)
