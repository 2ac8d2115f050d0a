"""Running a Beam job, and what the jobs' command lines share: every failure ends in one `error:` line.

A bad flag, path or input found by the launcher is a ValueError or OSError (Beam's
BeamIOError is one): one line, status 2. A job that fails on its workers reaches the
launcher as the runner's own error, which carries the worker's traceback as text; a
damaged record (media.tfrecord.DamagedRecordError) found there is bad data too, status 2,
named by shard and offset. Anything else a worker raised is status 1, with the worker's
last line. Jobs publish only at their end (dataset_info.json written last), so each line
can say that nothing was published and that rerunning the command is safe.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from typing import Callable

from apache_beam.options.pipeline_options import TestOptions
from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_runner_api_pb2

from beam_pipelines.options import quiet_beam_logs

BAD_DATA, FAILED = 2, 1
_DAMAGED = re.compile(r"DamagedRecordError: (.+?)(?: \[while running '[^']*'\])?(?:\\n|\n|\"|$)")


class JobFailed(RuntimeError):
    """A job that failed on its workers, said in one line."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def job_failure(error: BaseException, published: str) -> JobFailed:
    """The runner's error as one line; `published` says what the job would have published."""
    text = str(error)
    damaged = _DAMAGED.search(text)
    if damaged:
        return JobFailed(f"{damaged.group(1)}; nothing was published ({published}). Find every damaged "
                         "shard with python -m beam_pipelines.verify, then rerun the command", BAD_DATA)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    last = lines[-1] if lines else type(error).__name__
    return JobFailed(f"the job failed: {last}; nothing was published ({published}); "
                     "rerunning the command is safe", FAILED)


def run_pipeline(pipeline, published: str):
    """Run `pipeline` to its end; a failure on the workers becomes JobFailed. Returns its result."""
    try:
        result = pipeline.run()
        result.wait_until_finish()
    except Exception as error:  # runners wrap what a worker raised in their own error types
        raise job_failure(error, published) from error
    return result


def is_dry_run(options) -> bool:
    """--dry_run=True: the runner builds the job (Dataflow: the job and its staged files) and
    submits nothing, so the launcher must neither read outputs nor unpublish anything."""
    return bool(options.view_as(TestOptions).dry_run)


def dry_run_report(result) -> dict:
    """What a dry run built: the job's top-level steps, its worker container and the files it
    would stage (the project's package as workflow.tar.gz). Dataflow's runner only."""
    pipeline = result.job.proto_pipeline
    components = pipeline.components
    steps = [components.transforms[sub].unique_name
             for root in pipeline.root_transform_ids for sub in components.transforms[root].subtransforms]
    images, staged = set(), {}
    for environment in components.environments.values():
        if environment.urn == common_urns.environments.DOCKER.urn:
            images.add(beam_runner_api_pb2.DockerPayload.FromString(environment.payload).container_image)
        for dependency in environment.dependencies:
            name = beam_runner_api_pb2.ArtifactStagingToRolePayload.FromString(dependency.role_payload).staged_name
            staged[name] = beam_runner_api_pb2.ArtifactFilePayload.FromString(dependency.type_payload).path
    options = result.job.options.get_all_options(drop_default=True)
    return {"dry_run": True, "runner": options.get("runner"), "job_name": options.get("job_name"),
            "steps": steps, "sdk_container_images": sorted(images), "staged": dict(sorted(staged.items())),
            "staging_location": options.get("staging_location")}


def one_line(error: BaseException) -> str:
    return " ".join((str(error) or type(error).__name__).split())


@contextlib.contextmanager
def workers_output_to(log_path: str):
    """Send what worker processes write to their stderr (the local runner's workers inherit ours, and
    Beam's worker prints a failed bundle's traceback there) to `log_path`, keeping this process's
    own Python-level stderr on the console."""
    sys.stderr.flush()
    console = os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 2)
    saved, sys.stderr = sys.stderr, os.fdopen(os.dup(console), "w", buffering=1)
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = saved
        os.dup2(console, 2)
        os.close(console)


def main(run: Callable[[list[str]], object], argv: list[str] | None = None) -> int:
    """run(argv) as a command line; returns the exit status (an int run returns, else 0).

    Worker processes' own output goes to a log file, named in the error line when the job fails."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    quiet_beam_logs()
    # The worker's traceback is in the error we print one line of; its log copy is not needed.
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.CRITICAL)
    log_path = os.path.join(tempfile.gettempdir(), f"twostream-beam-workers-{os.getpid()}.log")
    try:
        with workers_output_to(log_path):
            result = run(sys.argv[1:] if argv is None else argv)
    except JobFailed as error:
        print(f"error: {one_line(error)} (worker output: {log_path})", file=sys.stderr)
        return error.status
    except (ValueError, OSError) as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return BAD_DATA
    if os.path.exists(log_path) and not os.path.getsize(log_path):
        os.remove(log_path)
    return result if isinstance(result, int) else 0
