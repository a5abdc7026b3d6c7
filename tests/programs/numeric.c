/* Double-precision numerics through libm, printed with full precision. */
#include <stdio.h>
#include <math.h>

int main(void) {
    double xs[] = {0.0, 0.5, 1.0, 2.0, 3.14159, -7.25, 100.0, 1e-8};
    for (unsigned i = 0; i < sizeof xs / sizeof *xs; i++) {
        double x = xs[i];
        printf("x=%.17g sin=%.17g cos=%.17g exp=%.17g sqrt|x|=%.17g\n",
               x, sin(x), cos(x), exp(x / 8), sqrt(fabs(x)));
        printf("  log1p=%.17g atan2=%.17g pow=%.17g tanh=%.17g\n",
               log1p(fabs(x)), atan2(x, 3.0), pow(fabs(x) + 1, 1.5), tanh(x));
    }
    /* A softmax and a Kahan sum: rounding-sensitive reductions. */
    double v[16], m = -INFINITY, s = 0, c = 0;
    for (int i = 0; i < 16; i++) { v[i] = sin(i * 0.7) * 5; if (v[i] > m) m = v[i]; }
    for (int i = 0; i < 16; i++) {
        double y = exp(v[i] - m) - c, t = s + y;
        c = (t - s) - y;
        s = t;
    }
    printf("softmax denominator=%.17g p0=%.17g\n", s, exp(v[0] - m) / s);
    float f = 0.1f;
    for (int i = 0; i < 10; i++) f = fmaf(f, 1.1f, 0.01f);
    printf("fmaf chain=%.9g sqrtf=%.9g\n", f, sqrtf(f));
    return 0;
}
