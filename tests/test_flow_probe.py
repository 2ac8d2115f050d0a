"""The probe's clips and picture, on hand-made videos (the decoder and EPE: test_flow_decoders)."""
import numpy as np

from results.flow_probe import video_clips, without_pan
from results.flow_probe_picture import CELL, column_titles, picture


def test_clips_are_spread_centre_cropped_and_paired_with_each_frames_field():
    frames = [np.full((12, 16, 3), i, np.uint8) for i in range(10)]
    flow = [np.full((12, 16, 2), i, np.float32) for i in range(9)]
    clips = video_clips(frames, flow, snippets=3, stride=2, crop=8, clips=2)
    assert [index for index, *_ in clips] == [[0, 2, 4], [4, 6, 8]]
    _, rgb, stored, window = clips[1]
    assert rgb.shape == (3, 8, 8, 3) and window == (slice(2, 10), slice(4, 12))
    np.testing.assert_array_equal(stored[:, 0, 0, 0], [4, 6, 8])


def test_the_picture_has_a_row_per_clip_and_a_titled_decoded_column_per_probe():
    examples = {"frames": np.zeros((3, 2, 4, 4, 3)), "stored": np.ones((3, 2, 4, 4, 2)),
                "true": np.ones((3, 2, 4, 4, 2)), "valid": np.ones((3, 2, 4, 4), bool),
                "decoded": np.zeros((3, 2, 4, 4, 2))}
    image = picture({"plain student": examples, "D3D": examples}, clips=2)
    assert image.shape[1] == 5 * CELL
    # The stored flow (1, 1) at the row's full scale is a saturated colour; frames and zero flow are black.
    middle = image[:, 2 * CELL + CELL // 2].astype(int)
    coloured = middle.max(axis=-1) - middle.min(axis=-1) > 200  # text is grey, not saturated
    top = int(np.argmax(coloured))
    assert coloured.sum() == 2 * CELL and coloured[top:top + 2 * CELL].all()  # two rows of cells, one block
    titles = image[:top]
    assert top > 0 and all((titles[:, i * CELL:(i + 1) * CELL] < 128).any() for i in range(5))  # ink in each
    assert (image[top + 2 * CELL:] < 128).any()  # the colour caption under the grid


def test_the_columns_are_named_as_the_paper_shows_them():
    assert column_titles(["plain student", "D3D"]) == [
        "frame", "ground-truth flow", "stored flow", "plain student decoded", "D3D decoded"]
    assert column_titles(["D3D"], truth=False)[1] == "stored flow (no truth)"


def test_without_pan_leaves_each_steps_motion_around_its_valid_mean():
    flow = np.zeros((1, 2, 2, 2, 2), np.float32)
    flow[0, 0, ..., 0] = [[1, 1], [1, 5]]  # step 0: a pan of 1 px, one pixel moving 4 px more
    flow[0, 1, ..., 1] = [[-2, -2], [-2, 100]]  # step 1: the 100 is an invalid pixel
    valid = np.ones((1, 2, 2, 2), bool)
    valid[0, 1, 1, 1] = False
    np.testing.assert_allclose(without_pan(flow)[0, 0, ..., 0], [[-1, -1], [-1, 3]])  # mean 2
    np.testing.assert_allclose(without_pan(flow, valid)[0, 1, ..., 1], [[0, 0], [0, 102]])  # valid mean -2
    np.testing.assert_allclose(without_pan(flow)[0, 0, ..., 1], 0)
