"""The command line as a user meets it: a mistake is one `error:` line and a non-zero exit (the
traceback only with --debug), a misspelt --set key gets the closest keys, and TensorFlow starts
quietly unless --verbose."""
from __future__ import annotations

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENT = "tfx_models/experiments/demo_spatial.py"
NOISE = ("oneDNN", "cuda", "absl::InitializeLog", "cpu_feature_guard")


def train(tmp_path, *args):
    command = [sys.executable, "-m", "tfx_models.train", "--config", EXPERIMENT, "--run_dir", str(tmp_path / "run"),
               *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_a_missing_record_dir_is_one_error_line_without_noise(tmp_path):
    done = train(tmp_path, "--set", "data.records=/nonexistent")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and "/nonexistent/dataset_info.json" in lines[0]
    assert not any(word in done.stderr for word in NOISE)


def test_debug_shows_the_traceback(tmp_path):
    done = train(tmp_path, "--set", "data.records=/nonexistent", "--debug")
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "/nonexistent/dataset_info.json" in done.stderr


def test_a_misspelt_key_suggests_the_closest(tmp_path):
    done = train(tmp_path, "--set", "train.stpes=3")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --set train.stpes: unknown key; did you mean train.steps or train.seed " \
                                  "or train.strategy?"


def test_verbose_shows_tensorflows_start(tmp_path):
    done = train(tmp_path, "--set", "train.stpes=3", "--verbose")
    assert done.returncode == 2
    assert any(word in done.stderr for word in NOISE), done.stderr


def run_module(module: str, *args: str):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_benchmarks_and_results_report_a_mistake_as_tfx_models_does(tmp_path):
    """Their mains go through tfx_models.cli.run too: one `error:` line, status 2, no traceback."""
    cases = {
        "benchmarks.train_benchmark": (["--config", EXPERIMENT, "--set", "train.precision=bfloat16", "--synthetic"],
                                       "error: config train.precision='bfloat16': must be one of"),
        "results.demo_seeds": (["--out", str(tmp_path / "none")], f"error: {tmp_path / 'none'}: no finished demo"),
    }
    for module, (args, start) in cases.items():
        done = run_module(module, *args)
        assert done.returncode == 2, (module, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(start), (module, done.stderr)
