"""The timing model across harts (docs/harts.md): each hart its own clock,
L1 and pipeline; an L2 per cluster and one DRAM channel shared by all, whose
bandwidth the harts split (the oracle: bytes over the preset's bytes a cycle);
contention as a stall class; a store invalidating other harts' L1 copies."""
import numpy as np
import pytest

from rvai.emu import Machine
from rvai.emu.isa import assemble
from rvai.target import Target

CODE = 0x10000
# a0 = base, a1 = bytes, a2 = passes: load every 64th byte and add it up (DRAM-bound once past L2)
STREAM = ["add t2, zero, a2", "add t0, a0, zero", "add t1, a0, a1", "ld t3, 0(t0)", "add t4, t4, t3",
          "addi t0, t0, 64", "bltu t0, t1, -12", "addi t2, t2, -1", "bne t2, zero, -24", "jalr zero, 0(ra)"]
# a2 = iterations of register-only work
COMPUTE = ["addi t0, zero, 0", "mul t1, a2, a2", "addi t0, t0, 1", "bltu t0, a2, -8", "jalr zero, 0(ra)"]
# a0 = &word, a1 = iterations: load, add one, store
BUMP = ["ld t0, 0(a0)", "addi t0, t0, 1", "sd t0, 0(a0)", "addi a1, a1, -1", "bne a1, zero, -16", "jalr zero, 0(ra)"]


def machine(code, target="spacemit-k1", **kw) -> Machine:
    m = Machine(target, timed=True, **kw)
    m.map(CODE, 4096, "rwx")
    m.write(CODE, np.array([assemble(t) for t in code], np.uint32))
    return m


def test_presets_describe_their_harts():
    k1 = Target.preset("spacemit-k1")
    assert k1.harts == 8 and k1.model["cluster_harts"] == 4 and k1.model["l2_size"] == 512 << 10
    # one 32-bit LPDDR4X-2666 channel at 1.6 GHz (K1 datasheet)
    assert k1.model["dram_bytes_per_cycle"] == pytest.approx(2666e6 * 4 / 1.6e9, rel=1e-3)
    assert k1.cpu == Target.preset("spacemit-x60").cpu
    assert Target.preset("xuantie-c930-cluster").harts == 4
    assert Target.default().harts == 1 and Machine().harts == 1
    assert Machine("spacemit-k1").harts == 8 and Machine("spacemit-k1", harts=2).harts == 2


@pytest.mark.parametrize("harts", [1, 2, 4, 8])
def test_harts_streaming_from_dram_split_its_bandwidth(harts):
    nbytes = 1 << 20    # twice a cluster's L2: every line comes from DRAM
    m = machine(STREAM, harts=harts)
    bufs = [m.alloc(nbytes, align=4096) for _ in range(harts)]
    m.reset_counters()
    m.call_threads(CODE, [(b, nbytes, 1) for b in bufs])
    p = m.profile()
    bw = m.model["dram_bytes_per_cycle"]
    dram = sum(p.dram_bytes.values())
    assert dram >= harts * nbytes
    assert dram / m.cycles <= bw * 1.001                  # never more than the channel carries
    if harts > 1:                                          # ...and the harts keep it busy
        assert dram / m.cycles >= 0.95 * bw
        assert p.stalls["contention"] > p.stalls["memory"]
        assert p.bounds()["DRAM"] >= 0.95
    else:
        assert p.stalls["contention"] == 0


@pytest.mark.parametrize("target", ["spacemit-k1", "xuantie-c930-cluster"])
def test_one_streaming_hart_fills_its_own_port_not_the_channel(target):
    # one thread streaming on a 2-hart machine draws what one hart can (the preset's
    # hart_dram_bytes_per_cycle, below the channel's): the profile must name that port
    nbytes = 1 << 20    # cold: every line comes from DRAM once
    m = machine(STREAM, target=target, harts=2)
    buf = m.alloc(nbytes, align=4096)
    m.reset_counters()
    m.call_threads(CODE, [(buf, nbytes, 1)])
    p = m.profile()
    hart_bw, bw = m.model["hart_dram_bytes_per_cycle"], m.model["dram_bytes_per_cycle"]
    dram = sum(p.dram_bytes.values())
    assert dram >= nbytes and p.per_hart[1]["dram_bytes"] == 0
    assert dram / m.cycles <= hart_bw * 1.001
    bounds = p.bounds()
    assert bounds["hart DRAM port"] >= 0.9
    assert bounds["DRAM"] == pytest.approx(bounds["hart DRAM port"] * hart_bw / bw)
    assert max(bounds, key=bounds.get) == "hart DRAM port"


@pytest.mark.parametrize("harts", [1, 2, 8])
def test_compute_bound_harts_do_not_slow_each_other(harts):
    m = machine(COMPUTE, harts=harts)
    m.reset_counters()
    m.call_threads(CODE, [(0, 0, 50_000)] * harts)
    alone = machine(COMPUTE, harts=1)
    alone.reset_counters()
    alone.call(CODE, 0, 0, 50_000)
    assert m.cycles == alone.cycles
    p = m.profile()
    assert p.stalls["contention"] == 0
    assert [h["cycles"] for h in p.per_hart] == ([alone.cycles] * harts if harts > 1 else [])


def test_a_cluster_shares_its_l2_and_other_clusters_do_not():
    """Hart 0 reads an array into its cluster's L2; then harts 1 (same cluster)
    and 2 (the other cluster) read it: hart 1 hits in L2, hart 2 misses."""
    nbytes = 128 << 10
    lines = nbytes // 64
    m2 = machine(STREAM, harts=4)
    m2.set_timed(True, model={**m2.model, "cluster_harts": 2, "prefetch_degree": 0})
    buf = m2.alloc(nbytes, align=4096)
    m2.call(CODE, buf, nbytes, 1)                 # thread 0, hart 0: fills cluster 0's L2
    m2.reset_counters()
    m2.call_threads(CODE, [(buf, 64, 1), (buf, nbytes, 1), (buf, nbytes, 1)])   # harts 0, 1, 2
    per = m2.profile().per_hart
    assert per[1]["L1 misses"] == lines and per[1]["L2 misses"] == 0
    assert per[2]["L1 misses"] == lines and per[2]["L2 misses"] == lines


def test_a_store_invalidates_other_harts_copies_and_false_sharing_costs():
    def run(stride):
        m = machine(BUMP, harts=2, quantum=50)
        buf = m.alloc(4096, align=4096)
        m.reset_counters()
        m.call_threads(CODE, [(buf, 5000), (buf + stride, 5000)])
        assert int(m.read(buf, np.int64, 1)[0]) == 5000
        return m.cycles, m.profile().coherence_invalidations
    shared, padded = run(8), run(64)
    assert padded[1] == 0 and shared[1] > 0
    assert shared[0] > padded[0]


def test_per_hart_profile_adds_up():
    m = machine(STREAM, harts=4)
    bufs = [m.alloc(64 << 10, align=4096) for _ in range(6)]
    m.reset_counters()
    m.call_threads(CODE, [(b, 64 << 10, 2) for b in bufs])
    p = m.profile()
    assert sum(h["instret"] for h in p.per_hart) == p.instret == m.instret
    assert max(h["cycles"] for h in p.per_hart) == p.cycles == m.cycles
    assert [h["cycles"] for h in p.per_hart] == m.hart_cycles()
    text = p.text()
    assert "on 4 of 4 harts" in text and "contention" in text
    assert p.to_dict()["harts"] == 4


# a0 = vadd.vv passes; a1 != 0: one vmul.vv after them
VECTOR = ["vsetvli t0, zero, e32, m1, ta, ma", "add t1, zero, a0", "vadd.vv v1, v2, v3", "addi t1, t1, -1",
          "bne t1, zero, -8", "beq a1, zero, 8", "vmul.vv v4, v5, v6", "jalr zero, 0(ra)"]


@pytest.mark.parametrize("passes", [(5, 2), (1, 6), (3, 3)])
def test_each_harts_timeline_outlives_the_machine(passes):
    # Profile.trace holds each hart's vector ops in program order, hart after
    # hart, its pipes named h<k>.<pipe>: a plain list, read only after the
    # machine is gone, and the same after a pickle round trip or
    # dataclasses.replace (what rvai.ops does to the profiles it sums)
    import dataclasses
    import gc
    import pickle
    from rvai._rvemu import ffi, lib
    m = machine(VECTOR, harts=2)
    m.reset_counters()
    m.call_threads(CODE, [(passes[0], 0), (passes[1], 1)])
    p = m.profile()
    del m
    gc.collect()
    pickled = pickle.loads(pickle.dumps(p))   # before the timeline is first read
    replaced = dataclasses.replace(p, cycles=0)
    want = [(h, CODE + 8, "vadd.vv") for h in range(2) for _ in range(passes[h])] + [(1, CODE + 24, "vmul.vv")]
    assert len(p.trace) == len(want)
    got = [(int(pipe[1]), pc, ffi.string(lib.rv_op_name(op)).decode()) for _, _, pc, op, pipe, _ in p.trace]
    assert got == want
    assert all(pipe.startswith(f"h{h}.") and start < end for (start, end, _, _, pipe, _), (h, _, _) in zip(p.trace, want))
    assert type(p.trace) is list and pickled.trace == replaced.trace == p.trace
