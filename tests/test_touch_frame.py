"""``rl.touch_frame``: a volatile byte load from each cache line of the kernel's stack frame
and the stack arguments it reads, so that values LLVM spilled there stay in cache. The
frame's size is known only after codegen, so a kernel that touches it is compiled a second
time with the extent its first object's code uses. The touches must change no result (the
emulator and qemu agree with NumPy), cover every line the code's own stack accesses fall in,
whatever sp's place in a line (it is only 16-byte aligned), and reach no byte past them."""
import re

import numpy as np
import pytest

import rvai.lang as rl
from rvai import codegen
from rvai.codegen.lower import lower
from rvai.lang import f32
from rvai.target import Target
from tests.kernel_runners import RUNNERS, run

LINE = 64


@rl.kernel
def add_four(a: rl.Tensor[f32, 2], b: rl.Tensor[f32, 2], c: rl.Tensor[f32, 2], d: rl.Tensor[f32, 2],
             o: rl.Tensor[f32, 2]):
    """o = a + b + c + d, touching the frame once a row: five tensors are 20 integer
    arguments, 12 of them on the stack."""
    for i in rl.range(a.shape[0]):
        rl.touch_frame()
        for vl, j in rl.vloop(a.shape[1], lmul=2):
            o.vstore(a.vload(i, j) + b.vload(i, j) + c.vload(i, j) + d.vload(i, j), i, j)


@rl.kernel
def twice(x: rl.Tensor[f32, 1]):
    """x *= 2, touching a frame it does not have (three arguments, no spills)."""
    rl.touch_frame()
    for vl, j in rl.vloop(x.shape[0]):
        x.vstore(x.vload(j) * 2.0, j)


def _touches(asm: str) -> list[int]:
    return [int(o) for o in re.findall(r"lbu\s+zero,\s*(\d+)\(sp\)", asm)]


def _used(asm: str) -> list[tuple[int, int]]:
    """(offset, bytes) of every access through sp other than the touches, and the frame the
    prologue allocates (as one access from 0)."""
    width = {"b": 1, "h": 2, "w": 4, "d": 8}
    out = [(0, int(n)) for n in re.findall(r"addi\s+sp, sp, -(\d+)", asm)]
    for line in asm.splitlines():
        m = re.match(r"\s*f?[ls]([bhwd])u?\s+(\w+),\s*(-?\d+)\(sp\)", line)
        if m and not (m.group(2) == "zero" and m.group(1) == "b"):
            out.append((int(m.group(3)), width[m.group(1)]))
    return out


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("vlen", [128, 1024])
@pytest.mark.parametrize("rows, cols", [(1, 1), (3, 37), (16, 200)])
def test_touching_the_frame_changes_no_result(runner, vlen, rows, cols):
    rng = np.random.default_rng(rows * cols)
    a, b, c, d = (rng.standard_normal((rows, cols)).astype(np.float32) for _ in range(4))
    o = np.zeros((rows, cols), np.float32)
    run(add_four, a, b, c, d, o, runner=runner, vlen=vlen)
    np.testing.assert_array_equal(o, ((a + b) + c) + d)
    x = a[0].copy()
    run(twice, x, runner=runner, vlen=vlen)
    np.testing.assert_array_equal(x, a[0] * 2)


@pytest.mark.parametrize("preset", ["generic", "sifive-x280"])
def test_the_touches_cover_every_line_the_code_uses_and_nothing_past_it(preset):
    asm = add_four.compile(Target.preset(preset), checked=False).asm
    touched, used = _touches(asm), _used(asm)
    assert touched and used
    end = max(o + n for o, n in used)
    assert max(touched) < end
    for sp in range(0, LINE, 16):   # sp is 16-byte aligned: every place in a line
        lines = {(sp + o) // LINE for o, n in used for byte in (o, o + n - 1)}
        lines |= set(range(sp // LINE, (sp + end - 1) // LINE + 1))
        assert lines <= {(sp + o) // LINE for o in touched}, f"sp = {sp} mod 64"


def test_no_frame_no_touches():
    assert not _touches(twice.compile(Target.preset("generic"), checked=False).asm)


def test_stack_extent_counts_the_frame_and_the_arguments_read():
    asm = "\taddi\tsp, sp, -48\n\tsd\tra, 40(sp)\n\tfsd\tfs0, 0(sp)\n\tld\ta0, 96(sp)\n\tlw\ta1, 104(sp)\n"
    assert codegen.stack_extent(asm) == 108
    assert codegen.stack_extent("\taddi\tsp, sp, -32\n\tsh1add\ta0, a1, a2\n\tlui\ta0, 4\n") == 32
    assert codegen.stack_extent("\tret\n") == 0


@pytest.mark.parametrize("frame", range(8, 400, 8))
def test_the_lowered_touches_cover_a_frame_of_any_size_at_any_alignment(frame):
    """LLVM IR from :func:`rvai.codegen.lower.lower` with ``frame`` bytes: the byte offsets
    loaded reach every line of [sp, sp + frame) for each 16-byte aligned sp, none past it."""
    text, _, _ = lower(twice.trace(), frame=frame)
    touched = [int(o) for o in re.findall(r"getelementptr i8, ptr %\w+, i64 (\d+)", text)]
    assert max(touched) == frame - 1
    for sp in range(0, LINE, 16):
        assert set(range(sp // LINE, (sp + frame - 1) // LINE + 1)) <= {(sp + o) // LINE for o in touched}
