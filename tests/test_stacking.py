"""Stacking equations (Eq. 1, Eq. 2, bi-directional, mean subtraction) and the 25x10 test protocol."""
import numpy as np
import pytest
import tensorflow as tf

from media import stacking
from tfx_models.data import stacking_tf


def numbered_flow(num_fields, height=2, width=3):
    """Field j: x = 10*j + column, y = -(10*j + row): every value says where it came from."""
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return np.stack([np.stack([10.0 * j + cols, -(10.0 * j + rows)], -1)
                     for j in range(num_fields)]).astype(np.float32)


def test_optical_flow_stacking_interleaves_consecutive_fields():
    flow = numbered_flow(5)
    volume = stacking.flow_volume(flow, None, 1, length=2, stacking="optical_flow",
                                  mean_subtraction=False)
    # Eq. 1: channel 2k-1 = x of field t+k-1, channel 2k = y of field t+k-1 (t = 1).
    expected = np.stack([flow[1, ..., 0], flow[1, ..., 1], flow[2, ..., 0], flow[2, ..., 1]], -1)
    np.testing.assert_array_equal(volume, expected)
    assert volume[1, 2].tolist() == [12.0, -11.0, 22.0, -21.0]


def test_trajectory_stacking_follows_the_flow_and_clamps_at_the_border():
    height, width = 2, 4
    first = np.zeros([height, width, 2], np.float32)
    first[..., 0] = 1.0  # everything moves one pixel right
    first[0, 0, 0] = 0.5  # except (0,0): half a pixel, so field 2 is read between columns
    second = numbered_flow(1, height, width)[0] + np.float32(100.0)
    volume = stacking.flow_volume(np.stack([first, second]), None, 0, length=2,
                                  stacking="trajectory", mean_subtraction=False)
    np.testing.assert_array_equal(volume[..., :2], first)
    # p_2 = p_1 + d_1(p_1); channel 3 = d^x_2(p_2).
    assert volume[1, 1, 2] == second[1, 2, 0] == 102.0
    assert volume[0, 0, 2] == pytest.approx(100.5)  # bilinear between columns 0 and 1
    assert volume[1, 3, 2] == second[1, 3, 0]  # p_2 = column 4 clamps to column 3
    assert volume[1, 1, 3] == second[1, 2, 1] == 99.0


def test_trajectory_with_zero_first_field_equals_flow_stacking():
    flow = numbered_flow(3)
    flow[0] = 0.0
    traj = stacking.flow_volume(flow, None, 0, length=3, stacking="trajectory", mean_subtraction=False)
    plain = stacking.flow_volume(flow, None, 0, length=3, stacking="optical_flow", mean_subtraction=False)
    np.testing.assert_array_equal(traj[..., :4], plain[..., :4])
    assert not np.array_equal(traj, plain)  # field 2 moves the trajectories


def test_bidirectional_uses_forward_fields_from_t_and_backward_fields_before_t():
    forward = numbered_flow(6)
    backward = numbered_flow(6) + np.float32(1000.0)
    volume = stacking.flow_volume(forward, backward, 3, length=4, stacking="optical_flow",
                                  bidirectional=True, mean_subtraction=False)
    assert volume.shape == (2, 3, 8)
    # forward 3, 4 then backward 2 (frame 3 -> 2), 1 (frame 2 -> 1).
    expected = np.concatenate([forward[3], forward[4], backward[2], backward[1]], -1)
    np.testing.assert_array_equal(volume, expected)
    assert stacking.start_range(6, 4, True) == (2, 4)
    with pytest.raises(ValueError, match="even length"):
        stacking.flow_volume(forward, backward, 3, length=3, bidirectional=True)
    with pytest.raises(ValueError, match="backward flow"):
        stacking.flow_volume(forward, None, 3, length=4, bidirectional=True)


def test_mean_subtraction_removes_each_fields_mean_vector():
    flow = numbered_flow(4)
    raw = stacking.flow_volume(flow, None, 0, length=3, mean_subtraction=False)
    centred = stacking.flow_volume(flow, None, 0, length=3, mean_subtraction=True)
    np.testing.assert_allclose(centred.mean(axis=(0, 1)), 0.0, atol=1e-5)
    # Field 1's x mean is 10 + mean column (1) = 11.
    np.testing.assert_allclose(centred[..., 2], raw[..., 2] - 11.0, atol=1e-5)


def test_short_videos_repeat_the_edge_fields():
    flow = numbered_flow(2)
    volume = stacking.flow_volume(flow, None, 0, length=4, mean_subtraction=False)
    expected = np.concatenate([flow[0], flow[1], flow[1], flow[1]], -1)
    np.testing.assert_array_equal(volume, expected)
    forward, backward = stacking.field_indices(2, 1, 4, True)
    assert forward.tolist() == [1, 1] and backward.tolist() == [0, 0]


def test_flip_mirrors_and_negates_only_x_displacements():
    volume = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    flipped = stacking.crop(volume, 0, 0, 2, True, is_flow=True)
    assert flipped[0, 0].tolist() == [-4.0, 5.0, -6.0, 7.0]  # column 1 -> column 0
    rgb = stacking.crop(volume[..., :3], 0, 1, 2, True, is_flow=False)
    assert rgb[0, 0].tolist() == volume[0, 2, :3].tolist()


def test_resize_to_cover_scales_displacements_with_the_image():
    flow = np.tile(np.float32([1.0, 2.0]), (10, 20, 1))
    assert stacking.cover_size(10, 20, 30) == (30, 60)
    resized = stacking.resize_to_cover(flow, 30, is_flow=True)
    assert resized.shape == (30, 60, 2)
    np.testing.assert_allclose(resized[..., 0], 3.0, rtol=1e-6)
    np.testing.assert_allclose(resized[..., 1], 6.0, rtol=1e-6)
    assert stacking.resize_to_cover(flow, 8, is_flow=True) is flow


def test_ten_crop_boxes_are_four_corners_centre_and_their_flips():
    boxes = stacking.crop_boxes(6, 9, 4, crops=10)
    corners = [(0, 0), (0, 5), (2, 0), (2, 5), (1, 2)]
    assert boxes == [(t, l, False) for t, l in corners] + [(t, l, True) for t, l in corners]
    assert stacking.crop_boxes(6, 9, 4, crops=1) == [(1, 2, False)]
    assert stacking.crop_boxes(6, 9, 4, crops=2) == [(1, 2, False), (1, 2, True)]
    with pytest.raises(ValueError, match="crops must be one of"):
        stacking.crop_boxes(6, 9, 4, crops=3)


def test_test_positions_are_equally_spaced_over_the_valid_range():
    assert stacking.test_positions(97, "spatial").tolist() == list(range(0, 97, 4))
    # 41 frames -> 40 fields; volumes of 10 start at 0..30.
    temporal = stacking.test_positions(41, "temporal", count=4, length=10)
    assert temporal.tolist() == [0, 10, 20, 30]
    bidirectional = stacking.test_positions(41, "temporal", count=3, length=10, bidirectional=True)
    assert bidirectional.tolist() == [5, 20, 35]


def test_video_test_batch_is_25_frames_by_10_crops_in_frame_major_order():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (30, 6, 8, 3), dtype=np.uint8)
    flow = rng.normal(size=(29, 6, 8, 2)).astype(np.float32)
    batch = stacking.video_test_batch(frames, flow, None, crop_size=4, length=4,
                                      mean_subtraction=False)
    assert batch["rgb"].shape == (250, 4, 4, 3) and batch["flow"].shape == (250, 4, 4, 8)
    rgb_positions = stacking.test_positions(30, "spatial")
    flow_positions = stacking.test_positions(30, "temporal", length=4)
    boxes = stacking.crop_boxes(6, 8, 4)
    for frame_slot, crop_slot in [(0, 0), (7, 3), (24, 9), (12, 6)]:
        top, left, flip = boxes[crop_slot]
        image = frames[rgb_positions[frame_slot], top:top + 4, left:left + 4].astype(np.float32)
        volume = np.concatenate(list(flow[flow_positions[frame_slot]:][:4]), -1)[top:top + 4, left:left + 4]
        if flip:
            image, volume = image[:, ::-1], volume[:, ::-1] * np.float32([-1, 1] * 4)
        index = frame_slot * 10 + crop_slot
        np.testing.assert_array_equal(batch["rgb"][index], image)
        np.testing.assert_array_equal(batch["flow"][index], volume)


@pytest.mark.parametrize("method", ["optical_flow", "trajectory"])
@pytest.mark.parametrize("mean_subtraction", [False, True])
@pytest.mark.parametrize("jit_compile", [False, True])
def test_tf_stacking_equals_numpy(method, mean_subtraction, jit_compile):
    rng = np.random.default_rng(1)
    forward = rng.normal(0, 2.5, (6, 9, 11, 2)).astype(np.float32)
    backward = rng.normal(0, 2.5, (6, 9, 11, 2)).astype(np.float32)
    for bidirectional in (False, True):
        fwd, bwd = stacking.field_indices(6, 2, 4, bidirectional)
        expected = stacking.flow_volume(forward, backward, 2, length=4, stacking=method,
                                        bidirectional=bidirectional, mean_subtraction=mean_subtraction)
        t_fwd, t_bwd = stacking_tf.field_indices(tf.constant(6), tf.constant(2), 4, bidirectional)
        assert t_fwd.numpy().tolist() == fwd.tolist() and t_bwd.numpy().tolist() == bwd.tolist()
        got = stacking_tf.flow_volume(tf.gather(forward, t_fwd),
                                      tf.gather(backward, t_bwd) if bidirectional else None,
                                      stacking=method, mean_subtraction=mean_subtraction,
                                      jit_compile=jit_compile)
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-4)


def test_tf_resize_crop_and_flip_equal_numpy():
    rng = np.random.default_rng(2)
    volume = rng.normal(0, 3, (7, 10, 4)).astype(np.float32)
    expected = stacking.crop(stacking.resize_to_cover(volume, 12, True), 0, 3, 12, True, True)
    resized = stacking_tf.resize_to_cover(tf.constant(volume), 12, True)
    got = stacking_tf.crop(resized, tf.constant(0), tf.constant(3), 12, tf.constant(True), True)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-4)
    assert stacking_tf.resize_to_cover(tf.constant(volume), 7, True).shape == (7, 10, 4)


def test_buffers_hand_out_an_array_again_only_once_nothing_holds_it():
    buffers = stacking.Buffers(keep=3)
    first = buffers.empty((4, 5))
    address = first.ctypes.data
    held = buffers.empty((4, 5))  # `first` is held: a new array
    assert held.ctypes.data != address
    view = first[:, 1]
    del first
    assert buffers.empty((4, 5)).ctypes.data not in (address, held.ctypes.data)  # a view holds it too
    del view
    assert buffers.empty((4, 5)).ctypes.data == address  # free: handed out again
    assert buffers.empty((2, 5)).shape == (2, 5) and buffers.empty((4, 5), np.float64).dtype == np.float64


def test_a_videos_inputs_stay_as_built_while_held_when_the_next_video_reuses_buffers():
    rng = np.random.default_rng(1)
    videos = [(rng.integers(0, 256, (20, 6, 8, 3), dtype=np.uint8), rng.normal(size=(19, 6, 8, 2)).astype(np.float32))
              for _ in range(4)]
    options = dict(crop_size=4, length=4, num_frames=5, crops=10)
    expected = [stacking.video_test_batch(frames, flow, None, **options) for frames, flow in videos]
    buffers = stacking.Buffers()
    kept = []
    for i, (frames, flow) in enumerate(videos):
        batch = stacking.video_test_batch(frames, flow, None, buffers=buffers, **options)
        if i % 2 == 0:
            kept.append((i, batch))  # held across the next builds
        for key in batch:
            np.testing.assert_array_equal(batch[key], expected[i][key])
        del batch
    for i, batch in kept:
        for key in batch:
            np.testing.assert_array_equal(batch[key], expected[i][key])
