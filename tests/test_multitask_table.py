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


def test_adding_the_larger_set_is_compared_paired_with_the_small_set_alone(tmp_path):
    from results.multitask_table import paired_section
    from tests.test_fusion_tables import write_scores

    labels = list(range(10))
    for split in (1, 2):
        for run, right in (("hmdb_only", [1] * 5 + [0] * 5), ("multitask", [1] * 7 + [0] * 3)):
            write_scores(tmp_path / "hmdb51" / run / f"s{split}" / f"hmdb51_split_{split}", {f"row {run}": right}, labels)
    lines = paired_section(str(tmp_path), ["s1", "s2"]).splitlines()
    assert len(lines) == 3   # the fine-tuned, +classes and UCF-like rows were not evaluated
    assert lines[2].startswith("| Multi-task (UCF-like + HMDB-like), HMDB-like head vs HMDB-like alone | a > b | +20.0 [")
    # 4 videos only multi-task gets right, none the other way: p = 2 / 2^4, so unresolved although the
    # bootstrap interval is clear of zero.
    assert lines[2].endswith("| 0.125 | 20 | unresolved |")
