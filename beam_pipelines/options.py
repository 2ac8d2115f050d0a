"""Runner defaults shared by our Beam jobs, so a bare command line works offline.

Beam 2.77's `DirectRunner` is the SwitchingDirectRunner: it first tries to
download the Prism binary from GitHub (a network call that fails or hangs
offline, and logs a traceback), then falls back to the FnApiRunner anyway for
batch pipelines.  Our jobs are plain batch pipelines, so when no runner or the
DirectRunner is asked for we go straight to the FnApiRunner, in
multi-processing mode with one worker per core unless told otherwise.  Any
other runner (DataflowRunner, PrismRunner, ...) and explicit `--direct_*`
flags are passed through untouched.
"""
from __future__ import annotations

import logging
import multiprocessing

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

LOCAL_RUNNER = "FnApiRunner"
# Runner names that would try Prism first; they get LOCAL_RUNNER instead.
PRISM_FIRST_RUNNERS = {None, "direct", "directrunner", "switchingdirectrunner"}


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
                "runner %s would try to download Prism first; using %s", standard.runner, LOCAL_RUNNER)
        standard.runner = LOCAL_RUNNER
    if standard.runner == LOCAL_RUNNER:
        direct = options.view_as(DirectOptions)
        if not _given(beam_argv, "--direct_running_mode"):
            direct.direct_running_mode = "multi_processing"
        if direct.direct_running_mode != "in_memory" and not _given(beam_argv, "--direct_num_workers"):
            direct.direct_num_workers = multiprocessing.cpu_count()
    return options


def quiet_beam_logs() -> None:
    """Beam's local runner logs every worker's start and stop at INFO; keep warnings only."""
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
