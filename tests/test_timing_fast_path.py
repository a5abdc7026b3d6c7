"""The timed mode's fast paths against its reference path: identical results.

The timing model keeps derived facts between executions to save host time: a
plan of each vector instruction's step, kept in its slot and keyed by
(encoding, vtype, vl), and where each memory instruction's prefetch stream
was last found; plain scalar ops are charged by an inline step that knows
from the slot what it does beyond the common part.  With
``RVAI_TIMING_REFERENCE=1`` in the environment when the model is made, it
charges every instruction through the general path and derives the plans
afresh every time (docs/timing-model.md).  Random programs (a
loop whose vsetvl switches between two vtypes and shrinks vl as it goes, so
one pc meets several plans; vector arithmetic, reductions, widening, masked
and memory ops of every addressing kind; scalar loads and stores walking
strided streams, Zicbop prefetches, the scalar step's cases) run in both on random presets, VLENs and prefetcher sizes:
every cycle, stall, counter, per-pc count and trace event, and the
architectural results, must be equal.
"""
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import Machine, errors
from rvai.emu.isa import assemble, table
from rvai.target import Target
from tests.conftest import CODE, load_program

VECTOR_OPS = [
    "vadd.vv v8, v16, v24", "vadd.vv v8, v16, v24, v0.t", "vmul.vv v24, v8, v16", "vadd.vx v16, v8, a2",
    "vfmacc.vv v8, v16, v24", "vfdiv.vv v16, v8, v24", "vdiv.vv v8, v16, v24", "vredsum.vs v8, v16, v24",
    "vfredusum.vs v8, v16, v24", "vwadd.vv v8, v16, v24", "vnsrl.wi v8, v16, 1", "vrgather.vv v8, v16, v24",
    "vcompress.vm v8, v16, v0", "vmv.x.s a7, v8", "vcpop.m a7, v0", "vle8.v v8, (a0)", "vle8.v v16, (a0), v0.t",
    "vlse8.v v24, (a0), a5", "vse8.v v8, (a0)", "vl1re8.v v4, (a0)", "addi a0, a0, 64", "addi a0, a0, -64",
]
SCALAR_OPS = ["ld t1, 0(a1)", "sd t1, 8(a1)", "lw t2, 64(a1)", "sw t2, 128(a1)", "add t3, t1, t2", "mul t4, t3, t1",
              "div t5, t4, a3", "addi a1, a1, 24", "addi a1, a1, 200", "rdcycle a7", "cbo.zero (a1)",
              "prefetch.r 512(a1)", "prefetch.w -64(a0)"]
# The scalar step's own cases (not in the lists above, which tests/timing_record.py's
# recorded programs are drawn from): a third source (ft0) late from a load or an FMA,
# writes of one register back to back (waw_pairing), a CSR that is no clock, a branch
# and a jump past the next instruction.
STEP_OPS = ["flw ft0, 32(a1)", "fmadd.s ft0, ft4, ft5, ft0", "fmadd.s ft1, ft4, ft5, ft0", "addi t3, zero, 5",
            "csrr a7, vl", "bne t1, t2, 8", "jal t5, 8"]
# Those in an order that meets each case at every pass.
SCALAR_STEP = ["addi t3, zero, 5", "add t3, t1, t2", "flw ft0, 32(a1)", "fmadd.s ft1, ft4, ft5, ft0",
               "fmadd.s ft0, ft4, ft5, ft0", "fmadd.s ft0, ft4, ft5, ft0", "csrr a7, vl", "bne t1, t2, 8",
               "addi t4, t4, 1", "jal t5, 8", "addi t4, t4, 2", "ld t1, 0(a1)", "sd t1, 8(a1)"]
PRESETS = ["generic", "spacemit-x60", "sifive-x280", "xuantie-c930", "small-inorder"]
SEWS = {16: 1, 32: 2}   # every op above is legal at both (8 has no FP, 64 no widening)
LMULS = {"m1": 0, "m2": 1, "m4": 2, "mf2": 7}


def vtypes():
    return st.builds(lambda sew, lmul, ta, ma: SEWS[sew] << 3 | LMULS[lmul] | ta << 6 | ma << 7,
                     st.sampled_from(sorted(SEWS)), st.sampled_from(sorted(LMULS)), st.booleans(), st.booleans())


def program(body, iterations):
    """``body`` in a loop: each pass sets vtype from a4 (toggled by a5) and AVL a3 (less 3 a pass)."""
    head = ["vsetvl t0, a3, a4", *body, "xor a4, a4, a6", "addi a3, a3, -3", "addi t6, t6, -1"]
    return ["addi t6, zero, %d" % iterations, *head, "bne t6, zero, %d" % (-4 * len(head)), "jalr zero, 0(ra)"]


def timed_machine(preset, vlen, streams, reference, **params):
    """A timed machine on ``preset`` (the model's ``params`` given replaced) whose
    model takes the fast or the reference path."""
    saved = os.environ.get("RVAI_TIMING_REFERENCE")
    os.environ["RVAI_TIMING_REFERENCE"] = "1" if reference else "0"
    try:   # the model reads it when it is made
        target = Target.preset(preset)
        m = Machine(target, vlen=vlen)
        m.set_timed(True, {**target.model, "prefetch_streams": streams, **params})
    finally:
        if saved is None:
            del os.environ["RVAI_TIMING_REFERENCE"]
        else:
            os.environ["RVAI_TIMING_REFERENCE"] = saved
    return m


def observe(m, vtype_a, vtype_b, avl):
    """Everything observable of one timed call of the program at CODE: the profile, registers, memory, any error."""
    buf = m.alloc(1 << 19, align=4096)
    m.write(buf, np.arange(1 << 14, dtype=np.uint32) * np.uint32(2654435761))
    for i in range(32):
        m.v(i, bytes((i * 37 + k * 11) & 0xff for k in range(m.vlen // 8)))
    m.reset_counters()
    try:
        m.call(CODE, buf + (1 << 16), buf + 256, 3, avl, vtype_a, 16, vtype_a ^ vtype_b, ret=None, budget=400_000)
        error = None
    except errors.EmulatorError as exc:
        error = str(exc)
    p = m.profile()
    return (p.counted(), error, [m.x(i) for i in range(32)], [m.v(i) for i in range(32)],
            m.read_bytes(buf, 1 << 19))


def outcome(lines, preset, vlen, streams, vtype_a, vtype_b, avl, reference):
    """observe() of a fresh machine running ``lines``."""
    m = timed_machine(preset, vlen, streams, reference)
    load_program(m, lines)
    return observe(m, vtype_a, vtype_b, avl)


@settings(max_examples=60, deadline=None)
@given(body=st.lists(st.sampled_from(VECTOR_OPS + SCALAR_OPS + STEP_OPS), min_size=1, max_size=40),
       iterations=st.integers(1, 24), preset=st.sampled_from(PRESETS), vlen=st.sampled_from([128, 256, 512]),
       streams=st.sampled_from([1, 2, 16]), vtype_a=vtypes(), vtype_b=vtypes(), avl=st.integers(0, 300))
def test_fast_and_reference_timed_paths_agree(body, iterations, preset, vlen, streams, vtype_a, vtype_b, avl):
    lines = program(body, iterations)
    args = (lines, preset, vlen, streams, vtype_a, vtype_b, avl)
    fast, ref = outcome(*args, reference=False), outcome(*args, reference=True)
    assert fast[0] == ref[0]
    assert fast[1:] == ref[1:]


@pytest.mark.parametrize("preset", PRESETS)
def test_the_scalar_step_times_the_same_in_both_paths(preset):
    """The inline step (the third source, waw pairing and the branch it
    knows from the slot, pending work tested only while there is some)
    against the general path, which charges every instruction in the
    reference mode."""
    args = (program(SCALAR_STEP, 20), preset, 256, 16, SEWS[32] << 3, SEWS[16] << 3, 100)
    fast = outcome(*args, reference=False)
    assert fast[1] is None and fast[0]["stalls"]["data"] > 0
    assert fast == outcome(*args, reference=True)


@pytest.mark.parametrize("preset", ["spacemit-x60", "xuantie-c930"])
def test_a_dsl_gemm_times_the_same_in_both_paths(preset, monkeypatch):
    from rvai import ops
    rng = np.random.default_rng(3)
    target = Target.preset(preset)
    x = rng.standard_normal((7, 80)).astype(np.float32)
    w = ops.pack_weights(rng.standard_normal((72, 80)).astype(np.float32), target=target)
    runs = []
    for flag in ("0", "1"):
        monkeypatch.setenv("RVAI_TIMING_REFERENCE", flag)
        y = ops.linear(x, w, target=target, harts=1)
        p = ops.last_run.profile
        runs.append((y.tobytes(), p.counted()))
    assert runs[0] == runs[1]


def test_more_vector_instructions_than_the_first_plans_hold():
    """Each vector slot has its own plan, and the model's store of them grows
    (64, then doubling): a loop of 300 vector instructions, every one a plan of
    its own, times the same as the reference path."""
    body = [op for op in VECTOR_OPS if not op.startswith("addi")] * 15
    np.random.default_rng(5).shuffle(body)
    lines = program(body, 3)
    args = (lines, "xuantie-c930", 256, 16, SEWS[32] << 3, SEWS[16] << 3 | LMULS["m2"], 200)
    assert outcome(*args, reference=False) == outcome(*args, reference=True)


@pytest.mark.parametrize("preset", ["spacemit-x60", "xuantie-c930"])
def test_a_vector_instruction_rewritten_in_place_is_planned_again(preset):
    """Code rewritten between two runs (the decode cache's invalidation, as
    self-modifying code meets it): the rewritten slot, derived again, keeps
    its plan, which must not be used for the new instruction although vtype
    and vl are the ones it was planned for."""
    old, new = "vadd.vv v8, v16, v24", "vfdiv.vv v16, v8, v24"   # same operands, far apart in cost
    lines = program(["vle8.v v24, (a0)", old, "vredsum.vs v8, v16, v24"], 6)
    at = CODE + 4 * lines.index(old)
    runs = []
    for reference in (False, True):
        m = timed_machine(preset, 256, 16, reference)
        load_program(m, lines)
        first = observe(m, SEWS[32] << 3, SEWS[32] << 3, 64)
        m.write(at, np.array([assemble(new)], dtype=np.uint32))
        runs.append((first, observe(m, SEWS[32] << 3, SEWS[32] << 3, 64)))
    assert runs[0][1][0]["cycles"] != runs[0][0][0]["cycles"]   # the new instruction costs differently
    assert runs[0] == runs[1]


def test_only_scalar_fused_multiply_adds_have_a_third_source():
    """The vector and prefetch steps wait for two scalar sources (csrc/timing.c,
    wait_sources): the instruction table must give a third ('R', rs3) to no
    vector op, nor to the ori that encodes a Zicbop prefetch."""
    rows = table().values()
    assert {row.cls for row in rows if "R" in row.operands.split(",")} == {"FFMA"}


@settings(max_examples=40, deadline=None)
@given(keys=st.lists(st.tuples(st.integers(0, 70), vtypes()), min_size=1, max_size=4),
       order=st.lists(st.integers(0, 3), min_size=1, max_size=40),
       body=st.lists(st.sampled_from([op for op in VECTOR_OPS if not op.startswith("addi")]), min_size=1, max_size=6),
       preset=st.sampled_from(PRESETS), vlen=st.sampled_from([128, 256]))
def test_a_slot_meeting_several_vtypes_and_vls_times_as_the_reference(keys, order, body, preset, vlen):
    """A vector slot's plan is planned again whenever its key changes
    (vector_plan): a loop whose vsetvl takes its AVL and vtype from a drawn
    sequence of up to four keys, so each op meets its keys again after 0, 1 or
    more others, times the same as the reference path, which plans every
    execution afresh.  (Written for a two-plan cache per slot, which did not
    pay and was dropped: docs/performance.md, tg43.)"""
    seq = [keys[i % len(keys)] for i in order]
    head = ["ld a3, 0(a1)", "ld a4, 8(a1)", "vsetvl t0, a3, a4", *body, "addi a1, a1, 16", "addi t6, t6, -1"]
    lines = ["addi t6, zero, %d" % len(seq), *head, "bne t6, zero, %d" % (-4 * len(head)), "jalr zero, 0(ra)"]
    runs = []
    for reference in (False, True):
        m = timed_machine(preset, vlen, 16, reference)
        load_program(m, lines)
        buf = m.alloc(1 << 16, align=4096)
        m.write(buf, np.arange(1 << 13, dtype=np.uint32) * np.uint32(2654435761))
        table_at = m.alloc(16 * len(seq), align=8)
        m.write(table_at, np.array([w for avl, vtype in seq for w in (avl, vtype)], dtype=np.uint64))
        m.reset_counters()
        m.call(CODE, buf, table_at, ret=None, budget=400_000)
        runs.append((m.profile().counted(), [m.x(i) for i in range(32)], [m.v(i) for i in range(32)]))
    assert runs[0] == runs[1]


# Loads and stores of two strided streams, a vector one through a0 and a scalar
# one through a1, each pointer bumped every pass (by a2 and a5).
STREAM_OPS = ["vle8.v v8, (a0)", "vse8.v v8, (a0)", "vle8.v v16, (a0)", "ld t1, 0(a1)", "sd t1, 8(a1)",
              "lw t2, 64(a1)", "sw t2, 72(a1)", "prefetch.r 512(a1)"]


@settings(max_examples=150, deadline=None)
@given(body=st.lists(st.sampled_from(STREAM_OPS), max_size=8), iterations=st.integers(80, 240),
       preset=st.sampled_from(PRESETS), l1=st.sampled_from([(1024, 1), (2048, 4), (4096, 2)]),
       l2=st.sampled_from([(4096, 2), (8192, 16), (16384, 4)]), degree=st.sampled_from([1, 4, 16]),
       stride_v=st.sampled_from([64, 128, -64, 200]), stride_s=st.sampled_from([8, 64, -72, 192]),
       vtype=st.sampled_from([0, 2]), avl=st.integers(1, 128))
def test_streams_through_caches_they_overflow_time_the_same_in_both_paths(body, iterations, preset, l1, l2, degree,
                                                                          stride_v, stride_s, vtype, avl):
    """Trained streams walking far past small caches, so that L1's and L2's
    sets overflow, dirty lines are written back from both and the prefetcher
    runs at its full distance: what the fast path's train does besides the
    reference's (the host prefetches for the next trainings' L2 searches)
    must leave every cycle, counter and per-pc count as the reference's."""
    body = ["vle8.v v8, (a0)", "sd t1, 8(a1)", *body]   # (both streams in every program, one of them stored to)
    lines = ["vsetvl t0, a3, a4", "addi t6, zero, %d" % iterations, *body, "add a0, a0, a2", "add a1, a1, a5",
             "addi t6, t6, -1", "bne t6, zero, %d" % (-4 * (len(body) + 3)), "jalr zero, 0(ra)"]
    runs = []
    for reference in (False, True):
        m = timed_machine(preset, 256, 16, reference, prefetch_degree=degree, l1_size=l1[0], l1_assoc=l1[1],
                          l2_size=l2[0], l2_assoc=l2[1])
        load_program(m, lines)
        buf = m.alloc(1 << 19, align=4096)
        m.write(buf, np.arange(1 << 17, dtype=np.uint32) * np.uint32(2654435761))
        m.reset_counters()
        # (e8, m1 or m4: vtype 0 or 2; the streams start mid-buffer so that either sign of stride stays in it)
        m.call(CODE, buf + (1 << 18), buf + (3 << 17), stride_v, avl, vtype, stride_s, ret=None, budget=400_000)
        p = m.profile()
        runs.append((p.counted(), m.read_bytes(buf, 1 << 19)))
    caches = runs[0][0]["caches"]
    assert caches["L2"]["misses"] > 0 and caches["prefetches"]["issued"] > 0
    assert runs[0] == runs[1]


# One vector stream through a0 (bumped by a2) and one scalar through a1 (by
# a5), at the element width {w} of the drawn vtype; the first two always run.
STEADY_OPS = ["vle{w}.v v8, (a0)", "ld t1, 0(a1)", "vse{w}.v v16, (a0)", "vle{w}.v v24, (a0)", "sd t1, 8(a1)",
              "flw ft0, 4(a1)", "sw t2, 64(a1)", "vse{w}.v v8, (a0)"]


@settings(max_examples=120, deadline=None)
@given(extra=st.lists(st.sampled_from(STEADY_OPS[2:]), max_size=5), iterations=st.integers(60, 240),
       preset=st.sampled_from(PRESETS), harts=st.sampled_from([1, 2]), apart=st.sampled_from([0, 8, 64, 4096]),
       l1=st.sampled_from([(512, 2), (768, 3), (1024, 4), (2048, 8), (3072, 12)]),
       l2=st.sampled_from([(4096, 4), (6144, 12), (8192, 16), (3072, 3)]), degree=st.sampled_from([1, 2, 16, 64]),
       stride_v=st.sampled_from([-256, -64, 64, 96, 128, 512]), stride_s=st.sampled_from([4, 8, 64, -8, 200]),
       sew=st.sampled_from([8, 32]), lmul=st.integers(0, 3), avl=st.integers(1, 256))
def test_steady_streams_time_the_same_in_both_paths(extra, iterations, preset, harts, apart, l1, l2, degree,
                                                     stride_v, stride_s, sew, lmul, avl):
    """Vector streams of drawn strides and spans (SEW 8 or 32, LMUL 1 to 8,
    vl from 1 to VLMAX) and scalar ones, trained to their full distance
    through small caches of 2 to 16 ways, including ways that are no multiple
    of four, whose sets they overflow; stores making dirty victims; with two
    harts, both walking the same lines or lines near each other's.  The fast
    path trains a stream at full distance without the general path's reach
    and `ahead` bookkeeping, and searches a set of a multiple of four ways
    four at a time: every cycle, counter, per-pc count, trace event and memory
    byte must be the reference's, which does neither."""
    body = [op.format(w=sew) for op in STEADY_OPS[:2] + extra]
    lines = ["vsetvl t0, a3, a4", "add t6, zero, a6", *body, "add a0, a0, a2", "add a1, a1, a5",
             "addi t6, t6, -1", "bne t6, zero, %d" % (-4 * (len(body) + 3)), "jalr zero, 0(ra)"]
    vtype = {8: 0, 32: 2}[sew] << 3 | lmul
    runs = []
    for reference in (False, True):
        saved = os.environ.get("RVAI_TIMING_REFERENCE")
        os.environ["RVAI_TIMING_REFERENCE"] = "1" if reference else "0"
        try:   # the model reads it when it is made
            target = Target.preset(preset)
            m = Machine(target, vlen=256, harts=harts)
            m.set_timed(True, {**target.model, "prefetch_degree": degree, "l1_size": l1[0], "l1_assoc": l1[1],
                               "l2_size": l2[0], "l2_assoc": l2[1]})
        finally:
            if saved is None:
                del os.environ["RVAI_TIMING_REFERENCE"]
            else:
                os.environ["RVAI_TIMING_REFERENCE"] = saved
        load_program(m, lines)
        buf = m.alloc(1 << 19, align=4096)
        m.write(buf, np.arange(1 << 17, dtype=np.uint32) * np.uint32(2654435761))
        m.reset_counters()
        # (the streams start mid-buffer so that either sign of stride stays in it)
        args = [(buf + (1 << 18) + h * apart, buf + (3 << 17) + h * apart, stride_v, avl, vtype, stride_s, iterations)
                for h in range(harts)]
        m.call_threads(CODE, args, ret=None, budget=800_000)
        runs.append((m.profile().counted(), m.read_bytes(buf, 1 << 19), [m.x(i) for i in range(32)]))
    caches = runs[0][0]["caches"]
    assert caches["L2"]["misses"] > 0 and caches["prefetches"]["issued"] > 0
    assert runs[0] == runs[1]
