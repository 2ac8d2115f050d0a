"""Preloaded into every Dask worker of tests/test_dask_runner.py (`dask worker --preload`):
appends the worker pid and each path the ingest's per-video function (decode + flow) is called with to the file
named by $INGEST_CALLS_LOG, so the test sees from outside whether a video was processed twice."""
import os

from beam_pipelines import ingest_transforms

LOG = os.environ["INGEST_CALLS_LOG"]
_ingest_video = ingest_transforms.ingest_video


def counted_ingest_video(entry, config, estimator):
    with open(LOG, "a") as f:
        f.write(f"{os.getpid()} {entry.path}\n")
    return _ingest_video(entry, config, estimator)


ingest_transforms.ingest_video = counted_ingest_video
