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


def write_scores(folder, rows, labels):
    """video_scores.npz and row JSONs as tfx_models.evaluate writes them: rows = {label: right per video}."""
    import numpy as np
    from tfx_models.evaluation.protocol import slug

    classes = [c for c, _ in classes_of("ucf101")]
    os.makedirs(folder, exist_ok=True)
    scores = {}
    for label, right in rows.items():
        s = np.full((len(labels), len(classes)), 0.01)
        for i, (y, ok) in enumerate(zip(labels, right)):
            s[i, y if ok else (y + 1) % len(classes)] = 0.9
        scores[slug(label)] = s
        with open(os.path.join(folder, f"{slug(label)}.json"), "w") as f:
            json.dump({"row": label, "classes": classes, "accuracy": float(np.mean(right)),
                       "per_class_recall": {c: 0.5 for c in classes}}, f)
    np.savez(os.path.join(folder, "video_scores.npz"), ids=np.asarray([f"v{i}" for i in range(len(labels))]),
             labels=np.asarray(labels), **scores)


def test_paired_comparisons_pool_the_splits_both_rows_have(tmp_path):
    from results.fusion_tables import COMPARISONS, paired_section

    labels = list(range(10))
    for split in (1, 2):
        write_scores(tmp_path / "eval" / "late" / f"s{split}" / f"ucf101_split_{split}",
                     {"Spatial": [1] * 10, AVERAGE_ROW: [1] * 10}, labels)
    # Conv fusion only on split 2, wrong on one video averaging gets right.
    write_scores(tmp_path / "eval" / "conv_conv5" / "s2" / "ucf101_split_2",
                 {"conv_fusion: conv fusion at conv5": [1] * 9 + [0]}, labels)
    title = next(iter(COMPARISONS))
    text = paired_section(str(tmp_path), TABLE_1, COMPARISONS[title])
    lines = text.splitlines()
    assert len(lines) == 3   # header, rule, the one comparison both rows have (no SVM rows)
    assert lines[2].startswith("| Conv fusion at ReLU5 vs Late fusion: averaging | a ~ b | -10.0 [")
    assert "| 10 |" in lines[2]   # split 2's videos only
