/* RVV floating-point kernels written with the RVV intrinsics, without libc:
 * f32 -> f64 widening arithmetic and FMA in every rounding mode, ordered and
 * unordered sums (plain, masked, widening), min/max reductions with NaNs and
 * signed zeros, vfslide1up/down, and a small f32 GEMM accumulated in f64
 * with vfwmacc.vf.  Only SEW 32/64 (QEMU 7.2 has no Zvfh).  Every result
 * prints as hex bit patterns, each section with the fflags it raised.
 * tests/test_qemu_vfp.py runs it under qemu and rvai at several VLENs and
 * compares stdout. */
#include <riscv_vector.h>
#include <stdint.h>

#include "rt.h"

/* fflags: cleared before a section, read (and printed) after its results are stored. */
static void clear_flags(void) { __asm__ volatile("csrw fflags, zero" ::: "memory"); }
static void flags(const char *name) {
    u64 f;
    __asm__ volatile("csrr %0, fflags" : "=r"(f) : : "memory");
    line(name, &f, 1, 1);
}

static uint32_t seed = 2024;
static uint32_t rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 8; }

#define N 67
static float a32[N], b32[N], c32[N];
static double w64[N], r64[N], acc64[N];
static float r32[N];

/* Moderate values of both signs with exponents 2^-8 .. 2^8 (sums cancel and
 * round), plus a few specials at fixed places. */
static uint32_t f32_bits(void) {
    uint32_t e = 127 - 8 + rnd() % 17;
    return (rnd() & 1) << 31 | e << 23 | (rnd() & 0x7fffff);
}
static void fill(void) {
    for (int i = 0; i < N; i++) {
        uint32_t x = f32_bits(), y = f32_bits(), z = f32_bits();
        __builtin_memcpy(&a32[i], &x, 4); __builtin_memcpy(&b32[i], &y, 4); __builtin_memcpy(&c32[i], &z, 4);
        uint64_t w = (uint64_t)(rnd() & 1) << 63 | (uint64_t)(1023 - 8 + rnd() % 17) << 52 |
                     (uint64_t)rnd() << 28 | rnd();
        __builtin_memcpy(&w64[i], &w, 8);
    }
    const uint32_t sp[] = {0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u, 0x80000000u, 0, 0x00000001u};
    for (int k = 0; k < 7; k++) __builtin_memcpy(&a32[11 + 7 * k], &sp[k], 4);
    __builtin_memcpy(&b32[40], &sp[4], 4);
}

/* d = op(a32, b32 / b32[3], w64) for every widening op, strip-mined at LMUL 2 -> 4. */
#define WIDE_LOOP(NAME, EXPR)                                                  \
    static void NAME(void) {                                                   \
        for (u64 i = 0; i < N;) {                                              \
            u64 vl = __riscv_vsetvl_e32m2(N - i);                              \
            vfloat32m2_t a = __riscv_vle32_v_f32m2(&a32[i], vl);               \
            vfloat32m2_t b = __riscv_vle32_v_f32m2(&b32[i], vl);               \
            vfloat64m4_t w = __riscv_vle64_v_f64m4(&w64[i], vl);               \
            (void)a; (void)b; (void)w;                                         \
            __riscv_vse64_v_f64m4(&r64[i], EXPR, vl);                          \
            i += vl;                                                           \
        }                                                                      \
    }
WIDE_LOOP(w_add_vv, __riscv_vfwadd_vv_f64m4(a, b, vl))
WIDE_LOOP(w_sub_vf, __riscv_vfwsub_vf_f64m4(a, b32[3], vl))
WIDE_LOOP(w_add_wv, __riscv_vfwadd_wv_f64m4(w, a, vl))
WIDE_LOOP(w_sub_wf, __riscv_vfwsub_wf_f64m4(w, b32[5], vl))
WIDE_LOOP(w_mul_vv, __riscv_vfwmul_vv_f64m4(a, b, vl))
WIDE_LOOP(w_macc_vv, __riscv_vfwmacc_vv_f64m4(w, a, b, vl))
WIDE_LOOP(w_nmacc_vf, __riscv_vfwnmacc_vf_f64m4(w, b32[7], a, vl))
WIDE_LOOP(w_msac_vv, __riscv_vfwmsac_vv_f64m4(w, a, b, vl))
WIDE_LOOP(w_nmsac_vf, __riscv_vfwnmsac_vf_f64m4(w, b32[9], a, vl))
/* The same adds in the four static rounding modes the _rm intrinsics set. */
WIDE_LOOP(w_add_rtz, __riscv_vfwadd_wv_f64m4_rm(w, a, __RISCV_FRM_RTZ, vl))
WIDE_LOOP(w_add_rdn, __riscv_vfwadd_wv_f64m4_rm(w, a, __RISCV_FRM_RDN, vl))
WIDE_LOOP(w_add_rup, __riscv_vfwadd_wv_f64m4_rm(w, a, __RISCV_FRM_RUP, vl))
WIDE_LOOP(w_add_rmm, __riscv_vfwadd_wv_f64m4_rm(w, a, __RISCV_FRM_RMM, vl))
WIDE_LOOP(w_macc_rdn, __riscv_vfwmacc_vv_f64m4_rm(w, a, b, __RISCV_FRM_RDN, vl))

static void widening(void) {
    static void (*const fns[])(void) = {w_add_vv, w_sub_vf, w_add_wv, w_sub_wf, w_mul_vv, w_macc_vv, w_nmacc_vf,
                                        w_msac_vv, w_nmsac_vf, w_add_rtz, w_add_rdn, w_add_rup, w_add_rmm,
                                        w_macc_rdn};
    static const char *const names[] = {"fwadd.vv", "fwsub.vf", "fwadd.wv", "fwsub.wf", "fwmul.vv", "fwmacc.vv",
                                        "fwnmacc.vf", "fwmsac.vv", "fwnmsac.vf", "fwadd.rtz", "fwadd.rdn",
                                        "fwadd.rup", "fwadd.rmm", "fwmacc.rdn"};
    for (int k = 0; k < 14; k++) {
        clear_flags();
        fns[k]();
        line(names[k], r64, N, 8);
        flags("flags");
    }
}

/* Sums over the whole array, strip-mined with the running sum in element 0:
 * the ordered sum does the same adds in the same order at any VLEN. */
static void sums(void) {
    float s[4];
    double d[4];
    clear_flags();
    vfloat32m1_t acc = __riscv_vfmv_s_f_f32m1(0.5f, 1), uacc = acc, macc = acc;
    vfloat64m1_t wacc = __riscv_vfmv_s_f_f64m1(-0.25, 1), wuacc = wacc;
    for (u64 i = 0; i < N;) {
        u64 vl = __riscv_vsetvl_e32m2(N - i);
        vfloat32m2_t v = __riscv_vle32_v_f32m2(&b32[i], vl);
        vbool16_t pos = __riscv_vmfgt_vf_f32m2_b16(v, 0.0f, vl);
        acc = __riscv_vfredosum_vs_f32m2_f32m1(v, acc, vl);
        uacc = __riscv_vfredusum_vs_f32m2_f32m1(v, uacc, vl);
        macc = __riscv_vfredosum_vs_f32m2_f32m1_m(pos, v, macc, vl);
        wacc = __riscv_vfwredosum_vs_f32m2_f64m1(v, wacc, vl);
        wuacc = __riscv_vfwredusum_vs_f32m2_f64m1(v, wuacc, vl);
        i += vl;
    }
    s[0] = __riscv_vfmv_f_s_f32m1_f32(acc);
    s[1] = __riscv_vfmv_f_s_f32m1_f32(uacc);
    s[2] = __riscv_vfmv_f_s_f32m1_f32(macc);
    d[0] = __riscv_vfmv_f_s_f64m1_f64(wacc);
    d[1] = __riscv_vfmv_f_s_f64m1_f64(wuacc);
    vfloat64m1_t dacc = __riscv_vfmv_s_f_f64m1(1.0, 1);
    for (u64 i = 0; i < N;) {
        u64 vl = __riscv_vsetvl_e64m4(N - i);
        dacc = __riscv_vfredosum_vs_f64m4_f64m1(__riscv_vle64_v_f64m4(&w64[i], vl), dacc, vl);
        i += vl;
    }
    d[2] = __riscv_vfmv_f_s_f64m1_f64(dacc);
    /* Rounding toward +inf on every add. */
    vfloat32m1_t racc = __riscv_vfmv_s_f_f32m1(0.0f, 1);
    for (u64 i = 0; i < N;) {
        u64 vl = __riscv_vsetvl_e32m8(N - i);
        racc = __riscv_vfredosum_vs_f32m8_f32m1_rm(__riscv_vle32_v_f32m8(&c32[i], vl), racc, __RISCV_FRM_RUP, vl);
        i += vl;
    }
    s[3] = __riscv_vfmv_f_s_f32m1_f32(racc);
    line("sum32", s, 4, 4);
    line("sum64", d, 3, 8);
    flags("flags");
    /* Sums that meet the specials of a32: NaN and invalid. */
    clear_flags();
    vfloat32m1_t nacc = __riscv_vfmv_s_f_f32m1(0.0f, 1);
    for (u64 i = 0; i < N;) {
        u64 vl = __riscv_vsetvl_e32m2(N - i);
        nacc = __riscv_vfredusum_vs_f32m2_f32m1(__riscv_vle32_v_f32m2(&a32[i], vl), nacc, vl);
        i += vl;
    }
    s[0] = __riscv_vfmv_f_s_f32m1_f32(nacc);
    line("nansum", s, 1, 4);
    flags("flags");
}

static void minmax(void) {
    float s[6];
    clear_flags();
    vfloat32m1_t mn = __riscv_vfmv_s_f_f32m1(__builtin_inff(), 1), mx = __riscv_vfmv_s_f_f32m1(-__builtin_inff(), 1);
    vfloat32m1_t amn = mn, amx = mx, zmn = __riscv_vfmv_s_f_f32m1(0.0f, 1), zmx = __riscv_vfmv_s_f_f32m1(-0.0f, 1);
    for (u64 i = 0; i < N;) {
        u64 vl = __riscv_vsetvl_e32m2(N - i);
        vfloat32m2_t v = __riscv_vle32_v_f32m2(&b32[i], vl), a = __riscv_vle32_v_f32m2(&a32[i], vl);
        mn = __riscv_vfredmin_vs_f32m2_f32m1(v, mn, vl);
        mx = __riscv_vfredmax_vs_f32m2_f32m1(v, mx, vl);
        amn = __riscv_vfredmin_vs_f32m2_f32m1(a, amn, vl);   /* through NaNs, infinities, -0 */
        amx = __riscv_vfredmax_vs_f32m2_f32m1(a, amx, vl);
        i += vl;
    }
    /* Zeros of both signs: min picks -0, max +0, whatever the order. */
    u64 vl = __riscv_vsetvl_e32m1(4);
    vfloat32m1_t zs = __riscv_vfslide1up_vf_f32m1(__riscv_vfmv_v_f_f32m1(-0.0f, vl), 0.0f, vl);
    zmn = __riscv_vfredmin_vs_f32m1_f32m1(zs, __riscv_vfmv_s_f_f32m1(0.0f, 1), vl);
    zmx = __riscv_vfredmax_vs_f32m1_f32m1(zs, zmx, vl);
    s[0] = __riscv_vfmv_f_s_f32m1_f32(mn);
    s[1] = __riscv_vfmv_f_s_f32m1_f32(mx);
    s[2] = __riscv_vfmv_f_s_f32m1_f32(amn);
    s[3] = __riscv_vfmv_f_s_f32m1_f32(amx);
    s[4] = __riscv_vfmv_f_s_f32m1_f32(zmn);
    s[5] = __riscv_vfmv_f_s_f32m1_f32(zmx);
    line("minmax", s, 6, 4);
    flags("flags");
}

static void slides(void) {
    u64 vl = __riscv_vsetvl_e32m4(N);
    vfloat32m4_t v = __riscv_vle32_v_f32m4(a32, vl);
    __riscv_vse32_v_f32m4(r32, __riscv_vfslide1up_vf_f32m4(v, 3.5f, vl), vl);
    line("slide1up", r32, (int)vl, 4);
    __riscv_vse32_v_f32m4(r32, __riscv_vfslide1down_vf_f32m4(v, -1.25f, vl), vl);
    line("slide1down", r32, (int)vl, 4);
    u64 vl64 = __riscv_vsetvl_e64m2(N);
    vfloat64m2_t w = __riscv_vle64_v_f64m2(w64, vl64);
    __riscv_vse64_v_f64m2(r64, __riscv_vfslide1down_vf_f64m2(w, 2.0, vl64), vl64);
    line("slide1down64", r64, (int)vl64, 8);
}

/* C[4 x N] (f64) += A[4 x 8] (f32) * B[8 x N] (f32): the vfwmacc.vf micro-kernel. */
#define K 8
static float GA[4 * K], GB[K * N];
static double GC[4 * N];
static void gemm(void) {
    for (int i = 0; i < 4 * K; i++) GA[i] = a32[(i * 7) % N] * 0.5f;
    for (int i = 0; i < K * N; i++) GB[i] = b32[i % N] - c32[(i * 3) % N];
    clear_flags();
    for (u64 j = 0; j < N;) {
        u64 vl = __riscv_vsetvl_e32m2(N - j);
        vfloat64m4_t c0 = __riscv_vfmv_v_f_f64m4(0.0, vl), c1 = c0, c2 = c0, c3 = c0;
        for (int k = 0; k < K; k++) {
            vfloat32m2_t b = __riscv_vle32_v_f32m2(&GB[k * N + j], vl);
            c0 = __riscv_vfwmacc_vf_f64m4(c0, GA[0 * K + k], b, vl);
            c1 = __riscv_vfwmacc_vf_f64m4(c1, GA[1 * K + k], b, vl);
            c2 = __riscv_vfwmacc_vf_f64m4(c2, GA[2 * K + k], b, vl);
            c3 = __riscv_vfwmacc_vf_f64m4(c3, GA[3 * K + k], b, vl);
        }
        __riscv_vse64_v_f64m4(&GC[0 * N + j], c0, vl);
        __riscv_vse64_v_f64m4(&GC[1 * N + j], c1, vl);
        __riscv_vse64_v_f64m4(&GC[2 * N + j], c2, vl);
        __riscv_vse64_v_f64m4(&GC[3 * N + j], c3, vl);
        j += vl;
    }
    line("gemm", GC, 4 * N, 8);
    flags("flags");
}

int entry(void) {
    fill();
    widening();
    sums();
    minmax();
    slides();
    gemm();
    sys(64, 1, (long)out, (long)pos);
    sys(93, 0, 0, 0);
    return 0;
}

__asm__(".globl _start\n_start:\n  call entry\n");
