"""results.flow_probe_table on hand-written probe reports."""
import json

import pytest

from results.flow_probe_table import main

PROBE = {"layer": "mixed_3b", "backbone": "frozen", "design": "conv", "steps": 300, "grid": [4, 8, 8],
         "train_clips": 240, "test_clips": 120, "epe_stored": 0.2, "epe_stored_zero_flow": 0.25,
         "epe_true": 0.3, "epe_true_zero_flow": 0.4}


def write(folder, report):
    folder.mkdir()
    (folder / "probe.json").write_text(json.dumps(report))
    return str(folder)


def test_rows_in_order_with_the_gain_over_zero_flow(tmp_path, capsys):
    one = write(tmp_path / "one", PROBE)
    no_truth = {k: v for k, v in PROBE.items() if not k.startswith("epe_true")}
    two = write(tmp_path / "two", {**no_truth, "backbone": "fine-tuned", "epe_stored": 0.3, "pan": "remove"})
    assert main(["--probe", f"student={one}", "--probe", f"D3D={two}", "--out", str(tmp_path / "t.md")]) == 0
    lines = (tmp_path / "t.md").read_text().splitlines()
    assert lines[2] == ("| mixed_3b (4 x 8 x 8) | frozen | conv, 300 | keep | student | 240 / 120 | 0.2000 | 0.2500 "
                        "| 0.3000 | 0.4000 | +25.0% |")  # 1 - 0.3 / 0.4
    assert lines[3].startswith("| mixed_3b (4 x 8 x 8) | fine-tuned | conv, 300 | remove | D3D |")
    assert lines[3].endswith("| 0.3000 | 0.2500 | - | - | - |")
    assert capsys.readouterr().out.splitlines() == lines


def test_a_missing_probe_and_a_bad_argument_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere/probe.json: no probe here"):
        main(["--probe", f"x={tmp_path / 'nowhere'}"])
    with pytest.raises(SystemExit):
        main(["--probe", "no-equals-sign"])
