"""results.pretrain_table: Table 1a's rows from per-run evaluations, the paper's figures beside."""
import json
import os

import pytest

from results.pretrain_table import main, table

SCRATCH_RECALL = {"SwingBall": 0.2, "BounceBall": 0.2, "SpinBall": 0.4, "ApproachBall": 0.0, "RecedeBall": 0.2,
                  "TossApple": 1.0, "TossLemon": 0.5, "TossPlum": 0.0, "SlideBox": 1.0, "OrbitStar": 0.5}


def write_row(eval_dir, run, dataset, accuracy, recall):
    folder = os.path.join(eval_dir, run, f"{dataset}_split_1")
    os.makedirs(folder)
    with open(os.path.join(folder, "spatial.json"), "w") as f:
        json.dump({"row": "Spatial", "accuracy": accuracy, "per_class_recall": recall}, f)


def test_rows_carry_the_papers_figures_and_recall_by_cue(tmp_path, capsys):
    write_row(tmp_path, "scratch_d0.5", "ucf101", 0.40, SCRATCH_RECALL)
    write_row(tmp_path, "last_layer_d0.9", "ucf101", 0.625, {name: 0.625 for name in SCRATCH_RECALL})
    write_row(tmp_path, "pretrain", "pretrain", 0.9, {"p000_disc_sectors": 1.0, "p001_star_checker": 0.8,
                                                      "p002_square_sectors": 0.9})
    main(["--eval", str(tmp_path)])
    markdown = capsys.readouterr().out
    # motion only (5 *Ball classes): 1.0 / 5; appearance only (3 Toss*): 1.5 / 3; both: 1.5 / 2
    assert "| From scratch | 0.5 | 40.0% | 42.5% | 20.0% | 50.0% | 75.0% |" in markdown
    assert "| Pre-trained + last layer | 0.9 | 62.5% | 59.9% | 62.5% | 62.5% | 62.5% |" in markdown
    assert "fine-tuning" not in markdown and "| 0.9 | 52.3%" not in markdown  # rows not evaluated are left out
    assert "Pre-training task: 3 appearance classes, 90.0% of its held-out clips" in markdown
    with open(os.path.join(tmp_path, "table.json")) as f:
        rows = json.load(f)
    assert rows["scratch_d0.5"]["paper"] == 42.5 and rows["last_layer_d0.9"]["accuracy"] == 0.625
    assert rows["pretrain"] == {"accuracy": 0.9, "classes": 3}


def test_an_eval_folder_without_table_rows_is_refused(tmp_path):
    write_row(tmp_path, "pretrain", "pretrain", 0.9, {"p000_disc_sectors": 0.9})
    with pytest.raises(ValueError, match="no <setting>_d<dropout> evaluations"):
        table(str(tmp_path))
