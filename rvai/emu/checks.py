"""Argument checks of the Machine API, made before anything reaches the C core.

Each returns the value in the form the C core takes or raises a TypeError (wrong
kind of value) or ValueError (right kind, out of range) that names the argument.
docs/limits.md lists what is checked.
"""
from __future__ import annotations

import sys

MASK64 = (1 << 64) - 1
PAGE = 4096
# Highest guest address + 1 a mapping may reach (the C core's rv_map limit).
MAP_LIMIT = 1 << 56
# Element kinds that may cross between host arrays and guest memory: bool,
# signed and unsigned integers, floats and complex numbers.  Anything else
# (objects, strings, records, datetimes) would copy host pointers or
# meaningless bytes, or receive guest bytes into host object slots.
_PLAIN_KINDS = "biufc"


def _numpy():
    """NumPy if something imported it: a NumPy value cannot exist otherwise, and
    `rvai run` starts faster without importing it."""
    return sys.modules.get("numpy")


def _is_integer(value) -> bool:
    if isinstance(value, bool):
        return False
    np = _numpy()
    return isinstance(value, int) or (np is not None and isinstance(value, np.integer))


def _is_real(value) -> bool:
    np = _numpy()
    return _is_integer(value) or isinstance(value, float) or (np is not None and isinstance(value, np.floating))


def integer(value, what: str) -> int:
    """A Python int or NumPy integer (not bool) as an int."""
    if not _is_integer(value):
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}")
    return int(value)


def address(value, what: str = "address") -> int:
    """A guest address: an integer in [0, 2**64)."""
    v = integer(value, what)
    if not 0 <= v <= MASK64:
        raise ValueError(f"{what} {v:#x} is outside the 64-bit guest address space")
    return v


def size(value, what: str = "size", minimum: int = 0) -> int:
    """A byte count of at least ``minimum`` that fits the guest address space."""
    v = integer(value, what)
    if not minimum <= v <= MASK64:
        raise ValueError(f"{what} must be from {minimum} to 2**64-1, not {v}")
    return v


def word(value, what: str) -> int:
    """A 64-bit register value: signed or unsigned, as its unsigned bits."""
    v = integer(value, what)
    if not -(1 << 63) <= v <= MASK64:
        raise ValueError(f"{what} {v:#x} does not fit in 64 bits")
    return v & MASK64


def register(value, what: str = "register") -> int:
    """A register number, 0 to 31."""
    v = integer(value, what)
    if not 0 <= v < 32:
        raise ValueError(f"{what} number must be from 0 to 31, not {v}")
    return v


def power_of_two(value, what: str) -> int:
    v = integer(value, what)
    if v <= 0 or v & (v - 1):
        raise ValueError(f"{what} must be a positive power of two, not {v}")
    return v


def perms(text, bits: dict[str, int]) -> int:
    """The C core's permission bits of a string such as ``"rx"``."""
    if not isinstance(text, str):
        raise TypeError(f"permissions must be a string of r, w and x, not {type(text).__name__}")
    bad = set(text) - set(bits)
    if bad:
        raise ValueError(f"permissions {text!r}: {''.join(sorted(bad))!r} is not one of r, w, x")
    return sum(bits[c] for c in set(text))


def mapping(addr, length) -> tuple[int, int]:
    """A page-aligned guest range for map/unmap/protect, as (addr, length)."""
    addr, length = address(addr), size(length, "size", 1)
    if addr % PAGE:
        raise ValueError(f"address {addr:#x} is not page-aligned ({PAGE:#x})")
    if addr + length > MAP_LIMIT:
        raise ValueError(f"range {addr:#x}+{length:#x} reaches past the guest address space "
                         f"({MAP_LIMIT:#x})")
    return addr, length


def plain_dtype(dtype):
    """A dtype allowed across the host/guest boundary, little-endian (guest order)."""
    import numpy as np
    dt = np.dtype(dtype)
    if dt.kind not in _PLAIN_KINDS or dt.fields is not None or dt.subdtype is not None:
        raise TypeError(f"only plain numeric dtypes (bool, integers, floats, complex) move "
                        f"between host and guest memory, not {dt}")
    return dt.newbyteorder("<") if dt.byteorder == ">" else dt


def budget(value) -> int:
    """An instruction budget: a positive integer."""
    if not _is_integer(value) or value <= 0:
        raise ValueError(f"budget must be a positive number of instructions, not {value!r}")
    return int(value)


def timeout(value) -> float | None:
    """A wall-time limit: a positive number of seconds, or None."""
    if value is None:
        return None
    if not _is_real(value):
        raise TypeError(f"timeout must be a number of seconds or None, not {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {value!r}")
    return float(value)
