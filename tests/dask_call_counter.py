"""Preloaded into every Dask worker of the Dask tests (`dask worker --preload`): appends the worker
pid and each path the ingest's per-video function (decode + flow) is called with to the file
named by $INGEST_CALLS_LOG, so a test sees from outside whether a video was processed twice,
and waits $INGEST_CALL_DELAY seconds first (default 0), so a test can stop a process mid-job."""
import os
import time

from beam_pipelines import ingest_transforms

LOG = os.environ["INGEST_CALLS_LOG"]
DELAY = float(os.environ.get("INGEST_CALL_DELAY", "0"))
_ingest_video = ingest_transforms.ingest_video


def counted_ingest_video(entry, config, estimator):
    with open(LOG, "a") as f:
        f.write(f"{os.getpid()} {entry.path}\n")
    time.sleep(DELAY)
    return _ingest_video(entry, config, estimator)


ingest_transforms.ingest_video = counted_ingest_video
