"""rvai.emu.jit_ir, the translating tier's IR text emitter: its constants against
two's complement arithmetic, its phis' spelling against what LLVM parses and runs."""
import ctypes

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


def _run(text, name, *args):
    """Compile the function ``name`` of IR ``text`` (returning i64 from i64
    arguments) with LLVM and call it."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    mod = llvm.parse_assembly(f'target triple = "{llvm.get_process_triple()}"\n{text}')
    mod.verify()
    tm = llvm.Target.from_default_triple().create_target_machine()
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
