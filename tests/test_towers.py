"""CNN-M-2048 against the paper's Fig. 1, custom layers, and RGB->flow weight transfer."""
import keras
import numpy as np
import pytest

from tfx_models import config as config_lib
from tfx_models.layers.common import CeilModePadding, InputScaling, LocalResponseNormalization
from tfx_models.kinds.two_stream import build_model_from_config
from tfx_models.backbones.towers import build_tower


def test_cnn_m_2048_parameter_count_matches_hand_computation():
    # Caffe-style padding: conv1 pad 0 (224 -> 109), pool1 ceil (-> 54), conv2 pad 1 stride 2 (-> 26),
    # pool2 ceil (-> 13), conv3-5 pad 1 (13), pool5 ceil (-> 6): fc6 sees 6*6*512 inputs.
    conv1 = 7 * 7 * 3 * 96 + 96            # 14,208
    conv2 = 5 * 5 * 96 * 256 + 256         # 614,656
    conv3 = 3 * 3 * 256 * 512 + 512        # 1,180,160
    conv4 = 3 * 3 * 512 * 512 + 512        # 2,359,808
    conv5 = 3 * 3 * 512 * 512 + 512        # 2,359,808
    fc6 = 6 * 6 * 512 * 4096 + 4096        # 75,501,568
    fc7 = 4096 * 2048 + 2048               # 8,390,656
    softmax = 2048 * 101 + 101             # 206,949
    expected = conv1 + conv2 + conv3 + conv4 + conv5 + fc6 + fc7 + softmax
    assert expected == 90_627_813

    from tfx_models.kinds.two_stream import build_model
    model = build_model(stream="spatial", num_classes={"ucf101": 101}, crop_size=224)
    assert model.count_params() == expected
    tower = model.get_layer("tower")
    shapes = {k: tuple(v.shape[1:]) for k, v in tower.output.items()}
    assert shapes["conv1"] == (109, 109, 96)
    assert shapes["conv2"] == (26, 26, 256)
    assert shapes["conv5"] == (13, 13, 512)
    assert shapes["fc6"] == (4096,) and shapes["fc7"] == (2048,)
    assert tower.get_layer("fc6").kernel.shape == (6 * 6 * 512, 4096)


def test_temporal_tower_drops_conv2_normalisation_and_takes_2L_channels():
    spatial = build_tower("cnn_m_2048", (64, 64, 3), stream="spatial", width=0.25)
    temporal = build_tower("cnn_m_2048", (64, 64, 20), stream="temporal", width=0.25)
    spatial_names = [layer.name for layer in spatial.layers]
    temporal_names = [layer.name for layer in temporal.layers]
    assert "norm1" in spatial_names and "norm2" in spatial_names
    assert "norm1" in temporal_names and "norm2" not in temporal_names
    assert temporal.get_layer("conv1").kernel.shape == (7, 7, 20, 24)
    assert temporal.input.name == "flow" and spatial.input.name == "rgb"
    assert set(temporal.output) == {"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "features"}


def test_width_multiplier_scales_filters_and_units():
    tower = build_tower("cnn_m_2048", (64, 64, 3), stream="spatial", width=0.5)
    assert tower.get_layer("conv1").filters == 48
    assert tower.get_layer("conv5").filters == 256
    assert tower.get_layer("fc6").units == 2048 and tower.get_layer("fc7").units == 1024


def test_lrn_follows_caffe_formula():
    x = np.random.default_rng(0).uniform(0, 50, (1, 2, 2, 7)).astype(np.float32)
    size, alpha, beta, k = 5, 1e-4, 0.75, 2.0
    out = LocalResponseNormalization(size, alpha, beta, k)(x).numpy()
    expected = np.empty_like(x)
    for c in range(7):
        window = x[..., max(0, c - 2): c + 3]
        expected[..., c] = x[..., c] / (k + alpha / size * (window ** 2).sum(-1)) ** beta
    np.testing.assert_allclose(out, expected, rtol=1e-5)


@pytest.mark.parametrize("layer", [
    LocalResponseNormalization(size=3, alpha=2e-4, beta=0.5, k=1.0, name="lrn"),
    InputScaling(offset=(1.0, 2.0, 3.0), scale=(0.5,), reverse_channels=True, name="scaling"),
    CeilModePadding(pool_size=3, strides=2, name="pad"),
])
def test_custom_layers_round_trip_config(layer):
    x = np.random.default_rng(1).uniform(0, 9, (2, 6, 6, 3)).astype(np.float32)
    clone = layer.__class__.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_allclose(clone(x), layer(x))


def test_ceil_mode_padding_gives_caffe_pool_sizes():
    pool = keras.layers.MaxPooling2D(3, 2)
    for size, expected in [(109, 54), (26, 13), (13, 6), (12, 6), (2, 1)]:
        x = np.ones((1, size, size, 1), np.float32)
        assert pool(CeilModePadding()(x)).shape[1] == expected  # ceil((n - 3) / 2) + 1


def test_input_scaling_reverses_then_normalises():
    x = np.array([[[[10.0, 20.0, 30.0]]]], np.float32)
    out = InputScaling(offset=(1.0, 2.0, 3.0), scale=(2.0,), reverse_channels=True)(x).numpy()
    np.testing.assert_allclose(out.ravel(), [(30 - 1) * 2, (20 - 2) * 2, (10 - 3) * 2])


def _assert_conv1_from_rgb(rgb_kernel, flow_kernel, channels):
    averaged = rgb_kernel.mean(axis=2, keepdims=True)
    assert flow_kernel.shape[2] == channels
    np.testing.assert_allclose(flow_kernel, np.repeat(averaged, channels, axis=2), rtol=1e-6)


def test_vgg16_flow_tower_conv1_initialised_from_rgb_weights(tmp_path):
    rgb = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = str(tmp_path / "vgg16_rgb.weights.h5")
    rgb.save_weights(path)
    flow = build_tower("vgg16", (32, 32, 20), stream="temporal", weights=path)
    base = flow.get_layer("vgg16")
    _assert_conv1_from_rgb(rgb.get_layer("block1_conv1").kernel.numpy(),
                           base.get_layer("block1_conv1").kernel.numpy(), 20)
    # Deeper layers are copied unchanged.
    np.testing.assert_array_equal(rgb.get_layer("block3_conv2").kernel.numpy(),
                                  base.get_layer("block3_conv2").kernel.numpy())
    assert set(flow.output) == {"conv1", "conv2", "conv3", "conv4", "conv5", "features"}


def test_cnn_m_flow_tower_conv1_initialised_from_rgb_tower_weights(tmp_path):
    rgb = build_tower("cnn_m_2048", (64, 64, 3), stream="spatial", width=0.25)
    path = str(tmp_path / "cnn_m_rgb.weights.h5")
    rgb.save_weights(path)
    flow = build_tower("cnn_m_2048", (64, 64, 8), stream="temporal", width=0.25, weights=path)
    _assert_conv1_from_rgb(rgb.get_layer("conv1").kernel.numpy(), flow.get_layer("conv1").kernel.numpy(), 8)
    np.testing.assert_array_equal(rgb.get_layer("fc7").kernel.numpy(), flow.get_layer("fc7").kernel.numpy())


def test_resnet50_tower_exposes_named_endpoints():
    tower = build_tower("resnet50", (32, 32, 3), stream="spatial", weights=None)
    out = tower(np.zeros((1, 32, 32, 3), np.float32))
    assert out["conv5"].shape == (1, 1, 1, 2048) and out["features"].shape == (1, 2048)
    assert out["conv1"].shape[1] == 16


def test_bad_weights_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="cnn_m_2048 has no downloadable ImageNet weights"):
        build_tower("cnn_m_2048", (64, 64, 3), stream="spatial", width=0.25, weights="imagenet")
    missing = str(tmp_path / "nope.weights.h5")
    with pytest.raises(FileNotFoundError, match="nope.weights.h5"):
        build_tower("cnn_m_2048", (64, 64, 3), stream="spatial", width=0.25, weights=missing)
    with pytest.raises(ValueError, match="unknown tower architecture 'alexnet'"):
        build_tower("alexnet", (64, 64, 3), stream="spatial")


def test_he_initialisation_keeps_activations_from_shrinking_with_depth():
    # The temporal net learned slowly from scratch because Glorot's variance, 2/(fan_in+fan_out),
    # halves a ReLU layer's output power when fan_in ~ fan_out: by fc7 the signal is a tenth of
    # the input's. He's 2/fan_in keeps it (docs/two_stream.md: "A temporal stream that learns motion").
    keras.utils.set_random_seed(0)
    flow = np.random.default_rng(0).normal(0, 1, (8, 96, 96, 20)).astype(np.float32)
    fc7 = {}
    for init in ("glorot_uniform", "he_normal"):
        config = config_lib.ExperimentConfig(
            data=config_lib.DataConfig(stream="temporal", crop_size=96, length=10),
            model=config_lib.ModelConfig(width=0.25, flow_scale=1.0, init=init))
        tower = build_model_from_config(config, {"ucf101": 5}).get_layer("tower")
        fc7[init] = float(np.std(tower(flow, training=False)["fc7"]))
    assert fc7["glorot_uniform"] < 0.15 and fc7["he_normal"] > 0.5, fc7
    with pytest.raises(ValueError, match="model.init"):
        config_lib.validate(config_lib.ExperimentConfig(model=config_lib.ModelConfig(init="orthogonal")))
