/* printf of integers, floats and doubles in several formats. */
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>

int main(void) {
    printf("hello, world\n");
    printf("%d %u %ld %lx %" PRId64 " %05d|%-6d|\n", -42, 42u, -1234567890123L, 0xdeadbeefUL,
           INT64_MIN, 7, 8);
    float f = 1.0f / 3.0f;
    double d = 2.0 / 3.0;
    printf("%f %.9g %e %a\n", f, f, (double)f * 1e10, (double)f);
    printf("%f %.17g %g %e %a\n", d, d, d * 1e-20, -d * 1e300, d);
    printf("%g %g %g %g\n", 0.0 / 1.0, -0.0, 1e308 * 10.0, 5e-324);
    return 0;
}
