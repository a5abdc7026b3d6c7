"""Generated small kernels: every combination of dtypes, vector shapes (SEW/LMUL), targets
and operations either compiles or raises KernelError at the author's line, never another
exception or an LLVM abort; and the bugs the generator found, checked against NumPy."""
import inspect
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rvai.lang as rl
from rvai.runner import NUMPY_DTYPES
from rvai.target import Target

DTYPES = [rl.f16, rl.bf16, rl.f32, rl.f64, rl.i8, rl.i16, rl.i32, rl.i64, rl.u8, rl.u16, rl.u32, rl.u64]

#: name -> how the op combines a and b (each a scalar or a vector of its dtype)
OPS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "truediv": lambda a, b: a / b, "floordiv": lambda a, b: a // b, "mod": lambda a, b: a % b,
    "and": lambda a, b: a & b, "or": lambda a, b: a | b, "xor": lambda a, b: a ^ b,
    "shl": lambda a, b: a << b, "shr": lambda a, b: a >> b, "lt": lambda a, b: a < b,
    "min": rl.minimum, "max": rl.maximum, "fma": lambda a, b: rl.fma(a, b, a),
    "where": lambda a, b: rl.where(a < b, a, b), "sqrt": lambda a, b: rl.sqrt(a), "abs": lambda a, b: abs(a),
    "neg": lambda a, b: -a, "exp": lambda a, b: rl.exp(a), "sum": lambda a, b: a.sum(),
    "to": lambda a, b: a.to(b.dtype), "bitcast": lambda a, b: a.bitcast(b.dtype),
    "splat": lambda a, b: rl.full(a, b.dtype), "arange": lambda a, b: rl.arange(a.dtype),
}


@rl.kernel
def generated(x: rl.Tensor[None, 1], y: rl.Tensor[None, 1], o: rl.Tensor[None, 1], OP, VA, VB, SEW, LMUL):
    for vl, i in rl.vloop(x.shape[0], sew=SEW, lmul=LMUL):
        a = x.vload(i) if VA else x[i]
        b = y.vload(i) if VB else y[0]
        r = OPS[OP](a, b)  # op
        if isinstance(r, rl.Vector):
            o.vstore(r, i)
        else:
            o[0] = r


@settings(max_examples=80)
@given(da=st.sampled_from(DTYPES), db=st.sampled_from(DTYPES), do=st.sampled_from(DTYPES),
       op=st.sampled_from(sorted(OPS)), va=st.booleans(), vb=st.booleans(),
       sew=st.sampled_from([8, 16, 32, 64]), lmul=st.sampled_from([0.25, 1, 4, 8]),
       target=st.sampled_from(["generic", "generic-novfh"]), same=st.sampled_from(["", "b", "o", "bo"]))
def test_generated_kernels_compile_or_fail_clearly(da, db, do, op, va, vb, sew, lmul, target, same):
    # mostly matching dtypes, so the draws get past the first type error
    types = {"x": da, "y": da if "b" in same else db, "o": da if "o" in same else do}
    try:
        compiled = generated.compile(Target.preset(target), types=types, OP=op, VA=va, VB=vb, SEW=sew, LMUL=lmul,
                                     checked=False)
    except rl.KernelError as exc:
        assert exc.filename == __file__ and exc.lineno > 0, exc   # a line of this file: the kernel or OPS
        return
    assert compiled.elf[:4] == b"\x7fELF"


@pytest.mark.parametrize("dtype", ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64"])
def test_integer_scalar_arguments_arrive_unchanged_or_are_refused(dtype):
    dt = getattr(rl, dtype)

    @rl.kernel
    def store(o: rl.Tensor[None, 1], n: dt):
        o[0] = n

    info = np.iinfo(NUMPY_DTYPES[dtype])
    o = np.zeros(1, NUMPY_DTYPES[dtype])
    for good in (info.min, info.max, 0, np.int64(1), 7.0):
        store(o, good)
        assert o[0] == good
    for bad, exc in ((info.min - 1, OverflowError), (int(info.max) + 1, OverflowError), (2.5, TypeError),
                     (np.ones(2), TypeError), ("3", TypeError)):
        with pytest.raises(exc, match=f"kernel store: n \\({dtype}\\)"):
            store(o, bad)


def test_f16_vectors_without_zvfh_are_an_error_not_an_abort():
    @rl.kernel
    def half(x: rl.Tensor[rl.f16]):
        for vl, i in rl.vloop(x.shape[0], sew=16):
            x.vstore(x.vload(i) * 2.0, i)  # here
    with pytest.raises(rl.KernelError, match="needs the Zvfh extension, which target 'generic-novfh' lacks") as info:
        half.compile(Target.preset("generic-novfh"))
    src, start = inspect.getsourcelines(half.fn)
    assert info.value.lineno == start + next(i for i, s in enumerate(src) if "# here" in s)
    x = np.arange(5, dtype=np.float16)
    half(x)                                   # the default target has Zvfh
    np.testing.assert_array_equal(x, np.arange(5, dtype=np.float16) * 2)


def test_bf16_splat_holds_the_rounded_bits():
    @rl.kernel
    def fill(o: rl.Tensor[rl.bf16], v: rl.f32):
        for vl, i in rl.vloop(o.shape[0], sew=16):
            o.vstore(rl.full(v, rl.bf16), i)
    o = np.zeros(19, np.uint16)
    fill(o, 1.0 + 2.0 ** -9)                  # ties to even: rounds to 1.0
    bits = np.float32(1.0 + 2.0 ** -9).view(np.uint32)
    want = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    np.testing.assert_array_equal(o, np.full(19, want, np.uint16))


def test_broken_llvm_ir_with_debug_info_is_an_exception_not_an_abort():
    # LLVM's parser aborts on a broken module that carries debug info; run it apart, so a
    # regression fails this test instead of killing the test run.
    code = """if True:
        import rvai.lang as rl
        from rvai.codegen.backend import compile_llvm_ir
        from rvai.codegen.lower import lower
        from rvai.target import Target

        @rl.kernel
        def k(x: rl.Tensor[rl.f32]):
            x[0] = x[1]
        text = lower(k.trace())[0]
        assert "!llvm.dbg.cu" in text
        try:
            compile_llvm_ir(text.replace("ret void", "ret i32 0"), Target.default())
        except RuntimeError as exc:
            print("RuntimeError", exc)
        """
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("RuntimeError")
