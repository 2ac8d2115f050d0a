"""results.recall_by_cue: groups per-class recall by the synthetic class table's cue."""
import json

import pytest

from results.recall_by_cue import markdown, recall_by_cue


def write_result(folder, row, recall):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{row.lower()}.json", "w") as f:
        json.dump({"row": row, "per_class_recall": recall}, f)


def test_groups_recall_by_cue_and_means_over_splits(tmp_path):
    motion = {"SwingBall": 1.0, "BounceBall": 0.5, "SpinBall": 0.0, "ApproachBall": 0.5, "RecedeBall": 0.5}
    appearance = {"TossApple": 0.0, "TossLemon": 0.0, "TossPlum": 0.3}
    both = {"SlideBox": 1.0, "OrbitStar": 0.0}
    write_result(tmp_path / "ucf101_split_1", "Temporal", {**motion, **appearance, **both})
    write_result(tmp_path / "ucf101_split_2", "Temporal",
                 {**{k: 0.0 for k in motion}, **{k: 0.6 for k in appearance}, **{k: 0.5 for k in both}})
    table = recall_by_cue(str(tmp_path), "ucf101")
    assert table["Temporal"] == pytest.approx({"motion only": 0.25, "appearance only": 0.35, "both": 0.5})
    assert "| Temporal | 25.0% | 35.0% | 50.0% |" in markdown(table)


def test_unknown_class_and_empty_folder_are_named(tmp_path):
    with pytest.raises(ValueError, match="no ucf101_split"):
        recall_by_cue(str(tmp_path), "ucf101")
    write_result(tmp_path / "ucf101_split_1", "Spatial", {"Basketball": 1.0})
    with pytest.raises(ValueError, match="Basketball"):
        recall_by_cue(str(tmp_path), "ucf101")
