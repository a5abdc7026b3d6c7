"""Attention with Zicbop prefetches (the kernel's ``PF``): the results equal float64 NumPy
at every VLEN on odd shapes, and the timing model's profile shows the prefetches doing
their job (the K and V lines come from DRAM ahead of their loads), so that a prefetch
aimed at the wrong rows, too few of them, or none shows up as demand misses in L2 (lines
a load had to wait for from DRAM) and as cycles."""
import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rvai import kernels, ops
from rvai.target import Target
from tests.test_ops import attention_ref

# generic (VLEN >= 128) with Zicbop, so that the prefetches are emitted at every VLEN
ZICBOP = dataclasses.replace(Target.preset("generic"), name="generic-zicbop",
                             features=Target.preset("generic").features + ("+zicbop",))


def _run(target, q, k, v, causal, cfg, width=None, checked=None):
    """kernels.attention with the configuration cfg; the output and the run (``checked``:
    the bounds checks, by default as the environment says: on in the tests)."""
    d, lq, lk = q.shape[2], q.shape[1], k.shape[1]
    q_s, o_s, p, k_t = kernels.attention_scratch(d, lk, cfg["BM"], cfg["LMUL"], target.vlen, lq > 1)
    if width is not None:
        p = np.zeros((p.shape[0], width), np.float32)
    o = np.zeros_like(q)
    run = kernels.attention(q, k, v, o, q_s, o_s, p, k_t, 1 / np.sqrt(d), CAUSAL=causal, TRANSPOSE_K=lq > 1,
                            **cfg, target=target, checked=checked)
    return o, run


def test_the_test_target_emits_prefetches():
    assert "zicbop" in ZICBOP.extensions
    rng = np.random.default_rng(1)
    q = rng.standard_normal((7, 1, 16)).astype(np.float32)
    k, v = (rng.standard_normal((1, 64, 16)).astype(np.float32) for _ in range(2))
    _, run = _run(ZICBOP.with_vlen(128), q, k, v, True, {"BM": 7, "LMUL": 4, "KU": 1, "NB": 1, "PF": 2})
    assert "prefetch.r" in run.compiled.asm


@pytest.mark.parametrize("preset", ["generic", "sifive-x280"])
def test_without_zicbop_prefill_drops_prefetch_settings_and_decode_touches(preset):
    """Off Zicbop, prefill's PF and PD leave no trace (the loops that would issue the
    prefetches are gone, not left to run empty): it compiles to PF 0's code. Decode's
    bring their lines in by touches: more loads than PF 0's code, and no prefetch. With
    Zicbop both prefetch (PD, the distance of K's prefetches, and PK, K's next column
    group, only where K is read in place)."""
    for transpose in (False, True):
        code = [kernels.attention.compile(target, CAUSAL=True, TRANSPOSE_K=transpose, BM=7, LMUL=4, KU=1, NB=2,
                                          PF=pf, PD=pd, PK=pk, checked=False).asm
                for target in (Target.preset(preset), ZICBOP)
                for pf, pd, pk in ((0, 0, 0), (2, 0, 0), (2, 2, 0), (2, 0, 1))]
        if transpose:
            assert code[0] == code[1] == code[2] == code[3]
        else:
            loads = [c.count("\tflw\t") for c in code[:4]]
            assert all(n > loads[0] for n in loads[1:]), loads
        assert not any("prefetch" in c for c in code[:4])
        assert code[4] != code[5] and "prefetch.r" in code[5]
        assert (code[5] != code[6]) == (code[5] != code[7]) == (not transpose)


@pytest.mark.parametrize("vlen", [128, 256, 512, 1024])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), lq=st.sampled_from([1, 1, 2, 7]), lk=st.sampled_from([1, 5, 17, 97, 130]),
       d=st.sampled_from([1, 3, 16, 37, 64]), kv=st.sampled_from([1, 2]), group=st.sampled_from([1, 3, 7]),
       causal=st.booleans(), pf=st.sampled_from([1, 2, 5]), pd=st.sampled_from([0, 1, 3]),
       ku=st.sampled_from([1, 2]), nb=st.sampled_from([1, 4]), width=st.sampled_from([None, 5]),
       pk=st.sampled_from([0, 1]), zicbop=st.booleans())
def test_prefetching_attention_equals_float64(vlen, data, lq, lk, d, kv, group, causal, pf, pd, ku, nb, width, pk,
                                              zicbop):
    """Prime and unit sizes, GQA, causal or not, blocks cut short by a narrow scratch p:
    the prefetches (some past the ends of K and V), or without Zicbop decode's touches
    (loads, which the bounds checks hold inside K and V), change nothing in the result."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    q = rng.uniform(-3, 3, (kv * group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (kv, lk, d)).astype(np.float32) for _ in range(2))
    cfg = {"BM": min(7, group * lq), "LMUL": 4 if ku == 1 else 2, "KU": ku, "NB": nb, "PF": pf, "PD": pd, "PK": pk}
    target = ZICBOP if zicbop else Target.preset("generic")
    o, _ = _run(target.with_vlen(vlen), q, k, v, causal, cfg, width)
    np.testing.assert_allclose(o, attention_ref(q, k, v, causal, 1 / np.sqrt(d)), rtol=1e-4, atol=2e-5)


def test_ops_decode_prefetches_by_default_and_stays_exact():
    """rvai.ops.attention's untuned decode configuration prefetches on a Zicbop target."""
    target = dataclasses.replace(ZICBOP, name="generic-zicbop-untuned").with_vlen(256)
    rng = np.random.default_rng(2)
    q = rng.standard_normal((14, 1, 64)).astype(np.float32)
    k, v = (rng.standard_normal((2, 300, 64)).astype(np.float32) for _ in range(2))
    out = ops.attention(q, k, v, causal=True, target=target)
    np.testing.assert_allclose(out, attention_ref(q, k, v, True, 1 / 8), rtol=1e-4, atol=2e-5)
    assert ops.last_run.profile.caches["prefetches"]["software"] > 0


# ---- the profile: what the prefetches bring in ---------------------------------------

X60 = Target.preset("spacemit-x60")
# without the hardware stride prefetcher, every line of K and V that no software prefetch
# brought in misses L2 on its first load (a demand fetch from DRAM)
X60_NO_HW = dataclasses.replace(X60, name="x60-no-hw-prefetch", model={**X60.model, "prefetch_degree": 0})
LINE_BYTES = 64


def _decode(pf: int, nb: int = 4, lk: int = 512, d: int = 64, pd: int = 0, pk: int = 0, target: Target = X60_NO_HW,
            checked: bool | None = None):
    """One decode step of 14 query / 2 KV heads on ``target``: its profile."""
    rng = np.random.default_rng(3)
    q = rng.standard_normal((14, 1, d)).astype(np.float32)
    k, v = (rng.standard_normal((2, lk, d)).astype(np.float32) for _ in range(2))
    cfg = {"BM": 7, "LMUL": 4, "KU": 1, "NB": nb, "PF": pf, "PD": pd, "PK": pk}
    o, run = _run(target, q, k, v, True, cfg, checked=checked)
    np.testing.assert_allclose(o, attention_ref(q, k, v, True, 1 / np.sqrt(d)), rtol=1e-4, atol=2e-5)
    return run.profile


@pytest.mark.parametrize("d, pd", [(64, 0), (128, 0), (64, 2)])
def test_prefetches_bring_k_and_v_in_ahead_of_their_loads(d, pd):
    """With PF = prefetch_lines (2 at VLEN 256) no load fetches a K/V line from DRAM: every
    line of K and V was prefetched, the first block of each KV head's keys (NB * VLMAX rows
    of K, which no earlier loop prefetches; with PD = 2 the score loop prefetches K two
    chunks ahead, so the first two chunks) at the start of its tile.
    Without prefetches every K and V line is a demand miss in L2 (the stride prefetcher
    is off). Counted from the shapes: a K/V line is 64 bytes of a (lk, d) f32 head."""
    lk, nb, kv = 512, 4, 2
    vlmax = X60.vlen * 4 // 32
    kv_lines = 2 * kv * lk * d * 4 // LINE_BYTES
    first_block = kv * nb * vlmax * d * 4 // LINE_BYTES
    pf = kernels.attention_prefetch_lines(X60.vlen, 4, 1)
    assert pf == 2
    # unchecked: the code that ops runs (a checked build's checks in the loops dilute the gain)
    on, off = _decode(pf, nb, lk, d, pd, checked=False), _decode(0, nb, lk, d, checked=False)
    # q, o and the scratch (q_s, o_s, p) are demand misses too: at most their lines, and
    # a line of slack for each of q's and o's 14 rows that straddle two
    scratch = kernels.attention_scratch(d, lk, 7, 4, X60.vlen, False)[:3]
    other = (2 * 14 * d + sum(a.size for a in scratch)) * 4 // LINE_BYTES + 2 * 14
    assert off.caches["L2"]["misses"] >= kv_lines
    assert on.caches["L2"]["misses"] <= other < first_block
    assert on.caches["prefetches"]["software"] >= kv_lines
    assert on.cycles < 0.5 * off.cycles


def test_too_few_prefetches_leave_misses():
    """PF = 1 covers half of each trip's lines: the other half of K (past the first
    block) and of V are demand misses in L2, and the run takes longer."""
    lk, d, kv = 512, 64, 2
    kv_lines = 2 * kv * lk * d * 4 // LINE_BYTES
    half, full = _decode(1), _decode(2)
    assert half.caches["L2"]["misses"] - full.caches["L2"]["misses"] >= 0.4 * kv_lines
    assert half.cycles > 1.2 * full.cycles


def test_next_group_prefetches_bring_k_into_l1():
    """PK 1 on spacemit-x60 (NB 4: a block's K and V fill its 32 KiB L1, so the K lines the
    P V loop prefetched from DRAM are in L2 by the time the score loop loads them): the
    score loop prefetches each chunk's next 16-column group of K, and at least 3/4 of K's
    lines no longer miss L1 on their load. Timed as shipped, without the tests' bounds
    checks (with them PK 1 ran 214,735 cycles against PK 0's 211,506, since decode's P V
    loop takes one key a trip; without, 178,383 against 184,763)."""
    k_lines = 2 * 512 * 64 * 4 // LINE_BYTES
    off, on = _decode(2, target=X60, checked=False), _decode(2, pk=1, target=X60, checked=False)
    assert off.caches["L1"]["misses"] - on.caches["L1"]["misses"] >= 0.75 * k_lines
    assert on.cycles < off.cycles


def test_prefill_prefetches_each_heads_keys_before_their_transposition():
    """Prefill with PF and PT (K transposed once per KV head): the head's K lines are prefetched
    before the transposition's strided column loads, so none of them is a demand miss in L2
    (the stride prefetcher is off); without prefetches every one is. PF 0 also drops the
    next tile's query prefetches, so the difference is at least K's lines (2 heads of 512 x 64),
    where q's 14 x 2 rows are 112 lines. Counted from the shapes: a line is 64 bytes."""
    lq, lk, d, kv = 2, 512, 64, 2
    k_lines = kv * lk * d * 4 // LINE_BYTES
    rng = np.random.default_rng(5)
    q = rng.standard_normal((14, lq, d)).astype(np.float32)
    k, v = (rng.standard_normal((kv, lk, d)).astype(np.float32) for _ in range(2))
    runs = []
    for pf in (2, 0):
        cfg = {"BM": 7, "LMUL": 4, "KU": 1, "NB": 4, "PF": pf, "PD": 0, "PK": 0, "PT": 1}
        o, run = _run(X60_NO_HW, q, k, v, True, cfg)
        np.testing.assert_allclose(o, attention_ref(q, k, v, True, 1 / np.sqrt(d)), rtol=1e-4, atol=2e-5)
        runs.append(run.profile)
    on, off = runs
    assert off.caches["L2"]["misses"] - on.caches["L2"]["misses"] >= k_lines
    assert on.caches["prefetches"]["software"] >= k_lines


def test_prefill_prefetches_the_first_query_rows_before_their_row_major_build():
    """Prefill with QR (q_s row-major) and QP 4: each tile's first four query rows are
    prefetched before their build, which otherwise found most of them in L2 only (the rows,
    a power of two bytes apart, share L1 sets with the others the tile start prefetched): at
    least half of those lines (64 tiles of 7 heads at d 64, 4 rows of 4 lines each) fewer
    demand misses in L1, and fewer cycles. Counted from the shapes: a line is 64 bytes."""
    lq, d = 32, 64
    tiles = 2 * lq
    rng = np.random.default_rng(7)
    q = rng.standard_normal((14, lq, d)).astype(np.float32)
    k, v = (rng.standard_normal((2, lq, d)).astype(np.float32) for _ in range(2))
    runs = []
    for qp in (4, 0):
        cfg = {"BM": 7, "LMUL": 4, "KU": 1, "NB": 4, "PF": 2, "PD": 0, "PK": 0, "ML": 1, "PV": 1, "PU": 1, "SP": 2,
               "QL": 1, "QR": 1, "QP": qp}
        o, run = _run(X60_NO_HW, q, k, v, True, cfg, checked=False)
        np.testing.assert_allclose(o, attention_ref(q, k, v, True, 1 / np.sqrt(d)), rtol=1e-4, atol=2e-5)
        runs.append(run)
    on, off = runs
    assert off.profile.caches["L1"]["misses"] - on.profile.caches["L1"]["misses"] >= tiles * 4 * d * 4 // LINE_BYTES // 2
    assert on.cycles < off.cycles
