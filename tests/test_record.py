"""rvai.emu.record.Record, what rvai.emu.elf's and rvai.emu.linux's records stand on in
place of @dataclass: their repr and equality checked against dataclasses made with the
same fields (the oracle), and the fields a record does not have refused."""
import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rvai.emu.elf import Image, Segment
from rvai.emu.linux import RunResult

values = st.one_of(st.integers(-2**64, 2**64), st.binary(max_size=8), st.text(max_size=4), st.none())


def oracle(record) -> type:
    """A dataclass of the record's class name and fields."""
    return dataclasses.make_dataclass(type(record).__name__, list(record.__slots__))


@given(st.lists(values, min_size=9, max_size=9), st.lists(values, min_size=9, max_size=9))
def test_records_repr_and_compare_as_dataclasses(a, b):
    for make in (lambda v: Segment(*v[:6]), lambda v: Image(*v[:9]), lambda v: RunResult(*v[:7])):
        x, y = make(a), make(b)
        cls = oracle(x)
        dx, dy = cls(*x._fields()), cls(*y._fields())
        assert repr(x) == repr(dx)
        assert (x == y) == (dx == dy) and (x != y) == (dx != dy)
        assert x == make(list(a))


def test_a_record_has_only_its_fields_and_defaults():
    r = RunResult(0, b"", b"", 1, 2)
    assert (r.signal, r.unknown_syscalls) == (None, {})
    assert RunResult(0, b"", b"", 1, 2).unknown_syscalls is not r.unknown_syscalls   # not one shared dict
    with pytest.raises(AttributeError):
        r.exitcode = 1   # a misspelt field is an error, as on a slotted dataclass
    with pytest.raises(TypeError):
        hash(r)          # mutable: unhashable, as a dataclass without frozen=True
    assert Segment(0, b"", 0, "r", ".text").align == 1
