"""results.siamese_table's paired comparison on the unseen view, on hand-made evaluations."""
from results.siamese_table import paired_section
from tests.test_fusion_tables import write_scores


def test_the_siamese_net_is_compared_with_softmax_on_the_same_view_1_videos(tmp_path):
    labels = list(range(10)) * 2
    write_scores(tmp_path / "eval" / "siamese" / "view1" / "multiview_view1", {"s3d: siamese": [1] * 20}, labels)
    write_scores(tmp_path / "eval" / "view0_softmax" / "view1" / "multiview_view1", {"Spatial": [1] * 12 + [0] * 8},
                 labels)
    lines = paired_section(str(tmp_path), ["view0_softmax", "siamese"]).splitlines()
    assert len(lines) == 3
    assert lines[2].startswith("| Siamese: softmax on view-0 labels + contrastive on pairs vs Softmax, labels on view 0 "
                               "| a > b | +40.0 [")
    assert lines[2].endswith("| 0.00781 | 20 | holds |")   # 8 videos against 0: 2 / 2^8
    assert paired_section(str(tmp_path), ["view0_softmax"]) == ""
