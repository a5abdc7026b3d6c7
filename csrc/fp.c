/* Software parts of the FP helpers (see fp.h): rounding a wide exact or
 * rounded-to-odd value to a format, the slow arithmetic path, and conversions. */
#include <fenv.h>
#include "fp.h"

/* Per format (indexed by FMT_S, FMT_D, FMT_H): precision p (with the hidden
 * bit), minimum and maximum unbiased exponents. */
static const struct { int p, emin, emax; } fmts[FMT_B + 1] = {
    [FMT_S] = {24, -126, 127}, [FMT_D] = {53, -1022, 1023}, [FMT_H] = {11, -14, 15},
    [FMT_B] = {8, -126, 127}};

/* Round sig (bit 63 set) to its top k bits in mode rm; *inexact when bits were
 * dropped.  k may be zero or negative (a subnormal far below the format's
 * unit): then the kept part is 0 and the value is at most (k == 0) or below
 * (k < 0) half a unit. */
static uint64_t round_bits(uint64_t sig, int k, int sign, unsigned rm, int *inexact) {
    if (k >= 64) { *inexact = 0; return sig; }
    const uint64_t half = 1ull << 63;
    uint64_t kept = k > 0 ? sig >> (64 - k) : 0;
    /* The dropped bits, left-aligned; when k < 0 they sit below the half bit. */
    uint64_t rest = k > 0 ? sig << k : k == 0 ? sig : 1;
    *inexact = 1;
    if (!rest) { *inexact = 0; return kept; }
    int up = 0;
    switch (rm) {
    case FP_RNE: up = rest > half || (rest == half && (kept & 1)); break;
    case FP_RMM: up = rest >= half; break;
    case FP_RDN: up = sign; break;
    case FP_RUP: up = !sign; break;
    default: break;   /* RTZ */
    }
    return kept + (uint64_t)up;
}

uint64_t fp_round_pack(int fmt, int sign, int exp, uint64_t sig, unsigned rm, uint32_t *flags) {
    const int p = fmts[fmt].p, emin = fmts[fmt].emin, emax = fmts[fmt].emax;
    const int width = fmt == FMT_D ? 64 : fmt == FMT_S ? 32 : 16;
    const uint64_t sbit = (uint64_t)sign << (width - 1);
    if (!sig) return sbit;
    int sh = __builtin_clzll(sig);
    sig <<= sh;
    int e = exp - sh + 63;              /* value = 1.xxx * 2^e */
    int inexact;
    /* Round to p bits as if the exponent range were unbounded: decides
     * overflow, and tininess (after rounding) for the subnormal case. */
    uint64_t r = round_bits(sig, p, sign, rm, &inexact);
    int er = e;
    if (r >> p) { r >>= 1; er++; }
    if (er > emax) {
        *flags |= FP_OF | FP_NX;
        int to_inf = rm == FP_RNE || rm == FP_RMM || (rm == FP_RUP && !sign) || (rm == FP_RDN && sign);
        uint64_t inf = ((1ull << (width - p)) - 1) << (p - 1);
        return sbit | (to_inf ? inf : inf - 1);
    }
    if (e >= emin) {
        if (inexact) *flags |= FP_NX;
        return sbit | ((uint64_t)(er - emin + 1) << (p - 1)) | (r & ((1ull << (p - 1)) - 1));
    }
    int tiny = er < emin;
    /* Subnormal: the unit is 2^(emin-p+1), so fewer bits are kept.  A carry
     * into bit p-1 makes the smallest normal, which the packing below gives. */
    r = round_bits(sig, p - (emin - e), sign, rm, &inexact);
    if (inexact) *flags |= FP_NX | (tiny ? FP_UF : 0);
    return sbit | r;
}

/* Split a finite nonzero double into sign, sig, exp (value = sig * 2^exp). */
static void unpack64(uint64_t b, int *sign, int *exp, uint64_t *sig) {
    int e = (int)((b >> 52) & 0x7ff);
    *sign = (int)(b >> 63);
    *sig = (b & ((1ull << 52) - 1)) | (e ? 1ull << 52 : 0);
    *exp = (e ? e : 1) - 1075;
}

/* The value of a half, bfloat16, single or double (non-NaN) as a double: exact.
 * A bfloat16 is the upper half of a single. */
static double to_double(int fmt, uint64_t a) {
    return fmt == FMT_D ? fp_f64(a) : fmt == FMT_S ? (double)fp_f32((uint32_t)a)
         : fmt == FMT_B ? (double)fp_f32((uint32_t)a << 16) : (double)fp_f32(fp_h2s_exact((uint16_t)a));
}

static int is_nan(int fmt, uint64_t a) {
    return fmt == FMT_D ? fp_isnan64(a) : fmt == FMT_S ? fp_isnan32((uint32_t)a)
         : fmt == FMT_B ? fp_isnan32((uint32_t)a << 16) : fp_isnan16((uint16_t)a);
}
static int is_snan(int fmt, uint64_t a) {
    return fmt == FMT_D ? fp_issnan64(a) : fmt == FMT_S ? fp_issnan32((uint32_t)a)
         : fmt == FMT_B ? fp_issnan32((uint32_t)a << 16) : fp_issnan16((uint16_t)a);
}
static uint64_t canonical_nan(int fmt) {
    return fmt == FMT_D ? FP_CNAN64 : fmt == FMT_S ? FP_CNAN32 : fmt == FMT_B ? FP_CNANB : FP_CNAN16;
}
static uint64_t infinity(int fmt, int sign) {
    return fmt == FMT_D ? (uint64_t)sign << 63 | 0x7ff0000000000000ull
         : fmt == FMT_S ? (uint64_t)sign << 31 | 0x7f800000u
         : (uint64_t)sign << 15 | (fmt == FMT_B ? 0x7f80 : 0x7c00);
}

/* Half and single: the operation in double, truncated, with the last bit
 * set when inexact ("round to odd").  53 bits >= p + 2, so rounding this to
 * p bits later gives the correctly rounded result in every mode.  The
 * operands are exact doubles and results stay far inside double's range.
 * host_rm is FP_RTZ for rounding to odd, or another mode to get the sign of
 * an exact zero right. */
static double odd_double(int op, double x, double y, double z, unsigned host_rm, uint32_t *nvdz) {
    double r;
    uint32_t fl = 0;
    fp_host_enter(host_rm);
    FP_PIN(x); FP_PIN(y); FP_PIN(z);
    switch (op) {
    case FOP_ADD: r = x + y; break;
    case FOP_SUB: r = x - y; break;
    case FOP_MUL: r = x * y; break;
    case FOP_DIV: r = x / y; break;
    case FOP_SQRT: r = __builtin_sqrt(x); break;
    default: r = fma(x, y, z); break;
    }
    FP_PIN(r);
    fp_host_leave(&fl);
    *nvdz |= fl & (FP_NV | FP_DZ);
    uint64_t b = fp_b64(r);
    if ((fl & FP_NX) && !fp_isnan64(b) && (b & ~(1ull << 63)) != 0x7ff0000000000000ull) b |= 1;
    return fp_f64(b);
}

/* Double under RMM: the same in x87 extended precision (64 bits >= 53 + 2),
 * through <fenv.h>, which drives both the x87 and SSE units.  Rare path. */
static uint64_t odd_long_double(int op, double x, double y, double z, int rtz, uint32_t *nvdz,
                                int *sign, int *exp, int *is_inf) {
    volatile long double a = x, b = y, c = z, r;
    fesetround(rtz ? FE_TOWARDZERO : FE_DOWNWARD);
    feclearexcept(FE_ALL_EXCEPT);
    switch (op) {
    case FOP_ADD: r = a + b; break;
    case FOP_SUB: r = a - b; break;
    case FOP_MUL: r = a * b; break;
    case FOP_DIV: r = a / b; break;
    case FOP_SQRT: r = sqrtl(a); break;
    default: r = fmal(a, b, c); break;
    }
    int ex = fetestexcept(FE_INVALID | FE_DIVBYZERO | FE_INEXACT);
    fesetround(FE_TONEAREST);
    *nvdz |= (ex & FE_INVALID ? FP_NV : 0) | (ex & FE_DIVBYZERO ? FP_DZ : 0);
    long double v = r;
    unsigned char raw[16];
    memcpy(raw, (const void *)&v, sizeof raw);
    uint64_t sig;
    uint16_t se;
    memcpy(&sig, raw, 8);
    memcpy(&se, raw + 8, 2);
    *sign = se >> 15;
    int e = se & 0x7fff;
    *exp = (e ? e : 1) - 16383 - 63;
    *is_inf = e == 0x7fff;
    if ((ex & FE_INEXACT) && !*is_inf) sig |= 1;
    return sig;
}

uint64_t fp_slow(int fmt, int op, uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t *flags) {
    int nargs = op == FOP_SQRT ? 1 : op == FOP_FMA ? 3 : 2;
    int an = is_nan(fmt, a), bn = nargs > 1 && is_nan(fmt, b), cn = nargs > 2 && is_nan(fmt, c);
    if (an | bn | cn) {
        int bad = is_snan(fmt, a) || (nargs > 1 && is_snan(fmt, b)) || (nargs > 2 && is_snan(fmt, c));
        if (op == FOP_FMA) {   /* inf * 0 is invalid even with a quiet NaN addend */
            double x = to_double(fmt, a), y = to_double(fmt, b);
            bad |= !an && !bn && ((__builtin_isinf(x) && y == 0) || (x == 0 && __builtin_isinf(y)));
        }
        if (bad) *flags |= FP_NV;
        return canonical_nan(fmt);
    }
    double x = to_double(fmt, a), y = nargs > 1 ? to_double(fmt, b) : 0, z = nargs > 2 ? to_double(fmt, c) : 0;
    int sign, exp;
    uint64_t sig;
    if (fmt == FMT_D) {
        uint32_t nvdz = 0;
        int inf;
        sig = odd_long_double(op, x, y, z, 1, &nvdz, &sign, &exp, &inf);
        *flags |= nvdz;
        if (nvdz & FP_NV) return FP_CNAN64;
        if (inf) return infinity(fmt, sign);   /* exact: from an infinite operand or x/0 */
        /* An exact zero's sign depends on the rounding direction (x - x is -0 only downward). */
        if (!sig && rm == FP_RDN) sig = odd_long_double(op, x, y, z, 0, &nvdz, &sign, &exp, &inf);
    } else {
        uint32_t nvdz = 0;
        double r = odd_double(op, x, y, z, FP_RTZ, &nvdz);
        *flags |= nvdz;
        if (nvdz & FP_NV) return canonical_nan(fmt);
        if (__builtin_isinf(r)) return infinity(fmt, r < 0);
        if (r == 0 && rm == FP_RDN) r = odd_double(op, x, y, z, FP_RDN, &nvdz);
        unpack64(fp_b64(r), &sign, &exp, &sig);
    }
    return fp_round_pack(fmt, sign, exp, sig, rm, flags);
}

/* x rounded to an integer in mode rm (a double: exact for every format).  trunc
 * keeps the sign, so a result of zero has the sign of x, as IEEE's
 * roundToIntegral requires.  t and the fraction are exact (Sterbenz). */
static double round_integral(double x, unsigned rm) {
    double t = __builtin_trunc(x), frac = x - t;
    if (frac == 0) return t;
    double af = __builtin_fabs(frac), away = x < 0 ? -1 : 1;
    int odd = __builtin_fabs(t) < 9007199254740992.0 && ((int64_t)t & 1);
    switch (rm) {
    case FP_RNE: return af > 0.5 || (af == 0.5 && odd) ? t + away : t;
    case FP_RMM: return af >= 0.5 ? t + away : t;
    case FP_RDN: return frac < 0 ? t - 1 : t;
    case FP_RUP: return frac > 0 ? t + 1 : t;
    default: return t;
    }
}

uint64_t fp_to_int(double x, int kind, unsigned rm, uint32_t *flags) {
    static const double lo[4] = {-2147483648.0, 0.0, -9223372036854775808.0, 0.0};
    static const double hi[4] = {2147483647.0, 4294967295.0, 9223372036854775807.0, 18446744073709551615.0};
    static const uint64_t max[4] = {0x7fffffff, 0xffffffffffffffffull, 0x7fffffffffffffffull, ~0ull};
    static const uint64_t min[4] = {0xffffffff80000000ull, 0, 1ull << 63, 0};
    if (x != x) { *flags |= FP_NV; return max[kind]; }
    double r = round_integral(x, rm);
    /* hi[] of the 64-bit kinds rounds up to 2^63 / 2^64 as a double: out of range from there. */
    int big = kind >= FP_I64 ? r >= hi[kind] : r > hi[kind];
    if (big || r < lo[kind]) { *flags |= FP_NV; return x < 0 ? min[kind] : max[kind]; }
    if (r != x) *flags |= FP_NX;
    switch (kind) {
    case FP_I32: case FP_I64: return (uint64_t)(int64_t)r;
    case FP_U32: return (uint64_t)(int64_t)(int32_t)(uint32_t)r;
    default: return (uint64_t)r;
    }
}

uint64_t fp_convert(int to, int from, uint64_t a, unsigned rm, uint32_t *flags) {
    if (is_nan(from, a)) {
        if (is_snan(from, a)) *flags |= FP_NV;
        return canonical_nan(to);
    }
    double x = to_double(from, a);
    if (__builtin_isinf(x)) return infinity(to, x < 0);
    int sign, exp;
    uint64_t sig;
    unpack64(fp_b64(x), &sign, &exp, &sig);
    return fp_round_pack(to, sign, exp, x == 0 ? 0 : sig, rm, flags);
}

/* ---- Zfa ------------------------------------------------------------------ */

uint64_t fp_fli(int fmt, unsigned index) {
    /* The spec's table; entry 1 (the format's smallest normal), 30 (+inf) and 31
     * (the canonical NaN) are made below.  Converting each to the format is
     * exact, except that 2^16 overflows half to +inf, which is what the spec
     * asks of FLI.H (and 2^-16, 2^-15 become half subnormals). */
    static const double value[32] = {
        -1.0, 0, 0x1p-16, 0x1p-15, 0x1p-8, 0x1p-7, 0.0625, 0.125, 0.25, 0.3125, 0.375, 0.4375,
        0.5, 0.625, 0.75, 0.875, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 8.0, 16.0, 128.0,
        256.0, 32768.0, 65536.0, 0, 0};
    uint32_t ignored = 0;   /* FLI never sets flags */
    index &= 31;
    if (index == 1) return fp_round_pack(fmt, 0, fmts[fmt].emin, 1, FP_RNE, &ignored);
    if (index == 30) return infinity(fmt, 0);
    if (index == 31) return canonical_nan(fmt);
    return fp_convert(fmt, FMT_D, fp_b64(value[index]), FP_RNE, &ignored);
}

uint64_t fp_minmax_nan(int fmt, uint64_t a, uint64_t b, int want_max, uint32_t *flags) {
    if (is_nan(fmt, a) || is_nan(fmt, b)) {
        if (is_snan(fmt, a) || is_snan(fmt, b)) *flags |= FP_NV;
        return canonical_nan(fmt);
    }
    double x = to_double(fmt, a), y = to_double(fmt, b);
    if (x == y) {   /* equal, or zeros of either sign: -0 is below +0 */
        int a_neg = (int)(a >> (fmt == FMT_D ? 63 : fmt == FMT_S ? 31 : 15)) & 1;
        return (want_max ? !a_neg : a_neg) ? a : b;
    }
    return (want_max ? x > y : x < y) ? a : b;
}

uint64_t fp_round_integral(int fmt, uint64_t a, unsigned rm, int exact, uint32_t *flags) {
    if (is_nan(fmt, a)) {
        if (is_snan(fmt, a)) *flags |= FP_NV;
        return canonical_nan(fmt);
    }
    double x = to_double(fmt, a);
    if (__builtin_isinf(x) || x == 0) return a;
    double r = round_integral(x, rm);
    if (r == x) return a;
    if (exact) *flags |= FP_NX;
    uint32_t ignored = 0;   /* an integer no larger than |x| rounded up: exact in the format */
    return fp_convert(fmt, FMT_D, fp_b64(r), FP_RNE, &ignored);
}

int fp_compare_quiet(int fmt, uint64_t a, uint64_t b, int or_equal, uint32_t *flags) {
    if (is_nan(fmt, a) || is_nan(fmt, b)) {
        if (is_snan(fmt, a) || is_snan(fmt, b)) *flags |= FP_NV;
        return 0;
    }
    double x = to_double(fmt, a), y = to_double(fmt, b);
    return or_equal ? x <= y : x < y;
}

uint64_t fp_cvtmod_w_d(uint64_t a, uint32_t *flags) {
    double x = fp_f64(a);
    if (fp_isnan64(a) || __builtin_isinf(x)) { *flags |= FP_NV; return 0; }
    (void)fp_to_int(x, FP_I32, FP_RTZ, flags);   /* the flags FCVT.W.D would raise */
    if (x == 0) return 0;
    int sign, exp;
    uint64_t sig;
    unpack64(a, &sign, &exp, &sig);
    /* |x| truncated, modulo 2^64 (enough for the low 32 bits): sig * 2^exp */
    uint64_t mag = exp >= 64 ? 0 : exp >= 0 ? sig << exp : exp <= -64 ? 0 : sig >> -exp;
    uint32_t low = (uint32_t)(sign ? 0 - mag : mag);
    return (uint64_t)(int64_t)(int32_t)low;
}

void rv_fp_consts(uint64_t out[6]) {   /* api.h */
    out[0] = FP_NX;
    out[1] = FP_BIG32;
    out[2] = FP_TINY32;
    out[3] = FP_BIG64;
    out[4] = FP_TINY64;
    out[5] = FP_HOST_FAST;
}
