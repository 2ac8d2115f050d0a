"""Server-side batching: concurrent requests to one signature run as one model call.

Same knobs as TF Serving's batching_parameters.txt. Requests queue per
(servable, signature, per-example shapes); a batch runs when it holds
max_batch_size examples or its oldest request has waited batch_timeout_micros.
Inputs are concatenated along dim 0 and outputs split back by each request's
row count. Unlike TF Serving, a request larger than max_batch_size is run on
its own rather than refused; the front ends cap a request's rows
(--max_request_rows), so that is bounded too.

A failed merged batch is re-run request by request, so one client's bad input
fails only that client's request. A queue keeps its function (which holds the
loaded model) only while requests wait in it, so an unloaded version is not
kept alive by the batcher.
"""
from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields

import numpy as np

from serving.errors import exhausted


@dataclass(frozen=True)
class BatchingParameters:
    max_batch_size: int = 32
    batch_timeout_micros: int = 1000
    max_enqueued_batches: int = 100
    num_batch_threads: int = 2

    @classmethod
    def parse(cls, text: str, source: str = "batching parameters") -> "BatchingParameters":
        """Reads TF Serving's text format: `max_batch_size { value: 32 }` per line."""
        known = {f.name for f in fields(cls)}
        ignored = {"pad_variable_length_inputs", "allowed_batch_sizes", "enable_large_batch_splitting",
                   "max_execution_batch_size", "thread_pool_name"}
        values = {}
        body = re.sub(r"#.*", "", text)
        for match in re.finditer(r"(\w+)\s*\{\s*value\s*:\s*([^\s}]+)\s*\}|(\S+)", body):
            name, value, junk = match.groups()
            if junk is not None:
                raise ValueError(f"{source}: cannot parse {junk!r}; expected `name {{ value: N }}`")
            if name in ignored:
                continue
            if name not in known:
                raise ValueError(f"{source}: unknown field {name!r} (known: {sorted(known)})")
            try:
                values[name] = int(value)
            except ValueError:
                raise ValueError(f"{source}: {name} must be an integer, got {value!r}") from None
            if values[name] < 0 or (values[name] == 0 and name != "batch_timeout_micros"):
                raise ValueError(f"{source}: {name} must be positive, got {value}")
        return cls(**values)


class _Task:
    def __init__(self, function, inputs: dict[str, np.ndarray], rows: int):
        self.function, self.inputs, self.rows = function, inputs, rows
        self.enqueued = time.monotonic()
        self.done = threading.Event()
        self.result: dict[str, np.ndarray] | None = None
        self.error: BaseException | None = None


class Batcher:
    """Merges calls to the same function; `batches_run` and `requests_run` count what it did."""

    def __init__(self, params: BatchingParameters):
        self.params = params
        self._queues: dict[object, list[_Task]] = {}  # only keys with waiting requests
        self._pending_rows = 0
        self._cond = threading.Condition()
        self._executor = ThreadPoolExecutor(params.num_batch_threads, thread_name_prefix="batch")
        self._stopped = False
        self.batches_run = 0
        self.requests_run = 0
        self._dispatcher = threading.Thread(target=self._dispatch, name="batch-dispatch", daemon=True)
        self._dispatcher.start()

    def run(self, key, function, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Blocks until `function` ran on a batch holding `inputs`; returns this request's rows."""
        rows = len(next(iter(inputs.values())))
        task = _Task(function, inputs, rows)
        limit = self.params.max_enqueued_batches * self.params.max_batch_size
        with self._cond:
            if self._pending_rows + rows > limit and self._pending_rows > 0:
                raise exhausted(f"batch queue full: {self._pending_rows} examples waiting "
                                f"(max_enqueued_batches {self.params.max_enqueued_batches} x "
                                f"max_batch_size {self.params.max_batch_size})")
            self._pending_rows += rows
            self._queues.setdefault(key, []).append(task)
            self._cond.notify()
        task.done.wait()
        if task.error is not None:
            raise task.error
        return task.result

    def _ready(self, now: float):
        """(key, tasks) of a batch that should run now, and seconds until the next deadline."""
        timeout = self.params.batch_timeout_micros / 1e6
        wait = None
        for key, queue in self._queues.items():
            if not queue:
                continue
            due = queue[0].enqueued + timeout
            if sum(t.rows for t in queue) >= self.params.max_batch_size or due <= now:
                taken, rows = [], 0
                while queue and (not taken or rows + queue[0].rows <= self.params.max_batch_size):
                    rows += queue[0].rows
                    taken.append(queue.pop(0))
                if not queue:
                    del self._queues[key]
                return key, taken, None
            wait = due - now if wait is None else min(wait, due - now)
        return None, None, wait

    def _dispatch(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopped:
                        return
                    key, tasks, wait = self._ready(time.monotonic())
                    if tasks:
                        break
                    self._cond.wait(wait)
            self._executor.submit(self._execute, tasks)
            del tasks

    def _execute(self, tasks: list[_Task]) -> None:
        try:
            names = tasks[0].inputs.keys()
            merged = {n: np.concatenate([t.inputs[n] for t in tasks]) if len(tasks) > 1 else tasks[0].inputs[n]
                      for n in names}
            outputs = tasks[0].function(merged)
            offsets = np.cumsum([0] + [t.rows for t in tasks])
            for task, start, end in zip(tasks, offsets[:-1], offsets[1:]):
                task.result = {k: v[start:end] for k, v in outputs.items()}
        except BaseException as err:
            if len(tasks) == 1:
                tasks[0].error = err
            else:  # find the culprit: each request on its own, so a bad one fails only itself
                for task in tasks:
                    try:
                        task.result = task.function(task.inputs)
                    except BaseException as own:
                        task.error = own
        with self._cond:
            self.batches_run += 1
            self.requests_run += len(tasks)
            self._pending_rows -= sum(t.rows for t in tasks)
        for task in tasks:
            task.done.set()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._dispatcher.join()
        self._executor.shutdown(wait=True)
