"""``@autotune``: a kernel's tunable compile-time parameters and the configurations to try.

Only the declaration lives here (``rvai.lang`` imports nothing but ``rvai.ir``); the
tuner that compiles and times the candidates on the machine model is
:mod:`rvai.tune`, and :mod:`rvai.runner` applies its cached choice to calls.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from rvai.lang.kernel import Kernel

__all__ = ["Autotune", "autotune"]


@dataclasses.dataclass(frozen=True)
class Autotune:
    """The tunable side of a kernel: candidate ``configs`` (dicts of compile-time parameters)
    and the ``key`` naming the argument sizes that pick a shape bucket (``"a.shape[0]"``,
    ``"a.dtype"`` or a scalar argument's name)."""

    configs: tuple
    key: tuple

    @property
    def names(self) -> tuple:
        """The parameters the configurations set."""
        return tuple(sorted({k for c in self.configs for k in c}))


def autotune(configs: list[dict[str, Any]], key: list[str]):
    """Decorator over ``@kernel`` (Triton's shape): declare the configurations to try.

    ``configs`` is a list of dicts of compile-time parameters; ``key`` lists what
    selects a shape bucket (runtime arguments' sizes, dtypes or values, and compile-time
    parameters that no config sets). Tune with :func:`rvai.tune.tune` or ``rvai tune``; later
    calls that leave all of those parameters unset use the best configuration found (whole);
    a call or config that sets some of them gets the declared defaults for the rest.
    """
    if not configs or not all(isinstance(c, dict) and c for c in configs):
        raise ValueError("autotune needs a non-empty list of non-empty config dicts")

    def wrap(k: Kernel) -> Kernel:
        if not isinstance(k, Kernel):
            raise TypeError("rvai.lang.autotune decorates a kernel: put it above @rvai.lang.kernel")
        params = k.signature.parameters
        for c in configs:
            bad = [n for n in c if n not in params or n in k.runtime]
            if bad:
                raise ValueError(f"kernel {k.name}: {bad} are not compile-time parameters")
        tuned = {n for c in configs for n in c}
        for entry in key:
            name, dot, _ = entry.partition(".")
            if name in k.runtime or (not dot and name in params and name not in tuned):
                continue
            raise ValueError(f"kernel {k.name}: autotune key {entry!r} names no runtime argument "
                             "(nor an untuned compile-time parameter)")
        k.autotune = Autotune(tuple(dict(c) for c in configs), tuple(key))
        return k

    return wrap
