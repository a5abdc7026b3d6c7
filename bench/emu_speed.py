"""Emulation speed: retired instructions per second of rvai (functional mode)
on small scalar kernels, beside qemu-riscv64's wall time on the same executable.

    python bench/emu_speed.py [--scale S] [--repeat R] [--only NAME ...]

Each kernel is a C program without libc (so it runs on any core the emulator
implements and startup costs nothing), built with riscv64-linux-gnu-gcc -static
-O2, sized by its argument to retire about 0.5-1e9 instructions at scale 1.
rvai runs it through Machine.run; qemu-riscv64 runs the same file.  Both must
print the same checksum.  MIPS for qemu is rvai's retired count over qemu's
wall time (same executable, same path, same count).

Vector kernels go in BENCHES as well: give them their -march and qemu -cpu.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # this checkout's rvai
from rvai.emu import Machine  # noqa: E402

GCC = shutil.which("riscv64-linux-gnu-gcc")
QEMU = shutil.which("qemu-riscv64")

# No libc: raw write/exit, the entry point, a decimal printer.  The loop
# pattern flag stops gcc from turning copy loops into memcpy calls.
PRELUDE = r"""
typedef unsigned long u64; typedef unsigned int u32; typedef unsigned char u8;
static long sys3(long nr, long a, long b, long c) {
    register long a0 __asm__("a0") = a, a1 __asm__("a1") = b, a2 __asm__("a2") = c;
    register long a7 __asm__("a7") = nr;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}
static u64 arg(u64 *sp) {
    u64 v = 0;
    if (sp[0] > 1) for (char *s = (char *)sp[2]; *s; s++) v = v * 10 + (u64)(*s - '0');
    return v;
}
static void print_result(const char *name, u64 v) {
    char buf[64]; int n = 0;
    while (name[n]) { buf[n] = name[n]; n++; }
    buf[n++] = '=';
    char digits[24]; int k = 0;
    do { digits[k++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (k) buf[n++] = digits[--k];
    buf[n++] = '\n';
    sys3(64, 1, (long)buf, n);
}
u64 kernel(u64 n);
void entry(u64 *sp) { print_result("checksum", kernel(arg(sp))); sys3(93, 0, 0, 0); }
__asm__(".globl _start\n_start:\n  mv a0, sp\n  call entry\n");
"""

LOOP_NEST = r"""
#define N 64
static int a[N][N], b[N][N], c[N][N];
u64 kernel(u64 reps) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) { a[i][j] = (i * 31 + j * 17) % 101 - 50; b[i][j] = (i * 7 - j * 13) % 89; }
    u64 sum = 0;
    for (u64 r = 0; r < reps; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                int s = 0;
                for (int k = 0; k < N; k++) s += a[i][k] * b[k][j];
                c[i][j] = s;
            }
        a[r % N][(r * 7) % N] += 1;
        sum += (u64)c[r % N][(r * 3) % N];
    }
    return sum;
}
"""

MEMCPY = r"""
#define WORDS 8192          /* 64 KiB each way: fits a typical L2 */
static u64 src[WORDS], dst[WORDS];
static void copy(u64 *restrict d, const u64 *restrict s, u64 n) {
    for (u64 i = 0; i < n; i += 4) { d[i] = s[i]; d[i + 1] = s[i + 1]; d[i + 2] = s[i + 2]; d[i + 3] = s[i + 3]; }
}
u64 kernel(u64 reps) {
    for (u64 i = 0; i < WORDS; i++) src[i] = i * 0x9E3779B97F4A7C15ull;
    u64 sum = 0;
    for (u64 r = 0; r < reps; r++) {
        copy(dst, src, WORDS);
        src[r % WORDS] ^= dst[(r * 5) % WORDS];
        sum += dst[(r * 11) % WORDS];
    }
    return sum;
}
"""

CRC = r"""
#define BYTES 65536
static u8 buf[BYTES];
static u32 table[256];
u64 kernel(u64 reps) {
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
        table[i] = c;
    }
    u32 x = 1;
    for (u64 i = 0; i < BYTES; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; buf[i] = (u8)x; }
    u64 sum = 0;
    for (u64 r = 0; r < reps; r++) {
        u32 c = 0xFFFFFFFFu;
        for (u64 i = 0; i < BYTES; i++) c = table[(c ^ buf[i]) & 0xFF] ^ (c >> 8);
        buf[r % BYTES] ^= (u8)c;
        sum += ~c;
    }
    return sum;
}
"""


@dataclass
class Bench:
    """One row: a kernel, its argument at scale 1, and how to build and run it."""

    name: str
    source: str
    arg: int                       # repetitions giving ~0.5-1e9 instructions at scale 1
    flags: list[str] = field(default_factory=lambda: ["-march=rv64gc", "-mabi=lp64d"])
    qemu_cpu: str | None = None    # e.g. "rv64,v=true,vlen=256" for vector rows
    vlen: int = 256


BENCHES = [
    Bench("loop nest (int matmul 64^3)", LOOP_NEST, 420),
    Bench("memcpy (64 KiB, 8-byte words)", MEMCPY, 40_000),
    Bench("crc32 (table, 64 KiB)", CRC, 1000),
]


def build(bench: Bench, workdir: Path) -> Path:
    """Compile one kernel to a static executable in ``workdir``."""
    src = workdir / (bench.name.split()[0] + ".c")
    src.write_text(PRELUDE + bench.source)
    exe = src.with_suffix("")
    subprocess.run([GCC, "-static", "-O2", "-nostdlib", "-ffreestanding", "-fno-builtin",
                    "-fno-tree-loop-distribute-patterns", *bench.flags, str(src), "-o", str(exe)],
                   check=True)
    return exe


def run_rvai(bench: Bench, exe: Path, arg: int) -> tuple[bytes, int, float]:
    """(stdout, instructions retired, seconds) of one run in rvai."""
    m = Machine(vlen=bench.vlen, budget=1 << 40)
    t0 = time.perf_counter()
    r = m.run([str(exe), str(arg)])
    return r.stdout, r.instret, time.perf_counter() - t0


def run_qemu(bench: Bench, exe: Path, arg: int) -> tuple[bytes, float]:
    """(stdout, wall seconds) of one run under qemu-riscv64."""
    cmd = [QEMU] + (["-cpu", bench.qemu_cpu] if bench.qemu_cpu else []) + [str(exe), str(arg)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, check=True)
    return p.stdout, time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=1.0, help="multiply every kernel's work by this")
    p.add_argument("--only", nargs="*", default=None, help="run only rows whose name starts with these")
    p.add_argument("--repeat", type=int, default=1,
                   help="keep the fastest of this many runs of each (other load on the host only slows)")
    args = p.parse_args(argv)
    if not GCC:
        print("needs riscv64-linux-gnu-gcc", file=sys.stderr)
        return 1
    rows = [b for b in BENCHES if not args.only or any(b.name.startswith(o) for o in args.only)]
    print(f"{'kernel':32} {'instructions':>14} {'rvai s':>8} {'rvai MIPS':>10} {'qemu s':>8} "
          f"{'qemu MIPS':>10} {'rvai/qemu':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for bench in rows:
            exe = build(bench, Path(tmp))
            arg = max(1, round(bench.arg * args.scale))
            out, instret, secs = min((run_rvai(bench, exe, arg) for _ in range(args.repeat)),
                                     key=lambda r: r[2])
            mips = instret / secs / 1e6
            line = f"{bench.name:32} {instret:14,d} {secs:8.2f} {mips:10.1f}"
            if QEMU:
                qout, qsecs = min((run_qemu(bench, exe, arg) for _ in range(args.repeat)),
                                  key=lambda r: r[1])
                if qout != out:
                    print(f"{bench.name}: rvai printed {out!r} but qemu {qout!r}", file=sys.stderr)
                    return 1
                line += f" {qsecs:8.2f} {instret / qsecs / 1e6:10.1f} {qsecs / secs:10.2f}"
            print(line, flush=True)
    print(f"\n(rvai/qemu is the speed ratio, qemu wall time over rvai's; host: {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
