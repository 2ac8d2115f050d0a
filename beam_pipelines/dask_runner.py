"""Beam's DaskRunner, with its Dask client closed when the job ends, and a lost cluster said.

Beam 2.77's DaskRunner opens a `distributed.Client` per job and never closes it; once the
cluster stops, every such client left in the process retries the scheduler and logs
connection errors.  This runner closes it as soon as the job has finished, failed or been
cancelled.

Beam's result also waits on the job's futures alone: when the scheduler dies they are
cancelled and its wait returns as if the job had finished, and when every worker dies they
stay pending and it waits forever. Ours checks, while it waits, that the scheduler answers and
has workers, and fails the job in one sentence when it does not (a worker lost while others
remain is Dask's to handle: it reruns that worker's tasks elsewhere). The runner's other gaps
are the pipeline's to avoid (beam_pipelines.gather; docs/runners.md lists them).
"""
from __future__ import annotations

import os
import time

import distributed
from apache_beam.runners.dask.dask_runner import DaskRunner as BeamDaskRunner
from apache_beam.runners.dask.dask_runner import DaskRunnerResult

POLL_S = 2.0
# How long the job waits for a worker once the scheduler has none: long enough for a worker
# restarted by a supervisor to come back ($TWOSTREAM_DASK_NO_WORKERS_S; the tests shorten it).
NO_WORKERS_S = float(os.environ.get("TWOSTREAM_DASK_NO_WORKERS_S", "30"))


class DaskClusterLost(RuntimeError):
    """The job's scheduler stopped answering, or it has had no worker for NO_WORKERS_S."""


class ClosingDaskRunnerResult(DaskRunnerResult):
    """Beam's result ends DONE or FAILED whenever wait_until_finish returns or raises (a
    timeout counts as failed), so the client is done with either way."""

    def wait_until_finish(self, duration=None) -> str:
        try:
            self._watch(None if duration is None else time.monotonic() + duration / 1000)
            return super().wait_until_finish(duration)
        finally:
            self.client.close()

    def _watch(self, deadline: float | None) -> None:
        address = self.client.scheduler.address
        without_workers = None
        while deadline is None or time.monotonic() < deadline:
            try:
                distributed.wait(self.futures, timeout=POLL_S)
                break
            except TimeoutError:
                pass
            except distributed.CancelledError:  # the scheduler went, and its futures with it
                break
            try:
                workers = len(self.client.nthreads())
            except Exception as err:  # the scheduler is gone: every kind of connection error
                raise DaskClusterLost(f"lost the Dask scheduler {address} mid-job ({type(err).__name__})") from None
            if workers:
                without_workers = None
            elif without_workers is None:
                without_workers = time.monotonic()
            elif time.monotonic() - without_workers > NO_WORKERS_S:
                raise DaskClusterLost(f"the Dask scheduler {address} has had no worker for {NO_WORKERS_S:g} s "
                                      "mid-job: every worker was lost")
        lost = [f for f in self.futures if f.status not in ("finished", "error")]
        if lost:
            raise DaskClusterLost(f"lost the Dask scheduler {address} mid-job: {len(lost)} of {len(self.futures)} "
                                  f"tasks did not finish ({', '.join(sorted({f.status for f in lost}))})")

    def cancel(self) -> str:
        try:
            return super().cancel()
        finally:
            self.client.close()


class DaskRunner(BeamDaskRunner):
    def run_pipeline(self, pipeline, options):
        result = super().run_pipeline(pipeline, options)
        return ClosingDaskRunnerResult(result.client, result.futures)
