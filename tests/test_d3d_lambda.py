"""results.d3d_lambda on hand-written validation files."""
import json

import pytest

from results.d3d_lambda import choose, main


def validated(folder, step, accuracy):
    folder.mkdir()
    curve = [{"step": step - 200, "videos": 420, "accuracy": 0.99, "loss": 0.1},  # not the last step
             {"step": step, "videos": 420, "accuracy": accuracy, "loss": 1.0 - accuracy}]
    (folder / "validation.json").write_text(json.dumps({"curve": curve}))
    return str(folder)


def test_the_best_last_step_wins_and_a_tie_goes_to_the_smaller_weight():
    assert choose({0.1: 0.7, 1.0: 0.8, 10.0: 0.5}) == 1.0
    assert choose({3.0: 0.8, 0.3: 0.8, 10.0: 0.8}) == 0.3


def test_the_choice_is_written_with_every_weight(tmp_path):
    runs = [f"{w}={validated(tmp_path / f'w{w}', 1200, a)}" for w, a in (("0.1", 0.75), ("1", 0.6), ("10", 0.3))]
    out = tmp_path / "lambda.json"
    assert main([arg for r in runs for arg in ("--run", r)] + ["--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["weight"] == 0.1 and result["step"] == 1200 and result["videos"] == 420
    assert result["held_out"]["10"] == {"accuracy": 0.3, "loss": 0.7}


def test_unequal_runs_and_unvalidated_runs_are_refused(tmp_path):
    a, b = validated(tmp_path / "a", 1200, 0.5), validated(tmp_path / "b", 600, 0.6)
    with pytest.raises(ValueError, match=r"different last steps \[600, 1200\]"):
        main(["--run", f"0.1={a}", "--run", f"1={b}", "--out", str(tmp_path / "x.json")])
    with pytest.raises(FileNotFoundError, match="nothing/validation.json: not validated"):
        main(["--run", f"0.1={tmp_path / 'nothing'}", "--out", str(tmp_path / "x.json")])
