/* Vector floating point (RVV 1.0 + Zvfh): widening add/sub/mul and
 * multiply-adds, reductions (ordered, unordered, min/max, widening) and the
 * FP slides by one.
 *
 * Widening: the narrow operands are widened exactly (half -> single, single
 * -> double), then the operation is done once, rounded once, in the wide
 * format.  The product of two widened operands is exact in the wide format
 * (11+11 <= 24 and 24+24 <= 53 significant bits, exponents in range), so a
 * widening multiply-add is a host multiply (exact: no rounding, no flags)
 * followed by one host add -- the fused result, without a host FMA.  That
 * makes the unmasked case (rm != RMM) plain host loops between
 * fp_host_enter/leave that the compiler vectorises; masked elements (their
 * flags must not count) and RMM go element by element through fp.h.
 *
 * Reductions are computed in element order with one rounding per add: the
 * ordered sum exactly, and the unordered sum the same way (the spec allows
 * any association; this one is reproducible).  The sums run on the host's
 * FPU in one rounding-mode window except for half precision and RMM.
 */
#include "fp.h"
#include "vec.h"
#include "vfwide.h"

/* Element i of width eb bytes (little-endian host, as vec.c assumes). */
static inline uint64_t ld(const uint8_t *p, unsigned eb, uint64_t i) {
    uint64_t v = 0;
    memcpy(&v, p + i * eb, eb);
    return v;
}
static inline void st(uint8_t *p, unsigned eb, uint64_t i, uint64_t v) { memcpy(p + i * eb, &v, eb); }

/* State every instruction here needs: SEW 8 (no FP format) and a reserved frm are illegal. */
static int setup(rv_machine *m, const rv_decoded *d, vec_ctx *c) {
    return vec_ctx_init(m, d, c) || c->sew == 8 || m->frm > FP_RMM;
}

/* f[rs1] as a SEW-bit operand: an improperly NaN-boxed value reads as the canonical NaN. */
static uint64_t scalar(const rv_machine *m, unsigned rs1, unsigned sew) {
    return sew == 64 ? m->f[rs1] : sew == 32 ? fp_unbox32(m->f[rs1]) : fp_unbox16(m->f[rs1]);
}

/* Half to single on the bits, exact and branch-free (so loops over it
 * vectorise): normals rebias the exponent, subnormals are an integer times
 * 2^-24 (both steps exact), inf/NaN keep their payload -- a signalling NaN
 * stays signalling, so the host raises invalid when it is used. */
static inline float h2f(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, em = h & 0x7fffu;
    uint32_t norm = (em << 13) + (112u << 23), special = (em << 13) | 0x7f800000u;
    uint32_t sub = fp_b32((float)em * 0x1p-24f);
    return fp_f32(sign | (em >= 0x7c00 ? special : em >= 0x400 ? norm : sub));
}

/* ---- widening arithmetic -------------------------------------------------- */

/* One element in the slow path: x = vs2 (already wide when wide_a), y = vs1
 * or the scalar, c = old vd (wide). */
static uint64_t welem(int op, unsigned sew, uint64_t x, uint64_t y, uint64_t c, int wide_a, unsigned rm,
                      uint32_t *fl) {
    int nf = sew == 16 ? FMT_H : FMT_S, wf = sew == 16 ? FMT_S : FMT_D;
    if (!wide_a) x = fp_convert(wf, nf, x, rm, fl);
    y = fp_convert(wf, nf, y, rm, fl);
    if (wf == FMT_S) {
        uint32_t a = (uint32_t)x, b = (uint32_t)y, cc = (uint32_t)c, S = 0x80000000u;
        switch (op) {
        case VFW_ADD: return f32_add(a, b, rm, fl);
        case VFW_SUB: return f32_sub(a, b, rm, fl);
        case VFW_MUL: return f32_mul(a, b, rm, fl);
        case VFW_MACC: return f32_fma(b, a, cc, rm, fl);
        case VFW_NMACC: return f32_fma(b ^ S, a, cc ^ S, rm, fl);
        case VFW_MSAC: return f32_fma(b, a, cc ^ S, rm, fl);
        default: return f32_fma(b ^ S, a, cc, rm, fl);
        }
    }
    uint64_t S = 1ull << 63;
    switch (op) {
    case VFW_ADD: return f64_add(x, y, rm, fl);
    case VFW_SUB: return f64_sub(x, y, rm, fl);
    case VFW_MUL: return f64_mul(x, y, rm, fl);
    case VFW_MACC: return f64_fma(y, x, c, rm, fl);
    case VFW_NMACC: return f64_fma(y ^ S, x, c ^ S, rm, fl);
    case VFW_MSAC: return f64_fma(y, x, c ^ S, rm, fl);
    default: return f64_fma(y ^ S, x, c, rm, fl);
    }
}

/* Bulk path, run inside the host rounding-mode window.  widen_*: narrow
 * source to the wide host type; wop_*: r = x op y (op c) on wide host
 * values, then NaN results made canonical.  The products are exact (see
 * the top of the file), so mul-then-add is the fused multiply-add. */
#define WIDE_BULK(NAME, NT, WT, UW, WIDEN, canon)                                                        \
    VEC_KERNEL static void widen_##NAME(WT *restrict d, const NT *s, uint64_t lo, uint64_t hi) {         \
        for (uint64_t i = lo; i < hi; i++) d[i] = WIDEN(s[i]);                                           \
    }                                                                                                    \
    VEC_KERNEL static void wop_##NAME(int op, UW *restrict r, const WT *x, const WT *y, const WT *c,     \
                                      uint64_t lo, uint64_t hi) {                                        \
        WT *rf = (WT *)r;                                                                                \
        switch (op) {                                                                                    \
        case VFW_ADD: for (uint64_t i = lo; i < hi; i++) rf[i] = x[i] + y[i]; break;                     \
        case VFW_SUB: for (uint64_t i = lo; i < hi; i++) rf[i] = x[i] - y[i]; break;                     \
        case VFW_MUL: for (uint64_t i = lo; i < hi; i++) rf[i] = x[i] * y[i]; break;                     \
        case VFW_MACC: for (uint64_t i = lo; i < hi; i++) rf[i] = y[i] * x[i] + c[i]; break;             \
        case VFW_NMACC: for (uint64_t i = lo; i < hi; i++) rf[i] = -(y[i] * x[i]) - c[i]; break;         \
        case VFW_MSAC: for (uint64_t i = lo; i < hi; i++) rf[i] = y[i] * x[i] - c[i]; break;             \
        default: for (uint64_t i = lo; i < hi; i++) rf[i] = c[i] - y[i] * x[i]; break;                   \
        }                                                                                                \
        for (uint64_t i = lo; i < hi; i++) r[i] = canon(r[i]);                                           \
    }
WIDE_BULK(hs, uint16_t, float, uint32_t, h2f, fp_canon32)
WIDE_BULK(sd, float, double, uint64_t, (double), fp_canon64)
#undef WIDE_BULK

int vec_fwide(rv_machine *m, const rv_decoded *d, int op, int form) {
    vec_ctx c;
    if (setup(m, d, &c)) return VEC_ILLEGAL;
    int lg = c.lmul_log2, wide_a = form == VF_WV || form == VF_WX, vv = form == VF_VV || form == VF_WV;
    unsigned vd = d->rd, vs2 = d->rs2, vs1 = d->rs1, sew = c.sew, eb = c.sewb, wb = 2 * eb, rm = m->frm;
    /* 2*SEW must fit ELEN, EMUL = 2*LMUL at most 8; the narrow sources may
     * overlap the wide destination only in its highest part (vec_overlap_ok). */
    if (sew == 64 || lg == 3 || (!c.vm && vd == 0) || !vec_group_ok(vd, lg + 1) ||
        !vec_group_ok(vs2, wide_a ? lg + 1 : lg) ||
        (!wide_a && !vec_overlap_ok(vd, 2 * sew, lg + 1, vs2, sew, lg)) ||
        (vv && (!vec_group_ok(vs1, lg) || !vec_overlap_ok(vd, 2 * sew, lg + 1, vs1, sew, lg))))
        return VEC_ILLEGAL;
    uint64_t lo = c.vstart, hi = c.vl;
    uint64_t rbuf[m->vlenb], xbuf[m->vlenb], ybuf[m->vlenb];
    const uint8_t *A = vreg(m, vs2), *C = vreg(m, vd), *B = vreg(m, vs1);
    uint64_t s = vv ? 0 : scalar(m, vs1, sew);
    uint32_t fl = 0;
    if (lo < hi && c.vm && rm != FP_RMM) {
        int fast = fp_host_fast(rm, m->fflags);   /* fp.h: one rounding per element */
        if (!fast) fp_host_enter(rm);
        if (sew == 16) {
            const float *x = (const float *)A, *y = (const float *)ybuf;
            if (!wide_a) widen_hs((float *)xbuf, (const uint16_t *)A, lo, hi), x = (const float *)xbuf;
            if (vv) widen_hs((float *)ybuf, (const uint16_t *)B, lo, hi);
            else for (uint64_t i = lo; i < hi; i++) ((float *)ybuf)[i] = h2f((uint16_t)s);
            wop_hs(op, (uint32_t *)rbuf, x, y, (const float *)C, lo, hi);
        } else {
            const double *x = (const double *)A, *y = (const double *)ybuf;
            if (!wide_a) widen_sd((double *)xbuf, (const float *)A, lo, hi), x = (const double *)xbuf;
            if (vv) widen_sd((double *)ybuf, (const float *)B, lo, hi);
            else {
                float f = fp_f32((uint32_t)s);
                FP_PIN(f);   /* widening a signalling NaN raises invalid: inside the window */
                for (uint64_t i = lo; i < hi; i++) ((double *)ybuf)[i] = (double)f;
            }
            wop_sd(op, rbuf, x, y, (const double *)C, lo, hi);
        }
        if (!fast || (sew == 16 ? fp_any_special32((const uint32_t *)rbuf, lo, hi) : fp_any_special64(rbuf, lo, hi)))
            fp_host_leave(&fl);
    } else {
        for (uint64_t i = lo; i < hi; i++) {
            if (!vactive(m, &c, i)) continue;
            uint64_t x = ld(A, wide_a ? wb : eb, i), y = vv ? ld(B, eb, i) : s;
            st((uint8_t *)rbuf, wb, i, welem(op, sew, x, y, ld(C, wb, i), wide_a, rm, &fl));
        }
    }
    m->fflags |= fl;
    vec_commit(m, &c, vd, rbuf, wb, vec_group_regs(lg + 1));
    return VEC_OK;
}

/* ---- reductions ------------------------------------------------------------ */

/* Ordered sum on the host, one rounding per add, inactive elements skipped
 * (their flags must not count).  ACC: host type of the accumulator, CONV:
 * element to ACC (exact). */
#define OSUM_HOST(NAME, ACC, ET, CONV)                                                                   \
    static ACC NAME(rv_machine *m, const vec_ctx *c, ACC acc, const ET *a) {                              \
        FP_PIN(acc);                                                                                      \
        if (c->vm) for (uint64_t i = 0; i < c->vl; i++) acc += CONV(a[i]);                               \
        else for (uint64_t i = 0; i < c->vl; i++) if (vmask_bit(m, 0, i)) acc += CONV(a[i]);             \
        FP_PIN(acc);                                                                                      \
        return acc;                                                                                       \
    }
OSUM_HOST(osum_s, float, float, (float))
OSUM_HOST(osum_d, double, double, (double))
OSUM_HOST(osum_hs, float, uint16_t, h2f)
OSUM_HOST(osum_sd, double, float, (double))
#undef OSUM_HOST

/* min/max folds over the active elements, one per format and direction. */
#define FOLD(NAME, T, FN)                                                                                \
    static T NAME(rv_machine *m, const vec_ctx *c, T acc, const T *a, uint32_t *fl) {                    \
        if (c->vm) for (uint64_t i = 0; i < c->vl; i++) acc = FN(acc, a[i], fl);                         \
        else for (uint64_t i = 0; i < c->vl; i++) if (vmask_bit(m, 0, i)) acc = FN(acc, a[i], fl);       \
        return acc;                                                                                       \
    }
FOLD(fold_min_h, uint16_t, f16_min) FOLD(fold_max_h, uint16_t, f16_max)
FOLD(fold_min_s, uint32_t, f32_min) FOLD(fold_max_s, uint32_t, f32_max)
FOLD(fold_min_d, uint64_t, f64_min) FOLD(fold_max_d, uint64_t, f64_max)
#undef FOLD

/* vd[0] = vs1[0] op (active vs2[i], i < vl), the other elements of vd are
 * tail; vstart must be 0, vl = 0 writes nothing.  min/max fold with the
 * minimumNumber/maximumNumber helpers: a NaN loses to any number, all-NaN
 * gives the canonical NaN, -0 < +0, NV only for a signalling NaN. */
int vec_fred(rv_machine *m, const rv_decoded *d, int op, int wide) {
    vec_ctx c;
    if (setup(m, d, &c)) return VEC_ILLEGAL;
    if (c.vstart || !vec_group_ok(d->rs2, c.lmul_log2) || (wide && c.sew == 64)) return VEC_ILLEGAL;
    if (c.vl == 0) { vec_done(m); return VEC_OK; }
    unsigned eb = c.sewb, reb = wide ? 2 * eb : eb, rm = m->frm;
    const uint8_t *A = vreg(m, d->rs2);
    uint64_t acc = ld(vreg(m, d->rs1), reb, 0);
    uint32_t fl = 0;
    if (op != VFR_OSUM) {
        switch (eb) {
        case 2: acc = op == VFR_MIN ? fold_min_h(m, &c, (uint16_t)acc, (const uint16_t *)A, &fl)
                                    : fold_max_h(m, &c, (uint16_t)acc, (const uint16_t *)A, &fl); break;
        case 4: acc = op == VFR_MIN ? fold_min_s(m, &c, (uint32_t)acc, (const uint32_t *)A, &fl)
                                    : fold_max_s(m, &c, (uint32_t)acc, (const uint32_t *)A, &fl); break;
        default: acc = op == VFR_MIN ? fold_min_d(m, &c, acc, (const uint64_t *)A, &fl)
                                     : fold_max_d(m, &c, acc, (const uint64_t *)A, &fl); break;
        }
    } else if (rm == FP_RMM || (eb == 2 && !wide)) {   /* no host rounding for these: element by element */
        int nf = eb == 2 ? FMT_H : eb == 4 ? FMT_S : FMT_D, wf = eb == 2 ? FMT_S : FMT_D;
        for (uint64_t i = 0; i < c.vl; i++) {
            if (!vactive(m, &c, i)) continue;
            uint64_t a = ld(A, eb, i);
            if (wide) a = fp_convert(wf, nf, a, rm, &fl);
            switch (reb) {
            case 2: acc = f16_add((uint16_t)acc, (uint16_t)a, rm, &fl); break;
            case 4: acc = f32_add((uint32_t)acc, (uint32_t)a, rm, &fl); break;
            default: acc = f64_add(acc, a, rm, &fl); break;
            }
        }
    } else {
        fp_host_enter(rm);
        if (reb == 4) {
            float r = wide ? osum_hs(m, &c, fp_f32((uint32_t)acc), (const uint16_t *)A)
                           : osum_s(m, &c, fp_f32((uint32_t)acc), (const float *)A);
            acc = fp_canon32(fp_b32(r));
        } else {
            double r = wide ? osum_sd(m, &c, fp_f64(acc), (const float *)A)
                            : osum_d(m, &c, fp_f64(acc), (const double *)A);
            acc = fp_canon64(fp_b64(r));
        }
        fp_host_leave(&fl);
    }
    m->fflags |= fl;
    st(vreg(m, d->rd), reb, 0, acc);
    if (c.vta) vec_fill_tail(m, &c, d->rd, 1, reb, 1);
    vec_done(m);
    return VEC_OK;
}

/* ---- slides ---------------------------------------------------------------- */

/* vfslide1up: vd[0] = f, vd[i] = vs2[i-1] (vd must not overlap vs2);
 * vfslide1down: vd[i] = vs2[i+1], vd[vl-1] = f. */
int vec_fslide1(rv_machine *m, const rv_decoded *d, int down) {
    vec_ctx c;
    if (setup(m, d, &c)) return VEC_ILLEGAL;
    unsigned vd = d->rd, vs2 = d->rs2, eb = c.sewb;
    if (!vec_group_ok(vd, c.lmul_log2) || !vec_group_ok(vs2, c.lmul_log2) || (!c.vm && vd == 0) ||
        (!down && vec_groups_overlap(vd, c.nregs, vs2, c.nregs)))
        return VEC_ILLEGAL;
    uint64_t rbuf[m->vlenb], s = scalar(m, d->rs1, c.sew);
    const uint8_t *A = vreg(m, vs2);
    uint8_t *R = (uint8_t *)rbuf;
    uint64_t lo = c.vstart, hi = c.vl;
    if (lo < hi) {   /* the body [lo, hi) is a block move plus the scalar at one end */
        if (down) {
            memcpy(R + lo * eb, A + (lo + 1) * eb, (hi - 1 - lo) * eb);
            st(R, eb, hi - 1, s);
        } else {
            uint64_t from = lo ? lo : 1;
            if (!lo) st(R, eb, 0, s);
            if (hi > from) memcpy(R + from * eb, A + (from - 1) * eb, (hi - from) * eb);
        }
    }
    vec_commit(m, &c, vd, rbuf, eb, c.nregs);
    return VEC_OK;
}
