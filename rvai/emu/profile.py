"""The timing model's Python face: machine-model parameters and ``Profile``.

A target's ``[model]`` table (see docs/timing-model.md) becomes the C core's
``rv_timing_params``; after a timed run, :class:`Profile` gathers what the model
counted -- cycles, the instruction mix, stalls, caches, vector utilisation,
FLOPs and bytes against the machine's peaks, cycles per pc -- and renders it
as text, JSON or a Chrome/Perfetto trace of the vector pipes.
"""
from __future__ import annotations

import bisect
import functools
import json
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np

from rvai._rvemu import ffi, lib
from rvai.emu.machine import PAGE, disassemble_insn

__all__ = ["Profile", "timing_params", "peak_flops_per_cycle", "PIPES", "MODEL_KEYS"]

#: Vector pipe names, in the C core's RV_VPIPE_* order ("st": a separate store unit,
#: used only by presets that map VSTORE to it).
PIPES = ("arith", "fp", "ls", "perm", "st")

#: Scalar keys of a ``[model]`` table, each a field of rv_timing_params.
MODEL_KEYS = (
    "issue_width", "branch_penalty", "bht_entries", "dlen", "vq_depth", "chaining",
    "vset_latency", "gather_elems_per_cycle", "strided_elems_per_cycle", "vdiv_beat_cycles",
    "line", "l1_size", "l1_assoc", "l1_latency", "l2_size", "l2_assoc", "l2_latency",
    "l2_bytes_per_cycle", "dram_latency", "dram_bytes_per_cycle", "prefetch_degree", "prefetch_streams",
    "waw_pairing",
    "ras_depth", "btb_entries", "cluster_harts", "l2_shared_bytes_per_cycle",
    "hart_dram_bytes_per_cycle",
)
#: Keys read by the Python side only (reporting).
REPORT_KEYS = ("clock_ghz",)
#: Sub-tables of ``[model]``: latencies by class, pipe of each vector class, units per
#: pipe, scalar unit occupancy by class, bits per cycle of each vector pipe, and the
#: vector cost table (docs/timing-model.md, "Vector cost tables").
TABLE_KEYS = ("latency", "vpipe", "pipes", "occupancy", "pipe_width", "vcost")
#: Terms of a vector cost form, in the C core's RV_TERM_* order: a constant, per
#: register group written (LMUL at vl = VLMAX), per group squared, per element, per
#: beat of the pipe's width.
COST_TERMS = ("const", "lmul", "lmul2", "elem", "beat")
#: Keys of one cost-table row.
VCOST_KEYS = ("occ", "lat", "masked", "e64", "pipe")

#: Floating-point operations of one scalar instruction, by class.
_SCALAR_FLOPS = {"FADD": 1, "FMUL": 1, "FFMA": 2, "FDIV": 1, "FSQRT": 1}
_TRACE_FIELDS = ("start", "end", "pc", "op", "pipe", "unit")
#: csrc/api.h's rv_trace_event as a NumPy record, its offsets from cffi: a
#: timeline (up to 65,536 events) is read as columns, not by a cffi attribute
#: access per field of each event (the profile of one timed ops.linear on
#: xuantie-c930, 64 x 1024 x 1024: 49 ms -> 33 ms)
_TRACE_EVENT = np.dtype({"names": list(_TRACE_FIELDS), "formats": ["<u8", "<u8", "<u8", "<u2", "u1", "u1"],
                         "offsets": [ffi.offsetof("rv_trace_event", f) for f in _TRACE_FIELDS],
                         "itemsize": ffi.sizeof("rv_trace_event")})
#: The most vector-pipe events a hart's timeline holds (csrc/timing.h's trace buffer).
_TRACE_MAX = 65536


class _Deferred:
    """What a Profile field holds until it is first read (_WhenRead)."""

    def make(self, prof) -> None:
        """Store the plain values of the fields this stands for in ``prof``."""
        raise NotImplementedError


class _Timeline(_Deferred):
    """A timed run's vector-pipe events as the machine gave them: per hart, a
    record array of _TRACE_EVENT and the names of its pipes by number (what
    ``Profile.trace`` holds until it is first read)."""

    def __init__(self, parts: list):
        self.parts = parts

    def make(self, prof) -> None:
        prof.__dict__["trace"] = self.events()

    def events(self) -> list:
        """The events as ``(start, end, pc, op, pipe, unit)`` tuples, hart after hart."""
        events = []
        for rows, pipes in self.parts:
            events += zip(*(rows[f].tolist() for f in _TRACE_FIELDS[:4]),
                          [pipes[p] for p in rows["pipe"].tolist()], rows["unit"].tolist())
        return events


class _WhenRead:
    """The descriptor of a Profile field made when first read: a _Deferred
    stored there makes its field (or fields) at the first read, which then
    hold plain values.  The timeline (``trace``: 65,536 tuples) was most of
    what a timed ``rvai.ops`` call spent after its kernel ran (docs/performance.md,
    "(issue 15, lt62)"), and the code fields (CODE_FIELDS) took most of the
    rest on attention; most profiles are never asked for either."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name]
        if isinstance(value, _Deferred):
            value.make(obj)
            value = obj.__dict__[self.name]
        return value

    def __set__(self, obj, value) -> None:
        obj.__dict__[self.name] = value


#: The largest region _Code copies whole (bytes).
CODE_COPY_MAX = 16 << 20


class _Code(_Deferred):
    """What a profile's code fields (``disassembly``, ``symbols``,
    ``loop_code``) are made from, until one of them is first read: copies of
    the mapped regions that hold the counted pcs, taken when the profile was
    made, and the loaded images' symbols (Machine.symbol_finder), not the
    machine, whose guest memory and translated code can weigh hundreds of
    MB.  Disassembling every counted pc there and then was ~17 ms of a timed
    c930 ``ops.attention`` call (3,215 pcs), and most profiles are never
    asked for their code."""

    def __init__(self, m, pcs):
        self.pcs = list(pcs)
        self.symbol_at = m.symbol_finder()
        self.pages: dict[int, bytes] = {}
        # each mapped region holding a counted pc, whole (what a loop's code is
        # read from: a kernel's text is a few pages, a static glibc program's
        # ~100), unless it is larger than CODE_COPY_MAX: then the pages of its
        # counted pcs (and the next, where an instruction's last two bytes fall)
        wanted = sorted({pc & ~(PAGE - 1) for pc in self.pcs} | {(pc + 2) & ~(PAGE - 1) for pc in self.pcs})
        for base, size, _ in m.regions():
            inside = wanted[bisect.bisect_left(wanted, base):bisect.bisect_left(wanted, base + size)]
            if not inside:
                continue
            spans = [(base, size)] if size <= CODE_COPY_MAX else [(page, PAGE) for page in inside]
            for start, n in spans:
                data = m.read_bytes(start, n)
                for off in range(0, n, PAGE):
                    self.pages[start + off] = data[off:off + PAGE]

    def read(self, addr: int, n: int) -> bytes:
        """n bytes at addr from the copied pages; KeyError where none was copied."""
        out = b""
        while n:
            base, off = addr & ~(PAGE - 1), addr & (PAGE - 1)
            take = min(n, PAGE - off)
            out += self.pages[base][off:off + take]
            addr, n = addr + take, n - take
        return out

    def make(self, prof) -> None:
        """Make ``prof``'s three code fields: each counted pc's disassembly and
        symbol, and the code of every loop :meth:`Profile.hot_loops` may list
        (a loop reaching code that was not copied, outside the regions of the
        counted pcs, is not listed)."""
        d = prof.__dict__
        d["disassembly"], d["symbols"], d["loop_code"] = {}, {}, {}
        for pc in self.pcs:
            try:
                prof.disassembly[pc] = disassemble_insn(self.read, pc)[2]
            except Exception:   # not copied (unmapped when the profile was made): keep the counts
                prof.disassembly[pc] = "?"
            prof.symbols[pc] = self.symbol_at(pc) or ""
        # the bytes only: disassembling every instruction of every loop here
        # (7,600 of them on an attention kernel) took a quarter of a short ops call
        for start, end in prof._loop_bounds(self.symbol_at.function):
            try:
                last = len(disassemble_insn(self.read, end)[1]) // 2
                prof.loop_code[start, end] = self.read(start, end - start + last)
            except Exception:   # code not copied: the loop is not listed
                pass


def _added(a, b):
    """a + b for counts, key by key (a key of one only: its value) for dicts of them."""
    if isinstance(a, dict):
        return {k: _added(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in {**a, **b}}
    return a + b


def _class_names() -> list[str]:
    return [ffi.string(lib.rv_class_name(i)).decode() for i in range(lib.rv_num_classes())]


def peak_flops_per_cycle(model: dict | None, sew: int = 32) -> float:
    """A ``[model]``'s peak FLOPs a cycle: every FP pipe retiring width/SEW fused
    multiply-adds a cycle (the pipe's ``pipe_width``, DLEN by default)."""
    p = timing_params(model)
    fp = PIPES.index("fp")
    return p.pipe_count[fp] * (p.pipe_width[fp] or p.dlen) / sew * 2


def timing_params(model: dict | None) -> "ffi.CData":
    """The ``rv_timing_params`` for a ``[model]`` table: the C defaults
    overlaid with the table's values; unknown keys raise ``ValueError``."""
    model = dict(model or {})
    p = ffi.new("rv_timing_params *")
    lib.rv_timing_default_params(p)
    classes = _class_names()
    unknown = set(model) - set(MODEL_KEYS) - set(REPORT_KEYS) - set(TABLE_KEYS)
    if unknown:
        raise ValueError(f"model: unknown keys {sorted(unknown)}; allowed: "
                         f"{sorted(MODEL_KEYS + REPORT_KEYS + TABLE_KEYS)}")
    for key in MODEL_KEYS:
        if key in model:
            value = model[key]
            if isinstance(value, bool):
                value = int(value)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"model.{key} must be a non-negative number, not {value!r}")
            setattr(p, key, value)
    for cls, lat in model.get("latency", {}).items():
        if cls not in classes:
            raise ValueError(f"model.latency: unknown class {cls!r}; classes: {', '.join(classes)}")
        p.latency[classes.index(cls)] = int(lat)
    for cls, pipe in model.get("vpipe", {}).items():
        if cls not in classes or pipe not in PIPES:
            raise ValueError(f"model.vpipe: {cls!r} = {pipe!r}: want a vector class = one of {PIPES}")
        p.vpipe[classes.index(cls)] = PIPES.index(pipe)
    for pipe, count in model.get("pipes", {}).items():
        if pipe not in PIPES:
            raise ValueError(f"model.pipes: unknown pipe {pipe!r}; pipes: {PIPES}")
        p.pipe_count[PIPES.index(pipe)] = int(count)
    for pipe, width in model.get("pipe_width", {}).items():
        if pipe not in PIPES or not isinstance(width, int) or width < 8:
            raise ValueError(f"model.pipe_width: {pipe!r} = {width!r}: want a pipe of {PIPES} = bits (>= 8)")
        p.pipe_width[PIPES.index(pipe)] = width
    for cls, occ in model.get("occupancy", {}).items():
        if cls not in classes or cls.startswith("V") or not isinstance(occ, int) or occ < 0:
            raise ValueError(f"model.occupancy: {cls!r} = {occ!r}: want a scalar class = cycles")
        p.occupancy[classes.index(cls)] = occ
    rows = model.get("vcost", {})
    if len(rows) > lib.RV_MAX_VCOSTS:
        raise ValueError(f"model.vcost: {len(rows)} rows, at most {lib.RV_MAX_VCOSTS}")
    p.nvcosts = len(rows)
    for i, (match, row) in enumerate(rows.items()):
        _set_vcost(p.vcost[i], match, row, classes)
    return p


@functools.cache
def _vector_mnemonics() -> frozenset[str]:
    """Mnemonics of the vector instructions (not vsetvl): what cost rows may name."""
    classes = _class_names()
    first = classes.index("VSET")
    ops = []
    for op in range(1, lib.rv_num_ops()):
        if lib.rv_op_class(op) > first:
            ops.append(ffi.string(lib.rv_op_name(op)).decode())
    return frozenset(ops)


@functools.cache
def _vector_prefix(match: str) -> bool:
    """Whether cost-row name ``match`` is a mnemonic prefix ending in '*' that names
    some vector instruction (remembered: every machine made for a preset asks
    again for its rows, and the scan of the mnemonics was most of
    timing_params's ~0.6 ms, paid several times in each rvai.ops call)."""
    return match.endswith("*") and any(m.startswith(match[:-1]) for m in _vector_mnemonics())


def _cost_form(where: str, form) -> list[float]:
    """A cost form (a number, or a table of COST_TERMS coefficients) as the C term array."""
    if isinstance(form, (int, float)) and not isinstance(form, bool):
        form = {"const": form}
    if not isinstance(form, dict) or set(form) - set(COST_TERMS) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in form.values()):
        raise ValueError(f"{where}: want a number or a table of {COST_TERMS} coefficients, not {form!r}")
    return [float(form.get(k, 0)) for k in COST_TERMS]


def _set_vcost(c, match: str, row: dict, classes: list[str]) -> None:
    """Fill one rv_vcost from a [model.vcost] row, checking what it matches."""
    where = f"model.vcost.{match!r}"
    known = isinstance(match, str) and (match in classes[classes.index("VSET") + 1:]
                                        or match in _vector_mnemonics() or _vector_prefix(match))
    if not known or len(match.encode()) >= len(c.match):
        raise ValueError(f"{where}: matches no vector instruction (want a vector class, a mnemonic "
                         "or a mnemonic prefix ending in '*')")
    if not isinstance(row, dict) or set(row) - set(VCOST_KEYS):
        raise ValueError(f"{where}: want a table with keys from {VCOST_KEYS}")
    c.match = match.encode()
    c.pipe = -1
    if "occ" in row:
        c.occ = _cost_form(where + ".occ", row["occ"])
        c.has_occ = 1
    if "lat" in row:
        c.lat = _cost_form(where + ".lat", row["lat"])
        c.has_lat = 1
    for key in ("masked", "e64"):
        if key in row:
            v = row[key]
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{where}.{key}: want a positive factor, not {v!r}")
            setattr(c, key, float(v))
    if "pipe" in row:
        if row["pipe"] not in PIPES:
            raise ValueError(f"{where}.pipe: want one of {PIPES}, not {row['pipe']!r}")
        c.pipe = PIPES.index(row["pipe"])


@dataclass
class Profile:
    """What the timing model counted over a run (since the machine's last
    ``reset_counters``).  Build one with ``Machine.profile()``."""

    cycles: int
    instret: int
    target: str
    model: dict
    vlen: int
    class_counts: dict[str, int]
    stalls: dict[str, int]
    branches: dict[str, int]
    caches: dict[str, dict[str, int]]
    dram_bytes: dict[str, int]
    bytes_loaded: int
    bytes_stored: int
    flops: int
    vector: dict[str, int]
    pipe_busy: dict[str, int]
    pc_cycles: dict[int, int]
    harts: int = 1                # harts that ran instructions (what peaks and busy fractions count)
    per_hart: list[dict] = field(default_factory=list)   # every hart's figures, on a machine of several
    coherence_invalidations: int = 0
    #: the vector pipes' timeline: a (start, end, pc, op, pipe, unit) tuple per vector op,
    #: each hart's first 65,536 in program order, hart after hart (pipes named h<k>.<pipe>
    #: on a machine of several); made when first read (_WhenRead, below the class)
    trace: list = field(default_factory=list, repr=False)
    disassembly: dict[int, str] = field(default_factory=dict, repr=False)
    symbols: dict[int, str] = field(default_factory=dict, repr=False)
    #: (start, end) -> the code of each loop :meth:`hot_loops` may list, its
    #: bytes read from the machine when the profile was made
    loop_code: dict[tuple[int, int], bytes] = field(default_factory=dict, repr=False)
    #: the fields read from the guest's code when the profile was made, not
    #: counted by the run (left out where runs' counts are compared)
    CODE_FIELDS: ClassVar[tuple[str, ...]] = ("disassembly", "symbols", "loop_code")

    @classmethod
    def from_machine(cls, m) -> "Profile":
        """Collect the counters of Machine ``m`` (which must run timed).  With
        several harts the counts are summed over them (stalls in hart-cycles),
        ``cycles`` is the machine's (its latest hart clock) and ``per_hart``
        holds each hart's own figures."""
        if not m.timed:
            raise ValueError("the machine is not in timed mode: Machine(..., timed=True)")
        stats = []
        for h in range(m.harts):
            s = ffi.new("rv_timing_stats *")
            lib.rv_hart_timing_stats(m._m, h, s)
            stats.append(s)
        total = lambda f: sum(getattr(s, f) for s in stats)  # noqa: E731
        pc_cycles: dict[int, int] = {}
        parts = []
        events = ffi.new("rv_trace_event[]", _TRACE_MAX)
        for h in range(m.harts):
            n = lib.rv_timing_pc_cycles(m._m, h, ffi.NULL, ffi.NULL, 0)
            pcs, cyc = ffi.new("uint64_t[]", n), ffi.new("uint64_t[]", n)
            lib.rv_timing_pc_cycles(m._m, h, pcs, cyc, n)
            for i in range(n):
                pc_cycles[pcs[i]] = pc_cycles.get(pcs[i], 0) + cyc[i]
            ne = lib.rv_timing_trace(m._m, h, events, _TRACE_MAX)
            prefix = f"h{h}." if m.harts > 1 else ""
            # (a copy: the buffer is the next hart's)
            rows = np.frombuffer(ffi.buffer(events, ne * _TRACE_EVENT.itemsize), dtype=_TRACE_EVENT).copy()
            parts.append((rows, tuple(prefix + p for p in PIPES)))
        classes = m.class_counts()
        scalar_flops = sum(classes.get(c, 0) * k for c, k in _SCALAR_FLOPS.items())
        instret = [lib.rv_thread_instret(m._m, i) for i in range(m.threads_started())]
        hart_instret = [sum(n for i, n in enumerate(instret) if m.thread_hart(i) == h) for h in range(m.harts)]
        prof = cls(
            cycles=m.cycles if m.harts > 1 else stats[0].cycles, instret=m.instret,
            target=getattr(m.target, "name", "generic"), model=dict(m.model), vlen=m.vlen,
            class_counts=classes,
            stalls={"data": total("stall_data"), "memory": total("stall_memory"),
                    "vector": total("stall_vector"), "branch": total("stall_branch"),
                    "contention": total("stall_contention")},
            branches={"executed": total("branches"), "mispredicted": total("mispredicts"),
                      "indirect": total("indirect"), "indirect_mispredicted": total("indirect_mispredicts")},
            caches={"L1": {"hits": total("l1_hits"), "misses": total("l1_misses")},
                    "L2": {"hits": total("l2_hits"), "misses": total("l2_misses")},
                    "prefetches": {"issued": total("prefetches"), "software": total("sw_prefetches")}},
            dram_bytes={"read": total("dram_bytes_read"), "written": total("dram_bytes_written")},
            bytes_loaded=total("bytes_loaded"), bytes_stored=total("bytes_stored"),
            flops=total("flops") + scalar_flops,
            vector={"ops": total("vec_ops"), "active_elements": total("vec_elems"),
                    "vlmax_elements": total("vec_elems_max")},
            pipe_busy={p: sum(s.pipe_busy[i] for s in stats) for i, p in enumerate(PIPES)},
            pc_cycles=pc_cycles, trace=_Timeline(parts), harts=max(sum(1 for n in hart_instret if n), 1),
            coherence_invalidations=total("coherence_invalidations"),
            per_hart=[{"cycles": s.cycles,
                       "instret": hart_instret[h],
                       "stalls": {"data": s.stall_data, "memory": s.stall_memory, "vector": s.stall_vector,
                                  "branch": s.stall_branch, "contention": s.stall_contention},
                       "contention_cycles": s.contention_cycles,
                       "coherence_invalidations": s.coherence_invalidations,
                       "L1 misses": s.l1_misses, "L2 misses": s.l2_misses,
                       "dram_bytes": s.dram_bytes_read + s.dram_bytes_written, "flops": s.flops}
                      for h, s in enumerate(stats)] if m.harts > 1 else [],
        )
        prof._annotate(m)
        return prof

    @classmethod
    def sequence(cls, profiles: list["Profile"]) -> "Profile":
        """The profile of runs one after the other (the launches of one operator): their
        cycles and every count added, each hart's figures added hart by hart, ``harts``
        the most any ran. Per-pc counts, the trace and the disassembly are left empty:
        each run had its own program at the same addresses."""
        first = profiles[0]
        added = ("cycles", "instret", "class_counts", "stalls", "branches", "caches", "dram_bytes", "bytes_loaded",
                 "bytes_stored", "flops", "vector", "pipe_busy", "coherence_invalidations")
        summed = {f: functools.reduce(_added, (getattr(p, f) for p in profiles)) for f in added}
        width = max(len(p.per_hart) for p in profiles)
        per_hart = [functools.reduce(_added, (p.per_hart[h] for p in profiles if h < len(p.per_hart)))
                    for h in range(width)]
        return cls(**summed, target=first.target, model=first.model, vlen=first.vlen, pc_cycles={},
                   harts=max(p.harts for p in profiles), per_hart=per_hart)

    def _annotate(self, m) -> None:
        """Keep what the reports show of machine ``m``'s code: the counted
        pcs' pages and the images' symbols (_Code), made into the code fields
        when one is first read.  Nothing keeps ``m`` itself: a profile
        outlives its machine (``rvai.ops.last_run`` holds one)."""
        code = _Code(m, self.pc_cycles)
        for name in self.CODE_FIELDS:
            self.__dict__[name] = code

    def _loop_bounds(self, function_at) -> list[tuple[int, int]]:
        """(target, pc) of each backward branch or jump at a counted pc whose
        target is in its function (``function_at``'s name, or none for both):
        the loops, each from its target to its closing instruction.  (A jump
        back into another function, a tail call or a shared exit in a C
        library, made a "loop" of all the code between: on a static glibc
        program, 135 KB of it ranked first with 69 % of the cycles.)"""
        bounds = []
        for pc, text in self.disassembly.items():
            parts = text.replace(",", " ").split()
            if not parts or not (parts[0].startswith("b") or parts[0] in ("j", "jal")):
                continue
            try:   # a relative offset (llvm-mc spelling) or an absolute 0x address
                off = parts[-1]
                target = int(off, 16) if off.startswith("0x") else pc + int(off)
            except ValueError:
                continue
            if target <= pc and function_at(target) == function_at(pc):
                bounds.append((target, pc))
        return bounds

    # ---- derived figures --------------------------------------------------
    @property
    def ipc(self) -> float:
        """Retired instructions per cycle."""
        return self.instret / self.cycles if self.cycles else 0.0

    @property
    def hart_cycles(self) -> int:
        """Cycles summed over the harts that ran (each hart's clock): what the
        stall and per-pc counts add up against.  ``cycles`` with one hart."""
        return sum(h["cycles"] for h in self.per_hart if h["instret"]) if self.per_hart else self.cycles

    @property
    def vector_utilisation(self) -> float:
        """Active elements over VLMAX, summed over vector instructions."""
        v = self.vector
        return v["active_elements"] / v["vlmax_elements"] if v["vlmax_elements"] else 0.0

    @property
    def flops_per_cycle(self) -> float:
        """Floating-point operations per cycle."""
        return self.flops / self.cycles if self.cycles else 0.0

    def peak_flops_per_cycle(self, sew: int = 32) -> float:
        """The machine's peak: :func:`peak_flops_per_cycle` of its model, times its harts."""
        return peak_flops_per_cycle(self.model, sew) * self.harts

    @property
    def bytes_per_cycle(self) -> float:
        """Bytes the program loaded and stored, per cycle."""
        return (self.bytes_loaded + self.bytes_stored) / self.cycles if self.cycles else 0.0

    @property
    def dram_bytes_per_cycle(self) -> float:
        """DRAM traffic (fills and write-backs) per cycle."""
        return sum(self.dram_bytes.values()) / self.cycles if self.cycles else 0.0

    @property
    def peak_dram_bytes_per_cycle(self) -> float:
        """The modelled DRAM bandwidth."""
        return timing_params(self.model).dram_bytes_per_cycle

    def bounds(self) -> dict[str, float]:
        """How busy each throughput resource of the model was, as a fraction of the
        run's cycles: scalar issue slots, each vector pipe (over its units; both
        over all harts), the DRAM channel (which the harts share) and, on a
        machine of several harts whose preset limits what one hart draws
        (``hart_dram_bytes_per_cycle``), the busiest hart's own DRAM port: a
        hart can carry other harts' lines too (its prefetcher running past its
        block into theirs, which they then wait for in the shared L2), so one
        port can fill while the channel is far from busy.  The largest names
        what limited the run when it is near 1; when all are low, latency
        (stalls) did."""
        p = timing_params(self.model)
        c = self.cycles or 1
        out = {"scalar issue": self.instret / (p.issue_width * c * self.harts)}
        used = {p.vpipe[k] for k in range(lib.rv_num_classes())}
        for i, pipe in enumerate(PIPES):
            if i in used or self.pipe_busy[pipe]:
                out[f"vector {pipe}"] = self.pipe_busy[pipe] / (p.pipe_count[i] * c * self.harts)
        out["DRAM"] = sum(self.dram_bytes.values()) / (p.dram_bytes_per_cycle * c)
        if self.per_hart and p.hart_dram_bytes_per_cycle > 0:
            out["hart DRAM port"] = max(h["dram_bytes"] for h in self.per_hart) / (p.hart_dram_bytes_per_cycle * c)
        return out

    def hot_pcs(self, n: int = 10) -> list[tuple[int, int]]:
        """The ``n`` pcs with the most cycles, as (pc, cycles)."""
        return sorted(self.pc_cycles.items(), key=lambda kv: -kv[1])[:n]

    def hot_loops(self, n: int = 3) -> list[dict]:
        """The ``n`` loops with the most cycles: each taken backward branch or
        jump closes a loop from its target to itself.  Each loop is a dict with
        start, end, cycles and lines (pc, cycles, disassembly)."""
        loops = {(start, end): sum(c for p, c in self.pc_cycles.items() if start <= p <= end)
                 for start, end in self.loop_code}
        # Keep the innermost of loops that share cycles: sort by cycles, then size.
        ranked = sorted(loops.items(), key=lambda kv: (-kv[1], kv[0][1] - kv[0][0]))[:n]
        out = []
        for (start, end), cycles in ranked:
            out.append({"start": start, "end": end, "cycles": cycles, "symbol": self.symbols.get(start, ""),
                        "lines": self._loop_lines(start, end)})
        return out

    def _loop_lines(self, start: int, end: int) -> list[tuple[int, int, str]]:
        """(pc, cycles, disassembly) of each instruction of the loop from start to end."""
        code = self.loop_code[start, end]

        def read(addr: int, n: int) -> bytes:
            return code[addr - start:addr - start + n]
        lines, pc = [], start
        while pc <= end:
            _, hexword, text = disassemble_insn(read, pc)
            lines.append((pc, self.pc_cycles.get(pc, 0), text))
            pc += len(hexword) // 2
        return lines

    # ---- renderings -----------------------------------------------------------
    def to_dict(self) -> dict:
        """Everything as plain data; ``cycles`` and ``instret`` at top level."""
        return {
            "cycles": self.cycles, "instret": self.instret, "ipc": self.ipc,
            "target": self.target, "vlen": self.vlen,
            "class_counts": self.class_counts, "stalls": self.stalls, "branches": self.branches,
            "caches": self.caches, "dram_bytes": self.dram_bytes,
            "bytes_loaded": self.bytes_loaded, "bytes_stored": self.bytes_stored,
            "bytes_per_cycle": self.bytes_per_cycle, "dram_bytes_per_cycle": self.dram_bytes_per_cycle,
            "peak_dram_bytes_per_cycle": self.peak_dram_bytes_per_cycle,
            "flops": self.flops, "flops_per_cycle": self.flops_per_cycle,
            "peak_flops_per_cycle_f32": self.peak_flops_per_cycle(32),
            "vector": dict(self.vector, utilisation=self.vector_utilisation),
            "pipe_busy": self.pipe_busy, "bounds": self.bounds(),
            "harts": self.harts, "per_hart": self.per_hart,
            "coherence_invalidations": self.coherence_invalidations,
            "hot_pcs": [{"pc": pc, "cycles": c, "text": self.disassembly.get(pc, "")}
                        for pc, c in self.hot_pcs(20)],
        }

    def to_json(self, **kw) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), **kw)

    def text(self, loops: int = 2) -> str:
        """A human-readable report."""
        pct = lambda a, b: f"{100 * a / b:5.1f}%" if b else "    -"  # noqa: E731
        c = self.cycles
        hc = self.hart_cycles   # stalls and per-pc cycles count on every hart
        lines = [f"target {self.target} (VLEN {self.vlen}): {c} cycles, {self.instret} instructions, "
                 f"IPC {self.ipc:.2f}" + (f" on {self.harts} of {len(self.per_hart)} harts (stalls in hart-cycles)"
                                          if self.per_hart else "")]
        lines.append("stalls:  " + "  ".join(f"{k} {v} ({pct(v, hc).strip()})" for k, v in self.stalls.items()))
        b = self.branches
        lines.append(f"branches: {b['executed']} executed, {b['mispredicted']} mispredicted; "
                     f"indirect jumps: {b['indirect']}, {b['indirect_mispredicted']} mispredicted")
        l1, l2 = self.caches["L1"], self.caches["L2"]
        lines.append(f"L1D: {l1['hits']} hits, {l1['misses']} misses   L2: {l2['hits']} hits, "
                     f"{l2['misses']} misses   prefetches {self.caches['prefetches']['issued']}"
                     + (f" (+{sw} by prefetch.r/w)" if (sw := self.caches['prefetches'].get('software')) else ""))
        lines.append(f"bytes: {self.bytes_loaded} loaded, {self.bytes_stored} stored "
                     f"({self.bytes_per_cycle:.2f} B/cycle); DRAM {sum(self.dram_bytes.values())} "
                     f"({self.dram_bytes_per_cycle:.2f} of {self.peak_dram_bytes_per_cycle:g} B/cycle)")
        lines.append(f"FLOPs: {self.flops} ({self.flops_per_cycle:.2f}/cycle; f32 peak "
                     f"{self.peak_flops_per_cycle(32):g})")
        v = self.vector
        if v["ops"]:
            lines.append(f"vector: {v['ops']} instructions, element utilisation "
                         f"{100 * self.vector_utilisation:.1f}%")
        lines.append("busy (of cycles x units): " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in
                                          sorted(self.bounds().items(), key=lambda kv: -kv[1])))
        lines.append("class mix: " + ", ".join(f"{k} {n}" for k, n in
                                              sorted(self.class_counts.items(), key=lambda kv: -kv[1])))
        if self.per_hart:
            lines.append(f"coherence: {self.coherence_invalidations} L1 lines invalidated by other harts' stores")
            lines.append("hart      cycles   instret   stall mem   stall vec  contention  L1 misses  DRAM bytes")
            for h, ph in enumerate(self.per_hart):
                st = ph["stalls"]
                lines.append(f"{h:>4} {ph['cycles']:>11} {ph['instret']:>9} {st['memory']:>11} {st['vector']:>11} "
                             f"{st['contention']:>11} {ph['L1 misses']:>10} {ph['dram_bytes']:>11}")
        for loop in self.hot_loops(loops):
            lines.append("")
            lines.append(f"loop 0x{loop['start']:x}-0x{loop['end']:x} {loop['symbol']}: "
                         f"{loop['cycles']} cycles ({pct(loop['cycles'], hc).strip()})")
            for pc, cyc, text in loop["lines"]:
                lines.append(f"  {cyc:>12} {pct(cyc, hc)}  {pc:8x}:  {text}")
        return "\n".join(lines)

    def chrome_trace(self) -> dict:
        """The vector pipes' occupancy as Chrome trace / Perfetto JSON (one
        track per pipe unit, 1 cycle = 1 µs of trace time)."""
        events = [{"name": "process_name", "ph": "M", "pid": 1, "args": {"name": f"{self.target} vector unit"}}]
        for start, end, pc, op, pipe, unit in self.trace:
            events.append({"name": ffi.string(lib.rv_op_name(op)).decode(), "ph": "X", "pid": 1,
                           "tid": f"{pipe}{unit}", "ts": start, "dur": max(end - start, 1),
                           "args": {"pc": f"0x{pc:x}"}})
        return {"traceEvents": events, "displayTimeUnit": "ns"}

    def counted(self) -> dict:
        """Every field the run counted, by name (``CODE_FIELDS`` left out): what
        two runs of one program that should time the same must agree on."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in self.CODE_FIELDS}


# (set after the class: the dataclass's __init__ assigns trace, which the
# descriptor then stores as given; a descriptor as the field's default would
# make that default its own)
for _name in ("trace",) + Profile.CODE_FIELDS:
    setattr(Profile, _name, _WhenRead(_name))
del _name
