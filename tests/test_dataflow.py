"""The Beam jobs on Dataflow up to the submission: scripts/dataflow.sh --dry_run builds each job
with the DataflowRunner (--dry_run=True --no_auth) against gs:// paths on a GCS emulator, and
Beam's own staging (Stager.create_job_resources, which the runner calls with the same flags)
builds the project's package. What needs a cloud account (submitting, the workers running the
container) is not tested here: docs/runners.md."""
from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
import uuid

import pytest

from beam_pipelines.local_processes import REPO
from tests.gcs_emulator import emulator  # noqa: F401 (a fixture)
from tests.test_serving_fixtures import preprocessing, stream_model, write_test_video
from tfx_models.export.saved_model import export_model

IMAGE = "europe-west4-docker.pkg.dev/twostream-test/twostream/worker:2.77.0"
SCRIPT = os.path.join(REPO, "scripts", "dataflow.sh")


@pytest.fixture(scope="module")
def bucket(emulator, tmp_path_factory):
    """A bucket holding a two-class UCF-101 layout of two videos and one ingest's records."""
    root = tmp_path_factory.mktemp("ucf")
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 Jump\r\n2 Run\r\n")
    for split in (1, 2, 3):
        (lists / f"trainlist{split:02d}.txt").write_text("Jump/v_Jump_g01_c01.avi 1\r\n")
        (lists / f"testlist{split:02d}.txt").write_text("Run/v_Run_g02_c01.avi\r\n")
    for name in ("Jump/v_Jump_g01_c01.avi", "Run/v_Run_g02_c01.avi"):
        (root / "UCF-101" / name).parent.mkdir(parents=True, exist_ok=True)
        write_test_video(root / "UCF-101" / name, seed=len(name))
    url = emulator.make_bucket(f"df{uuid.uuid4().hex[:10]}")
    emulator.upload_tree(str(root), f"{url}/ucf101")
    return url


def dataflow(bucket: str, *job: str) -> dict:
    """The script's dry run; returns the report the job prints."""
    result = subprocess.run(
        [SCRIPT, "--project", "twostream-test", "--region", "europe-west4", "--bucket", bucket, "--image", IMAGE,
         "--workers", "8", "--machine_type", "n2-standard-4", "--dry_run", "--", *job],
        capture_output=True, text=True, timeout=600, cwd=REPO,
        env={**os.environ, "PY": os.path.join(REPO, ".venv", "bin", "python")})
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout[result.stdout.index("{\n"):])
    assert report["dry_run"] is True and report["runner"] == "DataflowRunner"
    assert report["sdk_container_images"] == [IMAGE]
    assert report["staging_location"].startswith(f"{bucket}/staging/")
    return report


def assert_stages_the_project(report: dict) -> None:
    package = report["staged"]["workflow.tar.gz"]
    with tarfile.open(package) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    for module in ("beam_pipelines/ingest.py", "beam_pipelines/storage.py", "media/tfrecord.py",
                   "tfx_models/export/contract.py", "pyproject.toml"):
        assert module in names, module
    assert not [name for name in names if name.startswith("tests/")]


def test_the_ingest_job_builds_for_dataflow_and_stages_the_project(bucket):
    report = dataflow(bucket, "ingest", "--format", "ucf101", "--root", f"{bucket}/ucf101",
                      "--output", f"{bucket}/records/s1", "--num_shards", "2")
    assert report["steps"] == ["Entries", "Ingest", "Duplicates", "AllFailures", "Write"]
    assert_stages_the_project(report)


def test_the_resplit_job_builds_for_dataflow(bucket, emulator, tmp_path):
    from beam_pipelines.ingest import run as ingest

    ingest(["--format", "ucf101", "--root", f"{bucket}/ucf101", "--output", f"{bucket}/records/s1",
            "--size", "0", "--num_shards", "1", "--direct_running_mode=in_memory"])
    report = dataflow(bucket, "resplit", "--records", f"{bucket}/records/s1", "--format", "ucf101",
                      "--root", f"{bucket}/ucf101", "--split", "2", "--output", f"{bucket}/records/s2")
    assert report["steps"][:4] == ["SourceShards", "Spread", "Read", "Assign"]
    assert "Write" in report["steps"]
    assert_stages_the_project(report)
    assert not any(name.startswith("records/s2/") and not name.endswith(".write-check")
                   for name in emulator.download_tree(bucket))  # a dry run writes no output


def test_the_prediction_job_builds_for_dataflow(bucket, tmp_path):
    # On Dataflow the export would be on gs:// too; TensorFlow reads it with its own GCS client,
    # which cannot be pointed at the emulator, so the dry run loads a local one.
    export_model(stream_model("temporal", seed=2), preprocessing(), str(tmp_path / "models"), "temporal")
    report = dataflow(bucket, "predict", "--model_dir", str(tmp_path / "models" / "temporal"),
                      "--videos", f"{bucket}/ucf101/UCF-101", "--output", f"{bucket}/predictions/run")
    assert {"Videos", "Prepare", "Predict", "WritePredictions", "WriteDead"} <= set(report["steps"])
    assert_stages_the_project(report)


def test_the_script_refuses_what_it_cannot_run():
    result = subprocess.run([SCRIPT, "--project", "p", "--", "ingest"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2 and result.stderr.strip() == "error: --region is required"
    result = subprocess.run([SCRIPT, "--project", "p", "--", "train"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2 and "ingest, resplit or predict" in result.stderr


def test_the_worker_image_is_the_sdk_of_the_pinned_beam_version():
    dockerfile = open(os.path.join(REPO, "Dockerfile")).read()
    pinned = re.search(r"^apache-beam\[[a-z,]+\]==(\S+)$", open(os.path.join(REPO, "requirements.txt")).read(), re.M)
    assert f"ARG BEAM_VERSION={pinned.group(1)}" in dockerfile
    assert "FROM apache/beam_python3.11_sdk:${BEAM_VERSION}" in dockerfile
    assert IMAGE.endswith(pinned.group(1))


def test_the_runners_page_quotes_the_script():
    """The page's example is the script's own, so the two cannot drift apart."""
    script = open(SCRIPT).read().splitlines()
    start = next(i for i, line in enumerate(script) if line.startswith("#   scripts/dataflow.sh --project my-project"))
    example = []
    for line in script[start:]:
        if line.strip() == "#":
            break
        example.append(line[len("#   "):])
    page = open(os.path.join(REPO, "docs", "runners.md")).read()
    assert "```\n" + "\n".join(example) + "\n```" in page
