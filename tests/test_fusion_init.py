"""fusion.init="measured" (issue 27): the fusion starts from the towers' measured scales. Expected
weights are worked by hand from the scale factors, never from the functions under test."""
import numpy as np
import pytest

from tfx_models import config as config_lib
from tfx_models.backbones.towers import build_towers
from tfx_models.kinds.amplification import build_m_fusion, measure_m_fusion_init, measured_product_scales
from tfx_models.kinds.conv_fusion import build_conv_fusion, measure_init, measured_identity_weights
from tfx_models.layers import fusion as fl

SMALL = dict(crop_size=32, length=2, width=0.125)
RNG = np.random.default_rng(0)
MEASURED = config_lib.ExperimentConfig(fusion=config_lib.FusionConfig(init="measured"))


def batch():
    return {"rgb": RNG.uniform(0, 255, (4, 32, 32, 3)).astype(np.float32),
            "flow": RNG.normal(0, 3, (4, 32, 32, 4)).astype(np.float32)}


def scale_conv5(model, factor):
    """conv5 kernel and bias times factor: its post-ReLU map is exactly factor times larger."""
    layer = model.get_layer("temporal").get_layer("conv5")
    layer.set_weights([w * factor for w in layer.get_weights()])


def test_identity_weights_by_hand():
    # r_s = 1, r_t = 10; xs/r_s + xt/r_t = 2 everywhere, so c = 1/2: w = (1/2, 1/20).
    record = measured_identity_weights(np.ones((2, 3, 3, 4)), np.full((2, 3, 3, 4), 10.0))
    assert record["spatial_rms"] == pytest.approx(1.0) and record["temporal_rms"] == pytest.approx(10.0)
    assert record["identity_weights"] == pytest.approx([0.5, 0.05])


def test_product_scales_by_hand():
    # xs = 2, xt = 10: RMS(xs xt) = 20, so a_t = 2 / 20 and the product starts at 2 * 10 / 10 = 2 = r_s.
    record = measured_product_scales(np.full((2, 4), 2.0), np.full((2, 4), 10.0))
    assert record["scales"] == pytest.approx([1.0, 0.1])


def conv_weights(model):
    """(w_s, w_t) read off the kernel's two identity blocks."""
    kernel = model.get_layer("fusion").get_weights()[0]
    c = kernel.shape[1]
    np.testing.assert_allclose(kernel[:c], kernel[0, 0] * np.eye(c), atol=1e-7)
    np.testing.assert_allclose(kernel[c:], kernel[c, 0] * np.eye(c), atol=1e-7)
    return kernel[0, 0], kernel[c, 0]


def test_conv_fusion_weights_follow_a_tenfold_temporal_scale():
    towers = build_towers(**SMALL)
    model = build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"toy": 3})
    features = batch()
    assert conv_weights(model) == (1.0, 1.0)  # [I | I] until measured
    measure_init(model, MEASURED, lambda: features)
    w_s, w_t = conv_weights(model)
    xs = model.get_layer("spatial")(features["rgb"]).numpy()
    xt = model.get_layer("temporal")(features["flow"]).numpy()
    r_s, r_t = np.sqrt(np.mean(xs.astype(np.float64) ** 2)), np.sqrt(np.mean(xt.astype(np.float64) ** 2))
    assert w_s * r_s == pytest.approx(w_t * r_t, rel=1e-5)  # equal contributions
    fused = model.get_layer("fusion")([xs, xt]).numpy()
    assert np.sqrt(np.mean(fused.astype(np.float64) ** 2)) == pytest.approx(r_s, rel=1e-4)  # the spatial top's scale

    scale_conv5(model, 10.0)
    measure_init(model, MEASURED, lambda: features)
    w_s10, w_t10 = conv_weights(model)
    assert (w_s10 / w_t10) == pytest.approx(10 * w_s / w_t, rel=1e-4)
    assert w_s10 == pytest.approx(w_s, rel=1e-4)  # the fused map keeps r_s: only the temporal weight shrinks
    assert w_t10 == pytest.approx(w_t / 10, rel=1e-4)


def test_3d_conv_fusion_sets_gaussian_times_measured_identities():
    layer = fl.Conv3DFusion(name="fusion")
    layer([np.ones((1, 2, 3, 3, 4), np.float32), np.ones((1, 2, 3, 3, 4), np.float32)])
    layer.set_identity_weights(0.5, 0.05)
    kernel = layer.get_weights()[0]
    centre = kernel[1, 1, 1]  # the Gaussian's centre weight times [0.5 I ; 0.05 I]
    g = 1.0 / sum(np.exp(-(t * t + h * h + w * w) / 2) for t in (-1, 0, 1) for h in (-1, 0, 1) for w in (-1, 0, 1))
    np.testing.assert_allclose(centre, g * np.concatenate([0.5 * np.eye(4), 0.05 * np.eye(4)]), rtol=1e-5, atol=1e-8)


def test_m_fusion_scale_follows_a_tenfold_temporal_scale():
    towers = build_towers(**SMALL)
    model = build_m_fusion(towers["spatial"], towers["temporal"], num_classes={"toy": 3}, scaled=True)
    features = batch()
    measure_m_fusion_init(model, MEASURED, lambda: features)
    a_s, a_t = model.get_layer("fusion").get_weights()[0]
    xs = model.get_layer("spatial")(features["rgb"]).numpy().astype(np.float64)
    xt = model.get_layer("temporal")(features["flow"]).numpy().astype(np.float64)
    r_s = np.sqrt(np.mean(xs ** 2))
    assert a_s == 1.0 and a_t == pytest.approx(r_s / np.sqrt(np.mean((xs * xt) ** 2)), rel=1e-4)
    scale_conv5(model, 10.0)
    measure_m_fusion_init(model, MEASURED, lambda: features)
    assert model.get_layer("fusion").get_weights()[0][1] == pytest.approx(a_t / 10, rel=1e-4)


def test_fixed_init_measures_nothing():
    towers = build_towers(**SMALL)
    model = build_conv_fusion(towers["spatial"], towers["temporal"], num_classes={"toy": 3})
    assert measure_init(model, config_lib.ExperimentConfig(), lambda: pytest.fail("drew a batch")) == {}
    assert conv_weights(model) == (1.0, 1.0)
