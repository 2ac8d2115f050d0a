"""results.fusion_tables: the conv-fusion paper's tables from late-fusion and per-run evaluations."""
import json
import os

from results.fusion_tables import TABLE_1, TABLE_3, table
from beam_pipelines.synth.classes import classes_of
from tfx_models.evaluation.protocol import AVERAGE_ROW


def write_row(folder, name, row, accuracy, recall_of):
    os.makedirs(folder, exist_ok=True)
    recall = {c: recall_of(cls.stream) for c, cls in classes_of("ucf101")}
    with open(os.path.join(folder, f"{name}.json"), "w") as f:
        json.dump({"row": row, "accuracy": accuracy, "per_class_recall": recall}, f)


def test_table_1_reads_late_rows_and_fused_runs_per_split(tmp_path):
    half = lambda stream: 0.5  # noqa: E731
    motion = lambda stream: 1.0 if stream.startswith("temporal") else 0.0  # noqa: E731
    for split, accuracy in ((1, 0.6), (2, 0.8)):
        late = tmp_path / "eval" / "late" / f"s{split}" / f"ucf101_split_{split}"
        write_row(late, "spatial", "Spatial", 0.5, half)
        write_row(late, "temporal", "Temporal: optical flow stacking, L=10, mean subtraction", accuracy, motion)
        write_row(late, "average", AVERAGE_ROW, 0.9, half)
    write_row(tmp_path / "eval" / "conv_conv5" / "s2" / "ucf101_split_2", "fused", "conv_fusion: conv", 0.7, motion)
    markdown, rows = table(str(tmp_path), TABLE_1, count_parameters=False)
    assert "| Temporal | 60.0% | 80.0% | 70.0% | - | - | 100.0% | 0.0% | 0.0% |" in markdown
    assert "| Late fusion: averaging | 90.0% | 90.0% | 90.0% | - | 85.94% | 50.0% | 50.0% | 50.0% |" in markdown
    assert "| Conv fusion at ReLU5 | - | 70.0% | 70.0% | - | 85.96% |" in markdown
    assert "Sum fusion" not in markdown and "SVM" not in markdown  # rows without scores are left out
    assert rows["Spatial"]["accuracy"] == {"s1": 0.5, "s2": 0.5}
    assert table(str(tmp_path), TABLE_3, count_parameters=False)[1] == {}
