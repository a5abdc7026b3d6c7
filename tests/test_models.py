"""rvai.models: Qwen decoder layers against the float64 NumPy layer, sampling against full runs, the bench.

Every configured model runs with its real head count, KV heads (GQA) and head_dim. The
two small models (Qwen2.5-0.5B, Qwen3-0.6B) also keep their real hidden and
intermediate sizes; the large ones (Qwen2.5-7B, Qwen3-8B, Qwen3-30B-A3B) are sliced to
hidden 256 and intermediate 512 (MoE: expert width 64, all 128 experts, top-8), because
their full weights would take minutes to emulate per test. Sequences are short: a
prefill of 3 tokens, then a decode of 1 against the cache the prefill filled.
Relative error is max |rvai - float64| / max |float64|.
"""
import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rvai.models import CONFIGS, Costs, DecoderLayer, KVCache, QwenConfig, get, reference_layer
from rvai.models.layer import ERROR_BOUNDS
from rvai.models.predict import predict
from rvai.target import Target

SMALL = ("qwen2.5-0.5b", "qwen3-0.6b")

ROOT = Path(__file__).resolve().parents[1]


def test_config(name: str) -> QwenConfig:
    """The config a layer test runs: real for the small models, sliced widths for the large."""
    cfg = get(name)
    return cfg if name in SMALL else cfg.sliced(256, 512, 64)


test_config.__test__ = False


def rel_err(got, want):
    return float(np.abs(got - want).max() / np.abs(want).max())


def prefill_then_decode(cfg, dtype, vlen, prefill=3, past=0, seed=0):
    """Run a layer on a prefill and then one decode token; compare each with the float64 layer."""
    target = Target.preset("generic").with_vlen(vlen)
    layer = DecoderLayer(cfg, dtype, seed)
    rng = np.random.default_rng(seed)
    cache = KVCache.random(cfg, past, seed)
    errs = []
    for tokens in (prefill, 1):
        x = rng.standard_normal((tokens, cfg.hidden_size), np.float32)
        past_k, past_v = cache.k.copy(), cache.v.copy()
        out = layer.forward(x, cache, target=target)
        assert out.shape == x.shape and out.dtype == np.float32
        errs.append(rel_err(out, reference_layer(layer.weights, x, past_k, past_v)))
    assert cache.length == past + prefill + 1
    return errs


# Each model and dtype at one VLEN, the two taking turns so that each dtype meets both
# (the whole product compiled every layer's kernels twice).
@pytest.mark.parametrize("name, dtype, vlen", [(name, dtype, (128, 512)[(i + j) % 2])
                                               for i, name in enumerate(sorted(CONFIGS))
                                               for j, dtype in enumerate(["f32", "f16", "bf16", "int8"])])
def test_every_model_matches_float64(name, vlen, dtype):
    """Each dtype within its stated bound (f32 1e-4, f16 2e-3, bf16 2e-2, int8 4e-2: the
    projections' inputs are rounded to the weights' kind; the oracle has the same weights)."""
    errs = prefill_then_decode(test_config(name), dtype, vlen)
    assert max(errs) <= ERROR_BOUNDS[dtype], errs
    if dtype != "f32":    # the path really rounds (the bound is not met trivially by f32 arithmetic)
        assert max(errs) > ERROR_BOUNDS["f32"] / 10, errs


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kv=st.sampled_from([1, 2]), group=st.sampled_from([1, 3]), d=st.sampled_from([32, 64]),
       hidden=st.sampled_from([48, 96]), bias=st.booleans(), qk_norm=st.booleans(), moe=st.booleans(),
       dtype=st.sampled_from(["f32", "f16", "bf16", "int8"]), vlen=st.sampled_from([128, 256, 512, 1024]),
       prefill=st.integers(1, 5), past=st.integers(0, 9), seed=st.integers(0, 2 ** 16))
def test_layer_structures_match_float64(kv, group, d, hidden, bias, qk_norm, moe, dtype, vlen, prefill, past, seed):
    """Small synthetic configs: every combination of GQA, bias, q/k norm, MoE, dtype, VLEN, cache length.

    MoE runs with f32 and f16 weights only: bf16/int8 rounding upstream moves the
    router's input by about 1e-3 relative, which can swap two experts whose random gates
    are that close, and the oracle then sums different experts (no rounding bound covers it).
    """
    moe = moe and dtype in ("f32", "f16")
    cfg = QwenConfig("synthetic", hidden_size=hidden, num_hidden_layers=1, num_attention_heads=kv * group,
                     num_key_value_heads=kv, head_dim=d, intermediate_size=80, rope_theta=1e4, rms_norm_eps=1e-6,
                     tie_word_embeddings=False, vocab_size=100, qkv_bias=bias, qk_norm=qk_norm, source="test",
                     num_experts=6 if moe else 0, num_experts_per_tok=2 if moe else 0,
                     moe_intermediate_size=24 if moe else 0, norm_topk_prob=moe and seed % 2 == 0)
    assert max(prefill_then_decode(cfg, dtype, vlen, prefill, past, seed)) <= ERROR_BOUNDS[dtype]


def test_unsupported_weights_and_models_raise():
    with pytest.raises(ValueError, match="unknown weight dtype 'int4'; choose from f32, f16, bf16, int8"):
        DecoderLayer(get("qwen3-0.6b"), "int4")
    with pytest.raises(ValueError, match="known: "):
        get("qwen4")
    with pytest.raises(ValueError, match=r"x must be \(tokens, 896\)"):
        DecoderLayer(get("qwen2.5-0.5b")).forward(np.zeros((2, 895)), KVCache(get("qwen2.5-0.5b")))


@pytest.mark.parametrize("checked", [True, False], ids=["checked", "unchecked"])
@pytest.mark.parametrize("name,tokens,past,max_macs,preset", [
    ("qwen2.5-0.5b", 8, 64, 1e5, "spacemit-x60"), ("qwen2.5-0.5b", 1, 300, 1e5, "spacemit-x60"),
    ("qwen2.5-0.5b", 32, 0, 1e6, "xuantie-c930"), ("qwen2.5-7b", 1, 300, 1e5, "spacemit-x60"),
    ("qwen3-30b-a3b", 12, 16, 1e12, "spacemit-x60")])
def test_sampled_estimate_within_5_percent_of_full_run(name, tokens, past, max_macs, preset, checked, monkeypatch):
    """Slices scaled up (GEMM columns, KV heads; MoE: one expert per token count) against the whole layer,
    with the kernels checked (as the suite runs them) and unchecked (as shipped: another schedule).

    Attention samples KV heads only where running g and 2g of them is cheaper than all
    (Qwen2.5-7B's 4; Qwen2.5-0.5B's 2 run in full). The MoE case samples experts only (a
    limit no operator reaches): slicing the projections before the router would change
    the values it routes by, and so which experts run, which is a different layer rather
    than an error of the estimate.
    """
    monkeypatch.setenv("RVAI_CHECKED", "1" if checked else "0")
    cfg, target = test_config(name), Target.preset(preset)
    x = np.random.default_rng(1).standard_normal((tokens, cfg.hidden_size), np.float32)
    runs = {}
    for limit in (None, max_macs):
        costs = Costs(limit)
        DecoderLayer(cfg, "f32", 3).forward(x, KVCache.random(cfg, past, 3), target=target, costs=costs)
        runs[limit] = costs
    full, sampled = runs[None], runs[max_macs]
    assert not full.sampled
    if cfg.is_moe:
        assert sampled.ops["expert_gate_up_proj"].calls < full.ops["expert_gate_up_proj"].calls
        assert "expert_down_proj" in sampled.sampled
    else:
        assert any(op.endswith("_proj") for op in sampled.sampled)
        assert ("attention" in sampled.sampled) == (cfg.num_key_value_heads > 2)
    assert abs(sampled.cycles / full.cycles - 1) <= 0.05
    for op in sampled.sampled:
        assert abs(sampled.ops[op].cycles / full.ops[op].cycles - 1) <= 0.05, op


def test_bench_table_json_and_plot(tmp_path):
    """bench/qwen.py as a user runs it: the table, the JSON keys, the PNG; counters against first principles."""
    pytest.importorskip("matplotlib")
    js, png = tmp_path / "out.json", tmp_path / "out.png"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "qwen.py"), "--model", "qwen2.5-0.5b",
                           "--target", "spacemit-x60", "--phase", "decode", "--context", "16",
                           "--json", str(js), "--plot", str(png), "--resources"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))    # this checkout's rvai
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, done.stderr
    # --resources: the process's own account, against the kernel's for the child seen from here
    # (taken before its exit, so no more) and the layer's f32 gate_up and down weights it held (so no less).
    user, system, rss = map(float, re.search(r"\(process: user (\S+) s, system (\S+) s, peak RSS (\S+) MiB\)",
                                             done.stdout).groups())
    assert 0 < user <= after.ru_utime - before.ru_utime + 0.01
    assert 0 <= system <= after.ru_stime - before.ru_stime + 0.01
    cfg = get("qwen2.5-0.5b")
    weights = 4 * cfg.hidden_size * 3 * cfg.intermediate_size / 2**20   # gate_up (2 of K x N) and down, MiB
    assert weights <= rss <= after.ru_maxrss / 1024 + 1
    data = json.loads(js.read_text())
    assert {"model", "target", "phase", "cycles_per_layer", "tokens_per_s", "ops"} <= set(data)
    assert data["model"] == "qwen2.5-0.5b" and data["target"] == "spacemit-x60" and data["phase"] == "decode"
    ops = {op["name"]: op for op in data["ops"]}
    for op in ops.values():
        assert {"name", "cycles", "flops", "bytes"} <= set(op) and op["name"] in done.stdout
    k, n = cfg.hidden_size, (cfg.num_attention_heads + 2 * cfg.num_key_value_heads) * cfg.head_dim
    assert 2 * k * n <= ops["qkv_proj"]["flops"] <= 2 * (k + 1) * n   # one token: 2*K*N (+ adding into C)
    assert ops["qkv_proj"]["bytes"] >= 4 * k * n                  # every f32 weight read from DRAM once
    assert ops["gate_up_proj"]["bound"] == "memory"                # a GEMV reads 2 bytes per FLOP
    assert "tokens/s" in done.stdout and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_predict_counts_layers_and_head():
    """A step is layers x one layer plus embedding, final norm and LM head, at the preset's clock."""
    cfg, target = get("qwen3-0.6b").sliced(128, 256), Target.preset("xuantie-c930")
    pred = predict(cfg, target, "prefill", tokens=4, context=2)
    assert pred.tokens == 4 and set(pred.head.ops) == {"embedding", "final_norm", "lm_head"}
    assert pred.cycles_per_step == pytest.approx(cfg.num_hidden_layers * pred.layer.cycles + pred.head.cycles)
    assert pred.tokens_per_s == pytest.approx(4 * 2.8e9 / pred.cycles_per_step)
    assert predict(cfg, target, "decode", tokens=4).tokens == 1
    with pytest.raises(ValueError, match="phase"):
        predict(cfg, target, "train")

