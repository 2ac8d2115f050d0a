"""results.multitask_table: Table 2's rows from per-run, per-split evaluations."""
import json
import os

import pytest

from results.multitask_table import table
from beam_pipelines.synth.classes import classes_of


def write_row(eval_dir, dataset, run, split, accuracy, recall_of):
    folder = os.path.join(eval_dir, dataset, run, f"s{split}", f"{dataset}_split_{split}")
    os.makedirs(folder)
    recall = {name: recall_of(cls.stream) for name, cls in classes_of(dataset)}
    with open(os.path.join(folder, "temporal.json"), "w") as f:
        json.dump({"row": "Temporal", "accuracy": accuracy, "per_class_recall": recall}, f)


def test_rows_average_the_splits_and_group_recall_by_cue(tmp_path):
    motion = lambda stream: 1.0 if stream.startswith("temporal") else 0.0  # noqa: E731
    write_row(tmp_path, "hmdb51", "hmdb_only", 1, 0.50, motion)
    write_row(tmp_path, "hmdb51", "hmdb_only", 2, 0.25, lambda stream: 0.5)
    write_row(tmp_path, "ucf101", "multitask", 1, 0.75, motion)
    markdown, rows = table(str(tmp_path))
    # (1.0 + 0.5) / 2 on the motion-only classes, (0 + 0.5) / 2 on the others
    assert "| hmdb51 | HMDB-like alone | 50.0% | 25.0% | 37.5% | 46.6% | 75.0% | 25.0% | 25.0% |" in markdown
    assert "| ucf101 | Multi-task, UCF-like head | 75.0% | - | 75.0% | - | 100.0% | 0.0% | 0.0% |" in markdown
    assert "fine-tuned" not in markdown  # rows without evaluations are left out
    assert rows["hmdb51/hmdb_only"]["accuracy"] == {"s1": 0.5, "s2": 0.25}


def test_an_evaluation_with_two_rows_is_refused(tmp_path):
    write_row(tmp_path, "hmdb51", "hmdb_only", 1, 0.5, lambda stream: 0.5)
    folder = os.path.join(tmp_path, "hmdb51", "hmdb_only", "s1", "hmdb51_split_1")
    with open(os.path.join(folder, "other.json"), "w") as f:
        json.dump({"row": "Other", "accuracy": 0.1, "per_class_recall": {}}, f)
    with pytest.raises(ValueError, match="expected one evaluated row, found 2"):
        table(str(tmp_path))
