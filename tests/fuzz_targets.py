"""Fuzz targets for the Machine API and the ELF loader, run by test_api_fuzz.py
in a child process (``python tests/fuzz_targets.py api|elf EXAMPLES``) so that
a segfault fails the test instead of killing pytest.

The oracle is the API's contract: every call either works or raises one of
the documented exceptions (TypeError/ValueError/KeyError for bad arguments,
MemoryError for memory, an EmulatorError for a guest stop, ElfError for any
ELF the loader refuses), and never crashes or hangs the host.
"""
import os
import struct
import sys

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import CODE, load_program  # noqa: E402
from rvai.emu import EmulatorError, Machine  # noqa: E402
from rvai.emu.elf import ElfError  # noqa: E402
from rvai.emu.machine import ARENA_BASE, STACK_TOP  # noqa: E402
from tiny_elf import executable  # noqa: E402

ARG_ERRORS = (TypeError, ValueError, KeyError, MemoryError, OverflowError)
ALLOWED = ARG_ERRORS + (EmulatorError,)

ODD = st.sampled_from([None, "x", b"\0" * 8, 1.5, float("nan"), object(), [1], True, np.int64(3),
                       np.float32(2.5), np.bool_(True)])
ADDRESSES = st.one_of(st.sampled_from([0, 0x10, CODE, CODE + 1, CODE + 4094, ARENA_BASE, STACK_TOP - 8,
                                       STACK_TOP, 2**47, 2**56 - 4096, 2**63, 2**64 - 8, 2**64, -1,
                                       -4096]),
                      st.integers(-2**65, 2**65), ODD)
SIZES = st.one_of(st.sampled_from([0, 1, 2, 8, 4095, 4096, 1 << 20, 1 << 40, 2**63, 2**64, -1]),
                  st.integers(-10, 1 << 16), ODD)
WORDS = st.one_of(st.integers(-2**65, 2**65), ODD)
DTYPES = st.sampled_from([np.uint8, np.float32, ">i4", np.bool_, np.complex64, object, "U3", "S2",
                          "M8[s]", [("a", "i4")], "not-a-dtype", 3.5])
PERMS = st.one_of(st.sampled_from(["", "r", "rw", "rx", "rwx", "q", "xr", 5]), st.text(max_size=4))
SHAPES = st.one_of(SIZES, st.tuples(SIZES, SIZES), st.just(None))
DATA = st.one_of(st.binary(max_size=64), ODD,
                 st.builds(lambda n, t: np.arange(n).astype(t), st.integers(0, 16),
                           st.sampled_from([np.uint8, np.float64, ">u2", object, "U2"])))
ARGS = st.lists(st.one_of(WORDS, st.floats(), ODD), max_size=12)
RETS = st.sampled_from([None, "i64", "u64", "i32", "f64", "f32", "f16", "f128", 3])
BUDGETS = st.one_of(st.none(), st.integers(-2, 5000), ODD)

OPS = st.one_of(
    st.tuples(st.just("x"), WORDS, st.one_of(st.none(), WORDS)),
    st.tuples(st.just("f"), WORDS, st.one_of(st.none(), WORDS)),
    st.tuples(st.just("v"), WORDS, st.one_of(st.none(), st.binary(max_size=40), ODD)),
    st.tuples(st.just("csr"), WORDS, st.one_of(st.none(), WORDS)),
    st.tuples(st.just("pc"), WORDS),
    st.tuples(st.just("map"), ADDRESSES, SIZES, PERMS),
    st.tuples(st.just("unmap"), ADDRESSES, SIZES),
    st.tuples(st.just("protect"), ADDRESSES, SIZES, PERMS),
    st.tuples(st.just("find_free"), SIZES, ADDRESSES),
    st.tuples(st.just("read"), ADDRESSES, DTYPES, SHAPES),
    st.tuples(st.just("read_bytes"), ADDRESSES, SIZES),
    st.tuples(st.just("write"), ADDRESSES, DATA),
    st.tuples(st.just("alloc"), st.one_of(SIZES, DATA), st.one_of(st.sampled_from([1, 3, 64, 0, -8]), ODD)),
    st.tuples(st.just("call"), st.one_of(ADDRESSES, st.sampled_from(["ret5", "spin", "nope"])),
              ARGS, RETS, BUDGETS),
    st.tuples(st.just("resume"), BUDGETS),
    st.tuples(st.just("disassemble"), ADDRESSES, st.integers(-1, 4)),
    st.tuples(st.just("regions")),
)


def apply(m: Machine, op) -> None:
    name, *args = op
    if name == "pc":
        m.pc = args[0]
        return
    if name == "call":
        target, call_args, ret, budget = args
        addr = {"ret5": CODE, "spin": CODE + 8}.get(target, target)
        m.call(addr, *call_args, ret=ret, budget=budget, timeout=0.5)
        return
    if name == "resume":
        m.resume(args[0], timeout=0.5)
        return
    getattr(m, name)(*args)


@given(st.lists(OPS, min_size=1, max_size=12))
def fuzz_api(ops):
    m = Machine(vlen=128, mem_limit=64 << 20, budget=20_000)
    load_program(m, ["li a0, 5", "ret", "j 0"])
    m.symbols.update({"ret5": CODE, "spin": CODE + 8})
    for op in ops:
        try:
            apply(m, op)
        except ALLOWED:
            pass
    # whatever happened, the Machine still works
    load_program(m, ["li a0, 9", "ret"], 0x7000_0000)
    assert m.call(0x7000_0000) == 9


def _seeds() -> list[bytes]:
    exit7 = ["li a0, 7", "li a7, 93", "ecall"]
    rel = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9), 1, 243, 1,
                      0, 0, 0, 0, 64, 0, 0, 64, 0, 0)
    return [executable(exit7), executable(exit7, bss=((0x200000, 0x3000),)), rel]


SEEDS = _seeds()
FIELDS = st.sampled_from([0, 1, 2, 0x7F, 0xFF, 0x1000, 0xFFFF, 0xFFFFFFFF, 2**63, 2**64 - 1, 0x10, 0x10001])


@given(st.sampled_from(range(len(SEEDS))), st.data())
def fuzz_elf(seed, data):
    elf = bytearray(SEEDS[seed])
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(elf) - 1))
        if data.draw(st.booleans()):
            elf[at] ^= data.draw(st.integers(1, 255))
        else:   # an interesting value over a header-sized field
            width = data.draw(st.sampled_from([1, 2, 4, 8]))
            value = data.draw(FIELDS) % (1 << (8 * width))
            elf[at:at + width] = value.to_bytes(width, "little")
    if data.draw(st.booleans()):
        elf = elf[:data.draw(st.integers(0, len(elf)))]
    m = Machine(vlen=128, mem_limit=64 << 20)
    before = m.regions()
    try:
        image = m.load_elf(bytes(elf))
    except ElfError:
        if elf[16:17] != b"\x01":   # (a relocatable object installs the runtime routines first)
            assert m.regions() == before   # a failed load leaves nothing of itself
        return
    if image.kind == "exec":
        try:
            m.run(["fuzzed"], budget=20_000, timeout=1)
        except EmulatorError:
            pass


if __name__ == "__main__":
    target = {"api": fuzz_api, "elf": fuzz_elf}[sys.argv[1]]
    settings(max_examples=int(sys.argv[2]), deadline=None, database=None,
             derandomize=bool(os.environ.get("CI")), suppress_health_check=list(HealthCheck))(target)()
    print("ok")
