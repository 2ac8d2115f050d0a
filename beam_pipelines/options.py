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

`--runner=DaskRunner` (which Beam itself knows only by its module path) gets
beam_pipelines.dask_runner.DaskRunner, and one element per Dask partition unless
`--dask_partition_size` or `--dask_npartitions` is given.
"""
from __future__ import annotations

import logging
import multiprocessing

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (
    DirectOptions, PipelineOptions, StandardOptions, WorkerOptions)
from apache_beam.portability.api import beam_provision_api_pb2
from apache_beam.runners.portability.fn_api_runner import worker_handlers
from apache_beam.runners.portability.fn_api_runner.fn_runner import ExtendedProvisionInfo, FnApiRunner
from apache_beam.runners.portability.portable_runner import JobServiceHandle


class LocalRunner(FnApiRunner):
    """The FnApiRunner, with the pipeline options passed on to its worker processes and its
    data streams flushed by size only.

    Beam 2.77's runner flushes each data stream it sends to a worker every
    DATA_BUFFER_TIME_LIMIT_MS (1 s) from a timer thread, and a write that lands between the
    flush's copy of the buffer and its reset is dropped without an error
    (apache_beam/runners/worker/data_plane.py). A stage whose input is a long list of chunks
    (a Flatten feeding a GroupByKey, as the ingest's shard writers have) loses records that
    way once sending its input takes longer than the interval: 128 of 3,780 videos in one
    ingest (docs/runners.md). A limit of 0 selects the size-flushed streams, which have no timer.
    """

    def run_pipeline(self, pipeline, options):
        encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options(drop_default=True))
        self._provision_info = ExtendedProvisionInfo(
            beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
        timed = worker_handlers.DATA_BUFFER_TIME_LIMIT_MS
        worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 0  # read when the runner starts its data server
        try:
            return super().run_pipeline(pipeline, options)
        finally:
            worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = timed


LOCAL_RUNNER = f"{__name__}.LocalRunner"
# Runner names that would try Prism first, or that drop the options; they get LOCAL_RUNNER.
PRISM_FIRST_RUNNERS = {None, "direct", "directrunner", "switchingdirectrunner", "fnapirunner"}
# Beam knows the DaskRunner only by its full name; ours also closes its client (beam_pipelines.dask_runner).
DASK_RUNNER = "beam_pipelines.dask_runner.DaskRunner"
DASK_RUNNERS = {"dask", "daskrunner", "apache_beam.runners.dask.dask_runner.daskrunner", DASK_RUNNER.lower()}


def _given(argv: list[str], flag: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in argv)


def _runner_name(options: PipelineOptions) -> str | None:
    runner = options.view_as(StandardOptions).runner
    return runner.lower() if isinstance(runner, str) else runner


def is_dask(options: PipelineOptions) -> bool:
    return _runner_name(options) in DASK_RUNNERS


def pipeline_options(beam_argv: list[str]) -> PipelineOptions:
    """PipelineOptions from the flags our own parser did not consume."""
    if is_dask(PipelineOptions(beam_argv)) and not (
            _given(beam_argv, "--dask_partition_size") or _given(beam_argv, "--dask_npartitions")):
        # Beam puts 128 elements in a Dask partition, and a partition runs on one worker:
        # one video per partition spreads the videos over the workers.
        beam_argv = [*beam_argv, "--dask_partition_size=1"]
    options = PipelineOptions(beam_argv)
    standard = options.view_as(StandardOptions)
    runner = _runner_name(options)
    if runner in DASK_RUNNERS:
        standard.runner = DASK_RUNNER
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
    # The launcher's own reads and writes (listing a dataset, publishing) use the job's options too.
    FileSystems.set_options(options)
    return options


def quiet_beam_logs() -> None:
    """Keep Beam's warnings, not its INFO chatter; worker messages already reach
    the console from the workers' own stderr, so their copies in the runner log
    are kept for errors only."""
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
