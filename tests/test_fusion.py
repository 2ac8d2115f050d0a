"""Fusion layers against NumPy written by hand, the conv-fusion builder, and parameter counts by hand."""
import keras
import numpy as np
import pytest

from tfx_models.layers import fusion as fl, time as time_layers
from tfx_models.backbones.towers import build_towers
from tfx_models.kinds.conv_fusion import build_conv_fusion, load_stream_weights
from tfx_models.kinds.two_stream import build_model, two_stream_model
from tfx_models.backbones.towers import build_tower

RNG = np.random.default_rng(0)
SMALL = dict(crop_size=64, length=2, width=0.125)  # conv5 maps 3x3x64, fc6 512, fc7 256


def relu_maps(*shape):
    """Post-ReLU maps: non-negative, with exact zeros, as the towers give them."""
    return np.maximum(RNG.normal(0, 1, shape), 0).astype(np.float32)


def clip_inputs(n, t, crop=64, length=2):
    lead = (n,) if t == 1 else (n, t)
    return {"rgb": RNG.uniform(0, 255, (*lead, crop, crop, 3)).astype(np.float32),
            "flow": RNG.normal(0, 3, (*lead, crop, crop, 2 * length)).astype(np.float32)}


@pytest.fixture(scope="module")
def towers():
    return build_towers(**SMALL)


@pytest.mark.parametrize("shape", [(2, 3, 3, 4), (2, 5, 3, 3, 4)], ids=["rank4", "rank5"])
def test_sum_max_concat_against_numpy(shape):
    a, b = relu_maps(*shape), relu_maps(*shape)
    np.testing.assert_array_equal(fl.SumFusion()([a, b]), a + b)
    np.testing.assert_array_equal(fl.MaxFusion()([a, b]), np.where(a > b, a, b))
    concat = fl.ConcatFusion()([a, b]).numpy()
    assert concat.shape == (*shape[:-1], 8)
    np.testing.assert_array_equal(concat[..., :4], a)
    np.testing.assert_array_equal(concat[..., 4:], b)


def test_fusion_rejects_maps_of_different_size():
    with pytest.raises(ValueError, match="same rank and spatial"):
        fl.SumFusion(name="f")([np.zeros((1, 3, 3, 2), np.float32), np.zeros((1, 4, 4, 2), np.float32)])


def test_conv_fusion_is_a_1x1_conv_over_stacked_channels():
    a, b = relu_maps(2, 3, 3, 4), relu_maps(2, 3, 3, 4)
    layer = fl.ConvFusion(filters=5, init="random")
    layer([a, b])
    kernel = RNG.normal(0, 1, (8, 5)).astype(np.float32)
    bias = RNG.normal(0, 1, 5).astype(np.float32)
    layer.set_weights([kernel, bias])
    expected = np.zeros((2, 3, 3, 5), np.float32)
    for n in range(2):
        for i in range(3):
            for j in range(3):
                stacked = list(a[n, i, j]) + list(b[n, i, j])
                for d in range(5):
                    expected[n, i, j, d] = max(0.0, sum(stacked[c] * kernel[c, d] for c in range(8)) + bias[d])
    np.testing.assert_allclose(layer([a, b]), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 3, 3, 4), (2, 5, 3, 3, 4)], ids=["rank4", "rank5"])
def test_identity_conv_fusion_equals_sum_at_step_0(shape):
    a, b = relu_maps(*shape), relu_maps(*shape)
    np.testing.assert_allclose(fl.ConvFusion(init="identity")([a, b]), a + b, rtol=1e-6)
    # The check bites: a randomly initialised conv fusion is not sum fusion.
    assert not np.allclose(fl.ConvFusion(init="random")([a, b]), a + b, atol=1e-2)


def test_bilinear_fusion_against_numpy():
    a, b = relu_maps(2, 3, 2, 3), RNG.normal(0, 1, (2, 3, 2, 4)).astype(np.float32)
    out = fl.BilinearFusion()([a, b]).numpy()
    assert out.shape == (2, 12)
    for n in range(2):
        summed = np.zeros((3, 4))
        for i in range(3):
            for j in range(2):
                summed += np.outer(a[n, i, j], b[n, i, j])
        root = np.sign(summed) * np.sqrt(np.abs(summed))
        np.testing.assert_allclose(out[n], root.ravel() / np.sqrt((root ** 2).sum()), rtol=1e-4, atol=1e-6)


def test_bilinear_fusion_sums_over_time_too():
    a, b = relu_maps(1, 2, 2, 2, 3), relu_maps(1, 2, 2, 2, 3)
    summed = sum(np.outer(a[0, t, i, j], b[0, t, i, j]) for t in range(2) for i in range(2) for j in range(2))
    root = np.sqrt(summed)
    np.testing.assert_allclose(fl.BilinearFusion()([a, b]).numpy()[0], root.ravel() / np.linalg.norm(root),
                               rtol=1e-4)


def test_conv3d_fusion_at_init_is_a_gaussian_smoothed_weighted_sum():
    t, h, w, c = 4, 3, 5, 2
    a, b = relu_maps(1, t, h, w, c), relu_maps(1, t, h, w, c)
    offsets = (-1, 0, 1)
    g = np.array([[[np.exp(-(dt * dt + dy * dy + dx * dx) / 2.0) for dx in offsets] for dy in offsets]
                  for dt in offsets])
    g /= g.sum()
    weighted = 0.25 * a[0] + 0.75 * b[0]
    expected = np.zeros((t, h, w, c))
    for ti in range(t):
        for yi in range(h):
            for xi in range(w):
                for dt in offsets:
                    for dy in offsets:
                        for dx in offsets:
                            tt, yy, xx = ti + dt, yi + dy, xi + dx
                            if 0 <= tt < t and 0 <= yy < h and 0 <= xx < w:  # 'same': zeros outside
                                expected[ti, yi, xi] += g[dt + 1, dy + 1, dx + 1] * weighted[tt, yy, xx]
    np.testing.assert_allclose(fl.Conv3DFusion()([a, b]).numpy()[0], expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(fl.Conv3DFusion(init="random")([a, b]).numpy()[0], expected, atol=1e-2)
    # One snippet as a rank-4 map: only the middle time slice of the kernel meets data.
    single = fl.Conv3DFusion()([a[:, 0], b[:, 0]]).numpy()
    middle = np.zeros((h, w, c))
    for yi in range(h):
        for xi in range(w):
            for dy in offsets:
                for dx in offsets:
                    if 0 <= yi + dy < h and 0 <= xi + dx < w:
                        middle[yi, xi] += g[1, dy + 1, dx + 1] * weighted[0, yi + dy, xi + dx]
    assert single.shape == (1, h, w, c)
    np.testing.assert_allclose(single[0], middle, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("size,expected_size", [(7, 3), (6, 3)])
def test_spatiotemporal_max_pooling_against_numpy(size, expected_size):
    x = relu_maps(2, 5, size, size, 3)
    out = fl.SpatioTemporalMaxPooling((3, 3), (2, 2), ceil_mode=True)(x).numpy()
    assert out.shape == (2, expected_size, expected_size, 3)
    for n in range(2):
        for i in range(expected_size):
            for j in range(expected_size):
                # Ceil mode: the last window runs off the edge and sees only what is there.
                window = x[n, :, 2 * i: 2 * i + 3, 2 * j: 2 * j + 3]
                np.testing.assert_array_equal(out[n, i, j], window.max(axis=(0, 1, 2)))


def test_time_folding_keeps_snippets_in_order():
    x = RNG.normal(0, 1, (2, 3, 4, 4, 5)).astype(np.float32)
    folded = time_layers.TimeToBatch()(x).numpy()
    assert folded.shape == (6, 4, 4, 5)
    for n in range(2):
        for t in range(3):
            np.testing.assert_array_equal(folded[n * 3 + t], x[n, t])
    np.testing.assert_array_equal(time_layers.BatchToTime(3)(folded), x)
    np.testing.assert_allclose(time_layers.TimeAverage()(x), (x[:, 0] + x[:, 1] + x[:, 2]) / 3, rtol=1e-6)


@pytest.mark.parametrize("layer", [
    fl.SumFusion(name="sum"), fl.MaxFusion(name="max"), fl.ConcatFusion(name="concat"),
    fl.ConvFusion(filters=3, init="random", identity_weights=(0.5, 2.0), activation=None, name="conv"),
    fl.Conv3DFusion(filters=4, init="gaussian_identity", identity_weights=(0.3, 0.7), sigma=0.8, name="conv3d"),
    fl.BilinearFusion(epsilon=1e-9, name="bilinear"),
], ids=lambda layer: layer.name)
def test_fusion_layers_round_trip_config(layer):
    pair = [relu_maps(2, 3, 3, 3, 4), relu_maps(2, 3, 3, 3, 4)]
    expected = layer(pair).numpy()
    clone = layer.__class__.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(pair)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(pair), expected, rtol=1e-6)


@pytest.mark.parametrize("layer", [
    fl.SpatioTemporalMaxPooling((3, 3), (2, 2), ceil_mode=True, name="pool"),
    time_layers.TimeToBatch(name="fold"), time_layers.BatchToTime(3, name="unfold"), time_layers.TimeAverage(name="mean"),
], ids=lambda layer: layer.name)
def test_time_layers_round_trip_config(layer):
    x = RNG.normal(0, 1, (2, 3, 5, 5, 2)).astype(np.float32)
    if isinstance(layer, time_layers.BatchToTime):
        x = x.reshape(6, 5, 5, 2)
    clone = layer.__class__.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_array_equal(clone(x), layer(x))


@pytest.mark.parametrize("t", [1, 5])
def test_3d_fusion_output_shapes(towers, t):
    model = build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"ucf101": 4},
                              fusion="conv", mode="3d_conv_3d_pool", num_snippets=t)
    lead = (None,) if t == 1 else (None, t)
    assert tuple(model.input["rgb"].shape) == (*lead, 64, 64, 3)
    assert tuple(model.input["flow"].shape) == (*lead, 64, 64, 4)
    assert tuple(model.get_layer("fusion").output.shape) == (*lead, 3, 3, 64)
    assert tuple(model.get_layer("fusion_pool3d").output.shape) == (None, 1, 1, 64)  # time collapsed
    out = model(clip_inputs(2, t))
    assert {k: tuple(v.shape) for k, v in out.items()} == {"logits": (2, 4), "probabilities": (2, 4)}


def test_conv_fusion_model_starts_as_sum_fusion_model(towers):
    kwargs = dict(num_classes={"ucf101": 4}, fusion_layer="conv5", num_snippets=2)
    summed = build_conv_fusion(towers["spatial"], towers["temporal"], fusion="sum", **kwargs)
    conv = build_conv_fusion(towers["spatial"], towers["temporal"], fusion="conv", **kwargs)
    random = build_conv_fusion(towers["spatial"], towers["temporal"], fusion="conv", conv_init="random", **kwargs)
    for model in (conv, random):
        model.get_layer("logits").set_weights(summed.get_layer("logits").get_weights())
    x = clip_inputs(3, 2)
    expected = summed(x)["logits"].numpy()
    np.testing.assert_allclose(conv(x)["logits"], expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(random(x)["logits"], expected, rtol=1e-2, atol=1e-3)


def test_2d_pooling_averages_per_snippet_logits(towers):
    kwargs = dict(num_classes={"ucf101": 4}, fusion="max", fusion_layer="conv3", keep_temporal=True)
    clip = build_conv_fusion(towers["spatial"], towers["temporal"], num_snippets=3, **kwargs)
    one = build_conv_fusion(towers["spatial"], towers["temporal"], num_snippets=1, **kwargs)
    for name in ("logits", "temporal_logits"):
        one.get_layer(name).set_weights(clip.get_layer(name).get_weights())
    x = clip_inputs(2, 3)
    out = clip(x)
    per_snippet = [one({"rgb": x["rgb"][:, t], "flow": x["flow"][:, t]}) for t in range(3)]
    for key in ("logits", "temporal_logits"):
        np.testing.assert_allclose(out[key], sum(p[key].numpy() for p in per_snippet) / 3, rtol=1e-4, atol=1e-5)


def test_kept_temporal_tower_has_its_own_head_and_predictions_average(towers):
    model = build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"ucf101": 4, "hmdb51": 3},
                              fusion="conv", keep_temporal=True)
    x = clip_inputs(2, 1)
    out = model(x)
    assert set(out) == {f"{kind}_{task}" for task in ("ucf101", "hmdb51") for kind in
                        ("logits", "probabilities", "fused_probabilities", "temporal_logits",
                         "temporal_probabilities")}
    features = towers["temporal"](x["flow"])["features"].numpy()
    kernel, bias = model.get_layer("temporal_logits_hmdb51").get_weights()
    np.testing.assert_allclose(out["temporal_logits_hmdb51"], features @ kernel + bias, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["probabilities_ucf101"],
                               (out["fused_probabilities_ucf101"] + out["temporal_probabilities_ucf101"]) / 2,
                               rtol=1e-6)


def test_concat_fusion_rebuilds_the_next_layer_twice_as_wide(towers):
    model = build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"ucf101": 4}, fusion="concat")
    top = model.get_layer("spatial_top")
    assert top.get_layer("fc6_concat").kernel.shape == (2 * 64, 512)  # 1x1 pool5 map, 2 x 64 channels
    assert top.get_layer("fc7") is towers["spatial"].get_layer("fc7")  # later layers are the tower's own


def test_variable_paths_are_prefixed_by_tower(towers):
    model = build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"ucf101": 4},
                              fusion="conv", keep_temporal=True)
    paths = [v.path for v in model.weights]
    assert len(paths) == len(set(paths))
    assert {"spatial/conv1/kernel", "temporal/conv1/kernel", "spatial/fc6/kernel", "temporal/fc7/bias",
            "fusion/kernel", "logits/kernel", "temporal_logits/kernel"} <= set(paths)
    plain = {s: build_tower("cnn_m_2048", (64, 64, 3 if s == "spatial" else 4), stream=s, width=0.125, name=s)
             for s in ("spatial", "temporal")}
    with pytest.raises(ValueError, match="share the path 'conv1/kernel'"):
        build_conv_fusion(plain["spatial"], plain["temporal"], num_classes={"ucf101": 4})


def test_train_from_fusion_freezes_both_towers_before_the_fusion_point():
    towers = build_towers(**SMALL)
    model = build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"ucf101": 4},
                              fusion="conv", fusion_layer="conv4", keep_temporal=True, train_from_fusion=True)
    trainable = {v.path.rsplit("/", 1)[0] for v in model.trainable_variables}
    assert trainable == {"fusion", "spatial/conv5", "spatial/fc6", "spatial/fc7", "logits",
                         "temporal/conv5", "temporal/fc6", "temporal/fc7", "temporal_logits"}


def test_single_stream_weights_load_into_the_matching_towers(towers):
    spatial = build_model(stream="spatial", num_classes={"ucf101": 4}, **SMALL)
    temporal = build_model(stream="temporal", num_classes={"ucf101": 4}, **SMALL)
    model = build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"ucf101": 4},
                              fusion="sum", fusion_layer="conv5", keep_temporal=True)
    source_fc7 = spatial.get_layer("tower").get_layer("fc7").kernel.numpy()
    assert not np.array_equal(model.get_layer("spatial_top").get_layer("fc7").kernel.numpy(), source_fc7)
    copied = load_stream_weights(model, spatial, "spatial")
    assert copied == ["spatial/conv1", "spatial/conv2", "spatial/conv3", "spatial/conv4", "spatial/conv5",
                      "spatial_top/fc6", "spatial_top/fc7", "logits"]
    load_stream_weights(model, temporal, "temporal")
    np.testing.assert_array_equal(model.get_layer("spatial_top").get_layer("fc7").kernel.numpy(), source_fc7)
    # After loading, the kept temporal head computes exactly what the single temporal stream computes.
    x = clip_inputs(2, 1)
    np.testing.assert_allclose(model(x)["temporal_probabilities"], temporal({"flow": x["flow"]})["probabilities"],
                               rtol=1e-5)
    longer = build_model(stream="temporal", num_classes={"ucf101": 4}, crop_size=64, length=3, width=0.125)
    with pytest.raises(ValueError, match="temporal stream model: layer 'conv1'"):
        load_stream_weights(model, longer, "temporal")


def test_fused_model_saves_and_loads_in_safe_mode(towers, tmp_path):
    model = build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"ucf101": 4},
                              fusion="conv", mode="3d_conv_3d_pool", num_snippets=2, keep_temporal=True)
    path = str(tmp_path / "fused.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = clip_inputs(2, 2)
    np.testing.assert_allclose(loaded(x)["probabilities"], model(x)["probabilities"], rtol=1e-5)


def test_vgg16_fusion_taps_blocks_before_pooling():
    towers = build_towers(architecture="vgg16", crop_size=32, length=2)
    shapes = {k: tuple(v.shape[1:3]) for k, v in towers["spatial"].output.items() if k.startswith("conv")}
    assert shapes == {"conv1": (32, 32), "conv2": (16, 16), "conv3": (8, 8), "conv4": (4, 4), "conv5": (2, 2)}
    model = build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"ucf101": 4},
                              fusion="conv", fusion_layer="conv3", keep_temporal=True)
    assert tuple(model.get_layer("fusion").output.shape) == (None, 8, 8, 256)
    spatial = build_model(stream="spatial", num_classes={"ucf101": 4}, architecture="vgg16", crop_size=32)
    copied = load_stream_weights(model, spatial, "spatial")
    assert len(copied) == 13 + 1  # 13 convs of VGG16, then the classifier
    with pytest.raises(ValueError, match="concat fusion is built for cnn_m_2048 towers only"):
        build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"ucf101": 4}, fusion="concat")


@pytest.mark.parametrize("kwargs,message", [
    (dict(fusion="product"), "fusion type 'product'"),
    (dict(fusion_layer="pool5"), "fusion layer 'pool5'"),
    (dict(mode="3d_conv_3d_pool", fusion_layer="conv3"), "fuse at conv5"),
    (dict(mode="3d_conv_3d_pool", fusion="sum"), "is a conv fusion"),
    (dict(num_snippets=0), "num_snippets must be >= 1"),
])
def test_bad_options_are_clear_errors(towers, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"ucf101": 4}, **kwargs)


# Table 1 of the paper (UCF101 split 1, VGG-M-2048), fusion at ReLU5 with the temporal tower cut, in millions.
PAPER_TABLE_1 = {"late": 181.42, "sum": 97.31, "max": 97.31, "conv": 97.58, "concat": 172.81, "bilinear": 6.61}


def test_parameter_counts_by_hand():
    # CNN-M-2048 at 224x224, L=10 (20 flow channels), 101 classes; conv5 maps are 13x13x512, pool5 6x6x512.
    spatial_convs = ((7 * 7 * 3 * 96 + 96) + (5 * 5 * 96 * 256 + 256) + (3 * 3 * 256 * 512 + 512)
                     + 2 * (3 * 3 * 512 * 512 + 512))
    temporal_convs = spatial_convs - 7 * 7 * 3 * 96 + 7 * 7 * 20 * 96
    fc6 = 6 * 6 * 512 * 4096 + 4096
    head = fc6 + (4096 * 2048 + 2048) + (2048 * 101 + 101)   # fc6, fc7, softmax
    expected = {
        "late": spatial_convs + temporal_convs + 2 * head,
        "sum": spatial_convs + temporal_convs + head,
        "max": spatial_convs + temporal_convs + head,
        "conv": spatial_convs + temporal_convs + (1024 * 512 + 512) + head,    # 1x1 conv 2D -> D
        "concat": spatial_convs + temporal_convs + head - fc6 + (6 * 6 * 1024 * 4096 + 4096),  # fc6 sees 2D
        "bilinear": spatial_convs + temporal_convs + (512 * 512 * 101 + 101),  # linear classifier on D^2
    }
    assert expected["late"] == 181_335_594
    # Variables created in a stateless scope get shapes but no values: 450M parameters build in a
    # second. Left uninitialised on exit; clear_session drops them so no later scope initialises them.
    try:
        with keras.StatelessScope(initialize_variables=False):
            late = two_stream_model(build_model(stream="spatial", num_classes={"ucf101": 101}),
                                    build_model(stream="temporal", num_classes={"ucf101": 101}, length=10))
            counted = {"late": late.count_params()}
            towers = build_towers(crop_size=224, length=10)
            for fusion in ("sum", "max", "conv", "concat", "bilinear"):
                model = build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"ucf101": 101},
                                          fusion=fusion)
                counted[fusion] = model.count_params()
    finally:
        keras.utils.clear_session()
    print(f"\n{'fusion at ReLU5':16}{'ours (by hand)':>16}{'built':>14}{'paper Table 1':>15}")
    for name, count in expected.items():
        paper = f"{PAPER_TABLE_1[name]:.2f}M" + (" + SVM" if name == "bilinear" else "")
        print(f"{name:16}{count:>16,}{counted[name]:>14,}{paper:>15}")
    assert counted == expected
