/* Vector floating point (RVV 1.0 + Zvfh): single-width arithmetic, multiply-
 * adds, square root, classify, sign injection, min/max, compares, moves.
 * SEW 16 is half (Zvfh), 32 single, 64 double; SEW 8 is illegal.  The
 * rounding mode is frm (illegal when reserved); flags accrue in fflags from
 * active elements only.  Elements go through the scalar helpers of fp.h,
 * except the common unmasked single/double add/sub/mul/div, which runs as a
 * plain host loop between fp_host_enter/leave that the compiler vectorises. */
#include "fp.h"
#include "vec.h"

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

/* The unmasked single/double add, sub, mul, div on host floats: one MXCSR
 * switch for the whole body, then NaN results made canonical. */
#define BULK(T, BT, canon)                                                                       \
    VEC_KERNEL static void bulk_##T(int op, BT *restrict r, const T *a, const T *b, uint64_t lo, uint64_t hi) { \
        T *rf = (T *)r;                                                                          \
        switch (op) {                                                                            \
        case VFOP_ADD: for (uint64_t i = lo; i < hi; i++) rf[i] = a[i] + b[i]; break;            \
        case VFOP_SUB: for (uint64_t i = lo; i < hi; i++) rf[i] = a[i] - b[i]; break;            \
        case VFOP_MUL: for (uint64_t i = lo; i < hi; i++) rf[i] = a[i] * b[i]; break;            \
        default: for (uint64_t i = lo; i < hi; i++) rf[i] = a[i] / b[i]; break;                  \
        }                                                                                        \
        for (uint64_t i = lo; i < hi; i++) r[i] = canon(r[i]);                                   \
    }
BULK(float, uint32_t, fp_canon32)
BULK(double, uint64_t, fp_canon64)
#undef BULK

/* Rounding mode and element width every vector FP instruction needs: -1 when illegal. */
static int vfp_setup(rv_machine *m, const rv_decoded *d, vec_ctx *c) {
    if (vec_ctx_init(m, d, c) || c->sew == 8 || m->frm > FP_RMM) return -1;
    return 0;
}

int vec_fp(rv_machine *m, const rv_decoded *d, int op, int form) {
    vec_ctx c;
    if (vfp_setup(m, d, &c)) return VEC_ILLEGAL;
    unsigned vd = d->rd, vs2 = d->rs2, eb = c.sewb, rm = m->frm;
    int unary = op == VFOP_SQRT || op == VFOP_CLASS, cmp = op >= VFOP_EQ;
    if (cmp) {
        if (!vec_group_ok(vs2, c.lmul_log2) || !vec_overlap_ok(vd, 1, 0, vs2, c.sew, c.lmul_log2) ||
            (form == VF_VV && (!vec_group_ok(d->rs1, c.lmul_log2) ||
                               !vec_overlap_ok(vd, 1, 0, d->rs1, c.sew, c.lmul_log2))))
            return VEC_ILLEGAL;
    } else if ((!c.vm && vd == 0) || !vec_group_ok(vd, c.lmul_log2) || !vec_group_ok(vs2, c.lmul_log2) ||
               (form == VF_VV && !unary && !vec_group_ok(d->rs1, c.lmul_log2))) {
        return VEC_ILLEGAL;
    }
    uint64_t lo = c.vstart, hi = c.vl;
    uint64_t rbuf[m->vlenb], bbuf[m->vlenb];
    uint8_t mb[8 * m->vlenb];
    uint8_t *R = (uint8_t *)rbuf;
    const uint8_t *A = vreg(m, vs2), *C = vreg(m, vd), *B;
    if (form == VF_VV) {
        B = vreg(m, d->rs1);
    } else {   /* the scalar, replicated over the body */
        uint64_t s = scalar_elem(m, d->rs1, c.sew);
        for (uint64_t i = lo; i < hi; i++) eput((uint8_t *)bbuf, eb, i, s);
        B = (const uint8_t *)bbuf;
    }
    uint32_t fl = 0;
    if (lo < hi && c.vm && eb >= 4 && rm != FP_RMM && op <= VFOP_DIV) {
        fp_host_enter(rm);
        if (eb == 4) bulk_float(op, (uint32_t *)rbuf, (const float *)A, (const float *)B, lo, hi);
        else bulk_double(op, rbuf, (const double *)A, (const double *)B, lo, hi);
        fp_host_leave(&fl);
    } else {
        for (uint64_t i = lo; i < hi; i++) {
            if (!vactive(m, &c, i)) continue;
            uint64_t a = eget(A, eb, i), b = unary ? 0 : eget(B, eb, i), cc = eget(C, eb, i), r;
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
    if (cmp) vec_commit_mask(m, &c, vd, mb);
    else vec_commit(m, &c, vd, R, eb, c.nregs);
    return VEC_OK;
}

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
    for (uint64_t i = c.vstart; i < c.vl; i++)
        eput((uint8_t *)rbuf, eb, i, merge && !vmask_bit(m, 0, i) ? eget(A, eb, i) : s);
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
