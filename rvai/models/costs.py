"""Where a layer's cycles go: per-operator costs from the emulator, and the sampling policy.

Every operator of a layer is one :mod:`rvai.ops` call; :class:`Costs` keeps what the
timing model counted for it (cycles, FLOPs, bytes the program moved, DRAM traffic).
Each call runs in a fresh machine, so caches start cold: weights come from DRAM (as
they do in decode, where each weight is read once per token) and so do activations
(which a real machine might still hold in L2 from the previous operator).

Sampling. A full-size layer of a 7B model is too slow to emulate (and its weights too
large to hold), but its big operators are regular: a GEMM's cost grows linearly in the
number of output columns (N strips) and attention's in the number of KV-head groups.
With ``max_macs`` set, an operator whose multiply-accumulates exceed it runs on a slice
(the first columns, the first KV heads) and its counters are scaled by full/slice; the
rest of its output is filled with copies of the computed slice, so later operators see
values of the right shape and size (their costs do not depend on the values). A call's
fixed cost is not scaled where it matters: GEMM slices are wide (:data:`SAMPLE_MIN`), and
attention runs on g and on 2g KV heads and is extrapolated on the line through the two
(:meth:`OpCost.add_line`): its first head costs more than the others (a cold start of
its own, 7.4 % of a one-head decode of 301 keys on spacemit-x60), so g heads scaled by
H_kv / g counted that start H_kv / g times. Mixture-
of-experts layers run one expert per distinct token count and scale by how many experts
got that count. :attr:`OpCost.scale` says by how much each entry was scaled up.
"""
from __future__ import annotations

import dataclasses
import math

from rvai.emu.profile import peak_flops_per_cycle, timing_params
from rvai.target import Target

__all__ = ["OpCost", "Costs", "Roofline", "SAMPLE_ALIGN", "SAMPLE_MIN"]

#: Sampled GEMM slices are whole multiples of this many columns, so every vector strip
#: of the slice is full at any VLEN up to 2048 with LMUL 4 (f32), like the full operator's.
SAMPLE_ALIGN = 256
#: ...and at least this many: a GEMM call has a fixed cost (copying A) that a narrow
#: slice would scale up with its columns. Measured with ops.linear on packed weights on
#: spacemit-x60 (main 6c46c87): (1, 896) x (896, N) costs 911.4 cycles per output column
#: at N = 1024, 909.5 at 4096 and 909.1 at 9728; (8, 896) x (896, N) 1445, 1434 and 1432.
#: (A slice writes into an output of the full width: see DecoderLayer._linear.)
SAMPLE_MIN = 1024


@dataclasses.dataclass
class OpCost:
    """One operator's counters, summed over its calls and scaled up when sampled.

    ``bytes`` is DRAM traffic (fills and write-backs), the roofline's memory axis;
    ``bytes_accessed`` all bytes the program loaded and stored (cache hits included).
    ``scale`` is the largest factor any call was multiplied by (1: run in full).
    """

    name: str
    cycles: float = 0.0
    flops: float = 0.0
    bytes: float = 0.0
    bytes_accessed: float = 0.0
    calls: int = 0
    scale: float = 1.0

    def add(self, run, scale: float = 1.0) -> None:
        """Add one :class:`rvai.runner.Run`'s counters, multiplied by ``scale``."""
        self._add([x * scale for x in _counters(run)], scale)

    def add_line(self, small, large, ratio: float) -> None:
        """Add one call ``ratio`` times the size of the run ``small``, whose counters lie on
        the line through ``small``'s and ``large``'s (a run twice small's size):
        small + (ratio - 1) * (large - small). The call's fixed part is counted once."""
        self._add([x + (ratio - 1) * (y - x) for x, y in zip(_counters(small), _counters(large))], ratio)

    def _add(self, counters: list[float], scale: float) -> None:
        self.cycles, self.flops, self.bytes, self.bytes_accessed = (
            a + b for a, b in zip((self.cycles, self.flops, self.bytes, self.bytes_accessed), counters))
        self.calls += 1
        self.scale = max(self.scale, scale)

    def scaled(self, factor: float) -> "OpCost":
        """This entry with every counter multiplied by ``factor`` (e.g. per layer to per model)."""
        return dataclasses.replace(self, cycles=self.cycles * factor, flops=self.flops * factor,
                                   bytes=self.bytes * factor, bytes_accessed=self.bytes_accessed * factor)


def _counters(run) -> tuple:
    """(cycles, FLOPs, DRAM bytes, bytes accessed) of a :class:`rvai.runner.Run`, as :class:`OpCost` sums them."""
    p = run.profile
    return run.cycles, p.flops, sum(p.dram_bytes.values()), p.bytes_loaded + p.bytes_stored


class Costs:
    """Per-operator costs of one or more layer runs, in the order operators first ran.

    ``max_macs`` (None: never sample) is the most multiply-accumulates an operator may
    run in full before it is sampled (see the module docstring). With ``keep_profiles``
    every call's :class:`rvai.emu.Profile` is kept in :attr:`profiles` with its scale, for
    callers that want more than cycles, FLOPs and bytes (a sweep's stall breakdown); off
    by default, as each Profile holds its trace.
    """

    def __init__(self, max_macs: float | None = None, keep_profiles: bool = False):
        self.max_macs = max_macs
        self.ops: dict[str, OpCost] = {}
        self.profiles: list[tuple] | None = [] if keep_profiles else None

    def add(self, name: str, run, scale: float = 1.0) -> None:
        """Record ``run`` (an :class:`rvai.runner.Run`) under operator ``name``."""
        self.ops.setdefault(name, OpCost(name)).add(run, scale)
        if self.profiles is not None:
            self.profiles.append((run.profile, scale))

    def add_line(self, name: str, small, large, ratio: float) -> None:
        """Record under ``name`` one call ``ratio`` times ``small``'s size, extrapolated from
        the runs ``small`` and ``large`` (twice its size; :meth:`OpCost.add_line`). The kept
        profiles carry the line's weights, 2 - ratio and ratio - 1 (the first negative)."""
        self.ops.setdefault(name, OpCost(name)).add_line(small, large, ratio)
        if self.profiles is not None:
            self.profiles += [(small.profile, 2 - ratio), (large.profile, ratio - 1)]

    @property
    def cycles(self) -> float:
        """Total cycles of everything recorded."""
        return sum(op.cycles for op in self.ops.values())

    @property
    def sampled(self) -> list[str]:
        """Names of the operators whose counters were scaled up from slices."""
        return [op.name for op in self.ops.values() if op.scale > 1]

    def columns(self, m: int, k: int, n: int) -> int:
        """How many of a GEMM's ``n`` output columns to run for (m, k) inputs: n, or an aligned slice."""
        if self.max_macs is None or m * k * n <= self.max_macs or n < 2 * SAMPLE_MIN:
            return n
        return min(n, max(SAMPLE_MIN, int(self.max_macs // (m * k * SAMPLE_ALIGN)) * SAMPLE_ALIGN))

    def kv_heads(self, kv_heads: int, macs: float) -> int:
        """How many of attention's ``kv_heads`` groups a sample runs when all of them take
        ``macs``: g, run once on g groups and once on 2g (:meth:`add_line`), or all of them
        when that is no dearer than the two runs (3g >= kv_heads)."""
        if self.max_macs is None or macs <= self.max_macs:
            return kv_heads
        g = max(1, int(kv_heads * self.max_macs // macs))
        return g if 3 * g < kv_heads else kv_heads


@dataclasses.dataclass(frozen=True)
class Roofline:
    """A target's two roofs: peak f32 FLOPs per cycle (as rvai.emu.profile counts it) and
    DRAM bytes per cycle, both from its ``[model]``; and its clock."""

    peak_flops: float
    peak_bytes: float
    clock_ghz: float

    @classmethod
    def of(cls, target: Target) -> "Roofline":
        """The roofs of ``target``'s timing model."""
        target = Target.of(target)
        clock = target.model.get("clock_ghz")
        if clock is None:
            raise ValueError(f"target {target.name!r} has no model.clock_ghz: cannot turn cycles into time")
        return cls(peak_flops_per_cycle(target.model, 32), float(timing_params(target.model).dram_bytes_per_cycle),
                   float(clock))

    @property
    def ridge(self) -> float:
        """FLOPs per DRAM byte where the roofs meet."""
        return self.peak_flops / self.peak_bytes

    def bound(self, op: OpCost) -> str:
        """``compute`` if the operator's FLOPs need more cycles at peak than its DRAM bytes do, else ``memory``."""
        return "compute" if op.flops / self.peak_flops >= op.bytes / self.peak_bytes else "memory"

    def attainable(self, intensity: float) -> float:
        """The roofline: FLOPs per cycle attainable at ``intensity`` FLOPs per DRAM byte."""
        return min(self.peak_flops, intensity * self.peak_bytes) if math.isfinite(intensity) else self.peak_flops
