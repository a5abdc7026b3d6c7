"""rvai.ops.matmul on f32 and f16 inputs, checked against NumPy, with the kernel's assembly."""
import sys

import numpy as np

import rvai.lang as rl
from rvai import ops
from rvai.kernels import matmul

if __name__ == "__main__":
    runner = sys.argv[1] if len(sys.argv) > 1 else "emu"
    rng = np.random.default_rng(0)
    a = rng.standard_normal((33, 70)).astype(np.float32)
    b = rng.standard_normal((70, 17)).astype(np.float32)
    for dtype in (np.float32, np.float16):
        c = ops.matmul(a.astype(dtype), b.astype(dtype), runner=runner)
        ref = a.astype(dtype).astype(np.float64) @ b.astype(dtype).astype(np.float64)
        run = ops.last_run
        assert np.abs(c - ref).max() <= 1e-4 * np.abs(ref).max(), f"{np.dtype(dtype).name} matmul differs from NumPy"
        print(f"{np.dtype(dtype).name}: max |err| {np.abs(c - ref).max():.2e}, cycles {run.cycles}, "
              f"instructions {run.instret}")
    print(matmul.compile(types={"a": rl.f32, "b": rl.f32, "bp": rl.f32, "ap": rl.f32}).asm)
