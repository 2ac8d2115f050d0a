"""The findings table on hand-made evaluations: rows aligned by video id, cue groups, counts."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from results.findings_table import NOT_MEASURED, Finding, Row, markdown, measure

CLASSES = ["ApproachBall", "BounceBall", "OrbitStar", "RecedeBall", "SlideBox", "SpinBall", "SwingBall",
           "TossApple", "TossLemon", "TossPlum"]
# Ten videos: five of ball classes (motion only), five of toss classes (appearance only).
LABELS = [0, 1, 3, 5, 6, 7, 8, 9, 7, 8]
IDS = [f"v{i}" for i in range(10)]


def _write_eval(root, split_dir, label, right, order):
    """One row's video_scores.npz and row JSON; `right` per video of IDS, stored in `order`."""
    path = os.path.join(root, split_dir)
    os.makedirs(path, exist_ok=True)
    scores = np.full((10, 10), 0.01, np.float32)
    for i, video in enumerate(order):
        truth = LABELS[video]
        scores[i, truth if right[video] else (truth + 1) % 10] = 0.9
    key = label.lower().replace(" ", "_")
    np.savez(os.path.join(path, "video_scores.npz"), ids=np.asarray([IDS[v] for v in order]),
             labels=np.asarray([LABELS[v] for v in order]), **{key: scores})
    with open(os.path.join(path, key + ".json"), "w") as f:
        json.dump({"row": label, "classes": CLASSES, "ceiling": 0.6,
                   "ceiling_by_cue": {"motion only": 0.2, "appearance only": 1.0}}, f)


@pytest.fixture()
def root(tmp_path):
    a_right = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]   # 8 of 10
    b_right = [1, 1, 1, 1, 0, 0, 0, 0, 1, 0]   # 5 of 10: only a on v4..v7, only b on v8
    _write_eval(tmp_path, "one/ucf101_split_1", "Model A", a_right, list(range(10)))
    _write_eval(tmp_path, "two/ucf101_split_1", "Model B", b_right, [9, 3, 0, 5, 1, 8, 2, 7, 4, 6])
    return str(tmp_path)


A = Row("one/ucf101_split_1", "Model A", "A")
B = Row("two/ucf101_split_1", "Model B", "B")


def test_two_evaluations_compare_video_for_video(root):
    result = measure(root, Finding("paper", "A beats B", "a > b", A, B, "cmd"))
    assert (result["videos"], result["only_a"], result["only_b"]) == (10, 4, 1)
    assert result["accuracy_a"] == pytest.approx(0.8) and result["accuracy_b"] == pytest.approx(0.5)
    assert result["difference"] == pytest.approx(0.3)
    assert result["mcnemar_p"] == pytest.approx(12 / 32)   # 2 * (C(5,0) + C(5,1)) / 2^5
    assert result["verdict"] == "unresolved"


def test_a_one_run_evaluation_names_its_own_row(root):
    unnamed = Finding("paper", "A beats B", "a > b", Row(A.split_dir, "", "A"), Row(B.split_dir, "", "B"), "cmd")
    assert measure(root, unnamed) == measure(root, Finding("paper", "A beats B", "a > b", A, B, "cmd"))
    with open(os.path.join(root, "two/ucf101_split_1/model_c.json"), "w") as f:
        json.dump({"row": "Model C", "classes": CLASSES}, f)   # now two rows: the label must be named
    with pytest.raises(ValueError, match="not the evaluation of a single run"):
        measure(root, unnamed)


def test_each_row_shows_its_ceiling_beside_its_accuracy(root):
    path = os.path.join(root, "two/ucf101_split_1/model_b.json")
    with open(path) as f:
        info = json.load(f)
    with open(path, "w") as f:
        json.dump({key: value for key, value in info.items() if key != "ceiling"}, f)  # e.g. a late combination
    text, _ = markdown(root, [Finding("paper", "A beats B", "a > b", A, B, "cmd"),
                              Finding("paper", "on balls", "a > b", A, B, "cmd", cue="motion only")])
    lines = text.splitlines()
    assert "| 60.0% / - |" in lines[2]
    assert "| B 80.0% | 20.0% / 20.0% |" in lines[3]   # a cue group's ceiling, not the split's


def test_the_evaluations_own_cue_groups_decide_which_videos_count(root):
    """Records of another class table (the "wherewhen" set ingested under the UCF-101 layout's name)
    carry their groups in the row JSON; those, not the embedded UCF-like table, pick the videos."""
    path = os.path.join(root, "one/ucf101_split_1/model_a.json")
    with open(path) as f:
        info = json.load(f)
    info["cue_groups"] = {name: "where" if name.startswith("Toss") else "when" for name in CLASSES}
    with open(path, "w") as f:
        json.dump(info, f)
    result = measure(root, Finding("paper", "A beats B", "a > b", A, B, "cmd", cue="where"))
    # v5..v9 are toss videos, here "where": a right on v5..v7, b on v8.
    assert (result["videos"], result["only_a"], result["only_b"]) == (5, 3, 1)
    with pytest.raises(ValueError, match="no test video of a 'motion only' class"):
        measure(root, Finding("paper", "A beats B", "a > b", A, B, "cmd", cue="motion only"))


def test_a_cue_group_keeps_only_its_classes(root):
    result = measure(root, Finding("paper", "A beats B", "a > b", A, B, "cmd", cue="motion only"))
    # v0..v4 are ball videos: a right on all 5, b on v0..v3.
    assert (result["videos"], result["only_a"], result["only_b"]) == (5, 1, 0)
    assert result["difference"] == pytest.approx(0.2)


def test_missing_evaluations_are_listed_as_not_measured(root):
    text, data = markdown(root, [Finding("paper", "later", "a > b", A, Row("nowhere", "X", "X"), "cmd"),
                                 Finding("paper", "A beats B", "a > b", A, B, "cmd")])
    lines = text.splitlines()
    assert len(lines) == 4 and NOT_MEASURED in lines[2] and data[0]["result"] is None
    assert "A 80.0%" in lines[3] and "+30.0 [" in lines[3] and "| 10 |" in lines[3]


def test_different_test_videos_are_refused(root, tmp_path):
    _write_eval(root, "three/ucf101_split_1", "Model C", [1] * 10, list(range(10)))
    scores = dict(np.load(os.path.join(root, "three/ucf101_split_1/video_scores.npz")))
    scores["ids"] = np.asarray([f"w{i}" for i in range(10)])
    np.savez(os.path.join(root, "three/ucf101_split_1/video_scores.npz"), **scores)
    with pytest.raises(ValueError, match="different test videos"):
        measure(root, Finding("paper", "x", "a > b", A, Row("three/ucf101_split_1", "Model C", "C"), "cmd"))


def test_paired_rows_prints_the_comparison_of_any_two_rows(root, capsys):
    from results.paired_rows import main
    main(["--a", os.path.join(root, A.split_dir), "Model A", "--b", os.path.join(root, B.split_dir), "Model B",
          "--claim", "a > b"])
    printed = json.loads(capsys.readouterr().out)
    assert (printed["only_a"], printed["only_b"], printed["verdict"]) == (4, 1, "unresolved")


def test_d3d_rows_follow_the_lambda_chosen_on_held_out_groups(tmp_path):
    from results.findings import d3d_at_validated_lambda

    assert d3d_at_validated_lambda(str(tmp_path)) == []  # not chosen yet: no rows
    (tmp_path / "d3d").mkdir()
    for weight, label in ((0.1, "d3d_mse_lambda_0.1"), (1.0, "d3d_mse"), (10.0, "d3d_mse_lambda_10")):
        (tmp_path / "d3d" / "lambda.json").write_text(json.dumps({"weight": weight}))
        rows = d3d_at_validated_lambda(str(tmp_path))
        assert [f.b.label for f in rows] == ["student", "aux", "fusion_student"]
        assert {f.a.label for f in rows} == {label}
        assert all(f"lambda {weight:g}, chosen on held-out" in f.finding for f in rows)


def test_the_stronger_teacher_rows_take_the_weight_that_table_ran_d3d_at(tmp_path):
    from results.findings import d3d_with_the_stronger_teacher

    assert d3d_with_the_stronger_teacher(str(tmp_path)) == []  # not run yet: no rows
    (tmp_path / "d3d_teacher4800").mkdir()
    table = tmp_path / "d3d_teacher4800" / "d3d_table.json"
    table.write_text(json.dumps({"mse_weights": []}))  # an older table, at lambda 1 only: no rows
    assert d3d_with_the_stronger_teacher(str(tmp_path)) == []
    table.write_text(json.dumps({"mse_weights": [0.3]}))
    rows = d3d_with_the_stronger_teacher(str(tmp_path))
    assert [f.b.label for f in rows] == ["student", "aux", "fusion_student"]
    assert {(f.a.split_dir, f.a.label) for f in rows} == {("d3d_teacher4800/eval/s1/ucf101_split_1",
                                                          "d3d_mse_lambda_0.3")}
    assert all("lambda 0.3, teacher trained 4800 steps" in f.finding for f in rows)
