"""Beam's DaskRunner, with its Dask client closed when the job ends.

Beam 2.77's DaskRunner opens a `distributed.Client` per job and never closes it; once the
cluster stops, every such client left in the process retries the scheduler and logs
connection errors.  This runner closes it as soon as the job has finished, failed or been
cancelled.  The runner's other gaps are the pipeline's to avoid (beam_pipelines.gather;
docs/runners.md lists them).
"""
from __future__ import annotations

from apache_beam.runners.dask.dask_runner import DaskRunner as BeamDaskRunner
from apache_beam.runners.dask.dask_runner import DaskRunnerResult


class ClosingDaskRunnerResult(DaskRunnerResult):
    """Beam's result ends DONE or FAILED whenever wait_until_finish returns or raises (a
    timeout counts as failed), so the client is done with either way."""

    def wait_until_finish(self, duration=None) -> str:
        try:
            return super().wait_until_finish(duration)
        finally:
            self.client.close()

    def cancel(self) -> str:
        try:
            return super().cancel()
        finally:
            self.client.close()


class DaskRunner(BeamDaskRunner):
    def run_pipeline(self, pipeline, options):
        result = super().run_pipeline(pipeline, options)
        return ClosingDaskRunnerResult(result.client, result.futures)
