/* A program without libc (no floating point, so it runs on any RV64IMAC core):
 * prints argc, argv, envp and the auxv tags it sees, exercises brk, mmap,
 * munmap, read and uname through raw system calls, and exits with argc + 40. */
typedef unsigned long u64;

static long sys(long nr, long a, long b, long c, long d, long e, long f) {
    register long a0 __asm__("a0") = a, a1 __asm__("a1") = b, a2 __asm__("a2") = c;
    register long a3 __asm__("a3") = d, a4 __asm__("a4") = e, a5 __asm__("a5") = f;
    register long a7 __asm__("a7") = nr;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a7) : "memory");
    return a0;
}

static u64 len(const char *s) { u64 n = 0; while (s[n]) n++; return n; }
static void put(const char *s) { sys(64, 1, (long)s, len(s), 0, 0, 0); }
static void putn(long v) {
    char buf[24], *p = buf + 23;
    int neg = v < 0;
    u64 u = neg ? -(u64)v : (u64)v;
    *p = 0;
    do { *--p = '0' + u % 10; u /= 10; } while (u);
    if (neg) *--p = '-';
    put(p);
}

int entry(u64 *sp) {
    long argc = (long)sp[0];
    char **argv = (char **)(sp + 1), **envp = argv + argc + 1;
    put("argc="); putn(argc); put("\n");
    for (long i = 0; i < argc; i++) { put("argv: "); put(argv[i]); put("\n"); }
    char **e = envp;
    for (; *e; e++) { put("env: "); put(*e); put("\n"); }
    u64 *aux = (u64 *)(e + 1);
    put("auxv tags:");
    for (; aux[0]; aux += 2) {
        if (aux[0] == 6) { put(" PAGESZ="); putn((long)aux[1]); }
        else if (aux[0] == 23) { put(" SECURE="); putn((long)aux[1]); }
    }
    put("\n");
    put("sp aligned: "); putn(((u64)sp & 15) == 0); put("\n");

    /* brk: grow by 3 pages + 17 bytes, write the last byte, shrink back. */
    long b0 = sys(214, 0, 0, 0, 0, 0, 0);
    long b1 = sys(214, b0 + 3 * 4096 + 17, 0, 0, 0, 0, 0);
    put("brk grew: "); putn(b1 - b0); put("\n");
    ((char *)b1)[-1] = 7;
    put("brk shrank: "); putn(sys(214, b0, 0, 0, 0, 0, 0) == b0); put("\n");

    /* anonymous mmap is zeroed and writable; munmap succeeds */
    char *p = (char *)sys(222, 0, 8192, 3, 0x22, -1, 0);
    long zero = 1;
    for (int i = 0; i < 8192; i++) zero &= p[i] == 0;
    p[8191] = 1;
    put("mmap zeroed: "); putn(zero); put("\n");
    put("munmap: "); putn(sys(215, (long)p, 8192, 0, 0, 0, 0)); put("\n");
    put("file mmap fails: "); putn(sys(222, 0, 4096, 1, 2, 3, 0) < 0); put("\n");

    /* uname: sysname and machine */
    char uts[6 * 65];
    sys(160, (long)uts, 0, 0, 0, 0, 0);
    put("uname: "); put(uts); put(" "); put(uts + 4 * 65); put("\n");

    /* stdin, echoed to stderr */
    char in[64];
    long n = sys(63, 0, (long)in, sizeof in - 1, 0, 0, 0);
    in[n > 0 ? n : 0] = 0;
    sys(64, 2, (long)"stdin: ", 7, 0, 0, 0);
    sys(64, 2, (long)in, n > 0 ? n : 0, 0, 0, 0);
    sys(94, argc + 40, 0, 0, 0, 0, 0);
    return 0;
}

__asm__(".globl _start\n_start:\n  mv a0, sp\n  call entry\n");
