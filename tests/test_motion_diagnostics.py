"""The diagnostics of issue 15: flow scored against the truth on the moving object, and the
seed study's verdicts on its targets (expectations by hand)."""
import numpy as np
import pytest

from results.flow_quality import score_video


def test_object_error_and_kept_motion_by_hand():
    truth = np.zeros((1, 4, 4, 2), np.float32)
    truth[..., 0] = 1.0                 # the camera pans 1 px right
    truth[0, 1:3, 1:3, 0] = 3.0         # a 2x2 object moves 2 px relative to it
    estimated = truth.copy()
    estimated[0, 1:3, 1:3, 0] = 2.0     # the estimate keeps half the relative motion
    valid = np.ones((1, 4, 4), bool)
    sums = score_video(list(estimated), truth, valid)
    assert sums["epe_sum"] / sums["valid"] == pytest.approx(4 * 1.0 / 16)
    assert sums["object"] == 4 and sums["object_epe_sum"] / sums["object"] == pytest.approx(1.0)
    assert sums["kept_sum"] / sums["true_sum"] == pytest.approx(0.5)


def test_invalid_pixels_do_not_count():
    truth = np.zeros((1, 2, 2, 2), np.float32)
    estimated = truth.copy()
    estimated[0, 0, 0] = (5.0, 0.0)      # wrong, but occluded in the truth
    valid = np.ones((1, 2, 2), bool)
    valid[0, 0, 0] = False
    assert score_video(list(estimated), truth, valid)["epe_sum"] == 0.0


def test_a_resized_record_is_refused_by_name():
    with pytest.raises(ValueError, match="field 0: record flow"):
        score_video([np.zeros((2, 2, 2))], np.zeros((1, 3, 3, 2)), np.ones((1, 3, 3), bool))


def test_seed_study_states_each_target_from_the_figures():
    from results.seed_study import markdown

    seeds = [{"spatial": 0.55, "temporal": 0.50, "averaging": 0.62, "temporal_motion_recall": 0.90,
              "averaging_motion_recall": 0.8, "fusion_margin": 0.07},
             {"spatial": 0.60, "temporal": 0.52, "averaging": 0.63, "temporal_motion_recall": 0.82,
              "averaging_motion_recall": 0.7, "fusion_margin": 0.03}]
    text = markdown(["s1", "s2"], seeds)
    assert "| s2 | 60.0% | 52.0% | 63.0% | 82.0% | 70.0% | +3.0 |" in text
    assert "mean over seeds: 86.0% (target >= 85%: met)" in text
    assert "by +7.0, +3.0 points (target >= 5 on every seed: not met)" in text
