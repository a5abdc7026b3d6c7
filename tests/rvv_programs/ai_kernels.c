/* Kernels for the AI-kernel extensions, written with clang-22's RVV
 * intrinsics (Zvqdotq, Zvfbfmin, Zvfbfwma, Zfbfmin) and inline assembly
 * (XSMTVDot has no intrinsics).  tests/test_vai_clang.py compiles this file
 * to a relocatable object, calls each function on a Machine at several
 * VLENs and compares with NumPy.  Each strip-mined loop covers n elements
 * whatever VLEN is. */
#include <riscv_vector.h>
#include <stddef.h>
#include <stdint.h>

/* acc[i] += the dot product of the 4 bytes a[4i..4i+3] and b[4i..4i+3]. */
void qdot_ss(int32_t *acc, const int8_t *a, const int8_t *b, size_t n) {
    for (size_t i = 0, vl; i < n; i += vl) {
        vl = __riscv_vsetvl_e32m2(n - i);
        vint32m2_t c = __riscv_vle32_v_i32m2(acc + i, vl);
        c = __riscv_vqdot_vv_i32m2(c, __riscv_vle8_v_i8m2(a + 4 * i, 4 * vl),
                                   __riscv_vle8_v_i8m2(b + 4 * i, 4 * vl), vl);
        __riscv_vse32_v_i32m2(acc + i, c, vl);
    }
}

void qdot_uu(uint32_t *acc, const uint8_t *a, const uint8_t *b, size_t n) {
    for (size_t i = 0, vl; i < n; i += vl) {
        vl = __riscv_vsetvl_e32m1(n - i);
        vuint32m1_t c = __riscv_vle32_v_u32m1(acc + i, vl);
        c = __riscv_vqdotu_vv_u32m1(c, __riscv_vle8_v_u8m1(a + 4 * i, 4 * vl),
                                    __riscv_vle8_v_u8m1(b + 4 * i, 4 * vl), vl);
        __riscv_vse32_v_u32m1(acc + i, c, vl);
    }
}

/* a signed, b unsigned: the intrinsic's operand types fix which side is which. */
void qdot_su(int32_t *acc, const int8_t *a, const uint8_t *b, size_t n) {
    for (size_t i = 0, vl; i < n; i += vl) {
        vl = __riscv_vsetvl_e32m4(n - i);
        vint32m4_t c = __riscv_vle32_v_i32m4(acc + i, vl);
        c = __riscv_vqdotsu_vv_i32m4(c, __riscv_vle8_v_i8m4(a + 4 * i, 4 * vl),
                                     __riscv_vle8_v_u8m4(b + 4 * i, 4 * vl), vl);
        __riscv_vse32_v_i32m4(acc + i, c, vl);
    }
}

/* a unsigned, the four signed bytes of w for every element. */
void qdot_us_scalar(int32_t *acc, const uint8_t *a, int32_t w, size_t n) {
    for (size_t i = 0, vl; i < n; i += vl) {
        vl = __riscv_vsetvl_e32m1(n - i);
        vint32m1_t c = __riscv_vle32_v_i32m1(acc + i, vl);
        c = __riscv_vqdotus_vx_i32m1(c, __riscv_vle8_v_u8m1(a + 4 * i, 4 * vl), w, vl);
        __riscv_vse32_v_i32m1(acc + i, c, vl);
    }
}

/* out[i] = (float)in[i] */
void bf16_widen(float *out, const __bf16 *in, size_t n) {
    for (size_t i = 0, vl; i < n; i += vl) {
        vl = __riscv_vsetvl_e16m1(n - i);
        __riscv_vse32_v_f32m2(out + i, __riscv_vfwcvtbf16_f_f_v_f32m2(__riscv_vle16_v_bf16m1(in + i, vl), vl), vl);
    }
}

/* out[i] = (__bf16)in[i], rounding to nearest even */
void bf16_narrow(__bf16 *out, const float *in, size_t n) {
    for (size_t i = 0, vl; i < n; i += vl) {
        vl = __riscv_vsetvl_e32m2(n - i);
        __riscv_vse16_v_bf16m1(out + i, __riscv_vfncvtbf16_f_f_w_bf16m1(__riscv_vle32_v_f32m2(in + i, vl), vl), vl);
    }
}

/* acc[i] += a[i] * b[i], the product and sum rounded once */
void bf16_wmacc(float *acc, const __bf16 *a, const __bf16 *b, size_t n) {
    for (size_t i = 0, vl; i < n; i += vl) {
        vl = __riscv_vsetvl_e16m2(n - i);
        vfloat32m4_t c = __riscv_vle32_v_f32m4(acc + i, vl);
        c = __riscv_vfwmaccbf16_vv_f32m4(c, __riscv_vle16_v_bf16m2(a + i, vl), __riscv_vle16_v_bf16m2(b + i, vl), vl);
        __riscv_vse32_v_f32m4(acc + i, c, vl);
    }
}

/* acc[i] += s * b[i] */
void bf16_wmacc_scalar(float *acc, __bf16 s, const __bf16 *b, size_t n) {
    for (size_t i = 0, vl; i < n; i += vl) {
        vl = __riscv_vsetvl_e16mf2(n - i);
        vfloat32m1_t c = __riscv_vle32_v_f32m1(acc + i, vl);
        c = __riscv_vfwmaccbf16_vf_f32m1(c, s, __riscv_vle16_v_bf16mf2(b + i, vl), vl);
        __riscv_vse32_v_f32m1(acc + i, c, vl);
    }
}

/* The scalar Zfbfmin conversions: out[i] = (float)(__bf16)in[i]. */
void bf16_round_trip(float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)(__bf16)in[i];
}

/* C (int32, two registers) += A (int8, one register) * B^T (int8, one register):
 * one smt.vmadot; at VLEN 256 a 4x8 by 8x4 product into a 4x4 tile. */
void ime_vmadot(int32_t *c, const int8_t *a, const int8_t *b) {
    __asm__ volatile("vsetvli t0, zero, e32, m2, ta, ma\n\t"
                     "vle32.v v16, (%0)\n\t"
                     "vsetvli t0, zero, e8, m1, ta, ma\n\t"
                     "vle8.v v2, (%1)\n\t"
                     "vle8.v v3, (%2)\n\t"
                     "smt.vmadot v16, v2, v3\n\t"
                     "vsetvli t0, zero, e32, m2, ta, ma\n\t"
                     "vse32.v v16, (%0)"
                     : : "r"(c), "r"(a), "r"(b) : "t0", "v2", "v3", "v16", "v17", "memory");
}

/* The same with A read from the register pair v2, v3 one row (K bytes) down:
 * smt.vmadot1su (A signed, B unsigned). */
void ime_vmadot1su(int32_t *c, const int8_t *a2, const uint8_t *b) {
    __asm__ volatile("vsetvli t0, zero, e32, m2, ta, ma\n\t"
                     "vle32.v v16, (%0)\n\t"
                     "vsetvli t0, zero, e8, m2, ta, ma\n\t"
                     "vle8.v v2, (%1)\n\t"
                     "vsetvli t0, zero, e8, m1, ta, ma\n\t"
                     "vle8.v v4, (%2)\n\t"
                     "smt.vmadot1su v16, v2, v4\n\t"
                     "vsetvli t0, zero, e32, m2, ta, ma\n\t"
                     "vse32.v v16, (%0)"
                     : : "r"(c), "r"(a2), "r"(b) : "t0", "v2", "v3", "v4", "v16", "v17", "memory");
}
