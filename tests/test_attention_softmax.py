"""Attention's online softmax against float64 NumPy: a decode block's maximum, and prefill's
folded a chunk late (ML), takes in every chunk of the block, wherever the largest score
lies, the fast exp (``EXP="fast"``) stays within the error bound derived from its exp's,
what the scratch held before a call never reaches its output, the P V loop's row sums
take each key once, the loop unrolled by LLVM or kept rolled (PU) or with its scalars loaded a
trip ahead (PP; SA the score loop's), and the exp pass at its own LMUL (EL) leaves no key out; one-block
tiles' 1/sum by Newton steps (NR) within an ulp of the division; the queries stored by segment stores (QS)
bit-equal to the strided ones."""
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kernel_runners import run
import rvai.lang as rl
from rvai import kernels, ops
from rvai.kernels.attention import FAST_EXP_ERROR, RECIPROCAL_FLOOR, _inverses
from rvai.target import Target
from tests.test_attention_prefetch import ZICBOP
from tests.test_lang_math import ulps
from tests.test_ops import attention_ref


@pytest.mark.parametrize("vlen", [128, 256, 512, 1024])
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), nb=st.sampled_from([4, 8]), lk=st.sampled_from([1, 37, 70, 131, 301]),
       d=st.sampled_from([1, 2, 7, 64]), group=st.sampled_from([1, 3, 7]))
def test_decode_block_maximum_from_any_chunk(vlen, data, nb, lk, d, group):
    """One key scores 200-400, the others below 2: the first key, either side of the first
    and the last chunk boundary, the last key (often a block's short tail) or a drawn one. A
    block maximum that left out the chunk holding it would put exp's argument that far
    above 0, where f32's exp overflows (up to about 88 the softmax's normalisation hides a
    low maximum). Blocks of NB >= 4 chunks take their maxima from the stored scores after
    the chunks, the short last chunk apart."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    q = rng.uniform(0.5, 1.0, (group, 1, d)).astype(np.float32)
    k0, v = (rng.uniform(-1, 1, (1, lk, d)).astype(np.float32) for _ in range(2))
    bm = min(7, group)
    q_s, o_s, p, k_t = kernels.attention_scratch(d, lk, bm, 4, vlen, False)
    chunk = vlen * 4 // 32
    tail = (lk - 1) // chunk * chunk      # the first key of the last chunk
    edges = {0, chunk - 1, chunk, tail - 1, tail, lk - 1, data.draw(st.integers(0, lk - 1))}
    for pos in sorted(e for e in edges if 0 <= e < lk):
        k = k0.copy()
        k[0, pos] = 400 / np.sqrt(d)     # its score, 400 * mean(q), is 200-400; the others' below 2
        o = np.zeros_like(q)
        run(kernels.attention, q, k, v, o, q_s, o_s, p, k_t, 1 / np.sqrt(d), CAUSAL=True, TRANSPOSE_K=False,
            BM=bm, LMUL=4, KU=1, NB=nb, PF=0, PD=0, runner="emu", vlen=vlen)
        np.testing.assert_allclose(o, attention_ref(q, k, v, True, 1 / np.sqrt(d)), rtol=1e-4, atol=2e-5,
                                   err_msg=f"largest score at key {pos}")


@pytest.mark.parametrize("vlen", [128, 256, 512, 1024])
@pytest.mark.parametrize("pv, mx", [(0, 0), (1, 0), (1, 1)])
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), nb=st.sampled_from([1, 2, 4]), lq=st.sampled_from([2, 9]), lk=st.sampled_from([37, 131, 301]),
       d=st.sampled_from([1, 7, 64]), group=st.sampled_from([1, 3, 7]))
def test_late_maxima_take_in_every_chunk(vlen, pv, mx, data, nb, lq, lk, d, group):
    """ML 1 (prefill: each chunk's row maxima folded into the block's at the next chunk's
    start, the last chunk's after the loop), with either P V shape (PV), and with the chunk
    maxima by reductions or by a tree of slides (MX 1: chunks of every length, the short
    last ones odd at most steps), against float64:
    one key scores 200-400 and the others below 2, the key at the first key, either side
    of the first chunk boundary and of a block's last chunk, the last key or a drawn one.
    A block maximum that left out the chunk holding it would put exp's argument that far
    above 0, where f32's exp overflows. Causal with Lq <= Lk, so every row sees key 0 and
    the last query every key."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    q = rng.uniform(0.5, 1.0, (group, lq, d)).astype(np.float32)
    k0, v = (rng.uniform(-1, 1, (1, lk, d)).astype(np.float32) for _ in range(2))
    bm = min(7, group * lq)
    q_s, o_s, p, k_t = kernels.attention_scratch(d, lk, bm, 4, vlen, True)
    chunk = vlen * 4 // 32
    block = nb * chunk
    edges = {0, chunk - 1, chunk, block - chunk - 1, block - chunk, block - 1, lk - 1,
             data.draw(st.integers(0, lk - 1))}
    for pos in sorted(e for e in edges if 0 <= e < lk):
        k = k0.copy()
        k[0, pos] = 400 / np.sqrt(d)     # its score, 400 * mean(q), is 200-400; the others' below 2
        o = np.zeros_like(q)
        run(kernels.attention, q, k, v, o, q_s, o_s, p, k_t, 1 / np.sqrt(d), CAUSAL=True, TRANSPOSE_K=True,
            BM=bm, LMUL=4, KU=1, NB=nb, ML=1, PV=pv, MX=mx, runner="emu", vlen=vlen)
        np.testing.assert_allclose(o, attention_ref(q, k, v, True, 1 / np.sqrt(d)), rtol=1e-4, atol=2e-5,
                                   err_msg=f"largest score at key {pos}")


@pytest.mark.parametrize("vlen", [128, 256, 512, 1024])
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), cfg=st.sampled_from(kernels.attention.autotune.configs), lq=st.sampled_from([1, 1, 2, 7, 13]),
       lk=st.sampled_from([1, 5, 17, 61, 131]), d=st.sampled_from([1, 3, 16, 37, 64]), kv=st.sampled_from([1, 2]),
       group=st.sampled_from([1, 3, 7]), causal=st.booleans(), width=st.sampled_from([None, 3, 20]))
def test_fast_exp_attention_is_within_its_bound(vlen, data, cfg, lq, lk, d, kv, group, causal, width):
    """EXP="fast" (every tuning candidate, prefill and decode, GQA, causal or not, blocks cut
    short by a narrow p so that rows cross many blocks) against float64. Each probability
    is within a relative eps = FAST_EXP_ERROR (rvai.lang.exp_fast's bound, the subtraction
    of the maximum folded in), the scale of each block's probabilities is carried exactly
    to the next block (2**(bias difference)), so an output o = sum p_j v_j / sum p_j is
    off by at most eps / (1 - eps) * max_j |v_j - o| <= 2 eps max|v| / (1 - eps), plus the
    f32 rounding the accurate kernel's tolerance (2e-5 at |v| <= 3) allows."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    q = rng.uniform(-3, 3, (kv * group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (kv, lk, d)).astype(np.float32) for _ in range(2))
    q_s, o_s, p, k_t = kernels.attention_scratch(d, lk, cfg["BM"], cfg["LMUL"], vlen, lq > 1)
    if width is not None:
        p = np.zeros((p.shape[0], width), np.float32)
    o = np.zeros_like(q)
    run(kernels.attention, q, k, v, o, q_s, o_s, p, k_t, 1 / np.sqrt(d), CAUSAL=causal, TRANSPOSE_K=lq > 1,
        EXP="fast", **cfg, runner="emu", vlen=vlen)
    eps = FAST_EXP_ERROR
    bound = 2 * eps / (1 - eps) * np.abs(v).max() + 2e-5
    err = np.abs(o - attention_ref(q, k, v, causal, 1 / np.sqrt(d)))
    assert err.max() <= bound, f"error {err.max():.3g} above the bound {bound:.3g}"


@pytest.mark.parametrize("vlen", [128, 256, 512, 1024])
@pytest.mark.parametrize("exp", ["accurate", "fast"])
@pytest.mark.parametrize("lq, lk, width", [(9, 4, None), (13, 40, 3), (1, 40, 3)])
@pytest.mark.parametrize("pv", [0, 1])
def test_scratch_contents_never_reach_the_output(vlen, exp, lq, lk, width, pv):
    """In prefill a tile's first block starts its sums and outputs from zero instead of
    reading o_s back (nothing zeroes o_s at the tile's start there; decode's tiles do): so
    with q_s, o_s and p full of NaN before the call, every output still matches float64
    (the fast exp within its bound, as above), the rows that see no key (causal, Lq > Lk,
    where the first block has no keys) are 0, and the rows of many blocks (a narrow p) read
    back only what their earlier blocks wrote. Decode's row sums, and prefill's with PV 1,
    come from the P V loop (each block's added to the rescaled running sum)."""
    rng = np.random.default_rng(lq * 100 + lk)
    kv, group, d, bm = 2, 3, 7, 7
    q = rng.uniform(-3, 3, (kv * group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (kv, lk, d)).astype(np.float32) for _ in range(2))
    o = run_on_nan_scratch(q, k, v, bm, width, vlen, exp, NB=4, PV=pv)
    assert not o[:, :max(lq - lk, 0)].any()


def run_on_nan_scratch(q, k, v, bm, width, vlen, exp, **config):
    """Causal attention of q over k, v by the kernel at ``vlen`` with tiles of ``bm`` rows,
    ``config`` and q_s, o_s and p (``width`` columns wide, if not None) full of NaN; its
    output, checked against float64 (the fast exp within its bound)."""
    lq, d = q.shape[1], q.shape[2]
    q_s, o_s, p, k_t = kernels.attention_scratch(d, k.shape[1], bm, 4, vlen, lq > 1)
    if width is not None:
        p = np.zeros((p.shape[0], width), np.float32)
    for scratch in (q_s, o_s, p):
        scratch[...] = np.nan
    o = np.zeros_like(q)
    run(kernels.attention, q, k, v, o, q_s, o_s, p, k_t, 1 / np.sqrt(d), CAUSAL=True, TRANSPOSE_K=lq > 1,
        BM=bm, LMUL=4, KU=1, EXP=exp, runner="emu", vlen=vlen, **config)
    eps = FAST_EXP_ERROR
    atol = 2 * eps / (1 - eps) * np.abs(v).max() + 2e-5 if exp == "fast" else 2e-5
    np.testing.assert_allclose(o, attention_ref(q, k, v, True, 1 / np.sqrt(d)),
                               rtol=0 if exp == "fast" else 1e-4, atol=atol)
    return o


@pytest.mark.parametrize("vlen", [128, 256, 512, 1024])
@pytest.mark.parametrize("exp", ["accurate", "fast"])
@pytest.mark.parametrize("width", [None, 20])
@pytest.mark.parametrize("lq, nb, group", [(13, 1, 3), (1, 1, 3), (1, 8, 7)])
@pytest.mark.parametrize("pu", [0, 1])
def test_pv_row_sums_take_each_key_once(vlen, exp, width, lq, nb, group, pu):
    """Decode's row sums, and prefill's with PV 1, come from the P V loop's first chunk of
    the head dim, not from the exp pass: at d 64 the head dim is 1-4 chunks (VLEN 1024-128;
    decode's 3-row tiles take LMUL 8, 1-2 chunks), the keys of a row one or many blocks (a
    narrow p; decode's blocks of NB 8 chunks take their maxima after the score loop), the
    scratch full of NaN, the P V loop unrolled by LLVM or kept rolled (PU). A sum taken in every
    chunk, or a block's sum added without the rescale of the earlier ones, is off by far
    more than float64's tolerance."""
    rng = np.random.default_rng(vlen)
    kv, lk, d = 2, 61, 64
    q = rng.uniform(-3, 3, (kv * group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (kv, lk, d)).astype(np.float32) for _ in range(2))
    run_on_nan_scratch(q, k, v, min(7, group * lq), width, vlen, exp, NB=nb, ML=1, PV=1, PU=pu)


@pytest.mark.parametrize("vlen", [128, 256, 512, 1024])
@pytest.mark.parametrize("exp", ["accurate", "fast"])
@pytest.mark.parametrize("kv, group, lq, lk, nb",
                         [(2, 7, 3, 3, 4), (1, 3, 9, 40, 1), (2, 1, 5, 5, 4), (3, 2, 11, 7, 1)])
@pytest.mark.parametrize("qa", [1, 2])
def test_next_tiles_queries_are_their_own(vlen, exp, kv, group, lq, lk, nb, qa):
    """QA 1 stores each whole tile's queries during the tile before (QA 2 after its first
    block's P V loop rather than before it), into the half of q_s
    that tile does not read: KV heads of 1-3 whole 7-row tiles, with or without one-row tiles
    after them (none whole at group 1, Lq 5), a tile's keys in one block or many (NB 1), K
    shorter than the queries (bottom-right causal: rows that see no key), the scratch full of
    NaN. Against float64, and bit-equal to QA 0 (the same arithmetic): a tile reading the
    queries of another, or a half not yet written, is off by far more."""
    rng = np.random.default_rng(lq * vlen)
    d = 16
    q = rng.uniform(-3, 3, (kv * group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (kv, lk, d)).astype(np.float32) for _ in range(2))
    ahead, start = (run_on_nan_scratch(q, k, v, 7, None, vlen, exp, NB=nb, ML=1, PV=1, PU=1, QA=a) for a in (qa, 0))
    np.testing.assert_array_equal(ahead, start)


@pytest.mark.parametrize("vlen", [128, 256, 512, 1024])
@pytest.mark.parametrize("exp", ["accurate", "fast"])
@pytest.mark.parametrize("el", [1, 8])
@pytest.mark.parametrize("lq, lk, nb", [(9, 9, 4), (40, 40, 4), (23, 150, 1), (150, 150, 8)])
def test_exp_pass_at_its_own_lmul(vlen, exp, el, lq, lk, nb):
    """EL runs prefill's exp pass at its own LMUL, not the chunks' (4): blocks of one chunk
    or many (NB 1-8), a short last trip of the pass or none, rows that see a few keys or
    hundreds, the scratch full of NaN. Against float64, and bit-equal to EL 0 (the exp is
    elementwise): a key the pass left out keeps its score, not its probability."""
    rng = np.random.default_rng(lq * vlen + el)
    d = 16
    q = rng.uniform(-3, 3, (7, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (1, lk, d)).astype(np.float32) for _ in range(2))
    own, chunks = (run_on_nan_scratch(q, k, v, 7, None, vlen, exp, NB=nb, ML=1, PV=1, PU=1, EL=e) for e in (el, 0))
    np.testing.assert_array_equal(own, chunks)


@pytest.mark.parametrize("vlen", [128, 256, 1024])
@pytest.mark.parametrize("kv, group, lq, lk, qa", [(2, 7, 3, 3, 1), (1, 3, 9, 40, 0), (3, 2, 11, 7, 1), (2, 7, 1, 30, 0)])
def test_score_columns_loaded_first_are_the_same(vlen, kv, group, lq, lk, qa):
    """QL 1 loads a score-loop column's scalars of q_s before its FMAs: the same products in
    the same order, so bit-equal to QL 0 and within float64's tolerance, for prefill (with and
    without QA, tiles of 7 rows and one-row tiles, rows that see no key) and decode (one query)."""
    rng = np.random.default_rng(lq * vlen + lk)
    d = 24
    q = rng.uniform(-3, 3, (kv * group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (kv, lk, d)).astype(np.float32) for _ in range(2))
    first, inline = (run_on_nan_scratch(q, k, v, 7, None, vlen, "accurate", NB=4, ML=1, PV=1, PU=1, QA=qa, QL=ql)
                     for ql in (1, 0))
    np.testing.assert_array_equal(first, inline)


@settings(max_examples=10, deadline=None)
@given(vlen=st.sampled_from([128, 256, 512, 1024]), kv=st.integers(1, 2), group=st.sampled_from([1, 3, 7]),
       lq=st.sampled_from([1, 2, 9, 20]), extra=st.sampled_from([0, 5, 40]), d=st.sampled_from([5, 16, 24, 64]),
       qa=st.integers(0, 1), ql=st.integers(0, 1))
def test_row_major_queries_are_the_same(vlen, kv, group, lq, extra, d, qa, ql):
    """QR 1 keeps a prefill tile's scaled queries in q_s row-major, not transposed: the same
    products in the same order, so bit-equal to QR 0 and within float64's tolerance (tiles of
    7 rows and one-row tiles, QA's two halves, QL, rows that see no key when Lq > Lk, the
    scratch full of NaN), and decode (one query, K read in place) ignores it."""
    rng = np.random.default_rng(lq * vlen + d)
    lk = max(lq + extra - 3, 1)
    q = rng.uniform(-3, 3, (kv * group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (kv, lk, d)).astype(np.float32) for _ in range(2))
    rows, cols = (run_on_nan_scratch(q, k, v, 7, None, vlen, "accurate", NB=4, ML=1, PV=1, PU=1, QA=qa, QL=ql,
                                     QR=qr) for qr in (1, 0))
    np.testing.assert_array_equal(rows, cols)


@settings(max_examples=12, deadline=None)
@given(vlen=st.sampled_from([128, 256, 512, 1024]), kv=st.integers(1, 2), group=st.sampled_from([1, 3, 7]),
       lq=st.sampled_from([2, 9, 20]), extra=st.sampled_from([0, 5, 40]), d=st.sampled_from([5, 16, 24, 64]),
       causal=st.booleans(), nb=st.sampled_from([1, 4]), qa=st.integers(0, 2), qr=st.integers(0, 1),
       qp=st.integers(0, 8))
def test_one_block_tiles_write_their_outputs_from_the_pv_loop(vlen, kv, group, lq, extra, d, causal, nb, qa, qr, qp):
    """OD 1: a prefill tile whose rows see the same keys, one block of them, writes o from its
    P V loop, normalised; the other tiles (rows of several queries, keys over many blocks, NB 1)
    run as before. The same operations in the same order, so bit-equal to OD 0 and within
    float64's tolerance (rows that see no key when Lq > Lk, non-causal, QA's and QR's queries,
    QP's prefetches of QR's rows, the scratch full of NaN), on a target with Zicbop."""
    rng = np.random.default_rng(lq * vlen + d)
    lk = max(lq + extra - 3, 1)
    q = rng.uniform(-3, 3, (kv * group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (kv, lk, d)).astype(np.float32) for _ in range(2))
    target = ZICBOP.with_vlen(vlen)
    outs = []
    for od, p_rows in ((1, qp), (0, 0)):
        q_s, o_s, p, k_t = kernels.attention_scratch(d, lk, 7, 4, vlen, True)
        for scratch in (q_s, o_s, p):
            scratch[...] = np.nan
        o = np.zeros_like(q)
        kernels.attention(q, k, v, o, q_s, o_s, p, k_t, 1 / np.sqrt(d), CAUSAL=causal, TRANSPOSE_K=True, BM=7,
                          LMUL=4, KU=1, NB=nb, PF=2, ML=1, PV=1, PU=1, QA=qa, QR=qr, OD=od, QP=p_rows, target=target)
        np.testing.assert_allclose(o, attention_ref(q, k, v, causal, 1 / np.sqrt(d)), rtol=1e-4, atol=2e-5)
        outs.append(o)
    np.testing.assert_array_equal(*outs)


@pytest.mark.parametrize("vlen", [128, 256, 1024])
@pytest.mark.parametrize("sp, el", [(1, 0), (2, 0), (2, 8)])
@pytest.mark.parametrize("lq, lk, nb", [(9, 9, 4), (23, 150, 1), (150, 150, 8)])
def test_exp_addends_as_bound_splats(vlen, sp, el, lq, lk, nb):
    """SP gives prefill's accurate exp its addends as vl-bound splats, made in each trip
    (SP 1; SP 2 makes the rounding constant's once before the exp pass's loop, whose vl must
    cover every trip's, the short last one too): against float64, and bit-equal to SP 0
    (the same constants)."""
    rng = np.random.default_rng(lq * vlen + sp)
    d = 16
    q = rng.uniform(-3, 3, (7, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (1, lk, d)).astype(np.float32) for _ in range(2))
    bound, generic = (run_on_nan_scratch(q, k, v, 7, None, vlen, "accurate", NB=nb, ML=1, PV=1, PU=1, EL=el, SP=s)
                      for s in (sp, 0))
    np.testing.assert_array_equal(bound, generic)


@pytest.mark.parametrize("preset", ["xuantie-c930", "spacemit-x60"])
def test_pu_keeps_the_pv_loop_rolled(preset):
    """PU 1 compiles the P V loop without LLVM's unrolled copies (sifive-p670's preferences
    unroll it four keys a trip): fewer vfmacc.vf in the prefill kernel."""
    target = Target.preset(preset)
    fmas = [kernels.attention.compile(target, CAUSAL=True, TRANSPOSE_K=True, BM=7, LMUL=4, KU=1, NB=4, ML=1, PV=1,
                                      PU=pu, checked=False).asm.count("\tvfmacc.vf\t") for pu in (0, 1)]
    assert fmas[1] < fmas[0], fmas


_SP, _FLAG, _COUNT = "one of [0, 1, 2]", "one of [0, 1]", "a whole number >= 0"   # _SP: QA's too
_QD = "one of [0, 1, 2, 3, 4]"


@pytest.mark.parametrize("name, bad, allowed", [
    ("SP", 3, _SP), ("SP", -1, _SP), ("SP", 1.5, _SP), ("QA", 7, _SP), ("PF", -1, _COUNT), ("PD", 0.5, _COUNT),
    ("QP", -1, _COUNT), ("QA", 3, _SP), ("QA", -1, _SP), ("QD", 5, _QD), ("QD", -1, _QD),
    *[(flag, 2, _FLAG) for flag in ("PK", "ML", "PV", "PR", "MX", "PU", "QL", "PT", "QR", "OD", "PP", "SA", "NR",
                                    "EO", "QS", "QW", "RS", "KS")]])
@pytest.mark.parametrize("kernel, grid", [(kernels.attention, False), (kernels.attention_harts.attention_grid, True)])
def test_attention_names_a_bad_tunable(name, bad, allowed, kernel, grid):
    """SP and QA are 0, 1 or 2 (each makes other code), the on/off flags 0 or 1, PF and PD whole numbers >= 0:
    anything else is named at trace, not run as another value (QA 7 as QA 1); by the many-hart
    kernel too, though it does not apply QA, PT and QR."""
    config = dict(CAUSAL=True, TRANSPOSE_K=True, BM=7, LMUL=4, KU=1, NB=4, ML=1, PV=1, PU=1)
    config[name] = bad
    with pytest.raises(rl.KernelError, match=re.escape(f"{name} must be {allowed}") + ".*" + re.escape(repr(bad))):
        kernel.compile(Target.preset("xuantie-c930"), **config, checked=False, grid=grid)


@settings(max_examples=8, deadline=None)
@given(vlen=st.sampled_from([128, 256, 512, 1024]), bm=st.sampled_from([7, 3]), group=st.sampled_from([1, 7]),
       lq=st.sampled_from([1, 2, 9, 20]), extra=st.sampled_from([0, 5, 150]), d=st.sampled_from([1, 5, 16, 64]),
       nb=st.sampled_from([1, 4]), exp=st.sampled_from(["accurate", "fast"]), sp=st.sampled_from([0, 2]),
       el=st.sampled_from([0, 8]), od=st.integers(0, 1), qr=st.integers(0, 1))
def test_unpaired_row_exps_at_lmul_8_are_the_same(vlen, bm, group, lq, extra, d, nb, exp, sp, el, od, qr):
    """EO 1 runs the exp pass of a tile's row without a pair (the last of an odd BM, and the
    one-row tiles) at LMUL 8: the same operations on each score, so bit-equal to EO 0 and within
    float64's tolerance (short and long blocks, the addends as splats or not, the pass at EL 8,
    OD's one-block tiles, q_s row-major, rows that see no key when Lq > Lk, NaN-filled scratch;
    decode ignores it)."""
    rng = np.random.default_rng(lq * vlen + d + extra + bm)
    lk = max(lq + extra - 3, 1)
    q = rng.uniform(-3, 3, (group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (1, lk, d)).astype(np.float32) for _ in range(2))
    wide, paired = (run_on_nan_scratch(q, k, v, bm, None, vlen, exp, NB=nb, ML=1, PV=1, PU=1, SP=sp, EL=el, OD=od,
                                       QR=qr, EO=eo) for eo in (1, 0))
    np.testing.assert_array_equal(wide, paired)


@settings(max_examples=8, deadline=None)
@given(vlen=st.sampled_from([128, 256, 512, 1024]), bm=st.sampled_from([7, 3]), kv=st.integers(1, 2),
       group=st.sampled_from([1, 3, 7]), lq=st.sampled_from([1, 2, 9, 20]), extra=st.sampled_from([0, 5, 150]),
       d=st.sampled_from([1, 5, 16, 64, 72]), nb=st.sampled_from([1, 4]), exp=st.sampled_from(["accurate", "fast"]),
       qa=st.integers(0, 2), qr=st.integers(0, 1), od=st.integers(0, 1), form=st.sampled_from(["QS", "QW"]))
def test_queries_by_segment_stores_are_the_same(vlen, bm, kv, group, lq, extra, d, nb, exp, qa, qr, od, form):
    """QS 1 stores a tile's scaled queries into q_s, viewed as (2d, BM), by segment stores (a row
    of BM queries a head-dim element), QW 1 by the strided stores into that view: the same values
    in the same places, so bit-equal to QS 0 and QW 0 and within float64's tolerance (BM 7 and 3 on
    scratch BM' 7 wide, head dims whose last trip is short, QA's next tiles, QR (which both leave
    to its own stores), OD, one-row tiles, decode, which ignores them, NaN-filled scratch)."""
    rng = np.random.default_rng(lq * vlen + d + extra + bm + kv)
    lk = max(lq + extra - 3, 1)
    q = rng.uniform(-3, 3, (kv * group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (kv, lk, d)).astype(np.float32) for _ in range(2))
    segments, strided = (run_on_nan_scratch(q, k, v, bm, None, vlen, exp, NB=nb, ML=1, PV=1, PU=1, QA=qa, QR=qr,
                                            OD=od, **{form: on}) for on in (1, 0))
    np.testing.assert_array_equal(segments, strided)


@settings(max_examples=8, deadline=None)
@given(vlen=st.sampled_from([128, 256, 512]), bm=st.sampled_from([7, 3]), kv=st.integers(1, 2),
       group=st.sampled_from([1, 2, 3, 5, 7, 8]), lq=st.sampled_from([1, 2, 9, 20]), extra=st.sampled_from([0, 5, 150]),
       d=st.sampled_from([1, 5, 16]), exp=st.sampled_from(["accurate", "fast"]), qa=st.integers(1, 2),
       od=st.integers(0, 1))
def test_tile_rows_stepped_without_divisions_are_the_same(vlen, bm, kv, group, lq, extra, d, exp, qa, od):
    """RS 1 steps QA's tiles' (query, head) from the tile before's instead of dividing the row
    by the group: the same rows, so bit-equal to RS 0 and within float64's tolerance (groups
    below, at and above BM, so that a step wraps to the next query or not, one or many whole
    tiles, the last tile's own rows stored again, one-row tiles, OD, two KV heads, NaN-filled
    scratch; decode ignores it)."""
    rng = np.random.default_rng(lq * vlen + d + extra + bm + group)
    lk = max(lq + extra - 3, 1)
    q = rng.uniform(-3, 3, (kv * group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (kv, lk, d)).astype(np.float32) for _ in range(2))
    stepped, divided = (run_on_nan_scratch(q, k, v, bm, None, vlen, exp, NB=4, ML=1, PV=1, PU=1, QA=qa, OD=od,
                                           RS=rs) for rs in (1, 0))
    np.testing.assert_array_equal(stepped, divided)


@settings(max_examples=8, deadline=None)
@given(vlen=st.sampled_from([128, 256, 512, 1024]), bm=st.sampled_from([7, 3]), kv=st.integers(1, 2),
       group=st.sampled_from([1, 3, 7]), lq=st.sampled_from([1, 2, 9, 20]), extra=st.sampled_from([0, 5, 150]),
       d=st.sampled_from([1, 5, 16, 64]), exp=st.sampled_from(["accurate", "fast"]), qd=st.integers(1, 4),
       qa=st.integers(0, 2), od=st.integers(0, 1), nr=st.integers(0, 1))
def test_scale_in_k_and_rows_read_from_q(vlen, bm, kv, group, lq, extra, d, exp, qd, qa, od, nr):
    """KS 1 (with QR) scales K as it is transposed instead of the queries as they are copied:
    within float64's tolerance; QD then has the score loop read each tile's first QD rows from q, not
    copied: the same unscaled queries and products, so bit-equal to QD 0 (QD 1-4 against BM 7 and 3,
    every row from q when QD >= BM, one-row tiles, QA's next tiles, OD, NR, two KV heads, each exp,
    NaN-filled scratch; decode ignores both)."""
    rng = np.random.default_rng(lq * vlen + d + extra + bm + group)
    lk = max(lq + extra - 3, 1)
    q = rng.uniform(-3, 3, (kv * group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (kv, lk, d)).astype(np.float32) for _ in range(2))
    read, copied = (run_on_nan_scratch(q, k, v, bm, None, vlen, exp, NB=4, ML=1, PV=1, PU=1, QR=1, QA=qa, OD=od,
                                       NR=nr, KS=1, QD=x) for x in (qd, 0))
    np.testing.assert_array_equal(read, copied)


def test_fast_exp_is_asked_for_by_name():
    """ops.attention(exp=...) takes the kernel's names only, and the fast exp on one hart."""
    q = np.ones((2, 1, 8), np.float32)
    with pytest.raises(ValueError, match="exp must be one of"):
        ops.attention(q, q, q, exp="approximate")
    with pytest.raises(ValueError, match="one hart"):
        ops.attention(q, q, q, exp="fast", harts=2)


@pytest.mark.parametrize("d, lk", [(64, 128), (128, 128), (128, 512), (37, 131)])
def test_transposed_k_rows_are_not_a_power_of_two_bytes_apart(d, lk):
    """k_t (prefill's K transposed) holds every key of a head dim in one row, and its rows
    sit a stride apart that is no power of two bytes (Lk 128: 512 B would put a chunk's d
    rows into a few cache sets); decode's k_t is a placeholder."""
    k_t = kernels.attention_scratch(d, lk, 7, 4, 256, True)[3]
    assert k_t.shape[0] == d and k_t.shape[1] >= lk
    stride = k_t.strides[0]
    assert stride & (stride - 1)
    assert kernels.attention_scratch(d, lk, 7, 4, 256, False)[3].size == 1


@settings(max_examples=10, deadline=None)
@given(vlen=st.sampled_from([128, 256, 512, 1024]), kv=st.integers(1, 2), group=st.sampled_from([1, 3, 7]),
       lq=st.sampled_from([1, 2, 9, 20]), extra=st.sampled_from([0, 5, 40, 150]), d=st.sampled_from([1, 2, 5, 16, 64]),
       nb=st.sampled_from([1, 4]), exp=st.sampled_from(["accurate", "fast"]),
       ahead=st.sampled_from([{"PP": 1}, {"SA": 1}, {"PP": 1, "SA": 1}]), qr=st.integers(0, 1), od=st.integers(0, 1))
def test_scalars_loaded_a_trip_ahead_are_the_same(vlen, kv, group, lq, extra, d, nb, exp, ahead, qr, od):
    """PP 1 loads the P V loop's scalars of p a trip ahead, SA 1 the score loop's of q_s: the
    same products and row sums in the same order, so bit-equal to neither and within float64's
    tolerance (blocks of one key or many, one chunk or several, head dims of one column or a
    few, q_s transposed or row-major, rows that see no key when Lq > Lk, the scratch full of
    NaN; decode, one query, ignores them); with OD's one-block tiles too (also bit-equal)."""
    rng = np.random.default_rng(lq * vlen + d + extra)
    lk = max(lq + extra - 3, 1)
    q = rng.uniform(-3, 3, (kv * group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (kv, lk, d)).astype(np.float32) for _ in range(2))
    early, inline = (run_on_nan_scratch(q, k, v, 7, None, vlen, exp, NB=nb, ML=1, PV=1, PU=1, QL=1, QR=qr, **a)
                     for a in ({**ahead, "OD": od}, {}))
    np.testing.assert_array_equal(early, inline)


@rl.kernel
def newton_reciprocals(x: rl.Tensor[rl.f32], o: rl.Tensor[rl.f32]):
    """o = NR's 1 / x (the kernel's own helper), three rows at a time as a tile's seven go, then one."""
    n = x.shape[0]
    for i in rl.range(0, n - n % 3, 3):
        for r, y in enumerate(_inverses([x[i + r] for r in range(3)], True)):
            o[i + r] = y
    for i in rl.range(n - n % 3, n):
        o[i] = _inverses([x[i]], True)[0]


#: Row sums: of one key (1: its own probability, exp(0)), of a few or many (up to Lk 2**20 keys, each at
#: most 1; the fast exp's from 1/2), and any f32 from NR's floor whose reciprocal is normal.
SUMS = (st.just(1.0) | st.floats(0.5, 2.0 ** 20, width=32) | st.floats(RECIPROCAL_FLOOR, 2.0 ** 125, width=32))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=hnp.arrays(np.float32, st.integers(1, 40), elements=SUMS))
def test_newton_reciprocal_within_an_ulp(x):
    """NR's 1/sum (a seed from the bits, three Newton steps by FMAs) is within 1 ulp of 1/x in
    float64 (the division rounds to within half an ulp) for sums of one key, of many, and any
    f32 from RECIPROCAL_FLOOR with a normal reciprocal, and 1 / RECIPROCAL_FLOOR, finite, for a
    row that saw no key (sum 0) or any sum below the floor."""
    x = np.concatenate([x, np.float32([RECIPROCAL_FLOOR / 2, 0.0])])
    o = np.zeros_like(x)
    run(newton_reciprocals, x, o, runner="emu", vlen=256)
    np.testing.assert_array_equal(o[-2:], np.float32(1 / RECIPROCAL_FLOOR))
    assert ulps(o[:-2], 1 / x[:-2].astype(np.float64)).max() <= 1


def test_newton_reciprocal_within_an_ulp_over_the_seeds_period():
    """The seed's error repeats with each binade ([1, 2) and its scalings): a dense sweep of
    one, and of every exponent from the floor's on whose reciprocal is normal, holds the bound everywhere."""
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(1, 2, 30001, dtype=np.float32),
                        np.float32(2.0) ** rng.uniform(-100, 125, 10000).astype(np.float32)])
    o = np.zeros_like(x)
    run(newton_reciprocals, x, o, runner="emu", vlen=256)
    assert ulps(o, 1 / x.astype(np.float64)).max() <= 1


@settings(max_examples=6, deadline=None)
@given(vlen=st.sampled_from([128, 256, 512, 1024]), kv=st.integers(1, 2), group=st.sampled_from([1, 3, 7]),
       lq=st.sampled_from([2, 9, 20]), extra=st.sampled_from([0, 5, 40, 150]), d=st.sampled_from([1, 5, 16, 64]),
       causal=st.booleans(), nb=st.sampled_from([1, 4]), qa=st.integers(0, 2), exp=st.sampled_from(["accurate", "fast"]),
       ahead=st.sampled_from([{}, {"PP": 1, "SA": 1}, {"QR": 1, "QL": 1, "SP": 2, "EO": 1, "QP": 4}]))
def test_newton_reciprocals_match_the_division(vlen, kv, group, lq, extra, d, causal, nb, qa, exp, ahead):
    """NR 1 (with OD) takes a one-block tile's 1/sum by Newton steps: within float64's tolerance,
    and within 2 ulp (one of 1/sum, one of the product's rounding) of NR 0's division (rows
    that see no key when Lq > Lk, non-causal, QA's queries, PP and SA, spacemit-x60's QR, QL, SP 2,
    EO and QP, each exp, the scratch full of NaN), and outputs of rows that see no key still 0."""
    rng = np.random.default_rng(lq * vlen + d + extra)
    lk = max(lq + extra - 3, 1)
    q = rng.uniform(-3, 3, (kv * group, lq, d)).astype(np.float32)
    k, v = (rng.uniform(-3, 3, (kv, lk, d)).astype(np.float32) for _ in range(2))
    want = attention_ref(q, k, v, causal, 1 / np.sqrt(d))
    eps = FAST_EXP_ERROR
    atol = 2 * eps / (1 - eps) * np.abs(v).max() + 2e-5 if exp == "fast" else 2e-5
    outs = []
    for nr in (1, 0):
        q_s, o_s, p, k_t = kernels.attention_scratch(d, lk, 7, 4, vlen, True)
        for scratch in (q_s, o_s, p):
            scratch[...] = np.nan
        o = np.zeros_like(q)
        run(kernels.attention, q, k, v, o, q_s, o_s, p, k_t, 1 / np.sqrt(d), CAUSAL=causal, TRANSPOSE_K=True, BM=7,
            LMUL=4, KU=1, NB=nb, ML=1, PV=1, PU=1, QA=qa, OD=1, NR=nr, EXP=exp, runner="emu", vlen=vlen, **ahead)
        np.testing.assert_allclose(o, want, rtol=0 if exp == "fast" else 1e-4, atol=atol)
        outs.append(o)
    np.testing.assert_allclose(outs[0], outs[1], rtol=2.0 ** -22, atol=0)
