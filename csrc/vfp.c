/* Vector floating point (RVV 1.0 + Zvfh): single-width arithmetic, multiply-
 * adds, square root, classify, sign injection, min/max, compares, moves.
 * SEW 16 is half (Zvfh), 32 single, 64 double; SEW 8 is illegal.  The
 * rounding mode is frm (illegal when reserved); flags accrue in fflags from
 * active elements only.  Elements go through the scalar helpers of fp.h,
 * except single/double add/sub/mul/div and the multiply-adds outside RMM:
 * vfp_simd.c's AVX2+FMA loops where the host has them, else (add/sub/mul/div
 * only) plain host loops between fp_host_enter/leave that the compiler
 * vectorises.  rv_machine.vfp_path picks (vfp_simd.h). */
/* -O3 (before the includes, as in vec.c): GCC's -O2 vectorises none of the bulk loops below. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include "fp.h"
#include "vec.h"
#include "vfp_simd.h"

static inline uint64_t eget(const uint8_t *base, unsigned eb, uint64_t i) {
    switch (eb) {
    case 2: { uint16_t v; memcpy(&v, base + 2 * i, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, base + 4 * i, 4); return v; }
    default: { uint64_t v; memcpy(&v, base + 8 * i, 8); return v; }
    }
}
static inline void eput(uint8_t *base, unsigned eb, uint64_t i, uint64_t v) {
    switch (eb) {
    case 2: { uint16_t x = (uint16_t)v; memcpy(base + 2 * i, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)v; memcpy(base + 4 * i, &x, 4); break; }
    default: memcpy(base + 8 * i, &v, 8); break;
    }
}

/* The scalar operand f[rs1] as an element of `sew` bits (NaN-unboxed). */
static uint64_t scalar_elem(const rv_machine *m, unsigned rs1, unsigned sew) {
    return sew == 64 ? m->f[rs1] : sew == 32 ? fp_unbox32(m->f[rs1]) : fp_unbox16(m->f[rs1]);
}

/* One element: a = vs2[i], b = vs1[i] or the scalar, c = old vd[i]. */
#define FP_ELEM(P, T, SIGN)                                                                        \
    static uint64_t elem_##P(int op, T a, T b, T c, unsigned rm, uint32_t *fl) {                     \
        switch (op) {                                                                                \
        case VFOP_ADD: return P##_add(a, b, rm, fl);                                                 \
        case VFOP_SUB: return P##_sub(a, b, rm, fl);                                                 \
        case VFOP_RSUB: return P##_sub(b, a, rm, fl);                                                \
        case VFOP_MUL: return P##_mul(a, b, rm, fl);                                                 \
        case VFOP_DIV: return P##_div(a, b, rm, fl);                                                 \
        case VFOP_RDIV: return P##_div(b, a, rm, fl);                                                \
        case VFOP_MIN: return P##_min(a, b, fl);                                                     \
        case VFOP_MAX: return P##_max(a, b, fl);                                                     \
        case VFOP_SGNJ: return (T)((a & ~SIGN) | (b & SIGN));                                        \
        case VFOP_SGNJN: return (T)((a & ~SIGN) | (~b & SIGN));                                      \
        case VFOP_SGNJX: return (T)(a ^ (b & SIGN));                                                 \
        /* vd = +-(vs1 * vs2) +- vd */                                                               \
        case VFOP_MACC: return P##_fma(b, a, c, rm, fl);                                             \
        case VFOP_NMACC: return P##_fma(b ^ SIGN, a, c ^ SIGN, rm, fl);                              \
        case VFOP_MSAC: return P##_fma(b, a, c ^ SIGN, rm, fl);                                      \
        case VFOP_NMSAC: return P##_fma(b ^ SIGN, a, c, rm, fl);                                     \
        /* vd = +-(vs1 * vd) +- vs2 */                                                               \
        case VFOP_MADD: return P##_fma(b, c, a, rm, fl);                                             \
        case VFOP_NMADD: return P##_fma(b ^ SIGN, c, a ^ SIGN, rm, fl);                              \
        case VFOP_MSUB: return P##_fma(b, c, a ^ SIGN, rm, fl);                                      \
        case VFOP_NMSUB: return P##_fma(b ^ SIGN, c, a, rm, fl);                                     \
        case VFOP_SQRT: return P##_sqrt(a, rm, fl);                                                  \
        case VFOP_CLASS: return P##_class(a);                                                        \
        /* compares: a (vs2) against b; gt and ge swap into the signalling lt / le */                \
        case VFOP_EQ: return P##_eq(a, b, fl);                                                       \
        case VFOP_NE: return !P##_eq(a, b, fl);                                                      \
        case VFOP_LT: return P##_lt(a, b, fl);                                                       \
        case VFOP_LE: return P##_le(a, b, fl);                                                       \
        case VFOP_GT: return P##_lt(b, a, fl);                                                       \
        default: return P##_le(b, a, fl);                                                            \
        }                                                                                            \
    }
FP_ELEM(f16, uint16_t, (uint16_t)0x8000)
FP_ELEM(f32, uint32_t, 0x80000000u)
FP_ELEM(f64, uint64_t, (1ull << 63))
#undef FP_ELEM

/* Portable bulk host paths (SEW 32/64, rm != RMM): one MXCSR window per
 * instruction, host flags read once, NaN results made canonical afterwards.
 * Masked instructions run the same loops on copies of the operands whose
 * inactive elements are 1.0 (1 op 1 is exact and raises nothing, so only
 * active elements contribute flags); vec_commit keeps the inactive results
 * out of vd.
 *
 * canon_*: NaN results -> the canonical NaN. */
#define CANON(T, BT, SIGN, INF, CNAN)                                                            \
    static inline __attribute__((always_inline)) void canon_##T(BT *r, uint64_t lo, uint64_t hi) { \
        for (uint64_t i = lo; i < hi; i++) {                                                     \
            BT v = r[i], nan = -(BT)((v & ~SIGN) > INF);   /* all ones when NaN */               \
            r[i] = (v & ~nan) | (CNAN & nan);                                                    \
        }                                                                                        \
    }
CANON(float, uint32_t, 0x80000000u, 0x7f800000u, FP_CNAN32)
CANON(double, uint64_t, (1ull << 63), 0x7ff0000000000000ull, FP_CNAN64)
#undef CANON

/* add, sub, mul, div and the reversed rsub, rdiv: r = a op b. */
#define BULK(T, BT)                                                                              \
    VEC_KERNEL static void bulk_##T(int op, BT *restrict r, const T *a, const T *b, uint64_t lo, uint64_t hi) { \
        T *rf = (T *)r;                                                                          \
        switch (op) {                                                                            \
        case VFOP_ADD: for (uint64_t i = lo; i < hi; i++) rf[i] = a[i] + b[i]; break;            \
        case VFOP_SUB: for (uint64_t i = lo; i < hi; i++) rf[i] = a[i] - b[i]; break;            \
        case VFOP_RSUB: for (uint64_t i = lo; i < hi; i++) rf[i] = b[i] - a[i]; break;           \
        case VFOP_MUL: for (uint64_t i = lo; i < hi; i++) rf[i] = a[i] * b[i]; break;            \
        case VFOP_DIV: for (uint64_t i = lo; i < hi; i++) rf[i] = a[i] / b[i]; break;            \
        default: for (uint64_t i = lo; i < hi; i++) rf[i] = b[i] / a[i]; break;                  \
        }                                                                                        \
        canon_##T(r, lo, hi);                                                                    \
    }
BULK(float, uint32_t)
BULK(double, uint64_t)
#undef BULK

/* Copy body elements [lo, hi) of s (or the scalar s0 when s is NULL) to d,
 * with 1.0 (`one`) in the elements v0 leaves inactive: a 64-bit v0 word at a time. */
#define SELECT(T)                                                                                \
    static void select_##T(const rv_machine *m, T *restrict d, const T *s, T s0, T one, uint64_t lo, uint64_t hi) { \
        for (uint64_t i = lo; i < hi;) {                                                         \
            uint64_t w, end = (i | 63) + 1 < hi ? (i | 63) + 1 : hi;                             \
            memcpy(&w, m->v + 8 * (i >> 6), 8);   /* v0 is register 0 */                         \
            if (s) for (; i < end; i++) d[i] = (w >> (i & 63)) & 1 ? s[i] : one;                 \
            else for (; i < end; i++) d[i] = (w >> (i & 63)) & 1 ? s0 : one;                     \
        }                                                                                        \
    }
SELECT(uint32_t)
SELECT(uint64_t)
#undef SELECT

/* Sign injection is bit manipulation: no flags, no rounding, so every SEW
 * and the masked form (vec_commit keeps inactive results out) run as one loop. */
#define SGNJ_BULK(BT, SIGN)                                                                      \
    VEC_KERNEL static void sgnj_##BT(int op, BT *restrict r, const BT *a, const BT *bv, BT bs, uint64_t lo, uint64_t hi) { \
        BT n = op == VFOP_SGNJN ? SIGN : 0;   /* sgnjn: the inverted sign */                     \
        if (op == VFOP_SGNJX)                                                                    \
            for (uint64_t i = lo; i < hi; i++) r[i] = a[i] ^ ((bv ? bv[i] : bs) & SIGN);         \
        else                                                                                     \
            for (uint64_t i = lo; i < hi; i++) r[i] = (a[i] & ~SIGN) | (((bv ? bv[i] : bs) ^ n) & SIGN); \
    }
SGNJ_BULK(uint16_t, (uint16_t)0x8000)
SGNJ_BULK(uint32_t, 0x80000000u)
SGNJ_BULK(uint64_t, (1ull << 63))
#undef SGNJ_BULK

/* The portable bulk path (VFP_PORTABLE, and VFP_SIMD where vfp_simd does
 * not apply): add/sub/mul/div and the reversed rsub, rdiv at SEW 32/64 in
 * rm != RMM as plain host loops; 1 when it computed the body into R (flags
 * into *fl), 0 when the element path must run.  A: vs2, B: vs1 (NULL for
 * the scalar s). */
static int vfp_bulk(rv_machine *m, const vec_ctx *c, int op, unsigned eb, unsigned rm, uint8_t *R,
                    const uint8_t *A, const uint8_t *B, uint64_t s, uint32_t *fl) {
    int arith = op <= VFOP_DIV || op == VFOP_RSUB || op == VFOP_RDIV;
    if (eb < 4 || rm == FP_RMM || !arith) return 0;
    uint64_t lo = c->vstart, hi = c->vl;
    uint64_t abuf[m->vlenb], bbuf[m->vlenb];
    /* masked: operand copies with 1.0 when inactive; .vf: the scalar splat */
    uint64_t one = eb == 4 ? 0x3f800000u : 0x3ff0000000000000ull;
    int sel = !c->vm;
    if (eb == 4) {
        if (sel) select_uint32_t(m, (uint32_t *)abuf, (const uint32_t *)A, 0, (uint32_t)one, lo, hi);
        if (sel) select_uint32_t(m, (uint32_t *)bbuf, (const uint32_t *)B, (uint32_t)s, (uint32_t)one, lo, hi);
        else if (!B) for (uint64_t i = lo; i < hi; i++) ((uint32_t *)bbuf)[i] = (uint32_t)s;
    } else {
        if (sel) select_uint64_t(m, abuf, (const uint64_t *)A, 0, one, lo, hi);
        if (sel) select_uint64_t(m, bbuf, (const uint64_t *)B, s, one, lo, hi);
        else if (!B) for (uint64_t i = lo; i < hi; i++) bbuf[i] = s;
    }
    if (sel) A = (const uint8_t *)abuf;
    if (sel || !B) B = (const uint8_t *)bbuf;
    int fast = fp_host_fast(rm, m->fflags);   /* fp.h: one rounding per element */
    if (!fast) fp_host_enter(rm);
    if (eb == 4) bulk_float(op, (uint32_t *)R, (const float *)A, (const float *)B, lo, hi);
    else bulk_double(op, (uint64_t *)R, (const double *)A, (const double *)B, lo, hi);
    if (!fast || (eb == 4 ? fp_any_special32((const uint32_t *)R, lo, hi) : fp_any_special64((const uint64_t *)R, lo, hi)))
        fp_host_leave(fl);
    return 1;
}

/* Rounding mode and element width every vector FP instruction needs: -1 when illegal. */
static int vfp_setup(rv_machine *m, const rv_decoded *d, vec_ctx *c) {
    if (vec_ctx_init(m, d, c) || c->sew == 8 || m->frm > FP_RMM) return -1;
    return 0;
}

/* vec_fp's portable and element paths, for a legal instruction with context
 * c: out of line, so that vec_fp (its SIMD path above all) sets up no frame
 * for their scratch buffers. */
__attribute__((noinline)) static int vec_fp_elems(rv_machine *m, const vec_ctx *c, int op, unsigned vd,
                                                  const uint8_t *A, const uint8_t *B, uint64_t s, unsigned rm) {
    unsigned eb = c->sewb;
    int unary = op == VFOP_SQRT || op == VFOP_CLASS, cmp = op >= VFOP_EQ;
    uint64_t lo = c->vstart, hi = c->vl;
    const uint8_t *C = vreg(m, vd);
    uint64_t rbuf[m->vlenb];
    uint8_t mb[8 * m->vlenb];
    /* An unmasked FMA computes straight into vd (vec_commit then copies
     * nothing): element i reads only element i of each source, and same-EEW
     * groups are aligned, so vd equals a source group or is disjoint from it. */
    uint8_t *R = c->vm && op >= VFOP_MACC && op <= VFOP_NMSUB ? vreg(m, vd) : (uint8_t *)rbuf;
    uint32_t fl = 0;
    if (lo < hi && op >= VFOP_SGNJ && op <= VFOP_SGNJX) {
        switch (eb) {
        case 2: sgnj_uint16_t(op, (uint16_t *)R, (const uint16_t *)A, (const uint16_t *)B, (uint16_t)s, lo, hi); break;
        case 4: sgnj_uint32_t(op, (uint32_t *)R, (const uint32_t *)A, (const uint32_t *)B, (uint32_t)s, lo, hi); break;
        default: sgnj_uint64_t(op, (uint64_t *)R, (const uint64_t *)A, (const uint64_t *)B, s, lo, hi); break;
        }
    } else if (lo < hi && !(m->vfp_path != VFP_EXACT && vfp_bulk(m, c, op, eb, rm, R, A, B, s, &fl))) {
        for (uint64_t i = lo; i < hi; i++) {
            if (!vactive(m, c, i)) continue;
            uint64_t a = eget(A, eb, i), b = unary ? 0 : B ? eget(B, eb, i) : s, cc = eget(C, eb, i), r;
            switch (eb) {
            case 2: r = elem_f16(op, (uint16_t)a, (uint16_t)b, (uint16_t)cc, rm, &fl); break;
            case 4: r = elem_f32(op, (uint32_t)a, (uint32_t)b, (uint32_t)cc, rm, &fl); break;
            default: r = elem_f64(op, a, b, cc, rm, &fl); break;
            }
            if (cmp) mb[i] = (uint8_t)r;
            else eput(R, eb, i, r);
        }
    }
    m->fflags |= fl;
    if (cmp) vec_commit_mask(m, c, vd, mb);
    else vec_commit(m, c, vd, R, eb, c->nregs);
    return VEC_OK;
}

/* Is vector FP op d legal under context c, whatever vl (SEW, register
 * groups, the mask register)?  frm is the caller's to test. */
int vec_fp_legal(const rv_decoded *d, const vec_ctx *c, int op, int form) {
    unsigned vd = d->rd, vs2 = d->rs2;
    int unary = op == VFOP_SQRT || op == VFOP_CLASS;
    if (c->sew == 8) return 0;
    if (op >= VFOP_EQ)
        return vec_group_ok(vs2, c->lmul_log2) && vec_overlap_ok(vd, 1, 0, vs2, c->sew, c->lmul_log2) &&
               (form != VF_VV || (vec_group_ok(d->rs1, c->lmul_log2) &&
                                  vec_overlap_ok(vd, 1, 0, d->rs1, c->sew, c->lmul_log2)));
    /* every group aligned to its size (which keeps it below v32): nregs is a power of 2 */
    return !(!c->vm && vd == 0) && !((vd | vs2 | (form == VF_VV && !unary ? d->rs1 : 0)) & (c->nregs - 1));
}

int vec_fp_run(rv_machine *m, const rv_decoded *d, const vec_ctx *c, int op, int form) {
    unsigned vd = d->rd, rm = m->frm;
    /* B: vs1, or NULL for the scalar s */
    const uint8_t *A = vreg(m, d->rs2), *B = form == VF_VV ? vreg(m, d->rs1) : NULL;
    uint64_t s = B ? 0 : scalar_elem(m, d->rs1, c->sew);
    if (m->vfp_path == VFP_SIMD && c->vstart < c->vl && vfp_simd(m, c, op, vd, A, B, s, rm))
        return VEC_OK;   /* committed, flags and all */
    return vec_fp_elems(m, c, op, vd, A, B, s, rm);
}

int vec_fp(rv_machine *m, const rv_decoded *d, int op, int form) {
    vec_ctx c;
    if (vfp_setup(m, d, &c) || !vec_fp_legal(d, &c, op, form)) return VEC_ILLEGAL;
    return vec_fp_run(m, d, &c, op, form);
}

/* d[i] = s0 where v0 is set, else a[i] (a NULL: s0 everywhere), a 64-bit v0 word at a time. */
#define MERGE(T)                                                                                 \
    VEC_KERNEL static void merge_##T(const rv_machine *m, T *restrict d, const T *a, T s0, uint64_t lo, uint64_t hi) { \
        if (!a) { for (uint64_t i = lo; i < hi; i++) d[i] = s0; return; }                        \
        for (uint64_t i = lo; i < hi;) {                                                         \
            uint64_t w, end = (i | 63) + 1 < hi ? (i | 63) + 1 : hi;                             \
            memcpy(&w, m->v + 8 * (i >> 6), 8);   /* v0 is register 0 */                         \
            for (; i < end; i++) d[i] = (w >> (i & 63)) & 1 ? s0 : a[i];                         \
        }                                                                                        \
    }
MERGE(uint16_t)
MERGE(uint32_t)
MERGE(uint64_t)
#undef MERGE

/* vfmerge.vfm (vm=0: v0 picks the scalar) and vfmv.v.f (vm=1: every body element). */
int vec_fp_merge(rv_machine *m, const rv_decoded *d) {
    vec_ctx c;
    if (vfp_setup(m, d, &c)) return VEC_ILLEGAL;
    int merge = !c.vm;
    unsigned vd = d->rd, eb = c.sewb;
    if ((merge && (vd == 0 || !vec_group_ok(d->rs2, c.lmul_log2))) || !vec_group_ok(vd, c.lmul_log2))
        return VEC_ILLEGAL;
    c.vm = 1;
    uint64_t rbuf[m->vlenb], s = scalar_elem(m, d->rs1, c.sew);
    const uint8_t *A = vreg(m, d->rs2);
    switch (eb) {
    case 2: merge_uint16_t(m, (uint16_t *)rbuf, merge ? (const uint16_t *)A : NULL, (uint16_t)s, c.vstart, c.vl); break;
    case 4: merge_uint32_t(m, (uint32_t *)rbuf, merge ? (const uint32_t *)A : NULL, (uint32_t)s, c.vstart, c.vl); break;
    default: merge_uint64_t(m, rbuf, merge ? (const uint64_t *)A : NULL, s, c.vstart, c.vl); break;
    }
    vec_commit(m, &c, vd, rbuf, eb, c.nregs);
    return VEC_OK;
}

/* vfmv.f.s: element 0 to f[rd] (NaN-boxed), whatever vl; vfmv.s.f: f[rs1] to element 0 when vstart < vl. */
int vec_fp_mv(rv_machine *m, const rv_decoded *d, int to_f) {
    vec_ctx c;
    if (vfp_setup(m, d, &c)) return VEC_ILLEGAL;
    unsigned eb = c.sewb;
    if (to_f) {
        uint64_t v = eget(vreg(m, d->rs2), eb, 0);
        m->f[d->rd] = eb == 8 ? v : eb == 4 ? fp_box32((uint32_t)v) : fp_box16((uint16_t)v);
    } else if (c.vstart < c.vl) {
        eput(vreg(m, d->rd), eb, 0, scalar_elem(m, d->rs1, c.sew));
        if (c.vta) vec_fill_tail(m, &c, d->rd, 1, eb, 1);
    }
    vec_done(m);
    return VEC_OK;
}
