"""Workloads for tests/test_sweep*.py's ``kind = "python"`` points: ones that misbehave
in the ways a sweep must survive, and one that runs a real kernel."""
import faulthandler
import gc
import os
import signal
import time

import numpy as np


def crash_worker(target):
    """Kill the worker process the way a bug in native code would."""
    faulthandler.disable()   # pytest's handler would print this process's traceback
    os.kill(os.getpid(), signal.SIGSEGV)


def hang(target):
    """Never finish (the point's timeout must stop it)."""
    while True:
        time.sleep(1)


def saxpy_run(target, n: int = 64):
    """A real kernel run, returning its rvai Run."""
    import rvai.lang as rl

    @rl.kernel
    def saxpy(a: rl.f32, x: rl.Tensor[rl.f32], y: rl.Tensor[rl.f32]):
        for vl, i in rl.vloop(x.shape[0], sew=32, lmul=1):
            y.vstore(a * x.vload(i) + y.vload(i), i)

    return saxpy(2.0, np.arange(n, dtype=np.float32), np.ones(n, np.float32), target=target)


def saxpy_pair(target):
    """Two kernel runs as one workload, the second weighted 3 (as a sampled operator is)."""
    return [saxpy_run(target, 64), (saxpy_run(target, 256), 3)]


def collect_then_saxpy(target):
    """A full garbage collection in the worker, then :func:`saxpy_run`."""
    gc.collect()
    return saxpy_run(target)
