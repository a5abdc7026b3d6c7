"""Qwen model configurations as data, from each model's published ``config.json``.

Only the fields a decoder layer's shapes and numerics depend on are kept. Each entry
names where its values were read: the model's ``config.json`` on Hugging Face
(``huggingface.co/Qwen/<name>/blob/main/config.json``), as found through copies of that
file (the ``source`` URL), which carry the same values.
"""
from __future__ import annotations

import dataclasses

__all__ = ["QwenConfig", "CONFIGS", "get"]


@dataclasses.dataclass(frozen=True)
class QwenConfig:
    """One model's decoder shape.

    Field names follow ``config.json``: ``hidden_size``, ``num_hidden_layers``,
    ``num_attention_heads``, ``num_key_value_heads``, ``head_dim``, ``intermediate_size``,
    ``rope_theta``, ``rms_norm_eps``, ``tie_word_embeddings``, ``vocab_size``; ``qkv_bias``
    (Qwen2 projections carry q/k/v biases), ``qk_norm`` (Qwen3's per-head RMSNorm of q
    and k), and for mixture-of-experts models ``num_experts``, ``num_experts_per_tok``,
    ``moe_intermediate_size`` and ``norm_topk_prob``.
    """

    name: str
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    rope_theta: float
    rms_norm_eps: float
    tie_word_embeddings: bool
    vocab_size: int
    qkv_bias: bool
    qk_norm: bool
    source: str
    num_experts: int = 0
    num_experts_per_tok: int = 0
    moe_intermediate_size: int = 0
    norm_topk_prob: bool = False

    @property
    def is_moe(self) -> bool:
        """Whether the MLP is a mixture of experts."""
        return self.num_experts > 0

    @property
    def group(self) -> int:
        """Query heads per KV head (grouped-query attention)."""
        return self.num_attention_heads // self.num_key_value_heads

    def sliced(self, hidden_size: int, intermediate_size: int, moe_intermediate_size: int | None = None,
               num_experts: int | None = None) -> "QwenConfig":
        """This config with smaller hidden/intermediate sizes (and experts): same heads, GQA and head_dim.

        For tests of models too large to emulate at full width.
        """
        return dataclasses.replace(
            self, name=f"{self.name}-sliced", hidden_size=hidden_size, intermediate_size=intermediate_size,
            moe_intermediate_size=self.moe_intermediate_size if moe_intermediate_size is None
            else moe_intermediate_size,
            num_experts=self.num_experts if num_experts is None else num_experts)


_HF = "https://huggingface.co/"

#: Every configured model, by the lower-case name the bench takes.
CONFIGS: dict[str, QwenConfig] = {c.name: c for c in (
    QwenConfig("qwen2.5-0.5b", hidden_size=896, num_hidden_layers=24, num_attention_heads=14,
               num_key_value_heads=2, head_dim=64, intermediate_size=4864, rope_theta=1e6,
               rms_norm_eps=1e-6, tie_word_embeddings=True, vocab_size=151936, qkv_bias=True, qk_norm=False,
               source=_HF + "osllmai-community/Qwen2.5-0.5B/blob/main/config.json (copy of Qwen/Qwen2.5-0.5B; "
               "head_dim = hidden_size / num_attention_heads)"),
    QwenConfig("qwen2.5-7b", hidden_size=3584, num_hidden_layers=28, num_attention_heads=28,
               num_key_value_heads=4, head_dim=128, intermediate_size=18944, rope_theta=1e6,
               rms_norm_eps=1e-6, tie_word_embeddings=False, vocab_size=152064, qkv_bias=True, qk_norm=False,
               source=_HF + "osllmai-community/Qwen2.5-7B-Instruct/blob/main/config.json (copy of "
               "Qwen/Qwen2.5-7B-Instruct, same shape as Qwen2.5-7B; head_dim = hidden_size / num_attention_heads)"),
    QwenConfig("qwen3-0.6b", hidden_size=1024, num_hidden_layers=28, num_attention_heads=16,
               num_key_value_heads=8, head_dim=128, intermediate_size=3072, rope_theta=1e6,
               rms_norm_eps=1e-6, tie_word_embeddings=True, vocab_size=151936, qkv_bias=False, qk_norm=True,
               source=_HF + "bfuzzy1/Railz-R/blame/main/config.json (Qwen3-0.6B's config.json as published)"),
    QwenConfig("qwen3-8b", hidden_size=4096, num_hidden_layers=36, num_attention_heads=32,
               num_key_value_heads=8, head_dim=128, intermediate_size=12288, rope_theta=1e6,
               rms_norm_eps=1e-6, tie_word_embeddings=False, vocab_size=151936, qkv_bias=False, qk_norm=True,
               source=_HF + "thejaminator/qwen-hook-layer-9/commit/478fb720f1f3ced834fce0275b55b2732d438edc "
               "(\"Copy config.json from Qwen/Qwen3-8B\")"),
    QwenConfig("qwen3-30b-a3b", hidden_size=2048, num_hidden_layers=48, num_attention_heads=32,
               num_key_value_heads=4, head_dim=128, intermediate_size=6144, rope_theta=1e6,
               rms_norm_eps=1e-6, tie_word_embeddings=False, vocab_size=151936, qkv_bias=False, qk_norm=True,
               num_experts=128, num_experts_per_tok=8, moe_intermediate_size=768, norm_topk_prob=True,
               source="Qwen/Qwen3-30B-A3B config.json as quoted by brick-house.org (a copy with only layers and "
               "experts reduced) and Ascend MindSpeed-RL configs/model/qwen3_30b_a3b.yaml (48 layers, 128 experts, "
               "top-8, moe_ffn_hidden_size 768, norm_topk_prob true)"),
)}


def get(name: str) -> QwenConfig:
    """The config called ``name`` (case-insensitive); ``ValueError`` listing the known ones otherwise."""
    cfg = CONFIGS.get(name.lower())
    if cfg is None:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(CONFIGS)}")
    return cfg
