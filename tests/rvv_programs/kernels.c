/* RVV integer kernels written with the RVV intrinsics, without libc (so they
 * run on a core without scalar floating point): each section prints its
 * results in hex.  tests/test_qemu_rvv.py runs it under qemu and rvai at
 * several VLENs and compares stdout. */
#include <riscv_vector.h>
#include <stdint.h>

#include "rt.h"

static uint32_t seed = 12345;
static uint32_t rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 8; }

#define N 67
static int32_t A[N * 8], B[8 * N], C[N * N / 8 + 64];
static int8_t s8[N * 3], d8[N * 3];
static int16_t s16[N], t16[N], d16[N * 2];
static int32_t s32[N], t32[N], d32[N];
static uint32_t idx[N];

/* C[4 x N] = A[4 x 8] * B[8 x N]: the vmacc.vx micro-kernel of an int32 GEMM. */
static void gemm(void) {
    for (u64 j = 0; j < N;) {
        u64 vl = __riscv_vsetvl_e32m4(N - j);
        vint32m4_t c0 = __riscv_vmv_v_x_i32m4(0, vl), c1 = c0, c2 = c0, c3 = c0;
        for (int k = 0; k < 8; k++) {
            vint32m4_t b = __riscv_vle32_v_i32m4(&B[k * N + j], vl);
            c0 = __riscv_vmacc_vx_i32m4(c0, A[0 * 8 + k], b, vl);
            c1 = __riscv_vmacc_vx_i32m4(c1, A[1 * 8 + k], b, vl);
            c2 = __riscv_vmacc_vx_i32m4(c2, A[2 * 8 + k], b, vl);
            c3 = __riscv_vmacc_vx_i32m4(c3, A[3 * 8 + k], b, vl);
        }
        __riscv_vse32_v_i32m4(&C[0 * N + j], c0, vl);
        __riscv_vse32_v_i32m4(&C[1 * N + j], c1, vl);
        __riscv_vse32_v_i32m4(&C[2 * N + j], c2, vl);
        __riscv_vse32_v_i32m4(&C[3 * N + j], c3, vl);
        j += vl;
    }
    line("gemm", C, 4 * N, 4);
}

static void reductions(void) {
    u64 vl = __riscv_vsetvl_e16m2(N);
    vint16m2_t v = __riscv_vle16_v_i16m2(s16, vl);
    vint16m1_t z = __riscv_vmv_s_x_i16m1(0, 1);
    int16_t r[6];
    r[0] = __riscv_vmv_x_s_i16m1_i16(__riscv_vredsum_vs_i16m2_i16m1(v, z, vl));
    r[1] = __riscv_vmv_x_s_i16m1_i16(__riscv_vredmax_vs_i16m2_i16m1(v, z, vl));
    r[2] = __riscv_vmv_x_s_i16m1_i16(__riscv_vredmin_vs_i16m2_i16m1(v, z, vl));
    r[3] = __riscv_vmv_x_s_i16m1_i16(__riscv_vredxor_vs_i16m2_i16m1(v, z, vl));
    r[4] = (int16_t)__riscv_vmv_x_s_u16m1_u16(__riscv_vredmaxu_vs_u16m2_u16m1(
        __riscv_vreinterpret_v_i16m2_u16m2(v), __riscv_vmv_s_x_u16m1(0, 1), vl));
    r[5] = (int16_t)vl;
    line("red16", r, 6, 2);
    vint32m1_t w = __riscv_vwredsum_vs_i16m2_i32m1(v, __riscv_vmv_s_x_i32m1(7, 1), vl);
    int32_t ws = __riscv_vmv_x_s_i32m1_i32(w);
    line("wred", &ws, 1, 4);
    /* A strip-mined sum over all of s32 */
    int64_t total = 0;
    for (u64 i = 0; i < N;) {
        u64 l = __riscv_vsetvl_e32m8(N - i);
        vint64m1_t acc = __riscv_vwredsum_vs_i32m8_i64m1(__riscv_vle32_v_i32m8(&s32[i], l),
                                                          __riscv_vmv_s_x_i64m1(0, 1), l);
        total += __riscv_vmv_x_s_i64m1_i64(acc);
        i += l;
    }
    line("sum32", &total, 1, 8);
}

static void masked(void) {
    for (u64 i = 0; i < N;) {
        u64 vl = __riscv_vsetvl_e32m2(N - i);
        vint32m2_t a = __riscv_vle32_v_i32m2(&s32[i], vl), b = __riscv_vle32_v_i32m2(&t32[i], vl);
        vbool16_t lt = __riscv_vmslt_vv_i32m2_b16(a, b, vl);
        vint32m2_t r = __riscv_vadd_vv_i32m2_mu(lt, a, a, b, vl);      /* masked add, undisturbed */
        r = __riscv_vmerge_vxm_i32m2(r, -1, __riscv_vmseq_vx_i32m2_b16(a, 0, vl), vl);
        __riscv_vse32_v_i32m2(&d32[i], r, vl);
        i += vl;
    }
    line("masked", d32, N, 4);
    u64 vl = __riscv_vsetvl_e32m4(N);
    vint32m4_t a = __riscv_vle32_v_i32m4(s32, vl);
    vbool8_t pos = __riscv_vmsgt_vx_i32m4_b8(a, 0, vl);
    long cnt = (long)__riscv_vcpop_m_b8(pos, vl), first = __riscv_vfirst_m_b8(__riscv_vmnot_m_b8(pos, vl), vl);
    vint32m4_t packed = __riscv_vcompress_vm_i32m4(a, pos, vl);
    __riscv_vse32_v_i32m4(d32, packed, cnt);
    long counts[3] = {cnt, first, (long)vl};
    line("cpop_first_vl", counts, 3, 8);
    line("compress", d32, (int)cnt, 4);
    vuint32m4_t io = __riscv_viota_m_u32m4(pos, vl);
    vuint32m4_t id = __riscv_vid_v_u32m4(vl);
    __riscv_vse32_v_u32m4((uint32_t *)d32, __riscv_vadd_vv_u32m4(io, __riscv_vsll_vx_u32m4(id, 8, vl), vl), vl);
    line("iota_id", d32, (int)vl, 4);
    vbool8_t sbf = __riscv_vmsbf_m_b8(pos, vl), sif = __riscv_vmsif_m_b8(pos, vl), sof = __riscv_vmsof_m_b8(pos, vl);
    long bits[3] = {(long)__riscv_vcpop_m_b8(sbf, vl), (long)__riscv_vcpop_m_b8(sif, vl),
                    __riscv_vfirst_m_b8(sof, vl)};
    line("msbf_msif_msof", bits, 3, 8);
}

static void segments(void) {
    for (u64 i = 0; i < N;) {
        u64 vl = __riscv_vsetvl_e8m1(N - i);
        vint8m1x3_t rgb = __riscv_vlseg3e8_v_i8m1x3(&s8[3 * i], vl);
        vint8m1_t r = __riscv_vget_v_i8m1x3_i8m1(rgb, 0), g = __riscv_vget_v_i8m1x3_i8m1(rgb, 1),
                  b = __riscv_vget_v_i8m1x3_i8m1(rgb, 2);
        vint16m2_t sum = __riscv_vwadd_vv_i16m2(r, g, vl);
        sum = __riscv_vwadd_wv_i16m2(sum, b, vl);
        vint16m2x2_t pair = __riscv_vcreate_v_i16m2x2(sum, __riscv_vsext_vf2_i16m2(g, vl));
        __riscv_vsseg2e16_v_i16m2x2(&d16[2 * i], pair, vl);
        i += vl;
    }
    line("seg", d16, 2 * N, 2);
    u64 vl = __riscv_vsetvl_e32m1(N / 4);
    vint32m1x2_t st = __riscv_vlsseg2e32_v_i32m1x2(s32, 16, vl);
    __riscv_vse32_v_i32m1(d32, __riscv_vsub_vv_i32m1(__riscv_vget_v_i32m1x2_i32m1(st, 1),
                                                     __riscv_vget_v_i32m1x2_i32m1(st, 0), vl), vl);
    line("strided_seg", d32, (int)vl, 4);
}

static void gathers(void) {
    for (u64 i = 0; i < N;) {
        u64 vl = __riscv_vsetvl_e32m2(N - i);
        vuint32m2_t off = __riscv_vsll_vx_u32m2(__riscv_vle32_v_u32m2(&idx[i], vl), 2, vl);
        vint32m2_t g = __riscv_vluxei32_v_i32m2(s32, off, vl);
        __riscv_vsoxei32_v_i32m2(d32, off, __riscv_vrsub_vx_i32m2(g, 5, vl), vl);
        i += vl;
    }
    line("indexed", d32, N, 4);
    u64 vl = __riscv_vsetvl_e16m1(N);
    vint16m1_t v = __riscv_vle16_v_i16m1(s16, vl);
    vuint16m1_t rev = __riscv_vrsub_vx_u16m1(__riscv_vid_v_u16m1(vl), (uint16_t)(vl - 1), vl);
    vint16m1_t r = __riscv_vrgather_vv_i16m1(v, rev, vl);
    r = __riscv_vslidedown_vx_i16m1(r, 3, vl);
    r = __riscv_vslide1up_vx_i16m1(r, 0x5a5a, vl);
    r = __riscv_vslideup_vx_i16m1(r, __riscv_vrgather_vx_i16m1(v, 2, vl), 5, vl);
    r = __riscv_vslide1down_vx_i16m1(r, -7, vl);
    __riscv_vse16_v_i16m1(d16, r, vl);
    line("gather_slide", d16, (int)vl, 2);
    vl = __riscv_vsetvl_e8m1(N);
    vuint16m2_t i16 = __riscv_vand_vx_u16m2(__riscv_vle16_v_u16m2((const uint16_t *)t16, vl), 63, vl);
    vint8m1_t g8 = __riscv_vrgatherei16_vv_i8m1(__riscv_vle8_v_i8m1(s8, vl), i16, vl);
    __riscv_vse8_v_i8m1(d8, g8, vl);
    line("gatherei16", d8, (int)vl, 1);
}

/* One vxrm mode (a constant: the intrinsics take it as an immediate). */
#define FIXED_POINT(mode) {                                                                              \
        u64 vl = __riscv_vsetvl_e16m1(16);                                                               \
        vint16m1_t a = __riscv_vle16_v_i16m1(s16, vl), b = __riscv_vle16_v_i16m1(t16, vl);               \
        __riscv_vse16_v_i16m1(d16, __riscv_vsmul_vv_i16m1(a, b, mode, vl), vl);                          \
        __riscv_vse16_v_i16m1(d16 + 16, __riscv_vaadd_vv_i16m1(a, b, mode, vl), vl);                     \
        __riscv_vse16_v_i16m1(d16 + 32, __riscv_vssra_vx_i16m1(a, 3, mode, vl), vl);                     \
        __riscv_vse16_v_i16m1(d16 + 48, __riscv_vsadd_vv_i16m1(__riscv_vsll_vx_i16m1(a, 2, vl), b, vl), vl); \
        vint32m2_t wide = __riscv_vwmul_vv_i32m2(a, b, vl);                                              \
        __riscv_vse16_v_i16m1(d16 + 64, __riscv_vnclip_wx_i16m1(wide, 7, mode, vl), vl);                 \
        __riscv_vse8_v_u8mf2((uint8_t *)d8,                                                              \
            __riscv_vnclipu_wx_u8mf2(__riscv_vreinterpret_v_i16m1_u16m1(a), 4, mode, vl), vl);          \
        line("fixed", d16, 80, 2);                                                                       \
        line("clipu", d8, 16, 1);                                                                        \
        unsigned long vxsat;                                                                             \
        __asm__ volatile("csrr %0, vxsat\n csrw vxsat, zero" : "=r"(vxsat));                             \
        line("vxsat", &vxsat, 1, 8);                                                                     \
    }

static void fixed_point(void) {
    FIXED_POINT(0) FIXED_POINT(1) FIXED_POINT(2) FIXED_POINT(3)
}

/* Plain loops left to clang's auto-vectoriser (tail folding, reductions, widening). */
__attribute__((noinline)) static int64_t dot(const int16_t *a, const int16_t *b, int n) {
    int64_t s = 0;
    for (int i = 0; i < n; i++) s += (int32_t)a[i] * b[i];
    return s;
}
__attribute__((noinline)) static void saxpy_int(int32_t *y, const int32_t *x, int32_t k, int n) {
    for (int i = 0; i < n; i++) y[i] = y[i] * k + (x[i] >> 3) - (x[i] < 0 ? 1 : 0);
}

static void autovec(void) {
    int64_t s = dot(s16, t16, N);
    line("dot", &s, 1, 8);
    for (int i = 0; i < N; i++) d32[i] = t32[i];
    saxpy_int(d32, s32, -3, N);
    line("saxpy", d32, N, 4);
}

int entry(void) {
    for (int i = 0; i < N * 8; i++) { A[i] = (int32_t)(rnd() % 200) - 100; B[i] = (int32_t)(rnd() % 2000) - 1000; }
    for (int i = 0; i < N * 3; i++) s8[i] = (int8_t)rnd();
    for (int i = 0; i < N; i++) {
        s16[i] = (int16_t)rnd(); t16[i] = (int16_t)rnd();
        s32[i] = (int32_t)rnd() - (1 << 23); t32[i] = (int32_t)rnd() - (1 << 23);
        idx[i] = rnd() % N;
    }
    s32[5] = 0;
    t16[3] = -32768; s16[3] = -32768;
    gemm();
    reductions();
    masked();
    segments();
    gathers();
    fixed_point();
    autovec();
    sys(64, 1, (long)out, (long)pos);
    sys(93, 0, 0, 0);
    return 0;
}

__asm__(".globl _start\n_start:\n  call entry\n");
