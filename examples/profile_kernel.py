"""Profile a GEMM and an attention kernel from ``rvai.ops`` on two machine presets.

The same vector-length-agnostic RVV code runs on a small in-order core (VLEN
128 with a 64-bit vector datapath, one FP pipe) and on a XuanTie C930-like
server core (VLEN 256, DLEN 256, two FP pipes, 4-wide issue).  For each kernel
and preset it prints the profile, then a summary that explains the cycle
counts from the presets' numbers: FLOPs per cycle against the machine's peak
(FP pipes x DLEN/32 lanes x 2 for an FMA), how busy each throughput resource
was (scalar issue, vector pipes, DRAM) and, when none of them is saturated,
which kind of stall the time went to.

    python examples/profile_kernel.py [--brief]
"""
import sys

import numpy as np

from rvai import ops
from rvai.emu.profile import timing_params
from rvai.target import Target

PRESETS = ("small-inorder", "xuantie-c930")
#: A resource busier than this fraction of the cycles is what bounds the run.
SATURATED = 0.8


def explain(prof) -> str:
    """One line saying what bounded a run, from its profile and its machine's model."""
    p = timing_params(prof.model)
    peak = prof.peak_flops_per_cycle(32)
    busy = prof.bounds()
    top, frac = max(busy.items(), key=lambda kv: kv[1])
    line = (f"{prof.flops_per_cycle:5.2f} of {peak:g} f32 FLOPs/cycle ({100 * prof.flops_per_cycle / peak:3.0f}% "
            f"of peak), vector elements {100 * prof.vector_utilisation:3.0f}% active; ")
    if frac >= SATURATED:
        line += f"bound by {top} ({100 * frac:.0f}% busy)"
        if top == "vector fp":
            line += f": {p.pipe_count[1]} FP pipe(s) x DLEN {p.dlen} = {p.pipe_count[1] * p.dlen // 32} f32 lanes"
        elif top == "DRAM":
            line += f": {p.dram_bytes_per_cycle:g} B/cycle"
        elif top == "scalar issue":
            line += f": {p.issue_width} instructions/cycle"
    else:
        kind, cycles = max(prof.stalls.items(), key=lambda kv: kv[1])
        line += (f"latency-bound: no resource saturated (busiest {top} {100 * frac:.0f}%), "
                 f"{kind} stalls take {100 * cycles / prof.cycles:.0f}% of the cycles")
        if kind == "memory":
            line += (f" (cold caches: {p.l2_latency + p.dram_latency} cycles to DRAM, "
                     f"{prof.caches['prefetches']['issued']} lines prefetched)")
        elif kind == "vector":
            line += f" (the scalar core waits on a full {p.vq_depth}-entry vector queue or a vector result)"
    return line


def kernels(rng):
    """(title, thunk) for each kernel: the thunk runs it and returns its profile."""
    a = rng.standard_normal((32, 64), dtype=np.float32)
    b = rng.standard_normal((64, 48), dtype=np.float32)
    # one decode step of a Qwen2-0.5B-like head: 1 query row against 128 cached keys, dim 64
    q = rng.standard_normal((1, 64), dtype=np.float32)
    k = rng.standard_normal((128, 64), dtype=np.float32)
    v = rng.standard_normal((128, 64), dtype=np.float32)

    def matmul(target):
        c = ops.matmul(a, b, target=target)
        np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
        return ops.last_run.profile

    def attention(target):
        out = ops.attention(q, k, v, target=target)
        s = q @ k.T / np.sqrt(q.shape[-1])
        w = np.exp(s - s.max(-1, keepdims=True))
        np.testing.assert_allclose(out, (w / w.sum(-1, keepdims=True)) @ v, rtol=1e-4, atol=1e-5)
        return ops.last_run.profile

    return [("matmul 32x64 @ 64x48", matmul), ("attention, 1 query x 128 keys, head dim 64", attention)]


def main(argv=None) -> None:
    """Profile each kernel on every preset (full reports unless ``--brief``), then explain the differences."""
    brief = "--brief" in (argv if argv is not None else sys.argv[1:])
    summary = []
    for title, run in kernels(np.random.default_rng(0)):
        profs = {}
        for name in PRESETS:
            profs[name] = prof = run(Target.preset(name))
            if not brief:
                print(f"==================== {title} on {name} ====================")
                print(prof.text(loops=1))
                print()
        summary.append((title, profs))

    print("==================== why the cycle counts differ ====================")
    for title, profs in summary:
        print(f"-- {title}")
        for name, prof in profs.items():
            p = timing_params(prof.model)
            print(f"  {name:14} VLEN {prof.vlen:4} DLEN {p.dlen:4}: {prof.cycles:7} cycles, IPC {prof.ipc:4.2f}; "
                  f"{explain(prof)}")
        (na, pa), (nb, pb) = profs.items()
        print(f"  {nb} takes {pa.cycles / pb.cycles:.1f}x fewer cycles than {na}; its f32 peak is "
              f"{pb.peak_flops_per_cycle() / pa.peak_flops_per_cycle():.0f}x higher and its issue "
              f"{timing_params(pb.model).issue_width // timing_params(pa.model).issue_width}x wider")


if __name__ == "__main__":
    main()
