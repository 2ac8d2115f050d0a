"""Flow decoders, flow at a layer's grid and the end-point error, on hand-made fields."""
import numpy as np
import pytest
import tensorflow as tf

from tfx_models.backbones.flow_decoders import build_flow_decoder, hidden_layer
from tfx_models.backbones.s3d import build_s3d_g
from tfx_models.layers.flow import FlowAtLayer, resize_flow, resize_valid
from tfx_models.losses import end_point_error


@pytest.mark.parametrize("design", ["conv", "pwc", "linear"])
def test_a_decoder_gives_two_channels_per_time_step_of_the_hidden_layer(design):
    tower = build_s3d_g((4, 32, 32, 3), stream="spatial", width=0.125)
    hidden = hidden_layer(tower, "mixed_3b")
    decoder = build_flow_decoder(tuple(hidden.output.shape[1:]), design, width=0.25)
    flow = decoder(hidden(np.zeros((3, 4, 32, 32, 3), np.float32)))["flow"]
    assert tuple(flow.shape) == (3, 2, 4, 4, 2)  # T/2 frames, 1/8 of the pixels (layer 3b's grid)
    assert not any(len(layer.get_weights()[0].shape) == 5 for layer in decoder.layers if layer.get_weights())


@pytest.mark.parametrize("design", ["pwc", "linear"])
def test_a_decoder_has_no_temporal_filter_so_time_steps_do_not_mix(design):
    decoder = build_flow_decoder((3, 4, 4, 8), design)
    features = np.random.default_rng(0).normal(size=(1, 3, 4, 4, 8)).astype(np.float32)
    changed = features.copy()
    changed[:, 2] += 5.0
    a, b = decoder(features)["flow"].numpy(), decoder(changed)["flow"].numpy()
    np.testing.assert_allclose(a[:, :2], b[:, :2], rtol=1e-6)
    assert not np.allclose(a[:, 2], b[:, 2])


def test_the_linear_decoder_reads_each_location_alone_with_one_weighted_sum():
    decoder = build_flow_decoder((2, 3, 3, 2), "linear")
    decoder.get_layer("flow_decoder_predict").set_weights([np.array([[[[1.0, 0.0], [2.0, -1.0]]]], np.float32),
                                                           np.array([0.5, 0.0], np.float32)])
    features = np.zeros((1, 2, 3, 3, 2), np.float32)
    features[0, 1, 2, 0] = (3.0, 1.0)  # one location of the second time step
    flow = decoder(features)["flow"].numpy()
    np.testing.assert_allclose(flow[0, 1, 2, 0], [3.0 + 2.0 + 0.5, -1.0])  # (1*3 + 2*1 + 0.5, 0*3 - 1*1)
    np.testing.assert_allclose(flow[0, 1, 1, 0], [0.5, 0.0])  # its neighbour sees only the bias
    np.testing.assert_allclose(flow[0, 0, 2, 0], [0.5, 0.0])


def test_an_unknown_layer_is_an_error_listing_the_clip_layers():
    with pytest.raises(ValueError, match="no layer 'mixed_9z'.*mixed_3b"):
        hidden_layer(build_s3d_g((4, 32, 32, 3), stream="spatial", width=0.125), "mixed_9z")


def test_end_point_error_counts_valid_pixels_only():
    predicted = np.zeros((1, 2, 4, 4, 2), np.float32)
    true = np.zeros_like(predicted)
    true[..., 0], true[..., 1] = 3.0, 4.0
    valid = np.zeros((1, 2, 4, 4), bool)
    valid[0, 0, :2] = True  # 8 pixels where the error is 5
    true[0, 1] = 100.0      # invalid pixels: ignored however wrong
    assert end_point_error(predicted, true, valid).numpy() == pytest.approx([5.0])
    assert end_point_error(predicted, true).numpy()[0] == pytest.approx((16 * 5.0 + 16 * 100 * np.sqrt(2)) / 32)


def test_resizing_a_field_scales_its_vectors_by_the_resize_factor():
    flow = np.zeros((2, 8, 16, 2), np.float32)
    flow[..., 0], flow[..., 1] = 4.0, -2.0  # 4 px right, 2 px up on a 16 x 8 grid
    small = resize_flow(flow, (2, 8)).numpy()  # x halves (16 -> 8), y quarters (8 -> 2)
    np.testing.assert_allclose(small[..., 0], 2.0)
    np.testing.assert_allclose(small[..., 1], -0.5)
    valid = np.ones((1, 8, 16), bool)
    valid[0, 0, 0] = False
    kept = resize_valid(valid, (2, 8)).numpy()
    assert not kept[0, 0, 0] and kept.sum() == 15


def test_flow_at_a_layer_takes_the_first_field_of_each_hidden_step():
    clip = np.zeros((1, 4, 8, 8, 2), np.float32)
    clip[:, :, ..., 0] = np.arange(4, dtype=np.float32)[None, :, None, None]
    target = FlowAtLayer(2, (4, 4))(clip).numpy()
    assert target.shape == (1, 2, 4, 4, 2)
    np.testing.assert_allclose(target[0, :, 0, 0, 0], [0.0, 1.0])  # frames 0 and 2, halved
    assert FlowAtLayer.from_config(FlowAtLayer(2, (4, 4)).get_config()).size == (4, 4)
