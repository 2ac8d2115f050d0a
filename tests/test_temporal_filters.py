"""The temporal net's first-layer filter picture (Simonyan & Zisserman Fig. 4) and its statistics, on hand-made kernels."""
import numpy as np
import pytest

from results.temporal_filters import (channel_names, filter_grid, one_signed, random_statistics, sign_changes,
                                      statistics)


def test_the_grid_has_a_column_per_filter_and_a_row_per_input_channel():
    kernel = np.zeros((7, 7, 4, 3), np.float32)  # L = 2 fields: channels x1, y1, x2, y2; 3 filters
    for c in range(4):
        for f in range(3):
            kernel[:, :, c, f] = 10 * c + f
    kernel[0, 6, 3, 2] = -5.0  # top-right corner of the cell (row y2, column 3)
    grid = filter_grid(kernel)
    assert grid.shape == (4 * 7 + 3, 3 * 7 + 2)  # one-pixel gaps between cells
    assert grid[8, 16] == 12.0  # row x2 (third), column 3: cell (2, 2) starts at pixel (2*8, 2*8)
    assert grid[24, 8] == 31.0 and grid[30, 14] == 31.0  # row y2, column 2: both corners
    assert grid[24, 22] == -5.0
    assert np.isnan(grid[7]).all() and np.isnan(grid[:, 15]).all()
    assert np.isnan(grid).sum() == grid.size - 4 * 3 * 49
    assert channel_names(4) == ["x1", "y1", "x2", "y2"]


def course(x_means, y_means):
    """A filter [7,7,2L] whose x and y slices are constant at the given values, field by field."""
    return np.stack([np.full((7, 7), v, np.float32) for pair in zip(x_means, y_means) for v in pair], axis=-1)


def test_sign_changes_count_the_spatial_mean_of_each_slice_along_time():
    noisy = np.full((7, 7), -1.0, np.float32)
    noisy[0, 0] = 100.0  # 48 negative weights (the centre too), yet the slice's mean is (100 - 48) / 49 > 0
    third = course([1.0, 1.0, 1.0], [3.0, 3.0, 3.0])
    third[:, :, 2] = noisy  # x of field 2
    kernel = np.stack([course([1.0, -1.0, 1.0], [1.0, 2.0, 3.0]),    # x: 2 changes, y: none
                       course([-1.0, 0.0, 1.0], [2.0, 2.0, 2.0]),    # x: a zero keeps its sign, so 1 change
                       third], axis=-1)                              # x: 1, +, 1: none
    np.testing.assert_array_equal(sign_changes(kernel), [[2, 1, 0], [0, 0, 0]])
    stats = statistics(kernel)
    assert stats["share of filters changing sign in time"] == pytest.approx(2 / 3)
    assert stats["sign changes per time course"] == pytest.approx(3 / 6)
    assert stats["share of time courses with at most one sign change"] == pytest.approx(5 / 6)


def test_a_filter_constant_in_time_correlates_fully_with_the_next_step():
    rng = np.random.default_rng(0)
    field = rng.normal(size=(7, 7, 2, 5)).astype(np.float32)
    kernel = np.concatenate([field] * 3, axis=2)  # fields 1..3 identical
    assert statistics(kernel)["correlation with the next time step"] == pytest.approx(1.0)


def test_random_kernels_change_sign_at_about_half_the_steps():
    mean, spread = random_statistics((7, 7, 20, 24), "he_normal", draws=5)["sign changes per time course"]
    assert mean == pytest.approx(4.5, abs=0.4) and spread < 0.5  # (L - 1) / 2 for independent signs


def test_one_signed_slices_are_counted_per_input_channel():
    kernel = np.zeros((7, 7, 2, 3), np.float32)
    kernel[:, :, 0, 0] = 2.0                 # a blob: |mean| = RMS
    kernel[:, :, 0, 1] = 1.0
    kernel[:3, :, 0, 1] = -1.0               # 21 of 49 negative: |mean| = 1/7 of the RMS, an edge
    kernel[:, :, 1, 2] = -1.0
    kernel[0, 0, 1, 2] = 20.0                # mean -28/49, RMS sqrt(448/49): ratio 0.19, not a blob
    kernel[:, :, 1, 0] = 0.1                 # a faint blob is still a blob
    np.testing.assert_array_equal(one_signed(kernel), [1, 1])
