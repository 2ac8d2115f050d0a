"""Runner defaults shared by our Beam jobs, so a bare command line works offline.

Beam 2.77's `DirectRunner` is the SwitchingDirectRunner: it first tries to
download the Prism binary from GitHub (a network call that fails or hangs
offline, and logs a traceback), then falls back to the FnApiRunner anyway for
batch pipelines.  Our jobs are plain batch pipelines, so when no runner or the
DirectRunner is asked for we go straight to the FnApiRunner, in
multi-processing mode with one worker per core unless told otherwise.  Any
other runner (DataflowRunner, PrismRunner, ...) and explicit `--direct_*`
flags are passed through untouched.

Plain `--runner=FnApiRunner` does not hand the pipeline options to its worker
processes (they log "Pipeline_options: {}"), so `--default_sdk_harness_log_level`
never reaches them and each worker logs its start-up and shutdown at INFO.
LocalRunner passes them on, as the DirectRunner's own fallback does, and we
default that level to WARNING.
"""
from __future__ import annotations

import logging
import multiprocessing

from apache_beam.options.pipeline_options import (
    DirectOptions, PipelineOptions, StandardOptions, WorkerOptions)
from apache_beam.portability.api import beam_provision_api_pb2
from apache_beam.runners.portability.fn_api_runner.fn_runner import ExtendedProvisionInfo, FnApiRunner
from apache_beam.runners.portability.portable_runner import JobServiceHandle


class LocalRunner(FnApiRunner):
    """The FnApiRunner, with the pipeline options passed on to its worker processes."""

    def run_pipeline(self, pipeline, options):
        encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options(drop_default=True))
        self._provision_info = ExtendedProvisionInfo(
            beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
        return super().run_pipeline(pipeline, options)


LOCAL_RUNNER = f"{__name__}.LocalRunner"
# Runner names that would try Prism first, or that drop the options; they get LOCAL_RUNNER.
PRISM_FIRST_RUNNERS = {None, "direct", "directrunner", "switchingdirectrunner", "fnapirunner"}


def _given(argv: list[str], flag: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in argv)


def pipeline_options(beam_argv: list[str]) -> PipelineOptions:
    """PipelineOptions from the flags our own parser did not consume."""
    options = PipelineOptions(beam_argv)
    standard = options.view_as(StandardOptions)
    runner = standard.runner.lower() if isinstance(standard.runner, str) else standard.runner
    if runner in PRISM_FIRST_RUNNERS:
        if runner is not None:
            logging.getLogger(__name__).info(
                "runner %s: using %s instead (no Prism download, options reach workers)",
                standard.runner, LOCAL_RUNNER)
        standard.runner = LOCAL_RUNNER
    if standard.runner == LOCAL_RUNNER:
        direct = options.view_as(DirectOptions)
        if not _given(beam_argv, "--default_sdk_harness_log_level"):
            options.view_as(WorkerOptions).default_sdk_harness_log_level = "WARNING"
        if not _given(beam_argv, "--direct_running_mode"):
            direct.direct_running_mode = "multi_processing"
        if direct.direct_running_mode != "in_memory" and not _given(beam_argv, "--direct_num_workers"):
            direct.direct_num_workers = multiprocessing.cpu_count()
    return options


def quiet_beam_logs() -> None:
    """Keep Beam's warnings, not its INFO chatter; worker messages already reach
    the console from the workers' own stderr, so their copies in the runner log
    are kept for errors only."""
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
