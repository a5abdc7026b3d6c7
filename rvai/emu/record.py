"""Record: the repr and equality ``@dataclass`` gives a class, from its ``__slots__``.

The modules a short ``rvai run`` imports (rvai.emu.elf, rvai.emu.linux) define their
records on it rather than as dataclasses: ``dataclasses`` imports ``inspect``, and with
``typing`` that was ~9 ms of the ~30 ms the command spends above Python's own start-up
(docs/performance.md, "(issue 15, st67)").  Each record writes its own ``__init__``.
"""
from __future__ import annotations


class Record:
    """A base whose subclasses list their fields in ``__slots__``: repr and ``==`` by field."""

    __slots__ = ()

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __repr__(self) -> str:
        body = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({body})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None   # mutable, as a dataclass without frozen=True
