"""Laws of the timing model (docs/timing-model.md), not its constants: each test
reads the parameters it depends on from the model and checks a relation that
must hold for any sensible values of them."""
import gc
import json
import pickle
import weakref

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai._rvemu import ffi, lib
from rvai.emu import Machine
from rvai.emu.elf import Image
from rvai.emu.isa import assemble
from rvai.emu.profile import timing_params
from rvai.target import Target
from tests.conftest import CODE, load_program


def _can_assemble(text: str) -> bool:
    try:
        assemble(text)
        return True
    except ValueError:
        return False


def timed(model_overrides=None, preset="generic", vlen=None) -> Machine:
    """A timed machine on `preset` with some model fields replaced."""
    target = Target.preset(preset)
    m = Machine(target, vlen=vlen)
    m.set_timed(True, {**target.model, **(model_overrides or {})})
    return m


def params(m: Machine):
    return timing_params(m.model)


def run(m: Machine, *args):
    m.reset_counters()
    m.call(CODE, *args)
    return m.profile()


# ---- functional results do not depend on the mode ---------------------------

PROGRAM = [   # a0 = buf, a1 = n: buf[i] = buf[i-1] * 3 + i; returns a checksum
    "addi t0, zero, 1",
    "ld t1, 0(a0)",
    "slli t2, t0, 3",          # loop:
    "add t2, t2, a0",
    "mul t1, t1, a2",
    "add t1, t1, t0",
    "sd t1, 0(t2)",
    "div t3, t1, a2",
    "xor a3, a3, t3",
    "addi t0, t0, 1",
    "blt t0, a1, -32",
    "addi a0, a3, 0",
    "jalr zero, 0(ra)",
]


@given(n=st.integers(2, 300), seed=st.integers(0, 2**63), mul=st.integers(1, 1000))
@settings(max_examples=25, deadline=None)
def test_timed_mode_computes_the_same_registers_and_memory(n, seed, mul):
    results = []
    for is_timed in (False, True):
        m = Machine(vlen=128, timed=is_timed)
        load_program(m, PROGRAM)
        buf = m.alloc(np.full(301, seed, dtype=np.uint64))
        ret = m.call(CODE, buf, n, mul, ret="u64")
        results.append((ret, [m.x(i) for i in range(32)], m.read(buf, np.uint64, 301).tolist(),
                        m.instret, m.op_counts()))
    assert results[0] == results[1]


# ---- scalar core -------------------------------------------------------------

def _chain(n, dependent):
    """n multiplies: each on the last result (dependent) or rotating over 8 registers."""
    regs = ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"]
    body = ["mul a0, a0, t0" if dependent else f"mul {regs[i % 8]}, {regs[i % 8]}, t0" for i in range(n)]
    return ["addi t0, zero, 3"] + body + ["jalr zero, 0(ra)"]


@pytest.mark.parametrize("latency", [2, 3, 5, 8])
def test_dependent_chain_runs_at_latency_independent_at_throughput(latency):
    n = 200
    cycles = {}
    for dep in (True, False):
        m = timed({"latency": {"MUL": latency}, "issue_width": 1})
        load_program(m, _chain(n, dep))
        cycles[dep] = run(m).cycles
    # A dependent chain costs one latency per multiply; 8 independent chains
    # hide any latency up to 8 at one instruction per cycle.
    assert cycles[True] - cycles[False] == pytest.approx(n * (latency - 1), abs=latency + 2)
    assert cycles[False] <= n + 2 + latency + 2


@pytest.mark.skipif(not _can_assemble("fmadd.d fa0, fa0, fa1, fa2"), reason="no scalar FP yet")
def test_dependent_fma_chain_runs_at_fma_latency():
    n = 100
    cycles = {}
    for dep in (True, False):
        m = timed({"issue_width": 1})   # the law below is for single issue
        regs = [f"fa{i}" for i in range(8)]
        body = ["fmadd.d fa0, fa0, ft0, ft1" if dep else f"fmadd.d {regs[i % 8]}, {regs[i % 8]}, ft0, ft1"
                for i in range(n)]
        load_program(m, body + ["jalr zero, 0(ra)"])
        cycles[dep] = run(m).cycles
    ffma = params(m).latency[_class_index("FFMA")]
    assert cycles[True] - cycles[False] == pytest.approx(n * (ffma - 1), abs=ffma + 2)


def _class_index(name):
    from rvai._rvemu import ffi, lib
    return [ffi.string(lib.rv_class_name(i)).decode() for i in range(lib.rv_num_classes())].index(name)


@pytest.mark.parametrize("width", [1, 2, 4])
def test_issue_width_bounds_ipc(width):
    m = timed({"issue_width": width})
    load_program(m, [f"addi a{i % 8}, a{i % 8}, 1" for i in range(400)] + ["jalr zero, 0(ra)"])
    p = run(m)
    assert p.ipc <= width
    assert p.ipc == pytest.approx(width, rel=0.05)   # independent ALU ops fill every slot


def test_mispredictions_cost_the_branch_penalty():
    # A branch taken on every third iteration: the bimodal predictor keeps missing it.
    prog = ["addi t0, zero, 0",
            "addi t0, t0, 1",          # loop:
            "andi t1, t0, 3",
            "bne t1, zero, 8",        # skip the next instruction 3 times in 4
            "addi a1, a1, 1",
            "blt t0, a0, -16",
            "jalr zero, 0(ra)"]
    results = {}
    for penalty in (2, 12):
        m = timed({"branch_penalty": penalty})
        load_program(m, prog)
        results[penalty] = run(m, 400)
    a, b = results[2], results[12]
    assert a.branches == b.branches and a.branches["mispredicted"] > 50
    assert b.cycles - a.cycles == 10 * a.branches["mispredicted"]
    assert b.stalls["branch"] == 12 * b.branches["mispredicted"]


@pytest.mark.parametrize("width", [2, 4])
def test_waw_pairing_keeps_writes_of_one_register_out_of_one_issue_cycle(width):
    n = 200
    same = [f"add a0, a{1 + i % 3}, a5" for i in range(n)]            # every one writes a0
    rotating = [f"add a{i % 4}, a5, a6" for i in range(n)]           # four destinations
    cycles = {}
    for pairing in (False, True):
        for name, body in (("same", same), ("rotating", rotating)):
            m = timed({"issue_width": width, "waw_pairing": pairing})
            load_program(m, body + ["jalr zero, 0(ra)"])
            cycles[pairing, name] = run(m).cycles
    # without the rule independent adds fill every slot whatever they write
    assert cycles[False, "same"] == pytest.approx(n / width, abs=3)
    # with it, writes of one register go one a cycle; distinct ones still pair
    assert cycles[True, "same"] == pytest.approx(n, abs=3)
    assert cycles[True, "rotating"] == pytest.approx(n / width, abs=3)


def _resolve_labels(lines):
    """Assembly with labels ("name:" lines) and "@name" operands turned into the offset of
    the label from the instruction ("@name-base": from label base instead); every
    instruction here assembles to 4 bytes."""
    labels, body = {}, []
    for line in lines:
        if line.endswith(":"):
            labels[line[:-1]] = 4 * len(body)
        else:
            body.append(line)
    out = []
    for i, line in enumerate(body):
        if "@" in line:
            head, _, ref = line.rpartition("@")
            name, _, base = ref.partition("-")
            line = head + str(labels[name] - (labels[base] if base else 4 * i))
        out.append(line)
    return out


def _cycle_window(m, reads):
    """Per-pc cycles of the last run summed from the first to (not including) the second of
    the two instruction indexes `reads`: the model's cycles between their issues."""
    lo, hi = (CODE + 4 * i for i in reads)
    return sum(c for pc, c in m.profile().pc_cycles.items() if lo <= pc < hi)


@pytest.mark.parametrize("latency", [1, 3, 7])
def test_cycle_csr_reads_the_model_clock_in_timed_mode(latency):
    n = 40
    prog = (["rdcycle a0", "addi t0, zero, 3"] + ["mul t1, t1, t0"] * n
            + ["rdcycle a1", "sub a0, a1, a0", "jalr zero, 0(ra)"])
    m = timed({"latency": {"MUL": latency}, "issue_width": 1})
    load_program(m, prog)
    m.reset_counters()
    elapsed = m.call(CODE, ret="u64")
    # what the program measured is what the profile charged to the instructions in between
    assert elapsed == _cycle_window(m, (0, n + 2))
    assert elapsed == pytest.approx(n * latency, abs=latency + 2)
    # the first read of a run after a reset sees the run's first cycle
    m = timed()
    load_program(m, ["rdcycle a0", "jalr zero, 0(ra)"])
    m.reset_counters()
    assert m.call(CODE, ret="u64") == 0
    # functional mode: one cycle per instruction
    f = Machine(vlen=128)
    load_program(f, prog)
    assert f.call(CODE, ret="u64") == n + 2   # the first read, the addi and the chain


# ---- indirect jumps: return-address stack and BTB ---------------------------------

def _nested_calls(depth, iterations):
    """A loop calling f1, which calls f2, ... f_depth: `depth` nested calls, each
    returning to a different place, so a return-address stack shallower than
    the nesting must mispredict the outer returns."""
    prog = ["addi s0, ra, 0",             # return to the caller by s0: not through the RAS
            f"addi s1, zero, {iterations}",
            "loop:", "jal ra, @f1", "addi s1, s1, -1", "bne s1, zero, @loop", "jalr zero, 0(s0)"]
    for i in range(1, depth):
        prog += [f"f{i}:", "addi sp, sp, -16", "sd ra, 0(sp)", f"jal ra, @f{i + 1}",
                 "ld ra, 0(sp)", "addi sp, sp, 16", "jalr zero, 0(ra)"]
    prog += [f"f{depth}:", "jalr zero, 0(ra)"]
    return _resolve_labels(prog)


@pytest.mark.parametrize("ras_depth", [1, 4, 8])
@pytest.mark.parametrize("extra", [-1, 0, 3])
def test_calls_nested_deeper_than_the_ras_mispredict_their_returns(ras_depth, extra):
    nesting, iterations = max(1, ras_depth + extra), 20
    runs = {}
    for depth in (ras_depth, 64):
        m = timed({"ras_depth": depth})
        load_program(m, _nested_calls(nesting, iterations))
        runs[depth] = run(m)
    shallow, deep = runs[ras_depth], runs[64]
    assert shallow.branches["indirect"] == iterations * nesting
    # the returns past the stack's depth find the wrong address; a deep stack predicts all
    assert shallow.branches["indirect_mispredicted"] == iterations * max(0, nesting - ras_depth)
    assert deep.branches["indirect_mispredicted"] == 0
    penalty = params(m).branch_penalty
    assert shallow.cycles - deep.cycles == penalty * shallow.branches["indirect_mispredicted"]
    assert shallow.stalls["branch"] == penalty * (shallow.branches["mispredicted"]
                                                  + shallow.branches["indirect_mispredicted"])


def _indirect_jumps(alternate, iterations):
    """A loop through jalr at `jump`: to targets a and b in turn (alternate), or through a
    second jalr (each with one fixed target)."""
    prog = ["addi s0, ra, 0", f"addi s1, zero, {iterations}",
            "here:", "auipc s2, 0", "addi s3, s2, @a-here", "addi s4, s2, @b-here",
            "jump:", "jalr zero, 0(s3)",
             "a:", "jalr zero, 0(s4)" if not alternate else "jal zero, @join",
             "b:", "addi t0, t0, 1",
             "join:"]
    if alternate:   # swap the targets for the next pass
        prog += ["addi t1, s3, 0", "addi s3, s4, 0", "addi s4, t1, 0"]
    prog += ["addi s1, s1, -1", "bne s1, zero, @jump", "jalr zero, 0(s0)"]
    return _resolve_labels(prog)


def test_an_indirect_jump_alternating_between_two_targets_mispredicts():
    iterations = 30
    m = timed({"btb_entries": 1})
    load_program(m, _indirect_jumps(True, iterations))
    prof = run(m)
    # the BTB remembers the last target, which is never the next one
    assert prof.branches["indirect"] == iterations
    assert prof.branches["indirect_mispredicted"] == iterations


# The BTB is indexed by pc bits 1 and up: the two jumps, 4 bytes apart, would share 2 entries.
@pytest.mark.parametrize("btb_entries", [1, 4, 64])
def test_two_indirect_jumps_share_a_one_entry_btb(btb_entries):
    iterations = 30
    m = timed({"btb_entries": btb_entries})
    load_program(m, _indirect_jumps(False, iterations))
    prof = run(m)
    assert prof.branches["indirect"] == 2 * iterations
    # one entry: each jump evicts the other's target; more: only the first passes miss
    want = 2 * iterations if btb_entries == 1 else 2
    assert prof.branches["indirect_mispredicted"] == want


# ---- memory ------------------------------------------------------------------

def _pointer_chase(m, nodes, stride):
    """A ring of `nodes` pointers `stride` bytes apart; the program (a1 = the
    ring) follows it once, straight-line, so nothing but the loads takes time."""
    base = m.alloc(nodes * stride, align=4096)
    ring = np.zeros(nodes * stride // 8, dtype=np.uint64)
    for i in range(nodes):
        ring[i * stride // 8] = base + ((i + 1) % nodes) * stride
    m.write(base, ring)
    load_program(m, ["ld a1, 0(a1)"] * nodes + ["jalr zero, 0(ra)"])
    return base


def test_cold_and_warm_runs_differ_by_the_misses():
    m = timed({"prefetch_degree": 0})
    p = params(m)
    nodes = 64
    base = _pointer_chase(m, nodes, 256)   # 16 KiB: fits in L1
    cold = run(m, 0, base)
    warm = run(m, 0, base)
    assert cold.caches["L1"]["misses"] == nodes and warm.caches["L1"]["misses"] == 0
    # Each DRAM miss of the dependent chain costs its whole latency over a hit.
    miss_cost = p.l2_latency + p.dram_latency - p.l1_latency
    assert cold.cycles - warm.cycles == cold.caches["L2"]["misses"] * miss_cost


def test_l2_hits_cost_the_l2_latency():
    m = timed({"prefetch_degree": 0, "issue_width": 1})
    p = params(m)
    nodes = 2 * p.l1_size // 256          # twice the L1: every access misses L1, hits L2
    base = _pointer_chase(m, nodes, 256)
    run(m, 0, base)                       # bring it into L2
    a = run(m, 0, base)
    assert a.caches["L1"]["hits"] == 0 and a.caches["L2"]["misses"] == 0
    # every load but the first waits for the one before it
    assert a.stalls["memory"] == (nodes - 1) * (p.l2_latency - 1)


def one_hart_dram(m, p) -> float:
    """The DRAM bandwidth one hart draws: on a machine of several harts at most
    hart_dram_bytes_per_cycle of the shared channel (docs/harts.md)."""
    return p.hart_dram_bytes_per_cycle if m.harts > 1 and p.hart_dram_bytes_per_cycle else p.dram_bytes_per_cycle


@pytest.mark.parametrize("preset", Target.presets())
def test_streaming_past_l2_runs_at_dram_bandwidth(preset):
    m = timed(preset=preset)
    p = params(m)
    n_lines = 4 * p.l2_size // p.line
    buf = m.alloc(n_lines * p.line, align=4096)
    # one load per line, its value used: nothing but memory limits the loop
    load_program(m, ["ld t0, 0(a0)", "add a2, a2, t0", "addi a0, a0, " + str(p.line),
                     "addi a1, a1, -1", "bne a1, zero, -16", "jalr zero, 0(ra)"])
    prof = run(m, buf, n_lines)
    assert prof.dram_bytes["read"] >= n_lines * p.line
    # the lines the program walked, per cycle (the prefetcher also reads a few past the end);
    bw = one_hart_dram(m, p)
    streamed = n_lines * p.line / prof.cycles
    assert streamed == pytest.approx(bw, rel=0.1)
    assert streamed <= bw * 1.001


@settings(max_examples=60, deadline=None)
@given(order=st.lists(st.integers(0, 5), min_size=1, max_size=60),
       preset=st.sampled_from(["spacemit-x60", "xuantie-c930"]))
def test_l1_replaces_the_least_recently_used_line_of_a_set(order, preset):
    """Loads of up to 6 lines that share one L1 set, in a drawn order: the L1
    misses are those of an LRU set of l1_assoc ways that starts empty (a
    Python list as the oracle).  No prefetcher: only the program's lines."""
    m = timed({"prefetch_degree": 0}, preset=preset)
    p = params(m)
    way_stride = p.l1_size // p.l1_assoc          # lines this far apart share a set
    lines = m.alloc(6 * way_stride, align=way_stride)
    addrs = np.array([lines + 32 * p.line + k * way_stride for k in order], dtype=np.uint64)
    table = m.alloc(addrs)   # 8-byte entries in sets of their own (not set 32)
    load_program(m, ["ld t0, 0(a0)", "ld t1, 0(t0)", "addi a0, a0, 8", "addi a1, a1, -1",
                     "bne a1, zero, -16", "jalr zero, 0(ra)"])
    prof = run(m, table, len(order))
    lru, misses = [], 0
    for k in order:
        if k in lru:
            lru.remove(k)
        else:
            misses += 1
            if len(lru) == p.l1_assoc:
                lru.pop(0)
        lru.append(k)
    table_lines = -(-addrs.nbytes // p.line)
    assert prof.caches["L1"]["misses"] == misses + table_lines


def _strided_walk(m, rows, stride, loads_per_row):
    """A program walking `rows` rows `stride` bytes apart, `loads_per_row` 8-byte loads
    each, every value used (a column strip of a row-major matrix); a0 = base, a1 = rows."""
    body = [x for i in range(loads_per_row) for x in (f"ld t0, {8 * i}(a0)", "add a3, a3, t0")]
    n = len(body) + 3
    return body + ["add a0, a0, a2", "addi a1, a1, -1", f"bne a1, zero, {-4 * (n - 1)}", "jalr zero, 0(ra)"]


@pytest.mark.parametrize("preset", Target.presets())
@pytest.mark.parametrize("strip_lines", [1, 2])
def test_a_column_strip_walk_fetches_the_strip_not_its_neighbours(preset, strip_lines):
    m = timed(preset=preset)
    p = params(m)
    rows, stride = 2048, 4096 + 2 * p.line     # rows far apart, not a power of two
    buf = m.alloc(rows * stride, align=4096)
    load_program(m, _strided_walk(m, rows, stride, strip_lines * p.line // 8))
    prof = run(m, buf, rows, stride)
    touched = rows * strip_lines * p.line
    # for nothing, at most the prefetch distance past the strip's end, per stream
    # (the first load of each line of a row is one instruction: one stream)
    assert touched <= prof.dram_bytes["read"] <= touched + strip_lines * (p.prefetch_degree + 2) * p.line
    # and it is fetched ahead: with the prefetcher the walk runs faster than without
    m0 = timed({"prefetch_degree": 0}, preset=preset)
    load_program(m0, _strided_walk(m0, rows, stride, strip_lines * p.line // 8))
    buf0 = m0.alloc(rows * stride, align=4096)
    if p.prefetch_degree:
        assert prof.cycles < 0.7 * run(m0, buf0, rows, stride).cycles


@given(loads=st.integers(1, 24), lmul=st.sampled_from([1, 2, 4, 8]))
@settings(max_examples=20, deadline=None)
def test_rdcycle_waits_for_queued_vector_loads(loads, lmul):
    # rdcycle, cold vector loads, rdcycle: the region cannot have moved more bytes
    # than the DRAM channel carries in the cycles it measured, nor be shorter
    # than one trip to memory
    m = timed({"vq_depth": 32}, preset="spacemit-x60")
    p = params(m)
    step = m.vlen * lmul // 8
    buf = m.alloc(loads * step + 4096, align=4096)
    body = ["vle32.v v8, (a0)", f"addi a0, a0, {step}"] * loads
    load_program(m, [f"vsetvli t0, zero, e32, m{lmul}, ta, ma", "rdcycle a2"] + body
                 + ["rdcycle a3", "sub a0, a3, a2", "jalr zero, 0(ra)"])
    m.reset_counters()
    elapsed = m.call(CODE, buf, ret="u64")
    assert elapsed >= p.l2_latency + p.dram_latency
    assert loads * step / elapsed <= p.dram_bytes_per_cycle


@given(preset=st.sampled_from(["generic", "spacemit-x60", "xuantie-c930"]), vlen=st.sampled_from([128, 256, 512]),
       sew=st.sampled_from([8, 32]), same=st.booleans(), data=st.data())
@settings(max_examples=30, deadline=None)
def test_a_vector_load_waits_for_a_line_still_being_filled(preset, vlen, sew, same, data):
    # a scalar load misses a cold line; a vector load of that line (``same``) or of
    # another cold line follows at once: either way the vector load's data is there
    # no sooner than one trip to memory after the first rdcycle, so its consumer
    # (vadd.vv, in the vector timeline) starts no sooner
    m = timed({"prefetch_degree": 0}, preset=preset, vlen=vlen)
    p = params(m)
    buf = m.alloc(4 * p.line, align=4096)
    nbytes = data.draw(st.integers(sew // 8, min(vlen, p.line * 8) // 8).map(lambda n: n - n % (sew // 8)))
    offset = data.draw(st.integers(0, (p.line - nbytes) // (sew // 8))) * (sew // 8)
    vector_line = 0 if same else 2 * p.line
    text = [f"addi t1, zero, {nbytes // (sew // 8)}", f"vsetvli t0, t1, e{sew}, m1, ta, ma", "rdcycle a2",
            "lw a4, 0(a0)", f"addi a1, a0, {vector_line + offset}", f"vle{sew}.v v8, (a1)", "vadd.vv v9, v8, v8",
            "rdcycle a3", "sub a0, a2, zero", "jalr zero, 0(ra)"]
    load_program(m, text)
    m.reset_counters()
    start = m.call(CODE, buf, ret="u64")
    vadd_pc = CODE + 4 * text.index("vadd.vv v9, v8, v8")
    (vadd_start,) = [s for s, _, pc, *_ in m.profile().trace if pc == vadd_pc]
    assert vadd_start >= start + p.l2_latency + p.dram_latency


def test_stores_write_back_what_they_dirty():
    m = timed({"prefetch_degree": 0})
    p = params(m)
    n_lines = 4 * p.l2_size // p.line
    buf = m.alloc(n_lines * p.line, align=4096)
    load_program(m, ["sd a1, 0(a0)", "addi a0, a0, " + str(p.line), "addi a1, a1, -1",
                     "bne a1, zero, -12", "jalr zero, 0(ra)"])
    prof = run(m, buf, n_lines)
    # write-allocate: every line is read once; all but what the caches still hold is written back
    assert prof.dram_bytes["read"] == n_lines * p.line
    held = (p.l1_size + p.l2_size) // p.line
    assert (n_lines - held) * p.line <= prof.dram_bytes["written"] <= n_lines * p.line


@pytest.mark.parametrize("preset", ["spacemit-x60", "xuantie-c930"])   # the presets with Zicboz
def test_cbo_zero_claims_lines_without_reading_them(preset):
    # Zicboz writes a whole 64-byte block, so no old data is needed: a write-back
    # cache claims the line dirty with no read for ownership, and only the lines it
    # no longer holds are written back (the same loop of sd reads every line once:
    # test_stores_write_back_what_they_dirty)
    m = timed({"prefetch_degree": 0}, preset=preset)
    p = params(m)
    assert p.line == 64
    n_lines = 4 * p.l2_size // p.line
    buf = m.alloc(np.full(n_lines * 8, 7, dtype=np.uint64), align=4096)
    load_program(m, ["cbo.zero (a0)", "addi a0, a0, 64", "addi a1, a1, -1", "bne a1, zero, -12", "jalr zero, 0(ra)"])
    prof = run(m, buf, n_lines)
    assert not m.read(buf, np.uint64, n_lines * 8).any()
    assert prof.dram_bytes["read"] == 0
    held = (p.l1_size + p.l2_size) // p.line
    assert (n_lines - held) * p.line <= prof.dram_bytes["written"] <= n_lines * p.line
    # a line already cached is zeroed in place: a load after it hits L1 and reads 0
    again = load_program(m, ["sd a1, 0(a0)", "cbo.zero (a0)", "ld a0, 8(a0)", "jalr zero, 0(ra)"], CODE + 4096)
    m.reset_counters()
    assert m.call(again, buf, 5, ret="u64") == 0
    assert m.profile().dram_bytes["read"] <= p.line


# ---- the profile ---------------------------------------------------------------

def test_profile_attributes_every_cycle_to_a_pc_and_renders():
    m = timed()
    load_program(m, PROGRAM)
    buf = m.alloc(np.ones(301, dtype=np.uint64))
    prof = run(m, buf, 300, 7)
    # every cycle is some pc's but the drain at the end: transfers still on the
    # channels (prefetches past the end of the buffer), at most a memory latency
    # plus a full prefetch distance of lines
    p = params(m)
    drain = prof.cycles - sum(prof.pc_cycles.values())
    assert 0 <= drain <= p.l2_latency + p.dram_latency + p.prefetch_degree * p.line / one_hart_dram(m, p) + 1
    assert prof.instret == m.instret and sum(prof.class_counts.values()) == prof.instret
    data = json.loads(prof.to_json())
    assert data["cycles"] == prof.cycles and data["instret"] == prof.instret
    loop = prof.hot_loops(1)[0]
    assert loop["start"] == CODE + 8 and loop["end"] == CODE + 40
    assert "div" in prof.text()
    assert prof.stalls["data"] > 0    # the divide feeds the xor


SKIPPY = [   # a0 = n: a loop whose middle instruction never runs (the beq always jumps over it)
    "addi t0, zero, 0",
    "addi t0, t0, 1",          # loop:
    "beq t0, t0, 8",
    "xori t1, t1, 5",          # skipped: no cycles, listed all the same
    "blt t0, a0, -12",
    "jalr zero, 0(ra)",
]


def test_hot_loops_list_the_loops_code_after_the_machine_is_gone():
    m = timed()
    load_program(m, SKIPPY)
    prof = run(m, 50)
    del m
    gc.collect()
    loop = prof.hot_loops(1)[0]
    assert (loop["start"], loop["end"]) == (CODE + 4, CODE + 16)
    assert [pc for pc, _, _ in loop["lines"]] == [CODE + 4, CODE + 8, CODE + 12, CODE + 16]
    assert [text.split()[0] for _, _, text in loop["lines"]] == ["addi", "beq", "xori", "blt"]
    assert loop["lines"][2][1] == 0 and CODE + 12 not in prof.pc_cycles
    assert "xori" in prof.text()


def test_a_profile_shows_the_code_that_ran_not_what_is_there_later():
    """A profile reads its code fields when first asked (not when made): what
    it shows must still be the guest code of the run, copied when it was made."""
    m = timed()
    load_program(m, SKIPPY)
    prof = run(m, 50)
    m.write(CODE, np.array([assemble("addi a0, zero, 0")] * len(SKIPPY), dtype=np.uint32))
    copy = pickle.loads(pickle.dumps(prof))   # (sent before its code was read: a sweep's worker may)
    for p in (prof, copy):
        loop = p.hot_loops(1)[0]
        assert [text.split()[0] for _, _, text in loop["lines"]] == ["addi", "beq", "xori", "blt"]
        assert p.disassembly[CODE + 16].split()[0] == "blt"
        assert p.symbols[CODE + 16] == (m.symbol_at(CODE + 16) or "")


TAIL_CALL = [   # g at CODE: a0 + 1; f at CODE + 8, a0 = n: counts t0 to n, then tail-calls g
    "addi a0, a0, 1",          # g
    "jalr zero, 0(ra)",
    "addi t0, t0, 1",          # f: loop
    "blt t0, a0, -4",
    "beq t0, a0, -16",         # back to g (taken): a branch backwards, not a loop
    "jalr zero, 0(ra)",
]


@pytest.mark.parametrize("named", [True, False])
def test_a_branch_back_into_another_function_is_not_a_loop(named):
    m = timed()
    load_program(m, TAIL_CALL)
    if named:
        m.images.append(Image("exec", [], {"g": CODE, "f": CODE + 8}, {"g": 8, "f": 16}))
    m.reset_counters()
    assert m.call(CODE + 8, 50, ret="u64") == 51
    prof = m.profile()
    loops = {(loop["start"], loop["end"]) for loop in prof.hot_loops(5)}
    # without symbols every backward jump closes a loop, as before
    assert loops == ({(CODE + 8, CODE + 12)} if named else {(CODE + 8, CODE + 12), (CODE, CODE + 16)})


def test_an_ops_calls_profile_does_not_keep_its_machine_alive(monkeypatch):
    """rvai.ops.last_run holds the latest call's profile: the machine it ran on
    (guest memory, translated code) must go with the call."""
    from rvai import ops, runner
    made = []

    class Recorded(Machine):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(weakref.ref(self))

    monkeypatch.setattr(runner, "Machine", Recorded)
    x = np.arange(64, dtype=np.float32).reshape(4, 16)
    ops.softmax(x)
    gc.collect()
    assert len(made) == 1 and made[0]() is None
    prof = ops.last_run.profile
    assert prof.cycles > 0 and prof.hot_loops(1) and "loop 0x" in prof.text()


@pytest.mark.parametrize("preset", Target.presets())
def test_every_preset_has_a_model_the_core_accepts(preset):
    target = Target.preset(preset)
    assert target.model, f"{preset} has no [model] table"
    Machine(target, timed=True)    # raises if the C core rejects the parameters


def test_unknown_model_keys_are_rejected():
    with pytest.raises(ValueError, match="unknown keys"):
        timing_params({"l3_size": 1})
    with pytest.raises(ValueError, match="unknown class"):
        timing_params({"latency": {"NOPE": 1}})
    m = Machine(vlen=128)
    with pytest.raises(ValueError):
        m.set_timed(True, {"l1_size": 1000})   # not a power-of-two number of sets


def test_functional_mode_counts_one_cycle_per_instruction():
    m = Machine(vlen=128)
    load_program(m, PROGRAM)
    buf = m.alloc(np.ones(301, dtype=np.uint64))
    m.call(CODE, buf, 100, 3)
    assert m.cycles == m.instret
    with pytest.raises(ValueError, match="timed"):
        m.profile()


# ---- vector unit ------------------------------------------------------------------

needs_rvv = pytest.mark.skipif(not _can_assemble("vmacc.vv v8, v16, v24"), reason="no RVV yet")


def _vector_program(lmul, body, n):
    return [f"vsetvli t0, zero, e32, m{lmul}, ta, ma"] + body * n + ["jalr zero, 0(ra)"]


def _beats(m, lmul, sew=32):
    p = params(m)
    return max(1, m.vlen * lmul // p.dlen) if sew else 1


@needs_rvv
@pytest.mark.parametrize("vlen,dlen", [(256, 128), (512, 128), (256, 64)])
def test_doubling_lmul_doubles_occupancy_when_dlen_limited(vlen, dlen):
    n = 64
    busy, cycles = {}, {}
    for lmul in (1, 2, 4, 8):
        m = timed({"dlen": dlen}, vlen=vlen)
        load_program(m, _vector_program(lmul, ["vadd.vv v8, v16, v24"], n))
        prof = run(m)
        busy[lmul], cycles[lmul] = prof.pipe_busy["arith"], prof.cycles
        assert prof.vector["active_elements"] == prof.vector["vlmax_elements"] == n * vlen * lmul // 32
    for lmul in (1, 2, 4):
        assert busy[2 * lmul] == 2 * busy[lmul]
        if vlen * lmul // dlen >= 2:   # the pipe, not the scalar issue, is the bottleneck
            assert cycles[2 * lmul] / cycles[lmul] == pytest.approx(2, rel=0.1)


@needs_rvv
@pytest.mark.parametrize("lmul", [1, 4])
def test_dependent_vector_chain_runs_at_latency_independent_at_throughput(lmul):
    n = 50
    m = timed({"dlen": 128}, vlen=256)
    lat = params(m).latency[_class_index("VMUL")]
    beats = _beats(m, lmul)
    cycles = {}
    for dep in (True, False):
        m = timed({"dlen": 128, "chaining": False}, vlen=256)
        regs = ["v8", "v16", "v24"] if lmul == 8 else ["v8", "v12", "v16", "v20", "v24", "v28"]
        body = ["vmacc.vv v8, v0, v4" if dep else f"vmacc.vv {regs[i % len(regs)]}, v0, v4" for i in range(n)]
        load_program(m, [f"vsetvli t0, zero, e32, m{lmul}, ta, ma"] + body + ["jalr zero, 0(ra)"])
        cycles[dep] = run(m).cycles
    # without chaining each dependent op waits for the whole previous result
    assert cycles[True] - cycles[False] == pytest.approx(n * (lat - 1), abs=lat + beats + 3)
    assert cycles[False] == pytest.approx(n * beats, abs=lat + beats + 3)


@needs_rvv
@pytest.mark.parametrize("lmul", [2, 4, 8])
def test_chaining_shortens_dependent_chains_only(lmul):
    n = 40
    out = {}
    for chaining in (False, True):
        for dep in (True, False):
            m = timed({"dlen": 128, "chaining": chaining}, vlen=256)
            body = ["vadd.vv v8, v8, v16" if dep else "vadd.vv v8, v24, v16"]
            load_program(m, _vector_program(lmul, body, n))
            out[chaining, dep] = run(m).cycles
    lat = params(m).latency[_class_index("VALU")]
    beats = _beats(m, lmul)
    assert out[True, False] == out[False, False]          # independent ops: no change
    # a dependent op waits for the whole result without chaining, for the
    # first beat (and a free pipe) with it
    per_op_off, per_op_on = beats - 1 + lat, max(beats, lat)
    assert out[False, True] - out[True, True] == pytest.approx(n * (per_op_off - per_op_on), abs=lat + beats)


@needs_rvv
@pytest.mark.parametrize("preset", Target.presets())
def test_vector_streaming_past_l2_runs_at_dram_bandwidth(preset):
    m = timed(preset=preset)
    p = params(m)
    nbytes = 4 * p.l2_size
    buf = m.alloc(nbytes, align=4096)
    step = m.vlen * 8 // 8          # bytes per vle32 at LMUL 8
    load_program(m, ["vsetvli t0, zero, e32, m8, ta, ma",
                     "vle32.v v8, (a0)", "vadd.vv v16, v16, v8", f"addi a0, a0, {step}",
                     "addi a1, a1, -1", "bne a1, zero, -16", "jalr zero, 0(ra)"])
    prof = run(m, buf, nbytes // step)
    assert prof.bytes_loaded == nbytes
    assert prof.bytes_loaded / prof.cycles == pytest.approx(one_hart_dram(m, p), rel=0.1)
    assert prof.bytes_loaded / prof.cycles <= one_hart_dram(m, p) * 1.001


@needs_rvv
def test_element_utilisation_is_vl_over_vlmax():
    m = timed(vlen=256)
    load_program(m, ["vsetvli t0, a0, e32, m2, ta, ma"] + ["vadd.vv v8, v16, v24"] * 10 + ["jalr zero, 0(ra)"])
    prof = run(m, 5)
    assert prof.vector_utilisation == pytest.approx(5 / 16)
    assert len(prof.chrome_trace()["traceEvents"]) == 1 + 10


@needs_rvv
@given(ops=st.lists(st.sampled_from(["vadd.vv v8, v16, v24", "vfadd.vv v4, v12, v20", "vle32.v v2, (a1)"]),
                    min_size=1, max_size=40), preset=st.sampled_from(["generic", "xuantie-c930"]))
@settings(max_examples=20, deadline=None)
def test_the_timeline_holds_each_vector_op_once_in_program_order(ops, preset):
    # one event per vector instruction executed, named by its pc and op, in the
    # pipe its kind goes to (docs/timing-model.md), recorded in program order (an
    # op may start before an older one in another pipe), each taking time
    m = timed(preset=preset, vlen=256)
    buf = m.alloc(4096, align=4096)
    load_program(m, ["vsetvli t0, zero, e32, m1, ta, ma", "addi a1, a0, 0"] + ops + ["jalr zero, 0(ra)"])
    trace = run(m, buf).trace
    pipe = {"vadd.vv": "arith", "vfadd.vv": "fp", "vle32.v": "ls"}
    assert [(pc, ffi.string(lib.rv_op_name(op)).decode(), p) for _, _, pc, op, p, _ in trace] == [
        (CODE + 4 * (2 + i), text.split()[0], pipe[text.split()[0]]) for i, text in enumerate(ops)]
    assert all(start < end for start, end, *_ in trace)


# ---- the command line ----------------------------------------------------------------

@pytest.mark.parametrize("preset", ["small-inorder", "xuantie-c930"])
def test_rvai_profile_reports_json_with_cycles_and_instret(preset, tmp_path, capsys):
    from rvai.cli import main
    from tests.test_linux import EXIT_A0, make_exe
    prog = ["addi t0, zero, 500", "addi a0, a0, 3", "addi t0, t0, -1", "bne t0, zero, -8",
            "addi a0, zero, 0"] + EXIT_A0
    exe = tmp_path / "loop"
    exe.write_bytes(make_exe(prog))
    trace = tmp_path / "trace.json"
    assert main(["profile", "--target", preset, "--format", "json", "--trace", str(trace), str(exe)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["instret"] == 1 + 3 * 500 + 3 and report["exit_code"] == 0
    assert report["cycles"] >= report["instret"] / params(timed(preset=preset)).issue_width
    assert json.loads(trace.read_text())["traceEvents"]
    assert main(["profile", "--target", preset, str(exe)]) == 0
    assert "IPC" in capsys.readouterr().out


@pytest.mark.skipif(not _can_assemble("vfmacc.vv v8, v16, v24"), reason="no vector FP yet")
@pytest.mark.parametrize("insn,per_element", [("vfadd.vv v8, v16, v24", 1), ("vfmacc.vv v8, v16, v24", 2),
                                              ("vfmax.vv v8, v16, v24", 0), ("vfsgnj.vv v8, v16, v24", 0)])
def test_vector_flops_count_active_elements(insn, per_element):
    m = timed(vlen=256)
    load_program(m, ["vsetvli t0, a0, e32, m2, ta, ma"] + [insn] * 10 + ["jalr zero, 0(ra)"])
    prof = run(m, 11)    # vl = 11 of VLMAX 16
    assert prof.flops == 10 * 11 * per_element
