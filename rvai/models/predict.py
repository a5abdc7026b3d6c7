"""A whole model's predicted speed: one emulated decoder layer times the layer count, plus
the embedding and LM head, at the target's clock.

A step is a prefill of ``tokens`` tokens after ``context`` cached ones, or a decode of one
token against a cache of ``context``. Its cycles are ``layers * layer + embedding +
final norm + LM head``. The embedding gathers one row per token; the LM head (after the
final RMSNorm) runs once per step on the last position, whose logits pick the next token
(prefill does not need logits for the others). tokens/s is step tokens over step time.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from rvai import ops
from rvai.models.configs import QwenConfig
from rvai.models.costs import Costs, OpCost, Roofline
from rvai.models.layer import RUN_LIMITS, DecoderLayer, KVCache, scaled_normal, weight_dtype
from rvai.target import Target

__all__ = ["Prediction", "predict", "layer_costs", "step_tokens", "PHASES", "DEFAULT_MAX_MACS", "LM_HEAD_CHUNK"]

PHASES = ("prefill", "decode")
#: The LM head is costed on one chunk of this many vocabulary columns, scaled by vocab /
#: chunk: every chunk has the same shape, so one stands for all, and the 152K-column
#: weight is never made. Its columns are independent (the GEMM keeps each panel's
#: accumulators in registers), so the chunk's cost per column is the whole head's.
LM_HEAD_CHUNK = 16384
#: Operators above this many multiply-accumulates are sampled (rvai.models.costs): a 7B
#: model's full decode GEMVs take minutes of emulation each (and gigabytes of weights);
#: slices of a few thousand columns cost the same per column.
DEFAULT_MAX_MACS = 3e7


@dataclasses.dataclass
class Prediction:
    """One model x target x phase: per-operator costs and the time per token they add up to."""

    cfg: QwenConfig
    target: Target
    phase: str
    tokens: int
    context: int
    dtype: str
    layer: Costs
    head: Costs

    @property
    def roofline(self) -> Roofline:
        """The target's roofs and clock."""
        return Roofline.of(self.target)

    @property
    def cycles_per_layer(self) -> float:
        """Cycles of one decoder layer for the step."""
        return self.layer.cycles

    @property
    def cycles_per_step(self) -> float:
        """All layers plus embedding, final norm and LM head."""
        return self.cfg.num_hidden_layers * self.layer.cycles + self.head.cycles

    @property
    def seconds_per_token(self) -> float:
        """Step time over the tokens it processes."""
        return self.cycles_per_step / (self.roofline.clock_ghz * 1e9) / self.tokens

    @property
    def tokens_per_s(self) -> float:
        """Predicted tokens per second."""
        return 1.0 / self.seconds_per_token

    def ops(self) -> list[tuple[OpCost, int]]:
        """Every operator with how many times a step runs it (layer operators: once per layer)."""
        return [(op, self.cfg.num_hidden_layers) for op in self.layer.ops.values()] + \
               [(op, 1) for op in self.head.ops.values()]

    def bounding(self) -> OpCost:
        """The operator that takes the most cycles per step."""
        return max(self.ops(), key=lambda oc: oc[0].cycles * oc[1])[0]

    def to_dict(self) -> dict:
        """Plain data for --json: model, target, phase, cycles_per_layer, tokens_per_s and ops."""
        roof = self.roofline
        return {
            "model": self.cfg.name, "target": self.target.name, "phase": self.phase, "tokens": self.tokens,
            "context": self.context, "dtype": self.dtype, "vlen": self.target.vlen,
            "clock_ghz": roof.clock_ghz, "layers": self.cfg.num_hidden_layers,
            "cycles_per_layer": self.cycles_per_layer, "cycles_per_step": self.cycles_per_step,
            "seconds_per_token": self.seconds_per_token, "tokens_per_s": self.tokens_per_s,
            "peak_flops_per_cycle": roof.peak_flops, "peak_dram_bytes_per_cycle": roof.peak_bytes,
            "sampled": self.layer.sampled + self.head.sampled,
            "ops": [{"name": op.name, "per": "layer" if count > 1 else "step", "count": count,
                     "cycles": op.cycles, "flops": op.flops, "bytes": op.bytes,
                     "bytes_accessed": op.bytes_accessed, "calls": op.calls, "scale": op.scale,
                     "bound": roof.bound(op)} for op, count in self.ops()],
        }


def predict(cfg: QwenConfig, target: Target, phase: str, tokens: int = 128, context: int = 0,
            dtype: str = "f32", max_macs: float | None = DEFAULT_MAX_MACS, seed: int = 0) -> Prediction:
    """Emulate one layer (and the embedding and LM head) of ``cfg`` on ``target`` for one step.

    ``phase`` prefill runs ``tokens`` tokens after ``context`` cached ones; decode runs one
    token after ``context``. Operators above ``max_macs`` are sampled (None: run all in full).
    """
    target = Target.of(target)
    Roofline.of(target)    # fail early on a target without a clock
    tokens = step_tokens(phase, tokens, context)
    costs = layer_costs(cfg, target, phase, tokens, context, dtype, max_macs, seed)
    return Prediction(cfg, target, phase, tokens, context, dtype, costs, _head_costs(cfg, target, tokens, dtype, seed))


def step_tokens(phase: str, tokens: int, context: int) -> int:
    """The tokens a step of ``phase`` runs (decode: 1); ValueError for a bad phase or counts."""
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, not {phase!r}")
    tokens = 1 if phase == "decode" else tokens
    if tokens < 1 or context < 0:
        raise ValueError(f"need tokens >= 1 and context >= 0, got {tokens} and {context}")
    return tokens


def layer_costs(cfg: QwenConfig, target: Target, phase: str, tokens: int = 128, context: int = 0,
                dtype: str = "f32", max_macs: float | None = DEFAULT_MAX_MACS, seed: int = 0, *,
                keep_profiles: bool = False, budget: int | None = None) -> Costs:
    """One decoder layer of ``cfg`` emulated on ``target`` for one step (see :func:`predict`), its Costs.

    ``keep_profiles`` and ``budget`` as for :class:`Costs` and :meth:`DecoderLayer.forward`.
    """
    target = Target.of(target)
    tokens = step_tokens(phase, tokens, context)
    x = np.random.default_rng(seed).standard_normal((tokens, cfg.hidden_size), np.float32)
    costs = Costs(max_macs, keep_profiles)
    DecoderLayer(cfg, dtype, seed).forward(x, KVCache.random(cfg, context, seed), target=target, costs=costs,
                                           budget=budget)
    return costs


def _head_costs(cfg: QwenConfig, target: Target, tokens: int, dtype: str, seed: int) -> Costs:
    """Embedding of ``tokens`` rows, then final RMSNorm and LM head of the last position.

    The embedding gathers from a table of ``tokens`` rows in random order: its cost is a
    row copy per token whatever the vocabulary size. The LM head ((hidden, vocab), tied
    or not: the same GEMV on packed weights, f16 input with f16 weights as in the layer)
    is emulated on one :data:`LM_HEAD_CHUNK`-column chunk and scaled by vocab / chunk.
    """
    costs = Costs()
    rng = np.random.default_rng(seed)
    fmt = weight_dtype(dtype)
    # the embedding rows in the weights' width (bf16 and int8 models gather 16-bit rows)
    table = rng.standard_normal((tokens, cfg.hidden_size), np.float32).astype(np.float32 if fmt == "f32"
                                                                                 else np.float16)
    last = ops.embedding(table, rng.permutation(tokens), target=target, **RUN_LIMITS)[-1:]
    costs.add("embedding", ops.last_run)
    h = ops.rmsnorm(last, np.ones(cfg.hidden_size, np.float32), cfg.rms_norm_eps, target=target, **RUN_LIMITS)
    costs.add("final_norm", ops.last_run)
    cols = min(cfg.vocab_size, LM_HEAD_CHUNK)
    head = scaled_normal(rng, (cols, cfg.hidden_size), cfg.hidden_size)   # f32: pack_weights rounds to it first
    ops.linear(h.astype(np.float16) if fmt == "f16" else h, ops.pack_weights(head, target=target, dtype=fmt),
               target=target, **RUN_LIMITS)
    costs.add("lm_head", ops.last_run, cfg.vocab_size / cols)
    return costs
