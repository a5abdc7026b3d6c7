"""The DSL's AI-kernel ops (bf16 FMA and conversions, ``dot4``, integer ``fma`` = vwmacc,
``mma``) against NumPy models written from their definitions, on targets with the
extensions (c930: Zvqdotq, Zvfbfmin/Zvfbfwma; spacemit-x60: IME) and without them
(generic: the plain-RVV lowerings, also run under qemu-user as an independent oracle)."""
import inspect
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rvai.lang as rl
from kernel_runners import RUNNERS, VLENS, run
from rvai.target import Target

SETTINGS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: (runner, preset, VLENs): the presets that lower each op differently.
PLACES = [(r, None, VLENS) for r in RUNNERS] + [("emu", "xuantie-c930", [256, 512, 1024])]
CASES = [pytest.param(getattr(r, "values", [r])[0], p, v, marks=getattr(r, "marks", ()),
                      id=f"{getattr(r, 'values', [r])[0]}-{p or 'generic'}-{v}")
         for r, p, vs in PLACES for v in vs]
WORD = {True: np.int32, False: np.uint32}
BYTE = {True: np.int8, False: np.uint8}


def asm_of(kern, preset, **kw):
    return kern.compile(Target.preset(preset), **kw).asm


@rl.kernel
def dot_vv(acc: rl.Tensor[rl.i32], a: rl.Tensor[None], b: rl.Tensor[None]):
    for vl, i in rl.vloop(acc.shape[0], sew=32, lmul=2):
        acc.vstore(rl.dot4(acc.vload(i), a.vload(i), b.vload(i)), i)


@rl.kernel
def dot_vx(acc: rl.Tensor[rl.i32], a: rl.Tensor[None], b: rl.Tensor[None]):
    for vl, i in rl.vloop(acc.shape[0], sew=32, lmul=1):
        acc.vstore(rl.dot4(acc.vload(i), a.vload(i), b[0]), i)


def dot_model(acc, a, b):
    """acc + the 4-byte dot products of the words of a and b (b broadcast), modulo 2^32."""
    pa = a.view(BYTE[a.dtype == np.int32]).reshape(-1, 4).astype(np.int64)
    pb = b.view(BYTE[b.dtype == np.int32]).reshape(-1, 4).astype(np.int64)
    return ((acc.astype(np.int64) + (pa * pb).sum(axis=1)) % 2**32).astype(np.uint32).view(np.int32)


@pytest.mark.parametrize("runner,preset,vlen", CASES)
@SETTINGS
@given(n=st.integers(0, 90), sa=st.booleans(), sb=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_dot4(runner, preset, vlen, n, sa, sb, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(WORD[sa])
    b = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(WORD[sb])
    acc = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.int32)
    got = acc.copy()
    run(dot_vv, got, a, b, runner=runner, vlen=vlen, preset=preset)
    assert np.array_equal(got, dot_model(acc, a, b))
    w = b[:1] if n else np.ones(1, WORD[sb])
    got = acc.copy()
    run(dot_vx, got, a, w, runner=runner, vlen=vlen, preset=preset)
    assert np.array_equal(got, dot_model(acc, a, np.resize(w, n)))


def test_dot4_instructions():
    """Zvqdotq where the target has it (every signedness pairing), shifts and vmacc where not."""
    for sa, sb, name in [(True, True, "vqdot.vv"), (False, False, "vqdotu.vv"), (True, False, "vqdotsu.vv"),
                         (False, True, "vqdotsu.vv")]:
        types = {"a": rl.i32 if sa else rl.u32, "b": rl.i32 if sb else rl.u32}
        assert name in asm_of(dot_vv, "xuantie-c930", types=types)
    assert "vqdotus.vx" in asm_of(dot_vx, "xuantie-c930", types={"a": rl.u32, "b": rl.i32})
    generic = asm_of(dot_vv, "generic", types={"a": rl.i32, "b": rl.i32})
    assert "vqdot" not in generic and "vmacc.vv" in generic


@rl.kernel
def wmacc(acc: rl.Tensor[None], a: rl.Tensor[None], b: rl.Tensor[None], s: rl.Tensor[None]):
    for vl, i in rl.vloop(acc.shape[0], sew=16, lmul=2):
        v = rl.fma(a.vload(i), b.vload(i), acc.vload(i))
        acc.vstore(rl.fma(s[0], b.vload(i), v), i)


@pytest.mark.parametrize("runner,preset,vlen", CASES[:len(VLENS) * len(RUNNERS)])
@SETTINGS
@given(n=st.integers(0, 90), sa=st.booleans(), sb=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_widening_integer_fma(runner, preset, vlen, n, sa, sb, seed):
    """acc (16-bit) + a * b + s * b (s a scalar of a's type): products of 8-bit integers
    exact, sums modulo 2^16; acc unsigned only when a and b both are."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, n).astype(np.uint8).view(BYTE[sa])
    b = rng.integers(0, 256, n).astype(np.uint8).view(BYTE[sb])
    s = rng.integers(0, 256, 1).astype(np.uint8).view(BYTE[sa])
    acc = rng.integers(0, 2**16, n).astype(np.uint16).view(np.int16 if sa or sb else np.uint16)
    want = (acc.astype(np.int64) + a.astype(np.int64) * b + np.int64(s[0]) * b) % 2**16
    got = acc.copy()
    run(wmacc, got, a, b, s, runner=runner, vlen=vlen, preset=preset)
    assert np.array_equal(got.view(np.uint16), want.astype(np.uint16))


def test_widening_integer_fma_instructions():
    asm = asm_of(wmacc, "generic", types={"acc": rl.i16, "a": rl.i8, "b": rl.i8, "s": rl.i8})
    assert "vwmacc.vv" in asm and "vwmacc.vx" in asm
    asm = asm_of(wmacc, "generic", types={"acc": rl.u16, "a": rl.u8, "b": rl.u8, "s": rl.u8})
    assert "vwmaccu.vv" in asm and "vwmaccu.vx" in asm
    asm = asm_of(wmacc, "generic", types={"acc": rl.i16, "a": rl.u8, "b": rl.i8, "s": rl.u8})
    assert "vwmaccsu.vv" in asm and "vwmaccus.vx" in asm
    asm = asm_of(wmacc, "generic", types={"acc": rl.i16, "a": rl.i8, "b": rl.u8, "s": rl.i8})
    assert "vwmaccsu.vv" in asm and "vwmaccsu.vx" in asm


def bf16_bits(x):
    """f32 values rounded to bf16 bit patterns, nearest even (finite inputs)."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_value(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


@rl.kernel
def bf16_ops(acc: rl.Tensor[rl.f32], a: rl.Tensor[rl.bf16], b: rl.Tensor[rl.bf16], s: rl.Tensor[rl.bf16],
             out: rl.Tensor[rl.bf16], wide: rl.Tensor[rl.f32]):
    for vl, i in rl.vloop(acc.shape[0], sew=32, lmul=2):
        r = rl.fma(s[0], b.vload(i), rl.fma(a.vload(i), b.vload(i), acc.vload(i)))
        acc.vstore(r, i)
        out.vstore(r.to(rl.bf16), i)
        wide.vstore(a.vload(i).to(rl.f32), i)
    for i in rl.range(acc.shape[0]):                     # the scalar conversions (Zfbfmin on c930)
        wide[acc.shape[0] + i] = s[0].to(rl.f32)
        out[acc.shape[0] + i] = acc[i].to(rl.bf16)


@pytest.mark.parametrize("runner,preset,vlen", CASES)
@SETTINGS
@given(n=st.integers(0, 90), seed=st.integers(0, 2**32 - 1))
def test_bf16(runner, preset, vlen, n, seed):
    """Two chained widening FMAs, each one f32 rounding of the exact bf16 product plus acc
    (float64 holds product and sum exactly enough: 16 significant bits of product plus 24
    of acc within 2^40 of each other round once), then conversions both ways."""
    rng = np.random.default_rng(seed)
    a, b, s = (bf16_bits(rng.standard_normal(k) * 8) for k in (n, n, 1))
    acc = (rng.standard_normal(n) * 8).astype(np.float32)
    got, out, wide = acc.copy(), np.zeros(2 * n, np.uint16), np.zeros(2 * n, np.float32)
    run(bf16_ops, got, a, b, s, out, wide, runner=runner, vlen=vlen, preset=preset)
    fa, fb, fs = bf16_value(a).astype(np.float64), bf16_value(b).astype(np.float64), float(bf16_value(s)[0])
    first = (fa * fb + acc).astype(np.float32)
    want = (fs * fb + first).astype(np.float32)
    assert np.array_equal(got, want)
    assert np.array_equal(out, np.concatenate([bf16_bits(want), bf16_bits(want)]))
    assert np.array_equal(wide, np.concatenate([bf16_value(a), np.full(n, fs, np.float32)]))


def test_bf16_instructions():
    asm = asm_of(bf16_ops, "xuantie-c930")
    for name in ("vfwmaccbf16.vv", "vfwmaccbf16.vf", "vfncvtbf16.f.f.w", "vfwcvtbf16.f.f.v", "fcvt.bf16.s"):
        assert name in asm
    generic = [ln for ln in asm_of(bf16_ops, "generic").splitlines() if ln.startswith("\tv")]
    assert generic and not any("bf16" in ln for ln in generic)


@rl.kernel
def tile(c: rl.Tensor[rl.i32, 2], a: rl.Tensor[None, 2], b: rl.Tensor[None, 2], M: int = 4, LMUL: int = 2):
    for t in rl.range(c.shape[0]):
        with rl.vector(M * M, sew=32, lmul=LMUL):
            acc = c.vload(t, 0)
            with rl.vector(2 * M * M, sew=8, lmul=LMUL / 2):
                av, bv = a.vload(t, 0), b.vload(t, 0)
            c.vstore(rl.mma(acc, av, bv, (M, M, 2 * M)), t, 0)


def tile_model(c, a, b, m):
    k = 2 * m
    prod = np.einsum("tik,tjk->tij", a.reshape(-1, m, k).astype(np.int64), b.reshape(-1, m, k).astype(np.int64))
    return ((c.astype(np.int64) + prod.reshape(c.shape)) % 2**32).astype(np.uint32).view(np.int32)


TILE_CASES = [("generic", 128, 4, 4), ("generic", 256, 4, 2), ("generic", 512, 4, 1), ("generic", 1024, 8, 2),
              ("spacemit-x60", 256, 4, 2), ("spacemit-x60", 1024, 8, 2), ("spacemit-x60", 512, 4, 1)]


@pytest.mark.parametrize("preset,vlen,m,lmul", TILE_CASES)
@SETTINGS
@given(tiles=st.integers(1, 5), sa=st.booleans(), sb=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_mma(preset, vlen, m, lmul, tiles, sa, sb, seed):
    """One kernel source: IME on the X60 at VLEN 256 and 1024 (the IME tile shapes), vector
    code elsewhere (and on the X60 at 512, where IME defines no tile)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (tiles, 2 * m * m)).astype(np.uint8).view(BYTE[sa])
    b = rng.integers(0, 256, (tiles, 2 * m * m)).astype(np.uint8).view(BYTE[sb])
    c = rng.integers(-2**31, 2**31, (tiles, m * m)).astype(np.int32)
    got = c.copy()
    run(tile, got, a, b, M=m, LMUL=lmul, runner="emu", vlen=vlen, preset=preset, specialise=True)
    assert np.array_equal(got, tile_model(c, a, b, m))
    asm = tile.compile(Target.preset(preset).with_vlen(vlen), types={"a": rl.i8 if sa else rl.u8,
                                                                      "b": rl.i8 if sb else rl.u8},
                       vlen=vlen, M=m, LMUL=lmul).asm
    ime = preset == "spacemit-x60" and vlen != 512
    assert ("smt.vmadot" in asm) == ime and ("vrgather" in asm) != ime and "sf.vc" not in asm


@pytest.mark.skipif(shutil.which("llvm-objdump-22") is None, reason="needs llvm-objdump-22")
def test_mma_object_disassembles_as_ime(tmp_path):
    """The patched object holds smt.vmadot* words that LLVM's own disassembler reads so,
    with the register fields LLVM allocated (the assembly text says the same)."""
    t = Target.preset("spacemit-x60")
    names = {(True, True): "smt.vmadot", (False, False): "smt.vmadotu", (True, False): "smt.vmadotsu",
             (False, True): "smt.vmadotus"}
    for (sa, sb), name in names.items():
        ck = tile.compile(t, types={"a": rl.i8 if sa else rl.u8, "b": rl.i8 if sb else rl.u8}, vlen=256)
        path = tmp_path / "k.o"
        path.write_bytes(ck.elf)
        dis = subprocess.run(["llvm-objdump-22", "-d", "--mattr=+v,+xsmtvdot", str(path)], capture_output=True,
                             text=True, check=True).stdout
        ours = [ln[ln.index("smt."):].strip().replace("\t", " ") for ln in ck.asm.splitlines() if "smt." in ln]
        theirs = [ln[ln.index("smt."):].strip().replace("\t", " ") for ln in dis.splitlines() if "smt." in ln]
        assert ours and ours == theirs and all(x.startswith(name + " ") for x in ours), (ours, theirs)


def test_type_errors_name_the_source_line():
    """Mistakes in these ops are KernelErrors at the author's line, with what was expected."""
    def check(kern, text, words):
        with pytest.raises(rl.KernelError, match=words) as info:
            kern.trace()
        src, start = inspect.getsourcelines(kern.fn)
        assert info.value.filename == __file__
        assert info.value.lineno == start + next(i for i, s in enumerate(src) if text in s)

    @rl.kernel
    def narrow_acc(acc: rl.Tensor[rl.i16], a: rl.Tensor[rl.i16]):
        for vl, i in rl.vloop(acc.shape[0], sew=16):
            acc.vstore(rl.fma(a.vload(i), a.vload(i), acc.vload(i)), i)  # here
    check(narrow_acc, "# here", "vwmacc multiplies two integers of one width into twice it: got i16 \\* i16 into i16")

    @rl.kernel
    def bytes_not_words(acc: rl.Tensor[rl.i32], a: rl.Tensor[rl.i8]):
        for vl, i in rl.vloop(acc.shape[0], sew=32):
            acc.vstore(rl.dot4(acc.vload(i), a.vload(i), a.vload(i)), i)  # here
    check(bytes_not_words, "# here", "vdot4\\(acc: i32\\|u32 vec, a: i32\\|u32 vec of 4 packed bytes")

    @rl.kernel
    def bad_tile(c: rl.Tensor[rl.i32], a: rl.Tensor[rl.i8]):
        with rl.vector(16, sew=32, lmul=2):
            acc = c.vload(0)
            with rl.vector(32, sew=8, lmul=1):
                av = a.vload(0)
            c.vstore(rl.mma(acc, av, av, (4, 4, 4)), 0)  # here
    check(bad_tile, "# here", "M = N and K = 2N, got 4 x 4 x 4")

    @rl.kernel
    def bf16_fma_into_bf16(a: rl.Tensor[rl.bf16]):
        for vl, i in rl.vloop(a.shape[0], sew=16):
            a.vstore(rl.fma(a.vload(i), a.vload(i), a.vload(i)), i)  # here
    check(bf16_fma_into_bf16, "# here", "fma operands must share one float type")


def _cycles_each(target, setup: list[str], body: list[str]) -> float:
    """Cycles per instruction of independent copies of ``body`` (rdcycle around 16 and 48 copies)."""
    from rvai.emu import Machine
    from rvai.emu.isa import assemble
    counts = []
    for n in (16, 48):
        words = [assemble(t) for t in setup + ["rdcycle a2"] + [body[i % len(body)] for i in range(n)]
                 + ["rdcycle a3", "sub a0, a3, a2", "jalr zero, 0(ra)"]]
        m = Machine(target, timed=True)
        m.map(0x10000, 4096, "rx")
        m.write(0x10000, np.array(words, np.uint32))
        counts.append(m.call(0x10000, ret="u64"))
    return (counts[1] - counts[0]) / 32


def test_preset_costs_of_the_new_instructions():
    """X60: one smt.vmadot a cycle (the K1's 2.0 TOPS, docs in the preset); C930: vqdot and
    vfwmaccbf16 one beat per register group written (assumed, as the DLEN rule prices them),
    on each of its two arithmetic / FP pipes."""
    x60, c930 = Target.preset("spacemit-x60"), Target.preset("xuantie-c930")
    vmadot = [f"smt.vmadot v{d}, v8, v16" for d in (0, 2, 4, 6, 24, 26, 28, 30)]
    assert _cycles_each(x60, ["vsetvli t0, zero, e8, m1, ta, ma"], vmadot) == pytest.approx(1.0)
    for lmul in (1, 2, 4):
        qdot = [f"vqdot.vv v{d}, v8, v16" for d in range(24, 32, lmul)]
        units = c930.model["pipes"]["arith"]
        assert _cycles_each(c930, [f"vsetvli t0, zero, e32, m{lmul}, ta, ma"], qdot) == pytest.approx(lmul / units)
        wma = [f"vfwmaccbf16.vv v{d}, v8, v16" for d in range(0, 8, 2 * lmul)] if lmul < 4 else \
            ["vfwmaccbf16.vv v0, v8, v16", "vfwmaccbf16.vv v24, v8, v16"]
        units = c930.model["pipes"]["fp"]
        assert _cycles_each(c930, [f"vsetvli t0, zero, e16, m{lmul}, ta, ma"], wma) == pytest.approx(2 * lmul / units)


def test_mma_vector_lowering_refuses_tiles_its_byte_indices_cannot_reach():
    """16 x 16 x 32 tiles (512 bytes of A) would need gathers past 8-bit indices: a clear
    error at compile time, at the kernel's line, never wrong lanes."""
    with pytest.raises(rl.KernelError, match="at most 256 bytes: 16 x 32 is 512") as info:
        tile.compile(Target.preset("generic").with_vlen(4096), types={"a": rl.i8, "b": rl.i8}, vlen=4096, M=16,
                     LMUL=2)
    assert info.value.filename == __file__ and "rl.mma" in inspect.getsource(tile.fn).splitlines()[
        info.value.lineno - inspect.getsourcelines(tile.fn)[1]]
