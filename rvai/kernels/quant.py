"""Weight formats of the int8 and bf16 kernels, in NumPy: llama.cpp's Q8_0 blocks and bfloat16.

Q8_0 (ggml's ``block_q8_0``): a row of K values in blocks of 32, each block stored as
32 int8 ``q`` and one float16 scale ``d``, value = ``q * d``. :func:`quantize_q8_0`
follows ggml's reference quantiser (``quantize_row_q8_0_ref``) in float32:
``d = max|x| / 127``, ``q = roundf(x / d)`` (half away from zero, computed as ``x * (1/d)``
in float32), then ``d`` is stored rounded to float16 (nearest even). A block whose ``d`` is
subnormal (max|x| below ~1.5e-36, an f16 scale of 0) quantises to 0 like an all-zero one. A row whose K is not a multiple of 32 is
padded with zeros (which quantise to 0 and add nothing).

bfloat16 values travel as uint16 bit patterns (rvai's bf16 tensors): :func:`to_bf16`
rounds float32 to nearest even, :func:`from_bf16` widens exactly.
"""
from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Q8_0", "quantize_q8_0", "requantize_q8_0", "to_bf16", "from_bf16"]

#: Values per Q8_0 block.
BLOCK = 32


@dataclasses.dataclass(frozen=True)
class Q8_0:
    """A (N, K) matrix in Q8_0 blocks along K: ``q`` (N, Kp) int8 with Kp = K rounded up
    to 32, ``d`` (N, Kp/32) float16 scales, ``k`` the true K."""

    q: np.ndarray
    d: np.ndarray
    k: int

    @property
    def shape(self) -> tuple[int, int]:
        """(N, K) of the matrix."""
        return self.q.shape[0], self.k

    def dequantize(self) -> np.ndarray:
        """The (N, K) float32 values ``q * d`` the blocks stand for."""
        n, kp = self.q.shape
        blocks = self.q.reshape(n, kp // BLOCK, BLOCK).astype(np.float32) * self.d.astype(np.float32)[..., None]
        return blocks.reshape(n, kp)[:, :self.k]


#: Elements :func:`quantize_q8_0` works on at a time: its float32 and float64 temporaries
#: stay a few MiB (made whole, a 7B model's LM-head chunk had 0.5 GB float64 arrays, each
#: page faulted in fresh).
_CHUNK_ELEMENTS = 1 << 18


def quantize_q8_0(x) -> Q8_0:
    """Rows of ``x`` (N, K) (a linear layer's weight, or activations) as :class:`Q8_0` blocks.

    Rows are quantised a few at a time (their blocks are independent), into the result.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"quantize_q8_0 takes a 2-D (N, K) array, got shape {x.shape}")
    n, k = x.shape
    kp = -(-k // BLOCK) * BLOCK
    q, d = np.empty((n, kp), np.int8), np.empty((n, kp // BLOCK), np.float16)
    rows = max(_CHUNK_ELEMENTS // kp, 1) if kp else max(n, 1)
    for r in range(0, n, rows):
        q[r:r + rows], d[r:r + rows] = _quantized_rows(np.asarray(x[r:r + rows], np.float32), kp)
    return Q8_0(q, d, k)


def _quantized_rows(x: np.ndarray, kp: int) -> tuple[np.ndarray, np.ndarray]:
    """(q, d) of :func:`quantize_q8_0` for f32 rows ``x``, their K padded to ``kp``."""
    if not np.isfinite(x).all():
        raise ValueError("quantize_q8_0: the values must be finite")
    n, k = x.shape
    padded = np.zeros((n, kp), np.float32)
    padded[:, :k] = x
    blocks = padded.reshape(n, kp // BLOCK, BLOCK)
    d = np.abs(blocks).max(axis=2) / np.float32(127)
    # ggml: id = d ? 1/d : 0. A subnormal d (blocks below ~1.5e-36) is taken as 0 too: its
    # 1/d may overflow and x * id may pass 127.5 (ggml's int8 cast is then undefined), and
    # its f16 scale is 0 anyway, so the block's values are 0 either way.
    with np.errstate(divide="ignore", over="ignore"):
        inv = np.where(d >= np.finfo(np.float32).tiny, np.float32(1) / d, np.float32(0)).astype(np.float32)
    np.multiply(blocks, inv[..., None], out=blocks)            # in place: no fresh temporaries to fault in
    scaled = blocks.astype(np.float64)                          # |scaled| <= 127 (1 + 3u)
    scaled += np.copysign(0.5, scaled)                          # x + 0.5 exact: trunc rounds as roundf
    q = np.trunc(scaled, out=scaled).astype(np.int8)
    with np.errstate(over="ignore"):                 # d past f16's range stores inf, as in ggml
        return q.reshape(n, kp), d.astype(np.float16)


def requantize_q8_0(x) -> Q8_0:
    """``quantize_q8_0(quantize_q8_0(x).dequantize())``, bit for bit, with one quantisation:
    the blocks of the values Q8_0 weights stand for, as packing those values makes them.

    A block quantised again comes back as it was: its largest |x| maps to q = +-127 (x d^-1
    is 127 within 3 ulp), so its largest value is 127 * d16 exactly (7 + 11 significant
    bits), whose scale is d16 again, and each q d16 (1/d16) is q within 127 * 2^-24
    before its rounding, well inside half a step. Except where the f16 scale d16 is 0 (a
    block below ~3.8e-6): it stands for zeros, which quantise to q = 0; and an infinite
    one stands for values that are not finite, which :func:`quantize_q8_0` refuses.
    """
    w = quantize_q8_0(x)
    if not np.isfinite(w.d).all():
        raise ValueError("quantize_q8_0: the values must be finite")
    blocks = w.q.reshape(w.d.shape + (BLOCK,))
    blocks[w.d == 0] = 0
    return w


def to_bf16(x) -> np.ndarray:
    """float32 values as bf16 bit patterns (uint16), rounded to nearest even; NaN stays NaN."""
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(np.isnan(np.asarray(x, np.float32)), np.uint16(0x7FC0), rounded)


def from_bf16(bits) -> np.ndarray:
    """bf16 bit patterns (uint16) as float32 (exact)."""
    return (np.asarray(bits, np.uint16).astype(np.uint32) << 16).view(np.float32)
