"""Ceilings against hand counts: hand-made cue tables (one per kind of class), then the shipped sets.

Every expectation is worked out by hand in the comments, never by the function under test.
"""
import pytest

from beam_pipelines.synth.classes import cue_table
from media.ceilings import (FAMILIES, View, ceiling, ceiling_by_cue, clip_view, recall_by_cue, row_ceiling,
                            table_for)

APPEARANCE, MOTION = View(True, False), View(False, True, span=10)
LATE, BOUND = View(True, True, span=10), View(True, True, bound=True, span=10)


def one(kit, *motions, still=None, gap=None, group=""):
    objects = [{"kit": kit, "motions": list(motions)}] + ([{"kit": still, "motions": []}] if still else [])
    return {"cue_group": group, "variants": [{"p": 1.0, "objects": objects}], "gap": gap}


def mixed(kit, motions):
    return {"cue_group": "appearance only", "gap": None,
            "variants": [{"p": 1 / len(motions), "objects": [{"kit": kit, "motions": [m]}]} for m in motions]}


# A: ball swinging, B: ball bouncing, T: apple with a motion drawn from (swing, bounce).
TABLE = {"classes": {"A": one("ball", "swing", group="motion only"), "B": one("ball", "bounce", group="motion only"),
                     "T": mixed("apple", ("swing", "bounce"))}}
COUNTS = {"A": 2, "B": 2, "T": 4}
# Where: an apple and a lemon in view, one swings; the class is which.
WHERE = {"classes": {"AppleSwings": one("apple", "swing", still="lemon", group="where"),
                     "LemonSwings": one("lemon", "swing", still="apple", group="where")}}
# When: a ball swings then bounces, or bounces then swings; pauses of 10-14 flow steps.
WHEN = {"classes": {"SwingThenBounce": one("ball", "swing", "bounce", gap=[10, 14], group="when"),
                    "BounceThenSwing": one("ball", "bounce", "swing", gap=[10, 14], group="when")}}


def test_a_hand_counted_table():
    # appearance: "ball" -> A or B (2 of 4 right), "apple" -> T (4): 6/8.
    assert ceiling(TABLE, APPEARANCE, COUNTS) == pytest.approx(6 / 8)
    # motion: "swing" -> A (2) or T's swinging half (2): 2 right of 4; "bounce" likewise: 4/8.
    assert ceiling(TABLE, MOTION, COUNTS) == pytest.approx(4 / 8)
    # both, bound or not: every (kit, motion) pair names one class: 8/8.
    assert ceiling(TABLE, LATE, COUNTS) == ceiling(TABLE, BOUND, COUNTS) == pytest.approx(1.0)
    # equal counts: appearance (1 + 1) / 3; motion: swing -> A (1 vs 1/2), bounce -> B: 2/3.
    assert ceiling(TABLE, APPEARANCE) == pytest.approx(2 / 3)
    assert ceiling(TABLE, MOTION) == pytest.approx(2 / 3)


def test_where_classes_need_appearance_and_motion_at_one_place():
    # One frame shows both textures in both classes; the flow shows one swing in both; the two
    # side by side (late fusion, fusion at fc) still do not say which texture swings: 1 of 2.
    for view in (APPEARANCE, MOTION, LATE, View(True, True, span=50)):
        assert ceiling(WHERE, view) == pytest.approx(0.5)
    # Fused where the object is (conv fusion, m-fusion at conv5, an RGB clip): apple-swings vs lemon-swings.
    assert ceiling(WHERE, BOUND) == pytest.approx(1.0)
    assert ceiling(WHERE, clip_view(("spatial",), snippets=16, stride=1)) == pytest.approx(1.0)


def test_when_classes_need_a_span_over_the_middle_pause():
    # Both classes show the same ball, the same two motions and the same pauses; only an input that
    # holds a step of each motion around the middle pause (span >= pause + 2) sees the order.
    # Pauses 10..14 (5 values, equally likely): span 10 holds none: 1/2.
    for view in (APPEARANCE, MOTION, LATE, BOUND):
        assert ceiling(WHEN, view) == pytest.approx(0.5)
    # span 12: pause 10 only (1 of 5): 1/5 + 4/5 * 1/2 = 0.6; span 15: pauses 10-13: 4/5 + 1/10 = 0.9;
    # span 16 and over: all. Appearance alone never sees motion, whatever its span.
    assert ceiling(WHEN, View(False, True, span=12)) == pytest.approx(0.6)
    assert ceiling(WHEN, View(True, True, bound=True, span=15)) == pytest.approx(0.9)
    assert ceiling(WHEN, View(False, True, span=16)) == pytest.approx(1.0)
    assert ceiling(WHEN, View(True, False, span=50)) == pytest.approx(0.5)


def test_a_rows_ceiling_on_each_cue_groups_videos_alone():
    both = {"classes": {**WHERE["classes"], **WHEN["classes"]}}
    classes = ["AppleSwings", "BounceThenSwing", "LemonSwings", "SwingThenBounce"]
    labels = [0, 0, 2, 2, 1, 3, 3, 3]   # 2 + 2 where videos, 1 + 3 when videos
    # Late fusion: on the where videos both classes look alike (apple, lemon, a swing): 2 of 4. On the
    # when videos its L=10 stack never spans the pause, so the order is lost: the larger class, 3 of 4.
    assert ceiling_by_cue(both, classes, LATE, labels) == pytest.approx({"where": 0.5, "when": 0.75})
    # Bound at one place it tells where (4 of 4); the order stays unseen (3 of 4).
    assert ceiling_by_cue(both, classes, BOUND, labels) == pytest.approx({"where": 1.0, "when": 0.75})


def test_views_of_the_evaluated_inputs():
    # A flow stack of L=10: span 10. A 16-frame RGB clip at stride 1: 15 flow steps, bound.
    assert clip_view(("temporal",), length=10) == View(False, True, span=10)
    assert clip_view(("spatial",)) == View(True, False)
    assert clip_view(("spatial",), snippets=16, stride=1) == View(True, True, bound=True, span=15)
    # The D3D teacher: 16 flow fields (L=1) at stride 1: 15 + 1 = 16.
    assert clip_view(("temporal",), length=1, snippets=16, stride=1).span == 16
    # T=5 snippets tau=10 apart: a 3x3x3 conv orders 3 (2 * 10 + 10 = 30); pooling them, one (10).
    joint = ("spatial", "temporal")
    assert clip_view(joint, snippets=5, stride=10, ordered_snippets=3) == View(True, True, bound=True, span=30)
    assert clip_view(joint, snippets=5, stride=10, ordered_snippets=1).span == 10
    assert clip_view(joint, bound=False) == View(True, True, span=10)


def test_the_shipped_sets_by_hand():
    families = {name: FAMILIES[name] for name in FAMILIES}
    # UCF-like: 5 balls (one motion each), 3 tosses (5 motions), SlideBox, OrbitStar.
    # appearance: one ball of 5 + 3 tosses + box + star = 6/10; motion: 5 balls + box + star = 7/10.
    ucf = cue_table("ucf101")
    assert ceiling(ucf, APPEARANCE) == pytest.approx(0.6) and ceiling(ucf, MOTION) == pytest.approx(0.7)
    assert ceiling(ucf, LATE) == ceiling(ucf, BOUND) == pytest.approx(1.0)
    # HMDB-like: motion: 4 balls + box, and approach/recede come only from tosses (1 of 3, 1/5 each).
    assert ceiling(cue_table("hmdb51"), MOTION) == pytest.approx(5.4 / 8)
    # wherewhen: 4 where classes (apple or lemon moves; bounce or spin) and 4 when classes (two
    # motion pairs, each in either order). One frame: where vs when only: 2/8. Flow: the motion
    # (where) or the pair of motions (when): 4/8. Late fusion: no more, 4/8. Conv fusion: where all,
    # when half: 6/8. A 3D conv over T=5 snippets (span 30 > 14 + 2): 8/8. 16 RGB frames (span 15):
    # where 4 + when 4 * 0.9 = 7.6/8. The flow teacher (span 16): where 2 + when 4 = 6/8.
    cues = cue_table("wherewhen")
    expected = {"spatial (one RGB frame)": 2 / 8, "temporal (L=10 flow stack)": 4 / 8,
                "late fusion (spatial + temporal scores)": 4 / 8,
                "conv fusion at conv5 (T=1, or 2D pooling over T)": 6 / 8,
                "3D conv + 3D pool (T=5, tau=10)": 1.0, "m-fusion at conv5": 6 / 8, "m-fusion at fc7": 4 / 8,
                "S3D-G student, D3D, aux-flow (16 RGB frames)": 7.6 / 8, "D3D teacher (16 flow fields)": 6 / 8,
                "Siamese (one RGB frame per branch)": 2 / 8}
    assert set(expected) == set(families)
    for name, value in expected.items():
        assert ceiling(cues, families[name]) == pytest.approx(value), name
    where = {**cues, "classes": {n: e for n, e in cues["classes"].items() if e["cue_group"] == "where"}}
    assert ceiling(where, FAMILIES["late fusion (spatial + temporal scores)"]) == pytest.approx(0.5)
    assert ceiling(where, FAMILIES["conv fusion at conv5 (T=1, or 2D pooling over T)"]) == pytest.approx(1.0)


def test_the_table_travels_in_dataset_info_and_must_name_its_classes():
    info = {"classes": ["AppleSwings", "LemonSwings"], "cue_table": WHERE}
    assert table_for(info) is WHERE
    assert table_for({**info, "classes": ["AppleSwings"]}) is None  # another class list: not this table
    assert table_for({"classes": ["a"]}) is None  # a real dataset
    # Uneven test counts: labels 0,0,0 (AppleSwings) and 1 (LemonSwings); late fusion guesses the
    # larger class: 3/4.
    assert row_ceiling(WHERE, info["classes"], LATE, [0, 0, 0, 1]) == pytest.approx(0.75)
    assert recall_by_cue(TABLE, {"A": 1.0, "B": 0.5, "T": 0.25}) == {"motion only": 0.75, "appearance only": 0.25}
