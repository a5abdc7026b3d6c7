"""``rl.touch_frame``: a volatile byte load from each cache line of the kernel's stack frame
and the stack arguments it reads, so that values LLVM spilled there stay in cache. The
frame's size is known only after codegen, so a kernel that touches it is compiled once with
placeholder loads whose offsets are patched into the object from the extent its own code
uses (rvai.codegen.frame). The touches must change no result (the emulator and qemu agree
with NumPy), cover every line the code's own stack accesses fall in, whatever sp's place in a
line (it is only 16-byte aligned), and reach no byte past them: read independently from
llvm-objdump's disassembly of the object, and from the timing model's L1 after a stream."""
import re
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rvai.lang as rl
from rvai import codegen, kernels
from rvai.codegen import frame
from rvai.codegen.lower import lower
from rvai.lang import f32
from rvai.target import Target
from tests.kernel_runners import RUNNERS, run

LINE = 64
OBJDUMP = shutil.which("llvm-objdump-22")
needs_objdump = pytest.mark.skipif(OBJDUMP is None, reason="needs llvm-objdump-22")


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


@rl.kernel
def add_four_never_touching(a: rl.Tensor[f32, 2], b: rl.Tensor[f32, 2], c: rl.Tensor[f32, 2], d: rl.Tensor[f32, 2],
                            o: rl.Tensor[f32, 2]):
    """:data:`add_four` (a frame of stack arguments) whose touch is in a loop of no trips:
    LLVM deletes it, placeholders and all."""
    for _ in rl.range(0):
        rl.touch_frame()
    for i in rl.range(a.shape[0]):
        for vl, j in rl.vloop(a.shape[1], lmul=2):
            o.vstore(a.vload(i, j) + b.vload(i, j) + c.vload(i, j) + d.vload(i, j), i, j)


def summing(tensors: int) -> rl.Kernel:
    """A kernel o[i] = sum of ``tensors`` 1-d tensors' element i, touching its frame once an
    element: each tensor is two integer arguments, those past the eighth on the stack (at
    ``tensors`` = 150, 292 of them: 2,336 bytes, past a load's reach from sp)."""
    names = [f"t{k}" for k in range(tensors)]
    src = (f"def summing({', '.join(f'{n}: rl.Tensor[f32, 1]' for n in names)}, o: rl.Tensor[f32, 1]):\n"
           f"    for i in rl.range(o.shape[0]):\n"
           f"        rl.touch_frame()\n"
           f"        o[i] = {' + '.join(f'{n}[i]' for n in names)}\n")
    scope = {"rl": rl, "f32": f32}
    exec(src, scope)
    return rl.kernel(scope["summing"])


def _dump(elf: bytes, tmp_path) -> str:
    """llvm-objdump's disassembly of the object's code."""
    path = tmp_path / "k.o"
    path.write_bytes(elf)
    return subprocess.run([OBJDUMP, "-d", "--mattr=+v,+zfh,+zvfh", str(path)], check=True, capture_output=True,
                          text=True).stdout


_SP = re.compile(r"\s(f?[ls])([bhwd])u?\s+(\w+),\s*(-?0x[0-9a-f]+)\(sp\)")


def _touches(dump: str) -> list[int]:
    """The offsets the touches load: every ``lbu zero, off(sp)``."""
    return [int(off, 16) for off in re.findall(r"lbu\s+zero,\s*(0x[0-9a-f]+)\(sp\)", dump)]


def _used(dump: str) -> list[tuple[int, int]]:
    """(offset, bytes) of every access through sp other than the touches, and the frame the
    prologue allocates (as one access from 0)."""
    width = {"b": 1, "h": 2, "w": 4, "d": 8}
    out = [(0, int(n, 16)) for n in re.findall(r"addi\s+sp, sp, -(0x[0-9a-f]+)", dump)]
    out += [(int(off, 16), width[w]) for op, w, reg, off in _SP.findall(dump) if (op, w, reg) != ("l", "b", "zero")]
    return out


def _lines(sp: int, first: int, last: int) -> set[int]:
    """The cache lines bytes sp + first .. sp + last fall in."""
    return set(range((sp + first) // LINE, (sp + last) // LINE + 1))


def _assert_touches_are_the_extents_lines(dump: str) -> None:
    """The touches load a byte of every line the code's own stack accesses (and its frame)
    fall in, at each 16-byte place of sp in a line, and nothing past the last byte used."""
    touched, used = _touches(dump), _used(dump)
    end = max((o + n for o, n in used), default=0)
    if end == 0:
        assert not touched
        return
    assert touched and max(touched) == end - 1 and min(touched) == 0
    for sp in range(0, LINE, 16):
        want = _lines(sp, 0, end - 1)
        assert {(sp + o) // LINE for o in touched} == want, f"sp = {sp} mod 64"


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


@needs_objdump
@pytest.mark.parametrize("case", [
    (add_four, "generic", {}), (add_four, "sifive-x280", {}),
    (kernels.gemm_packed, "xuantie-c930", {"types": {"a": f32, "bp": f32, "ap": f32}, "MR": 7, "KC": 1024, "PF": 1,
                                           "KTILE": True})], ids=["add_four-generic", "add_four-x280", "ktile-c930"])
def test_the_touches_cover_every_line_the_code_uses_and_nothing_past_it(case, tmp_path):
    kernel, preset, kw = case
    compiled = kernel.compile(Target.preset(preset), checked=False, **kw)
    dump = _dump(compiled.elf, tmp_path)
    _assert_touches_are_the_extents_lines(dump)
    # the assembly text says the same touches (its offsets in decimal)
    assert sorted(int(o) for o in re.findall(r"lbu\s+zero,\s*(\d+)\(sp\)", compiled.asm)) == sorted(_touches(dump))


@needs_objdump
def test_no_frame_no_touches(tmp_path):
    compiled = twice.compile(Target.preset("generic"), checked=False)
    assert not _touches(_dump(compiled.elf, tmp_path)) and not re.search(r"lbu\s+zero", compiled.asm)


@needs_objdump
def test_a_touch_llvm_deletes_leaves_nothing_to_patch(tmp_path):
    """A frame to touch, but no touch left in the code: it compiles (before, it asked for
    more placeholders forever), with no touches and the code's extent as it is."""
    compiled = add_four_never_touching.compile(Target.preset("generic"), checked=False)
    dump = _dump(compiled.elf, tmp_path)
    assert not _touches(dump) and _used(dump)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    o = np.zeros_like(a)
    run(add_four_never_touching, a, a, a, a, o, runner="emu", vlen=128)
    np.testing.assert_array_equal(o, 4 * a)


@needs_objdump
@settings(max_examples=6, deadline=None)
@given(tensors=st.sampled_from([1, 3, 20, 60, 100, 150]))
def test_a_frame_of_any_size_is_touched_whole(tensors, tmp_path_factory):
    """Stack arguments from none to past a load's reach (sp + 2047): the touches cover exactly
    the lines the object's code uses at sp + offset (at 100 tensors 27 a touch: more than
    the 16 placeholders of the first compile, so it is compiled again with more). Past
    sp + 2047 the code reaches its arguments through another base register: neither the
    extent nor the touches see them."""
    compiled = summing(tensors).compile(Target.preset("generic"), checked=False)
    _assert_touches_are_the_extents_lines(_dump(compiled.elf, tmp_path_factory.mktemp("obj")))


def test_stack_extent_counts_the_frame_and_the_arguments_read_not_the_touches():
    asm = "\taddi\tsp, sp, -48\n\tsd\tra, 40(sp)\n\tfsd\tfs0, 0(sp)\n\tld\ta0, 96(sp)\n\tlw\ta1, 104(sp)\n"
    assert codegen.stack_extent(asm) == 108
    assert codegen.stack_extent(asm + "\tlbu\tzero, 2047(sp)\n") == 108
    assert codegen.stack_extent("\taddi\tsp, sp, -32\n\tsh1add\ta0, a1, a2\n\tlui\ta0, 4\n") == 32
    assert codegen.stack_extent("\tret\n") == 0


@given(extent=st.integers(0, frame.REACH + 1), sp=st.sampled_from(range(0, LINE, 16)))
def test_the_offsets_reach_every_line_of_an_extent_and_nothing_past_it(extent, sp):
    offsets = frame.offsets(extent)
    assert len(offsets) <= frame.MOST
    if extent == 0:
        assert offsets == []
        return
    assert min(offsets) == 0 and max(offsets) == extent - 1
    assert {(sp + o) // LINE for o in offsets} == _lines(sp, 0, extent - 1)


def test_the_lowering_gives_each_touch_its_placeholders_and_nothing_else_depends_on_the_extent():
    """The LLVM IR holds ``touches`` loads at distinct placeholder offsets a touch, and is
    the same text whatever the frame turns out to be (there is no frame to give it)."""
    text, _, _ = lower(twice.trace(), touches=5)
    loaded = [int(o) for o in re.findall(r"getelementptr i8, ptr %\w+, i64 (\d+)", text)]
    assert loaded == [frame.marker(i) for i in range(5)] and len(set(loaded)) == 5
    assert text.count("load volatile i8") == 5 and frame.used(text)
    assert not frame.used(lower(kernels.softmax.trace(LMUL=1))[0])
