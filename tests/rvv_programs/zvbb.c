/* Zvbb / Zvkb through clang-22's RVV intrinsics (tests/test_zvbb_clang.py
 * runs each at several VLENs against NumPy).  Strip-mined loops over n
 * elements at several SEW and LMUL; one masked (mask-undisturbed) form. */
#include <riscv_vector.h>
#include <stdint.h>
#include <stddef.h>

void andn_u32(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) {
    for (size_t vl; n > 0; n -= vl, a += vl, b += vl, out += vl) {
        vl = __riscv_vsetvl_e32m2(n);
        __riscv_vse32_v_u32m2(out, __riscv_vandn_vv_u32m2(__riscv_vle32_v_u32m2(a, vl),
                                                          __riscv_vle32_v_u32m2(b, vl), vl), vl);
    }
}

void andn_scalar_u8(uint8_t *out, const uint8_t *a, uint8_t x, size_t n) {
    for (size_t vl; n > 0; n -= vl, a += vl, out += vl) {
        vl = __riscv_vsetvl_e8m1(n);
        __riscv_vse8_v_u8m1(out, __riscv_vandn_vx_u8m1(__riscv_vle8_v_u8m1(a, vl), x, vl), vl);
    }
}

/* out[3i..3i+2] = brev, brev8, rev8 of the 16-bit a[i] */
void reverse_u16(uint16_t *out, const uint16_t *a, size_t n) {
    for (size_t vl; n > 0; n -= vl, a += vl, out += 3 * vl) {
        vl = __riscv_vsetvl_e16m1(n);
        vuint16m1_t v = __riscv_vle16_v_u16m1(a, vl);
        __riscv_vsse16_v_u16m1(out, 6, __riscv_vbrev_v_u16m1(v, vl), vl);
        __riscv_vsse16_v_u16m1(out + 1, 6, __riscv_vbrev8_v_u16m1(v, vl), vl);
        __riscv_vsse16_v_u16m1(out + 2, 6, __riscv_vrev8_v_u16m1(v, vl), vl);
    }
}

void rev8_u64(uint64_t *out, const uint64_t *a, size_t n) {
    for (size_t vl; n > 0; n -= vl, a += vl, out += vl) {
        vl = __riscv_vsetvl_e64m4(n);
        __riscv_vse64_v_u64m4(out, __riscv_vrev8_v_u64m4(__riscv_vle64_v_u64m4(a, vl), vl), vl);
    }
}

/* out[3i..3i+2] = clz, ctz, cpop of the 32-bit a[i] */
void counts_u32(uint32_t *out, const uint32_t *a, size_t n) {
    for (size_t vl; n > 0; n -= vl, a += vl, out += 3 * vl) {
        vl = __riscv_vsetvl_e32m1(n);
        vuint32m1_t v = __riscv_vle32_v_u32m1(a, vl);
        __riscv_vsse32_v_u32m1(out, 12, __riscv_vclz_v_u32m1(v, vl), vl);
        __riscv_vsse32_v_u32m1(out + 1, 12, __riscv_vctz_v_u32m1(v, vl), vl);
        __riscv_vsse32_v_u32m1(out + 2, 12, __riscv_vcpop_v_u32m1(v, vl), vl);
    }
}

void counts_u8(uint8_t *out, const uint8_t *a, size_t n) {
    for (size_t vl; n > 0; n -= vl, a += vl, out += 2 * vl) {
        vl = __riscv_vsetvl_e8mf2(n);
        vuint8mf2_t v = __riscv_vle8_v_u8mf2(a, vl);
        __riscv_vsse8_v_u8mf2(out, 2, __riscv_vclz_v_u8mf2(v, vl), vl);
        __riscv_vsse8_v_u8mf2(out + 1, 2, __riscv_vctz_v_u8mf2(v, vl), vl);
    }
}

/* cpop of the 64-bit a[i] where a[i] is odd; elsewhere out[i] keeps its value */
void cpop_odd_u64(uint64_t *out, const uint64_t *a, size_t n) {
    for (size_t vl; n > 0; n -= vl, a += vl, out += vl) {
        vl = __riscv_vsetvl_e64m2(n);
        vuint64m2_t v = __riscv_vle64_v_u64m2(a, vl);
        vbool32_t odd = __riscv_vmsne_vx_u64m2_b32(__riscv_vand_vx_u64m2(v, 1, vl), 0, vl);
        vuint64m2_t old = __riscv_vle64_v_u64m2(out, vl);
        __riscv_vse64_v_u64m2(out, __riscv_vcpop_v_u64m2_mu(odd, old, v, vl), vl);
    }
}

void rol_u32(uint32_t *out, const uint32_t *a, const uint32_t *s, size_t n) {
    for (size_t vl; n > 0; n -= vl, a += vl, s += vl, out += vl) {
        vl = __riscv_vsetvl_e32m8(n);
        __riscv_vse32_v_u32m8(out, __riscv_vrol_vv_u32m8(__riscv_vle32_v_u32m8(a, vl),
                                                         __riscv_vle32_v_u32m8(s, vl), vl), vl);
    }
}

void ror_u64(uint64_t *out, const uint64_t *a, size_t s, size_t n) {
    for (size_t vl; n > 0; n -= vl, a += vl, out += vl) {
        vl = __riscv_vsetvl_e64m1(n);
        __riscv_vse64_v_u64m1(out, __riscv_vror_vx_u64m1(__riscv_vle64_v_u64m1(a, vl), s, vl), vl);
    }
}

/* a rotate by a constant: vror.vi (by 45 for SEW 64) */
void ror45_u64(uint64_t *out, const uint64_t *a, size_t n) {
    for (size_t vl; n > 0; n -= vl, a += vl, out += vl) {
        vl = __riscv_vsetvl_e64m1(n);
        __riscv_vse64_v_u64m1(out, __riscv_vror_vx_u64m1(__riscv_vle64_v_u64m1(a, vl), 45, vl), vl);
    }
}

void wsll_u16(uint32_t *out, const uint16_t *a, const uint16_t *s, size_t n) {
    for (size_t vl; n > 0; n -= vl, a += vl, s += vl, out += vl) {
        vl = __riscv_vsetvl_e16m2(n);
        __riscv_vse32_v_u32m4(out, __riscv_vwsll_vv_u32m4(__riscv_vle16_v_u16m2(a, vl),
                                                          __riscv_vle16_v_u16m2(s, vl), vl), vl);
    }
}

void wsll_u32(uint64_t *out, const uint32_t *a, size_t s, size_t n) {
    for (size_t vl; n > 0; n -= vl, a += vl, out += vl) {
        vl = __riscv_vsetvl_e32m1(n);
        __riscv_vse64_v_u64m2(out, __riscv_vwsll_vx_u64m2(__riscv_vle32_v_u32m1(a, vl), s, vl), vl);
    }
}

void wsll3_u8(uint16_t *out, const uint8_t *a, size_t n) {
    for (size_t vl; n > 0; n -= vl, a += vl, out += vl) {
        vl = __riscv_vsetvl_e8m1(n);
        __riscv_vse16_v_u16m2(out, __riscv_vwsll_vx_u16m2(__riscv_vle8_v_u8m1(a, vl), 3, vl), vl);
    }
}
