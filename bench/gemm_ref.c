/* Reference GEMM kernels for bench/gemm.py, written the way a BLAS port to RVV would be
 * (OpenBLAS/XNNPACK style): B packed into panels of one e32 m4 register group per row,
 * 7 rows of C held in registers across K, one vfmacc.vf per row and step; leftover rows
 * by 4-, 2- and 1-row variants of the same kernel.  All compute c += a @ B.
 *
 *   ref_gemm_f32(a, bp, c, M, K, N, NR)   bp: (ceil(N/NR), K, NR) panels, NR = VLMAX e32 m4
 *   ref_gemm_f16(a, bp, c, M, K, N, NR)   f16 a and panels, f32 c, vfwmacc.vf
 *   autovec_gemm_f32(a, b, c, M, K, N)    plain ikj loops on row-major b, for LLVM's vectoriser
 */
#include <riscv_vector.h>
#include <stddef.h>

/* Up to 7 accumulators as named registers (RVV types cannot form arrays); the row count R
 * is a constant, so the unused ones vanish. */
#define FOR7(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6)

#define ROWS(R, S, T, LOAD)                                                                \
static void tile##R##_##S(const T *a, long lda, const T *panel, float *c, long ldc,        \
                          long K, long NR, size_t vl) {                                    \
    enum { R_ = R };                                                                       \
    vfloat32m4_t z = __riscv_vfmv_v_f_f32m4(0.0f, vl);                                     \
    vfloat32m4_t c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z;                   \
    for (long k = 0; k < K; k++) {                                                         \
        __auto_type b = LOAD(panel + k * NR, vl);                                          \
        FOR7(ROW_FMA_##S)                                                                  \
    }                                                                                      \
    FOR7(ROW_STORE)                                                                        \
}
#define ROW_FMA(r, FMA) if (r < R_) c##r = FMA(c##r, a[r * lda + k], b, vl);
#define ROW_STORE(r) if (r < R_) __riscv_vse32_v_f32m4(c + r * ldc,                        \
    __riscv_vfadd_vv_f32m4(__riscv_vle32_v_f32m4(c + r * ldc, vl), c##r, vl), vl);
#define ROW_FMA_f32(r) ROW_FMA(r, __riscv_vfmacc_vf_f32m4)
#define ROW_FMA_f16(r) ROW_FMA(r, __riscv_vfwmacc_vf_f32m4)

#define TILES(R) ROWS(R, f32, float, __riscv_vle32_v_f32m4) ROWS(R, f16, _Float16, __riscv_vle16_v_f16m2)
TILES(7)
TILES(4)
TILES(2)
TILES(1)

#define DRIVER(T, S)                                                                       \
void ref_gemm_##S(const T *a, const T *bp, float *c, long M, long K, long N, long NR) {    \
    for (long j = 0, p = 0; j < N; j += NR, p++) {                                         \
        size_t vl = __riscv_vsetvl_e32m4((size_t)(N - j < NR ? N - j : NR));               \
        const T *panel = bp + p * K * NR;                                                  \
        long i = 0;                                                                        \
        for (; i + 7 <= M; i += 7) tile7_##S(a + i * K, K, panel, c + i * N + j, N, K, NR, vl); \
        if (i + 4 <= M) { tile4_##S(a + i * K, K, panel, c + i * N + j, N, K, NR, vl); i += 4; } \
        if (i + 2 <= M) { tile2_##S(a + i * K, K, panel, c + i * N + j, N, K, NR, vl); i += 2; } \
        if (i < M) tile1_##S(a + i * K, K, panel, c + i * N + j, N, K, NR, vl);            \
    }                                                                                      \
}
DRIVER(float, f32)
DRIVER(_Float16, f16)

void autovec_gemm_f32(const float *restrict a, const float *restrict b, float *restrict c,
                      long M, long K, long N) {
    for (long i = 0; i < M; i++)
        for (long k = 0; k < K; k++) {
            float aik = a[i * K + k];
            for (long j = 0; j < N; j++) c[i * N + j] += aik * b[k * N + j];
        }
}
