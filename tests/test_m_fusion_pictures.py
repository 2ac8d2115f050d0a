"""The m-fusion effects picture (Park et al.'s figure): which videos it shows and what its maps hold, on hand-made arrays."""
import cv2
import numpy as np
import pytest

from tfx_models.evaluation.m_fusion_pictures import COLUMNS, effect_maps, figure, render, select_videos


def test_selection_picks_the_videos_fusion_gets_right_and_spatial_wrong_one_per_class():
    labels = [0, 1, 2, 0, 3, 1, 2]
    fused = np.array([0, 1, 1, 0, 3, 1, 2])    # wrong on video 2 only
    spatial = np.array([0, 2, 2, 1, 3, 0, 0])  # wrong on videos 1, 3, 5, 6
    assert select_videos(labels, fused, spatial, count=10) == [1, 3, 6]  # 5 is class 1 again
    assert select_videos(labels, fused, spatial, count=2) == [1, 3]
    assert select_videos(labels, fused, fused, count=10) == []


def test_the_maps_are_channel_means_and_the_ratio_of_channel_sums_to_the_maps():
    xs = np.zeros((1, 3, 2), np.float32)
    xt = np.zeros((1, 3, 2), np.float32)
    xs[0, 0], xt[0, 0] = (0.25, 0.75), (2.0, 2.0)  # product (0.5, 1.5): sum 2 over x_s sum 1
    xs[0, 1], xt[0, 1] = (2.0, 0.0), (0.5, 9.0)    # product (1, 0): 1 / 2, the 9 meets no spatial evidence
    xt[0, 2] = (5.0, 5.0)                          # no spatial activation: no ratio
    maps = effect_maps(xs, xt)
    np.testing.assert_allclose(maps["spatial"], [[0.5, 1.0, 0.0]])
    np.testing.assert_allclose(maps["temporal"], [[2.0, 4.75, 5.0]])
    np.testing.assert_allclose(maps["product"], [[1.0, 0.5, 0.0]])
    assert maps["overall"] == pytest.approx(1.0)  # (2 + 1) / (1 + 2)
    np.testing.assert_allclose(maps["ratio"][0, :2], [1.0, -1.0])  # log2 2 and log2 1/2
    assert np.isnan(maps["ratio"][0, 2])
    scaled = effect_maps(xs, xt, scales=(1.0, 0.5))  # a_t halves the temporal factor and the product
    np.testing.assert_allclose(scaled["temporal"], [[1.0, 2.375, 2.5]])
    assert scaled["overall"] == pytest.approx(0.5)
    np.testing.assert_allclose(scaled["ratio"][0, :2], [1.0, -1.0])  # relative to the map: unchanged


def test_a_location_whose_temporal_factor_is_zero_is_emptied():
    xt = np.zeros((1, 2, 2), np.float32)
    xt[0, 0] = 1.0
    maps = effect_maps(np.ones((1, 2, 2), np.float32), xt)
    assert maps["overall"] == pytest.approx(0.5)
    assert maps["ratio"][0, 0] == pytest.approx(1.0) and np.isneginf(maps["ratio"][0, 1])


def test_the_picture_has_a_row_per_video_with_the_five_columns(tmp_path):
    maps = effect_maps(np.ones((4, 4, 2), np.float32), np.full((4, 4, 2), 2.0, np.float32))
    rows = [{"id": f"v{i}", "true": "A", "fused": "A", "spatial": "B", "frame": np.zeros((16, 16, 3)), "maps": maps}
            for i in range(3)]
    fig = figure(rows)
    titles = [ax.get_title() for ax in fig.axes]
    for column in COLUMNS[:-1]:
        assert titles.count(column) == 3
    assert titles.count(f"{COLUMNS[-1]} (x2.00)") == 3  # the product over x_s: 2 everywhere
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_title() == COLUMNS[0]]
    assert labels == [f"v{i}\ntrue A\nm-fusion A\nspatial B" for i in range(3)]
    render(rows[:1], str(tmp_path / "one.png"))
    assert cv2.imread(str(tmp_path / "one.png")).shape[1] == pytest.approx(3.2 * len(COLUMNS) * 72, abs=2)
