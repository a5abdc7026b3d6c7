/* Scalar code that clang-22 compiles to Zfa instructions with -march=..._zfa
 * (tests/test_zfa.py checks the instructions are there and the results against
 * NumPy): the math.h rounding functions become fround/froundnx with a static or
 * dynamic rounding mode, IEEE minimum/maximum become fminm/fmaxm, a constant
 * such as 0.25 an fli, and JavaScript's ToInt32 is fcvtmod.w.d (inline asm:
 * clang has no builtin for it). */
#include <math.h>

void round_d(double *out, const double *in, long n) {
    for (long i = 0; i < n; i++) {
        out[5 * i + 0] = floor(in[i]);
        out[5 * i + 1] = ceil(in[i]);
        out[5 * i + 2] = trunc(in[i]);
        out[5 * i + 3] = round(in[i]);
        out[5 * i + 4] = rint(in[i]);
    }
}

void round_s(float *out, const float *in, long n) {
    for (long i = 0; i < n; i++) {
        out[3 * i + 0] = floorf(in[i]);
        out[3 * i + 1] = nearbyintf(in[i]);
        out[3 * i + 2] = __builtin_roundevenf(in[i]);
    }
}

void trunc_h(_Float16 *out, const _Float16 *in, long n) {
    for (long i = 0; i < n; i++) out[i] = __builtin_truncf16(in[i]);
}

/* out[2i] = minimum(a, b), out[2i+1] = 0.25 * maximum(a, b) */
void min_max_s(float *out, const float *a, const float *b, long n) {
    for (long i = 0; i < n; i++) {
        out[2 * i] = __builtin_elementwise_minimum(a[i], b[i]);
        out[2 * i + 1] = __builtin_elementwise_maximum(a[i], b[i]) * 0.25f;
    }
}

void to_int32(long *out, const double *in, long n) {
    for (long i = 0; i < n; i++) {
        long r;
        __asm__("fcvtmod.w.d %0, %1, rtz" : "=r"(r) : "f"(in[i]));
        out[i] = r;
    }
}
