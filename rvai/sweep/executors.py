"""Where points run: local worker processes (the default) or a Ray cluster.

Both go through one scheduling loop (:func:`execute`): at most ``workers`` points in
flight, each watched against its timeout, each finished one handed on at once. The
local backend forks one process per point, so a point that crashes the process (a
signal, ``os._exit``) or hangs is killed and recorded alone; the Ray backend runs the
same :func:`rvai.sweep.job.run_point` as a task without retries and cancels (kills)
one that overruns. Ray is imported only by :class:`RayBackend`.
"""
from __future__ import annotations

import gc
import math
import multiprocessing
import multiprocessing.connection
import signal
import time
from collections import deque
from typing import Any, Callable

from rvai.sweep.job import run_point
from rvai.sweep.spec import Point

__all__ = ["execute", "LocalBackend", "RayBackend"]


def execute(points: list[Point], backend, on_record: Callable[[dict], None],
            patterns: tuple[str, ...] = ()) -> None:
    """Run ``points`` on ``backend`` and pass each record to ``on_record`` as it comes
    (so not in order). A point that exceeds its timeout is killed and recorded as an
    error; on any exception (Ctrl-C included) the points in flight are killed."""
    pending, running = deque(points), {}
    try:
        while pending or running:
            while pending and len(running) < backend.workers:
                point = pending.popleft()
                if point.error:   # an invalid configuration: nothing to run
                    on_record(point.record("error", point.error))
                    continue
                deadline = time.monotonic() + point.timeout if point.timeout else math.inf
                running[backend.start(point, patterns)] = (point, deadline)
            if not running:
                continue
            soonest = min(d for _, d in running.values())
            wait = min(max(soonest - time.monotonic(), 0.0), 1.0)
            for handle in backend.wait(list(running), wait):
                point, _ = running.pop(handle)
                on_record(backend.result(handle, point))
            now = time.monotonic()
            for handle, (point, deadline) in list(running.items()):
                if deadline <= now:
                    del running[handle]
                    backend.kill(handle)
                    on_record(point.record("error", f"timeout: still running after {point.timeout:g} s"))
    finally:
        for handle in running:
            backend.kill(handle)


def _child(point: Point, patterns: tuple, conn) -> None:
    # Ctrl-C reaches the whole process group: the parent kills the points in flight,
    # and a child must not report its own interruption as the point's result.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send(run_point(point, patterns))
    conn.close()


class LocalBackend:
    """Points in forked processes on this machine, ``workers`` at a time."""

    def __init__(self, workers: int = 1):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        # fork: the child starts with rvai, NumPy and LLVM already imported.
        self._ctx = multiprocessing.get_context("fork")

    def start(self, point: Point, patterns: tuple) -> Any:
        """Start ``point`` in a new process; the handle is the result pipe's read end."""
        receive, send = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(target=_child, args=(point, patterns, send), daemon=True)
        # The child must not collect the garbage it inherits: a finaliser may take a lock that
        # another thread of this process held at the fork (a Ray ObjectRef's, left by a Ray sweep
        # in the same process, hung a child for good). Frozen objects are out of its collector's reach.
        gc.freeze()
        try:
            proc.start()
        finally:
            gc.unfreeze()
        send.close()
        receive.proc = proc   # Connection objects take attributes: the pipe names its process
        return receive

    def wait(self, handles: list, timeout: float) -> list:
        """The handles whose point finished (or whose process died) within ``timeout`` s."""
        return multiprocessing.connection.wait(handles, timeout)

    def result(self, handle, point: Point) -> dict:
        """The record the process sent, or an error record saying how it died."""
        try:
            record = handle.recv()
        except EOFError:   # the process ended without sending: it crashed
            record = None
        handle.close()
        handle.proc.join()
        if record is not None:
            return record
        code = handle.proc.exitcode
        how = (f"killed by signal {signal.Signals(-code).name}" if code is not None and code < 0
               else f"exited with status {code}")
        return point.record("error", f"worker crashed: the process running this point {how}")

    def kill(self, handle) -> None:
        """Stop the point's process."""
        handle.proc.kill()
        handle.proc.join()
        handle.close()

    def close(self) -> None:
        """Nothing to release: each process ends with its point."""


class RayBackend:
    """Points as Ray tasks, on the cluster at ``address`` (``"local"`` starts one on
    this machine); an already initialised Ray session is used as it is. ``workers``
    defaults to the cluster's CPUs."""

    def __init__(self, address: str | None = None, workers: int | None = None):
        try:
            import ray
        except ImportError:
            raise RuntimeError("--ray needs Ray: pip install 'rvai[ray]'") from None
        self._ray = ray
        self._owned = not ray.is_initialized()
        if self._owned:
            ray.init(address=None if address in (None, "local") else address,
                     include_dashboard=False, log_to_driver=False)
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._task = ray.remote(max_retries=0, num_cpus=1)(run_point)

    def start(self, point: Point, patterns: tuple) -> Any:
        """Submit ``point``; the handle is the task's object reference."""
        return self._task.remote(point, patterns)

    def wait(self, handles: list, timeout: float) -> list:
        """The handles whose task finished within ``timeout`` s."""
        ready, rest = self._ray.wait(handles, num_returns=1, timeout=timeout)
        if ready and rest:   # collect the others already done without waiting again
            ready += self._ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        return ready

    def result(self, handle, point: Point) -> dict:
        """The task's record, or an error record when its worker died."""
        try:
            return self._ray.get(handle)
        except self._ray.exceptions.RayError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return point.record("error", f"worker crashed: {type(exc).__name__}: {first}")

    def kill(self, handle) -> None:
        """Cancel the task, killing its worker process."""
        self._ray.cancel(handle, force=True)

    def close(self) -> None:
        """Shut Ray down if this backend started it."""
        if self._owned:
            self._ray.shutdown()
