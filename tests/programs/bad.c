/* Misbehaving programs for the CLI's error paths, without libc:
 * argv[1] = "jump" (call a wild address), "loop" (spin forever),
 * "store" (write to the text segment). */
static int same(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

int entry(unsigned long *sp) {
    char *mode = sp[0] > 1 ? (char *)sp[2] : "";
    if (same(mode, "jump")) ((void (*)(void))0x123456780UL)();
    if (same(mode, "store")) *(volatile int *)entry = 0;
    if (same(mode, "loop")) for (volatile int i = 0;; i++) {}
    return 0;
}

__asm__(".globl _start\n_start:\n  mv a0, sp\n  call entry\n  li a7, 93\n  ecall\n");
