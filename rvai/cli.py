"""The ``rvai`` command.

* ``rvai run [--vlen N] [--target NAME] [--budget N] [--timeout S] [--mem SIZE] [--verbose] PROGRAM [ARGS...]``
  runs a static riscv64 Linux executable like ``qemu-riscv64``: its stdout and
  stderr are forwarded as they are written, stdin is the host's, the host
  environment is passed on, and rvai exits with the program's exit code
  (128+n when the program is killed by signal n).
* ``rvai disasm FILE [--symbol NAME]`` lists the code of an ELF (executable or
  relocatable object) in llvm-objdump's spelling.
* ``rvai demo [ARGS...]`` runs the kernel demo (``rvai.demo``).
* ``rvai calibrate TABLE.csv [--base PRESET] -o NEW.toml`` fits the base preset's
  cost tables to measured cycles per instruction and prints measured vs model
  (``rvai.calibrate``).
* ``rvai sweep SWEEP.toml --out DIR [--workers N] [--ray ADDRESS]`` runs a
  design-space sweep, ``rvai sweep --plot DIR`` redraws its figures
  (``rvai.sweep.cli``, docs/sweeps.md).
* ``rvai tune KERNEL --target T --shape SIZES [...]`` autotunes a kernel (gemm_packed,
  matmul, gemv_rows: M,K,N; softmax, rmsnorm: rows,n; attention: heads,kv_heads,Lq,Lk,d)
  on the target's timing model and caches the best configuration (``rvai.tune``).
* ``rvai cache [--trim | --clear]`` shows the on-disk caches (compiled kernels,
  translated blocks), their sizes and limit (``RVAI_CACHE_MAX_MB``); ``--trim``
  deletes the least recently used entries when they pass it, ``--clear`` all
  (``rvai.diskcache``).
* ``rvai profile [--target NAME] [--format text|json] [--trace FILE] [--budget N] [--timeout S] [--mem SIZE] PROGRAM [ARGS...]``
  runs an executable on the timing model of the target and prints its profile
  (docs/timing-model.md); the program's own stdout goes to stderr so stdout
  carries only the report.

When rvai itself cannot go on it prints one line ``rvai: error: ...`` on stderr,
no traceback, and exits with a code of its own from EXIT_CODES (101-106), one
per kind of failure; a program can of course exit with those numbers too.
Ctrl-C stops the guest and exits with 130.
"""
from __future__ import annotations

import argparse
import os
import struct
import sys

# Exit codes of rvai's own failures, one per kind.
EXIT_CODES = {
    "usage": 2,           # bad command line (argparse's convention)
    "unreadable": 101,    # the program file cannot be read
    "bad_elf": 102,       # not a RISC-V ELF rvai can load
    "fault": 103,         # the guest faulted: bad access, wild jump, illegal instruction
    "budget": 104,        # the instruction budget ran out
    "unsupported": 105,   # a system call rvai cannot serve, or a deadlock (every thread waits in futex)
    "timeout": 106,       # the wall-time limit (--timeout) passed
    "interrupted": 130,   # Ctrl-C (SIGINT), as a shell reports a program it killed
}


def _error(kind: str, message: str) -> int:
    print(f"rvai: error: {message}", file=sys.stderr)
    return EXIT_CODES[kind]


def _run_program(args, machine_kwargs: dict, out_fd: int, err_fd: int):
    """Run ``args.program`` with ``args.args`` on a fresh Machine built from
    ``args.target`` and ``machine_kwargs``: the host's stdin and environment, the
    guest's stdout and stderr written straight to host descriptors ``out_fd`` and
    ``err_fd``.  Returns ``(machine, result)``, or rvai's exit status (an int, the
    error line already printed) when the program cannot be loaded or run; `run`
    and `profile` share it so that each kind of failure gets the same code."""
    from rvai.emu import Machine, errors
    from rvai.emu.elf import ElfError
    try:
        m = Machine(args.target, **machine_kwargs)
        data = open(args.program, "rb").read()
    except OSError as e:
        return _error("unreadable", f"cannot read {args.program}: {e.strerror}")
    except (ValueError, KeyError) as e:
        return _error("usage", str(e))
    # Flush our own buffers first so that bytes written straight to the
    # descriptors keep their order.
    sys.stdout.flush()
    sys.stderr.flush()
    stdout = os.fdopen(os.dup(out_fd), "wb", buffering=0)
    stderr = os.fdopen(os.dup(err_fd), "wb", buffering=0)
    try:
        return m, m.run([args.program, *args.args], program=data, env=dict(os.environ),
                        stdin=sys.stdin.buffer, stdout=stdout, stderr=stderr, capture=False)
    except ElfError as e:
        return _error("bad_elf", f"{args.program}: {e}")
    except errors.BudgetExceeded as e:
        return _error("budget", f"{args.program}: {e}")
    except errors.TimeLimitExceeded as e:
        return _error("timeout", f"{args.program}: {e}")
    except (errors.UnsupportedSyscall, errors.Deadlock) as e:
        return _error("unsupported", f"{args.program}: {e}")
    except errors.EmulatorError as e:
        return _error("fault", f"{args.program}: {e}")
    finally:
        stdout.close()
        stderr.close()


def _limits(args) -> dict:
    """The Machine keywords of the --budget/--timeout/--mem/--harts options given."""
    given = {"budget": args.budget, "timeout": args.timeout, "mem_limit": args.mem, "harts": args.harts}
    return {k: v for k, v in given.items() if v is not None}


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _bytes(text: str) -> int:
    """A byte count such as 4096, 512M or 4G (binary units) for --mem."""
    unit = text[-1:].upper() if text[-1:].isalpha() else ""
    number = text[:-1] if unit else text
    if unit not in _UNITS or not number.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 4096, 512M or 4G")
    return int(number) * _UNITS[unit]


def cmd_run(args) -> int:
    """``rvai run``: run an executable with the host's stdio and environment."""
    ran = _run_program(args, {"vlen": args.vlen, **_limits(args)}, 1, 2)
    if isinstance(ran, int):
        return ran
    _, result = ran
    if args.verbose:
        print(f"rvai: {result.instret} instructions retired", file=sys.stderr)
        for nr, count in sorted(result.unknown_syscalls.items()):
            print(f"rvai: unknown system call {nr} made {count} time(s), answered -ENOSYS",
                  file=sys.stderr)
    return result.exit_code


def _code_ranges(data: bytes, image) -> list[tuple[str, int, int]]:
    """(name, address, size) of the code to list: the executable sections of an
    executable (its executable segments when it has no section headers), the
    placed executable sections of a relocatable object."""
    if image.kind == "rel":
        return [(s.name, s.addr, s.memsz) for s in image.segments if "x" in s.perms]
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    ranges = []
    if shoff and shnum and shentsize == 64 and shoff + 64 * shnum <= len(data):
        headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + 64 * i) for i in range(shnum)]
        names_off = headers[shstrndx][4] if shstrndx < shnum else 0
        for name, typ, flags, addr, _off, size, *_ in headers:
            if flags & 0x6 == 0x6 and typ != 8 and size:   # SHF_ALLOC|SHF_EXECINSTR, not NOBITS
                end = data.find(b"\0", names_off + name)
                ranges.append((data[names_off + name:end].decode(errors="replace"), addr, size))
    return ranges or [(s.name, s.addr, s.memsz) for s in image.segments if "x" in s.perms]


def cmd_disasm(args) -> int:
    """``rvai disasm``: an objdump-like listing of an ELF's code."""
    from rvai.emu import Machine
    from rvai.emu.elf import ElfError
    try:
        data = open(args.file, "rb").read()
        m = Machine()
        image = m.load_elf(data)
    except OSError as e:
        return _error("unreadable", f"cannot read {args.file}: {e.strerror}")
    except (ElfError, ValueError) as e:
        return _error("bad_elf", f"{args.file}: {e}")
    labels: dict[int, str] = {}
    for name, addr in sorted(image.symbols.items()):
        labels.setdefault(addr, name)
    code = _code_ranges(data, image)
    if args.symbol:
        if args.symbol not in image.symbols:
            return _error("usage", f"{args.file}: no symbol {args.symbol!r}")
        start = image.symbols[args.symbol]
        size = image.symbol_sizes.get(args.symbol)
        if not size:   # an unsized label (_start): up to the next symbol or the section end
            ends = [a for a in labels if a > start] + [a + n for _, a, n in code if a <= start < a + n]
            size = min(ends, default=start + 4) - start
        ranges = [(None, start, size)]
    else:
        ranges = code
    out = [f"\n{args.file}:\tfile format elf64-littleriscv"]
    for name, start, size in ranges:
        if name:
            out.append(f"\nDisassembly of section {name}:")
        addr = start
        while addr < start + size:
            if addr in labels:
                out.append(f"\n{addr:016x} <{labels[addr]}>:")
            (pc, raw, text), = m.disassemble(addr, 1)
            out.append(f"{pc:8x}: {raw:<8}\t{text}")
            addr += len(raw) // 2
    print("\n".join(out))
    return 0


def cmd_demo(args) -> int:
    """``rvai demo``: the kernel demo (rvai.demo), which parses its own options."""
    from rvai import demo
    return demo.main(args.args) or 0


def cmd_tune(args) -> int:
    """``rvai tune``: autotune a kernel on the timing model (rvai.tune), which parses its own options."""
    from rvai import tune
    return tune.main(args.args)


def cmd_profile(args) -> int:
    """``rvai profile``: run an executable timed and report where the cycles went."""
    import json
    # The program's own output goes to stderr: stdout carries only the report.
    ran = _run_program(args, {"timed": True, **_limits(args)}, 2, 2)
    if isinstance(ran, int):
        return ran
    m, result = ran
    prof = m.profile()
    report = prof.to_dict()
    report["exit_code"] = result.exit_code
    print(json.dumps(report, indent=1) if args.format == "json" else prof.text())
    if args.trace:
        with open(args.trace, "w") as f:
            json.dump(prof.chrome_trace(), f)
    return 0


def cmd_sweep(args) -> int:
    """``rvai sweep``: a design-space sweep (the logic is in rvai.sweep.cli)."""
    from rvai.sweep import cli
    return cli.main(args)


def _limit_options(p: argparse.ArgumentParser) -> None:
    """The run limits `run` and `profile` share (docs/limits.md)."""
    p.add_argument("--budget", type=int, default=None,
                   help="stop after this many instructions (exit 104)")
    p.add_argument("--timeout", type=float, default=None,
                   help="stop after this many seconds of wall time (exit 106)")
    p.add_argument("--mem", type=_bytes, default=None,
                   help="guest memory limit, e.g. 512M or 8G (default 4G): past it the "
                        "guest's mmap/brk fail with ENOMEM")
    p.add_argument("--harts", type=int, default=None,
                   help="harts the program's threads run on (default 1; docs/harts.md)")


def cmd_calibrate(args) -> int:
    """``rvai calibrate``: fit, write the TOML, print the fit (rvai.calibrate)."""
    from rvai.calibrate import command
    return command(args.table, args.base, args.output)


def cmd_cache(args) -> int:
    """``rvai cache``: the caches' place, entries and sizes; ``--trim``/``--clear`` delete entries."""
    from rvai import diskcache
    try:
        limit = diskcache.limit()
    except ValueError as e:
        return _error("usage", str(e))
    if args.clear or args.trim:
        gone = diskcache.clear() if args.clear else diskcache.trim(limit)
        print(f"deleted {len(gone)} entries, {sum(e.size for e in gone) / 2**20:.1f} MB")
    found = diskcache.entries()
    print(f"{diskcache.root()}: limit {limit / 2**20:.0f} MB (RVAI_CACHE_MAX_MB)")
    for part in diskcache.PARTS:
        mine = [e for e in found if e.part == part]
        print(f"  {part:<11} {len(mine):>6} entries {sum(e.size for e in mine) / 2**20:>9.1f} MB")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rvai", description="RISC-V AI kernel development and emulation")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a static riscv64 Linux executable (like qemu-riscv64)")
    run.add_argument("--vlen", type=int, default=None, help="vector register length in bits")
    run.add_argument("--target", default=None, help="target preset name (sets VLEN and the machine model)")
    _limit_options(run)
    run.add_argument("--verbose", "-v", action="store_true",
                     help="report retired instructions and unknown system calls on stderr")
    run.add_argument("program")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the program")
    run.set_defaults(func=cmd_run)
    dis = sub.add_parser("disasm", help="disassemble the code of an ELF file")
    dis.add_argument("file")
    dis.add_argument("--symbol", default=None, help="list only this function")
    dis.set_defaults(func=cmd_disasm)
    prof = sub.add_parser("profile", help="run an executable on the timing model and report its profile")
    prof.add_argument("--target", default=None, help="target preset name (default: generic)")
    prof.add_argument("--format", choices=("text", "json"), default="text")
    prof.add_argument("--trace", default=None, help="also write a Chrome/Perfetto trace of the vector pipes")
    _limit_options(prof)
    prof.add_argument("program")
    prof.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the program")
    prof.set_defaults(func=cmd_profile)
    cal = sub.add_parser("calibrate", help="fit a preset's cost tables to measured cycles per instruction")
    cal.add_argument("table", help="CSV of insn,masked,sew,lmul,cycles rows (see rvai.calibrate)")
    cal.add_argument("--base", default="generic", help="preset whose model is fitted (default: generic)")
    cal.add_argument("-o", "--output", required=True, help="where to write the fitted target TOML")
    cal.set_defaults(func=cmd_calibrate)
    sweep = sub.add_parser("sweep", help="run workloads over many machine configurations (docs/sweeps.md)")
    sweep.add_argument("file", nargs="?", help="the sweep file (TOML)")
    sweep.add_argument("--out", help="the results folder (a rerun skips its finished points)")
    sweep.add_argument("--workers", type=int, default=None, help="points run at once (default: CPUs)")
    sweep.add_argument("--ray", metavar="ADDRESS", default=None,
                       help="run on the Ray cluster at ADDRESS ('auto', 'ray://host:port', or 'local')")
    sweep.add_argument("--retry-errors", action="store_true", help="rerun the points that failed before")
    sweep.add_argument("--strict", action="store_true", help="exit 1 when any point failed")
    sweep.add_argument("--no-plot", action="store_true", help="write the tables only")
    sweep.add_argument("--plot", metavar="DIR", default=None, help="redraw DIR's figures from its results.csv")
    sweep.set_defaults(func=cmd_sweep)
    demo = sub.add_parser("demo", help="run the kernel demo")
    demo.add_argument("args", nargs=argparse.REMAINDER)
    demo.set_defaults(func=cmd_demo)
    cache = sub.add_parser("cache", help="show, trim or clear the on-disk caches (compiled kernels, translated blocks)")
    what = cache.add_mutually_exclusive_group()
    what.add_argument("--trim", action="store_true", help="over the limit, delete the least recently used entries down to three quarters of it")
    what.add_argument("--clear", action="store_true", help="delete every entry")
    cache.set_defaults(func=cmd_cache)
    tune = sub.add_parser("tune", help="autotune a kernel on a target's timing model")
    tune.add_argument("args", nargs=argparse.REMAINDER)
    tune.set_defaults(func=cmd_tune)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rvai`` command; returns (and exits with) the status."""
    exiting = argv is None
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["demo"], ["tune"]):   # REMAINDER would reject a leading --option; they parse their own
        args = argparse.Namespace(func=cmd_demo if argv[0] == "demo" else cmd_tune, args=argv[1:])
    else:
        args = _parser().parse_args(argv)
    try:
        status = args.func(args)
    except KeyboardInterrupt:
        status = EXIT_CODES["interrupted"]
    if exiting:
        sys.exit(status)
    return status


if __name__ == "__main__":
    main()
