"""The demo's closing lines against hand-made recorded runs: ranges, rows outside them, same-seed identity."""
import json

from results.demo_compare import compare, main

RECORDED = {"machine": "Test CPU, 2 cores", "command": "results/demo_seeds.sh",
            "seeds": {"0": {"rows": {"Spatial": 0.55, "Two-stream: fusion by averaging": 0.96},
                            "client": {"two_stream": [10, 10]}, "seconds": 500},
                      "1": {"rows": {"Spatial": 0.58, "Two-stream: fusion by averaging": 1.0},
                            "client": {"two_stream": [9, 10]}, "seconds": 510}}}


def run(spatial, averaging, right):
    return {"rows": {"Spatial": spatial, "Two-stream: fusion by averaging": averaging},
            "client": {"two_stream": [right, 10]}}


def test_a_run_inside_the_range_says_so_and_matches_its_recorded_seed():
    lines = compare(run(0.55, 0.96, 10), 0, RECORDED)
    assert lines[0] == "This run (seed 0) against the recorded runs (seeds 0, 1 on Test CPU, 2 cores; results/demo_seeds.sh):"
    assert "55.0% to 58.0%" in lines[2] and "96.0% to 100.0%" in lines[3] and "9 of 10 to 10 of 10" in lines[4]
    assert lines[-2:] == ["  Every row falls inside the recorded range.", "  Every row equals seed 0's recorded run."]


def test_rows_outside_the_range_are_named_and_a_differing_seed_lists_them():
    lines = compare(run(0.5, 0.97, 8), 1, RECORDED)
    assert lines[-2] == "  Outside the recorded range: Spatial, gRPC client, two_stream."
    assert lines[-1].startswith("  Seed 1's recorded run differs on Spatial (50.0% against 58.0%); "
                                "Two-stream: fusion by averaging (97.0% against 100.0%); "
                                "gRPC client, two_stream (8 of 10 against 9 of 10).")


def test_an_unrecorded_seed_or_row_is_not_passed_off_as_inside():
    fresh = run(0.56, 0.98, 10)
    fresh["rows"]["Temporal"] = 0.6
    lines = compare(fresh, 7, RECORDED)
    assert any(line.strip().startswith("Temporal") and line.endswith("(not recorded)") for line in lines)
    assert lines[-1] == "  Outside the recorded range: Temporal."   # and no same-seed line for seed 7


def test_the_command_reads_the_demos_outputs(tmp_path, capsys):
    (tmp_path / "eval").mkdir()
    rows = {label: {"mean_accuracy": value} for label, value in run(0.57, 0.99, 9)["rows"].items()}
    (tmp_path / "eval" / "results.json").write_text(json.dumps({"rows": rows}))
    (tmp_path / "client.json").write_text(json.dumps({"two_stream": [9, 10]}))
    recorded = tmp_path / "recorded.json"
    recorded.write_text(json.dumps(RECORDED))
    assert main(["--out", str(tmp_path), "--seed", "0", "--recorded", str(recorded)]) == 0
    out = capsys.readouterr().out
    assert "Every row falls inside the recorded range." in out
    assert "Seed 0's recorded run differs on Spatial (57.0% against 55.0%)" in out
