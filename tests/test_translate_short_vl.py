"""Translated blocks entered with vl short of VLMAX (a strip-mined loop's
tail, the vl of each row from a register, the vtype switching between
rows), functional and timed, against the interpreter, the reference: every
vector and scalar register, the data and output pages, instret, the stop,
fflags, and in timed mode the cycles, the profile and the per-pc cycles.
A block translated at one vl and entered at others runs its vector steps'
C sides (the plans are made for VLMAX: translate.py); the tails (undisturbed,
or agnostic with tail_ones), the page end the loads and stores reach (the
next page unmapped) and special lanes are the cases a short vl adds."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import CODE, resume
from rvai.emu import Machine
from rvai.emu.isa import assemble
from rvai.target import Target

pytest.importorskip("llvmlite")
from rvai.emu.translate import ASK_EVERY  # noqa: E402

SRC, DST = 0x40000, 0x50000   # one page each, the pages after them unmapped
PAGE = 4096
NX = 1
BIG = {32: 0x7F7FFFFF, 64: 0x7FEFFFFFFFFFFFFF}   # the largest finite: its products overflow (a special result)


def program(sew, lmul, policy, reps, second):
    """The kernel, run s2 times: s4 rows; row r works on n = a1 + r * a3 elements
    (n0 = s5)
    strip-mined (vsetvli on t0) at e{sew} m{lmul}, or at ``second`` (SEW,
    LMUL) on odd rows when given; each strip loads SRC's elements ending at
    the page's end, runs ``reps`` passes of a block of only inline-able
    vector ops (vle, vfmacc.vf, vfadd.vv: the block's vtype test hoisted to
    its entry) and stores to DST's page end."""
    def strip(s, m, label):
        shift = (s // 8).bit_length() - 1
        return [
            (label, f"vsetvli t1, t0, e{s}, m{m}, {policy}"),
            (None, f"slli t4, t1, {shift}"),
            (None, "sub t2, t2, t4"), (None, "sub t3, t3, t4"),   # the strip ends where the last one began
            (None, f"li t5, {reps}"),
            (f"body{label}", f"vle{s}.v v8, (t2)"),
            (None, "vfmacc.vf v16, fa0, v8"),
            (None, "vfadd.vv v24, v16, v8"),
            (None, "addi t5, t5, -1"),
            (None, f"bnez t5, @body{label}"),
            (None, f"vse{s}.v v24, (t3)"),
            (None, "sub t0, t0, t1"),
            (None, f"bnez t0, @{label}"),
        ]
    items = [("start", "mv a0, s4"), (None, "mv a1, s5"), ("outer", "mv t0, a1"), (None, "mv t2, s0"),
             (None, "mv t3, s1")]
    if second:
        items += [(None, "andi t6, a0, 1"), (None, "bnez t6, @odd")]
        items += strip(sew, lmul, "even") + [(None, "j @next")] + strip(*second, "odd")
    else:
        items += strip(sew, lmul, "even")
    items += [("next", "add a1, a1, a3"), (None, "addi a0, a0, -1"), (None, "bnez a0, @outer"),
              (None, "addi s2, s2, -1"), (None, "bnez s2, @start"), (None, "ebreak")]
    at = {label: 4 * k for k, (label, _) in enumerate(items) if label}
    lines = []
    for k, (_, text) in enumerate(items):
        if "@" in text:
            head, label = text.split("@")
            text = f"{head}{at[label] - 4 * k}"
        lines.append(text)
    return lines


def lanes(sew, seed, p_big):
    """A page of SEW-bit floats: ordinary (magnitude in [0.5, 2), either
    sign), or with probability ``p_big`` the largest finite (whose products
    overflow: a special result, the call)."""
    rng = np.random.default_rng(seed)
    ft, it = (np.float32, np.uint32) if sew == 32 else (np.float64, np.uint64)
    x = (rng.uniform(0.5, 2.0, PAGE * 8 // sew) * rng.choice([-1, 1], PAGE * 8 // sew)).astype(ft).view(it)
    x[rng.random(x.size) < p_big] = BIG[sew]
    return x.tobytes()


def run(tier, timed, vlen, sew, lmul, policy, reps, second, rows, n0, step, seed, p_big, tail_ones, budget,
        repeats=1):
    """Run the kernel (program) ``repeats`` times on a fresh machine, its
    data from ``seed`` (lanes); every observable, and the machine."""
    data = lanes(sew, seed, p_big)
    fa0 = 0x3FC00000 | 0xFFFFFFFF00000000 if sew == 32 else 0x3FF8000000000000   # 1.5
    kw = dict(vlen=vlen, tier=tier, tail_ones=tail_ones)
    m = Machine(Target.preset("spacemit-x60"), timed=True, **kw) if timed else Machine(**kw)
    words = np.array([assemble(t) for t in program(sew, lmul, policy, reps, second)], dtype=np.uint32)
    m.map(CODE, PAGE, "rx")
    m.write(CODE, words)
    m.map(SRC, PAGE, "rw")
    m.map(DST, PAGE, "rw")
    m.write(SRC, np.frombuffer(data, dtype=np.uint8))
    m.write(DST, np.frombuffer(data[::-1], dtype=np.uint8))
    for i in range(32):
        m.v(i, data[i * vlen // 8 % PAGE:][:vlen // 8].ljust(vlen // 8, b"\x5a"))
    m.f(10, fa0)
    for r, v in ((20, rows), (21, n0), (13, step), (8, SRC + PAGE), (9, DST + PAGE), (18, repeats)):
        m.x(r, v)
    m.csr(0x001, NX)   # fflags: NX, as a translated block's inline vector FP wants it
    m.pc = CODE
    stop = resume(m, budget)
    out = {"v": [m.v(i) for i in range(32)], "x": [m.x(i) for i in range(32)], "pc": m.pc, "stop": stop,
           "instret": m.instret, "csr": [m.csr(c) for c in (0x001, 0xC20, 0xC21, 0x008)],
           "src": bytes(m.read(SRC, np.uint8, PAGE)), "dst": bytes(m.read(DST, np.uint8, PAGE))}
    if timed:
        p = m.profile()
        out.update(cycles=m.cycles, profile=p.to_dict(), pc_cycles=p.pc_cycles)
    return out, m


def both(timed, hot, **c):
    """run() translated (``hot``: RVAI_JIT_HOT, 0 translating every block at
    its first entry; 1 once a block was entered ASK_EVERY times, at whatever
    vl it then runs: the kernel repeated so that its blocks get there) and
    interpreted: (translated, interpreted, the translated machine)."""
    c.setdefault("repeats", 1 if hot == 0 else ASK_EVERY + 10)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVAI_JIT_HOT", str(hot))
        mp.setenv("RVAI_JIT_TIMED", "1")
        t, m = run("translate", timed, **c)
    i, _ = run("interpret", timed, **c)
    return t, i, m


@st.composite
def case(draw):
    vlen, sew, lmul = draw(st.sampled_from([128, 256, 512])), draw(st.sampled_from([32, 64])), \
        draw(st.sampled_from([1, 2, 4, 8]))
    vlmax = vlen * lmul // sew
    rows = draw(st.integers(1, 6))
    n0, step = draw(st.integers(1, 3 * vlmax)), draw(st.integers(-2, vlmax + 1))
    n0 = max(n0, 1 - step * (rows - 1), 1)   # every row's n at least 1
    # (n's elements of the widest SEW must fit in the page: the kernel's last row the most)
    n0 = min(n0, PAGE // 8 - max(step, 0) * (rows - 1))
    second = draw(st.sampled_from([None, None, (32, 2), (64, 4), (32, 8)]))
    return dict(vlen=vlen, sew=sew, lmul=lmul, policy=draw(st.sampled_from(["ta, ma", "tu, mu", "ta, mu"])),
                reps=draw(st.integers(1, 3)), second=second, rows=rows, n0=n0, step=step,
                seed=draw(st.integers(0, 2**32)), p_big=draw(st.sampled_from([0, 0, 0, 0.01])), tail_ones=draw(st.integers(0, 4)) == 0,
                budget=draw(st.sampled_from([10**8] * 5 + [37, 200, 1001, 20_000])))


EXAMPLE = dict(vlen=256, sew=32, lmul=4, policy="ta, ma", reps=2, second=None, rows=5, n0=40, step=7,
               seed=1, p_big=0, tail_ones=False, budget=10**8)


@settings(max_examples=80, deadline=None)
@given(c=case(), hot=st.sampled_from([0, 1]))
@example(c=EXAMPLE, hot=0)
def test_short_vl_blocks_match_the_interpreter(c, hot):
    t, i, _ = both(False, hot, **c)
    assert t == i


@settings(max_examples=30, deadline=None)
@given(c=case(), hot=st.sampled_from([0, 1]))
@example(c=EXAMPLE, hot=0)
def test_short_vl_blocks_time_the_same(c, hot):
    t, i, _ = both(True, hot, **c)
    assert t == i
