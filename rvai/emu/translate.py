"""The translating tier: hot basic blocks of scalar integer code become host
functions (rvai.emu.jit_llvm builds them through LLVM) that the C loop runs in
place of interpreting them; csrc/jit.h says how a block is entered, counted
and forgotten.  The interpreter stays the reference and runs everything the
translator leaves out; both tiers give identical results.

``Machine(tier="translate")`` or ``RVAI_TIER=translate`` switches it on
for the functional mode, and the timed mode (unless ``RVAI_JIT_TIMED=0``)
translates as well, its blocks charging each instruction to the model as
the timed loop does (a plain op's or a branch's step, and a scalar
access's L1 hit, in the block itself, on the model's state in locals; the
rest through the C step).  A block is translated once the interpreter
has run ``RVAI_JIT_HOT`` instructions of it (``DEFAULT_HOT``,
counted as entries times its length, a vector integer op it computes
inline as ``VEC_INT_WEIGHT``): LLVM takes tens of milliseconds per block,
as long as the interpreter takes for a few million scalar instructions, so
a block is translated only when it has already cost that much, and a short
program never pays for LLVM (llvmlite itself is imported at the first
translation).  ``RVAI_JIT_HOT=0`` (the test option ``--tier=translate``)
translates every block at its first entry.
"""
from __future__ import annotations

import os
import sys
import time

from rvai._rvemu import ffi, lib
from rvai.emu.jit_ir import VINLINE

#: Instructions a block runs interpreted before it is translated, unless
#: RVAI_JIT_HOT says otherwise: about what translating it costs (assumed
#: ~30 ms at the interpreter's ~130-300 MIPS; see bench/emu_speed.py --short).
DEFAULT_HOT = 4_000_000
#: How often the C loop asks about a block still counting (entries; csrc/jit.h's limit).
ASK_EVERY = 240
#: What a vector integer op a block computes inline (jit_ir.VINLINE) weighs
#: toward RVAI_JIT_HOT, in instructions: translated, unmasked with vl = VLMAX,
#: it saves ~8 ns over the interpreter where a scalar op saves
#: ~2.3 (bench/emu_speed.py, wall per instruction: vadd.vv m1 9.9 -> 1.8 ns,
#: loop nest 2.6 -> 0.3), so their loops repay a translation sooner.  (In
#: host instructions the ratio is ~11, 228 -> 5.7 against 25 -> 6.5, but
#: time is what a translation must repay.)  Other vector ops (loads, stores
#: and FP ops too) save about what a scalar op does (the vector work itself
#: stays) and weigh 1: a saxpy loop's vmacc.vx weighed 4 made a 3.9M
#: instruction run translate near its end and take 0.08 s instead of 0.05.
VEC_INT_WEIGHT = 4
_CLASSES = [ffi.string(lib.rv_class_name(c)).decode() for c in range(lib.rv_num_classes())]
_CONTROL = {_CLASSES.index("BRANCH"), _CLASSES.index("JUMP")}
_VEC_INT = {op for op in range(lib.rv_num_ops()) if ffi.string(lib.rv_op_name(op)).decode() in VINLINE}
#: The most instructions of a block (csrc/jit.h's JIT_MAX_INSNS).
MAX_INSNS = 64
#: The most blocks compiled together: a hot one and those it may reach.
BATCH = 32


class Translator:
    """The translating tier of one machine: rv_jit_translate_hook calls
    ``translate(pc)`` when the block at pc turns hot."""

    def __init__(self, m, hot: int | None = None):
        self.m = m
        self.vlen = lib.rv_vlenb(m) * 8
        self.hot = int(os.environ.get("RVAI_JIT_HOT", DEFAULT_HOT)) if hot is None else hot
        self.handle = ffi.new_handle(self)
        self.error: BaseException | None = None   # the first exception a translation raised
        self.blocks = 0      # blocks installed
        self.cached = 0      # blocks of them loaded from the object cache (jit_llvm.Engine)
        self.seconds = 0.0   # wall time spent translating them
        self._insns = ffi.new("rv_jit_insn[]", MAX_INSNS)
        self.engines = set()   # the engines holding the blocks installed here (kept alive with the machine)
        self.installed: set[int] = set()   # pcs of the blocks installed here (some may since be forgotten)
        if lib.rv_jit_enable(m, self.handle, ASK_EVERY if self.hot else 0):
            raise RuntimeError("the translating tier is already on for this machine")
        lib.rv_jit_set_timed(m, os.environ.get("RVAI_JIT_TIMED") != "0")

    def stats(self) -> dict:
        """What the tier did so far: ``blocks`` installed, ``cached`` (those
        of them loaded from the object cache, without passes or codegen:
        rvai.emu.jit_llvm.cache_dir) and ``seconds`` spent translating
        (llvmlite's import included, the first time in a process)."""
        return {"blocks": self.blocks, "cached": self.cached, "seconds": self.seconds}

    def translate(self, pc: int, entries: int) -> int:
        """The block at pc was entered ``entries`` times: translate and install
        it (1), refuse it (0), or ask to be called after -r more entries (r < 0)."""
        t0 = time.perf_counter()
        try:
            return self._translate(pc, entries)
        finally:
            self.seconds += time.perf_counter() - t0

    def _translate(self, pc: int, entries: int) -> int:
        insns = self._decoded(pc)
        # Entries whose instructions cost what translating does (the block
        # taken up to its first branch or jump: an estimate, so that LLVM is
        # not loaded before some block is due).
        due = -(-self.hot // _weight(insns))
        if entries < due:
            return entries - due
        from rvai.emu import jit_llvm
        first = jit_llvm.block_ops(insns)
        if not first:
            return 0
        batch = {pc: first}
        todo = jit_llvm.successors(first)
        # The blocks it may go to ride along in the same module (a module's
        # fixed cost shared): found statically, not yet installed here, and
        # (unless every block is translated) warm: run interpreted for a
        # quarter of what makes one due.
        while todo and len(batch) < BATCH:
            nxt = todo.pop(0)
            if nxt in batch or nxt in self.installed:
                continue
            ops = jit_llvm.block_ops(self._decoded(nxt))
            if ops and (not self.hot or 4 * lib.rv_jit_entries(self.m, nxt) * _weight(ops) >= self.hot):
                batch[nxt] = ops
                todo += jit_llvm.successors(ops)
        # Code quality only where it pays: -O0 codegen (a quarter of -O1's
        # cost, code about half as fast) when blocks are translated unseen.
        engine, addrs, cached = jit_llvm.compile_blocks(list(batch.values()), (self.vlen, self._vtype()),
                                                        opt=1 if self.hot else 0, timed=self._tslots(batch.values()))
        self.cached += cached
        self.engines.add(engine)
        for (start, ops), addr in zip(batch.items(), addrs):
            if lib.rv_jit_install(self.m, start, addr, len(ops)) == 0:
                self.installed.add(start)
                self.blocks += 1
        return int(pc in self.installed)

    def _tslots(self, blocks):
        """None on a functional machine; else pc -> the fields of its timing
        slot (rv_jit_tslot) for the blocks' instructions derived as plain ops,
        and "model" -> the model's parameters the blocks take as constants
        (rv_jit_tparams)."""
        if not lib.rv_jit_timed(self.m):
            return None
        f = ffi.new("uint64_t[6]")
        out = {i.pc: tuple(f) for b in blocks for i in b if lib.rv_jit_tslot(self.m, i.pc, f)}
        lib.rv_jit_tparams(self.m, f)
        out["model"] = tuple(f[0:5])
        return out

    def _vtype(self) -> int:
        """The machine's vtype now: what its blocks' vector instructions are
        compiled for (each checks it where it runs)."""
        from rvai.emu.jit_llvm import VTYPE_OFF
        return int(ffi.cast("uint64_t *", self.m)[VTYPE_OFF // 8])

    def _decoded(self, pc: int) -> list:
        """The decoded instructions from pc on (at most MAX_INSNS, within one region), as copies."""
        n = lib.rv_jit_block(self.m, pc, self._insns, MAX_INSNS)
        return [ffi.new("rv_jit_insn *", self._insns[i])[0] for i in range(n)]


def _weight(insns) -> int:
    """What one pass of a block weighs toward RVAI_JIT_HOT: its instructions
    up to its first branch or jump, an inline vector integer op VEC_INT_WEIGHT each."""
    w = 0
    for d in insns:
        w += VEC_INT_WEIGHT if d.op in _VEC_INT else 1
        if lib.rv_op_class(d.op) in _CONTROL:
            break
    return max(w, 1)


@ffi.def_extern()
def rv_jit_translate_hook(handle, pc, entries):
    """Called by the C loop (csrc/jit.c) when a block turns hot; never raises
    into C: a translator error refuses the block and is kept on the translator."""
    tr = ffi.from_handle(handle)
    try:
        return tr.translate(pc, entries)
    except BaseException as e:   # noqa: BLE001 - C cannot take an exception
        errors.append(f"the block at 0x{pc:x}: {e!r}")
        if tr.error is None:
            tr.error = e
            print(f"rvai: translating the block at 0x{pc:x} failed: {e!r}", file=sys.stderr)
        return 0


#: Every translation that raised in this process (the test suite fails on one).
errors: list[str] = []
