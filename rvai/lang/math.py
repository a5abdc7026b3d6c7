"""Transcendental functions built from polynomials and bit manipulation (no libm).

Each works on f32 scalars and f32 vectors alike, because it is written with the same
operators both support. Accuracy against float64 references is tested in
tests/test_lang_math.py: ``exp`` within 2 ulp on [-86.6, 88.7] (0 below -86.6, +inf above
ln(FLT_MAX)); ``exp_nonpositive`` (the cheaper exp of softmax and attention, whose inputs
are at most 0 once the row maximum is subtracted) within 2.28 ulp where its result is
normal (``bench/exp_ulp.py`` sweeps every f32 input; the tests hold it to 3); ``exp_fast`` (softmax's
opt-in coarse exp) within 9.8e-5 relative where its result is normal; ``rsqrt`` within 2 ulp on positive
normal inputs; ``tanh`` within 2 ulp on normal results. NaN inputs give unspecified results.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rvai import ir
from rvai.lang import core

__all__ = ["exp", "exp_nonpositive", "exp_fast", "exp_fast_bias", "rsqrt", "tanh", "EXP_STEPS",
           "EXP_NONPOSITIVE_ADDENDS"]

_LOG2E = 1.4426950408889634
_LOG2E_LO = _LOG2E - float(np.float32(_LOG2E))   # what the f32 log2(e) leaves out
_MAGIC = 12582912.0           # 1.5 * 2**23: adding it rounds to an integer in the low mantissa bits
_MAGIC_BITS = 0x4B400000      # bits of _MAGIC
_LN2_HI = 0.693359375         # Cody-Waite split of ln 2
_LN2_LO = -2.12194440e-4
_EXP_Q = (0.49999988079071045, 0.166665181517601, 0.04166953265666962,
          0.008368921466171741, 0.00137514085508883)
_EXP_LO = -86.6               # below: result flushed to 0 (true value < 2.4e-38)
_EXP_HI = 88.72283935546875   # ln(FLT_MAX) rounded to f32: above it, +inf
# 2**r ~ 1 + r*(c1 + r*(c2 + ...)) on [-1/2, 1/2]: relative error 1.1e-7 before rounding,
# fitted for this module (Lawson-weighted least squares on Chebyshev nodes, coefficients
# rounded to f32 and the error re-measured in float64).
_EXP2_C = (0.6931470036506653, 0.24022242426872253, 0.05550733581185341, 0.009671512991189957,
           0.001326472731307149)
# The f32 just below -127/log2(e): n = -127 with r < 0 there, which the signed max
# turns into +0, so -inf and everything below the clamp give exactly 0.
_EXP2_CLAMP = float(np.nextafter(np.float32(-127 / _LOG2E), np.float32(-np.inf)))
_EXP2_CLAMP_BITS = int(np.float32(_EXP2_CLAMP).view(np.uint32))
#: The constants :func:`exp_nonpositive`'s FMAs take as addends (the rounding constant,
#: the polynomial's coefficients but its last, and its final 1): its ``addends``' keys.
EXP_NONPOSITIVE_ADDENDS = (_MAGIC, *_EXP2_C[:-1], 1.0)
# exp_fast: t = x*log2(e) + 512 rounds x*log2(e) to a multiple of 2**-15 (t's ulp in
# [256, 512]), so bits(t) - bits(512) = n * 2**15 + f with n = floor(x*log2(e)) and f the
# fraction's 15 bits; 512's bits shifted left by 8 are 0 mod 2**32, so bits(t) << 8 holds
# n << 23 above the fraction's bits. 2**(f / 2**15) is a cubic in u = 1 + f / 2**15,
# fitted for this module (Lawson-weighted least squares, relative error 8.6e-5) with
# q(1) = 1 exactly in f32, so n = -127 (the clamp: x <= -88.03 and -inf) gives +0.
_FAST_MAGIC = 512.0
_FAST_LOW = 0x44000000 - (127 << 15)        # bits(t) at n = -127, f = 0
_EXP2_FAST_C = (0.45546483993530273, 0.4710193872451782, -0.0035496968775987625, 0.07706546783447266)
_TANH_Q = (-0.33333319425582886, 0.13332699239253998, -0.05386502295732498,
           0.02112698368728161, -0.006356091238558292)
_TANH_SPLIT = 0.55


def _f32(x: Any, what: str):
    x = core.to_value(x, ir.f32)
    if x.dtype != ir.f32:
        raise core.fail(f"{what}() takes f32 values, not {x.dtype}; convert with .to(f32)")
    return x


def _horner(x, coeffs):
    """coeffs[0] + x*(coeffs[1] + x*(...)), one FMA per step (a vector step is one
    ``vfmadd.vv`` with the coefficient's splat, which LLVM keeps out of the loop)."""
    return _horners([x], coeffs)[0]


def _horners(xs: list, coeffs) -> list:
    """:func:`_horner` of each of ``xs``, step by step across them (independent chains interleaved)."""
    acc = [core.fma(x, coeffs[-1], coeffs[-2]) for x in xs]
    for c in reversed(coeffs[:-2]):
        acc = [core.fma(a, x, c) for a, x in zip(acc, xs)]
    return acc


def _many(x: Any, what: str) -> tuple[list, bool]:
    """``x`` as a list of f32 values, and whether it was one value (not a list or tuple)."""
    if isinstance(x, (list, tuple)):
        if not x:
            raise core.fail(f"{what}() of an empty list")
        return [_f32(v, what) for v in x], False
    return [_f32(x, what)], True


def exp(x: Any):
    """e**x for f32 scalars or vectors (Cody-Waite reduction and a degree-6 polynomial)."""
    x = _f32(x, "exp")
    xc = core.minimum(core.maximum(x, _EXP_LO), _EXP_HI)
    t = xc * _LOG2E + _MAGIC
    n = t - _MAGIC
    r = core.fma(n, -_LN2_HI, xc)
    r = core.fma(n, -_LN2_LO, r)
    p = (r * r) * _horner(r, _EXP_Q) + r + 1.0
    k = t.bitcast(ir.i32) - _MAGIC_BITS                 # n as an integer
    half_scale = ((k + 126) << 23).bitcast(ir.f32)      # 2**(n-1): stays finite for n = 128
    y = (p * 2.0) * half_scale
    y = core.where(x < _EXP_LO, 0.0, y)
    return core.where(x > _EXP_HI, float("inf"), y)


def exp_nonpositive(x: Any, addends: dict | None = None):
    """e**x for f32 ``x <= 0`` (softmax's ``x - max``): 9 FP operations where :func:`exp` needs ~17.

    ``x * log2(e)`` is split as ``n + r`` (n integer, |r| <= 1/2) with the products
    inside FMAs and log2(e) in two parts, so r is nearly exact; 2**r is a degree-5 polynomial and 2**n is
    added to its exponent field by integer operations (the vector ALU, not the FP pipe).
    Only the lower clamp is needed (on vectors an unsigned integer minimum of the bits,
    which for x <= 0 orders them as |x|: the vector ALU again), and it gives exactly +0 for
    x <= -88.03 and -inf; results below 2**-126 are off by less than 2**-126 (no subnormals).
    Positive x are not allowed: the result would be wrong, not inf.

    ``x`` may be a list of values: the result is then the list of their exps, computed
    step by step across them, so that an in-order vector unit always has an independent
    operation to issue while one waits for the result before it.

    RVV's FMAs take a scalar only as a multiplicand, so on vectors the constants that are
    addends (:data:`EXP_NONPOSITIVE_ADDENDS`) are splats; ``addends`` maps each of them to
    the value to use instead (the same constant, say as a ``vl``-bound splat made outside a
    loop, ``rl.full(c, bound=True)``): the result is the same, bit for bit.
    """
    xs, one = _many(x, "exp_nonpositive")
    k = addends or {}
    r, t = zip(*_nonpositive_reduce(_nonpositive_clamp(xs), shifted=False, magic=k.get(_MAGIC, _MAGIC)))
    coeffs = [k.get(c, c) for c in _EXP2_C[:-1]] + [_EXP2_C[-1]]
    p = [core.fma(h, a, k.get(1.0, 1.0)) for h, a in zip(_horners(r, coeffs), r)]
    # bits(t) << 23 is n << 23 (the magic's own bits shift out): adding it scales p by 2**n.
    # At n = -127 a p below 1 borrows into the sign bit; the signed max with 0 makes it +0.
    bits = [a.bitcast(ir.i32) + (b.bitcast(ir.i32) << 23) for a, b in zip(p, t)]
    out = [core.maximum(b, 0).bitcast(ir.f32) for b in bits]
    return out[0] if one else out


def _nonpositive_clamp(xs: list) -> list:
    """:func:`exp_nonpositive`'s clamp: for each x, ``(max(x, -127 / log2(e)),)`` (on vectors
    the bits' unsigned minimum, in the vector ALU: for x <= 0 (and +0) the unsigned order of
    the bits is that of |x|, -inf's the largest)."""
    if isinstance(xs[0], core.Vector):
        return [(core.minimum(v.bitcast(ir.u32), _EXP2_CLAMP_BITS).bitcast(ir.f32),) for v in xs]
    return [(core.maximum(v, _EXP2_CLAMP),) for v in xs]


def _nonpositive_reduce(parts: list, shifted: bool = True, magic: Any = _MAGIC) -> list:
    """:func:`exp_nonpositive`'s reduction: ``(x,)`` -> ``(r, n << 23)`` with x log2(e) = n + r,
    |r| <= 1/2 (``(r, t)``, n in t's low mantissa bits, if not ``shifted``); ``magic`` is
    the rounding constant's value (its splat, say)."""
    xc = [p[0] for p in parts]
    t = [core.fma(v, _LOG2E, magic) for v in xc]       # n = round(x*log2e) in the low mantissa bits
    n = [v - _MAGIC for v in t]
    r = [v * _LOG2E - k for v, k in zip(xc, n)]          # exact product, one rounding (vfmsac)
    r = [core.fma(v, _LOG2E_LO, a) for v, a in zip(xc, r)]   # log2(e) - f32(log2(e)): 3.7 ulp at x = -23 without it
    return [(a, b.bitcast(ir.i32) << 23 if shifted else b) for a, b in zip(r, t)]


def _nonpositive_poly_hi(parts: list) -> list:
    """:func:`exp_nonpositive`'s polynomial, its first three Horner steps: ``(r, k)`` -> ``(a, r, k)``."""
    return [(a, r, k) for a, (r, k) in zip(_horners([p[0] for p in parts], _EXP2_C[1:]), parts)]


def _nonpositive_poly_lo(parts: list) -> list:
    """:func:`exp_nonpositive`'s polynomial, its last two steps: ``(a, r, k)`` -> ``(2**r, k)``."""
    a = [core.fma(a, r, _EXP2_C[0]) for a, r, _ in parts]
    return [(core.fma(h, r, 1.0), k) for h, (_, r, k) in zip(a, parts)]


def _nonpositive_scale(parts: list) -> list:
    """:func:`exp_nonpositive`'s last step: ``(p, n << 23)`` -> p 2**n (+0 below 2**-127)."""
    return [core.maximum(p.bitcast(ir.i32) + k, 0).bitcast(ir.f32) for p, k in parts]


def exp_fast_bias(m: Any):
    """The ``bias`` with which :func:`exp_fast` gives ``e**(x - s)`` for an ``s`` at or just
    above the f32 scalar ``m`` (``s - m`` below 2.1e-7 * (512 + |m log2 e|)), in one FMA of
    x: softmax's subtraction of the row maximum, folded into the exp.

    ``s`` depends on m only, so a softmax row (whose results do not change with the shift)
    is as accurate as with ``s = m``, and more than with ``exp_fast(x - m)``, whose ``x - m``
    rounds. The bias is ``512 - m log2 e`` rounded down by at least half an ulp, so no
    ``x <= m`` gives a positive exponent. Infinite or NaN m gives a non-finite bias.
    """
    m = _f32(m, "exp_fast_bias")
    c = core.fma(m, -_LOG2E, _FAST_MAGIC)
    return c - core.abs(c) * 2.0 ** -23


def exp_fast(x: Any, bias: Any = _FAST_MAGIC):
    """e**x for f32 ``x <= 0``, fast and coarse: 4 FP operations (an FMA and a cubic) where
    :func:`exp_nonpositive` takes 9; relative error at most 9.8e-5 where the result is normal
    (9.72e-5, up to 1615 ulp, over every 101st f32 input: ``bench/exp_ulp.py --exp fast
    --stride 101``; the cubic's own error is 8.6e-5).

    ``x * log2(e)`` is rounded to 15 fraction bits by adding 512 (one FMA, no separate
    reduction); integer operations on t's bits (the vector ALU, not the FP pipe) clamp it,
    split off the exponent and give the fraction as a float u in [1, 2); a cubic gives
    2**(u - 1), and the exponent is added to its bits. Exactly +0 for x <= -88.03 and -inf;
    results below 2**-126 are off by less than 2**-126. Positive x and NaN give wrong values.

    With ``bias = exp_fast_bias(m)`` (a scalar, or a vector of it) it is ``e**(x - s)`` for
    an s just above m, for ``x <= m``, with the same bound: the FMA takes the shift in place
    of 512. ``x`` may be a list of values: then a list, computed step by step across them
    (see :func:`exp_nonpositive`).
    """
    xs, one = _many(x, "exp_fast")
    s = _fast_bits([t for (t,) in _fast_reduce(xs, bias)])
    q = _horners(_fast_fraction(s), _EXP2_FAST_C)
    out = [(a.bitcast(ir.i32) + (b & -0x800000)).bitcast(ir.f32) for a, b in zip(q, s)]
    return out[0] if one else out


def _fast_reduce(xs: list, bias: Any = _FAST_MAGIC) -> list:
    """:func:`exp_fast`'s FMA: for each x, ``(x log2(e) + bias,)``."""
    return [(core.fma(v, _LOG2E, bias),) for v in xs]


def _fast_bits(t: list) -> list:
    """t's bits clamped and shifted: n << 23 above the 15 bits of the fraction f."""
    return [core.maximum(v.bitcast(ir.i32), _FAST_LOW) << 8 for v in t]


def _fast_fraction(s: list) -> list:
    """u = 1 + f / 2**15 from :func:`_fast_bits`."""
    return [((v & 0x7FFFFF) | 0x3F800000).bitcast(ir.f32) for v in s]


def _fast_split(parts: list) -> list:
    """:func:`exp_fast`'s integer steps: ``(t,)`` -> ``(u, n << 23)``."""
    s = _fast_bits([t for (t,) in parts])
    return [(u, v & -0x800000) for u, v in zip(_fast_fraction(s), s)]


def _fast_poly_hi(parts: list) -> list:
    """:func:`exp_fast`'s cubic, its first two Horner steps: ``(u, k)`` -> ``(a, u, k)``."""
    return [(a, u, k) for a, (u, k) in zip(_horners([p[0] for p in parts], _EXP2_FAST_C[1:]), parts)]


def _fast_poly_lo(parts: list) -> list:
    """:func:`exp_fast`'s cubic, its last Horner step: ``(a, u, k)`` -> ``(2**(u - 1), k)``."""
    return [(core.fma(a, u, _EXP2_FAST_C[0]), k) for a, u, k in parts]


def _fast_scale(parts: list) -> list:
    """:func:`exp_fast`'s last step: ``(q, n << 23)`` -> q 2**n, n added to q's exponent."""
    return [(q.bitcast(ir.i32) + k).bitcast(ir.f32) for q, k in parts]


#: :func:`exp_nonpositive` and :func:`exp_fast` each as five steps, for a loop that runs
#: each step on a different block (software pipelining): ``steps[0](xs)`` (``exp_fast``'s
#: with its ``bias`` as a second argument) gives a tuple of vectors of the dtypes
#: ``types[0]`` for each x, ``steps[i]`` maps those of ``types[i - 1]`` to ``types[i]``,
#: the last to the exps. They compute the exp's own operations, each result bit for bit
#: (the exponent's bits split off early, so that a step passes on two vectors, not three).
EXP_STEPS = {
    "accurate": {"steps": (_nonpositive_clamp, _nonpositive_reduce, _nonpositive_poly_hi, _nonpositive_poly_lo,
                           _nonpositive_scale),
                 "types": ((ir.f32,), (ir.f32, ir.i32), (ir.f32, ir.f32, ir.i32), (ir.f32, ir.i32))},
    "fast": {"steps": (_fast_reduce, _fast_split, _fast_poly_hi, _fast_poly_lo, _fast_scale),
             "types": ((ir.f32,), (ir.f32, ir.i32), (ir.f32, ir.f32, ir.i32), (ir.f32, ir.i32))},
}


def rsqrt(x: Any):
    """1/sqrt(x) for f32: on vectors ``vfrsqrt7`` plus two Newton steps (the second with FMAs); on scalars fsqrt and fdiv."""
    x = _f32(x, "rsqrt")
    if isinstance(x, core.Scalar):
        return 1.0 / core.sqrt(x)
    y = core.Vector(core.tracer().emit("vun", [x.value, core._active_vl(x.type.n)], x.type, {"op": "rsqrt7"}))
    y = y * (1.5 - (0.5 * x * y) * y)          # 7 -> ~14 correct bits
    # The last step in Markstein's form: the residual 1 - x*y*y with one rounding
    # (an FMA) and the correction added by another, so the rounding errors of the
    # plain form (up to ~2.1 ulp) do not pile up.
    r = core.fma(-(x * y), y, 1.0)
    return core.fma(y * 0.5, r, y)


def tanh(x: Any):
    """tanh(x) for f32: an odd polynomial near 0, ``1 - 2/(exp(2|x|)+1)`` beyond."""
    x = _f32(x, "tanh")
    a = core.abs(x)
    z = a * a
    small = a + (a * z) * _horner(z, _TANH_Q)
    big = 1.0 - 2.0 / (exp(a * 2.0) + 1.0)
    t = core.where(a < _TANH_SPLIT, small, big)
    return core.where(x < 0.0, -t, t)
