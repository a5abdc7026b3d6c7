"""The oracle: a Qwen decoder layer in NumPy float64, written from the model definition.

It shares nothing with :mod:`rvai.models.layer` but the weights (taken through
``LayerWeights`` and widened to float64) and follows Hugging Face's Qwen2/Qwen3/Qwen3-MoE
decoder layer step by step: separate q, k, v heads, ``rotate_half`` RoPE, repeated KV
heads, a full causal score matrix, softmax router with top-k.
"""
from __future__ import annotations

import numpy as np

from rvai.models.layer import LayerWeights

__all__ = ["reference_layer"]


def _rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def _rotate(x, positions, theta):
    """HF's apply_rotary_pos_emb: x * cos + rotate_half(x) * sin, cos/sin repeated over both halves."""
    d = x.shape[-1]
    inv_freq = 1.0 / theta ** (np.arange(0, d, 2) / d)
    freqs = np.outer(positions, inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)                   # (tokens, d)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    rotated = np.concatenate([-x[..., d // 2:], x[..., :d // 2]], axis=-1)
    return x * cos + rotated * sin


def _silu(x):
    return x / (1.0 + np.exp(-x))


def _swiglu_mlp(x, w_gate_up, w_down):
    inner = w_gate_up.shape[1] // 2
    return (_silu(x @ w_gate_up[:, :inner]) * (x @ w_gate_up[:, inner:])) @ w_down


def reference_layer(weights: LayerWeights, x: np.ndarray, past_k: np.ndarray, past_v: np.ndarray) -> np.ndarray:
    """The layer's output for ``x`` (tokens, hidden) after a cache of ``past_k``/``past_v`` (kv_heads, L, d)."""
    cfg = weights.cfg
    f64 = lambda a: np.asarray(a, np.float64)   # noqa: E731
    m = lambda name: f64(weights.matrix(name))  # noqa: E731
    v_ = lambda name: f64(weights.vector(name))  # noqa: E731
    x = f64(x)
    tokens, past = x.shape[0], past_k.shape[1]
    hq, hkv, d, eps = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim, cfg.rms_norm_eps

    h = _rmsnorm(x, v_("input_norm"), eps)
    w_qkv = m("qkv")
    b_qkv = v_("qkv_bias") if cfg.qkv_bias else np.zeros(w_qkv.shape[1])
    q = (h @ w_qkv[:, :hq * d] + b_qkv[:hq * d]).reshape(tokens, hq, d)
    k = (h @ w_qkv[:, hq * d:(hq + hkv) * d] + b_qkv[hq * d:(hq + hkv) * d]).reshape(tokens, hkv, d)
    v = (h @ w_qkv[:, (hq + hkv) * d:] + b_qkv[(hq + hkv) * d:]).reshape(tokens, hkv, d)
    if cfg.qk_norm:
        q, k = _rmsnorm(q, v_("q_norm"), eps), _rmsnorm(k, v_("k_norm"), eps)
    positions = np.arange(past, past + tokens)
    q, k = _rotate(q, positions, cfg.rope_theta), _rotate(k, positions, cfg.rope_theta)

    keys = np.concatenate([f64(past_k), k.transpose(1, 0, 2)], axis=1)      # (hkv, L + T, d)
    values = np.concatenate([f64(past_v), v.transpose(1, 0, 2)], axis=1)
    keys, values = np.repeat(keys, cfg.group, axis=0), np.repeat(values, cfg.group, axis=0)
    scores = q.transpose(1, 0, 2) @ keys.transpose(0, 2, 1) / np.sqrt(d)   # (hq, T, L + T)
    visible = np.arange(past + tokens)[None, :] <= positions[:, None]
    scores = np.where(visible, scores, -np.inf)
    p = np.exp(scores - scores.max(axis=-1, keepdims=True))
    attn = (p / p.sum(axis=-1, keepdims=True)) @ values                     # (hq, T, d)
    resid = x + attn.transpose(1, 0, 2).reshape(tokens, hq * d) @ m("o")
    h2 = _rmsnorm(resid, v_("post_norm"), eps)

    if not cfg.is_moe:
        return resid + _swiglu_mlp(h2, m("gate_up"), m("down"))
    logits = h2 @ m("router")
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    out = np.zeros_like(h2)
    for t in range(tokens):
        chosen = np.argsort(-probs[t], kind="stable")[:cfg.num_experts_per_tok]
        gates = probs[t, chosen] / (probs[t, chosen].sum() if cfg.norm_topk_prob else 1.0)
        for e, g in zip(chosen, gates):
            out[t] += g * _swiglu_mlp(h2[t], m(f"expert{e}.gate_up"), m(f"expert{e}.down"))
    return resid + out
