"""GEMM/GEMV kernels, ops.matmul/ops.linear, the widening FMA and the autotuner.

Oracles: float64 NumPy products (with the error bound of the kernels' blocked
summation), exact integer arithmetic for the long-K cases, and re-running a kernel
for the tuner's reported cycles.
"""
import ast
import dataclasses
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rvai.lang as rl
from kernel_runners import RUNNERS, VLENS, run, target
from rvai import kernels, ops, runner, tune
from rvai.lang import f16, f32
from rvai.lang.kernel import checked_default
from rvai.emu.profile import timing_params
from rvai.target import Target

SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
odd = st.sampled_from([1, 2, 3, 5, 7, 8, 13, 17, 31, 37])
U = 2.0 ** -24


def ref_bound(a, b, k_terms):
    """|c - a@b| allowed: gamma(k_terms) * |a| @ |b| (float64), plus a tiny absolute slack."""
    return k_terms * U / (1 - k_terms * U) * (np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)) + 1e-30


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data(), m=odd, k=odd, n=odd, dtype=st.sampled_from([np.float32, np.float16]))
def test_linear_matches_numpy(runner, vlen, data, m, k, n, dtype):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(-2, 2, (m, k)).astype(dtype)
    w = rng.uniform(-2, 2, (n, k)).astype(dtype)
    t = target(runner, vlen, "generic")   # under qemu too: f16 then widens by vfwcvt (QEMU 7.2 lacks Zvfh)
    packed = ops.pack_weights(w, target=t)
    y = run(ops.linear, x, packed, runner=runner, vlen=vlen, preset="generic")
    want = x.astype(np.float64) @ w.T.astype(np.float64)
    assert y.dtype == np.float32 and y.shape == (m, n)
    assert np.all(np.abs(y - want) <= ref_bound(x, w.T, k + 1))
    # an unpacked weight array gives the same numbers
    assert np.array_equal(run(ops.linear, x, w, runner=runner, vlen=vlen, preset="generic"), y)


@pytest.mark.parametrize("vlen", [128, 512])
@SETTINGS
@given(data=st.data(), m=odd, k=odd, n=odd, extra=st.integers(0, 40))
def test_linear_into_a_wider_output(vlen, data, m, k, n, extra):
    """``out=``: x @ w.T is added into out's first N columns; the columns past N keep their values."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(-2, 2, (m, k)).astype(np.float32)
    w = rng.uniform(-2, 2, (n, k)).astype(np.float32)
    out = rng.uniform(-2, 2, (m, n + extra)).astype(np.float32)
    before = out.copy()
    y = run(ops.linear, x, ops.pack_weights(w, target=target("emu", vlen, "generic")), out=out, runner="emu",
            vlen=vlen, preset="generic")
    assert y is out
    want = before[:, :n].astype(np.float64) + x.astype(np.float64) @ w.T.astype(np.float64)
    assert np.all(np.abs(y[:, :n] - want) <= ref_bound(x, w.T, k + 2) + 4 * U * np.abs(before[:, :n]))
    assert np.array_equal(y[:, n:], before[:, n:])
    bad_outs = [np.zeros((m, n - 1), np.float32), np.zeros((m + 1, n), np.float32), np.zeros((m, n))]
    if m > 1:
        bad_outs.append(np.zeros((m, n + 1), np.float32)[:, 1:])    # rows not contiguous
    for bad in bad_outs:
        with pytest.raises(ValueError, match="out must be"):
            ops.linear(x, w, out=bad)


@pytest.mark.parametrize("preset", ["generic", "spacemit-x60", "xuantie-c930"])   # vwmacc, IME, vqdot
@pytest.mark.parametrize("dtype", ["bf16", "q8_0"])
def test_linear_into_a_wider_output_every_weight_format(dtype, preset):
    """``out=`` gives the bf16 and Q8_0 paths' own numbers in out's first N columns (IME: added on the host)."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((9, 70)).astype(np.float32), rng.standard_normal((37, 70)).astype(np.float32)
    t = Target.preset(preset)
    packed = ops.pack_weights(w, target=t, dtype=dtype)
    out = np.zeros((9, 37 + 27), np.float32)
    assert ops.linear(x, packed, out=out, target=t) is out
    assert np.array_equal(out[:, :37], ops.linear(x, packed, target=t)) and not out[:, 37:].any()


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data(), m=odd, k=odd, n=odd, dtype=st.sampled_from([np.float32, np.float16]))
def test_matmul_transposed_b(runner, vlen, data, m, k, n, dtype):
    """``a @ w.T`` for a row-major w (torch's layout): the kernel gets w as it lies and
    transposes it in its own cycles (matmul_t), or reads its rows as dot products for
    few rows (gemv_t); the product is within the blocked-summation bound of float64."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    a = rng.uniform(-2, 2, (m, k)).astype(dtype)
    w = rng.uniform(-2, 2, (n, k)).astype(dtype)
    c = run(ops.matmul, a, w.T, runner=runner, vlen=vlen, preset="generic")   # f16 as in test_linear_matches_numpy
    want = a.astype(np.float64) @ w.T.astype(np.float64)
    assert c.dtype == np.float32 and c.shape == (m, n)
    assert np.all(np.abs(c - want) <= ref_bound(a, w.T, k + 2))
    if n > 1 and k > 1:   # else w.T is row-major too
        assert ops.last_run.compiled.name == ("gemv_t" if m <= ops.GEMV_ROWS else "matmul_t")


@pytest.mark.parametrize("cfg", kernels.gemv_t.autotune.configs, ids=lambda c: "-".join(map(str, c.values())))
def test_every_gemv_t_config_is_correct(cfg):
    """Each gemv_t candidate on rows of bt that leave every remainder of NB, and K with
    and without a tail block, against float64."""
    rng = np.random.default_rng(7)
    for k in (1, 45, 3 * kernels.panel_width(256, cfg["LMUL"]) + 5):
        n = 2 * cfg["NB"] + cfg["NB"] - 1
        a = rng.standard_normal((2, k)).astype(np.float32)
        bt = rng.standard_normal((n, k)).astype(np.float32)
        c = rng.standard_normal((2, n)).astype(np.float32)
        want = c.astype(np.float64) + a.astype(np.float64) @ bt.T
        kernels.gemv_t(a, bt, c, **cfg)
        assert np.all(np.abs(c - want) <= ref_bound(a, bt.T, k + 2) + 2 * U * np.abs(want))


def test_a_is_copied_only_where_its_rows_crowd_an_l1_set():
    """A power-of-two row of 16 KiB puts every row of a tile into one L1 set of each preset:
    A is copied into padded rows where the tile's rows fill the set's ways (4 on generic,
    spacemit-x60 and xuantie-c930; sifive-x280's 8 hold a 7-row tile and leave a way for B
    and C, not an 8-row one). 896 floats a row (3.5 KiB) spread the rows over different
    sets: A is read in place."""
    for name in ("generic", "spacemit-x60", "sifive-x280", "xuantie-c930"):
        t = Target.preset(name)
        for mr in (4, 7, 8):
            copied = name != "sifive-x280" or mr == 8
            assert kernels.a_scratch(np.zeros((16, 4096), np.float32), t, mr).shape == ((16, 4096 + 16) if copied
                                                                                       else (0, 4096 + 16))
            assert kernels.a_scratch(np.zeros((16, 896), np.float32), t, mr).shape[0] == 0
    assert kernels.a_scratch(np.zeros((3, 896), np.float32)).shape == (3, 896 + 16)   # no target: always


@pytest.mark.parametrize("vlen", [128, 512])
def test_matmul_batched_and_noncontiguous(vlen):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3, 5, 19)).astype(np.float32)[:, :, ::2]   # (2, 3, 3, 19), strided rows
    b = rng.standard_normal((3, 23, 19)).astype(np.float32).transpose(0, 2, 1)   # (3, 19, 23) = k.T
    c = run(ops.matmul, a, b, runner="emu", vlen=vlen)
    want = a.astype(np.float64) @ b.astype(np.float64)
    assert c.shape == (2, 3, 3, 23)
    assert np.all(np.abs(c - want) <= ref_bound(a, b, 20))
    assert ops.last_run.cycles > 0 and ops.last_run.profile is None   # summed over the 6 products
    x = rng.standard_normal((4, 2, 19)).astype(np.float32)   # 2-D b: batch folded into rows
    assert np.allclose(run(ops.matmul, x, b[0], runner="emu", vlen=vlen), x @ b[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cfg", kernels.matmul.autotune.configs, ids=lambda c: "-".join(map(str, c.values())))
def test_every_gemm_config_is_correct(cfg):
    """Each tuning candidate, on rows that leave every kind of tail (M mod MR = 0, 1, MR-1)
    and K crossing a KC block, against float64."""
    rng = np.random.default_rng(2)
    k, n = cfg["KC"] + 45, 2 * kernels.panel_width(256, cfg["LMUL"]) + 3
    nr = kernels.panel_width(256, cfg["LMUL"])
    for m in sorted({1, 2, cfg["MR"], cfg["MR"] + 1, 2 * cfg["MR"] - 1}):
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        c = np.zeros((m, n), np.float32)
        kernels.matmul(a, b, np.empty((-(-n // nr), k, nr), np.float32), c, kernels.a_scratch(a), **cfg)
        assert np.all(np.abs(c - a.astype(np.float64) @ b) <= ref_bound(a, b, cfg["KC"] + 2))


@pytest.mark.parametrize("m", [1, 3])
def test_long_k_does_not_stall_at_2_pow_24(m):
    """Issue 8: one running f32 sum stops at 2^24 when adding ones. Here the first
    product is 2^24 and the 8191 after it are 1: a single running sum gives exactly
    2^24 (error 8191); block sums of KC = 256 lose at most the ones of the first block."""
    k, kc = 8192, 256
    a = np.ones((m, k), np.float32)
    a[:, 0] = 2.0 ** 24
    b = np.ones((k, 4), np.float32)
    want = 2.0 ** 24 + k - 1
    for c in (ops.matmul(a, b, config={"KC": kc}),
              ops.linear(a, np.ascontiguousarray(b.T), config={"KC": kc})):
        assert np.all(np.abs(c.astype(np.float64) - want) < kc)


@pytest.mark.parametrize("m", [1, 3])
def test_long_k_relative_error(m):
    """Issue 8: with K = 2^18 positive random products, a running sum's relative error was
    ~1e-4; blocked summation keeps it near NumPy's (bounded here by 1e-5)."""
    rng = np.random.default_rng(3)
    k = 1 << 18
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((k, 3), dtype=np.float32)
    want = a.astype(np.float64) @ b.astype(np.float64)
    rel = np.abs(ops.matmul(a, b) - want) / want
    assert rel.max() < 1e-5


@pytest.mark.parametrize("runner", RUNNERS)
def test_f16_uses_widening_fma_where_it_can(runner):
    """Zvfh targets take vfwmacc in the emulator; QEMU 7.2 lacks Zvfh, so there f16 is converted."""
    rng = np.random.default_rng(4)
    a = rng.standard_normal((9, 40)).astype(np.float16)
    w = rng.standard_normal((30, 40)).astype(np.float16)
    want = a.astype(np.float64) @ w.T.astype(np.float64)
    widening = runner == "emu"
    for fn in (lambda t: ops.linear(a, w, target=t, runner=runner),
               lambda t: ops.matmul(a, np.ascontiguousarray(w.T), target=t, runner=runner)):
        y = fn(Target.preset("generic"))
        asm = ops.last_run.compiled.asm
        assert ("vfwmacc.vf" in asm) == widening and ("vfwcvt" in asm) != widening
        assert np.all(np.abs(y - want) <= ref_bound(a, w.T, 41))


@rl.kernel
def _wfma(s: rl.Tensor[f16], x: rl.Tensor[f16], y: rl.Tensor[f16], acc: rl.Tensor[f32]):
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=2):
        acc.vstore(rl.fma(x.vload(i), y.vload(i), rl.fma(s[0], x.vload(i), acc.vload(i))), i)


@pytest.mark.parametrize("vlen", VLENS)
def test_widening_fma_rounds_once(vlen):
    """vfwmacc: the f16 product is exact in f32, so each step is one f32 rounding of an exact sum."""
    rng = np.random.default_rng(5)
    n = 61
    s = np.array([rng.standard_normal()], np.float16)
    x, y = (rng.standard_normal(n).astype(np.float16) for _ in range(2))
    acc0 = rng.standard_normal(n).astype(np.float32)
    acc = acc0.copy()
    r = run(_wfma, s, x, y, acc, runner="emu", vlen=vlen)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    step = (acc0.astype(np.float64) + np.float64(s[0]) * x64).astype(np.float32)
    assert np.array_equal(acc, (step.astype(np.float64) + x64 * y64).astype(np.float32))
    assert "vfwmacc.vf" in r.compiled.asm and "vfwmacc.vv" in r.compiled.asm


def test_widening_fma_rejects_other_widths():
    @rl.kernel
    def bad(x: rl.Tensor[f16], acc: rl.Tensor[rl.f64]):
        for vl, i in rl.vloop(x.shape[0], sew=64, lmul=2):
            acc.vstore(rl.fma(x.vload(i), x.vload(i), acc.vload(i)), i)
    with pytest.raises(rl.KernelError):
        bad.trace()


@rl.kernel
def _two_rodata(h: rl.Tensor[rl.i64], o: rl.Tensor[rl.f64]):
    """A six-way dispatch (a jump table in .rodata) on f64 constants (a pool in .rodata.cst8)."""
    for v in range(1, 7):
        for _ in rl.range(rl.where(h[0] == v, 1, 0)):
            o[0] = o[0] * 1.3700000000000001 + 0.1 * v


def test_loader_maps_segments_that_share_a_page():
    """An object with two small read-only sections in one page (constants, a jump table):
    loading it maps that page once. (The GEMMs had both until their dispatch over tile
    heights lost its jump table.)"""
    from rvai.emu import Machine, elf
    obj = _two_rodata.compile(checked=False).elf   # the checked object has one read-only section
    segs = elf.load(obj, 0x10000, {"memcpy": 0x100, "memset": 0x200, "memmove": 0x300}).segments
    pages = [s.addr // 4096 for s in segs]
    assert len(pages) != len(set(pages))
    Machine(Target.default()).load_elf(obj)


# ---------------------------------------------------------------------- autotuning

@rl.autotune(configs=[{"LMUL": 1}, {"LMUL": 8}, {"LMUL": 2}], key=["x.shape[0]"])
@rl.kernel
def _scale(x: rl.Tensor[f32], LMUL: int = 1):
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=LMUL):
        x.vstore(x.vload(i) * 3.0, i)


@pytest.fixture
def tune_cache(tmp_path, monkeypatch):
    """A tuning cache of the test's own: ``tmp_path / "tune.json"``, empty at the start. The
    compiled kernels stay in the run's shared cache, so a candidate another test (or the other
    xdist worker) compiled is not compiled again (compiles are most of these tests' time)."""
    path = tmp_path / "tune.json"
    monkeypatch.setattr(tune, "cache_path", lambda: path)
    return tmp_path


def test_tuner_keeps_the_fastest_and_the_cache_serves_it(tune_cache):
    x = np.arange(1000, dtype=np.float32)
    lines = []
    res = tune.tune(_scale, (x,), progress=lines.append)
    assert np.array_equal(x, np.arange(1000, dtype=np.float32))   # candidates ran on copies
    assert len(res.trials) == 3 and len(lines) == 3 and not res.cached
    for t in res.trials:   # each reported count is what the configuration takes when run again
        assert _scale(x.copy(), **t.config).cycles == t.cycles
    assert res.best_cycles == min(t.cycles for t in res.trials)
    again = tune.tune(_scale, (x,))
    assert again.cached and again.best == res.best and again.trials == []
    assert json.loads((tune_cache / "tune.json").read_text())
    # a call that leaves LMUL open runs the tuned configuration; an explicit one wins
    y = x.copy()
    r = _scale(y)
    assert r.cycles == res.best_cycles and np.array_equal(y, x * 3)
    other = next(t for t in res.trials if t.config != res.best)
    assert _scale(x.copy(), **other.config).cycles == other.cycles
    # another shape bucket is not served from this entry
    assert tune.lookup(_scale, {"x": np.zeros(5000, np.float32)}, Target.default()) is None


@rl.autotune(configs=[{"LMUL": 1}, {"LMUL": 8}], key=["x.shape[0]", "SCALE"])
@rl.kernel
def _scale_by(x: rl.Tensor[f32], LMUL: int = 1, SCALE: float = 3.0):
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=LMUL):
        x.vstore(x.vload(i) * SCALE, i)


def test_a_compile_time_parameter_in_the_key_is_tuned_per_value(tune_cache):
    """A key that names an untuned compile-time parameter (softmax's EXP) keeps one entry per
    value: a call with the other value does not run the first one's choice; a call that
    leaves it out looks up its default's."""
    x = np.arange(1000, dtype=np.float32)
    three = tune.tune(_scale_by, (x,), configs=[{"LMUL": 8}])
    assert three.best == {"LMUL": 8} and not three.cached
    assert tune.lookup(_scale_by, {"x": x}, Target.default()) == {"LMUL": 8}      # SCALE's default, 3.0
    assert tune.lookup(_scale_by, {"x": x, "SCALE": 2.0}, Target.default()) is None
    two = tune.tune(_scale_by, (x,), configs=[{"LMUL": 1}], SCALE=2.0)
    assert two.best == {"LMUL": 1} and not two.cached and two.bucket == (1024, 2.0)
    y = x.copy()
    r = _scale_by(y, SCALE=2.0)
    assert r.cycles == two.best_cycles and np.array_equal(y, x * 2)
    y = x.copy()
    r = _scale_by(y)
    assert r.cycles == three.best_cycles and np.array_equal(y, x * 3)
    with pytest.raises(ValueError, match="names no runtime argument"):   # a tuned parameter cannot be a key
        rl.autotune(configs=[{"LMUL": 1}], key=["LMUL"])(_scale)


@rl.autotune(configs=[{"PF": 0}, {"PF": 1}, {"PF": 2}, {"PF": 1, "LMUL": 8}], key=["x.shape[0]"])
@rl.kernel
def _scale_pf(x: rl.Tensor[f32], PF: int = 0, LMUL: int = 1):
    """x *= 3, prefetching PF vectors ahead where the target has Zicbop (elsewhere PF changes no code)."""
    pf = PF if rl.target_has("zicbop") else 0
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=LMUL):
        if pf:
            x.prefetch(i + pf * vl)
        x.vstore(x.vload(i) * 3.0, i)


def test_tuner_runs_each_distinct_object_once(tune_cache, monkeypatch):
    """Candidates that compile to the same object run once: off Zicbop, PF 1 and 2 are PF 0's
    code, so the tuner runs two of the four and reports the others as that code's; each
    reported count is what the candidate takes when run, and the choice is the one running
    them all would make. With Zicbop every candidate is its own code and runs."""
    x = np.arange(1000, dtype=np.float32)
    real, runs = runner.run_compiled, []
    monkeypatch.setattr(runner, "run_compiled", lambda *a, **kw: runs.append(a[0]) or real(*a, **kw))
    t = Target.preset("sifive-x280")   # no Zicbop
    res = tune.tune(_scale_pf, (x,), target=t)
    assert len(runs) == 2 and [tr.same_as for tr in res.trials] == [None, {"PF": 0}, {"PF": 0}, None]
    assert res.report().count("same code as PF=0") == 2
    every = [_scale_pf(x.copy(), target=t, **tr.config).cycles for tr in res.trials]
    assert [tr.cycles for tr in res.trials] == every
    assert res.best == res.trials[every.index(min(every))].config and res.best_cycles == min(every)
    runs.clear()
    res = tune.tune(_scale_pf, (x,), target=Target.preset("spacemit-x60"))
    assert len(runs) == 4 and all(tr.same_as is None for tr in res.trials)


def test_tuner_budget_and_bad_declarations(tune_cache):
    x = np.ones(64, np.float32)
    res = tune.tune(_scale, (x,), max_candidates=1)
    assert len(res.trials) == 1 and res.skipped == 2
    with pytest.raises(ValueError, match="not compile-time"):
        rl.autotune(configs=[{"x": 1}], key=["x.shape[0]"])(_scale)
    with pytest.raises(ValueError, match="names no runtime argument"):
        rl.autotune(configs=[{"LMUL": 1}], key=["y.shape[0]"])(_scale)
    with pytest.raises(TypeError, match="decorates a kernel"):
        rl.autotune(configs=[{"LMUL": 1}], key=[])(lambda x: x)
    with pytest.raises(ValueError, match="declares no tunable"):
        tune.tune(kernels.swiglu, (x, x, x))


def test_ops_use_the_tuned_configuration(tune_cache):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 24)).astype(np.float32)
    w = rng.standard_normal((20, 24)).astype(np.float32)
    bp = kernels.pack_panels(np.ascontiguousarray(w.T), kernels.panel_width(256, 4))
    res = tune.tune(kernels.gemm_packed, (x, bp, np.zeros((5, 20), np.float32), kernels.a_scratch(x, Target.default())),
                    configs=[{"MR": 2, "LMUL": 4, "KC": 256}, {"MR": 5, "LMUL": 4, "KC": 256}])
    y = ops.linear(x, ops.pack_weights(w))
    assert ops.last_run.cycles == res.best_cycles
    assert np.allclose(y, x @ w.T, rtol=1e-5, atol=1e-5)


#: A hand-picked grid for gemm_packed (panels packed at LMUL 4), as a user would try it;
#: its KC values are also candidates of the tuner's, so most of its kernels are compiled once.
HAND_GRID = [{"MR": mr, "KC": kc} for mr, kc in ((4, 512), (7, 512), (7, 256))]


# generic: the target test_every_packed_gemm_config_is_correct compiles every candidate for, so the
# tuner's compiles are those (bench/gemm.py checks every preset at Qwen shapes)
@pytest.mark.parametrize("preset", ["generic"])
def test_tuner_beats_a_hand_picked_grid(tune_cache, preset):
    """The tuner's choice among its own candidates is at least as fast as the best of a
    grid measured here call by call; a second tune is a cache hit, and ops.linear runs
    the tuned configuration."""
    t = Target.preset(preset)
    args = tune._gemm_packed_call((9, 200, 70), np.dtype(np.float32), t)
    grid = min(kernels.gemm_packed(*(np.array(x) for x in args), **cfg, target=t).cycles for cfg in HAND_GRID)
    res = tune.tune(kernels.gemm_packed, args, target=t)
    assert res.best_cycles <= grid and len(res.trials) == len(kernels.gemm_packed.autotune.configs)
    again = tune.tune(kernels.gemm_packed, args, target=t)
    assert again.cached and again.best == res.best
    ops.linear(args[0], ops.PackedWeights(args[1], 70, 200, t.vlen, 4), target=t)
    assert ops.last_run.cycles == res.best_cycles


@pytest.mark.parametrize("copy", [True, False], ids=["copied-A", "A-in-place"])
@pytest.mark.parametrize("cfg", kernels.gemm_packed.autotune.configs, ids=lambda c: "-".join(map(str, c.values())))
def test_every_packed_gemm_config_is_correct(cfg, copy):
    """Each gemm_packed candidate (both loop orders) on tails of rows, panels and KC blocks,
    reading A from the padded scratch and in place (a scratch of 0 rows)."""
    rng = np.random.default_rng(4)
    nr = kernels.panel_width(256, 4)
    k, n = cfg["KC"] + 45, 2 * nr + 3
    for m in sorted({1, cfg["MR"] + 1, 2 * cfg["MR"] - 1}):
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        c = np.zeros((m, n), np.float32)
        ap = kernels.a_scratch(a) if copy else kernels.a_scratch(a)[:0]
        kernels.gemm_packed(a, kernels.pack_panels(b, nr), c, ap, **cfg)
        assert np.all(np.abs(c - a.astype(np.float64) @ b) <= ref_bound(a, b, cfg["KC"] + 2))


@pytest.mark.parametrize("kernel", [kernels.gemm_packed, kernels.gemm_packed_bf16])
def test_packed_kernels_tune_what_the_packing_leaves_open(kernel):
    """Kernels on pre-packed panels take LMUL from the packing: their candidates must not vary it."""
    assert all("LMUL" not in cfg for cfg in kernel.autotune.configs)


@pytest.mark.parametrize("widen", [False, True])
@pytest.mark.parametrize("cfg", kernels.gemm_packed_bf16.autotune.configs,
                         ids=lambda c: "-".join(map(str, c.values())))
def test_every_bf16_config_is_correct(cfg, widen):
    """Each gemm_packed_bf16 candidate, on both product paths (c930 has Zvfbfwma), against
    float64 products of the bf16 values, on tails of rows, panels and KC blocks."""
    from rvai.kernels.quant import from_bf16, to_bf16
    t = Target.preset("xuantie-c930" if widen else "generic")
    rng = np.random.default_rng(5)
    nr = kernels.panel_width(t.vlen, 4)
    k, n = cfg["KC"] + 45, nr + 3
    for m in sorted({1, cfg["MR"] + 1}):
        a, b = to_bf16(rng.standard_normal((m, k))), to_bf16(rng.standard_normal((k, n)))
        fa, fb = from_bf16(a).astype(np.float64), from_bf16(b).astype(np.float64)
        c, unused = np.zeros((m, n), np.float32), np.zeros((1, 1))
        ap = kernels.a_scratch(a) if widen else unused.astype(np.uint16)
        af = unused.astype(np.float32) if widen else kernels.a_scratch(fa.astype(np.float32))
        kernels.gemm_packed_bf16(a, kernels.pack_panels(b, nr), c, ap, af, **cfg, WIDEN=widen, target=t)
        assert np.all(np.abs(c - fa @ fb) <= ref_bound(fa, fb, cfg["KC"] + 2))


def test_tuned_entries_follow_the_timing_model(tune_cache, tmp_path):
    """A tuned entry applies to the model it was measured on: a preset whose timing
    parameters change (edited, or through ``extends``) does not see it; the same
    parameters reached through ``extends`` do."""
    t = Target.preset("generic")
    x = np.ones(64, np.float32)
    tune.tune(_scale, (x,), target=t, configs=[{"LMUL": 2}])
    assert tune.best_for(_scale, t, (64,)) == {"LMUL": 2}
    same = tmp_path / "generic.toml"
    same.write_text('extends = "generic"\n')
    assert tune.best_for(_scale, Target.from_toml(same), (64,)) == {"LMUL": 2}
    slower = tmp_path / "generic2.toml"
    slower.write_text('extends = "generic"\nname = "generic"\n[model]\ndram_latency = 400\n')
    edited = Target.from_toml(slower)
    assert edited.name == t.name and edited.key == t.key
    assert tune.best_for(_scale, edited, (64,)) is None
    assert tune.model_hash(edited) != tune.model_hash(t)


def test_rvai_tune_attention_and_softmax(tune_cache, capsys):
    """``rvai tune`` on the other tunable kernels; ops.attention and ops.softmax then run the
    tuned configuration (the cycles the tuner reported for it)."""
    from rvai import cli
    t = Target.preset("spacemit-x60")
    assert cli.main(["tune", "attention", "--target", "spacemit-x60", "--shape", "7,1,1,40,16", "--max", "2"]) == 0
    best = tune.best_for(kernels.attention, t, (7, 1, 1, 40, 16, "accurate"))
    assert best in kernels.attention.autotune.configs[:2]
    rng = np.random.default_rng(0)   # the arguments the tuner built
    q = rng.standard_normal((7, 1, 16)).astype(np.float32)
    k, v = (rng.standard_normal((1, 40, 16)).astype(np.float32) for _ in range(2))
    ops.attention(q, k, v, causal=True, target=t)
    res = tune.tune(kernels.attention, tune._attention_call((7, 1, 1, 40, 16), None, t), target=t)
    assert res.cached and ops.last_run.cycles == res.best_cycles
    # softmax on generic: every candidate is the code test_ops.test_every_softmax_and_rmsnorm_config_is_correct
    # compiles (the compile cache serves it), where spacemit-x60's would be compiled for this test alone
    g = Target.preset("generic")
    assert cli.main(["tune", "softmax", "--target", "generic", "--shape", "3,50"]) == 0
    assert "best: " in capsys.readouterr().out
    x = (np.random.default_rng(0).standard_normal((3, 50)) * 4).astype(np.float32)
    ops.softmax(x, target=g)
    assert ops.last_run.cycles == tune.tune(kernels.softmax, (x, np.zeros_like(x)), target=g).best_cycles
    with pytest.raises(SystemExit):
        cli.main(["tune", "attention", "--shape", "7,2,1,40"])
    with pytest.raises(SystemExit):
        cli.main(["tune", "attention", "--shape", "7,2,1,40,16"])   # 7 heads over 2 KV heads


def test_shipped_tuning_is_used_and_the_user_cache_wins(tune_cache):
    """rvai/targets/tuned.json (bench/ship_tuned.py) holds declared candidates only, each
    under a bucket of its kernel's whole key (an entry of a key since lengthened, as
    attention's by EXP, would never be found); with an
    empty user cache ops.softmax on generic runs the shipped configuration's code, and a
    user's entry for the same bucket replaces it. (Cycles are compared by the code that
    ran, not by count: the emulator's predictor state carries over between calls.)"""
    shipped = json.loads(tune.SHIPPED.read_text())
    for key, entry in shipped.items():
        kernel = getattr(kernels, key.split("|")[0])
        assert entry["config"] in kernel.autotune.configs, key
        assert len(ast.literal_eval(key.split("|")[-1])) == len(kernel.autotune.key), key
    t = Target.preset("generic")
    args = tune.TUNABLE["softmax"][1]((64, 896), np.dtype(np.float32), t)
    key = tune._entry_key(kernels.softmax, t, (896, "accurate"))
    if key not in shipped:
        pytest.skip("the generic preset changed since bench/ship_tuned.py ran: re-run it")
    mine = shipped[key]["config"]
    other = next(c for c in kernels.softmax.autotune.configs if c != mine)
    asm = {repr(c): kernels.softmax.compile(t, **c).asm for c in (mine, other)}
    assert asm[repr(mine)] != asm[repr(other)]
    ops.softmax(args[0], target=t)
    assert ops.last_run.compiled.asm == asm[repr(mine)]
    tune.tune(kernels.softmax, args, target=t, configs=[other], force=True)
    assert tune.best_for(kernels.softmax, t, (896, "accurate")) == other
    ops.softmax(args[0], target=t)
    assert ops.last_run.compiled.asm == asm[repr(other)]


def test_rvai_tune_command(tune_cache, capsys):
    from rvai import cli
    assert cli.main(["tune", "gemm_packed", "--target", "spacemit-x60", "--shape", "3,20,40", "--max", "2"]) == 0
    out = capsys.readouterr()
    assert "best: " in out.out and "[2/" in out.err
    assert cli.main(["tune", "gemm_packed", "--target", "spacemit-x60", "--shape", "3,20,40"]) == 0
    assert "cache hit" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["tune", "gemm_packed", "--shape", "3,x,4"])


# ---- software prefetch (PF) on targets with Zicbop ---------------------------------

X60 = Target.preset("spacemit-x60")
#: VLEN 128 and Zicbop: generic with the extension switched on (the Zicbop presets start at 256).
GENERIC_ZICBOP = dataclasses.replace(Target.preset("generic"), name="generic-zicbop",
                                     features=Target.preset("generic").features + ("+zicbop",))


def _zicbop_target(vlen: int) -> Target:
    return (GENERIC_ZICBOP if vlen < X60.min_vlen else X60).with_vlen(vlen)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), vlen=st.sampled_from(VLENS), m=st.integers(1, 23), k=odd, n=st.integers(1, 97),
       mr=st.integers(2, 7), kc=st.sampled_from([4, 16, 64]), kouter=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float16]), checked=st.booleans())
def test_prefetching_gemm_matches_numpy(data, vlen, m, k, n, mr, kc, kouter, dtype, checked):
    """gemm_packed with PF off and 1 or 2, on a Zicbop target at VLEN 128-1024, odd shapes,
    K in several blocks (the prefetches reach past the last panel and row), bounds-checked
    or not: both within the blocked-sum bound of float64 NumPy, and equal (same sums)."""
    t = _zicbop_target(vlen)
    assert "zicbop" in t.extensions
    k = k * data.draw(st.sampled_from([1, 7]))
    rng = np.random.default_rng(m * 1000 + k)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    bp = kernels.pack_panels(b, kernels.panel_width(vlen, 4))
    out = {}
    for pf in (0, data.draw(st.sampled_from([1, 2]))):
        c = np.zeros((m, n), np.float32)
        run = kernels.gemm_packed(a, bp, c, kernels.a_scratch(a, t), MR=mr, KC=kc, KOUTER=kouter, PF=pf,
                                  WIDEN="zvfh" in t.extensions and dtype == np.float16, target=t, checked=checked)
        assert ("prefetch.r" in run.compiled.asm) == (pf > 0)
        out[pf > 0] = c
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert np.all(np.abs(out[True] - a64 @ b64) <= ref_bound(a64, b64, kc + -(-k // kc)))
    np.testing.assert_array_equal(out[True], out[False])


def test_prefetch_fetches_the_next_block_while_the_first_tile_streams():
    """On spacemit-x60, with B past L2 (16 x 896 x 512: 1.8 MB): PF = 2 prefetches nearly
    every line of B after the first block and every line of C, and at most A's lines once
    per panel besides, PF = 1 the lines of C and at most A's (the profile's counts against
    the line counts of the shapes); PF = 2 moves no more bytes from DRAM, and the L1
    misses, memory stalls and cycles fall. Without Zicbop, PF emits no prefetch and costs
    under 1 %."""
    m, k, n = 16, 896, 512
    p = timing_params(X60.model)
    nr = kernels.panel_width(X60.vlen, 4)
    b_lines = (-(-n // nr) - 1) * k * nr * 4 // p.line   # every block but the first (nothing runs before it)
    c_lines = m * n * 4 // p.line
    a_lines = -(-n // nr) * m * k * 4 // p.line
    without = dataclasses.replace(X60, name="x60-nozicbop", features=X60.features + ("-zicbop",))
    for t in (X60, without):
        args = tune._gemm_packed_call((m, k, n), np.dtype(np.float32), t)
        runs = {pf: kernels.gemm_packed(*(np.array(x) for x in args), MR=7, KC=1024, PF=pf, target=t, checked=False)
                for pf in (0, 1, 2)}   # unchecked: the code that ops runs
        on, off = runs[2].profile, runs[0].profile
        assert off.caches["prefetches"]["software"] == 0
        if t is without:
            assert "prefetch" not in runs[2].compiled.asm and on.caches["prefetches"]["software"] == 0
            assert abs(on.cycles - off.cycles) < 0.01 * off.cycles
            continue
        assert c_lines <= runs[1].profile.caches["prefetches"]["software"] <= c_lines + a_lines
        assert 0.9 * (b_lines + c_lines) <= on.caches["prefetches"]["software"] <= b_lines + c_lines + a_lines
        assert on.dram_bytes["read"] <= 1.01 * off.dram_bytes["read"]
        assert on.caches["L1"]["misses"] < off.caches["L1"]["misses"]
        assert on.stalls["memory"] < off.stalls["memory"] and on.cycles < 0.97 * off.cycles


def test_linear_prefetches_by_default_only_with_zicbop(tune_cache):
    """With no tuned entry, ops.linear runs gemm_packed with PF where the target has Zicbop
    (its code holds prefetch.r/w) and without elsewhere; the result matches NumPy."""
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((9, 40)).astype(np.float32), rng.standard_normal((70, 40)).astype(np.float32)
    for t, has in ((X60, True), (Target.preset("xuantie-c930"), True), (Target.preset("sifive-x280"), False)):
        y = ops.linear(x, ops.pack_weights(w, target=t), target=t)
        asm = ops.last_run.compiled.asm
        assert ("prefetch.r" in asm and "prefetch.w" in asm) == has
        assert np.all(np.abs(y - x.astype(np.float64) @ w.T) <= ref_bound(x, w.T, 42))


@pytest.mark.parametrize("preset, over, k", [("spacemit-x60", False, 3584), ("spacemit-x60", True, 3584),
                                             ("sifive-x280", False, 3584), ("sifive-x280", True, 3584),
                                             ("sifive-x280", True, 896)])
def test_default_loop_order_with_and_without_prefetch(tune_cache, preset, over, k):
    """With no tuned entry, ops.linear runs K-outer where A and one panel of B overflow L2
    on spacemit-x60 (PF = 2 there, f32: it fetches the next panel, so restarting B's stream
    costs nothing); on sifive-x280 (no prefetching) panel-outer while A is under half of
    L2, and over it each row tile's blocks back to back (KTILE) where K takes several
    blocks (KC = 1024), else K-outer. The code that ran is compared with each order's,
    compiled explicitly."""
    t = Target.preset(preset)
    l2 = timing_params(t.model).l2_size
    m = l2 // 2 // (4 * k) + (1 if over else -1)     # A over / under half of L2
    assert (m * k * 4 > l2 // 2) == over
    assert preset != "spacemit-x60" or m * k * 4 + k * kernels.panel_width(t.vlen, 4) * 4 > l2   # with a panel: over L2
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((40, k)).astype(np.float32)
    packed = ops.pack_weights(w, target=t)
    asm = {}
    for order in ("panel", "kouter", "ktile"):   # compiled as a call would compile it, not run: only its code is compared
        cfg = {"KOUTER": order == "kouter", "KTILE": order == "ktile", "PF": 2 if "zicbop" in t.extensions else 0}
        asm[order] = runner.compiled_for(kernels.gemm_packed, (x, packed.panels, np.zeros((m, 40), np.float32),
                                                               kernels.a_scratch(x, t)), cfg,
                                         target=t, checked=checked_default()).asm
    assert len(set(asm.values())) == 3
    y = ops.linear(x, packed, target=t)
    want = "kouter" if preset == "spacemit-x60" else "panel" if not over else "ktile" if k > 1024 else "kouter"
    assert ops.last_run.compiled.asm == asm[want]
    assert np.all(np.abs(y - x.astype(np.float64) @ w.T) <= ref_bound(x, w.T, 1026))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), vlen=st.sampled_from(VLENS), m=st.integers(1, 23), k=odd, n=st.integers(1, 97),
       mr=st.integers(2, 7), kc=st.sampled_from([4, 16, 64]), kouter=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float16]))
def test_gemm_under_each_schedule_matches_numpy(data, vlen, m, k, n, mr, kc, kouter, dtype):
    """gemm_packed's ``SCHED`` (LLVM's tuning for another cpu: the x280's unrolls the K
    loop, generic-rv64's does not) at VLEN 128-1024 on odd shapes, K in several blocks: within
    the blocked-sum bound of float64 NumPy, and bit for bit the same under another schedule
    (scheduling reorders no sum) as with the target's own. The target is generic (VLEN-agnostic code, Zvfh: f16 by
    vfwmacc), or sifive-x280 itself from VLEN 512, whose own tuning "" is then the x280's."""
    t = Target.preset("sifive-x280" if vlen >= 512 and data.draw(st.booleans()) else "generic").with_vlen(vlen)
    k = k * data.draw(st.sampled_from([1, 7]))
    rng = np.random.default_rng(m * 1000 + k)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    bp = kernels.pack_panels(b, kernels.panel_width(vlen, 4))
    other = data.draw(st.sampled_from(["generic-rv64", "sifive-x280"]))
    out = {}
    for sched in ("", other):
        c = np.zeros((m, n), np.float32)
        run = kernels.gemm_packed(a, bp, c, kernels.a_scratch(a, t), MR=mr, KC=kc, KOUTER=kouter, SCHED=sched,
                                  WIDEN=dtype == np.float16 and ops._has_zvfh(t), target=t)
        assert ('"tune-cpu"' in run.compiled.llvm_ir) == bool(sched)
        out[sched] = c
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert np.all(np.abs(out[""] - a64 @ b64) <= ref_bound(a64, b64, kc + -(-k // kc)))
    np.testing.assert_array_equal(out[other], out[""])


def test_linear_schedules_gemm_as_generic_by_default(tune_cache):
    """With no tuned entry ops.linear compiles gemm_packed with generic-rv64's tuning (its
    K loop rolled on sifive-x280: one vfmacc per row of the 7-row tile, where the x280's
    own unrolls it 4 times).  Unchecked builds, the code users run: a checked build's
    bounds checks shape the loops otherwise (they are not unswitched: us66)."""
    t = Target.preset("sifive-x280")
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal((7, 64)).astype(np.float32), rng.standard_normal((70, 64)).astype(np.float32)
    packed = ops.pack_weights(w, target=t)
    y = ops.linear(x, packed, target=t, checked=False)
    assert '"tune-cpu"="generic-rv64"' in ops.last_run.compiled.llvm_ir
    assert np.all(np.abs(y - x.astype(np.float64) @ w.T) <= ref_bound(x, w.T, 66))
    own = kernels.gemm_packed(x, packed.panels, np.zeros((7, 70), np.float32), kernels.a_scratch(x, t), SCHED="",
                              target=t, checked=False).compiled.asm
    fmas = lambda asm: asm.count("vfmacc.vf") + asm.count("vfmadd.vf")   # noqa: E731
    assert fmas(own) > fmas(ops.last_run.compiled.asm)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), vlen=st.sampled_from(VLENS), m=st.integers(1, 23), k=odd, n=st.integers(1, 97),
       mr=st.integers(2, 7), kc=st.sampled_from([4, 16, 64]), pf=st.sampled_from([0, 1, 2]),
       dtype=st.sampled_from([np.float32, np.float16]), checked=st.booleans())
def test_tile_outer_gemm_matches_numpy(data, vlen, m, k, n, mr, kc, pf, dtype, checked):
    """gemm_packed's ``KTILE`` (each row tile runs its KC blocks back to back) at VLEN
    128-1024 on odd shapes, K in several blocks, with each prefetch level on a Zicbop
    target, bounds-checked or not: within the blocked-sum bound of float64 NumPy, and bit
    for bit the panel-outer order's result (each element still adds its block sums in K
    order). KOUTER with KTILE is refused."""
    t = _zicbop_target(vlen)
    k = k * data.draw(st.sampled_from([1, 7]))
    rng = np.random.default_rng(m * 1000 + k)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    bp = kernels.pack_panels(b, kernels.panel_width(vlen, 4))
    widen = "zvfh" in t.extensions and dtype == np.float16
    out = {}
    for ktile in (False, True):
        c = np.zeros((m, n), np.float32)
        kernels.gemm_packed(a, bp, c, kernels.a_scratch(a, t), MR=mr, KC=kc, PF=pf, KTILE=ktile, WIDEN=widen,
                            target=t, checked=checked)
        out[ktile] = c
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert np.all(np.abs(out[True] - a64 @ b64) <= ref_bound(a64, b64, kc + -(-k // kc)))
    np.testing.assert_array_equal(out[True], out[False])
    with pytest.raises(rl.KernelError, match="KOUTER and KTILE"):
        kernels.gemm_packed(a, bp, np.zeros((m, n), np.float32), kernels.a_scratch(a, t), KOUTER=True, KTILE=True,
                            target=t)


def test_a_partial_config_is_completed_from_the_defaults_not_the_tuned_entry(tune_cache):
    """A tuned entry applies whole or not at all: with one cached for the shape (K-outer,
    KC 256, MR 4, the x280's own scheduling), a kernel call, a tuner candidate and an ops.linear ``config`` that set
    only MR and KC run the kernel's declared defaults for the rest (panel-outer, no
    prefetch, generic-rv64's scheduling): the code that ran is the explicitly complete
    configuration's, not the tuned one's. A call that sets no tunable runs the tuned entry."""
    t = Target.preset("sifive-x280")
    args = tune._gemm_packed_call((9, 300, 70), np.dtype(np.float32), t)
    tuned = {"MR": 4, "KC": 256, "KOUTER": True, "PF": 0, "SCHED": ""}
    assert tune.tune(kernels.gemm_packed, args, target=t, configs=[tuned]).best == tuned
    partial = {"MR": 4, "KC": 256}
    whole = {**partial, "KOUTER": False, "PF": 0, "SCHED": "generic-rv64", "KTILE": False}

    def run(**cfg):
        return kernels.gemm_packed(*(np.array(x) for x in args), target=t, **cfg)
    asm = {name: run(**cfg).compiled.asm for name, cfg in (("tuned", tuned), ("whole", whole))}
    assert asm["tuned"] != asm["whole"]
    assert run().compiled.asm == asm["tuned"]
    assert run(**partial).compiled.asm == asm["whole"]
    x, bp = args[0], args[1]
    y = ops.linear(x, ops.PackedWeights(bp, 70, 300, t.vlen, 4), target=t, config=partial)
    assert ops.last_run.compiled.asm == asm["whole"]
    b = np.concatenate(list(bp), axis=1)[:, :70].astype(np.float64)
    assert np.all(np.abs(y - x.astype(np.float64) @ b) <= ref_bound(x, b, 258))
    cand = tune.tune(kernels.gemm_packed, args, target=t, configs=[partial], force=True)
    assert cand.best_cycles == run(**whole).cycles


def test_rvai_tune_f16_measures_the_code_ops_run(tune_cache):
    """``rvai tune gemm_packed --dtype float16`` on a target with Zvfh tunes the widening-FMA
    code that ops.linear runs on f16 there: ops.linear then takes the cycles the tuner
    reported for its choice (the conversion path's would differ), and matches NumPy."""
    from rvai import cli
    t = Target.preset("sifive-x280")
    assert cli.main(["tune", "gemm_packed", "--target", "sifive-x280", "--shape", "9,40,70", "--dtype", "float16",
                     "--max", "2"]) == 0
    res = tune.tune(kernels.gemm_packed, tune._gemm_packed_call((9, 40, 70), np.dtype(np.float16), t), target=t)
    assert res.cached
    x, bp = tune._gemm_packed_call((9, 40, 70), np.dtype(np.float16), t)[:2]
    y = ops.linear(x, ops.PackedWeights(bp, 70, 40, t.vlen, 4), target=t)
    assert "vfwmacc.vf" in ops.last_run.compiled.asm and ops.last_run.cycles == res.best_cycles
    b = np.concatenate(list(bp), axis=1)[:, :70].astype(np.float64)
    assert np.all(np.abs(y - x.astype(np.float64) @ b) <= ref_bound(x, b, 42))


def test_tile_outer_on_harts_matches_one_hart_and_numpy(tune_cache):
    """``KTILE`` through ops.linear on several harts (``gemm_packed_grid``: row blocks and panel
    groups, each tile's KC blocks back to back): the one-hart result bit for bit, the panel
    order's too, and within the blocked-sum bound of float64 NumPy."""
    k1 = Target.preset("spacemit-k1")
    rng = np.random.default_rng(10)
    x, w = rng.standard_normal((9, 101)).astype(np.float32), rng.standard_normal((75, 101)).astype(np.float32)
    packed = ops.pack_weights(w, target=k1)   # 2 row tiles, 3 panels: on 4 harts, 2 row blocks x 2 panel groups
    assert ops._blocks(4, 9, 7, len(packed.panels))[0] == (2, 2)
    out = {(h, ktile): ops.linear(x, packed, target=k1, harts=h, config={"KTILE": ktile, "KC": 16})
           for h in (1, 4) for ktile in (False, True)}
    assert ops.last_run.profile.harts == 4
    np.testing.assert_array_equal(out[4, True], out[1, True])
    np.testing.assert_array_equal(out[4, True], out[1, False])
    assert np.all(np.abs(out[4, True] - x.astype(np.float64) @ w.T.astype(np.float64)) <= ref_bound(x, w.T, 16 + 7))
