"""serving.batching: per-request failures inside a merged batch, and no reference kept to unloaded models."""
from __future__ import annotations

import gc
import threading
import time
import weakref

import numpy as np
import pytest

from serving.batching import Batcher, BatchingParameters


class RefusesNegatives:
    """A model function that fails a whole call when any row is negative (as a bad record does)."""

    def __init__(self):
        self.calls = []

    def __call__(self, inputs):
        self.calls.append(len(inputs["x"]))
        if (inputs["x"] < 0).any():
            raise ValueError("negative input")
        return {"y": inputs["x"] * 2}


@pytest.fixture
def batcher():
    batcher = Batcher(BatchingParameters(max_batch_size=4, batch_timeout_micros=10_000_000))
    yield batcher
    batcher.stop()


def test_a_bad_request_fails_only_itself(batcher):
    function = RefusesNegatives()
    rows = [np.array([1]), np.array([2, 3]), np.array([-1])]  # 4 rows: one full batch
    results = [None] * 3

    def call(i):
        try:
            results[i] = batcher.run("k", function, {"x": rows[i]})
        except ValueError as err:
            results[i] = err

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert function.calls[0] == 4  # they were merged; then each re-run alone
    assert sorted(function.calls[1:]) == [1, 1, 2]
    np.testing.assert_array_equal(results[0]["y"], [2])
    np.testing.assert_array_equal(results[1]["y"], [4, 6])
    assert isinstance(results[2], ValueError) and str(results[2]) == "negative input"
    assert (batcher.batches_run, batcher.requests_run) == (1, 3)


def test_batcher_drops_a_function_once_its_requests_ran(batcher):
    """The batcher held every function it ever ran: an unloaded model version stayed in memory."""
    function = RefusesNegatives()
    alive = weakref.ref(function)
    np.testing.assert_array_equal(batcher.run("version-1", function, {"x": np.arange(4)})["y"], [0, 2, 4, 6])
    del function
    for _ in range(100):  # the batch thread finishes its frame just after answering
        gc.collect()
        if alive() is None:
            break
        time.sleep(0.01)
    assert alive() is None
