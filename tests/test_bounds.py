"""Out-of-bounds tensor accesses are reported, never silently served from a neighbour.

Checked kernels (``checked=True``; the suite's default through RVAI_CHECKED) raise
BoundsError naming the tensor, axis, elements and the author's line. Unchecked kernels
still have each tensor between unmapped guard pages with a red zone after it.
"""
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rvai.lang as rl
from rvai import Target
from rvai import ops, runner
from rvai.codegen.backend import compile_llvm_ir
from rvai.emu.errors import BudgetExceeded, TimeLimitExceeded
from rvai.lang import f32, i32, i64

SMALL = settings(max_examples=12)


def line_of(kern, text):
    src, start = inspect.getsourcelines(kern.fn)
    return start + next(i for i, s in enumerate(src) if text in s)


def raises_bounds(kern, text, *args, **kw) -> rl.BoundsError:
    with pytest.raises(rl.BoundsError) as info:
        kern(*args, **kw)
    err = info.value
    assert isinstance(err, IndexError)
    if text is not None:
        assert (err.filename, err.lineno) == (__file__, line_of(kern, text))
        assert str(err).startswith(f"{__file__}:{err.lineno}: kernel {kern.name}: ")
    return err


@rl.kernel
def copy_extra(x: rl.Tensor[f32], y: rl.Tensor[f32], extra: i64):
    for vl, i in rl.vloop(x.shape[0] + extra):
        y.vstore(x.vload(i) * 2.0, i)  # access


@SMALL
@given(n=st.integers(1, 70), extra=st.integers(1, 40))
def test_vector_overrun_is_reported_exactly(n, extra):
    x, y = np.arange(n, dtype=np.float32), np.zeros(n, np.float32)
    err = raises_bounds(copy_extra, "# access", x, y, extra, checked=True)
    assert (err.tensor, err.axis, err.size) == ("x", 0, n)
    # the strip that failed covers element n; a failed call leaves the arrays as they were
    assert err.start <= n < err.start + err.count <= n + extra
    assert not y.any()


@rl.kernel
def rows(a: rl.Tensor[f32, 2], out: rl.Tensor[f32], r: i64, c: i64):
    out[0] = a[r, c]  # scalar


@SMALL
@given(shape=st.tuples(st.integers(1, 5), st.integers(1, 5)), r=st.integers(-3, 8), c=st.integers(-3, 8))
def test_scalar_index_checked_per_axis(shape, r, c):
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    out = np.zeros(1, np.float32)
    if 0 <= r < shape[0] and 0 <= c < shape[1]:
        rows(a, out, r, c, checked=True)
        assert out[0] == a[r, c]
        return
    err = raises_bounds(rows, "# scalar", a, out, r, c, checked=True)
    axis = 0 if not 0 <= r < shape[0] else 1   # axes are checked in order, like NumPy
    assert (err.tensor, err.axis, err.start, err.count, err.size) == ("a", axis, (r, c)[axis], 1, shape[axis])
    # a column past the end of a row is inside the allocation: only the exact check sees it
    if axis == 1 and 0 < c < shape[1] * (shape[0] - r) and r + 1 < shape[0]:
        rows(a, out, r, c, checked=False)
        assert out[0] == a.ravel()[r * shape[1] + c]


@rl.kernel
def column(a: rl.Tensor[f32, 2], out: rl.Tensor[f32], j: i64, start: i64):
    for vl, i in rl.vloop(out.shape[0]):
        out.vstore(a.vload(start + i, j, axis=0), i)  # strided


def test_strided_overrun_names_axis_0():
    a, out = np.ones((6, 3), np.float32), np.zeros(4, np.float32)
    column(a, out, 1, 2, checked=True)
    np.testing.assert_array_equal(out, a[2:6, 1])
    err = raises_bounds(column, "# strided", a, out, 1, 3, checked=True)
    assert (err.tensor, err.axis, err.size) == ("a", 0, 6) and err.start + err.count - 1 >= 6


@rl.kernel
def masked(x: rl.Tensor[f32], y: rl.Tensor[f32], limit: f32, extra: i64):
    for vl, i in rl.vloop(y.shape[0] + extra):
        v = rl.arange(rl.i32).to(f32) + i.to(f32)
        y.vstore(x.vload(i, mask=v < limit, other=-1.0), i, mask=v < limit)  # masked


@SMALL
@given(n=st.integers(1, 40), extra=st.integers(0, 20), limit=st.integers(0, 60))
def test_masked_access_checks_only_active_lanes(n, extra, limit):
    x, y = np.arange(1, n + 1, dtype=np.float32), np.zeros(n, np.float32)
    if min(limit, n + extra) <= n:      # no active lane reaches past the end
        masked(x, y, float(limit), extra, checked=True)
        want = np.where(np.arange(n) < limit, x, 0)
        np.testing.assert_array_equal(y, want)
    else:
        err = raises_bounds(masked, "# masked", x, y, float(limit), extra, checked=True)
        assert err.tensor in ("x", "y") and err.size == n and err.start + err.count > n


@rl.kernel
def gather(src: rl.Tensor[f32, 2], idx: rl.Tensor[i32], out: rl.Tensor[f32], row: i64):
    for vl, i in rl.vloop(idx.shape[0]):
        out.vstore(src.gather(idx.vload(i), row, 0), i)  # gather


@SMALL
@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 6)), data=st.data())
def test_gather_offsets_checked_against_the_whole_tensor(shape, data):
    src = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    row = data.draw(st.integers(0, shape[0] - 1))
    idx = np.array(data.draw(st.lists(st.integers(-2, src.size + 2), min_size=1, max_size=20)), np.int32)
    out = np.zeros(idx.size, np.float32)
    flat = row * shape[1] + idx.astype(np.int64)
    if ((flat >= 0) & (flat < src.size)).all() and (idx >= 0).all():
        gather(src, idx, out, row, checked=True)
        np.testing.assert_array_equal(out, src.ravel()[flat])
    else:
        err = raises_bounds(gather, "# gather", src, idx, out, row, checked=True)
        # 32-bit offsets are zero-extended by RVV: a negative one is a huge element offset
        bad = row * shape[1] + idx.astype(np.uint32).astype(np.int64)
        assert (err.tensor, err.axis, err.size) == ("src", -1, src.size)
        vlmax = Target.default().vlen // 32    # e32, m1 lanes per strip
        strips = [bad[k:k + vlmax] for k in range(0, bad.size, vlmax)]
        first = next(s for s in strips if (s >= src.size).any())   # the first strip with a bad lane
        assert (err.start, err.start + err.count - 1) == (first.min(), first.max())


@rl.kernel
def shifted(a: rl.Tensor[f32, 2], b: rl.Tensor[f32, 2], out: rl.Tensor[f32, 2], dr: i64, dc: i64):
    for i in rl.range(out.shape[0]):
        for j in rl.range(out.shape[1]):
            out[i, j] = a[i, j]
            out[i, j] = out[i, j] + b[i + dr, j + dc]  # shifted


def first_overrun(shape, dr, dc):
    """(axis, index) of the first out-of-range index of ``b[i + dr, j + dc]`` in the loops'
    order, axes in order like NumPy; None if every one is inside."""
    for i in range(shape[0]):
        for j in range(shape[1]):
            for axis, k in enumerate((i + dr, j + dc)):
                if not 0 <= k < shape[axis]:
                    return axis, k
    return None


@SMALL
@given(shape=st.tuples(st.integers(1, 5), st.integers(1, 5)), dr=st.integers(-2, 2), dc=st.integers(-2, 2))
def test_overrun_in_an_inner_loop_after_a_store_is_caught(shape, dr, dc):
    """The row check of ``b[i + dr, ...]`` does not change in the inner loop and follows a store:
    O3 would unswitch it by cloning the loop (checked builds no longer do, rvai.codegen.backend);
    the column check fails in the inner loop's first (``dc < 0``) or last (``dc > 0``) trips."""
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    b = (np.arange(np.prod(shape), dtype=np.float32) * 0.5 + 100).reshape(shape)
    out = np.zeros(shape, np.float32)
    bad = first_overrun(shape, dr, dc)
    if bad is None:
        shifted(a, b, out, dr, dc, checked=True)
        np.testing.assert_array_equal(out, a + b)   # no overrun: dr == dc == 0
        return
    err = raises_bounds(shifted, "# shifted", a, b, out, dr, dc, checked=True)
    assert (err.tensor, err.axis, err.start, err.count, err.size) == ("b", *bad, 1, shape[bad[0]])
    assert not out.any()


# A loop whose branch on an invariant %c follows a call: O3 unswitches it non-trivially (the loop
# cloned, its blocks named ``*.us``) unless the module is a checked build's, which carries the
# bounds global lower.op_bounds writes a failed check to.
UNSWITCHABLE = """
declare void @g(i64)
declare void @h(i64)

define void @f(i64 %n, i1 %c) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %latch ]
  call void @g(i64 %i)
  br i1 %c, label %then, label %latch
then:
  call void @h(i64 %i)
  br label %latch
latch:
  %next = add i64 %i, 1
  %more = icmp ult i64 %next, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}
"""
CHECKED = UNSWITCHABLE + '@"f.bounds" = internal global [4 x i64] zeroinitializer\n'


def test_checked_builds_do_not_clone_loops_and_leave_unchecked_ones_alone():
    plain = compile_llvm_ir(UNSWITCHABLE, "generic")
    checked = compile_llvm_ir(CHECKED, "generic")
    again = compile_llvm_ir(UNSWITCHABLE, "generic")
    assert ".us:" in plain[0]          # LLVM's O3 as it is: the loop cloned for %c
    assert ".us:" not in checked[0]    # a checked build: %c tested in the loop
    assert again[1] == plain[1]        # an unchecked build after it: as before it


def test_vl_zero_touches_nothing_and_is_not_an_error():
    @rl.kernel
    def k(x: rl.Tensor[f32], n: i64):
        with rl.vector(n) as vl:
            x.vstore(rl.full(1.0, f32), x.shape[0])   # vl == 0 when n == 0: nothing stored
    x = np.zeros(3, np.float32)
    k(x, 0, checked=True)
    assert not x.any()
    raises_bounds(k, None, x, 1, checked=True)


@rl.kernel
def poke(x: rl.Tensor[f32], y: rl.Tensor[f32], at: i64):
    x[at] = 7.0  # poke


@pytest.mark.parametrize("at, how", [(3, "red zone written"), (5000, "unmapped"), (-1, "unmapped"),
                                     (-2000, "unmapped"), (10**8, "unmapped")])
def test_unchecked_stray_store_is_caught_and_neighbour_kept(at, how):
    x, y = np.zeros(3, np.float32), np.arange(4, dtype=np.float32)
    err = raises_bounds(poke, None, x, y, at, checked=False)
    assert err.tensor == "x" and how in str(err) and err.start == at and err.size == 3
    np.testing.assert_array_equal(y, np.arange(4, dtype=np.float32))   # the neighbour is intact


def test_unchecked_stray_load_past_the_page_faults():
    @rl.kernel
    def peek(x: rl.Tensor[f32], y: rl.Tensor[f32], at: i64):
        y[0] = x[at]
    x, y = np.zeros(3, np.float32), np.zeros(1, np.float32)
    err = raises_bounds(peek, None, x, y, 1024, checked=False)
    assert (err.tensor, err.start) == ("x", 1024) and "unmapped" in str(err)


def test_checked_and_unchecked_agree_in_bounds():
    x, extra = np.linspace(-1, 1, 37, dtype=np.float32), 0
    outs = []
    for checked in (False, True):
        y = np.zeros_like(x)
        run = copy_extra(x, y, extra, checked=checked)
        outs.append((y, run.compiled))
    np.testing.assert_array_equal(outs[0][0], x * 2)
    np.testing.assert_array_equal(outs[1][0], x * 2)
    assert not outs[0][1].checks and [c[:2] for c in outs[1][1].checks] == [("x", 0), ("y", 0)]


@rl.kernel
def runaway(x: rl.Tensor[f32], n: i64):
    acc = rl.var(0.0, f32)
    for i in rl.range(n):  # outer
        for vl, j in rl.vloop(x.shape[0]):  # inner
            acc += x.vload(j).sum()  # body
    x[0] = acc


@pytest.mark.parametrize("checked", [False, True])
def test_budget_stops_a_runaway_kernel_at_its_loop(checked):
    x = np.ones(100, np.float32)
    runaway(x, 3, checked=checked, budget=10**5)              # a short run fits
    assert x[0] == 300
    with pytest.raises(BudgetExceeded) as info:
        runaway(x, 10**15, checked=checked, budget=10**5)
    text = str(info.value)
    assert "in kernel runaway at " in text and "pass budget=" in text
    assert_stopped_in_runaway(text)


def assert_stopped_in_runaway(text):
    """The stop named a line of runaway's loop nest and the loop around it."""
    inner, outer, body = (f"{__file__}:{line_of(runaway, t)}" for t in ("# inner", "# outer", "# body"))
    sites = [f"at {body}, in the loop at {inner}", f"at {inner}, in the loop at {outer}", f"at {outer};"]
    assert any(site in text for site in sites), text


def test_default_budget_stops_an_endless_kernel(monkeypatch):
    @rl.kernel
    def endless(x: rl.Tensor[f32], n: i64):
        for i in rl.range(n):
            x[0] = x[0] + 1.0
    x = np.zeros(1, np.float32)
    assert 10**7 <= runner.DEFAULT_BUDGET <= 10**9    # seconds of emulation, not minutes
    monkeypatch.setattr(runner, "DEFAULT_BUDGET", 12345)   # the default, made quick to reach
    with pytest.raises(BudgetExceeded, match="12345 instructions retired in kernel endless"):
        endless(x, 2**62, checked=False)


def test_guard_page_fault_is_located():
    x, y = np.zeros(3, np.float32), np.zeros(1, np.float32)
    err = raises_bounds(poke, "# poke", x, y, 10**6, checked=False)
    assert err.start == 10**6 and "unmapped" in str(err)


def test_timeout_stops_a_runaway_kernel_at_its_loop(monkeypatch):
    x = np.ones(100, np.float32)
    with pytest.raises(TimeLimitExceeded) as info:
        runaway(x, 10**15, budget=10**15, timeout=0.2, checked=False)
    text = str(info.value)
    assert "limit 0.2 s" in text and "in kernel runaway at " in text and "pass timeout=" in text
    assert_stopped_in_runaway(text)
    assert 1 <= runner.DEFAULT_TIMEOUT <= 60                 # a safety net of at most a minute
    monkeypatch.setattr(runner, "DEFAULT_TIMEOUT", 0.3)       # the default applies when none is given
    with pytest.raises(TimeLimitExceeded, match="limit 0.3 s"):
        runaway(x, 10**15, budget=10**15, checked=False)


def test_ops_pass_checked_budget_and_timeout_on():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 7)).astype(np.float32), rng.standard_normal((7, 9)).astype(np.float32)
    got = ops.matmul(a, b, checked=True)
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)
    assert ops.last_run.compiled.checks                       # a debug run carries the checks
    ops.matmul(a, b, checked=False)
    assert not ops.last_run.compiled.checks
    with pytest.raises(BudgetExceeded, match="in kernel softmax at .*norms.py"):
        ops.softmax(rng.standard_normal((4, 300)), budget=50)
    with pytest.raises(TimeLimitExceeded, match="in kernel rmsnorm"):
        # 4M instructions unchecked (10M checked): far more than 5 ms of emulation even on a
        # fast, quiet host (4000 rows against 50 ms did finish in time there, and the test failed).
        ops.rmsnorm(rng.standard_normal((20000, 300)), np.ones(300), budget=10**12, timeout=0.005)



def test_objects_carry_line_tables_and_the_asm_stays_readable():
    compiled = runaway.compile(checked=False)
    lines = {line for _, file, line in compiled.lines if file == __file__} - {0}   # 0: no single line
    src, start = inspect.getsourcelines(runaway.fn)
    assert lines and lines <= set(range(start, start + len(src)))   # only lines of the kernel's body
    assert line_of(runaway, "# body") in lines
    assert "\t.loc\t" in compiled.asm and ".debug_" not in compiled.asm.replace(".cfi_sections .debug_frame", "")
