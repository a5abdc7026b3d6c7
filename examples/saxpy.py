"""y = a*x + y in the rvai DSL: one strip-mined loop, compiled to vle/vfmacc.vf/vse."""
import sys

import numpy as np

import rvai.lang as rl


@rl.kernel
def saxpy(a: rl.f32, x: rl.Tensor[rl.f32], y: rl.Tensor[rl.f32]):
    """y = a * x + y, in place."""
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=4):
        y.vstore(a * x.vload(i) + y.vload(i), i)


if __name__ == "__main__":
    runner = sys.argv[1] if len(sys.argv) > 1 else "emu"
    x = np.arange(1000, dtype=np.float32)
    y = np.ones(1000, dtype=np.float32)
    print(saxpy.compile().asm)
    run = saxpy(2.0, x, y, runner=runner)
    assert np.array_equal(y, 2 * x + 1)
    print("saxpy ok:", run)
