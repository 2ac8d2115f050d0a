"""The train CLI: --help, config errors, and resuming after SIGKILL from the last complete checkpoint."""
import os
import subprocess
import sys

from tests.test_train_support import QUIET_ENV, REPO, kill_after_checkpoint, python, write_records
from tfx_models import runs
from tfx_models.runs import checkpoints as checkpointing

DEMO = "tfx_models/experiments/demo_spatial.py"


def test_help_and_config_errors(tmp_path):
    result = python(["-m", "tfx_models.train", "--help"])
    assert result.returncode == 0 and "--run_dir" in result.stdout and "--set" in result.stdout
    result = python(["-m", "tfx_models.train", "--config", DEMO, "--set", "train.batch_size=big",
                     "--run_dir", str(tmp_path / "run")])
    assert result.returncode == 2 and "train.batch_size='big': expected int" in result.stderr
    result = python(["-m", "tfx_models.train", "--config", "tfx_models/experiments/nope.py",
                     "--run_dir", str(tmp_path / "run")])
    assert result.returncode == 2 and "nope.py: no such experiment file" in result.stderr


def test_resume_after_sigkill(tmp_path):
    records = write_records(str(tmp_path / "records"), "tiny", ["a", "b", "c"])
    run_dir = str(tmp_path / "run")
    command = [sys.executable, "-m", "tfx_models.train", "--config", DEMO, "--run_dir", run_dir,
               "--set", f"data.records={records}", "--set", "data.crop_size=32", "--set", "model.width=0.125",
               "--set", "train.steps=60", "--set", "train.batch_size=4", "--set", "train.checkpoint_every=5",
               "--set", "train.log_every=5"]
    env = {**os.environ, **QUIET_ENV}
    ckpt_dir = runs.checkpoint_dir(run_dir)
    kill_after_checkpoint(command, ckpt_dir, 5, timeout=120)
    survivor = checkpointing.latest_valid_checkpoint(ckpt_dir)
    killed_at = int(survivor.rsplit("-", 1)[-1])
    assert 5 <= killed_at < 60
    assert runs.trained_to(run_dir, killed_at) and not runs.trained_to(run_dir, 60)

    second = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"resumed from {survivor} at step {killed_at}" in second.stdout
    assert f"step {killed_at + 5}/60" in second.stdout and f"step {killed_at}/60" not in second.stdout
    assert "done: step 60" in second.stdout
    assert checkpointing.latest_valid_checkpoint(ckpt_dir).endswith("ckpt-60")
    assert runs.trained_to(run_dir, 60)
