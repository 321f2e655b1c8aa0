"""Dynamic batching with TF Serving's BatchingParameters semantics.

Concurrent requests for one signature of one version queue here; a batch thread takes the oldest task, waits up
to `batch_timeout_micros` for more (never past `max_batch_size` rows), concatenates the inputs along the batch
dimension, pads to the next `allowed_batch_sizes` entry by repeating the first row (as BatchingSession does),
runs the model once and hands each task its slice of the outputs. The queue holds at most
`max_enqueued_batches` batches' worth of rows; beyond that a task is refused with UNAVAILABLE, as upstream does.
"""

from __future__ import annotations

import bisect
import collections
import math
import threading
import time
from typing import Callable, Deque, Dict, List, Optional

import numpy as np

from serving.config import BatchingConfig
from serving.errors import DeadlineExceeded, InvalidArgument, ServingError, Unavailable

Arrays = Dict[str, np.ndarray]


class _Task:
    __slots__ = ("inputs", "size", "deadline", "enqueued", "done", "outputs", "error")

    def __init__(self, inputs: Arrays, size: int, deadline: Optional[float]):
        self.inputs, self.size, self.deadline = inputs, size, deadline
        self.enqueued = time.monotonic()
        self.done = threading.Event()
        self.outputs: Optional[Arrays] = None
        self.error: Optional[ServingError] = None


class BatchScheduler:
    """Merges concurrent calls of `run` (one signature of one version) into batched calls."""

    def __init__(self, run: Callable[[Arrays], Arrays], config: BatchingConfig, label: str,
                 on_batch: Optional[Callable[[List[float], int, int], None]] = None):
        self._run, self._config, self._label, self._on_batch = run, config, label, on_batch
        self._queue: Deque[_Task] = collections.deque()
        self._queued_rows = 0
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"batch-{label}-{i}", daemon=True)
                         for i in range(config.num_batch_threads)]
        for thread in self._threads:
            thread.start()

    def submit(self, inputs: Arrays, deadline: Optional[float] = None) -> Arrays:
        """Queues one request and blocks until its rows of a batch are back (or its deadline passes)."""
        size = len(next(iter(inputs.values())))
        if size > self._config.max_batch_size:
            raise InvalidArgument(f"Task size {size} is larger than maximum input batch size "
                                  f"{self._config.max_batch_size} ({self._label})")
        # With enable_large_batch_splitting a task larger than one execution batch runs as several pieces.
        step = self._execution_limit
        tasks = [_Task({k: v[start:start + step] for k, v in inputs.items()}, min(step, size - start), deadline)
                 for start in range(0, size, step)] if size > step else [_Task(inputs, size, deadline)]
        self._enqueue(tasks, size)
        for task in tasks:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not task.done.wait(timeout):
                raise DeadlineExceeded(f"deadline exceeded while queued for batching ({self._label})")
            if task.error is not None:
                raise task.error
        if len(tasks) == 1:
            return tasks[0].outputs
        return {name: np.concatenate([task.outputs[name] for task in tasks]) for name in tasks[0].outputs}

    @property
    def _execution_limit(self) -> int:
        config = self._config
        if config.enable_large_batch_splitting and config.max_execution_batch_size:
            return min(config.max_execution_batch_size, config.max_batch_size)
        return config.max_batch_size

    def _enqueue(self, tasks: List[_Task], rows: int) -> None:
        with self._cond:
            if self._closed:
                raise Unavailable(f"{self._label} is unloading; retry the request")
            if math.ceil((self._queued_rows + rows) / self._execution_limit) > self._config.max_enqueued_batches:
                raise Unavailable(f"The batch scheduling queue to which this task was submitted is full "
                                  f"({self._label})")
            self._queue.extend(tasks)
            self._queued_rows += rows
            self._cond.notify(len(tasks))

    def close(self) -> None:
        """Stops the batch threads after the queued tasks have run."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._execute(batch)

    def _next_batch(self) -> Optional[List[_Task]]:
        timeout = self._config.batch_timeout_micros / 1e6
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            close_at = self._queue[0].enqueued + timeout
            while self._queued_rows < self._execution_limit and not self._closed:
                remaining = close_at - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._take()

    def _take(self) -> List[_Task]:
        batch, rows, now = [], 0, time.monotonic()
        while self._queue and rows + self._queue[0].size <= self._execution_limit:
            task = self._queue.popleft()
            self._queued_rows -= task.size
            if task.deadline is not None and task.deadline <= now:
                task.error = DeadlineExceeded(f"deadline exceeded while queued for batching ({self._label})")
                task.done.set()
                continue
            if batch and not _compatible(batch[0].inputs, task.inputs):
                self._queue.appendleft(task)
                self._queued_rows += task.size
                break
            batch.append(task)
            rows += task.size
        return batch

    def _execute(self, batch: List[_Task]) -> None:
        if not batch:
            return
        started = time.monotonic()
        rows = sum(task.size for task in batch)
        padded = self._padded_size(rows)
        try:
            merged = {name: _concat([task.inputs[name] for task in batch], padded - rows)
                      for name in batch[0].inputs}
            outputs = self._run(merged)
            self._split(batch, outputs, padded)
        except ServingError as error:
            for task in batch:
                task.error = error
        finally:
            for task in batch:
                task.done.set()
        if self._on_batch is not None:
            self._on_batch([started - task.enqueued for task in batch], rows, padded)

    def _padded_size(self, rows: int) -> int:
        sizes = self._config.allowed_batch_sizes
        if not sizes:
            return rows
        return sizes[bisect.bisect_left(sizes, rows)]

    def _split(self, batch: List[_Task], outputs: Arrays, padded: int) -> None:
        for name, value in outputs.items():
            if value.ndim == 0 or value.shape[0] != padded:
                raise InvalidArgument(f"Batched output '{name}' of {self._label} has shape {value.shape}, not a "
                                      f"leading batch dimension of {padded}; disable batching for this model")
        offset = 0
        for task in batch:
            task.outputs = {name: value[offset:offset + task.size] for name, value in outputs.items()}
            offset += task.size


def _compatible(first: Arrays, other: Arrays) -> bool:
    """Tasks merge only when they feed the same inputs with the same per-row shape and dtype."""
    if first.keys() != other.keys():
        return False
    return all(first[k].shape[1:] == other[k].shape[1:] and first[k].dtype == other[k].dtype for k in first)


def _concat(parts: List[np.ndarray], padding: int) -> np.ndarray:
    if padding:
        parts = parts + [np.repeat(parts[0][:1], padding, axis=0)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
