/* Vector FP conversions (RVV 1.0 + Zvfh): single-width, widening and
 * narrowing float<->integer and float<->float conversions, and the 7-bit
 * estimates vfrec7.v / vfrsqrt7.v.
 *
 * Elements follow the scalar fcvt rules of fp.h exactly (saturation, NaN
 * handling, flags), per active element; integers narrower than 32 bits
 * saturate like the 32-bit ones.  frm gives the rounding mode except for the
 * rtz forms and vfncvt.rod (round to odd).  The conversions the DSL's
 * kernels use in bulk -- unmasked f16->f32 widening, i32->f32 and f32->i32 --
 * have plain host loops the compiler vectorises; everything else goes
 * element by element through the fp.h helpers.
 */
/* As vec.c: -O3 so that GCC vectorises the bulk loops. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include "fp.h"
#include "vec.h"
#include "vfcvt.h"

/* The spec's tables (v-spec "vfrec7.v / vfrsqrt7.v common-case lookup table
 * contents"): the seven MSBs of the output significand.  vfrec7 is indexed
 * by the seven MSBs of the normalised input significand; vfrsqrt7 by the LSB
 * of the normalised input exponent and the six MSBs of the significand. */
static const uint8_t rec7_table[128] = {
    127, 125, 123, 121, 119, 117, 116, 114, 112, 110, 109, 107, 105, 104, 102, 100,
    99, 97, 96, 94, 93, 91, 90, 88, 87, 85, 84, 83, 81, 80, 79, 77,
    76, 75, 74, 72, 71, 70, 69, 68, 66, 65, 64, 63, 62, 61, 60, 59,
    58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43,
    42, 41, 40, 40, 39, 38, 37, 36, 35, 35, 34, 33, 32, 31, 31, 30,
    29, 28, 28, 27, 26, 25, 25, 24, 23, 23, 22, 21, 21, 20, 19, 19,
    18, 17, 17, 16, 15, 15, 14, 14, 13, 12, 12, 11, 11, 10, 9, 9,
    8, 8, 7, 7, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0,
};
static const uint8_t rsqrt7_table[128] = {
    52, 51, 50, 48, 47, 46, 44, 43, 42, 41, 40, 39, 38, 36, 35, 34,
    33, 32, 31, 30, 30, 29, 28, 27, 26, 25, 24, 23, 23, 22, 21, 20,
    19, 19, 18, 17, 16, 16, 15, 14, 14, 13, 12, 12, 11, 10, 10, 9,
    9, 8, 7, 7, 6, 6, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0,
    127, 125, 123, 121, 119, 118, 116, 114, 113, 111, 109, 108, 106, 105, 103, 102,
    100, 99, 97, 96, 95, 93, 92, 91, 90, 88, 87, 86, 85, 84, 83, 82,
    80, 79, 78, 77, 76, 75, 74, 73, 72, 71, 70, 70, 69, 68, 67, 66,
    65, 64, 63, 63, 62, 61, 60, 59, 59, 58, 57, 56, 56, 55, 54, 53,
};

/* Element i of `eb` bytes (1..8) at base, zero-extended; and its store. */
static inline uint64_t cget(const uint8_t *base, unsigned eb, uint64_t i) {
    switch (eb) {
    case 1: return base[i];
    case 2: { uint16_t v; memcpy(&v, base + 2 * i, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, base + 4 * i, 4); return v; }
    default: { uint64_t v; memcpy(&v, base + 8 * i, 8); return v; }
    }
}
static inline void cput(uint8_t *base, unsigned eb, uint64_t i, uint64_t v) {
    switch (eb) {
    case 1: base[i] = (uint8_t)v; break;
    case 2: { uint16_t x = (uint16_t)v; memcpy(base + 2 * i, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)v; memcpy(base + 4 * i, &x, 4); break; }
    default: memcpy(base + 8 * i, &v, 8); break;
    }
}

static int fmt_of(unsigned bits) { return bits == 16 ? FMT_H : bits == 32 ? FMT_S : FMT_D; }

/* A float of `bits` bits as an exact double (NaNs as NAN). */
static double exact_double(uint64_t a, unsigned bits) {
    switch (bits) {
    case 16: return fp_isnan16((uint16_t)a) ? NAN : FP_TOD16((uint16_t)a);
    case 32: return fp_isnan32((uint32_t)a) ? NAN : FP_TOD32((uint32_t)a);
    default: return fp_isnan64(a) ? NAN : fp_f64(a);
    }
}

/* Float to an integer of dw (8..64) bits.  fp_to_int saturates to 32 or 64
 * bits; 8- and 16-bit results saturate once more, NV then replacing NX
 * (an invalid conversion is never also inexact). */
static uint64_t cvt_to_int(uint64_t a, unsigned sw, unsigned dw, int is_signed, unsigned rm, uint32_t *flags) {
    uint32_t fl = 0;
    int kind = dw == 64 ? (is_signed ? FP_I64 : FP_U64) : (is_signed ? FP_I32 : FP_U32);
    uint64_t r = fp_to_int(exact_double(a, sw), kind, rm, &fl);
    if (dw < 32 && is_signed) {
        int64_t v = (int32_t)r, lo = -(1ll << (dw - 1)), hi = (1ll << (dw - 1)) - 1;
        if (v < lo || v > hi) { fl = FP_NV; v = v < lo ? lo : hi; }
        r = (uint64_t)v;
    } else if (dw < 32) {
        uint32_t v = (uint32_t)r, hi = (1u << dw) - 1;
        if (v > hi) { fl = FP_NV; v = hi; }
        r = v;
    }
    *flags |= fl;
    return r;
}

/* An integer of sw (8..64) bits to a float of dw bits. */
static uint64_t cvt_from_int(uint64_t a, unsigned sw, unsigned dw, int is_signed, unsigned rm, uint32_t *flags) {
    if (sw < 64) {
        a &= (1ull << sw) - 1;
        if (is_signed && a >> (sw - 1)) a |= ~0ull << sw;   /* sign-extend */
    }
    return fp_from_int(fmt_of(dw), a, is_signed ? FP_I64 : FP_U64, rm, flags);
}

/* Float to float; round to odd is truncation with the LSB set when inexact
 * (which also turns an overflow into the largest finite value and an
 * underflow to zero into the smallest subnormal, both odd). */
static uint64_t cvt_float(uint64_t a, unsigned sw, unsigned dw, int odd, unsigned rm, uint32_t *flags) {
    if (!odd) return fp_convert(fmt_of(dw), fmt_of(sw), a, rm, flags);
    uint32_t fl = 0;
    uint64_t r = fp_convert(fmt_of(dw), fmt_of(sw), a, FP_RTZ, &fl);
    *flags |= fl;
    return fl & FP_NX ? r | 1 : r;
}

static uint64_t cvt_elem(unsigned kind, uint64_t a, unsigned sw, unsigned dw, unsigned rm, uint32_t *flags) {
    switch (kind) {
    case VFC_XU_F: case VFC_RTZ_XU_F: return cvt_to_int(a, sw, dw, 0, rm, flags);
    case VFC_X_F: case VFC_RTZ_X_F: return cvt_to_int(a, sw, dw, 1, rm, flags);
    case VFC_F_XU: return cvt_from_int(a, sw, dw, 0, rm, flags);
    case VFC_F_X: return cvt_from_int(a, sw, dw, 1, rm, flags);
    default: return cvt_float(a, sw, dw, kind == VFC_ROD_F_F, rm, flags);
    }
}

/* ---- bulk loops (unmasked) ---------------------------------------------- */

/* f16 -> f32 is exact: normal and infinite values on the bits, subnormals
 * through an exact int->float conversion, NaNs canonical.
 * Returns whether a signalling NaN was seen (NV). */
VEC_KERNEL static int bulk_h2s(uint32_t *restrict r, const uint16_t *restrict a, uint64_t lo, uint64_t hi) {
    unsigned snan = 0;
    for (uint64_t i = lo; i < hi; i++) {   /* masks, not branches, so that GCC vectorises it */
        uint32_t h = a[i], sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1f, f = h & 0x3ff;
        uint32_t zero_e = 0u - (e == 0), top = 0u - (e == 0x1f), nan = top & (0u - (f != 0));
        /* a subnormal is f * 2^-24: the exact float of f, its exponent lowered by 24 */
        uint32_t sub = fp_b32((float)(int32_t)f) - ((24u << 23) & (0u - (f != 0)));
        uint32_t norm = (e + 112) << 23 | f << 13;
        uint32_t v = (sub & zero_e) | (norm & ~zero_e & ~top) | (0x7f800000u & top);
        r[i] = (FP_CNAN32 & nan) | ((v | sign) & ~nan);
        snan |= nan & (~f >> 9) & 1;
    }
    return snan != 0;
}

/* i32 -> f32 in the host's rounding mode (set by the caller; NX from the host). */
VEC_KERNEL static void bulk_i2s(float *restrict r, const int32_t *restrict a, uint64_t lo, uint64_t hi) {
    for (uint64_t i = lo; i < hi; i++) r[i] = (float)a[i];
}

/* f32 -> i32: round to an integral float in the host's rounding mode (set by
 * the caller), saturate NaN and out-of-range values; returns NV/NX, worked
 * out here because the host's own flags for these steps are not RISC-V's. */
VEC_KERNEL static uint32_t bulk_s2i(int32_t *restrict r, const float *restrict a, uint64_t lo, uint64_t hi) {
    unsigned nv = 0, nx = 0;
    for (uint64_t i = lo; i < hi; i++) {
        float x = a[i], t = __builtin_rintf(x);
        unsigned ok = (t >= -0x1p31f) & (t < 0x1p31f);   /* 0 for NaN */
        int32_t v = (int32_t)(ok ? t : 0.0f);
        r[i] = ok ? v : x < 0 ? INT32_MIN : INT32_MAX;
        nv |= !ok;
        nx |= ok & (t != x);
    }
    return (nv ? FP_NV : 0) | (nx ? FP_NX : 0);
}

/* Run the bulk loop of conversion `code` at this SEW if it has one; 1 when done. */
static int cvt_bulk(unsigned code, unsigned sew, const uint8_t *A, uint8_t *R, uint64_t lo, uint64_t hi,
                    unsigned rm, uint32_t fflags, uint32_t *flags) {
    uint32_t host = 0;
    if (code == (VFC_WIDEN << 3 | VFC_F_F) && sew == 16) {
        if (bulk_h2s((uint32_t *)R, (const uint16_t *)A, lo, hi)) *flags |= FP_NV;
        return 1;
    }
    if (sew != 32 || rm == FP_RMM) return 0;   /* the host has no round-to-max-magnitude */
    if (code == VFC_F_X) {
        /* i32 -> f32 can raise only NX (every int32 lies far inside f32's
         * range): in nearest-even with NX in fflags already (fp.h's
         * fp_host_fast), the host is in that mode by fp.h's invariant and
         * there is no flag left to learn, so MXCSR is neither set nor read */
        int fast = fp_host_fast(rm, fflags);
        if (!fast) fp_host_enter(rm);
        bulk_i2s((float *)R, (const int32_t *)A, lo, hi);
        if (!fast) fp_host_leave(flags);
        return 1;
    }
    if (code == VFC_X_F || code == VFC_RTZ_X_F) {
        fp_host_enter(code == VFC_RTZ_X_F ? FP_RTZ : rm);
        *flags |= bulk_s2i((int32_t *)R, (const float *)A, lo, hi);
        fp_host_leave(&host);   /* only to restore the host mode: the flags came from bulk_s2i */
        /* a host flag beyond NX the guest's do not have must not stay behind (fp.h's invariant) */
        if (host & ~*flags & ~FP_NX) fp_host_reset();
        return 1;
    }
    return 0;
}

int vec_fcvt(rv_machine *m, const rv_decoded *d, unsigned code) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c) || m->frm > FP_RMM) return VEC_ILLEGAL;
    unsigned shape = code >> 3, kind = code & 7, sew = c.sew, vd = d->rd, vs2 = d->rs2;
    int lg = c.lmul_log2;
    unsigned sw = shape == VFC_NARROW ? 2 * sew : sew, dw = shape == VFC_WIDEN ? 2 * sew : sew;
    int slg = shape == VFC_NARROW ? lg + 1 : lg, dlg = shape == VFC_WIDEN ? lg + 1 : lg;
    int from_float = kind != VFC_F_XU && kind != VFC_F_X;
    int to_float = kind == VFC_F_XU || kind == VFC_F_X || kind == VFC_F_F || kind == VFC_ROD_F_F;
    /* Widths beyond ELEN, or a float side narrower than half precision: no such instruction. */
    if (sw > 64 || dw > 64 || (from_float && sw < 16) || (to_float && dw < 16) || slg > 3 || dlg > 3)
        return VEC_ILLEGAL;
    if ((!c.vm && vd == 0) || !vec_group_ok(vd, dlg) || !vec_group_ok(vs2, slg) ||
        !vec_overlap_ok(vd, dw, dlg, vs2, sw, slg))
        return VEC_ILLEGAL;
    unsigned rm = kind == VFC_RTZ_XU_F || kind == VFC_RTZ_X_F ? FP_RTZ : m->frm;
    uint64_t lo = c.vstart, hi = c.vl, rbuf[m->vlenb];
    uint8_t *R = (uint8_t *)rbuf;
    const uint8_t *A = vreg(m, vs2);
    uint32_t fl = 0;
    if (lo < hi && !(c.vm && cvt_bulk(code, sew, A, R, lo, hi, rm, m->fflags, &fl))) {
        for (uint64_t i = lo; i < hi; i++)
            if (vactive(m, &c, i)) cput(R, dw / 8, i, cvt_elem(kind, cget(A, sw / 8, i), sw, dw, rm, &fl));
    }
    m->fflags |= fl;
    vec_commit(m, &c, vd, R, dw / 8, vec_group_regs(dlg));
    return VEC_OK;
}

/* ---- vfrsqrt7 / vfrec7 ------------------------------------------------------ */

/* The spec's normalisation of a nonzero finite input: a subnormal's exponent
 * becomes 0 minus the leading zeros of its significand, and the significand
 * is shifted left by 1 minus that exponent, dropping the leading one. */
static void est_normalise(int64_t *e, uint64_t *f, int fbits) {
    if (*e) return;
    int lz = __builtin_clzll(*f) - (64 - fbits);
    *e = -lz;
    *f = (*f << (1 + lz)) & ((1ull << fbits) - 1);
}

/* vfrsqrt7 of one element with `ebits` exponent and `fbits` fraction bits. */
static uint64_t rsqrt7(uint64_t a, int ebits, int fbits, uint32_t *flags) {
    uint64_t emax = (1ull << ebits) - 1, f = a & ((1ull << fbits) - 1), sign = a >> (ebits + fbits);
    uint64_t inf = emax << fbits, cnan = inf | 1ull << (fbits - 1);
    int64_t e = (int64_t)((a >> fbits) & emax), bias = (int64_t)(emax >> 1);
    if ((uint64_t)e == emax && f) {                   /* NaN: NV when signalling */
        if (!(f >> (fbits - 1))) *flags |= FP_NV;
        return cnan;
    }
    if (e == 0 && f == 0) { *flags |= FP_DZ; return sign << (ebits + fbits) | inf; }   /* +-0 -> +-inf */
    if (sign) { *flags |= FP_NV; return cnan; }       /* negative, including -inf */
    if ((uint64_t)e == emax) return 0;                /* +inf -> +0 */
    est_normalise(&e, &f, fbits);
    uint64_t oe = (uint64_t)((3 * bias - 1 - e) / 2);   /* positive, so / is floor */
    return oe << fbits | (uint64_t)rsqrt7_table[(e & 1) << 6 | f >> (fbits - 6)] << (fbits - 7);
}

/* vfrec7 of one element; rm decides the result of an overflow. */
static uint64_t rec7(uint64_t a, int ebits, int fbits, unsigned rm, uint32_t *flags) {
    uint64_t emax = (1ull << ebits) - 1, f = a & ((1ull << fbits) - 1), neg = a >> (ebits + fbits);
    uint64_t inf = emax << fbits, cnan = inf | 1ull << (fbits - 1), sign = neg << (ebits + fbits);
    int64_t e = (int64_t)((a >> fbits) & emax), bias = (int64_t)(emax >> 1);
    if ((uint64_t)e == emax && f) {
        if (!(f >> (fbits - 1))) *flags |= FP_NV;
        return cnan;
    }
    if ((uint64_t)e == emax) return sign;             /* +-inf -> +-0 */
    if (e == 0 && f == 0) { *flags |= FP_DZ; return sign | inf; }
    est_normalise(&e, &f, fbits);
    int64_t oe = 2 * bias - 1 - e;
    if (oe > 2 * bias) {   /* tiny subnormal: overflow, to infinity or the largest finite by rm */
        *flags |= FP_OF | FP_NX;
        int to_inf = rm == FP_RNE || rm == FP_RMM || (rm == FP_RUP && !neg) || (rm == FP_RDN && neg);
        return sign | (to_inf ? inf : inf - 1);
    }
    uint64_t sig = (uint64_t)rec7_table[f >> (fbits - 7)] << (fbits - 7);
    if (oe <= 0) {         /* a subnormal result: the leading one shifted in */
        sig = (sig | 1ull << fbits) >> (1 - oe);
        oe = 0;
    }
    return sign | (uint64_t)oe << fbits | sig;
}

int vec_fest7(rv_machine *m, const rv_decoded *d, int rec) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c) || c.sew == 8 || m->frm > FP_RMM) return VEC_ILLEGAL;
    unsigned vd = d->rd, vs2 = d->rs2, eb = c.sewb;
    if ((!c.vm && vd == 0) || !vec_group_ok(vd, c.lmul_log2) || !vec_group_ok(vs2, c.lmul_log2))
        return VEC_ILLEGAL;
    int ebits = c.sew == 16 ? 5 : c.sew == 32 ? 8 : 11, fbits = (int)c.sew - 1 - ebits;
    uint64_t rbuf[m->vlenb];
    const uint8_t *A = vreg(m, vs2);
    uint32_t fl = 0;
    for (uint64_t i = c.vstart; i < c.vl; i++) {
        if (!vactive(m, &c, i)) continue;
        uint64_t a = cget(A, eb, i);
        cput((uint8_t *)rbuf, eb, i, rec ? rec7(a, ebits, fbits, m->frm, &fl) : rsqrt7(a, ebits, fbits, &fl));
    }
    m->fflags |= fl;
    vec_commit(m, &c, vd, rbuf, eb, c.nregs);
    return VEC_OK;
}
