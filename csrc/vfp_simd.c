/* The AVX2+FMA path of vector floating point: vfadd, vfsub, vfrsub, vfmul,
 * vfdiv, vfrdiv and the eight multiply-adds (vfmacc ... vfnmsub), .vv and
 * .vf, at SEW 32 and 64 in RNE/RTZ/RDN/RUP, masked or not, any vl and
 * vstart; and vfmin/vfmax (any frm: they do not round), whose
 * minimumNumber/maximumNumber rules the host's vminps/vmaxps miss (equal
 * operands, NaNs) are blended in per chunk, their NV (signalling NaNs only)
 * found on the bits: the host's flags, IE for any NaN, are not used.
 *
 * Why it is exact: the guest's rounding mode goes into MXCSR's rounding
 * field and the host's IEEE operations (vaddps ... vfmadd*ps) then give the
 * guest's results; MXCSR's sticky bits map one to one onto fflags (IE->NV,
 * ZE->DZ, OE->OF, UE->UF, PE->NX) and are read at most once per instruction
 * (after it, and only when fp.h's fast path cannot skip the read).  x86
 * detects tininess after rounding, as RISC-V does (Intel SDM vol. 1,
 * 4.9.1.5: "the result of rounding with unbounded exponent ... is non-zero
 * and tiny"; with UE masked the flag is set only when also inexact), which
 * is what fp.c's fp_round_pack computes, so no result needs the exact path
 * for its UF (tests/test_vfp_simd.py checks products that round
 * to tiny against the Fraction oracle).  DAZ and FTZ are off in every MXCSR
 * value written (FP_MXCSR_DEFAULT).  What the host does differently is
 * fixed up per 8 (or 4) lanes: NaN results become the canonical NaN, and
 * inf * 0 + qNaN raises NV (the host raises nothing).  Inactive and
 * out-of-body lanes compute on 1.0 (1 op 1 and 1 * 1 +- 1 are exact and
 * raise nothing), so only active elements contribute flags.
 *
 * Write-back follows vec_commit exactly: active elements take the result,
 * inactive ones keep theirs or become all ones (vma with tail_ones), the
 * tail is left to vec_fill_tail; nothing at all is written when vstart >= vl
 * (vfp.c calls this only with a body).
 *
 * Elsewhere (no AVX2+FMA on the host, other architectures, RMM, SEW 16) the
 * portable paths of vfp.c run; RVAI_VFP_SIMD=0 selects those here too, and
 * RVAI_VFP_EXACT=1 the element path for everything (vfp_path_default). */
#include <stdlib.h>
#include <string.h>
#include "fp.h"
#include "vec.h"
#include "vfp_simd.h"

static int env_is(const char *name, const char *value) {
    const char *e = getenv(name);
    return e && !strcmp(e, value);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

static int host_avx2_fma(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* What a loop saw, besides FP_NV (fp.h's flag bit): an active lane's result
 * was special (fp_special32/64), or (min/max) an operand was a NaN. */
enum { SEEN_SPECIAL = 1 << 8, SEEN_NAN = 1 << 9 };
__attribute__((target("avx2,fma"), always_inline)) static inline unsigned seen_bits(unsigned nv, __m256i spec,
                                                                                   __m256i nan_in) {
    return nv | (_mm256_testz_si256(spec, spec) ? 0 : SEEN_SPECIAL) | (_mm256_testz_si256(nan_in, nan_in) ? 0 : SEEN_NAN);
}

/* One op on a chunk: a = vs2, b = vs1 or the scalar, d = old vd. */
#define SIMD_OP(T, VT, SFX)                                                                          \
    __attribute__((target("avx2,fma"), always_inline)) static inline VT op_##T(int op, VT a, VT b, VT d) { \
        switch (op) {                                                                                \
        case VFOP_ADD: return _mm256_add_##SFX(a, b);                                                \
        case VFOP_SUB: return _mm256_sub_##SFX(a, b);                                                \
        case VFOP_RSUB: return _mm256_sub_##SFX(b, a);                                               \
        case VFOP_MUL: return _mm256_mul_##SFX(a, b);                                                \
        case VFOP_DIV: return _mm256_div_##SFX(a, b);                                                \
        case VFOP_RDIV: return _mm256_div_##SFX(b, a);                                               \
        /* minimumNumber / maximumNumber: the host's min/max gives the second operand when the two  \
         * are equal or either is NaN; equal: the OR (min) or AND (max) of the two, which picks -0 \
         * (min) or +0 (max) from two zeros; a NaN loses to the other operand */                   \
        case VFOP_MIN: case VFOP_MAX: {                                                              \
            VT eq = _mm256_cmp_##SFX(a, b, _CMP_EQ_OQ);                                              \
            VT r = op == VFOP_MIN ? _mm256_min_##SFX(a, b) : _mm256_max_##SFX(a, b);                 \
            r = _mm256_blendv_##SFX(r, op == VFOP_MIN ? _mm256_or_##SFX(a, b) : _mm256_and_##SFX(a, b), eq); \
            r = _mm256_blendv_##SFX(r, b, _mm256_cmp_##SFX(a, a, _CMP_UNORD_Q));                    \
            return _mm256_blendv_##SFX(r, a, _mm256_cmp_##SFX(b, b, _CMP_UNORD_Q));                 \
        }                                                                                            \
        /* vd = +-(vs1 * vs2) +- vd: fnmsub is -(x*y) - z, one rounding, as fma(-x, y, -z) */        \
        case VFOP_MACC: return _mm256_fmadd_##SFX(b, a, d);                                          \
        case VFOP_NMACC: return _mm256_fnmsub_##SFX(b, a, d);                                        \
        case VFOP_MSAC: return _mm256_fmsub_##SFX(b, a, d);                                          \
        case VFOP_NMSAC: return _mm256_fnmadd_##SFX(b, a, d);                                        \
        /* vd = +-(vs1 * vd) +- vs2 */                                                               \
        case VFOP_MADD: return _mm256_fmadd_##SFX(b, d, a);                                          \
        case VFOP_NMADD: return _mm256_fnmsub_##SFX(b, d, a);                                        \
        case VFOP_MSUB: return _mm256_fmsub_##SFX(b, d, a);                                          \
        default: return _mm256_fnmadd_##SFX(b, d, a);                                                \
        }                                                                                            \
    }
SIMD_OP(float, __m256, ps)
SIMD_OP(double, __m256d, pd)
#undef SIMD_OP

/* The loop over [lo, hi) in chunks of N lanes, computing into D (vd) in
 * place: each chunk loads every source before it stores, and a source group
 * is vd itself or disjoint from it.  Unmasked whole chunks take the short
 * loop; masked and partial chunks blend their inactive and out-of-body lanes
 * to 1.0, and a partial chunk loads and stores only its body lanes
 * (maskload/maskstore: the lanes past them may lie past the register file).
 * op is a constant in each copy (vfp_simd's cases), so the op's switch folds away.
 * Returns seen_bits: FP_NV when an active lane was inf * 0 with a NaN result
 * (the host raises nothing for inf * 0 + qNaN), SEEN_SPECIAL when an active
 * lane's result was special, SEEN_NAN when a min/max operand was a NaN.
 * W: lane width in bits; IV: the suffix of _mm256_set*_epi<W> for it. */
#define SIMD_LOOP(T, BT, N, W, VT, SFX, IV, CNAN, INF, BIG, TINY)                                   \
    /* NaN results -> the canonical NaN; NV when the product was inf * 0 (b, x its operands) */    \
    __attribute__((target("avx2,fma"), always_inline)) static inline VT nan_fix_##T(              \
        int fma, VT r, VT isnan, VT b, VT x, unsigned *nv) {                                      \
        const __m256i absm = _mm256_set1_epi##W##IV(~((BT)1 << (W - 1))), inf = _mm256_set1_epi##W##IV(INF); \
        const __m256i zero = _mm256_setzero_si256();                                              \
        if (fma) {                                                                                \
            __m256i xm = _mm256_and_si256(_mm256_cast##SFX##_si256(x), absm);                     \
            __m256i ym = _mm256_and_si256(_mm256_cast##SFX##_si256(b), absm);                     \
            __m256i hit = _mm256_or_si256(                                                        \
                _mm256_and_si256(_mm256_cmpeq_epi##W(xm, inf), _mm256_cmpeq_epi##W(ym, zero)),    \
                _mm256_and_si256(_mm256_cmpeq_epi##W(xm, zero), _mm256_cmpeq_epi##W(ym, inf)));   \
            if (!_mm256_testz_si256(hit, hit)) *nv = FP_NV;                                       \
        }                                                                                         \
        return _mm256_blendv_##SFX(r, _mm256_castsi256_##SFX(_mm256_set1_epi##W##IV(CNAN)), isnan); \
    }                                                                                             \
    /* The lanes where x or y is a NaN: min/max's host IE (vminps raises it for any NaN) */        \
    __attribute__((target("avx2,fma"), always_inline)) static inline __m256i nans_##T(VT x, VT y) { \
        return _mm256_cast##SFX##_si256(_mm256_cmp_##SFX(x, y, _CMP_UNORD_Q));                    \
    }                                                                                             \
    /* FP_NV when a lane of x or y is a signalling NaN (min/max: the only flag they raise) */      \
    __attribute__((target("avx2,fma"), always_inline)) static inline unsigned snan_##T(VT x, VT y) { \
        const __m256i absm = _mm256_set1_epi##W##IV(~((BT)1 << (W - 1))), inf = _mm256_set1_epi##W##IV(INF); \
        const __m256i quiet = _mm256_set1_epi##W##IV((BT)1 << (W == 32 ? 22 : 51));               \
        __m256i any = _mm256_setzero_si256();                                                     \
        for (int k = 0; k < 2; k++) {                                                             \
            __m256i v = _mm256_cast##SFX##_si256(k ? y : x);                                      \
            __m256i nan = _mm256_cmpgt_epi##W(_mm256_and_si256(v, absm), inf);                    \
            any = _mm256_or_si256(any, _mm256_andnot_si256(                                       \
                _mm256_cmpeq_epi##W(_mm256_and_si256(v, quiet), quiet), nan));                    \
        }                                                                                         \
        return _mm256_testz_si256(any, any) ? 0 : FP_NV;                                          \
    }                                                                                             \
    /* Lanes of r that may carry a flag beyond NX (fp.h's fp_special32/64): NaN, infinite,    \
     * at least the largest finite magnitude, at most the smallest normal (zero included) */  \
    __attribute__((target("avx2,fma"), always_inline)) static inline __m256i special_##T(VT r) {  \
        const __m256i absm = _mm256_set1_epi##W##IV(~((BT)1 << (W - 1)));                         \
        const __m256i big = _mm256_set1_epi##W##IV(BIG - 1), tiny = _mm256_set1_epi##W##IV(TINY + 1); \
        __m256i a = _mm256_and_si256(_mm256_cast##SFX##_si256(r), absm);                          \
        return _mm256_or_si256(_mm256_cmpgt_epi##W(a, big), _mm256_cmpgt_epi##W(tiny, a));         \
    }                                                                                             \
    __attribute__((target("avx2,fma"), always_inline)) static inline unsigned loop_##T(           \
        const int op, const rv_machine *m, int vm, int ones, T *D, const T *A, const T *B, T s,   \
        uint64_t lo, uint64_t hi) {                                                               \
        const int fma = op >= VFOP_MACC, prod_on_vd = op >= VFOP_MADD;                            \
        const int minmax = op == VFOP_MIN || op == VFOP_MAX;                                      \
        const VT sv = _mm256_set1_##SFX(s);                                                       \
        unsigned nv = 0;                                                                          \
        __m256i spec = _mm256_setzero_si256(), nan_in = spec;                                     \
        uint64_t i = lo;                                                                          \
        if (vm)                                                                                   \
            for (; i + N <= hi; i += N) {                                                         \
                VT a = _mm256_loadu_##SFX(A + i), b = B ? _mm256_loadu_##SFX(B + i) : sv;         \
                VT d = fma ? _mm256_loadu_##SFX(D + i) : sv;                                      \
                VT r = op_##T(op, a, b, d), isnan = _mm256_cmp_##SFX(r, r, _CMP_UNORD_Q);         \
                if (minmax) nv |= snan_##T(a, b), nan_in = _mm256_or_si256(nan_in, nans_##T(a, b)); \
                else spec = _mm256_or_si256(spec, special_##T(r));                                \
                if (unlikely(_mm256_movemask_##SFX(isnan)))                                       \
                    r = nan_fix_##T(fma, r, isnan, b, prod_on_vd ? d : a, &nv);                   \
                _mm256_storeu_##SFX(D + i, r);                                                    \
            }                                                                                     \
        if (i >= hi) return seen_bits(nv, spec, nan_in);                                          \
        const __m256i iota = _mm256_set_epi##W##IV(LANES_##N);                                    \
        const __m256i bit = _mm256_sllv_epi##W(_mm256_set1_epi##W##IV(1), iota);                  \
        const __m256i all = _mm256_cmpeq_epi##W(iota, iota);                                      \
        const VT one = _mm256_set1_##SFX(1.0);                                                    \
        for (; i < hi; i += N) {                                                                  \
            int full = hi - i >= N;                                                               \
            __m256i body = full ? all : _mm256_cmpgt_epi##W(_mm256_set1_epi##W##IV((BT)(hi - i)), iota); \
            __m256i act = body;                                                                   \
            if (!vm) {   /* v0's bits i .. i+N-1 (N <= 8: within two bytes) */                     \
                uint16_t w;                                                                       \
                memcpy(&w, m->v + (i >> 3), 2);                                                   \
                __m256i bits = _mm256_set1_epi##W##IV((BT)((w >> (i & 7)) & ((1u << N) - 1)));   \
                act = _mm256_and_si256(body, _mm256_cmpeq_epi##W(_mm256_and_si256(bits, bit), bit)); \
            }                                                                                     \
            VT a, b = sv, old = one;                                                              \
            if (full) {                                                                           \
                a = _mm256_loadu_##SFX(A + i);                                                    \
                if (B) b = _mm256_loadu_##SFX(B + i);                                             \
                if (fma || !vm) old = _mm256_loadu_##SFX(D + i);                                  \
            } else {                                                                              \
                a = _mm256_maskload_##SFX(A + i, body);                                           \
                if (B) b = _mm256_maskload_##SFX(B + i, body);                                    \
                if (fma || !vm) old = _mm256_maskload_##SFX(D + i, body);                         \
            }                                                                                     \
            /* lanes outside the body or inactive compute 1 op 1 */                              \
            VT keep = _mm256_castsi256_##SFX(act);                                                \
            a = _mm256_blendv_##SFX(one, a, keep);                                                \
            b = _mm256_blendv_##SFX(one, b, keep);                                                \
            VT d = _mm256_blendv_##SFX(one, old, keep);                                           \
            VT r = op_##T(op, a, b, d), isnan = _mm256_cmp_##SFX(r, r, _CMP_UNORD_Q);             \
            if (minmax) nv |= snan_##T(a, b), nan_in = _mm256_or_si256(nan_in, nans_##T(a, b));   \
            else spec = _mm256_or_si256(spec, _mm256_and_si256(act, special_##T(r)));             \
            if (unlikely(_mm256_movemask_##SFX(isnan)))                                           \
                r = nan_fix_##T(fma, r, isnan, b, prod_on_vd ? d : a, &nv);                       \
            if (!vm)   /* inactive lanes: the old value, or all ones (vma with tail_ones) */       \
                r = _mm256_blendv_##SFX(ones ? _mm256_castsi256_##SFX(all) : old, r, keep);       \
            if (full) _mm256_storeu_##SFX(D + i, r);                                              \
            else _mm256_maskstore_##SFX(D + i, body, r);                                          \
        }                                                                                         \
        return seen_bits(nv, spec, nan_in);                                                       \
    }
/* _mm256_set_epi*: the highest lane first. */
#define LANES_8 7, 6, 5, 4, 3, 2, 1, 0
#define LANES_4 3, 2, 1, 0
SIMD_LOOP(float, uint32_t, 8, 32, __m256, ps, , FP_CNAN32, 0x7f800000, FP_BIG32, FP_TINY32)
SIMD_LOOP(double, uint64_t, 4, 64, __m256d, pd, x, FP_CNAN64, 0x7ff0000000000000ll, FP_BIG64, FP_TINY64)
#undef SIMD_LOOP
#undef LANES_8
#undef LANES_4

/* One case of vfp_simd's switch: loop_T with op a constant, so its op switch folds away. */
#define LOOP_CASE(T, OP) case VFOP_##OP: seen = loop_##T(VFOP_##OP, m, c->vm, ones, (T *)D, (const T *)A, \
                                                    (const T *)B, sv, c->vstart, c->vl); break;
#define LOOP_SWITCH(T) switch (op) {                                                                \
        LOOP_CASE(T, ADD) LOOP_CASE(T, SUB) LOOP_CASE(T, RSUB) LOOP_CASE(T, MUL) LOOP_CASE(T, DIV)         \
        LOOP_CASE(T, RDIV) LOOP_CASE(T, MIN) LOOP_CASE(T, MAX) LOOP_CASE(T, MACC) LOOP_CASE(T, NMACC)      \
        LOOP_CASE(T, MSAC) LOOP_CASE(T, NMSAC) LOOP_CASE(T, MADD) LOOP_CASE(T, NMADD) LOOP_CASE(T, MSUB)   \
        default: seen = loop_##T(VFOP_NMSUB, m, c->vm, ones, (T *)D, (const T *)A, (const T *)B, sv,          \
                               c->vstart, c->vl); break;                                                   \
        }

/* The loops are inlined here, one per op and width, rather than reached
 * through a dispatch function: at LMUL 1-4 the call's ten arguments and the
 * two prologues cost as much as the loop.  Only called on VFP_SIMD
 * machines, which exist only where the host has AVX2 and FMA. */
__attribute__((target("avx2,fma")))
int vfp_simd(rv_machine *m, const vec_ctx *c, int op, unsigned vd, const uint8_t *A, const uint8_t *B, uint64_t s,
             unsigned rm) {
    int arith = op <= VFOP_DIV || op == VFOP_RSUB || op == VFOP_RDIV, fma = op >= VFOP_MACC && op <= VFOP_NMSUB;
    int minmax = op == VFOP_MIN || op == VFOP_MAX;   /* they do not round: any frm */
    if (c->sewb < 4 || !(minmax || ((arith || fma) && rm < FP_RMM))) return 0;
    /* The MXCSR window: the rounding mode, DAZ and FTZ off (vminps too would
     * read a subnormal as zero).  fp.h's invariant gives nearest-even with
     * DAZ and FTZ off at no cost, and sticky bits that fflags holds already:
     * min/max (which round nothing) and the fast path (nearest-even, NX in
     * fflags) touch MXCSR not at all before the loop.  Otherwise it is read,
     * and written (slow) when the mode differs or a host flag is not in
     * fflags (ORing those in again changes nothing). */
    int fast = minmax || fp_host_fast(rm, m->fflags);
    if (!fast) {
        unsigned want = fp_host_rc(rm), csr = fp_getcsr();
        if ((csr & ~0x3fu) != want || (fp_host_flags(csr) & ~m->fflags)) fp_setcsr(want);
    }
    int ones = c->vma && m->tail_ones;
    uint8_t *D = vreg(m, vd);
    unsigned seen;
    if (c->sewb == 4) {
        const float sv = fp_f32((uint32_t)s);
        LOOP_SWITCH(float)
    } else {
        const double sv = fp_f64(s);
        LOOP_SWITCH(double)
    }
    uint32_t fl = seen & FP_NV;
    /* After the loop only a special result can have raised a flag fflags may
     * lack (fp.h); min/max read no host flag -- the host's IE (any NaN) is not
     * the guest's NV (sNaN only) -- but must not leave that IE behind. */
    if (minmax) {
        if (seen & SEEN_NAN) fp_host_reset();
    } else if (!fast || (seen & SEEN_SPECIAL)) {
        fp_host_leave(&fl);
    }
    m->fflags |= fl;
    m->vstart = 0;
    if (c->vta) vec_fill_tail(m, c, vd, c->vl, c->sewb, c->nregs);
    return 1;
}
#undef LOOP_CASE
#undef LOOP_SWITCH

int vfp_path_default(void) {
    if (env_is("RVAI_VFP_EXACT", "1")) return VFP_EXACT;
    return !env_is("RVAI_VFP_SIMD", "0") && host_avx2_fma() ? VFP_SIMD : VFP_PORTABLE;
}

#else   /* not x86-64 GCC/clang: the portable paths only */

int vfp_simd(rv_machine *m, const vec_ctx *c, int op, unsigned vd, const uint8_t *A, const uint8_t *B, uint64_t s,
             unsigned rm) {
    (void)m, (void)c, (void)op, (void)vd, (void)A, (void)B, (void)s, (void)rm;
    return 0;
}

int vfp_path_default(void) { return env_is("RVAI_VFP_EXACT", "1") ? VFP_EXACT : VFP_PORTABLE; }
#endif
