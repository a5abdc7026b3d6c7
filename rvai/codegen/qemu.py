"""Run a compiled kernel under qemu-user: an oracle independent of the rvai emulator.

The object is linked with a generated C driver by clang and ld.lld into a static
riscv64 Linux executable; arguments travel through a file. Needs ``clang-19``,
``ld.lld-19``, the riscv64-linux-gnu sysroot and ``qemu-riscv64`` (QEMU 7.2 lacks Zvfh,
so compile for a target without it when f16 vector arithmetic is involved).
"""
from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["run_qemu", "available"]

_CTYPE = {"ptr": "void *", "i64": "int64_t", "f32": "float", "f64": "double"}
_FMT = {"i64": "<q", "f32": "<f", "f64": "<d"}
_BUILT: dict[str, Path] = {}
_WORK = Path(tempfile.gettempdir()) / "rvai-qemu"


def available() -> bool:
    """True if clang-19, ld.lld-19 and qemu-riscv64 are installed."""
    return all(shutil.which(t) for t in ("clang-19", "ld.lld-19", "qemu-riscv64"))


def _driver(name: str, kinds: list[str]) -> str:
    params = ", ".join(_CTYPE[k] for k in kinds) or "void"
    decls, reads, args, writes = [], [], [], []
    for i, k in enumerate(kinds):
        if k == "ptr":
            decls.append(f"  uint64_t n{i}; void *a{i};")
            reads.append(f"  rd(&n{i}, 8, f); a{i} = aligned_alloc(64, (n{i} + 64) & ~63ull); rd(a{i}, n{i}, f);")
            writes.append(f"  fwrite(a{i}, 1, n{i}, o);")
        else:
            decls.append(f"  {_CTYPE[k]} a{i};")
            reads.append(f"  rd(&a{i}, sizeof a{i}, f);")
        args.append(f"a{i}")
    return "\n".join([
        "#include <stdint.h>", "#include <stdio.h>", "#include <stdlib.h>",
        f"extern void {name}({params});",
        "static void rd(void *p, size_t n, FILE *f) { if (n && fread(p, 1, n, f) != n) exit(3); }",
        "int main(int argc, char **argv) {",
        "  FILE *f = fopen(argv[1], \"rb\"); if (!f) return 2;", *decls, *reads,
        f"  {name}({', '.join(args)});",
        "  FILE *o = fopen(argv[2], \"wb\"); if (!o) return 4;", *writes,
        "  fclose(o); return 0;", "}", ""])


def _build(compiled, kinds: list[str]) -> Path:
    key = hashlib.sha256(compiled.elf + compiled.name.encode() + ",".join(kinds).encode()).hexdigest()[:20]
    if key in _BUILT and _BUILT[key].exists():
        return _BUILT[key]
    folder = _WORK / key
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.o").write_bytes(compiled.elf)
    (folder / "driver.c").write_text(_driver(compiled.name, kinds))
    exe = folder / "run"
    cmd = ["clang-19", "--target=riscv64-linux-gnu", "-march=rv64gc", "-mabi=lp64d", "-O1", "-static",
           "-fuse-ld=lld", "-o", str(exe), str(folder / "driver.c"), str(folder / "kernel.o")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"linking the qemu driver failed:\n{proc.stderr}")
    _BUILT[key] = exe
    return exe


def run_qemu(compiled, flat: list[tuple[str, object]], vlen: int, timeout: float = 60) -> list[np.ndarray]:
    """Call ``compiled`` with ``flat`` (kind, value) arguments under QEMU at ``vlen``.

    Kinds are ``ptr`` (a contiguous ndarray), ``i64``, ``f32``, ``f64``. Returns the
    arrays' contents after the call, in order.
    """
    kinds = [k for k, _ in flat]
    exe = _build(compiled, kinds)
    with tempfile.TemporaryDirectory(dir=exe.parent) as tmp:
        inp, out = Path(tmp) / "in", Path(tmp) / "out"
        with open(inp, "wb") as f:
            for kind, val in flat:
                if kind == "ptr":
                    data = np.ascontiguousarray(val).tobytes()
                    f.write(struct.pack("<Q", len(data)) + data)
                else:
                    f.write(struct.pack(_FMT[kind], val))
        cpu = f"rv64,v=true,vlen={vlen},elen=64,vext_spec=v1.0,Zfh=true,zba=true,zbb=true,zbs=true"
        proc = subprocess.run(["qemu-riscv64", "-cpu", cpu, str(exe), str(inp), str(out)],
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode:
            raise RuntimeError(f"kernel {compiled.name} failed under qemu (exit {proc.returncode}): "
                               f"{proc.stderr.strip()}")
        raw = out.read_bytes()
    arrays, pos = [], 0
    for kind, val in flat:
        if kind == "ptr":
            n = val.nbytes
            arrays.append(np.frombuffer(raw[pos:pos + n], dtype=val.dtype).reshape(val.shape).copy())
            pos += n
    return arrays
