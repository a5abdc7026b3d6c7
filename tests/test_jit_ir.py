"""rvai.emu.jit_ir, the translating tier's IR text emitter: its constants against
two's complement arithmetic, its phis' spelling and its globals' addresses against
what LLVM parses and runs, and the fast instruction selector against the calls of a
forced tier's blocks."""
import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rvai.emu import jit_ir
from rvai.emu.jit_ir import I8, I16, I32, I64, I128, Builder, Function, const

llvm = pytest.importorskip("llvmlite.binding")


@given(ty=st.sampled_from([I8, I16, I32, I64, I128]), v=st.integers(-2**130, 2**130), other=st.integers(-300, 300))
def test_constants_are_spelled_signed_modulo_their_width_each_type_its_own(ty, v, other):
    """const(ty, v) spells v mod 2**bits as a signed number, also when it
    is made again (kept: CONSTS_HELD) and after constants of other types
    and values were made."""
    bits = int(ty[1:])
    want = (v + 2**(bits - 1)) % 2**bits - 2**(bits - 1)
    first = const(ty, v)
    for t in (I8, I16, I32, I64, I128):
        const(t, other)
        const(t, v)
    again = const(ty, v)
    assert (first.type, first.name) == (again.type, again.name) == (ty, str(want))


def test_constants_kept_are_bounded(monkeypatch):
    """Past CONSTS_HELD constants the kept ones are dropped, and constants
    are still spelled right."""
    monkeypatch.setattr(jit_ir, "CONSTS_HELD", 8)
    monkeypatch.setattr(jit_ir, "_consts", {})
    for v in range(100):
        assert const(I64, -v).name == str(-v)
        assert len(jit_ir._consts) <= 8


def _run(text, name, *args, opt=2):
    """Compile the function ``name`` of IR ``text`` (returning i64 from i64
    arguments) with LLVM (MCJIT, codegen at -O``opt``) and call it."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    mod = llvm.parse_assembly(f'target triple = "{llvm.get_process_triple()}"\n{text}')
    mod.verify()
    tm = llvm.Target.from_default_triple().create_target_machine(opt=opt, jit=True)
    engine = llvm.create_mcjit_compiler(mod, tm)
    engine.finalize_object()
    fn = ctypes.CFUNCTYPE(ctypes.c_int64, *[ctypes.c_int64] * len(args))(engine.get_function_address(name))
    return fn(*args)


@given(x=st.integers(-2**63, 2**63 - 1), y=st.integers(-2**63, 2**63 - 1))
def test_phis_are_spelled_with_incomings_added_after_their_block(x, y):
    """A phi's incoming values may be added after later blocks are built
    (as a block's exits are), and a block whose lines were dropped (as
    _Block.build drops an unused exit's) leaves no phi line behind: LLVM
    parses the text and the function computes max(x, y) + 1 (x, y signed)."""
    fn = Function("f", I64, [I64, I64])
    b = Builder(fn)
    entry, big, small, join, dead = (fn.append_basic_block(n) for n in ("entry", "big", "small", "join", "dead"))
    b.position_at_end(join)
    p = b.phi(I64)
    b.ret(b.add(p, const(I64, 1)))
    b.position_at_end(dead)
    b.phi(I64)
    dead.lines.clear()
    b.unreachable()
    b.position_at_end(entry)
    xv, yv = fn.args
    b.cbranch(b.icmp_signed(">", xv, yv), big, small)
    for blk, v in ((big, xv), (small, yv)):
        b.position_at_end(blk)
        p.add_incoming(v, blk)
        b.branch(join)
    text = fn.text()
    assert text.count(" = phi ") == 1
    assert _run(text, "f", x, y) == (max(x, y) + 1 + 2**63) % 2**64 - 2**63


#: The C function the globals' test calls, bound by name as jit_llvm binds HELPERS
_TWICE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(lambda v: 2 * v + 1)


@given(x=st.integers(-2**63, 2**63 - 1), table=st.lists(st.integers(-2**63, 2**63 - 1), min_size=4, max_size=4),
       opt=st.sampled_from([0, 1, 2]))
def test_globals_are_addressed_once_from_the_top_of_the_entry(x, table, opt):
    """A function's calls of a C function and its geps of a constant table
    in any block use one address of each global, taken at the top of the
    entry block (Function.address: the fast instruction selector of -O0,
    under MCJIT's large code model, takes no global); LLVM parses it and
    computes, at each codegen level, what Python does:
    twice(x) + twice(table[x & 3]) + table[1] (64-bit wrapping)."""
    llvm.add_symbol("rvai_test_twice", ctypes.cast(_TWICE, ctypes.c_void_p).value)
    words = ", ".join(f"i64 {const(I64, v)}" for v in table)
    fn = Function("g", I64, [I64])
    b = Builder(fn)
    entry, other = fn.append_basic_block("entry"), fn.append_basic_block("other")
    b.position_at_end(entry)
    (xv,) = fn.args
    tab = jit_ir.Value(jit_ir.PTR, "@tab")
    picked = b.load(I64, b.gep(tab, b.shl(b.and_(xv, const(I64, 3)), const(I64, 3))))
    first = b.call("@rvai_test_twice", I64, [xv])
    b.branch(other)
    b.position_at_end(other)
    second = b.call("@rvai_test_twice", I64, [picked])
    b.ret(b.add(b.add(first, second), b.load(I64, b.gep(tab, const(I64, 8)))))
    text = fn.text()
    head = entry.lines[:2]
    assert sorted(head) == ["%g0 = getelementptr i8, ptr @tab, i64 0",
                            "%g1 = getelementptr i8, ptr @rvai_test_twice, i64 0"]
    assert text.count("@tab") == text.count("@rvai_test_twice") == 1
    module = f"@tab = private constant [4 x i64] [{words}]\ndeclare i64 @rvai_test_twice(i64)\n{text}"
    twice = lambda v: (2 * v + 1 + 2**63) % 2**64 - 2**63   # noqa: E731
    want = (twice(x) + twice(table[x & 3]) + table[1] + 2**63) % 2**64 - 2**63
    assert _run(module, "g", x, opt=opt) == want


#: Run in a fresh process (LLVM's options are the process's, for good): the
#: forced tier compiles a timed loop with a load and a store (the timing
#: model's steps and memory hook, the slow paths) and a vector loop whose
#: ops call jit_vec, and LLVM reports each instruction its fast selector
#: left to SelectionDAG.
_FALLBACKS = """
from llvmlite import binding as llvm
llvm.set_option("", "-fast-isel-report-on-fallback")
llvm.set_option("", "-pass-remarks-missed=sdagisel")
from test_translate import LOOP, Machine, run
run(LOOP, "translate", 10**6, bytes(64), machine=Machine(vlen=128, tier="translate", timed=True))
VEC = ["vsetvli t1, zero, e32, m1, ta, ma", "vredsum.vs v8, v8, v16", "vmin.vv v9, v9, v10",
       "addi a1, a1, -1", "bnez a1, -12", "ebreak"]
run(VEC, "translate", 10**6, bytes(64), machine=Machine(vlen=128, tier="translate", timed=True))
"""


def test_the_forced_tier_selects_every_helper_call_fast(tmp_path):
    """At -O0 (the forced tier) no call of a block to a C helper falls back
    to SelectionDAG, which costs several times the fast selector (a block's
    codegen: docs/performance.md, "(issue 15, tc59)"); only the tail calls
    at its exits do (the fast selector takes none) and each function's entry
    (where the globals' addresses are taken).  Before tc59 every call did."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent), RVAI_JIT_HOT="0", RVAI_JIT_CACHE="0")
    err = subprocess.run([sys.executable, "-c", _FALLBACKS], env=env, check=True, capture_output=True,
                         text=True, cwd=tmp_path).stderr
    missed = [line for line in err.splitlines() if "FastISel missed" in line]
    calls = [line for line in missed if "FastISel missed call" in line]
    entries = [line for line in missed if "= getelementptr i8, ptr @" in line]
    assert len(entries) >= 3, err   # the blocks were compiled at -O0, each its entry's globals first
    assert calls and all("tail call " in line for line in calls), [c for c in calls if "tail call " not in c]
