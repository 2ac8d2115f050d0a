"""results.d3d_table's paired comparisons over splits, on hand-made evaluations."""
from results.d3d_table import paired_section
from tests.test_fusion_tables import write_scores


def test_distillation_is_compared_with_its_student_on_every_split(tmp_path):
    labels = list(range(10))
    for split, d3d_right in ((1, [1] * 10), (2, [1] * 8 + [0, 0])):
        write_scores(tmp_path / f"s{split}" / f"ucf101_split_{split}",
                     {"student": [1] * 5 + [0] * 5, "d3d_mse": d3d_right, "d3d_kl": [1] * 5 + [0] * 5,
                      "student_continued": [1] * 6 + [0] * 4, "d3d_mse_continued": [1] * 6 + [0] * 4,
                      "aux": [1] * 3 + [0] * 7, "d3d_mse_lambda_0.1": [0] * 10}, labels)
    lines = paired_section(str(tmp_path), [1, 2], [0.1]).splitlines()
    assert len(lines) == 7
    # d3d_mse: right on 18 of 20, the student on 10 of 20, never the other way round.
    assert lines[2].startswith("| D3D: student distilled, MSE on logits vs Student: S3D-G on RGB clips, "
                               "no distillation | a > b | +40.0 [")
    assert lines[2].endswith("| 0.00781 | 20 | holds |")   # 2 * (1/2)^8
    assert "| +0.0 [+0.0, +0.0] | 1 | 20 | unresolved |" in lines[4]
    # against the auxiliary-flow student: right on 12 videos it misses (7 + 5), never the other way round.
    assert lines[5].startswith("| D3D: student distilled, MSE on logits vs Auxiliary-flow student") and "+60.0 [" in lines[5]
    assert lines[5].endswith("| 0.000488 | 20 | holds |")   # 2 * (1/2)^12
    assert lines[6].startswith("| D3D: student distilled, MSE on logits, lambda 0.1 vs") and "-50.0" in lines[6]
