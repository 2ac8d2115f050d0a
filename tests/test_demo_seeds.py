"""The demo-seeds table from hand-made demo outputs: means, ceilings, shares and client counts."""
import json
import os

from results.demo_seeds import main


def _seed(root, seed, spatial, averaging, seconds, counts):
    path = os.path.join(root, f"seed{seed}")
    os.makedirs(os.path.join(path, "eval"))
    rows = {"Spatial": {"mean_accuracy": spatial, "mean_ceiling": 0.6, "mean_share_of_ceiling": spatial / 0.6},
            "Two-stream: fusion by averaging": {"mean_accuracy": averaging, "mean_ceiling": 1.0,
                                                "mean_share_of_ceiling": averaging}}
    with open(os.path.join(path, "eval", "results.json"), "w") as f:
        json.dump({"splits": ["ucf101 split 1"], "rows": rows}, f)
    with open(os.path.join(path, "seconds"), "w") as f:
        f.write(str(seconds))
    with open(os.path.join(path, "demo.log"), "w") as f:
        f.write("two_stream:\n  SwingBall -> SwingBall 0.90\n"
                + "".join(f"  {c} of 10 held-out videos (one per class) classified correctly\n" for c in counts))


def test_the_table_averages_the_seeds_and_counts_the_client(tmp_path, capsys):
    _seed(tmp_path, 0, 0.45, 0.75, 372, (6, 5))
    _seed(tmp_path, 1, 0.57, 0.85, 401, (8, 7))
    os.makedirs(tmp_path / "seed2")   # unfinished: no `seconds`, left out
    main(["--out", str(tmp_path)])
    lines = (tmp_path / "demo_seeds.md").read_text().splitlines()
    assert lines[0] == "| row | seed 0 | seed 1 | mean | ceiling | mean share |"
    assert lines[2] == "| Spatial | 45.0% | 57.0% | 51.0% | 60.0% | 85.0% |"
    assert lines[3] == "| Two-stream: fusion by averaging | 75.0% | 85.0% | 80.0% | 100.0% | 80.0% |"
    assert lines[4] == "| wall time | 372 s | 401 s | | | |"
    assert lines[5:] == ["| gRPC client, two-stream | 6 of 10 | 8 of 10 | | | |",
                         "| gRPC client, conv fusion | 5 of 10 | 7 of 10 | | | |"]
