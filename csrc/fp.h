/* IEEE 754 arithmetic for the guest's F, D and Zfh, reusable by the vector FP code.
 *
 * Values travel as bit patterns (uint16_t half, uint32_t single, uint64_t
 * double).  Every operation takes the RISC-V rounding mode `rm` (FP_RNE ..
 * FP_RMM, already resolved: never FP_DYN) and ORs the RISC-V exception flags
 * it raises into `*flags` (FP_NX .. FP_NV, the fflags layout); it never
 * clears them.  NaN results are always the canonical NaN of the format.
 *
 * How: single and double arithmetic in the four IEEE rounding modes runs on
 * the host's SSE unit, whose rounding mode and sticky flags live in MXCSR.
 * fp_host_enter() sets the mode and clears the flags (writing MXCSR only when
 * it differs: the write is slow); fp_host_leave() folds the host flags into
 * *flags and puts the host back in round-to-nearest, so code outside these
 * helpers (Python, NumPy) always sees the default mode.
 *
 * Reading MXCSR is slow too (stmxcsr and ldmxcsr are microcoded and
 * serialise: on an AMD EPYC the two reads of each vector FP instruction were
 * ~70 % of vfp_simd's wall), so most operations read it not at all.  The
 * invariant that allows it, at every guest instruction boundary inside rv_run
 * (x86 hosts):
 *   (I1) MXCSR's rounding field is nearest-even, DAZ and FTZ are off;
 *   (I2) the host's sticky IE, ZE, OE and UE are a subset of the running
 *        thread's fflags (NV, DZ, OF, UF); PE (NX) and DE are unconstrained.
 * Established by fp_host_reset() at rv_run's entry; kept by every operation
 * that reads the host flags ORing them into fflags (fp_host_leave), by
 * fp_host_reset() wherever fflags loses bits (csr.c's writes of fflags/fcsr)
 * or foreign code ran (jit.c's translate hook into Python), by code whose
 * host flags are not all folded in resetting after it (vfcvt.c's bulk
 * float->int, vfp_simd.c's min/max), and by the timing model's double
 * arithmetic raising at most PE (timing.c's params_ok keeps its parameters
 * moderate).  Threads (harts.c) switch between rv_run calls, whose entry
 * covers them.
 * Then an operation in round-to-nearest whose fflags already hold NX (the
 * steady state of any real kernel) needs no MXCSR access before it
 * (fp_host_fast): the host's sticky bits can only hold flags fflags has.  And
 * after it, only a "special" result can carry a new flag (fp_special32/64):
 * NV gives a NaN, DZ an infinity, OF an infinity or the largest finite
 * magnitude (directed rounding), UF a magnitude at most the smallest normal
 * (tininess is detected after rounding, on x86 as in RISC-V, so a result
 * rounded up to exactly the smallest normal may still be UF: <=, not <), NX
 * is already set.  So MXCSR is read only when a result is special, and the
 * flags it then holds, old or new, all belong in fflags.  Everything else
 * (NX not yet raised, a directed mode) takes the exact window as before.
 *
 * What the host cannot
 * do directly -- round-to-max-magnitude (RMM), and all half-precision
 * arithmetic -- is computed in a wider host format rounded to odd (exact
 * enough for any later rounding), then rounded by fp_round_pack() in software.
 *
 * Bulk use (vector loops, rm != FP_RMM, single/double add/sub/mul/div/sqrt):
 *     fp_host_enter(rm);
 *     for (i...) d[i] = a[i] + b[i];        plain host floats: vectorisable
 *     fp_host_leave(&flags);
 *     for (i...) d[i] = fp_canon32(d[i]);   NaN results -> canonical NaN
 * Fused multiply-add, min/max, comparisons and conversions need the helpers
 * below (their NaN and flag rules differ from the host's).
 */
#ifndef RVAI_FP_H
#define RVAI_FP_H
#include <stdint.h>
#include <string.h>
#include <math.h>
#include "machine.h"

enum { FP_RNE = 0, FP_RTZ = 1, FP_RDN = 2, FP_RUP = 3, FP_RMM = 4, FP_DYN = 7 };
enum { FP_NX = 1, FP_UF = 2, FP_OF = 4, FP_DZ = 8, FP_NV = 16 };
/* Formats, as the RISC-V fmt field numbers them (H is 2, Q would be 3), and
 * bfloat16 (Zfbfmin / Zvfbf*: no fmt field of its own), which only converts. */
enum { FMT_S = 0, FMT_D = 1, FMT_H = 2, FMT_B = 4 };

#define FP_CNAN16 ((uint16_t)0x7e00)
#define FP_CNAN32 0x7fc00000u
#define FP_CNAN64 0x7ff8000000000000ull
#define FP_CNANB ((uint16_t)0x7fc0)      /* bfloat16 */

/* ---- bit patterns ----------------------------------------------------- */

static inline float fp_f32(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static inline double fp_f64(uint64_t b) { double f; memcpy(&f, &b, 8); return f; }
static inline uint32_t fp_b32(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }
static inline uint64_t fp_b64(double f) { uint64_t b; memcpy(&b, &f, 8); return b; }

static inline int fp_isnan16(uint16_t a) { return (a & 0x7fff) > 0x7c00; }
static inline int fp_isnan32(uint32_t a) { return (a & 0x7fffffffu) > 0x7f800000u; }
static inline int fp_isnan64(uint64_t a) { return (a & ~(1ull << 63)) > 0x7ff0000000000000ull; }
static inline int fp_issnan16(uint16_t a) { return fp_isnan16(a) && !(a & 0x0200); }
static inline int fp_issnan32(uint32_t a) { return fp_isnan32(a) && !(a & 0x00400000u); }
static inline int fp_issnan64(uint64_t a) { return fp_isnan64(a) && !(a & (1ull << 51)); }

static inline uint32_t fp_canon32(uint32_t a) { return fp_isnan32(a) ? FP_CNAN32 : a; }
static inline uint64_t fp_canon64(uint64_t a) { return fp_isnan64(a) ? FP_CNAN64 : a; }

/* NaN-boxing in the 64-bit f registers: a narrower value is valid only when
 * every bit above it is one; otherwise it reads as the canonical NaN. */
static inline uint32_t fp_unbox32(uint64_t r) { return (r >> 32) == 0xffffffffu ? (uint32_t)r : FP_CNAN32; }
static inline uint16_t fp_unbox16(uint64_t r) { return (r >> 16) == 0xffffffffffffull ? (uint16_t)r : FP_CNAN16; }
/* A bfloat16 operand in an f register: NaN-boxed like a half, else the canonical bfloat16 NaN. */
static inline uint16_t fp_unboxb(uint64_t r) { return (r >> 16) == 0xffffffffffffull ? (uint16_t)r : FP_CNANB; }
static inline uint64_t fp_box32(uint32_t v) { return 0xffffffff00000000ull | v; }
static inline uint64_t fp_box16(uint16_t v) { return 0xffffffffffff0000ull | v; }

/* Half to single is exact: done on the bits. */
static inline uint32_t fp_h2s_exact(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    if (e == 0x1f) return sign | 0x7f800000u | (f << 13);
    if (e == 0) {
        if (!f) return sign;
        int sh = __builtin_clz(f) - 21;          /* bring the leading one to bit 10 */
        return sign | ((uint32_t)(113 - sh) << 23) | (((f << sh) & 0x3ff) << 13);
    }
    return sign | ((e + 112) << 23) | (f << 13);
}

/* ---- the host FPU (MXCSR) --------------------------------------------- */

#if defined(__x86_64__) || defined(__i386__)
/* MXCSR access as asm with a memory clobber, not _mm_getcsr/_mm_setcsr: GCC
 * moved those across the arithmetic they were meant to bracket.  FP_PIN
 * (below) also clobbers memory, so the order csr write -> FP_PIN(operands) ->
 * operation -> FP_PIN(result) -> csr read is fixed by dependences. */
static inline unsigned fp_getcsr(void) { unsigned c; __asm__ volatile("stmxcsr %0" : "=m"(c) : : "memory"); return c; }
static inline void fp_setcsr(unsigned c) { __asm__ volatile("ldmxcsr %0" : : "m"(c) : "memory"); }
/* The invariant above and fp_host_fast exist on this host (1), not on the
 * <fenv.h> fallback's (0): translated blocks compute vector FP inline only
 * where it is 1 (rv_fp_consts exports it). */
#define FP_HOST_FAST 1
/* MXCSR: all exceptions masked (0x1f80), DAZ and FTZ off, rounding control in bits 13-14. */
#define FP_MXCSR_DEFAULT 0x1f80u
static inline unsigned fp_host_rc(unsigned rm) {
    static const uint8_t rc[5] = {0, 3, 1, 2, 0};   /* RNE RTZ RDN RUP (RMM: never used) */
    return FP_MXCSR_DEFAULT | (unsigned)rc[rm] << 13;
}
/* Set the host rounding mode for rm and clear the host flags. */
static inline void fp_host_enter(unsigned rm) {
    unsigned want = fp_host_rc(rm);
    if (fp_getcsr() != want) fp_setcsr(want);
}
/* Host flags -> RISC-V flags: IE->NV, ZE->DZ, OE->OF, UE->UF, PE->NX; DE ignored.
 * A table of the 64 values of MXCSR's flag bits (the tests of each bit cost
 * more: this runs once per FP instruction). */
static inline unsigned fp_host_flags(unsigned csr) {
    static const uint8_t map[64] = {
        0, 16, 0, 16, 8, 24, 8, 24, 4, 20, 4, 20, 12, 28, 12, 28,
        2, 18, 2, 18, 10, 26, 10, 26, 6, 22, 6, 22, 14, 30, 14, 30,
        1, 17, 1, 17, 9, 25, 9, 25, 5, 21, 5, 21, 13, 29, 13, 29,
        3, 19, 3, 19, 11, 27, 11, 27, 7, 23, 7, 23, 15, 31, 15, 31};
    return map[csr & 63];
}
static inline void fp_host_leave(uint32_t *flags) {
    unsigned csr = fp_getcsr();
    *flags |= fp_host_flags(csr);
    if (csr & 0x6000) fp_setcsr(FP_MXCSR_DEFAULT | (csr & 0x3f));   /* back to nearest */
}
/* Establish the invariant (I1, I2) above: nearest-even, no sticky flags. */
static inline void fp_host_reset(void) { fp_setcsr(FP_MXCSR_DEFAULT); }
/* An operation in mode rm may skip fp_host_enter and read the host flags
 * only for a special result: rm is nearest-even and NX is in `flags` (fflags,
 * or flags about to be ORed into it). */
static inline int fp_host_fast(unsigned rm, uint32_t flags) { return rm == FP_RNE && (flags & FP_NX); }
#else
#include <fenv.h>
#define FP_HOST_FAST 0
/* Portable fallback through <fenv.h>: slower, same contract. */
static inline void fp_host_enter(unsigned rm) {
    static const int mode[5] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD, FE_TONEAREST};
    feclearexcept(FE_ALL_EXCEPT);
    if (fegetround() != mode[rm]) fesetround(mode[rm]);
}
static inline void fp_host_leave(uint32_t *flags) {
    int e = fetestexcept(FE_ALL_EXCEPT);
    *flags |= (e & FE_INVALID ? FP_NV : 0) | (e & FE_DIVBYZERO ? FP_DZ : 0) | (e & FE_OVERFLOW ? FP_OF : 0) |
              (e & FE_UNDERFLOW ? FP_UF : 0) | (e & FE_INEXACT ? FP_NX : 0);
    if (fegetround() != FE_TONEAREST) fesetround(FE_TONEAREST);
}
static inline void fp_host_reset(void) {}
/* No fast path: fp_host_enter clears the flags before every operation. */
static inline int fp_host_fast(unsigned rm, uint32_t flags) { (void)rm, (void)flags; return 0; }
#endif

/* A result that may carry a flag beyond NX (see the invariant above): NaN,
 * infinity, the largest finite magnitude or above, the smallest normal or
 * below (zero included).  The bounds, as magnitudes' bit patterns, are named
 * once here: vfp_simd.c's lane test and the translated blocks' inline test
 * (jit_llvm.py, through rv_fp_consts) use these. */
#define FP_BIG32 0x7f7fffffu                  /* FLT_MAX */
#define FP_TINY32 0x00800000u                 /* FLT_MIN, the smallest normal */
#define FP_BIG64 0x7fefffffffffffffull        /* DBL_MAX */
#define FP_TINY64 0x0010000000000000ull       /* DBL_MIN */
static inline int fp_special32(uint32_t r) {
    uint32_t a = r & 0x7fffffffu;
    return a >= FP_BIG32 || a <= FP_TINY32;
}
static inline int fp_special64(uint64_t r) {
    uint64_t a = r & ~(1ull << 63);
    return a >= FP_BIG64 || a <= FP_TINY64;
}
/* Whether one of r[lo, hi) is special: a bulk loop whose every element is
 * one rounding of its operands reads the host flags, on the fast path, only
 * then (a loop with intermediate roundings, such as a reduction, cannot use
 * this: an intermediate may have raised UF or OF that its final result hides). */
static inline int fp_any_special32(const uint32_t *r, uint64_t lo, uint64_t hi) {
    int any = 0;
    for (uint64_t i = lo; i < hi; i++) any |= fp_special32(r[i]);
    return any;
}
static inline int fp_any_special64(const uint64_t *r, uint64_t lo, uint64_t hi) {
    int any = 0;
    for (uint64_t i = lo; i < hi; i++) any |= fp_special64(r[i]);
    return any;
}

/* Keep the compiler from moving a host FP operation across the MXCSR
 * accesses: pin its operands after fp_host_enter and its result before
 * fp_host_leave (the operation itself touches no memory). */
#define FP_PIN(v) __asm__ volatile("" : "+x"(v) : : "memory")

/* ---- software rounding (fp.c) ----------------------------------------- */

/* Round sign * sig * 2^exp to format fmt in mode rm, raising NX/UF/OF
 * (tininess after rounding, as RISC-V and IEEE's binary default specify).
 * sig == 0 gives a zero of that sign. */
uint64_t fp_round_pack(int fmt, int sign, int exp, uint64_t sig, unsigned rm, uint32_t *flags);

/* Operations of the slow path: RMM for single/double, everything for half. */
enum { FOP_ADD, FOP_SUB, FOP_MUL, FOP_DIV, FOP_SQRT, FOP_FMA };
/* a op b (FMA: a*b+c) in format fmt, operands and result as bit patterns. */
uint64_t fp_slow(int fmt, int op, uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint32_t *flags);

/* Fused multiply-add NaN rules, shared by all formats: a NaN operand gives
 * the canonical NaN; NV for a signalling NaN, or for inf*0 even with a quiet
 * NaN addend (RISC-V requires it).  Returns 1 when the result is NaN. */
static inline int fp_fma_nan(int an, int bn, int cn, int as, int bs, int cs, int a_inf, int a_zero,
                             int b_inf, int b_zero, uint32_t *flags) {
    if (!(an | bn | cn)) return 0;
    if (as | bs | cs || (a_inf && b_zero) || (a_zero && b_inf)) *flags |= FP_NV;
    return 1;
}

/* ---- arithmetic: single and double on the host, half in software ------ */

#define FP_HOST_BIN(name, T, BT, tof, tob, canon, special, fmt, fop, expr)        \
    static inline BT name(BT a, BT b, unsigned rm, uint32_t *flags) {              \
        if (unlikely(rm == FP_RMM)) return (BT)fp_slow(fmt, fop, a, b, 0, rm, flags); \
        T x = tof(a), y = tof(b), r;                                               \
        int fast = fp_host_fast(rm, *flags);                                       \
        if (!fast) fp_host_enter(rm);                                              \
        FP_PIN(x); FP_PIN(y);                                                      \
        r = expr;                                                                  \
        FP_PIN(r);                                                                 \
        if (!fast || special(tob(r))) fp_host_leave(flags);                        \
        return canon(tob(r));                                                      \
    }
FP_HOST_BIN(f32_add, float, uint32_t, fp_f32, fp_b32, fp_canon32, fp_special32, FMT_S, FOP_ADD, x + y)
FP_HOST_BIN(f32_sub, float, uint32_t, fp_f32, fp_b32, fp_canon32, fp_special32, FMT_S, FOP_SUB, x - y)
FP_HOST_BIN(f32_mul, float, uint32_t, fp_f32, fp_b32, fp_canon32, fp_special32, FMT_S, FOP_MUL, x * y)
FP_HOST_BIN(f32_div, float, uint32_t, fp_f32, fp_b32, fp_canon32, fp_special32, FMT_S, FOP_DIV, x / y)
FP_HOST_BIN(f64_add, double, uint64_t, fp_f64, fp_b64, fp_canon64, fp_special64, FMT_D, FOP_ADD, x + y)
FP_HOST_BIN(f64_sub, double, uint64_t, fp_f64, fp_b64, fp_canon64, fp_special64, FMT_D, FOP_SUB, x - y)
FP_HOST_BIN(f64_mul, double, uint64_t, fp_f64, fp_b64, fp_canon64, fp_special64, FMT_D, FOP_MUL, x * y)
FP_HOST_BIN(f64_div, double, uint64_t, fp_f64, fp_b64, fp_canon64, fp_special64, FMT_D, FOP_DIV, x / y)
#undef FP_HOST_BIN

/* The square root follows FP_HOST_BIN's pattern with one operand. */
#define FP_HOST_SQRT(name, T, BT, tof, tob, canon, special, fmt, sqrt_fn)          \
    static inline BT name(BT a, unsigned rm, uint32_t *flags) {                    \
        if (unlikely(rm == FP_RMM)) return (BT)fp_slow(fmt, FOP_SQRT, a, 0, 0, rm, flags); \
        T x = tof(a), r;                                                           \
        int fast = fp_host_fast(rm, *flags);                                       \
        if (!fast) fp_host_enter(rm);                                              \
        FP_PIN(x);                                                                 \
        r = sqrt_fn(x);                                                            \
        FP_PIN(r);                                                                 \
        if (!fast || special(tob(r))) fp_host_leave(flags);                        \
        return canon(tob(r));                                                      \
    }
FP_HOST_SQRT(f32_sqrt, float, uint32_t, fp_f32, fp_b32, fp_canon32, fp_special32, FMT_S, __builtin_sqrtf)
FP_HOST_SQRT(f64_sqrt, double, uint64_t, fp_f64, fp_b64, fp_canon64, fp_special64, FMT_D, __builtin_sqrt)
#undef FP_HOST_SQRT

/* a*b + c with one rounding (libm's fmaf/fma: the FMA instruction, or glibc's
 * exact software); the NaN cases, inf*0 included, are settled before the host
 * sees the operands. */
#define FP_HOST_FMA(name, T, BT, tof, tob, canon, special, fmt, isnan, issnan, inf, cnan, fma_fn) \
    static inline BT name(BT a, BT b, BT c, unsigned rm, uint32_t *flags) {             \
        BT sign = (BT)1 << (8 * sizeof(BT) - 1), ma = a & ~sign, mb = b & ~sign;        \
        if (fp_fma_nan(isnan(a), isnan(b), isnan(c), issnan(a), issnan(b), issnan(c),  \
                       ma == (inf), ma == 0, mb == (inf), mb == 0, flags))              \
            return cnan;                                                                \
        if (unlikely(rm == FP_RMM)) return (BT)fp_slow(fmt, FOP_FMA, a, b, c, rm, flags); \
        T x = tof(a), y = tof(b), z = tof(c), r;                                        \
        int fast = fp_host_fast(rm, *flags);                                            \
        if (!fast) fp_host_enter(rm);                                                   \
        FP_PIN(x); FP_PIN(y); FP_PIN(z);                                                \
        r = fma_fn(x, y, z);                                                            \
        FP_PIN(r);                                                                      \
        if (!fast || special(tob(r))) fp_host_leave(flags);                             \
        return canon(tob(r));                                                           \
    }
FP_HOST_FMA(f32_fma, float, uint32_t, fp_f32, fp_b32, fp_canon32, fp_special32, FMT_S, fp_isnan32, fp_issnan32,
            0x7f800000u, FP_CNAN32, fmaf)
FP_HOST_FMA(f64_fma, double, uint64_t, fp_f64, fp_b64, fp_canon64, fp_special64, FMT_D, fp_isnan64, fp_issnan64,
            0x7ff0000000000000ull, FP_CNAN64, fma)
#undef FP_HOST_FMA

static inline uint16_t f16_add(uint16_t a, uint16_t b, unsigned rm, uint32_t *flags) {
    return (uint16_t)fp_slow(FMT_H, FOP_ADD, a, b, 0, rm, flags);
}
static inline uint16_t f16_sub(uint16_t a, uint16_t b, unsigned rm, uint32_t *flags) {
    return (uint16_t)fp_slow(FMT_H, FOP_SUB, a, b, 0, rm, flags);
}
static inline uint16_t f16_mul(uint16_t a, uint16_t b, unsigned rm, uint32_t *flags) {
    return (uint16_t)fp_slow(FMT_H, FOP_MUL, a, b, 0, rm, flags);
}
static inline uint16_t f16_div(uint16_t a, uint16_t b, unsigned rm, uint32_t *flags) {
    return (uint16_t)fp_slow(FMT_H, FOP_DIV, a, b, 0, rm, flags);
}
static inline uint16_t f16_sqrt(uint16_t a, unsigned rm, uint32_t *flags) {
    return (uint16_t)fp_slow(FMT_H, FOP_SQRT, a, 0, 0, rm, flags);
}
static inline uint16_t f16_fma(uint16_t a, uint16_t b, uint16_t c, unsigned rm, uint32_t *flags) {
    return (uint16_t)fp_slow(FMT_H, FOP_FMA, a, b, c, rm, flags);
}

/* ---- min / max (IEEE 754-2019 minimumNumber / maximumNumber) ---------- */

/* A NaN operand loses to a number; two NaNs give the canonical NaN; NV only
 * for a signalling NaN; -0 is below +0.  x, y are the values as doubles
 * (exact for every format). */
#define FP_MINMAX(name, BT, isnan_, issnan_, cnan, tod, signbit, want_max)        \
    static inline BT name(BT a, BT b, uint32_t *flags) {                           \
        int an = isnan_(a), bn = isnan_(b);                                        \
        if (an | bn) {                                                             \
            if (issnan_(a) || issnan_(b)) *flags |= FP_NV;                         \
            return an && bn ? cnan : an ? b : a;                                   \
        }                                                                          \
        double x = tod(a), y = tod(b);                                             \
        if (x == y) /* equal, or zeros of either sign: pick by the sign bit */    \
            return (want_max ? !(a & signbit) : (a & signbit)) ? a : b;            \
        return (want_max ? x > y : x < y) ? a : b;                                 \
    }
#define FP_TOD16(v) ((double)fp_f32(fp_h2s_exact(v)))
#define FP_TOD32(v) ((double)fp_f32(v))
FP_MINMAX(f16_min, uint16_t, fp_isnan16, fp_issnan16, FP_CNAN16, FP_TOD16, 0x8000, 0)
FP_MINMAX(f16_max, uint16_t, fp_isnan16, fp_issnan16, FP_CNAN16, FP_TOD16, 0x8000, 1)
FP_MINMAX(f32_min, uint32_t, fp_isnan32, fp_issnan32, FP_CNAN32, FP_TOD32, 0x80000000u, 0)
FP_MINMAX(f32_max, uint32_t, fp_isnan32, fp_issnan32, FP_CNAN32, FP_TOD32, 0x80000000u, 1)
FP_MINMAX(f64_min, uint64_t, fp_isnan64, fp_issnan64, FP_CNAN64, fp_f64, (1ull << 63), 0)
FP_MINMAX(f64_max, uint64_t, fp_isnan64, fp_issnan64, FP_CNAN64, fp_f64, (1ull << 63), 1)
#undef FP_MINMAX

/* ---- comparisons: eq is quiet (NV only for sNaN), lt/le signal on any NaN ---- */

#define FP_CMP(fmt, BT, isnan_, issnan_, tod)                                      \
    static inline int fmt##_eq(BT a, BT b, uint32_t *flags) {                      \
        if (isnan_(a) || isnan_(b)) {                                              \
            if (issnan_(a) || issnan_(b)) *flags |= FP_NV;                         \
            return 0;                                                              \
        }                                                                          \
        return tod(a) == tod(b);                                                   \
    }                                                                              \
    static inline int fmt##_lt(BT a, BT b, uint32_t *flags) {                      \
        if (isnan_(a) || isnan_(b)) { *flags |= FP_NV; return 0; }                 \
        return tod(a) < tod(b);                                                    \
    }                                                                              \
    static inline int fmt##_le(BT a, BT b, uint32_t *flags) {                      \
        if (isnan_(a) || isnan_(b)) { *flags |= FP_NV; return 0; }                 \
        return tod(a) <= tod(b);                                                   \
    }
FP_CMP(f16, uint16_t, fp_isnan16, fp_issnan16, FP_TOD16)
FP_CMP(f32, uint32_t, fp_isnan32, fp_issnan32, FP_TOD32)
FP_CMP(f64, uint64_t, fp_isnan64, fp_issnan64, fp_f64)
#undef FP_CMP

/* ---- classify: the fclass bit mask ------------------------------------ */

/* bit 0 -inf, 1 -normal, 2 -subnormal, 3 -0, 4 +0, 5 +subnormal, 6 +normal,
 * 7 +inf, 8 signalling NaN, 9 quiet NaN.  `ebits` / `fbits`: field widths. */
static inline unsigned fp_classify(uint64_t a, int ebits, int fbits) {
    int neg = (int)((a >> (ebits + fbits)) & 1);
    uint64_t e = (a >> fbits) & ((1ull << ebits) - 1), f = a & ((1ull << fbits) - 1);
    if (e == (1ull << ebits) - 1) {
        if (!f) return neg ? 1u << 0 : 1u << 7;
        return (f >> (fbits - 1)) ? 1u << 9 : 1u << 8;
    }
    if (e == 0) return f ? (neg ? 1u << 2 : 1u << 5) : (neg ? 1u << 3 : 1u << 4);
    return neg ? 1u << 1 : 1u << 6;
}
static inline unsigned f16_class(uint16_t a) { return fp_classify(a, 5, 10); }
static inline unsigned f32_class(uint32_t a) { return fp_classify(a, 8, 23); }
static inline unsigned f64_class(uint64_t a) { return fp_classify(a, 11, 52); }

/* ---- conversions -------------------------------------------------------- */

/* Float (as an exact double) to integer, kinds below; saturates per the spec's
 * table (NaN and too large -> the maximum, too small -> the minimum) with NV,
 * else NX when inexact.  32-bit results come back sign-extended to 64 bits,
 * as fcvt.w[u] writes them. */
enum { FP_I32, FP_U32, FP_I64, FP_U64 };
uint64_t fp_to_int(double x, int kind, unsigned rm, uint32_t *flags);
static inline uint64_t f16_to_int(uint16_t a, int kind, unsigned rm, uint32_t *flags) {
    return fp_to_int(fp_isnan16(a) ? NAN : FP_TOD16(a), kind, rm, flags);
}
static inline uint64_t f32_to_int(uint32_t a, int kind, unsigned rm, uint32_t *flags) {
    return fp_to_int(fp_isnan32(a) ? NAN : FP_TOD32(a), kind, rm, flags);
}
static inline uint64_t f64_to_int(uint64_t a, int kind, unsigned rm, uint32_t *flags) {
    return fp_to_int(fp_isnan64(a) ? NAN : fp_f64(a), kind, rm, flags);
}

/* Integer to float: `v` is the integer of `kind` (32-bit kinds use the low
 * 32 bits), rounded to fmt in mode rm (NX when inexact). */
static inline uint64_t fp_from_int(int fmt, uint64_t v, int kind, unsigned rm, uint32_t *flags) {
    int neg = 0;
    switch (kind) {
    case FP_I32: { int32_t s = (int32_t)v; neg = s < 0; v = neg ? -(uint64_t)(int64_t)s : (uint64_t)s; break; }
    case FP_U32: v = (uint32_t)v; break;
    case FP_I64: neg = (int64_t)v < 0; v = neg ? -v : v; break;
    }
    return fp_round_pack(fmt, neg, 0, v, rm, flags);
}

/* Between formats: widening is exact (a signalling NaN still raises NV),
 * narrowing rounds in mode rm. */
uint64_t fp_convert(int to, int from, uint64_t a, unsigned rm, uint32_t *flags);

/* ---- Zfa (fp.c) ----------------------------------------------------------- */

/* fli.<fmt>: constant `index` (0..31) of the spec's table, in format fmt. */
uint64_t fp_fli(int fmt, unsigned index);
/* fminm / fmaxm (IEEE 754-2019 minimum / maximum): as fmin / fmax, except that a
 * NaN operand gives the canonical NaN. */
uint64_t fp_minmax_nan(int fmt, uint64_t a, uint64_t b, int want_max, uint32_t *flags);
/* fround (exact = 0) / froundnx (exact = 1): a rounded to an integer in mode rm,
 * in its own format; zeros and infinities unchanged, NV only for a signalling
 * NaN, NX (froundnx only) when the result differs from a. */
uint64_t fp_round_integral(int fmt, uint64_t a, unsigned rm, int exact, uint32_t *flags);
/* fleq (or_equal = 1) / fltq: fle / flt that raise NV only for a signalling NaN. */
int fp_compare_quiet(int fmt, uint64_t a, uint64_t b, int or_equal, uint32_t *flags);
/* fcvtmod.w.d: the double truncated to an integer, its bits 31:0 sign-extended
 * (infinities and NaN give 0), with the flags fcvt.w.d a, rtz raises. */
uint64_t fp_cvtmod_w_d(uint64_t a, uint32_t *flags);

/* ---- vector FP entry points (vfp.c), called from exec_vfp.h ------------ */

/* Operations of vec_fp, in this order: the first four have a bulk host path,
 * everything from VFOP_EQ on writes a mask. */
enum { VFOP_ADD, VFOP_SUB, VFOP_MUL, VFOP_DIV, VFOP_RSUB, VFOP_RDIV, VFOP_MIN, VFOP_MAX,
       VFOP_SGNJ, VFOP_SGNJN, VFOP_SGNJX, VFOP_MACC, VFOP_NMACC, VFOP_MSAC, VFOP_NMSAC,
       VFOP_MADD, VFOP_NMADD, VFOP_MSUB, VFOP_NMSUB, VFOP_SQRT, VFOP_CLASS,
       VFOP_EQ, VFOP_NE, VFOP_LT, VFOP_LE, VFOP_GT, VFOP_GE };
/* form: VF_VV (vs1) or VF_VX (the scalar f[rs1]); returns VEC_OK / VEC_ILLEGAL. */
int vec_fp(rv_machine *m, const rv_decoded *d, int op, int form);
int vec_fp_merge(rv_machine *m, const rv_decoded *d);
int vec_fp_mv(rv_machine *m, const rv_decoded *d, int to_f);

#endif
