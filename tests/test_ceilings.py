"""The benchmark's ceilings against hand counts: a hand-made class table, then the shipped sets."""
import pytest

from beam_pipelines.synth.ceilings import ceiling, dataset_ceilings, row_ceiling, stream_cues
from beam_pipelines.synth.classes import classes_of
from beam_pipelines.synth.classes import SynthClass

# A: ball swinging, B: ball bouncing, T: apple with a motion drawn from (swing, bounce).
TABLE = {"A": SynthClass("A", None, "ball", "swing", ""), "B": SynthClass("B", None, "ball", "bounce", ""),
         "T": SynthClass("T", None, "apple", "mixed", "")}
COUNTS = {"A": 2, "B": 2, "T": 4}
MIXED = ("swing", "bounce")


def test_a_hand_counted_table():
    # appearance: "ball" -> A or B (2 of 4 right), "apple" -> T (4): 6/8.
    assert ceiling(TABLE, ["appearance"], COUNTS, MIXED) == pytest.approx(6 / 8)
    # motion: "swing" -> A (2) or T's swinging half (2): 2 right of 4; "bounce" likewise: 4/8.
    assert ceiling(TABLE, ["motion"], COUNTS, MIXED) == pytest.approx(4 / 8)
    # both: every (kit, motion) pair names one class: 8/8.
    assert ceiling(TABLE, ["appearance", "motion"], COUNTS, MIXED) == pytest.approx(1.0)
    # equal counts: appearance (1 + 1) / 3; motion: swing -> A (1 vs 1/2), bounce -> B: 2/3.
    assert ceiling(TABLE, ["appearance"], mixed=MIXED) == pytest.approx(2 / 3)
    assert ceiling(TABLE, ["motion"], mixed=MIXED) == pytest.approx(2 / 3)


def test_the_shipped_sets_by_hand():
    # UCF-like: 5 balls (one motion each), 3 tosses (5 motions), SlideBox, OrbitStar.
    # appearance: one ball of 5 + 3 tosses + box + star = 6/10; motion: 5 balls + box + star = 7/10.
    assert dataset_ceilings("ucf101") == pytest.approx({"appearance": 0.6, "motion": 0.7, "both": 1.0})
    # HMDB-like: 4 balls (swing, bounce, spin, shake), 3 tosses, slide_box. appearance: (1 + 3 + 1)/8;
    # motion: 4 balls + box, and approach/recede come only from tosses (one of 3 credited, 1/5 each).
    assert dataset_ceilings("hmdb51") == pytest.approx({"appearance": 5 / 8, "motion": 5.4 / 8, "both": 1.0})
    assert dataset_ceilings("multiview") == dataset_ceilings("ucf101")


def test_uneven_test_counts_move_the_ceiling():
    counts = {"SwingBall": 10, "BounceBall": 1, "SpinBall": 1, "ApproachBall": 1, "RecedeBall": 1,
              "TossApple": 1, "TossLemon": 1, "TossPlum": 1, "SlideBox": 1, "OrbitStar": 1}
    # appearance: "ball" -> SwingBall (10 of 14 ball videos right), 5 others: 15/19.
    assert dataset_ceilings("ucf101", counts)["appearance"] == pytest.approx(15 / 19)


def test_stream_cues():
    assert stream_cues(["spatial"]) == ("appearance",)
    assert stream_cues(["temporal", "spatial"]) == ("appearance", "motion")
    assert stream_cues(["rgb_clip"]) == ("appearance", "motion")
    with pytest.raises(ValueError, match="unknown stream 'audio'"):
        stream_cues(["audio"])


def test_one_view_of_the_multiview_set_has_the_multiview_ceiling():
    # Each view is ingested alone under the name multiview_view<k>; one video per class, a single
    # frame sees appearance only: 6 of the 10 UCF-like classes (test_the_shipped_sets_by_hand).
    names = [name for name, _ in classes_of("multiview")]
    for dataset in ("multiview", "multiview_view0", "multiview_view1"):
        assert row_ceiling(dataset, names, ["spatial"], range(10)) == pytest.approx(0.6)
    for dataset in ("multiview_view", "multiview_views1", "ucf101_view1"):
        assert row_ceiling(dataset, names, ["spatial"], range(10)) is None
