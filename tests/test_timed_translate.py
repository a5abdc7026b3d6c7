"""Timed mode in the translating tier against the timed interpreter, its
reference: the same programs run timed in both tiers must give the same
registers, memory, stops, cycles and profile (per-pc cycles, stalls, pipes,
cache counters) bit for bit.  Translated blocks charge each instruction
through the model's own step (a plain op's inline, csrc/timing.h's tm_step
written in the block's IR), so any difference is a bug of the block's step."""
import dataclasses

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from conftest import CODE, resume
from test_translate import encode, program, run, value
from rvai import ops
from rvai.emu import EmulatorError, Machine
from rvai.target import Target

pytestmark = pytest.mark.usefixtures("timed_translation")

pytest.importorskip("llvmlite")

PRESETS = ["spacemit-x60", "xuantie-c930", "generic"]


@pytest.fixture
def timed_translation(monkeypatch):
    """Timed machines of the translating tier translate (RVAI_JIT_TIMED, on
    unless the environment running the tests says 0)."""
    monkeypatch.setenv("RVAI_JIT_TIMED", "1")


def timed_run(items, tier, budget, seeds, regs, preset):
    """test_translate.run on a timed machine of ``preset``, with its profile."""
    m = Machine(Target.preset(preset), vlen=128, tier=tier, timed=True)
    out = run(items, tier, budget, seeds, regs, machine=m)
    p = m.profile()
    out.update(cycles=m.cycles, profile=p.to_dict(), pc_cycles=p.pc_cycles)
    return out, m


@settings(max_examples=60, deadline=None)
@given(items=program(), budget=st.one_of(st.integers(1, 3000), st.just(10**6)),
       seeds=st.binary(min_size=64, max_size=64), regs=st.lists(value, min_size=6, max_size=6),
       preset=st.sampled_from(PRESETS))
def test_random_programs_time_the_same_translated(items, budget, seeds, regs, preset):
    with pytest.MonkeyPatch.context() as mp:   # every block translated at its first entry
        mp.setenv("RVAI_JIT_HOT", "0")
        mp.setenv("RVAI_JIT_TIMED", "1")   # (hypothesis examples run outside function-scoped fixtures)
        t, m = timed_run(items, "translate", budget, seeds, regs, preset)
    i, _ = timed_run(items, "interpret", budget, seeds, regs, preset)
    assert t == i


def kernel_call(name, target):
    """An ops call of kernel ``name`` small enough for a test (inputs fixed by a seed)."""
    rng = np.random.default_rng(1)
    if name == "gemm":
        x = rng.standard_normal((4, 256)).astype(np.float32)
        w = ops.pack_weights(rng.standard_normal((96, 256)).astype(np.float32), target=target)
        return lambda: ops.linear(x, w, target=target, harts=1)
    q = rng.standard_normal((2, 24, 64)).astype(np.float32)
    kv = rng.standard_normal((1, 40, 64)).astype(np.float32)
    return lambda: ops.attention(q, kv, kv * 0.5, causal=True, target=target)


@pytest.mark.parametrize("name", ["gemm", "attention"])
@settings(max_examples=4, deadline=None)
@given(scale=st.sampled_from([1, 2, 4]), preset=st.sampled_from(PRESETS[:2]))
def test_kernels_time_the_same_translated(name, scale, preset):
    """At several VLEN: the target's least, twice and four times it."""
    target = Target.preset(preset)
    target = target.with_vlen(target.min_vlen * scale)
    results = {}
    for tier in ("interpret", "translate"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("RVAI_TIER", tier)
            mp.setenv("RVAI_JIT_HOT", "0")
            mp.setenv("RVAI_JIT_TIMED", "1")
            out = kernel_call(name, target)()
            r = ops.last_run
            results[tier] = (np.asarray(out).tobytes(), r.cycles, r.instret, r.profile.to_dict(),
                             r.profile.pc_cycles)
    assert results["translate"] == results["interpret"]


def test_switching_the_mode_forgets_the_translations(monkeypatch):
    """A block translated in one mode never runs in the other: a functional
    block would charge the model nothing, a timed one charge a model that is off."""
    monkeypatch.setenv("RVAI_JIT_HOT", "0")
    items = ["addi a0, a0, 1", "add a1, a1, a0", "addi s2, s2, -1", ("to", "bne s2, zero, {off}", 0, 3), "ebreak"]
    seeds, regs = bytes(64), (0,) * 6

    def again(m):   # the program once more on the same machine
        m.x(10, 0)
        m.x(11, 0)
        m.x(18, 3)
        m.pc = CODE
        with pytest.raises(EmulatorError):
            m.resume(budget=10**6)
        return m.x(11)

    m = Machine(Target.preset("spacemit-x60"), vlen=256, tier="translate")
    run(items, "translate", 10**6, seeds, regs, machine=m)   # functional: blocks without the model's step
    functional = m.translation["blocks"]
    assert functional >= 1
    m.set_timed(True)
    assert again(m) == 6
    timed = m.translation["blocks"]
    assert timed > functional   # translated again, for the timed mode
    ref = Machine(Target.preset("spacemit-x60"), vlen=256, timed=True)
    run(items, "interpret", 10**6, seeds, regs, machine=ref)
    assert (m.cycles, m.profile().pc_cycles) == (ref.cycles, ref.profile().pc_cycles)
    m.set_timed(False)
    assert again(m) == 6
    assert m.translation["blocks"] > timed   # and again for the functional one


# ---- scalar loops looping in place: the inline step, L1 hit and branch resolution (emu21)

BIG = 0x100000         # a 256 KiB rw region: accesses 4 KiB apart share L1 sets (evictions, LRU order)
BIG_SIZE = 1 << 18
BODY_REGS = ["a1", "a2", "a3", "a4", "a6", "t0", "t1"]   # what the loop body writes (a0 counts, a7 the inner count)
ACCESSES = {"ld": 8, "lw": 4, "lhu": 2, "lbu": 1, "sd": 8, "sw": 4, "sh": 2, "sb": 1}


@st.composite
def scalar_op(draw):
    """One instruction of a loop body: an access through s5 (walking BIG) or
    s0 (fixed), aligned or not; integer work, a multiply's latency among it;
    a pointer bump; a Zicbop prefetch (its step is the C one, mid-block)."""
    kind = draw(st.sampled_from(["access"] * 4 + ["alu", "mul", "bump", "prefetch"]))
    rd, rs = draw(st.sampled_from(BODY_REGS)), draw(st.sampled_from(BODY_REGS + ["a0"]))
    if kind == "access":
        op, base = draw(st.sampled_from(sorted(ACCESSES))), draw(st.sampled_from(["s5", "s0"]))
        size = ACCESSES[op]
        off = draw(st.one_of(st.integers(0, 40).map(lambda j: j * size), st.integers(0, 255)))
        return f"{op} {rs if op[0] == 's' else rd}, {off}({base})"
    if kind == "alu":
        return f"{draw(st.sampled_from(['add', 'xor', 'sub', 'or']))} {rd}, {rs}, {draw(st.sampled_from(BODY_REGS))}"
    if kind == "mul":
        return f"mul {rd}, {rs}, {rd}"
    if kind == "bump":   # 8 bytes to 4 KiB (s4: the same L1 set, lines evicted by LRU order), forward
        return draw(st.sampled_from(["add s5, s5, s4"] * 3 + [f"addi s5, s5, {d}" for d in (8, 16, 64, 2047)]))
    return f"ori zero, s5, {draw(st.sampled_from([1, 3, 33]))}"   # prefetch.r / prefetch.w


@st.composite
def scalar_loop(draw):
    """An inner loop of 1 to 64 passes (varied per outer pass: its branch
    mispredicts at both ends) around a drawn body, run 1 to 6 times."""
    body = draw(st.lists(scalar_op(), min_size=1, max_size=14))
    mask = draw(st.sampled_from([3, 15, 63]))
    head = ["lui s4, 1", "lui s0, 0x100", f"addi s2, zero, {draw(st.integers(1, 6))}",   # s0 = BIG, s4 = 4 KiB
            "lui s5, 0x100", f"andi a7, a0, {mask}", "addi a7, a7, 1"]
    inner = len(head)
    return head + body + ["addi a7, a7, -1", ("to", "bne a7, zero, {off}", inner, inner + len(body) + 1),
                          "addi a0, a0, 3", "addi s2, s2, -1", ("to", "bne s2, zero, {off}", 3, inner + len(body) + 4),
                          "ebreak"]


def loop_machine(items, tier, a0, preset, setup=None, vlen=128):
    """A timed machine of ``preset`` (a name or a Target; after ``setup(m)`` when given) with the
    loop at CODE, BIG mapped and filled, a0 set, about to start the loop."""
    target = preset if isinstance(preset, Target) else Target.preset(preset)
    m = Machine(target, vlen=vlen, tier=tier, timed=True)
    if setup is not None:
        setup(m)
    m.map(CODE, 4096, "rx")
    m.write(CODE, np.frombuffer(encode(items), dtype=np.uint8))
    m.map(BIG, BIG_SIZE, "rw")
    m.write(BIG, (np.arange(BIG_SIZE) * 37 % 251).astype(np.uint8))
    m.x(10, a0)
    m.pc = CODE
    return m


def timed_loop(items, tier, budget, a0, preset, setup=None, vlen=128):
    """The loop on loop_machine's machine: registers, BIG's bytes, the stop,
    and every timed observable (cycles, the profile with its stalls and
    cache counters, per-pc cycles)."""
    m = loop_machine(items, tier, a0, preset, setup, vlen)
    return resumed(m, budget), m


def resumed(m, budget):
    """Resume m for ``budget`` instructions: its registers, BIG's bytes, the
    stop, and every timed observable."""
    stop = resume(m, budget)
    p = m.profile()
    return {"x": [m.x(i) for i in range(32)], "pc": m.pc, "stop": stop, "mem": bytes(m.read(BIG, np.uint8, BIG_SIZE)),
            "cycles": m.cycles, "profile": p.to_dict(), "pc_cycles": p.pc_cycles}


def timed_both(items, budget, a0, target, hot=0, setup=None, trace=False, vlen=128, vector=False):
    """timed_loop in the translating tier (timed blocks, each translated after
    ``hot`` entries) and in the interpreter: (the translated run's
    observables, the interpreter's, the translated run's machine); with
    ``trace``, each with its vector timeline too; with ``vector``, each with
    its vector registers and vstart."""
    with pytest.MonkeyPatch.context() as mp:   # (hypothesis examples run outside function-scoped fixtures)
        mp.setenv("RVAI_JIT_HOT", str(hot))
        mp.setenv("RVAI_JIT_TIMED", "1")
        t, m = timed_loop(items, "translate", budget, a0, target, setup, vlen)
    i, r = timed_loop(items, "interpret", budget, a0, target, setup, vlen)
    if trace:
        t["trace"], i["trace"] = m.profile().trace, r.profile().trace
    if vector:
        for out, mach in ((t, m), (i, r)):
            out["v"], out["vstart"] = [mach.v(j) for j in range(32)], mach.csr(0x008)
    return t, i, m


@settings(max_examples=80, deadline=None)
@given(items=scalar_loop(), budget=st.one_of(st.integers(1, 4000), st.just(10**6)), a0=st.integers(0, 1 << 20),
       preset=st.sampled_from(PRESETS))
def test_scalar_loops_time_the_same_translated(items, budget, a0, preset):
    """Loops of loads, stores and branches looping in place in one block:
    every timed observable equals the interpreter's, stopped anywhere by the budget."""
    t, i, m = timed_both(items, budget, a0, preset)
    assert t == i
    assert budget < 50 or m.translation["blocks"] >= 1


CHAIN = ["a1", "a2", "a3"]   # few registers: each op reads what one a few steps back wrote


@st.composite
def chain_op(draw):
    """One op of a dependency chain: integer work at the ALU's and the
    multiplier's latencies (drawn), a division, a load (its ready cycle the
    cache's: through s5, 4 KiB further each bump, most miss), independent fillers that space the chain's reads from its
    writes, a prefetch, a CSR read (a C step mid-block: it may write any
    entry and takes no inline slot)."""
    rd, rs, rt = (draw(st.sampled_from(CHAIN)) for _ in range(3))
    return draw(st.sampled_from([
        f"add {rd}, {rs}, {rt}", f"xor {rd}, {rs}, {rd}", f"mul {rd}, {rs}, {rt}", f"mulw {rd}, {rd}, {rd}",
        f"div {rd}, {rs}, {rt}", f"lw {rd}, {draw(st.integers(0, 60)) * 4}({draw(st.sampled_from(['s0', 's5']))})", "add s5, s5, s4",
        f"addi t{draw(st.integers(3, 6))}, zero, 7", "addi t2, t2, 1", "ori zero, s5, 1", f"csrr {rd}, fcsr"]))


def chain_nest(target, body, outer=3, mask=15):
    """scalar_loop's nest (``outer`` passes of an inner loop of a0 & ``mask``
    + 1 passes) around ``body``, on ``target`` (a Target or a preset's name):
    (target, items)."""
    target = target if isinstance(target, Target) else Target.preset(target)
    head = ["lui s4, 1", "lui s0, 0x100", f"addi s2, zero, {outer}", "lui s5, 0x100", f"andi a7, a0, {mask}",
            "addi a7, a7, 1"]
    inner = len(head)
    return target, head + body + [
        "addi a7, a7, -1", ("to", "bne a7, zero, {off}", inner, inner + len(body) + 1),
        "addi a0, a0, 3", "addi s2, s2, -1", ("to", "bne s2, zero, {off}", 3, inner + len(body) + 4), "ebreak"]


@st.composite
def chain_loop(draw):
    """chain_nest around a body of chain_op, on a target whose issue width (1
    to 4: shifts and a division for the clock's cycle) and ALU and
    multiplier latencies are drawn, so that a read some steps after its
    write is ready by the schedule alone at some and must wait at others."""
    body = draw(st.lists(chain_op(), min_size=2, max_size=20))
    base = Target.preset(draw(st.sampled_from(PRESETS)))
    lat = {**base.model["latency"], "ALU": draw(st.integers(1, 3)), "MUL": draw(st.integers(1, 7))}
    target = dataclasses.replace(base, model={**base.model, "issue_width": draw(st.integers(1, 4)), "latency": lat})
    return chain_nest(target, body, draw(st.integers(1, 6)), draw(st.sampled_from([3, 15, 63])))


@settings(max_examples=80, deadline=None)
@given(loop=chain_loop(), budget=st.one_of(st.integers(1, 4000), st.just(10**6)), a0=st.integers(0, 1 << 20))
# a register known ready, then written by a C step (x60's mul, which has occupancy) and read right after
@example(loop=chain_nest("spacemit-x60", ["add a1, a2, a3", *["addi t2, t2, 1"] * 4, "mul a1, a2, a3",
                                           "add a2, a1, a1"]), budget=10**6, a0=5)
def test_dependency_chains_time_the_same_translated(loop, budget, a0):
    """Loops of dependency chains whose reads the block proves ready by its
    own schedule (no wait test) where the writer's latency is covered by the
    slots between them, and tests elsewhere: every timed observable (the
    stalls by kind, per-pc cycles) equals the interpreter's, stopped anywhere."""
    target, items = loop
    t, i, m = timed_both(items, budget, a0, target)
    assert t == i
    assert budget < 50 or m.translation["blocks"] >= 1


COPY_PAIRS = [("ld", "sd"), ("lw", "sw"), ("lhu", "sh"), ("lbu", "sb")]


@st.composite
def streaming_copy(draw):
    """A copy loop streaming through BIG, as a scalar memcpy does: 1 to 4
    loads from s0, then their stores to s1 (a drawn distance past s0: the
    same L1 sets or not), both pointers bumped by a drawn stride (below, at
    and above a line), each access at a drawn offset (some crossing a line).
    Past L1's size, so the prefetcher's streams run at full distance, and
    loads and stores each first use the lines it brought in.  The items and
    the passes (a0) that keep both walks inside BIG."""
    n = draw(st.integers(1, 4))
    pairs = [draw(st.sampled_from(COPY_PAIRS)) for _ in range(n)]
    offs = [draw(st.integers(0, 63)) for _ in range(n)]
    regs = ["t0", "t1", "t2", "t3"]
    stride = draw(st.sampled_from([8, 16, 32, 40, 64, 72, 128, 200]))
    gap = draw(st.sampled_from([0x10000, 0x20000, 0x20000 + 3 * 64, 0x18000 + 8]))
    head = ["lui s0, 0x100", f"lui s1, {(BIG + gap) >> 12:#x}", f"addi s1, s1, {gap & 0xfff}"]
    body = ([f"{ld} {r}, {off}(s0)" for (ld, _), r, off in zip(pairs, regs, offs)]
            + [f"{sd} {r}, {off}(s1)" for (_, sd), r, off in zip(pairs, regs, offs)]
            + [f"addi s0, s0, {stride}", f"addi s1, s1, {stride}", "addi a0, a0, -1"])
    start = len(head)
    items = head + body + [("to", "bne a0, zero, {off}", start, start + len(body)), "ebreak"]
    passes = min(draw(st.integers(1, 6000)), (BIG_SIZE - gap - 128) // stride)
    return items, passes


@settings(max_examples=40, deadline=None)
@given(copy=streaming_copy(), budget=st.one_of(st.integers(1, 40000), st.just(10**6)), preset=st.sampled_from(PRESETS),
       hot=st.sampled_from(["0", "1"]))
def test_streaming_copies_time_the_same_translated(copy, budget, preset, hot):
    """Scalar copy loops (the first use of each prefetched line, by loads and
    by stores, goes to the model's C hook with the filter entry the block
    probed; a stream at full distance reuses its reach): every timed
    observable equals the interpreter's, stopped anywhere by the budget."""
    items, passes = copy
    t, i, m = timed_both(items, budget, passes, preset, hot)
    assert t == i
    assert budget < 50 or hot != "0" or m.translation["blocks"] >= 1
    # (the walk is long enough that the copy meets prefetched lines: the test reaches the path it is for)
    assert budget < 20000 or passes < 1000 or i["profile"]["caches"]["prefetches"]["issued"] > 0


@pytest.mark.parametrize("preset", PRESETS)
def test_code_written_again_is_timed_as_the_new_code(preset, monkeypatch):
    """A program written over another at the same address on one machine (as
    rvai.microbench does): the blocks translated for the new code charge its
    instructions, not what the timing slots derived for the old code said
    (a plain op's slot where a multiply now is, a clock read's where an add is)."""
    monkeypatch.setenv("RVAI_JIT_HOT", "0")
    first = ["rdcycle a2", "addi a0, a0, 1", "sub a1, a3, a2", "mul a4, a4, a0", "jalr zero, 0(ra)"]
    second = ["rdcycle a2", "mul a4, a4, a0", "addi a0, a0, 1", "mul a4, a4, a0", "mul a4, a4, a0",
              "rdcycle a3", "sub a0, a3, a2", "jalr zero, 0(ra)"]
    out = {}
    for tier in ("interpret", "translate"):
        m = Machine(Target.preset(preset), vlen=128, tier=tier, timed=True)
        m.map(CODE, 4096, "rx")
        got = []
        for program in (first, second):
            m.write(CODE, np.frombuffer(encode(program), dtype=np.uint8))
            for _ in range(2):
                got.append(m.call(CODE, 5, ret="u64"))
                p = m.profile()
                got.append((m.cycles, p.to_dict(), p.pc_cycles))
        out[tier] = got
    assert out["translate"] == out["interpret"]


@pytest.mark.parametrize("setting, translates", [(None, True), ("1", True), ("0", False)])
def test_timed_machines_translate_unless_told_not_to(setting, translates, monkeypatch):
    """RVAI_JIT_TIMED: on by default, 0 turns the timed mode's translation off."""
    monkeypatch.setenv("RVAI_JIT_HOT", "0")
    if setting is None:
        monkeypatch.delenv("RVAI_JIT_TIMED")
    else:
        monkeypatch.setenv("RVAI_JIT_TIMED", setting)
    items = ["addi a0, a0, 1", "addi s2, s2, -1", ("to", "bne s2, zero, {off}", 0, 2), "ebreak"]
    out, m = timed_run(items, "translate", 10**6, bytes(64), (0,) * 6, "spacemit-x60")
    assert (m.translation["blocks"] > 0) == translates
    assert out == timed_run(items, "interpret", 10**6, bytes(64), (0,) * 6, "spacemit-x60")[0]


# ---- vector loops: the vector step written inline with its plan, the prefetch step inline (emu36)

VGROUPS = ["v8", "v16", "v24"]   # aligned at every LMUL up to 8


@st.composite
def vector_loop(draw):
    """An inner loop of 1 to 300 passes around a drawn body of vector ops
    under a drawn SEW, LMUL and vl (VLMAX, a fixed one, or the inner count,
    which changes the vl under the plan's test every pass), run 1 to 4 times:
    unit-stride loads and stores through s5 (walking BIG), vfmacc.vf (SEW 32
    and 64), whole-register loads and stores, vector-scalar and masked ops, a reduction, vmv.x.s (a scalar
    result) and an op reading it, prefetches, scalar work and pointer bumps."""
    sew = draw(st.sampled_from([8, 16, 32, 64]))
    lmul = draw(st.sampled_from(["m1", "m2", "m4", "m8", "mf2"]))
    avl = draw(st.sampled_from(["zero", "s6", "a7"]))   # VLMAX, a drawn fixed vl, the inner count
    setvl = f"vsetvli t1, {avl}, e{sew}, {lmul}, ta, ma" if avl != "zero" else f"vsetvli t1, zero, e{sew}, {lmul}, ta, ma"
    g = lambda: draw(st.sampled_from(VGROUPS))   # noqa: E731
    ops = [lambda: f"vle{sew}.v {g()}, (s5)", lambda: f"vse{sew}.v {g()}, (s5)",
           lambda: f"vadd.vx {g()}, {g()}, a1", lambda: f"vmul.vv {g()}, {g()}, {g()}",
           lambda: f"vadd.vi {g()}, {g()}, 3, v0.t", lambda: f"vredsum.vs {g()}, {g()}, {g()}",
           lambda: f"vmv.x.s a1, {g()}", lambda: "addi a1, a1, 5",
           lambda: draw(st.sampled_from(["addi s5, s5, 64", "addi s5, s5, 16", "addi s5, s5, 256"])),
           lambda: draw(st.sampled_from(["ori zero, s5, 1", "ori zero, s5, 97", "ori zero, s5, 3"]))]
    if sew >= 32:
        ops += [lambda: f"vfmacc.vf {g()}, fa0, {g()}"] * 3
    # whole-register moves of NF registers (NF up to 8: a store with 8 sources), and at LMUL 1 or below
    # writes of the single registers inside their groups, which such a store must wait for
    nf = lambda: draw(st.sampled_from([1, 2, 4, 8]))   # noqa: E731
    ops += [lambda: f"vs{nf()}r.v {g()}, (s5)", lambda: f"vl{nf()}re{sew}.v {g()}, (s5)"]
    if lmul in ("m1", "mf2"):
        ops += [lambda: f"vadd.vx v{draw(st.integers(8, 31))}, {g()}, a1"] * 2
    body = [draw(st.sampled_from(ops))() for _ in range(draw(st.integers(1, 12)))]
    if draw(st.booleans()):
        body.insert(draw(st.integers(0, len(body))), setvl)   # vl set again inside the loop
    # (up to 300 inner passes: a block is translated after RVAI_JIT_HOT of its instructions, asked every 240 entries)
    return vector_frame(draw, setvl, body, draw(st.integers(1, 4)), draw(st.one_of(st.integers(1, 20), st.integers(240, 300))))


def vector_frame(draw, setvl, body, outer, inner_passes, base=("lui s5, 0x100",)):
    """A loop nest around ``body``: fa0 and s6 a small drawn number, s5 a
    buffer (BIG, or where the instructions ``base`` set it, each outer
    pass), vl set by ``setvl`` before the inner loop (``inner_passes``
    passes of ``body``), the outer loop (``outer`` passes) adding 3 to a0."""
    head = [f"addi s6, zero, {draw(st.integers(1, 40))}", "fmv.w.x fa0, s6", f"addi s2, zero, {outer}",
            *base, f"addi a7, zero, {inner_passes}", setvl]
    inner = len(head)
    return head + body + ["addi a7, a7, -1", ("to", "bne a7, zero, {off}", inner, inner + len(body) + 1),
                          "addi a0, a0, 3", "addi s2, s2, -1", ("to", "bne s2, zero, {off}", 3, inner + len(body) + 4),
                          "ebreak"]


@settings(max_examples=80, deadline=None)
@given(items=vector_loop(), budget=st.one_of(st.integers(1, 20000), st.just(10**6)), a0=st.integers(0, 1 << 20),
       preset=st.sampled_from(PRESETS), hot=st.sampled_from([0, 30, 30, 200]))
def test_vector_loops_time_the_same_translated(items, budget, a0, preset, hot):
    """Vector loops looping in place in one block, their steps inline with
    the plans they were translated for (and in C when vtype or vl differ):
    every timed observable, the vector timeline too, equals the interpreter's.
    A block is translated at its first entry (``hot`` 0), before the vl the
    loop sets, or after 240 entries (its plans for the vtype and vl then)."""
    t, i, _ = timed_both(items, budget, a0, preset, hot, trace=True)
    assert t == i


#: what follows a vector op in vector_then: a write of vmv.x.s's register (after its write: tm_step's rule
#: for a write of the register the step before wrote, seen when the write need not wait to read it), a
#: read of it, a C step (csrr), a prefetch, a load, a pointer bump
VFOLLOW = ["addi a1, s6, 5", "add a1, s2, s6", "addi a1, a1, 5", "csrr t2, fcsr", "ori zero, s5, 1",
           "flw ft1, 4(s5)", "addi s5, s5, 64"]


@st.composite
def vector_then(draw):
    """vector_loop's frame (SEW 32) around vector ops each followed by a
    drawn step (VFOLLOW), by the next vector op, or by the loop's branch:
    what a step after an inline vector step finds of it (the issue cycle
    and destination it left in the block's code, whether it left anything
    pending), with the plans' test failing every pass at some draws (vl
    from the pass count) so that the C step runs instead."""
    lmul = draw(st.sampled_from(["m1", "m2", "m4"]))
    avl = draw(st.sampled_from(["zero", "s6", "a7"]))
    setvl = f"vsetvli t1, {avl}, e32, {lmul}, ta, ma"
    g = lambda: draw(st.sampled_from(VGROUPS))   # noqa: E731
    ops = [lambda: f"vfmacc.vf {g()}, fa0, {g()}", lambda: f"vadd.vx {g()}, {g()}, a1",
           lambda: f"vmv.x.s a1, {g()}", lambda: f"vredsum.vs {g()}, {g()}, {g()}",
           lambda: f"vmul.vv {g()}, {g()}, {g()}", lambda: f"vle32.v {g()}, (s5)", lambda: f"vse32.v {g()}, (s5)"]
    body = []
    for _ in range(draw(st.integers(1, 6))):
        body.append(draw(st.sampled_from(ops))())
        body += draw(st.lists(st.sampled_from(VFOLLOW), max_size=2))
    return vector_frame(draw, setvl, body, draw(st.integers(1, 3)), draw(st.integers(1, 60)))


@settings(max_examples=60, deadline=None)
@given(items=vector_then(), budget=st.one_of(st.integers(1, 6000), st.just(10**6)), a0=st.integers(0, 1 << 20),
       preset=st.sampled_from(PRESETS), hot=st.sampled_from([0, 30]))
# vmv.x.s's register written again right after it (x60 pairs no two writes of one register in a cycle),
# in C when vl differs from the plan's (the pass count)
@example(items=["addi s6, zero, 5", "fmv.w.x fa0, s6", "addi s2, zero, 1", "lui s5, 0x100", "addi a7, zero, 40",
                "vsetvli t1, a7, e32, m1, ta, ma", "vmv.x.s a1, v8", "addi a1, s6, 5", "vfmacc.vf v16, fa0, v8",
                "addi a7, a7, -1", ("to", "bne a7, zero, {off}", 6, 10), "addi a0, a0, 3", "addi s2, s2, -1",
                ("to", "bne s2, zero, {off}", 3, 13), "ebreak"], budget=10**6, a0=3, preset="spacemit-x60", hot=0)
def test_steps_after_vector_steps_time_the_same_translated(items, budget, a0, preset, hot):
    """Whatever follows a vector step (inline or in C) sees what the
    interpreter's would: every timed observable and the vector timeline
    equal the interpreter's, stopped anywhere by the budget."""
    t, i, _ = timed_both(items, budget, a0, preset, hot, trace=True)
    assert t == i


@st.composite
def vector_runs(draw):
    """vector_loop's frame (SEW 32) around runs of vector ops one right
    after another (what an inline step passes on to the next one in SSA:
    the queue's position, the last done cycle, the registers set apart from
    their groups; _Block.vk), split by nothing, a C step (rdcycle's waits
    for the vector unit's last done cycle), a scalar load, a vector load
    (its accesses' call into the model, which may move that cycle: s5 moves
    on a few lines each pass, so they miss) or a vsetvli to another LMUL (so
    that a group read at one LMUL was written in parts at another: vsplit),
    whose vl (VLMAX, fixed, or the pass count) sends the steps after it to
    C in some passes."""
    lmuls = {"m1": 1, "m2": 2, "m4": 4, "m8": 8}
    setvl = lambda lmul: f"vsetvli t1, {draw(st.sampled_from(['zero', 's6', 'a7']))}, e32, {lmul}, ta, ma"  # noqa: E731
    lmul = first = draw(st.sampled_from(sorted(lmuls)))
    body = []
    for _ in range(draw(st.integers(1, 4))):
        n = lmuls[lmul]
        g = lambda: f"v{draw(st.integers(1, 32 // n - 1)) * n}"   # noqa: E731  (aligned, not v0)
        ops = [lambda: f"vfmacc.vf {g()}, fa0, {g()}", lambda: f"vadd.vx {g()}, {g()}, a1",
               lambda: f"vmul.vv {g()}, {g()}, {g()}"]
        body += [draw(st.sampled_from(ops))() for _ in range(draw(st.integers(1, 6)))]
        then = draw(st.sampled_from(["", "csrr t2, fcsr", "rdcycle t2", "flw ft1, 4(s5)", "vle", "vle", "setvl"]))
        if then == "vle":
            body.append(f"vle32.v {g()}, (s5)")
        elif then == "setvl":
            lmul = draw(st.sampled_from(sorted(lmuls)))
            body.append(setvl(lmul))
        elif then:
            body.append(then)
    body.append(f"addi s5, s5, {draw(st.sampled_from([0, 64, 256]))}")
    return vector_frame(draw, setvl(first), body, draw(st.integers(1, 3)),
                        draw(st.one_of(st.integers(1, 40), st.integers(240, 260))))


@settings(max_examples=60, deadline=None)
@given(items=vector_runs(), budget=st.one_of(st.integers(1, 8000), st.just(10**6)), a0=st.integers(0, 1 << 20),
       preset=st.sampled_from(PRESETS + ["small-inorder"]), hot=st.sampled_from([0, 30]))
# a load whose lines arrive after the vector unit's last done cycle (vmem_access moves it), an op not
# reading it, and rdcycle waiting for that cycle: the block must not pass on the op's cycle from before the load
@example(items=["addi s6, zero, 5", "fmv.w.x fa0, s6", "addi s2, zero, 1", "lui s5, 0x100", "addi a7, zero, 50",
                "vsetvli t1, zero, e32, m1, ta, ma", "vle32.v v16, (s5)", "vadd.vx v8, v8, a1", "rdcycle t2",
                "addi s5, s5, 256", "addi a7, a7, -1", ("to", "bne a7, zero, {off}", 6, 11), "addi a0, a0, 3",
                "addi s2, s2, -1", ("to", "bne s2, zero, {off}", 3, 14), "ebreak"],
         budget=10**6, a0=3, preset="xuantie-c930", hot=0)
def test_runs_of_vector_steps_time_the_same_translated(items, budget, a0, preset, hot):
    """Vector steps one after another, inline or in C (the plan's vtype or
    vl not holding), what each passes on to the next in the block's code
    (small-inorder's queue of 4 wraps within a run): every timed observable
    and the vector timeline equal the interpreter's, stopped anywhere."""
    t, i, _ = timed_both(items, budget, a0, preset, hot, trace=True)
    assert t == i


LMULS = {"mf2": 0.5, "m1": 1, "m2": 2, "m4": 4, "m8": 8}


@st.composite
def unit_stride_loop(draw):
    """vector_loop's frame around unit-stride loads and stores (what a timed
    block copies itself and times in one call when the group's EEW is SEW,
    it is unmasked and one page the TLB maps holds it; in C otherwise)
    through two pointers bumped by drawn strides, so that their streams
    train over the passes: a drawn SEW, LMUL and vl (VLMAX, fixed, or the
    pass count, below VLMAX), some EEWs other than SEW, masked ones, groups
    crossing lines and pages (drawn offsets and strides), a start near BIG's
    end that walks off it (a fault part way through a group), with a
    vfmacc.vf or vadd.vx reading what was loaded, scalar loads and stores
    to the same lines and prefetches between."""
    sew = draw(st.sampled_from([8, 16, 32, 64]))
    lmul = draw(st.sampled_from(sorted(LMULS)))
    avl = draw(st.sampled_from(["zero"] * 3 + ["s6", "a7"]))   # (the block copies only whole groups: VLMAX)
    setvl = f"vsetvli t1, {avl}, e{sew}, {lmul}, ta, mu"
    g = lambda: draw(st.sampled_from(VGROUPS))   # noqa: E731
    eews = [e for e in (8, 16, 32, 64) if 1 / 8 <= LMULS[lmul] * e / sew <= 8]

    def access():
        eew = draw(st.sampled_from([sew] * 4 + eews))
        mask = ", v0.t" if draw(st.integers(0, 4)) == 0 else ""
        return f"{draw(st.sampled_from(['vle', 'vse']))}{eew}.v {g()}, ({draw(st.sampled_from(['s5', 's4']))}){mask}"

    # (scalar accesses to the lines the vector ones touch: the block's last line and way in locals)
    ops = [access] * 6 + [lambda: f"vadd.vx {g()}, {g()}, a1", lambda: "ori zero, s5, 1",
                          lambda: f"addi s4, s4, {draw(st.sampled_from([64, 128, 1000]))}"]
    ops += [lambda: draw(st.sampled_from(["sw a1, 4(s5)", "lw a2, 64(s5)", "lw a2, 0(s4)", "sd a1, 8(s4)"]))] * 3
    if sew >= 32:
        ops += [lambda: f"vfmacc.vf {g()}, fa0, {g()}"] * 2
    body = [draw(st.sampled_from(ops))() for _ in range(draw(st.integers(1, 8)))]
    body.insert(draw(st.integers(0, len(body))), access())
    if draw(st.booleans()):
        body.insert(0, "vmv.v.i v0, 5")   # the masked accesses' elements 0, 2, ... (SEW 8: 0 and 2 of 8)
    body.append(f"addi s5, s5, {draw(st.sampled_from([4, 60, 64, 128, 256, 1020, 2044]))}")
    page = draw(st.one_of(*[st.integers(0x100, 0x120)] * 3, st.sampled_from([0x13e, 0x13f])))   # near the end: walks off
    base = [f"lui s5, {page:#x}", f"addi s5, s5, {draw(st.sampled_from([0, 4, 60, 2040]))}", "lui s4, 0x120"]
    return vector_frame(draw, setvl, body, draw(st.integers(1, 3)),
                        draw(st.one_of(st.integers(1, 20), st.integers(240, 300))), base)


@settings(max_examples=60, deadline=None)
@given(items=unit_stride_loop(), budget=st.one_of(st.integers(1, 20000), st.just(10**6)),
       a0=st.integers(0, 1 << 20), preset=st.sampled_from(PRESETS), hot=st.sampled_from([0, 30, 200]),
       vlen=st.sampled_from([128, 256, 512, 1024]))
def test_unit_stride_accesses_time_the_same_translated(items, budget, a0, preset, hot, vlen):
    """Unit-stride loads and stores in timed blocks, copied by the block and
    timed in one call or run by jit_vec: every timed observable, the vector
    timeline, the vector registers and vstart equal the interpreter's,
    stopped by the budget or by a fault part way through a group."""
    t, i, _ = timed_both(items, budget, a0, preset, hot, trace=True, vlen=vlen, vector=True)
    assert t == i


@pytest.mark.parametrize("preset", ["spacemit-k1", "xuantie-c930-cluster"])
@pytest.mark.parametrize("lmul", ["m1", "m4"])
@pytest.mark.parametrize("apart", [0, 16, 128])
def test_vector_stores_to_lines_other_harts_hold_time_the_same_translated(preset, lmul, apart, monkeypatch):
    """Two harts each loading a group, adding one and storing it back, at
    ``apart`` bytes from each other (the same words, the same lines, or
    lines of their own at LMUL 1): the stores that invalidate the other
    hart's copies (the copied groups' timing call's) give the cycles,
    profile, invalidations and memory of the timed interpreter."""
    loop = [f"vsetvli t1, zero, e32, {lmul}, ta, ma", "vle32.v v8, (a0)", "vadd.vi v8, v8, 1", "vse32.v v8, (a0)",
            "addi a1, a1, -1", "bne a1, zero, -16", "jalr zero, 0(ra)"]

    def run(tier):
        m = Machine(preset, timed=True, harts=2, quantum=50, tier=tier)
        m.map(CODE, 4096, "rwx")
        m.write(CODE, np.frombuffer(encode(loop), dtype=np.uint8))
        buf = m.alloc(4096, align=4096)
        m.reset_counters()
        m.call_threads(CODE, [(buf, 2000), (buf + apart, 2000)])
        p = m.profile()
        return m.cycles, p.coherence_invalidations, p.to_dict(), bytes(m.read(buf, np.uint8, 1024)), m
    monkeypatch.setenv("RVAI_JIT_HOT", "0")
    *t, m = run("translate")
    *i, _ = run("interpret")
    assert t == i
    assert m.translation["blocks"] >= 1 and (apart > 64 or t[1] > 0)


STUBS = 0x40000000   # 64 one-instruction regions, a page apart with a page between


def crowded(m):
    """Run a ``ret`` in each of 64 executable regions of m first: the model
    keeps per-pc slots for 64 regions (csrc/timing.h's TM_MAX_RANGES), so the
    loop's region then counts into scratch slots, cleared whenever they are
    fetched again: its translated blocks find their slots changed and take
    the copy whose steps all call C."""
    for i in range(64):
        m.map(STUBS + 0x2000 * i, 4096, "rx")
        m.write(STUBS + 0x2000 * i, np.frombuffer(encode(["jalr zero, 0(ra)"]), dtype=np.uint8))
        m.call(STUBS + 0x2000 * i)


@settings(max_examples=30, deadline=None)
@given(items=vector_loop(), budget=st.one_of(st.integers(1, 20000), st.just(10**6)), a0=st.integers(0, 1 << 20),
       preset=st.sampled_from(PRESETS))
def test_vector_loops_past_the_models_regions_time_the_same_translated(items, budget, a0, preset):
    """A vector loop in the 65th executable region, whose timing slots are
    the model's scratch: its blocks run their all-C copy (each step's counts
    made by the C step, none added again at the exits), and every timed
    observable but per-pc cycles (which scratch slots do not keep) equals
    the interpreter's."""
    t, i, m = timed_both(items, budget, a0, preset, setup=crowded, trace=True)
    assert budget < 50 or m.translation["blocks"] >= 1
    assert t == i


@st.composite
def vector_walk_off_big(draw):
    """A loop walking s5 from 4 or 8 KiB short of BIG's end, 64 or 256 bytes
    a pass, until one of its vector accesses faults past the end, part way
    through a pass: drawn vector ops (at least one access, through s5) under
    a drawn SEW and LMUL, around scalar work."""
    sew = draw(st.sampled_from([8, 16, 32, 64]))
    lmul = draw(st.sampled_from(["m1", "m2", "m4", "mf2"]))
    g = lambda: draw(st.sampled_from(VGROUPS))   # noqa: E731
    access = [lambda: f"vle{sew}.v {g()}, (s5)", lambda: f"vse{sew}.v {g()}, (s5)",
              lambda: f"vl{draw(st.sampled_from([1, 2, 4]))}re{sew}.v {g()}, (s5)"]
    ops = access + [lambda: f"vadd.vx {g()}, {g()}, a1", lambda: f"vmul.vv {g()}, {g()}, {g()}",
                    lambda: f"vadd.vi {g()}, {g()}, 3, v0.t", lambda: f"vmv.x.s a1, {g()}",
                    lambda: "addi a1, a1, 5", lambda: "ori zero, s5, 1"]
    if sew >= 32:
        ops += [lambda: f"vfmacc.vf {g()}, fa0, {g()}"] * 2
    body = [draw(st.sampled_from(ops))() for _ in range(draw(st.integers(0, 8)))]
    body.insert(draw(st.integers(0, len(body))), draw(st.sampled_from(access))())
    head = [f"addi s6, zero, {draw(st.integers(1, 40))}", "fmv.w.x fa0, s6",
            f"lui s5, {draw(st.sampled_from([0x13e, 0x13f]))}",   # BIG + BIG_SIZE - 8 or 4 KiB
            f"vsetvli t1, zero, e{sew}, {lmul}, ta, ma"]
    return head + body + [f"addi s5, s5, {draw(st.sampled_from([64, 256]))}",
                          ("to", "bne s6, zero, {off}", len(head), len(head) + len(body) + 1), "ebreak"]


@settings(max_examples=60, deadline=None)
@given(items=vector_walk_off_big(), budget=st.one_of(st.integers(1, 20000), st.just(10**6)),
       a0=st.integers(0, 1 << 20), preset=st.sampled_from(PRESETS), hot=st.sampled_from([0, 30, 200]))
def test_vector_loops_faulting_mid_block_time_the_same_translated(items, budget, a0, preset, hot):
    """A vector access faulting past BIG's end part way through a block (the
    exits count the constant counters of the vector steps before it, and
    of its own step, charged before its access): every timed observable, the
    vector timeline too, equals the interpreter's at the fault, and after
    mapping the memory past BIG and resuming for ``budget`` instructions."""
    def walk(tier):
        m = loop_machine(items, tier, a0, preset)
        seen = []
        for phase, b in enumerate((10**6, budget)):
            if phase:
                m.map(BIG + BIG_SIZE, HOLE - BIG - BIG_SIZE, "rw")
            seen.append(resumed(m, b))
            seen[-1]["trace"] = m.profile().trace
        return seen, m

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVAI_JIT_HOT", str(hot))
        mp.setenv("RVAI_JIT_TIMED", "1")
        t, m = walk("translate")
    i, _ = walk("interpret")
    assert t == i


def test_a_second_machine_reuses_the_vector_blocks(empty_engines, monkeypatch):
    """A vector slot's plan words are part of its block's key: the same loop
    on a second machine finds every block the first one translated (no word
    of the plan left to chance, such as the sources past its count)."""
    from rvai.emu import jit_llvm
    monkeypatch.setenv("RVAI_JIT_HOT", "30")
    built = []
    build = jit_llvm._Block.build
    monkeypatch.setattr(jit_llvm._Block, "build", lambda self: built.append(self.start) or build(self))
    items = ["addi s6, zero, 3", "fmv.w.x fa0, s6", "addi s2, zero, 2", "lui s5, 0x100", "addi a7, zero, 260",
             "vsetvli t1, zero, e32, m2, ta, ma", "vle32.v v8, (s5)", "vadd.vx v16, v8, s6", "vfmacc.vf v24, fa0, v8",
             "vmv.x.s a1, v16", "ori zero, s5, 1", "addi s5, s5, 64", "addi a7, a7, -1",
             ("to", "bne a7, zero, {off}", 6, 13), "addi s2, s2, -1", ("to", "bne s2, zero, {off}", 3, 15), "ebreak"]
    first, _ = timed_loop(items, "translate", 10**6, 0, "spacemit-x60")
    assert built
    n = len(built)
    second, m = timed_loop(items, "translate", 10**6, 0, "spacemit-x60")
    assert m.translation["blocks"] >= 1 and len(built) == n
    assert second == first == timed_loop(items, "interpret", 10**6, 0, "spacemit-x60")[0]


@settings(max_examples=60, deadline=None)
@given(items=st.one_of(scalar_loop(), vector_loop()), budget=st.one_of(st.integers(1, 20000), st.just(10**6)),
       a0=st.integers(0, 1 << 20), preset=st.sampled_from(PRESETS),
       other=st.sampled_from(PRESETS))
def test_a_second_machine_times_the_held_blocks_the_same(items, budget, a0, preset, other):
    """A timed machine made when the process already holds its blocks' code
    (translated by a first machine, each block after ASK_EVERY entries)
    installs them when first asked, long before they would be due, where
    their key holds: the same instructions, vector state, timing slots and
    model (the first machine's preset may be another).  Every timed
    observable, the vector timeline too, stays the interpreter's."""
    from rvai.emu import jit_llvm, translate
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(jit_llvm, "_engines", {})
        mp.setattr(translate, "ASK_EVERY", 4)   # its blocks are entered tens to hundreds of times
        mp.setenv("RVAI_JIT_HOT", "1")
        mp.setenv("RVAI_JIT_TIMED", "1")
        _, a = timed_loop(items, "translate", budget, a0, other)
        mp.setenv("RVAI_JIT_HOT", str(10**12))   # never due: what runs translated was held
        got, b = timed_loop(items, "translate", budget, a0, preset)
        got["trace"] = b.profile().trace
    want, r = timed_loop(items, "interpret", budget, a0, preset)
    want["trace"] = r.profile().trace
    assert got == want
    assert b.translation["blocks"] == b.translation["held"]


@settings(max_examples=40, deadline=None)
@given(items=st.one_of(scalar_loop(), vector_loop()), k=st.integers(2, 3), a0=st.integers(0, 1 << 20),
       preset=st.sampled_from(PRESETS))
def test_timed_machines_count_their_own_entries(items, k, a0, preset):
    """k timed machines of one process run the same loop one after the
    other at a RVAI_JIT_HOT one machine's count of its hottest block falls
    half short of (measured on a first machine, which translates
    nothing), so that functional machines would make it due together: a
    timed machine counts its own entries only (its compile is not repaid
    across calls: Translator._wait), so none translates, and every timed
    observable of each, the vector timeline too, is the interpreter's."""
    from rvai._rvemu import lib
    from rvai.emu import jit_llvm, translate
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(jit_llvm, "_engines", {})
        mp.setattr(translate, "ASK_EVERY", 4)
        mp.setenv("RVAI_JIT_TIMED", "1")
        mp.setenv("RVAI_JIT_HOT", str(10**12))
        _, probe = timed_loop(items, "translate", 10**6, a0, preset)
        one = max(lib.rv_jit_entries(probe._m, pc) * translate._weight(probe._translator._decoded(pc))
                  for pc in range(CODE, CODE + 4 * len(items), 4))
        assume(one >= 16)   # some block asked about four times
        mp.setenv("RVAI_JIT_HOT", str(one + one // 2))
        got = []
        for _ in range(k):
            r, m = timed_loop(items, "translate", 10**6, a0, preset)
            r["trace"] = m.profile().trace
            got.append((r, m.translation["blocks"]))
    want, r = timed_loop(items, "interpret", 10**6, a0, preset)
    want["trace"] = r.profile().trace
    assert [g for g, _ in got] == [want] * k
    assert [n for _, n in got] == [0] * k


# A loop whose block sets three vtypes (vill before its first pass: entered by
# the jump, which the tier translates at): (instruction index, vtype, vl) of each
# vector op, from RVV 1.0's vtype layout (vma 7, vta 6, vsew 5:3, vlmul 2:0) and
# VLMAX = VLEN * LMUL / SEW at VLEN 128.
SWITCHING = ["addi a7, zero, 40", ("to", "jal zero, {off}", 2, 1),
             "vsetvli t1, zero, e32, m2, ta, ma", "vadd.vx v8, v8, a7",     # VLMAX 8
             "vsetivli t2, 3, e16, m1, ta, ma", "vadd.vx v16, v16, a7",     # AVL 3
             "vsetvli zero, zero, e16, m1, ta, mu", "vadd.vx v24, v24, a7",  # vl kept
             "addi a7, a7, -1", ("to", "bne a7, zero, {off}", 2, 9), "ebreak"]
SWITCHING_PLANS = [(3, 0xd1, 8), (5, 0xc8, 3), (7, 0x48, 3)]


@pytest.mark.parametrize("preset", PRESETS)
def test_a_block_switching_vtype_plans_each_op_for_the_vtype_it_runs_under(preset, monkeypatch):
    """A vector op's plan is made for the vtype and vl its block's vset{i}vl{i}
    set before it, not the machine's at the block's entry (vill on its first
    entry, the last pass's vtype after): a plan for another never holds, and
    the op would take the C step every time. Timed the same as interpreted."""
    from rvai.emu import translate
    monkeypatch.setenv("RVAI_JIT_HOT", "0")
    planned = []
    tslots = translate.Translator._tslots
    monkeypatch.setattr(translate.Translator, "_tslots",
                        lambda self, blocks: planned.extend(tslots(self, blocks)) or planned[-len(blocks):])
    t, m = timed_loop(SWITCHING, "translate", 10**6, 0, preset)
    t["trace"] = m.profile().trace
    loop = [slots for slots in planned if CODE + 12 in slots]
    assert loop, "the loop's block was not translated"
    for k, vtype, vl in SWITCHING_PLANS:
        assert loop[0][CODE + 4 * k][6:8] == (vtype, vl)
    i, r = timed_loop(SWITCHING, "interpret", 10**6, 0, preset)
    i["trace"] = r.profile().trace
    assert t == i


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("k", [0, 3, 4, 7, 16])
def test_a_whole_register_store_waits_the_same_translated(preset, k, monkeypatch):
    """``vs8r.v v8`` reads v8..v15 (RVV 1.0 section 7.9): its plan carries all
    eight sources (a vector plan's most), and the translated step (inline:
    the loop translated once hot, under the vtype it runs) waits for a chain
    of LMUL-1 adds writing v8+k as the interpreter's does (k 16: v24, which
    it does not read)."""
    monkeypatch.setenv("RVAI_JIT_HOT", "30")
    chain = [f"vadd.vv v{8 + k}, v{8 + k}, v{8 + k}"] * 12
    n = len(chain)
    items = ["addi s2, zero, 1", "lui s5, 0x100", "addi a7, zero, 260", "vsetvli t1, zero, e32, m1, ta, ma",
             *chain, "vs8r.v v8, (s5)", "addi a7, a7, -1", ("to", "bne a7, zero, {off}", 4, n + 6),
             "addi s2, s2, -1", ("to", "bne s2, zero, {off}", 1, n + 8), "ebreak"]
    t, m = timed_loop(items, "translate", 10**6, 0, preset)
    t["trace"] = m.profile().trace
    i, r = timed_loop(items, "interpret", 10**6, 0, preset)
    i["trace"] = r.profile().trace
    assert m.translation["blocks"] >= 1 and t == i


HOLE = BIG + BIG_SIZE + 0x10000   # an unmapped page the walk below reaches, mapped once it has faulted there
LINKS = 64             # passes through BIG before the walk's link points into HOLE


@st.composite
def walk_access(draw):
    """An access through s4 (the walk's node) at an offset from 0 to 127, in
    any alignment, so a body's accesses through s4 (one TLB group) span one
    cache line or two; stores keep off the node's link and the next one's."""
    op = draw(st.sampled_from(sorted(ACCESSES)))
    size = ACCESSES[op]
    if op[0] == "s":
        off = draw(st.integers(8, 120 - size).filter(lambda o: o + size <= 64 or o >= 72))
        return f"{op} {draw(st.sampled_from(['a2', 'a3', 's5']))}, {off}(s4)"
    return f"{op} {draw(st.sampled_from(BODY_REGS))}, {draw(st.integers(0, 127))}(s4)"


@st.composite
def linked_walk(draw):
    """A loop walking a linked list a line apart (``ld s5, 0(s5)``: the load's
    destination is its base), with 1 to 6 accesses through the node it left
    (s4) around integer work; it runs into HOLE after LINKS nodes."""
    body = draw(st.lists(st.one_of(walk_access(), walk_access(), scalar_op().filter(lambda x: "s5" not in x)),
                         min_size=1, max_size=8))
    head = ["lui s5, 0x100", f"addi s5, s5, {8 * draw(st.integers(0, 7))}", f"addi a7, zero, {draw(st.integers(1, 120))}"]
    return head + ["addi s4, s5, 0", "ld s5, 0(s5)"] + body + [
        "addi a7, a7, -1", ("to", "bne a7, zero, {off}", len(head), len(head) + len(body) + 3), "ebreak"]


def linked_memory(start):
    """BIG's and HOLE's 64-bit words: each link (64 bytes apart from ``start``)
    holds the next one's address, the LINKS-th's a node in HOLE; the rest a pattern."""
    words = [(np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) for n in (BIG_SIZE // 8, 4096 // 8)]
    for k in range(LINKS):
        words[0][(start + 64 * k) // 8] = BIG + start + 64 * (k + 1) if k + 1 < LINKS else HOLE + start
    for k in range(4096 // 64):
        words[1][(start + 64 * k) // 8] = HOLE + start + 64 * (k + 1)
    return words


def timed_walk(items, tier, budget, preset):
    """The walk on a timed machine of ``preset``, run until it faults on HOLE
    (or stops), then with HOLE mapped resumed for ``budget`` instructions:
    every observable at both stops (the faulting load's step counts: it is
    charged again on resuming, reading its own destination's ready cycle)."""
    m = Machine(Target.preset(preset), vlen=128, tier=tier, timed=True)
    m.map(CODE, 4096, "rx")
    m.write(CODE, np.frombuffer(encode(items), dtype=np.uint8))
    start = int(items[1].split(", ")[-1])
    big, hole = linked_memory(start)
    m.map(BIG, BIG_SIZE, "rw")
    m.write(BIG, big)
    m.pc = CODE
    seen = []
    for phase, b in enumerate((10**6, budget)):
        if phase:
            m.map(HOLE, 4096, "rw")
            m.write(HOLE, hole)
        seen.append(resumed(m, b))
    return seen, m


@settings(max_examples=30, deadline=None)
@given(items=linked_walk(), budget=st.one_of(st.integers(1, 3000), st.just(10**6)), preset=st.sampled_from(PRESETS))
def test_line_groups_and_faulting_loads_time_the_same_translated(items, budget, preset):
    """A block's accesses through one base register tested as one span
    (within a line or not) and a load whose step stands alone when its access
    faults (its hook never runs): every timed observable equals the
    interpreter's, at the fault and after resuming past it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVAI_JIT_HOT", "0")
        mp.setenv("RVAI_JIT_TIMED", "1")
        t, m = timed_walk(items, "translate", budget, preset)
    i, _ = timed_walk(items, "interpret", budget, preset)
    assert t == i
    assert m.translation["blocks"] >= 1


#: SEW -> the LMULs a vtype may have with it (SEW <= LMUL * ELEN: the fractional ones only for narrow SEW)
TAIL_LMULS = {sew: [n for n, x in {**LMULS, "mf4": 1 / 4, "mf8": 1 / 8}.items() if sew <= 64 * x]
              for sew in (8, 16, 32, 64)}


def strip_mined(sew, lmul, body, rows, n0, step, passes, setvl_in_body=False):
    """Rows of n elements, n0 the first and ``step`` more each row after,
    each strip-mined by vsetvli on what is left (t0): full strips at VLMAX
    and the row's tail at n mod VLMAX, each strip running ``body`` (through
    s5, BIG; s7 a stride) ``passes`` times, so that its block is entered at
    each vl again and again (with ``setvl_in_body``, the strip's vsetvli again
    at the body's start: a block that sets vl, its steps' tests made where they run)."""
    setvl = f"vsetvli t1, t0, e{sew}, {lmul}, ta, mu"
    head = [f"addi s6, zero, {n0}", "fmv.w.x fa0, s6", f"addi s2, zero, {rows}", "addi s7, zero, 24",
            "lui s5, 0x100", "mv t0, s6", setvl, f"addi a7, zero, {passes}"]
    row, strip, inner = 4, 6, len(head)
    body = ([setvl] if setvl_in_body else []) + body
    end = inner + len(body)
    return head + body + ["addi a7, a7, -1", ("to", "bne a7, zero, {off}", inner, end + 1), "sub t0, t0, t1",
                          ("to", "bne t0, zero, {off}", strip, end + 3), f"addi s6, s6, {step}", "addi s2, s2, -1",
                          ("to", "bne s2, zero, {off}", row, end + 6), "ebreak"]


@st.composite
def tail_loop(draw):
    """strip_mined over drawn row lengths (so that the tails fall at many
    vls), SEW, LMUL (fractional too) and body: vector ops whose plans change
    with vl in their occupancy, latency (cost-table rows: vdiv, vfdiv,
    slides, reductions), elements and flops, and in their register groups
    (LMUL above one, widening ops, segment and strided accesses), masked
    ones, whole-register loads (no vl at all), a scalar result, loads and stores."""
    sew = draw(st.sampled_from(sorted(TAIL_LMULS)))
    lmul = draw(st.sampled_from(TAIL_LMULS[sew]))
    g = lambda: draw(st.sampled_from(VGROUPS))   # noqa: E731
    ops = [lambda: f"vle{sew}.v {g()}, (s5)", lambda: f"vse{sew}.v {g()}, (s5)", lambda: f"vadd.vv {g()}, {g()}, {g()}",
           lambda: f"vmul.vv {g()}, {g()}, {g()}", lambda: f"vadd.vi {g()}, {g()}, 3, v0.t",
           lambda: f"vdiv.vv {g()}, {g()}, {g()}", lambda: f"vslidedown.vi {g()}, {g()}, 1",
           lambda: f"vredsum.vs {g()}, {g()}, {g()}", lambda: f"vmv.x.s a1, {g()}", lambda: "addi s5, s5, 64",
           lambda: f"vlse{sew}.v {g()}, (s5), s7", lambda: f"vl1re{sew}.v {g()}, (s5)"]
    if sew >= 32:
        ops += [lambda: f"vfmacc.vf {g()}, fa0, {g()}", lambda: f"vfdiv.vv {g()}, {g()}, {g()}"]
    if sew <= 32 and LMULS.get(lmul, 1) <= 4:   # a group of 2 * LMUL registers, and two fields of LMUL each
        ops += [lambda: "vwadd.vv v8, v16, v24", lambda: f"vlseg2e{sew}.v v8, (s5)"]
    # one register inside a group read at LMUL 1 (the group's writes at a tail's vl set fewer of them), vl back
    ops += [lambda: [f"vsetivli zero, 1, e{sew}, m1, ta, mu", f"vadd.vv v1, v{draw(st.sampled_from([9, 17, 27]))}, v2",
                     f"vsetvli zero, t0, e{sew}, {lmul}, ta, mu"]]
    body = [x for _ in range(draw(st.integers(1, 8))) for op in [draw(st.sampled_from(ops))()]
            for x in (op if isinstance(op, list) else [op])]
    return strip_mined(sew, lmul, body, draw(st.integers(1, 6)), draw(st.integers(1, 200)), draw(st.integers(0, 70)),
                       draw(st.integers(1, 12)), draw(st.integers(0, 3)) == 0)


@settings(max_examples=80, deadline=None)
@given(items=tail_loop(), budget=st.one_of(st.integers(1, 20000), st.just(10**6), st.just(10**6)),
       a0=st.integers(0, 1 << 20), preset=st.sampled_from(PRESETS), hot=st.sampled_from([0, 0, 30]),
       vlen=st.sampled_from([128, 256, 512]))
# a group written at tails' vls that cover one or two of its four registers, and a register of it read alone
@example(items=strip_mined(32, "m4", ["vadd.vv v16, v8, v8", "vsetivli zero, 1, e32, m1, ta, mu", "vadd.vv v1, v17, v2",
                                      "vsetvli zero, t0, e32, m4, ta, mu"], rows=3, n0=5, step=7, passes=3),
         budget=10**6, a0=0, preset="xuantie-c930", hot=0, vlen=128)
def test_strip_mined_tails_time_the_same_translated(items, budget, a0, preset, hot, vlen):
    """Strip-mined loops whose blocks run at VLMAX and at every tail's vl
    (their vector steps inline with the plans for VLMAX, in C at a tail's
    vl): every timed observable (cycles, per-pc cycles, every statistic of
    the profile), the vector timeline and the vector registers equal the
    interpreter's, stopped anywhere by the budget."""
    t, i, _ = timed_both(items, budget, a0, preset, hot, trace=True, vlen=vlen, vector=True)
    assert t == i
