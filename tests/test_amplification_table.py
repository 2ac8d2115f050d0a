"""results.amplification_table: late combinations, the poster-shaped tables and recall by cue."""
import numpy as np

from results.amplification_table import COMBINATIONS, RUNS, summarise, tables
from beam_pipelines.synth.classes import classes_of


def test_tables_put_our_rows_beside_the_posters_and_group_recall_by_cue():
    classes = [name for name, _ in classes_of("ucf101")]
    labels = np.arange(len(classes)).repeat(2)
    right = np.eye(len(classes))[labels]
    wrong = np.eye(len(classes))[(labels + 1) % len(classes)]
    scores = {RUNS[name]: right if name != "spatial" else wrong
              for name in ("spatial", "temporal", "amplified_flow", "m_fusion_conv5", "m_fusion_fc7")}
    scores["S+T"] = np.mean([scores[RUNS[p]] for p in COMBINATIONS["S+T"]], axis=0)
    rows = summarise({"dataset": "ucf101", "classes": classes, "labels": labels, "scores": scores})
    assert rows["S"]["accuracy"] == 0.0 and rows["S amp (flow gate)"]["accuracy"] == 1.0
    assert rows["T"]["recall_by_cue"] == {"motion only": 1.0, "appearance only": 1.0, "both": 1.0}
    text = tables("ucf101", rows)
    assert "| S | 0.0 | 100.0 | – | 78.8 | 81.0 |" in text  # ours base/amp, then the poster's
    assert "| M-fuse fc7 | 100.0 | 87.6 |" in text
    assert "| S | 0.0% | 0.0% | 0.0% |" in text
    assert "S(amp)+T+M-fuse conv5" not in text  # rows without their runs are left out


def test_the_posters_comparisons_are_paired_on_the_test_videos():
    import numpy as np
    from results.amplification_table import paired_comparisons

    labels = np.arange(10) % 3
    def scores(right):  # noqa: E306
        s = np.full((10, 3), 0.1)
        s[np.arange(10), np.where(right, labels, (labels + 1) % 3)] = 0.8
        return s
    scored = {"labels": labels, "scores": {"S": scores([1] * 4 + [0] * 6), "S amp (flow gate)": scores([1] * 7 + [0] * 3),
                                           "S+T": scores([1] * 10)}}
    lines = paired_comparisons(scored).splitlines()
    assert len(lines) == 3   # only the comparison whose two rows were scored
    assert lines[2].startswith("| S amp (flow gate) vs S | a > b | +30.0 [") and lines[2].endswith("| 0.25 | 10 | unresolved |")


def test_combinations_are_saved_as_rows_the_paired_comparisons_read(tmp_path):
    from results.paired_rows import row_outcomes, save_rows

    split_dir = tmp_path / "ucf101_split_1"
    split_dir.mkdir()
    labels = np.array([0, 1, 2])
    np.savez(split_dir / "video_scores.npz", ids=np.array(["a", "b", "c"]), labels=labels, s=np.eye(3))
    combined = np.array([[0.9, 0.1, 0.0], [0.9, 0.1, 0.0], [0.0, 0.0, 1.0]])  # right on a and c only
    save_rows(str(split_dir), {"S+T": combined}, ["x", "y", "z"])
    outcomes, dataset = row_outcomes(str(split_dir), "S+T")
    assert dataset == "ucf101"
    assert outcomes == {"a": (True, "x"), "b": (False, "y"), "c": (True, "z")}
    assert set(np.load(split_dir / "video_scores.npz").files) >= {"ids", "labels", "s"}  # the evaluated rows kept
