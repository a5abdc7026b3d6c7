"""Emulation speed: rvai's interpreter and its translating tier (functional
mode) on small kernels, beside qemu-riscv64's wall time on the same executable.

    python bench/emu_speed.py [--scale S] [--repeat R] [--short] [--only NAME ...]
    python bench/emu_speed.py --compile [--only NAME ...]
    python bench/emu_speed.py --callgrind [--scale S] [--only NAME ...]

Each kernel is a C program without libc (so it runs on any core the emulator
implements and startup costs nothing), built with riscv64-linux-gnu-gcc -static
-O2, sized by its argument to retire about 0.5-1e9 instructions at scale 1.
rvai runs it through Machine.run in each tier (the translating one with its
default hotness threshold, so its start-up is in the time, and no object cache of
translated code unless --jit-cache: a program's first run); qemu-riscv64 runs
the same file.  All must print the same checksum.  ``--short`` adds each
kernel run once: a short program, where translating must not cost more than
it saves.

Vector rows are RVV intrinsic kernels built with clang-19 (-march=rv64gcv),
run at VLEN 256 in both; they also print element operations per second
(vector elements computed, from the kernel's known element count, over wall
time).  ``--callgrind`` counts host instructions instead of wall time (valgrind's
callgrind, which a loaded host does not change): each of rvai's tiers and qemu
runs the kernel at two sizes, and the difference over the difference in guest
instructions is the steady-state cost per guest instruction, start-up excluded.
``--base DIR`` adds the translating tier of another checkout (its extension
built in place, ``python setup.py build_ext --inplace``) beside this one's,
so that a change's before and after are measured in one run, and
``--tiers`` leaves out columns (the interpreter's are the slowest to count):

    python bench/emu_speed.py --callgrind --base /path/to/main --tiers translate base

Without ``--callgrind``, ``--base DIR`` adds the columns "base s" and
"base/qemu": each checkout's translated run is then made in fresh processes
(after an interpreted run of argument 1, as in this one), the two
checkouts' in turn, so that a change's before and after meet the same load;
``--cpu`` reports CPU seconds (rvai's process, all its threads; qemu's)
instead of wall time, which other load on the host moves less:

    python bench/emu_speed.py --scale 0.3 --base /path/to/main --cpu --only loop

The f32 rows run vfmacc through vfp.c's bulk host-FMA path (x86-64
with FMA3); an emulator error on a row prints "n/a" for rvai and qemu's time.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # this checkout's rvai
from rvai.emu import EmulatorError, Machine  # noqa: E402

GCC = shutil.which("riscv64-linux-gnu-gcc")
CLANG = shutil.which("clang-19")
QEMU = shutil.which("qemu-riscv64")
VALGRIND = shutil.which("valgrind")

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


# Vector kernels: chains of one instruction on register-resident operands
# (each result feeds the next, so the compiler cannot fold the loop), unrolled
# so the scalar loop control is a small share; and a strip-mined saxpy.
VEC_CHAIN = r"""
#include <riscv_vector.h>
static TYPE src[1024];
u64 kernel(u64 reps) {
    for (int i = 0; i < 1024; i++) src[i] = (TYPE)(i % 7) * (TYPE)0.5;
    size_t vl = __riscv_vsetvlmax_e32m@L();
    VT x = __riscv_vle32_v_@Sm@L(src, vl), y = __riscv_vle32_v_@Sm@L(src + 3, vl);
    for (u64 r = 0; r < reps; r++) {
        x = STEP(x, y, vl); y = STEP(y, x, vl); x = STEP(x, y, vl); y = STEP(y, x, vl);
    }
    __riscv_vse32_v_@Sm@L(src, x, vl);
    __riscv_vse32_v_@Sm@L(src + 512, y, vl);
    u64 sum = 0;
    for (size_t i = 0; i < vl; i++) { u32 bits; __builtin_memcpy(&bits, &src[i], 4); sum += bits; }
    return sum;
}
"""


def vec_chain(kind: str, lmul: int) -> str:
    """VEC_CHAIN for vadd.vv on i32 or vfmacc.vv on f32 (x += y * x: the values
    stay small and finite) at the given LMUL."""
    ty, sfx = ("int", "i32") if kind == "vadd" else ("float", "f32")
    step = (f"__riscv_vadd_vv_i32m{lmul}(a, b, vl)" if kind == "vadd"
            else f"__riscv_vfmacc_vv_f32m{lmul}(a, b, a, vl)")
    head = f"#define TYPE {ty}\n#define VT v{'int' if ty == 'int' else 'float'}32m{lmul}_t\n" \
           f"#define STEP(a, b, vl) {step}\n"
    return head + VEC_CHAIN.replace("@S", sfx).replace("@L", str(lmul))


def vf_chain(lmul: int) -> str:
    """VEC_CHAIN for vfmacc.vf on f32: x += 0.25 * y, then y += -0.25 * x (a
    rotation-like map of determinant 1, so the values stay bounded and normal)."""
    head = (f"#define TYPE float\n#define VT vfloat32m{lmul}_t\n"
            "#define K_x 0.25f\n#define K_y -0.25f\n"   # STEP(x, ...) adds 0.25 * y, STEP(y, ...) -0.25 * x
            f"#define STEP(a, b, vl) __riscv_vfmacc_vf_f32m{lmul}(a, K_##a, b, vl)\n")
    return head + VEC_CHAIN.replace("@S", "f32").replace("@L", str(lmul))


SAXPY = r"""
#include <riscv_vector.h>
#define N 4096
static TYPE x[N], y[N];
static void saxpy(u64 n, TYPE a, const TYPE *xs, TYPE *ys) {
    for (size_t vl; n > 0; n -= vl, xs += vl, ys += vl) {
        vl = __riscv_vsetvl_e32m8(n);
        VT vx = LOAD(xs, vl), vy = LOAD(ys, vl);
        STORE(ys, MACC(vy, a, vx, vl), vl);
    }
}
u64 kernel(u64 reps) {
    for (int i = 0; i < N; i++) { x[i] = (TYPE)(i % 13); y[i] = (TYPE)(i % 5); }
    for (u64 r = 0; r < reps; r++) saxpy(N, (TYPE)(r & 1 ? 1 : -1), x, y);
    u64 sum = 0;
    for (int i = 0; i < N; i++) { u32 bits; __builtin_memcpy(&bits, &y[i], 4); sum += bits; }
    return sum;
}
"""
# A GEMM's inner loop: each step loads one element of A (flw) and multiplies
# a row of B (vle32, m4) into the accumulator by it (vfmacc.vf), as rvai's
# gemm_packed does.  A's entries are +-1/16 and 0 and B's small multiples of
# 1/8, so every product and sum is exact and the checksum does not depend on
# the order a compiler picks.
GEMM_F32 = r"""
#include <riscv_vector.h>
#define M 8
#define K 256
#define NC 32                       /* one m4 group at VLEN 256 */
static float a[M][K], b[K][NC], c[M][NC];
u64 kernel(u64 reps) {
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) a[i][k] = (float)((i + k) % 3 - 1) * 0.0625f;
    for (int k = 0; k < K; k++)
        for (int j = 0; j < NC; j++) b[k][j] = (float)((k * 7 + j) % 9 - 4) * 0.125f;
    size_t vl = __riscv_vsetvl_e32m4(NC);
    for (u64 r = 0; r < reps; r++)
        for (int i = 0; i < M; i++) {
            vfloat32m4_t acc = __riscv_vle32_v_f32m4(c[i], vl);
            for (int k = 0; k < K; k++)
                acc = __riscv_vfmacc_vf_f32m4(acc, a[i][k], __riscv_vle32_v_f32m4(b[k], vl), vl);
            __riscv_vse32_v_f32m4(c[i], acc, vl);
        }
    u64 sum = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < NC; j++) { u32 bits; __builtin_memcpy(&bits, &c[i][j], 4); sum += bits; }
    return sum;
}
"""
SAXPY_F32 = "#define TYPE float\n#define VT vfloat32m8_t\n#define LOAD __riscv_vle32_v_f32m8\n" \
            "#define STORE __riscv_vse32_v_f32m8\n#define MACC __riscv_vfmacc_vf_f32m8\n"
SAXPY_I32 = "#define TYPE int\n#define VT vint32m8_t\n#define LOAD __riscv_vle32_v_i32m8\n" \
            "#define STORE __riscv_vse32_v_i32m8\n#define MACC __riscv_vmacc_vx_i32m8\n"
RVV = ["-march=rv64gcv", "-mabi=lp64d"]
RVV_CPU = "rv64,v=true,vlen=256"


@dataclass
class Bench:
    """One row: a kernel, its argument at scale 1, and how to build and run it."""

    name: str
    source: str
    arg: int                       # repetitions giving ~0.5-1e9 instructions at scale 1
    flags: list[str] = field(default_factory=lambda: ["-march=rv64gc", "-mabi=lp64d"])
    qemu_cpu: str | None = None    # e.g. "rv64,v=true,vlen=256" for vector rows
    vlen: int = 256
    compiler: str = "gcc"          # "clang" for the RVV intrinsic rows
    elems: int = 0                 # vector element operations per unit of arg (0: scalar row)


BENCHES = [
    Bench("loop nest (int matmul 64^3)", LOOP_NEST, 420),
    Bench("memcpy (64 KiB, 8-byte words)", MEMCPY, 40_000),
    Bench("crc32 (table, 64 KiB)", CRC, 1000),
    # VLEN 256, SEW 32: 8 elements per register, 64 per LMUL=8 group; 4 ops per rep.
    Bench("vadd.vv e32 m1", vec_chain("vadd", 1), 20_000_000, RVV, RVV_CPU, compiler="clang",
          elems=4 * 8),
    Bench("vadd.vv e32 m8", vec_chain("vadd", 8), 5_000_000, RVV, RVV_CPU, compiler="clang",
          elems=4 * 64),
    Bench("vfmacc.vv f32 m1", vec_chain("vfmacc", 1), 20_000_000, RVV, RVV_CPU, compiler="clang",
          elems=4 * 8),
    Bench("vfmacc.vv f32 m8", vec_chain("vfmacc", 8), 5_000_000, RVV, RVV_CPU, compiler="clang",
          elems=4 * 64),
    Bench("vfmacc.vf f32 m4", vf_chain(4), 10_000_000, RVV, RVV_CPU, compiler="clang",
          elems=4 * 32),
    Bench("gemm f32 (flw + vfmacc.vf, m4)", GEMM_F32, 4000, RVV, RVV_CPU, compiler="clang", elems=8 * 256 * 32),
    Bench("saxpy i32 (vmacc.vx, m8)", SAXPY_I32 + SAXPY, 20_000, RVV, RVV_CPU, compiler="clang", elems=4096),
    Bench("saxpy f32 (vfmacc.vf, m8)", SAXPY_F32 + SAXPY, 20_000, RVV, RVV_CPU, compiler="clang", elems=4096),
]


def build(bench: Bench, workdir: Path) -> Path:
    """Compile one kernel to a static executable in ``workdir``."""
    src = workdir / (bench.name.split()[0] + ".c")
    src.write_text(PRELUDE + bench.source)
    exe = src.with_suffix("")
    if bench.compiler == "clang":   # RVV intrinsics: GCC 12 has none
        cmd = [CLANG, "--target=riscv64-linux-gnu", "-fuse-ld=lld", "-static", "-O2", "-nostdlib",
               "-ffreestanding", "-fno-builtin", *bench.flags, str(src), "-o", str(exe)]
    else:
        cmd = [GCC, "-static", "-O2", "-nostdlib", "-ffreestanding", "-fno-builtin",
               "-fno-tree-loop-distribute-patterns", *bench.flags, str(src), "-o", str(exe)]
    subprocess.run(cmd, check=True)
    return exe


def run_rvai(bench: Bench, exe: Path, arg: int, tier: str = "interpret", cpu: bool = False
             ) -> tuple[bytes, int, float, str]:
    """(stdout, instructions retired, seconds, what the translator did) of one
    run in rvai in execution tier ``tier``; with ``cpu``, the process's CPU
    seconds (every thread's: a background translator's too), not wall time."""
    clock = time.process_time if cpu else time.perf_counter
    m = Machine(vlen=bench.vlen, budget=1 << 40, tier=tier)
    t0 = clock()
    r = m.run([str(exe), str(arg)])
    secs = clock() - t0
    t = m.translation
    if not t:
        return r.stdout, r.instret, secs, ""
    cached = f" ({t['cached']} from the object cache)" if t["cached"] else ""
    behind = f" (+{t['background_seconds']:.2f} s in the background)" if t["background_seconds"] else ""
    return r.stdout, r.instret, secs, f"{t['blocks']} blocks in {t['seconds']:.2f} s{behind}{cached}"


def run_qemu(bench: Bench, exe: Path, arg: int, cpu: bool = False) -> tuple[bytes, float]:
    """(stdout, wall seconds, or with ``cpu`` its CPU seconds) of one run under qemu-riscv64."""
    cmd = [QEMU] + (["-cpu", bench.qemu_cpu] if bench.qemu_cpu else []) + [str(exe), str(arg)]
    t0, c0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, capture_output=True, check=True)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu:
        return p.stdout, (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    return p.stdout, time.perf_counter() - t0


# One translated run in a fresh process of the checkout `root` (its rvai first
# on sys.path), after an interpreted run of argument 1 as in this process (the
# Linux layer's imports warm; llvmlite not loaded): stdout (hex), instructions
# retired, seconds (the process's CPU seconds when cpu is "1"), the blocks translated.
_RVAI_FRESH = ("import sys, time; root, vlen, exe, arg, cpu = sys.argv[1:]; sys.path.insert(0, root); "
               "from rvai.emu import Machine; Machine(vlen=int(vlen), budget=1 << 40).run([exe, '1']); "
               "clock = time.process_time if cpu == '1' else time.perf_counter; "
               "m = Machine(vlen=int(vlen), budget=1 << 40, tier='translate'); t0 = clock(); "
               "r = m.run([exe, arg]); s = clock() - t0; "
               "print(r.stdout.hex(), r.instret, s, m.translation['blocks'], sep='|')")


def run_fresh(root: str, bench: Bench, exe: Path, arg: int, cpu: bool = False) -> tuple[bytes, int, float, str]:
    """run_rvai's translated run, in a fresh process of the checkout ``root``."""
    p = subprocess.run([sys.executable, "-c", _RVAI_FRESH, root, str(bench.vlen), str(exe), str(arg),
                        "1" if cpu else "0"], capture_output=True, text=True, check=True)
    out, instret, secs, blocks = p.stdout.strip().split("|")
    return bytes.fromhex(out), int(instret), float(secs), f"{blocks} blocks"


def main(argv=None) -> int:
    """Run the benchmark table; 1 when gcc is missing or rvai's output differs from qemu's, else 0."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=1.0, help="multiply every kernel's work by this")
    p.add_argument("--only", nargs="*", default=None, help="run only rows whose name starts with these")
    p.add_argument("--repeat", type=int, default=1,
                   help="keep the fastest of this many runs of each (other load on the host only slows)")
    p.add_argument("--short", action="store_true",
                   help="also run each kernel once (argument 1): the translator's start-up cost")
    p.add_argument("--callgrind", action="store_true",
                   help="instead, host instructions per guest instruction (valgrind's callgrind) of each "
                        "tier and qemu, at steady state: load-independent ratios")
    p.add_argument("--base", metavar="DIR", default=None,
                   help="also the translating tier of the checkout in DIR (its extension built in place): "
                        "with --callgrind the column 'base'; else the columns 'base s' and 'base/qemu', "
                        "both checkouts' translated runs then made in fresh processes, one after the other")
    p.add_argument("--cpu", action="store_true",
                   help="CPU seconds instead of wall time (rvai's process, every thread; qemu's): "
                        "less moved by other load on the host than wall time")
    p.add_argument("--tiers", nargs="+", choices=CALLGRIND_TIERS, default=None,
                   help="with --callgrind: only these columns (default: all; 'base' needs --base)")
    p.add_argument("--compile", action="store_true",
                   help="instead, the translator's cost per block: each kernel run once with every block "
                        "translated at its first entry, in two machines (the second finds them compiled)")
    p.add_argument("--jit-cache", metavar="DIR", default=None,
                   help="keep translated blocks' object code in DIR (a later run finds them there, as "
                        "rvai does by default in its cache directory); without it every run translates "
                        "from scratch, the cost a program's first run pays")
    args = p.parse_args(argv)
    if args.jit_cache:
        os.environ["RVAI_CACHE_DIR"] = args.jit_cache   # jit_llvm.cache_dir(): DIR/translated
    else:
        os.environ["RVAI_JIT_CACHE"] = "0"
    if not GCC:
        print("needs riscv64-linux-gnu-gcc", file=sys.stderr)
        return 1
    rows = [b for b in BENCHES if not args.only or any(b.name.startswith(o) for o in args.only)]
    if args.compile:
        return compile_cost(rows)
    if args.callgrind:
        tiers = args.tiers or [t for t in CALLGRIND_TIERS if t != "base" or args.base]
        if "base" in tiers and not args.base:
            p.error("--tiers base needs --base DIR")
        return callgrind_cost(rows, args.scale, tiers, args.base)
    print(f"{'kernel':32} {'instructions':>14} {'interp s':>9} {'transl s':>9} {'qemu s':>8} "
          f"{'transl/interp':>13} {'interp/qemu':>11} {'transl/qemu':>11}"
          + (f" {'base s':>7} {'base/qemu':>9}" if args.base else "") + "  translated"
          + ("   (CPU seconds)" if args.cpu else ""))
    with tempfile.TemporaryDirectory() as tmp:
        for bench in rows:
            if bench.compiler == "clang" and not CLANG:
                print(f"{bench.name:32} (needs clang-19)")
                continue
            exe = build(bench, Path(tmp))
            sizes = [(max(1, round(bench.arg * args.scale)), bench.name)]
            sizes += [(1, bench.name[:28] + " x1")] if args.short else []
            for arg, label in sizes:
                status = row(bench, exe, arg, args.repeat, label, args.base, args.cpu)
                if status:
                    return status
    print(f"\n(ratios are speed ratios: the second's {'CPU' if args.cpu else 'wall'} time over the first's; transl: "
          f"the translating tier, with the blocks it translated and the time that took; "
          f"host: {os.cpu_count()} cores)")
    return 0


def compile_cost(rows) -> int:
    """Print the translator's milliseconds per block for each kernel (argument 1,
    every block translated at its first entry), in a first machine and in a second
    one running the same executable; the process's first translation also loads LLVM."""
    os.environ["RVAI_JIT_HOT"] = "0"
    print(f"{'kernel':32} {'blocks':>6} {'ms/block':>9} {'again ms/block':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        for bench in rows:
            if bench.compiler == "clang" and not CLANG:
                continue
            exe = build(bench, Path(tmp))
            costs = []
            for _ in range(2):
                m = Machine(vlen=bench.vlen, budget=1 << 40, tier="translate")
                m.run([str(exe), "1"])
                t = m.translation
                costs.append((t["blocks"], 1000 * t["seconds"] / max(t["blocks"], 1)))
            print(f"{bench.name:32} {costs[0][0]:6d} {costs[0][1]:9.1f} {costs[1][1]:15.2f}", flush=True)
    return 0


#: The columns of --callgrind: rvai's two tiers, qemu, and (--base) another checkout's translating tier.
CALLGRIND_TIERS = ("interpret", "translate", "qemu", "base")
# One run of a kernel in rvai, for callgrind: tier, VLEN, executable, argument,
# the file to write the instructions retired and the blocks translated to (valgrind has stderr).
_RVAI_ONE = ("import sys; from pathlib import Path; from rvai.emu import Machine; "
             "tier, vlen, exe, arg, out = sys.argv[1:]; "
             "m = Machine(vlen=int(vlen), budget=1 << 40, tier=tier); r = m.run([exe, arg]); "
             "b = m.translation['blocks'] if m.translation else 0; Path(out).write_text(f'{r.instret} {b}'); "
             "sys.stdout.buffer.write(r.stdout)")


def host_instructions(cmd: list[str], workdir: Path) -> tuple[int, bytes, bytes]:
    """(host instructions callgrind counted, stdout) of one command."""
    out = workdir / "callgrind.out"
    p = subprocess.run([VALGRIND, "--tool=callgrind", f"--callgrind-out-file={out}", *cmd],
                       capture_output=True, check=True)
    total = next(int(line.split()[1]) for line in out.read_text().splitlines() if line.startswith("summary:"))
    return total, p.stdout


def callgrind_cost(rows, scale: float, tiers=CALLGRIND_TIERS, base: str | None = None) -> int:
    """Print steady-state host instructions per guest instruction of each of
    ``tiers`` (two sizes, n and 2n: the difference removes start-up, LLVM's
    loading and the translations), and their ratios; ``base``: the checkout
    whose translating tier is the column "base".  A translated figure
    marked * is not steady state: the two sizes translated different blocks
    (at n the hot loop ran under the hotness threshold), so the difference
    holds translations; a larger --scale removes them.  The last column is
    start-up included: qemu's whole process over rvai's translating one at
    size n (Python, llvmlite's loading and the translations in it), the
    load-independent counterpart of the table's transl/qemu by wall."""
    if not VALGRIND:
        print("needs valgrind", file=sys.stderr)
        return 1
    ratios = [(f"{a}/{b}", a, b) for a, b in (("interpret", "translate"), ("qemu", "translate"),
                                              ("base", "translate")) if a in tiers and b in tiers]
    heads = {"interpret": "interp", "translate": "transl", "qemu": "qemu", "base": "base"}
    print(f"{'kernel':32} " + " ".join(f"{heads[t]:>8}" for t in tiers) + "".join(f" {r:>15}" for r, _, _ in ratios)
          + (f" {'whole qemu/transl':>17}" if {"qemu", "translate"} <= set(tiers) else "")
          + "   (host instructions per guest instruction; whole: all of one run)")
    roots = {"translate": str(Path(__file__).resolve().parent.parent), "interpret": None, "base": base}
    roots["interpret"] = roots["translate"]
    with tempfile.TemporaryDirectory() as tmp:
        for bench in rows:
            if bench.compiler == "clang" and not CLANG:
                continue
            exe = build(bench, Path(tmp))
            n = max(1, round(bench.arg * scale))
            cost, whole, mark, want, guest = {}, {}, {}, None, None
            for tier in tiers:
                counts = []
                for arg in (n, 2 * n):
                    if tier == "qemu":
                        cmd = [QEMU] + (["-cpu", bench.qemu_cpu] if bench.qemu_cpu else []) + [str(exe), str(arg)]
                    else:
                        cmd = [sys.executable, "-c", f"import sys; sys.path.insert(0, {roots[tier]!r}); " + _RVAI_ONE,
                               "interpret" if tier == "interpret" else "translate", str(bench.vlen), str(exe),
                               str(arg), f"{tmp}/instret"]
                    host, out = host_instructions(cmd, Path(tmp))
                    counts.append((host, out, *(map(int, Path(tmp, "instret").read_text().split())
                                                if tier != "qemu" else (None, None))))
                outs = (counts[0][1], counts[1][1])
                if want is None:
                    want = outs
                if outs != want:
                    print(f"{bench.name}: {tier} printed {outs[0]!r}, not {want[0]!r}", file=sys.stderr)
                    return 1
                if tier != "qemu":
                    g = counts[1][2] - counts[0][2]
                    if guest is not None and g != guest:
                        print(f"{bench.name}: {tier} retired {g} more instructions, not {guest}", file=sys.stderr)
                        return 1
                    guest = g
                cost[tier] = counts[1][0] - counts[0][0]
                whole[tier] = counts[0][0]
                mark[tier] = " " if tier == "interpret" or counts[0][3] == counts[1][3] else "*"
            if guest is None:
                print(f"{bench.name}: needs an rvai tier for its instruction count", file=sys.stderr)
                return 1
            cost = {t: c / guest for t, c in cost.items()}
            line = f"{bench.name:32} " + " ".join(f"{cost[t]:7.2f}{mark.get(t, ' ')}" for t in tiers)
            line += "".join(f" {cost[a] / cost[b]:15.2f}" for _, a, b in ratios)
            if {"qemu", "translate"} <= set(tiers):
                line += f" {whole['qemu'] / whole['translate']:17.2f}"
            print(line, flush=True)
    return 0


def row(bench: Bench, exe: Path, arg: int, repeat: int, name: str, base: str | None = None,
        cpu: bool = False) -> int:
    """Print one table row: the kernel at ``arg`` in both tiers and qemu (and
    the translating tier of checkout ``base``); 1 when their outputs differ."""
    runs = {}
    for tier in ("interpret", "translate"):
        if tier == "translate" and base:
            continue
        try:
            runs[tier] = min((run_rvai(bench, exe, arg, tier, cpu) for _ in range(repeat)), key=lambda r: r[2])
        except EmulatorError as e:   # an instruction rvai does not implement
            print(f"{name:32} rvai ({tier}): {type(e).__name__}")
            return 0
    if base:   # each checkout's fresh processes in turn, so that both meet the same load
        fresh = {"translate": [], "base": []}
        for _ in range(repeat):
            for key, root in (("base", base), ("translate", str(Path(__file__).resolve().parent.parent))):
                fresh[key].append(run_fresh(root, bench, exe, arg, cpu))
        runs.update({key: min(r, key=lambda r: r[2]) for key, r in fresh.items()})
        if runs["base"][:2] != runs["interpret"][:2]:
            print(f"{bench.name}: the base checkout differs: {runs['base'][:2]!r}", file=sys.stderr)
            return 1
    (out, instret, isecs, _), (tout, tinstret, tsecs, note) = runs["interpret"], runs["translate"]
    if (tout, tinstret) != (out, instret):
        print(f"{bench.name}: the tiers differ: {out!r} {instret} vs {tout!r} {tinstret}", file=sys.stderr)
        return 1
    line = f"{name:32} {instret:14,d} {isecs:9.2f} {tsecs:9.2f}"
    qsecs = None
    if QEMU:
        qout, qsecs = min((run_qemu(bench, exe, arg, cpu) for _ in range(repeat)), key=lambda r: r[1])
        if qout != out:
            print(f"{bench.name}: rvai printed {out!r} but qemu {qout!r}", file=sys.stderr)
            return 1
        line += f" {qsecs:8.2f}"
    else:
        line += f" {'n/a':>8}"
    line += f" {isecs / tsecs:13.2f}"
    line += f" {qsecs / isecs:11.2f} {qsecs / tsecs:11.2f}" if qsecs else f" {'n/a':>11} {'n/a':>11}"
    if base:
        bsecs = runs["base"][2]
        line += f" {bsecs:7.2f} " + (f"{qsecs / bsecs:9.2f}" if qsecs else f"{'n/a':>9}")
    line += f"  {note}"
    if bench.elems:   # vector rows: element operations per second
        line += f"  elem/s {bench.elems * arg / tsecs:.3g}" + (f" qemu {bench.elems * arg / qsecs:.3g}" if qsecs else "")
    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
