"""The translating tier: hot basic blocks of scalar integer code become host
functions (rvai.emu.jit_llvm builds them through LLVM) that the C loop runs in
place of interpreting them; csrc/jit.h says how a block is entered, counted
and forgotten.  The interpreter stays the reference and runs everything the
translator leaves out; both tiers give identical results.

It is on by default (``Machine(tier="translate")``; ``tier="interpret"``
or ``RVAI_TIER=interpret`` turns it off) for the functional mode, and the
timed mode (unless ``RVAI_JIT_TIMED=0``) translates as well, its blocks charging each instruction to the model as
the timed loop does (a plain op's or a branch's step, and a scalar
access's L1 hit, in the block itself, on the model's state in locals; the
rest through the C step).  A block is translated once the interpreter
has run ``RVAI_JIT_HOT`` instructions of it (``DEFAULT_HOT``,
counted as entries times its length, a vector integer op it computes
inline as ``VEC_INT_WEIGHT``; by its own machine, or, functional, by the
machines of the process running the same code together: Translator._wait;
on a timed machine, whose blocks cost several times as much to compile,
at ``TIMED_DUE`` times that unless an earlier process left the block's
code in the object cache: Translator._hint):
LLVM takes tens of milliseconds per block,
as long as the interpreter takes for a few million scalar instructions, so
a block is translated only when it has already cost that much, and a short
program never pays for LLVM (llvmlite itself is imported at the first
translation).  A block whose code the process already holds (another
machine compiled it: the same key, jit_llvm.Engine's, so the same
instructions at the same pcs, vector state and timing slots) is installed
when first asked about, due or not, as there is no compile to repay
(Translator._held): each ops call makes a new machine, whose blocks would
otherwise be interpreted again until due.  ``RVAI_JIT_HOT=0`` (the test option ``--tier=translate``)
translates every block at its first entry, and the time that takes is kept
out of the run's wall-time limit (``timeout``; rv_defer_deadline): it is
the test option's cost, not the guest's (a timed kernel's hundreds of
blocks took 20-30 s to translate on a loaded host, against a kernel call's
60 s limit, rvai.runner.DEFAULT_TIMEOUT), and a run must not stop on a
limit its production tier would not reach.

With ``RVAI_JIT_ASYNC=1`` (or ``Translator(background=True)``) translation
runs off the guest's critical path (never when every block is translated
at its first entry, so that such runs stay reproducible, nor for a timed
machine, whose blocks read its timing slots when they are translated).  It pays only
with a core to spare: on this project's shared 2-core host, with another
job running, both threads ran at half speed and the loop nest took longer
than translated synchronously (docs/performance.md, the seventh step), so
it is off by default.  llvmlite is imported on a background thread
once some block has run a fraction (``1/IMPORT_AT``) of what makes it due,
and a due block is queued there with the warm blocks it may reach while the
C loop keeps interpreting (cffi calls into C, and llvmlite's ctypes calls
into LLVM, release the GIL).  The thread never touches the machine: what a
compile needs of it (the decoded instructions, the vtype) is read when the
block is queued, and the finished code is installed by the thread running
the guest, at a block boundary (csrc/jit.c's jit_hot asks the translator
whenever the thread has set the machine's post flag) or before the next run
(``Machine``), and only after the block's instructions, decoded again there,
are found to be the ones compiled: code rewritten while its translation was
pending is never run translated.  Everything the guest observes stays what
the interpreter gives; only when a block starts to run translated depends
on the host.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import weakref

from rvai._rvemu import ffi, lib
from rvai.emu.jit_ir import VINLINE, vlmax_of

# For type checkers only (they read a name TYPE_CHECKING set to False as typing's):
# the modules are imported where first needed, a background translation or a hint
# (~5 ms a process each), and typing itself costs a short `rvai run` ~2-3 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor
    from pathlib import Path

#: Instructions a block runs interpreted before it is translated, unless
#: RVAI_JIT_HOT says otherwise: about what translating it costs (assumed
#: ~30 ms at the interpreter's ~130-300 MIPS; see bench/emu_speed.py --short).
DEFAULT_HOT = 4_000_000
#: A timed machine's blocks are due at this many times RVAI_JIT_HOT unless
#: an earlier process left their object code in the cache (Translator._hint):
#: a timed block's compile costs 3-7x a functional one's (timed attention on
#: spacemit-x60: 0.14-0.50 s thread CPU against 0.05-0.08 s; the timed GEMM's
#: one block on xuantie-c930 0.21 s against 0.052 s), and at 1x a timed GEMM
#: call of ~10M instructions paid it for ~6M translated ones, 1.35-1.54x the
#: interpreted call in a fresh process; at 4x Qwen's prefill gave back a
#: fifth of its gain (bench/first_call.py; docs/performance.md, "(issue 15, fc67)").
TIMED_DUE = 3
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
_BRANCH = _CLASSES.index("BRANCH")
_CONTROL = {_BRANCH, _CLASSES.index("JUMP")}
_VEC_INT = {op for op in range(lib.rv_num_ops()) if ffi.string(lib.rv_op_name(op)).decode() in VINLINE}
#: The most instructions of a block (csrc/jit.h's JIT_MAX_INSNS).
MAX_INSNS = 64
#: The most blocks compiled together: a hot one and those it may reach.
BATCH = 32
#: The most blocks of the loops around a due block compiled with it (Translator._loop_around).
LOOP_BLOCKS = 8
#: The largest of those blocks that rides along, in compile cost (_cost): a
#: rider is compiled on no evidence of its own (a fall-through is not even
#: counted), so only a small one, whose code costs a few milliseconds in the
#: due block's module (the loop nest's outer blocks: 4 and 10 scalar ops).
#: Flash attention's are 21-49 ops with 6-21 vector ops each, ~20-45 ms of
#: codegen apiece, and run ~1/50 as often as the due block: they made each
#: batch 0.15-0.2 s dearer for no saving measured (docs/performance.md,
#: "(issue 15, cf69)").
RIDE_COST = 12
#: What a vector op weighs in a block's compile cost (_cost), a scalar op 1:
#: -O1 compiles of 103 single blocks of attention and GEMM (c930, x60) fit
#: ~11 ms a block, 0.54 ms a scalar op and 1.38 ms a vector op.
VEC_COST = 3
#: In the background: llvmlite's import starts once a block has run this
#: fraction (1/IMPORT_AT) of what makes it due, so that it is loaded when the
#: block is due, and a program whose loops never get near due never loads it.
IMPORT_AT = 8
#: What the hook answers for a block queued in the background: ask again
#: only after this many entries (never, in practice); the post flag brings the
#: translator back when its translation is ready.
_QUEUED = -(1 << 62)


class Translator:
    """The translating tier of one machine: rv_jit_translate_hook calls
    ``translate(pc)`` when the block at pc turns hot."""

    def __init__(self, m, hot: int | None = None, background: bool | None = None):
        self.m = m
        self.vlen = lib.rv_vlenb(m) * 8
        self.hot = int(os.environ.get("RVAI_JIT_HOT", DEFAULT_HOT)) if hot is None else hot
        if background is None:
            background = os.environ.get("RVAI_JIT_ASYNC") == "1"
        # Every block at its first entry (the tests' --tier=translate) stays synchronous: reproducible.
        self.background = bool(background) and self.hot > 0
        # The C machine's handle names a weak reference, not the translator:
        # a handle to self would be a cycle, and a dropped machine (its
        # guest memory, the engines its blocks are in) would wait for a
        # full collection, which a long process full of objects makes
        # rarely (docs/performance.md, the forced tier's memory).
        self.handle = ffi.new_handle(weakref.ref(self))
        self.error: BaseException | None = None   # the first exception a translation raised
        self.blocks = 0      # blocks installed
        self.cached = 0      # blocks of them loaded from the object cache (jit_llvm.Engine)
        self.held = 0        # blocks of them found compiled in the process's engine: nothing compiled for them
        self.seconds = 0.0   # wall time the guest's thread spent translating (queueing, installing)
        self.background_seconds = 0.0   # wall time of the background thread's work for this machine
        self.stale = 0       # background translations dropped at install: their code had been rewritten
        self._insns = ffi.new("rv_jit_insn[]", MAX_INSNS)
        self.engines = set()   # the engines holding the blocks installed here (kept alive with the machine)
        self.installed: set[int] = set()   # pcs of the blocks installed here (some may since be forgotten)
        self._post = ffi.new("int *")   # set by the background thread: work is ready (csrc/jit.c polls it)
        self._jobs: list[_Job] = []     # queued in the background, not yet installed
        self._queued: set[int] = set()  # pcs of the blocks in them
        self._waiting: list[int] = []   # due blocks held until llvmlite is loaded
        self._refused: set[int] = set() # due blocks whose translation failed: refused when next asked
        self._loads = False             # this machine started llvmlite's import: its time is counted here
        self._asked: dict[int, tuple] = {}   # block pc -> (its _hot_key, this machine's entries) at its last count
        self._hinted: dict[int, list] = {}   # timed block pc -> the pcs of the batch its hint names (_read_hint)
        if lib.rv_jit_enable(m, self.handle, ASK_EVERY if self.hot else 0):
            raise RuntimeError("the translating tier is already on for this machine")
        lib.rv_jit_set_timed(m, os.environ.get("RVAI_JIT_TIMED") != "0")
        if self.background:
            lib.rv_jit_set_post(m, self._post)

    def stats(self) -> dict:
        """What the tier did so far: ``blocks`` installed, ``cached`` (those
        of them loaded from the object cache, without passes or codegen:
        rvai.emu.jit_llvm.cache_dir), ``held`` (those of them whose code the
        process's engine held already, compiled for another machine or
        earlier for this one: installed at an ask before they were due,
        _held, or found by the compile of a due block's batch), ``seconds``
        the guest's thread spent
        translating (llvmlite's import included, the first time in a
        process, when translating synchronously), ``background_seconds``
        the background thread spent on this machine's blocks (the import
        included when this machine started it), ``pending`` blocks queued
        there and not yet installed, ``stale`` translations dropped because
        their code was rewritten while they were pending, ``vfp_calls`` the
        vector FP instructions translated blocks ran in C (jit_vfp) rather
        than inline (rvai.emu.jit_llvm's VFP_INLINE), ``ran`` the
        instructions translated blocks retired (the rest of instret the
        interpreter ran)."""
        counts = ffi.new("uint64_t[4]")
        lib.rv_jit_stats(self.m, counts)
        return {"blocks": self.blocks, "cached": self.cached, "held": self.held, "seconds": self.seconds,
                "background_seconds": self.background_seconds, "pending": len(self._queued) + len(self._waiting),
                "stale": self.stale, "vfp_calls": int(counts[2]), "ran": int(counts[3])}

    def translate(self, pc: int, entries: int) -> int:
        """The block at pc was entered ``entries`` times: translate and install
        it (1), refuse it (0), or ask to be called after -r more entries (r < 0)."""
        t0 = time.perf_counter()
        try:
            if not self.background or lib.rv_jit_timed(self.m):
                return self._translate(pc, entries)
            return self._background(pc, entries)
        finally:
            spent = time.perf_counter() - t0
            self.seconds += spent
            if not self.hot:   # every block at its first entry: not the guest's time (see the module's docstring)
                lib.rv_defer_deadline(self.m, int(spent * 1e9))

    def _hot(self, pc: int) -> int:
        """Instructions (_weight's) of the block at pc this machine runs
        interpreted before it is due: ``hot``; on a timed machine TIMED_DUE
        times that, unless the block's batch is in the object cache (its
        hint read at this machine's last ask about it: _wait)."""
        if lib.rv_jit_timed(self.m) and pc not in self._hinted:
            return self.hot * TIMED_DUE
        return self.hot

    def _due(self, pc: int, insns) -> int:
        """Entries of the block at pc (decoded instructions ``insns``) whose
        instructions cost what translating does (the block taken up to its
        first branch or jump: an estimate, so that LLVM is not loaded before
        some block is due; _hot)."""
        return _entries_for(self._hot(pc), insns)

    def _translate(self, pc: int, entries: int) -> int:
        insns = self._decoded(pc)
        wait = self._wait(pc, insns, entries)
        if wait:
            return 1 if self._held(pc, insns) else -wait
        from rvai.emu import jit_llvm
        batch = self._batch(pc, insns)
        if not batch:
            return 0
        # Code quality only where it pays: -O0 codegen (a quarter of -O1's
        # cost, code about half as fast) and sroa alone for passes
        # (jit_llvm.PASSES) when blocks are translated unseen.
        engine, addrs, cached, found = jit_llvm.compile_blocks(
            list(batch.values()), (self.vlen, self._vtype()), opt=1 if self.hot else 0,
            timed=self._tslots(batch.values()))
        self._install(batch, engine, addrs, cached, found)
        if self.hot and lib.rv_jit_timed(self.m):
            self._leave_hint(pc, insns, batch)
        return int(pc in self.installed)

    def _hint(self, pc: int, insns) -> Path | None:
        """The file where a timed machine's due block at pc (instructions
        ``insns``, decoded just now) finds the pcs of the batch an earlier
        process compiled for it, so into the object cache; None with the
        cache off.  Named by what decides the module's code besides its
        blocks' instructions: the block's code (_hot_key), the timing
        model's parameters and the vtype."""
        from rvai import diskcache
        folder = diskcache.translated()   # (jit_llvm.cache_dir's, without loading llvmlite)
        if folder is None:
            return None
        f = ffi.new("uint64_t[]", lib.RV_JIT_TSLOT_WORDS)
        lib.rv_jit_tparams(self.m, f)
        k = hash((_hot_key(insns, self.vlen), tuple(f[0:5]), self._vtype())) & (1 << 64) - 1
        return folder / "due" / f"{k:016x}"

    def _read_hint(self, pc: int, insns) -> None:
        """Note in ``_hinted`` the batch an earlier process compiled for the
        timed block at pc, if its hint is there (_hint): compiled again in
        that order, the module is the one cached, loaded without LLVM's
        passes or codegen, so the block is due at ``hot``, not TIMED_DUE
        times it."""
        from rvai import diskcache
        path = self._hint(pc, insns)
        try:
            pcs = [int(p, 16) for p in path.read_text().split()] if path else []
        except (OSError, ValueError):   # none, or unreadable: compiled at the timed due
            pcs = []
        if pcs and pcs[0] == pc:
            self._hinted[pc] = pcs
            diskcache.used(path)
        else:
            self._hinted.pop(pc, None)

    def _leave_hint(self, pc: int, insns, batch: dict) -> None:
        """After a timed compile of ``batch`` for the due block at pc: its pcs
        in the block's hint (_hint), for later processes (_read_hint)."""
        from rvai import diskcache
        path = self._hint(pc, insns)
        if path is None or self._hinted.get(pc) == list(batch):
            return
        text = " ".join(f"{start:x}" for start in batch)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            diskcache.write_whole(path, text)
        except OSError:   # a read-only or full disk: later processes wait for the timed due
            return
        diskcache.stored(len(text))

    def _wait(self, pc: int, insns, entries: int) -> int:
        """Entries of the block at pc (instructions ``insns``, decoded just
        now; this machine's ``entries`` of it so far) before it is due: 0
        once this machine ran its due (``_due``), or, on a functional
        machine, once the process did (``_counted``: every machine's
        entries of the same code).  A timed machine's due is TIMED_DUE
        times a functional one's, or the same when the block's hint says
        its batch is in the object cache (_read_hint, at the functional
        due, so that a short run never reads it).  It counts its own only: a
        timed block's compile costs 3-4x a functional one's (timed
        attention on spacemit-x60: 0.14-0.50 s thread CPU against
        0.05-0.08 s, object cache off) for a saving that, counted across
        30 calls, did not repay it (callgrind, +2.4 % host instructions
        with the process's count at 4x the due; docs/performance.md,
        "(issue 15, hot53)")."""
        if lib.rv_jit_timed(self.m):
            first = _entries_for(self.hot, insns)   # due with a hint: read it only then (a short run never does)
            if entries < first:
                return first - entries
            if self.hot:
                self._read_hint(pc, insns)
            return max(self._due(pc, insns) - entries, 0)
        due = self._due(pc, insns)
        return max(min(due - entries, due - self._counted(pc, insns, entries)), 0)

    def _counted(self, pc: int, insns, entries: int) -> int:
        """Entries of the block at pc (instructions ``insns``, decoded just
        now) in the whole process: this machine's ``entries`` since its last
        ask about pc added to what every machine ran of the same code
        (_ran, under _hot_key).  Each ops call
        makes a new machine, so counted per machine, a block run 4M
        instructions' worth only across calls was never due."""
        k = _hot_key(insns, self.vlen)
        _, last = self._asked.get(pc, (k, 0))
        self._asked[pc] = k, entries
        return _count(k, entries - last if entries >= last else entries)   # (fewer: the C side's count restarted)

    def tally(self) -> None:
        """After a run: add to the process's counts (_ran) the entries of
        each block asked about here since its last ask.  The C loop asks
        again only once a block is due, so without this a machine's entries
        past its first ask (240) were lost with it, and a kernel whose
        calls each run a block a few thousand times never made it due.

        What the counts leave out, each only moving *when* a block is
        compiled, never what runs: entries are counted under the key of
        the block's last ask (code rewritten at that pc since then is
        counted as the old code: decoding every asked block again after
        each run would cost more than the ask it serves); a block a
        machine enters fewer than ASK_EVERY times is never asked about, so
        its entries stay in the C slot counter and are not counted (a
        kernel spreading its time over many such blocks, per machine,
        never becomes due by the process's count; finding them would mean
        a walk of the decode cache); a machine switched to timed mode
        after an ask tallies its timed runs' entries too; a forked child
        starts from its parent's counts."""
        for pc, (k, last) in self._asked.items():
            entries = lib.rv_jit_entries(self.m, pc)
            if entries > last and pc not in self.installed:
                self._asked[pc] = k, entries
                _count(k, entries - last)

    def _warmth(self, pc: int, insns) -> int:
        """Entries of the block at pc (instructions ``insns``) toward its
        due, without counting them (_batch's warm successors): this
        machine's, or on a functional machine the process's (what _counted
        had of it and this machine's entries since its last ask) when more,
        as _wait counts them."""
        entries = lib.rv_jit_entries(self.m, pc)
        if lib.rv_jit_timed(self.m):
            return entries
        last = self._asked.get(pc, (None, 0))[1]
        return max(entries, _ran.get(_hot_key(insns, self.vlen), 0) + max(entries - last, 0))

    def _held(self, pc: int, insns) -> bool:
        """Install the block at pc (its instructions ``insns``, decoded just
        now) if the process's engine already holds its code: the same key,
        so the same instructions at the same pcs, vector state and timing
        slots (another machine of the process translated it).  A translation
        waits until a block is due only so that LLVM's cost is repaid; here
        there is none, so the block runs translated from its first ask.
        Code rewritten since that compile has another key and is not found.
        False when not held (nothing compiled, llvmlite not loaded here)."""
        engine = _engine()
        if engine is None or pc not in engine.starts:
            return False
        from rvai.emu import jit_llvm
        ops = jit_llvm.block_ops(insns)
        addrs = engine.held([ops], (self.vlen, self._vtype()), self._tslots([ops])) if ops else None
        if addrs is None:
            return False
        before = self.blocks
        self._install({pc: ops}, engine, addrs, 0, 1)
        return self.blocks > before

    def _batch(self, pc: int, insns) -> dict:
        """The blocks to compile for the due block at pc (decoded
        instructions ``insns``): start pc -> its instructions, pc's first;
        empty when pc's block holds nothing the translator emits."""
        from rvai.emu import jit_llvm
        first = jit_llvm.block_ops(insns)
        if not first:
            return {}
        if pc in self._hinted:   # the batch an earlier process compiled, in its order (_read_hint)
            return {start: ops for start in self._hinted[pc]
                    if start not in self.installed and (ops := first if start == pc else
                                                        jit_llvm.block_ops(self._decoded(start)))}
        batch = {pc: first}
        if not self.hot:
            # Every block is translated at its first entry (the tests'
            # --tier=translate): a block riding along might never run, and
            # one that does run is translated when it is entered.  (All
            # the static successors rode along before: a timed attention
            # kernel compiled 612-854 blocks, of which 281-346 ran, and
            # LLVM's time was 2.5x what they need.)
            return batch
        todo = jit_llvm.successors(first)
        # The blocks it may go to ride along in the same module (a module's
        # fixed cost shared): found statically, not yet installed here or
        # queued, and warm: run interpreted for a quarter of what makes one due.
        while todo and len(batch) < BATCH:
            nxt = todo.pop(0)
            if nxt in batch or nxt in self.installed or nxt in self._queued:
                continue
            insns = self._decoded(nxt)
            ops = jit_llvm.block_ops(insns)
            if ops and 4 * self._warmth(nxt, insns) * _weight(ops) >= self._hot(pc):
                batch[nxt] = ops
                todo += jit_llvm.successors(ops)
        for start, ops in self._loop_around(pc, first).items():
            if len(batch) < BATCH:
                batch.setdefault(start, ops)
        return batch

    def _loop_around(self, pc: int, first) -> dict:
        """The blocks of the loops around the hot block at pc (instructions
        ``first``): blocks on a static path from pc back to pc, each entered
        at least ASK_EVERY times or a branch's fall-through, each costing
        at most RIDE_COST to compile (_cost), at most LOOP_BLOCKS.  They run
        once each time the loop at pc is left and entered again, far less
        often than it, so they are not due with it;
        but once it runs translated they are what is left to interpret, and
        each return to the interpreter costs a dispatch: compiled with it,
        they chain to it (the loop nest's outer loops ran 1.7x slower
        interpreted than translated, and were due ~60 ms later, with a
        module of their own)."""
        from rvai.emu import jit_llvm
        found, succ, todo = {pc: first}, {}, [pc]
        while todo and len(found) <= 2 * LOOP_BLOCKS:
            start = todo.pop()
            succ[start] = jit_llvm.successors(found[start])
            last = found[start][-1]
            fall = last.pc + last.len if lib.rv_op_class(last.op) == _BRANCH else None
            for nxt in succ[start]:
                # (a branch's fall-through is not counted while interpreted: only taken branches and jumps are)
                if nxt in found or nxt in self.installed or nxt in self._queued or \
                        nxt != fall and not lib.rv_jit_entries(self.m, nxt):
                    continue
                ops = jit_llvm.block_ops(self._decoded(nxt))
                if ops:
                    found[nxt] = ops
                    todo.append(nxt)
        back, grew = {pc}, True   # the blocks from which pc is reached
        while grew:
            grew = False
            for start, nexts in succ.items():
                if start not in back and back.intersection(nexts):
                    back.add(start)
                    grew = True
        loop = [start for start in found if start in back and start != pc and _cost(found[start]) <= RIDE_COST]
        return {start: found[start] for start in loop[:LOOP_BLOCKS]}

    def _install(self, batch: dict, engine, addrs, cached: int, found: int) -> None:
        """Install the blocks of ``batch`` compiled into ``engine`` at
        ``addrs``, ``cached`` of them loaded from the object cache and
        ``found`` held by the engine already (jit_llvm.compile_blocks)."""
        self.cached += cached
        self.held += found
        self.engines.add(engine)
        for (start, ops), addr in zip(batch.items(), addrs):
            if lib.rv_jit_install(self.m, start, addr, len(ops)) == 0:
                self.installed.add(start)
                self.blocks += 1

    # ---- in the background (self.background) ------------------------------
    def _background(self, pc: int, entries: int) -> int:
        """translate() off the critical path: install what the background
        thread finished; queue pc's block there once it is due (llvmlite's
        import first, once it is near due), answering "ask again" (r < 0)."""
        if pc in self.install_ready():
            return 1
        if pc in self._queued or pc in self._waiting:
            return _QUEUED
        if pc in self._refused:   # its translation failed in the background
            self._refused.discard(pc)
            return 0
        insns = self._decoded(pc)
        wait = self._wait(pc, insns, entries)
        if wait and self._held(pc, insns):
            return 1
        loading = _llvm_load()
        if wait:
            due = self._due(pc, insns)
            early = due - -(-due // IMPORT_AT)   # the entries from near due (llvmlite's import started) to due
            if loading is None and wait > early:
                return early - wait
            if loading is None:
                self._start_llvm_load()
            return -wait
        if loading is None or not loading.done():
            if loading is None:
                self._start_llvm_load()
            self._waiting.append(pc)
            return _QUEUED
        return _QUEUED if self._queue(pc, insns) else 0

    def _start_llvm_load(self) -> None:
        """Import llvmlite (rvai.emu.jit_llvm) on the background thread; the
        post flag is set when it is loaded, and the blocks due meanwhile are
        then queued (install_ready)."""
        self._loads = _llvm_load() is None
        _llvm_load(start=True).add_done_callback(_poster(self._post))

    def _queue(self, pc: int, insns) -> bool:
        """Queue the due block at pc and the warm blocks it may reach for the
        background thread (llvmlite is loaded); False when pc's block holds
        nothing the translator emits."""
        batch = self._batch(pc, insns)
        if not batch:
            return False
        job = _Job(pc, batch, _executor().submit(_compile, batch, (self.vlen, self._vtype())))
        job.future.add_done_callback(_poster(self._post))
        self._jobs.append(job)
        self._queued.update(batch)
        return True

    def install_ready(self) -> set[int]:
        """On the thread running the guest, with the guest stopped at a block
        boundary or between runs: install the blocks the background thread
        finished (those whose instructions are still the ones compiled) and
        queue the blocks that were waiting for llvmlite; the pcs installed."""
        if not self._post[0]:
            return set()
        self._post[0] = 0   # cleared before looking: work finished after this sets it again
        done = set()
        loading = _llvm_load()
        if self._loads and loading.done():
            self._loads = False
            if loading.exception() is None:
                self.background_seconds += loading.result()
        if self._waiting and loading is not None and loading.done():
            waiting, self._waiting = self._waiting, []
            if loading.exception() is not None:
                self._failed(waiting, loading.exception())
            else:
                for pc in waiting:
                    self._queue(pc, self._decoded(pc))
        for job in [j for j in self._jobs if j.future.done()]:
            self._jobs.remove(job)
            self._queued.difference_update(job.batch)
            try:
                engine, addrs, cached, found, seconds = job.future.result()
            except BaseException as e:   # noqa: BLE001 - a failed translation leaves its blocks interpreted
                self._failed([job.pc], e)
                continue
            self.background_seconds += seconds
            if lib.rv_jit_timed(self.m):   # the machine turned timed: these blocks do not call the model
                continue
            fresh = {start: ops for start, ops in job.batch.items() if self._unchanged(start, ops)}
            if job.pc not in fresh:
                self.stale += 1
                if job.pc not in self._queued:   # translate the code there now
                    self._queue(job.pc, self._decoded(job.pc))
            keep = [start in fresh for start in job.batch]
            self._install(fresh, engine, [a for a, k in zip(addrs, keep) if k], cached, found)
            done.update(start for start in fresh if start in self.installed)
        return done

    def _unchanged(self, pc: int, ops) -> bool:
        """Whether the instructions at pc are still ``ops`` (decoded again:
        the code may have been rewritten, or unmapped and mapped again,
        since they were compiled)."""
        from rvai.emu.jit_llvm import key
        now = self._decoded(pc)[:len(ops)]
        return len(now) == len(ops) and key(now) == key(ops)

    def _failed(self, pcs: list[int], e: BaseException) -> None:
        """A background translation raised: the due blocks at ``pcs`` are
        refused when next asked about (they stay interpreted); the error is
        kept as the hook keeps one."""
        _record(self, pcs[0], e)
        self._refused.update(pcs)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the background thread has finished this machine's
        queued work (it is installed at the next block boundary or run);
        False when ``timeout`` seconds passed first."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            futures = [j.future for j in self._jobs]
            loading = _llvm_load()
            if self._waiting and loading is not None:
                futures.append(loading)
            pending = [f for f in futures if not f.done()]
            if not pending:
                return True
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                return False
            try:
                pending[0].result(left)
            except BaseException:   # noqa: BLE001 - reported when installed
                pass
            if self._waiting and loading is not None and loading.done():
                self._post[0] = 1
                self.install_ready()   # queues the blocks that waited for llvmlite

    def _tslots(self, blocks):
        """None on a functional machine; else for each block, pc -> the fields
        of its timing slot (rv_jit_tslot) for its instructions derived as
        plain ops, prefetches or vector ops, and "model" -> the model's
        parameters the blocks take as constants (rv_jit_tparams).  A vector
        op's plan is made for the vtype and vl expected where it runs: the
        machine's vtype now (a block is translated when it is entered) with
        its VLMAX, until a vset{i}vl{i} of the block sets others.  (Made for
        the machine's vtype throughout, a block holding the kernel's first
        vsetvli got plans for vill, and one switching vtype plans for the
        vtype before the switch: never the one its vector ops run under, so
        they all took the C step.  Made for the machine's vl, a block
        translated while a strip-mined loop ran its tail got plans for that
        tail's vl, which its full strips, and the other rows' tails, then
        failed: c930 attention's hot block, docs/performance.md's "(issue
        15, vl61)".)"""
        if not lib.rv_jit_timed(self.m):
            return None
        f = ffi.new("uint64_t[]", lib.RV_JIT_TSLOT_WORDS)   # rv_jit_tslot: 6 + TM_PLAN_WORDS at most
        lib.rv_jit_tparams(self.m, f)
        model = tuple(f[0:5])
        vtype, vl = self._vstate()
        entry = (vtype, vlmax_of(vtype, self.vlen) or vl)
        out = []
        for b in blocks:
            vstate = ffi.new("uint64_t[2]", entry)
            out.append({i.pc: tuple(f[0:n]) for i in b if (n := lib.rv_jit_tslot(self.m, i.pc, vstate, f))})
            out[-1]["model"] = model
        return out

    def _vtype(self) -> int:
        """The machine's vtype now: what its blocks' vector instructions are
        compiled for (each checks it where it runs)."""
        return self._vstate()[0]

    def _vstate(self) -> tuple[int, int]:
        """The machine's vtype and vl now."""
        from rvai.emu.jit_llvm import VL_OFF, VTYPE_OFF
        fields = ffi.cast("uint64_t *", self.m)
        return int(fields[VTYPE_OFF // 8]), int(fields[VL_OFF // 8])

    def _decoded(self, pc: int) -> list:
        """The decoded instructions from pc on, up to and with the first branch
        or jump (at most MAX_INSNS, within one region), as copies."""
        n = lib.rv_jit_block(self.m, pc, self._insns, MAX_INSNS)
        return [ffi.new("rv_jit_insn *", self._insns[i])[0] for i in range(n)]


def _engine():
    """The process's engine of -O1 code (jit_llvm.engine) when it holds
    compiled blocks, else None; llvmlite is not loaded for this (before
    the first translation, or while the background thread imports it, no
    engine)."""
    jit_llvm = sys.modules.get("rvai.emu.jit_llvm")
    engine = jit_llvm.engine(1) if hasattr(jit_llvm, "engine") else None
    return engine if engine is not None and engine.blocks else None


#: The most blocks whose entries the process counts (_ran): its memory bound
#: (an entry is a few hundred bytes: _hot_key keeps a hash of the code, not
#: the code); past it the least recently counted is dropped, and that block
#: counts again from its next ask.
HOT_KEYS = 1 << 14
#: Block key (_hot_key) -> its entries counted in every machine of the process
#: (Translator._counted, Translator.tally), machines running in several
#: threads too (_count's lock).
_ran: dict[tuple, int] = {}
#: _count's read, add and eviction as one step: machines may run in several
#: threads (the GIL switches between bytecodes, so without it a count could be
#: lost, or the eviction find the table changed under its iterator and raise).
_ran_lock = threading.Lock()


def _count(k: tuple, entries: int) -> int:
    """Add ``entries`` to the process's count of block key ``k`` (_ran);
    the count."""
    with _ran_lock:
        run = _ran.pop(k, 0) + entries
        _ran[k] = run   # re-entered last: the table drops the least recently counted first
        if len(_ran) > HOT_KEYS:
            del _ran[next(iter(_ran))]
        return run


def _hot_key(insns, vlen: int) -> tuple:
    """What makes two functional machines' blocks the same code for
    counting their entries: the block's first pc and a hash of its
    instructions up to the first branch or jump (decoded just now, so code
    rewritten in between is another block) with their pcs, and the VLEN.
    Coarser than jit_llvm.Engine's key (no vtype, no timing slots), and two
    blocks' hashes may meet: it decides only when a block is compiled, and
    compiling makes that key from the machine asking."""
    code = tuple((d.pc, d.slot[0], d.slot[1]) for d in _one_pass(insns))
    return insns[0].pc if insns else None, hash((vlen, *code))


def _weight(insns) -> int:
    """What one pass of a block weighs toward RVAI_JIT_HOT: its instructions
    up to its first branch or jump, an inline vector integer op VEC_INT_WEIGHT each."""
    return max(sum(VEC_INT_WEIGHT if d.op in _VEC_INT else 1 for d in _one_pass(insns)), 1)


def _entries_for(instructions: int, insns) -> int:
    """Entries of a block (decoded instructions ``insns``) in which it runs
    ``instructions`` (_weight's), rounded up."""
    return -(-instructions // _weight(insns))


def _cost(ops) -> int:
    """What compiling a block (``ops``, jit_llvm.block_ops' prefix) is
    estimated to cost, in scalar ops' worth: its ops, a vector op VEC_COST."""
    from rvai.emu.jit_llvm import VEC
    return sum(VEC_COST if d.op in VEC else 1 for d in ops)


def _one_pass(insns) -> list:
    """The instructions one pass through a block runs: ``insns`` (decoded)
    up to and with the first branch or jump; a block's later instructions
    run only when that branch falls through."""
    for n, d in enumerate(insns):
        if lib.rv_op_class(d.op) in _CONTROL:
            return insns[:n + 1]
    return insns


@ffi.def_extern()
def rv_jit_translate_hook(handle, pc, entries):
    """Called by the C loop (csrc/jit.c) when a block turns hot; never raises
    into C: a translator error refuses the block and is kept on the translator."""
    tr = ffi.from_handle(handle)()
    if tr is None:   # the translator is gone (its machine is): the block stays interpreted
        return 0
    try:
        return tr.translate(pc, entries)
    except BaseException as e:   # noqa: BLE001 - C cannot take an exception
        _record(tr, pc, e)
        return 0


def _record(tr: Translator, pc: int, e: BaseException) -> None:
    """Keep the error of translating the block at pc (errors, tr.error) and say it once per machine."""
    errors.append(f"the block at 0x{pc:x}: {e!r}")
    if tr.error is None:
        tr.error = e
        print(f"rvai: translating the block at 0x{pc:x} failed: {e!r}", file=sys.stderr)


class _Job:
    """Blocks queued for the background thread: the due block's pc, the
    batch (start pc -> decoded instructions) and the compile's future."""

    def __init__(self, pc: int, batch: dict, future: Future):
        self.pc, self.batch, self.future = pc, batch, future


_pool: ThreadPoolExecutor | None = None
_loading: Future | None = None
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    """In a forked child: the parent's worker thread (and a lock it may have
    held) did not come along; the child makes its own when it needs one."""
    global _pool, _loading, _pool_lock
    _pool, _loading, _pool_lock = None, None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _executor() -> ThreadPoolExecutor:
    """The process's background translator: one thread (LLVM's compiles are
    serialised anyway), made at first use; at exit Python waits for the work
    queued there (an import or a compile: tens of milliseconds) and ends it."""
    global _pool
    from concurrent.futures import ThreadPoolExecutor
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(1, thread_name_prefix="rvai-translate")
        return _pool


def _llvm_load(start: bool = False) -> Future | None:
    """The future of llvmlite's import on the background thread (its result:
    the seconds it took), started when ``start``; None when it was not
    started.  Once it is done, rvai.emu.jit_llvm imports without waiting."""
    global _loading
    if _loading is None and start:
        future = _executor().submit(_import_llvm)
        with _pool_lock:
            _loading = _loading or future
    return _loading


def _import_llvm() -> float:
    t0 = time.perf_counter()
    from rvai.emu import jit_llvm  # noqa: F401 - loads llvmlite and LLVM
    return time.perf_counter() - t0


def _compile(batch: dict, vstate) -> tuple:
    """On the background thread: compile ``batch`` (jit_llvm.compile_blocks
    at -O1): (engine, addresses, blocks found in the object cache, blocks
    the engine held already, seconds)."""
    t0 = time.perf_counter()
    from rvai.emu import jit_llvm
    return *jit_llvm.compile_blocks(list(batch.values()), vstate, opt=1), time.perf_counter() - t0


def _poster(post):
    """A future's done callback that sets the post flag ``post`` (an ``int *``
    the C loop polls): the guest's thread then installs what is ready."""
    def done(_future):
        post[0] = 1
    return done


#: Every translation that raised in this process (the test suite fails on one).
errors: list[str] = []
