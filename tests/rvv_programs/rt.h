/* Freestanding output for the RVV test programs (no libc): raw Linux
 * syscalls, and lines of hex values collected in a buffer written at exit. */
#include <stdint.h>

typedef unsigned long u64;

static long sys(long nr, long a, long b, long c) {
    register long a0 __asm__("a0") = a, a1 __asm__("a1") = b, a2 __asm__("a2") = c;
    register long a7 __asm__("a7") = nr;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

static char out[1 << 16];
static u64 pos;
static void put(const char *s) { while (*s) out[pos++] = *s++; }
static void hex(u64 v) {
    char b[17];
    for (int i = 15; i >= 0; i--) { b[i] = "0123456789abcdef"[v & 15]; v >>= 4; }
    b[16] = 0;
    put(b); put(" ");
}
static void line(const char *name, const void *p, int n, int size) {
    put(name); put(":");
    for (int i = 0; i < n; i++) {
        u64 v = 0;
        const unsigned char *q = (const unsigned char *)p + i * size;
        for (int k = 0; k < size; k++) v |= (u64)q[k] << (8 * k);
        put(" "); hex(v);
    }
    put("\n");
}
