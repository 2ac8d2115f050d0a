"""D3D's claims over several seeds: each seed decided by the findings rules, the claim over the
seeds only when every seed agrees."""
import numpy as np

from results.d3d_seeds import decide, markdown, seed_outcomes
from tests.test_fusion_tables import write_scores

D3D = "d3d_mse_lambda_0.3"


def seed(d3d, student, aux, fusion):
    return {D3D: np.array(d3d, bool), "student": np.array(student, bool), "aux": np.array(aux, bool),
            "fusion_student": np.array(fusion, bool)}


def test_a_claim_holds_over_seeds_only_when_every_seed_holds_it():
    right, half, none = [1] * 100, [1] * 50 + [0] * 50, [0] * 100
    per_seed = {1: seed(right, half, half, right),   # D3D beats student and aux by 50 videos, ties fusion
                2: seed(right, half, right, right)}  # ... and ties aux on seed 2
    found = {r["b"]: r for r in decide(per_seed, D3D, classes=10)}
    student, aux, fusion = found["S3D-G (the student)"], found["aux-flow student"], found["S3D-G two-stream"]
    assert [r["verdict"] for r in student["per_seed"].values()] == ["holds", "holds"]
    # Half the videos +1, half 0 on both seeds: the mean is 0.5, its interval about +-0.1 (videos only).
    assert student["verdict"] == "holds" and student["difference"] == 0.5
    assert 0.38 < student["low"] < 0.45 and 0.55 < student["high"] < 0.62
    assert [r["verdict"] for r in aux["per_seed"].values()] == ["holds", "unresolved"]
    assert aux["verdict"] == "unresolved"
    # Over seeds the aux difference is +0.5 on one seed and 0 on the other: a quarter of the resamples
    # draw seed 2 twice (exactly 0), so the interval reaches 0; its top is seed 1's +0.5 and its noise.
    assert aux["difference"] == 0.25 and aux["low"] == 0.0 and 0.5 < aux["high"] < 0.62
    assert fusion["claim"] == "a >= b" and fusion["verdict"] == "holds"
    # Both nets at chance on every seed: unresolved, whatever the gap.
    guess = {1: seed([1] * 10 + [0] * 90, none, none, none)}
    assert {r["verdict"] for r in decide(guess, D3D, classes=10)} == {"unresolved"}
    text = markdown(per_seed, decide(per_seed, D3D, classes=10), D3D, 0.3)
    assert "| D3D, lambda 0.3 | 100.0% | 100.0% | 100.0% | 0.0 |" in text
    assert "| aux-flow student | 50.0% | 100.0% | 75.0% | 50.0 |" in text


def test_a_seeds_outcomes_are_read_per_video_in_the_order_of_the_ids(tmp_path):
    # 12 videos, ids v0..v11: sorted as text, v10 and v11 come after v1.
    labels = [i % 10 for i in range(12)]
    d3d = [1] * 10 + [0, 1]
    write_scores(tmp_path / "ucf101_split_1", {D3D: d3d, "teacher": [0] * 12}, labels)
    found, classes = seed_outcomes(str(tmp_path), [D3D, "teacher"])
    assert classes == 10
    by_id = dict(zip([f"v{i}" for i in range(12)], d3d))
    assert found[D3D].tolist() == [bool(by_id[i]) for i in sorted(by_id)]
    assert found[D3D].tolist()[:4] == [True, True, False, True] and not found["teacher"].any()
