"""Targets: presets, TOML round trips, validation, and the extensions LLVM really enables."""
import tomllib

import pytest

from rvai.codegen.backend import compile_llvm_ir, enabled_extensions
from rvai.emu import IllegalInstruction, Machine
from rvai.emu.isa import extensions
from rvai.target import EMULATED_EXTENSIONS, HINT_EXTENSIONS, KNOWN_CPUS, SWITCHABLE_EXTENSIONS, Target
from tests.vec_util import run

PRESETS = Target.presets()
_TRIVIAL = "define i64 @f(i64 %a) {\n  ret i64 %a\n}\n"


def test_required_presets_exist():
    assert {"generic", "spacemit-x60", "sifive-x280", "xuantie-c930"} <= set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_enables_only_emulated_extensions(name):
    target = Target.preset(name)
    _, obj, asm = compile_llvm_ir(_TRIVIAL, target)
    exts = enabled_extensions(asm)
    assert exts[0] == "i"
    extra = sorted(set(exts) - EMULATED_EXTENSIONS)
    assert not extra, f"{name}: LLVM enables extensions the emulator lacks: {extra}"
    assert "v" in exts
    vlens = [int(e[3:-1]) for e in exts if e.startswith("zvl")]
    assert max(vlens) == target.min_vlen, "the object would assume a larger VLEN than min_vlen"
    assert obj[:4] == b"\x7fELF"
    # the emulated machine has exactly the switchable extensions LLVM compiles for
    assert target.extensions == set(exts) & set(SWITCHABLE_EXTENSIONS)


def test_switchable_extensions_are_the_c_cores():
    assert extensions() == ("base",) + SWITCHABLE_EXTENSIONS


def test_cpu_extensions_are_llvms():
    for cpu in sorted(KNOWN_CPUS):
        target = Target(name=cpu, cpu=cpu, features=() if KNOWN_CPUS[cpu] else ("+v",))
        exts = enabled_extensions(compile_llvm_ir(_TRIVIAL, target)[2])
        assert target.extensions == set(exts) & set(SWITCHABLE_EXTENSIONS), cpu


# One instruction of each switchable extension, and the presets that have it.
_PROBES = {
    "zfbfmin": ["fcvt.bf16.s fa0, fa1"],
    "zvfbfmin": ["vsetivli zero, 4, e16, m1, ta, ma", "vfwcvtbf16.f.f.v v2, v4"],
    "zvfbfwma": ["vsetivli zero, 4, e16, m1, ta, ma", "vfwmaccbf16.vv v2, v4, v5"],
    "zvqdotq": ["vsetivli zero, 4, e32, m1, ta, ma", "vqdot.vv v2, v4, v5"],
    "xsmtvdot": ["vsetvli t0, zero, e8, m1, ta, ma", "smt.vmadot v2, v4, v5"],
    "zicond": ["czero.eqz a0, a1, a2"],
    "zbc": ["clmul a0, a1, a2"],
    "zbkb": ["pack a0, a1, a2"],
    "zbkx": ["xperm8 a0, a1, a2"],
    "zicbom": ["cbo.flush (sp)"],
    "zicboz": ["cbo.zero (sp)"],
    "zawrs": ["wrs.nto"],
    "zimop": ["mop.r.0 a0, a1"],
    "zfa": ["fli.d fa0, min"],
    "zvkb": ["vsetvli t0, zero, e32, m1, ta, ma", "vror.vi v2, v4, 3"],
    "zvbb": ["vsetvli t0, zero, e32, m1, ta, ma", "vcpop.v v2, v4"],
    "zicbop": ["prefetch.r 0(sp)", "prefetch.w -32(sp)"],
}


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("ext", SWITCHABLE_EXTENSIONS)
def test_machine_of_a_target_has_only_its_extensions(name, ext):
    target = Target.preset(name)
    lines = _PROBES[ext]
    if ext in target.extensions or ext in HINT_EXTENSIONS:   # VLEN 256: smt.vmadot has a tile shape there
        # a hint runs everywhere, as the base instruction it encodes (tests/test_timing.py
        # holds what the extension changes: the timing model's prefetches)
        run(Machine(target, vlen=256), lines)
    else:
        with pytest.raises(IllegalInstruction, match=lines[-1].split()[0].replace(".", r"\.")):
            run(Machine(target, vlen=256), lines)
    run(Machine(vlen=256), lines)   # no target: every extension


def test_zbkc_runs_on_the_zbc_rows_and_zvbb_brings_zvkb():
    kc = Target(name="kc", cpu="generic-rv64", features=("+v", "+zbkc"))
    assert "zbc" in kc.extensions
    run(Machine(kc), ["clmul a0, a1, a2", "clmulh a0, a1, a2"])
    assert Target(name="bb", cpu="generic-rv64", features=("+v", "+zvbb")).extensions == {"zvbb", "zvkb"}


@pytest.mark.parametrize("name", PRESETS)
def test_preset_toml_round_trip(name, tmp_path):
    target = Target.preset(name)
    path = tmp_path / "t.toml"
    path.write_text(target.to_toml())
    assert Target.from_toml(path) == target


def test_model_section_is_kept(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('cpu = "generic-rv64"\nfeatures = ["+v"]\n[model]\ndlen = 128\n'
                    'pipes = ["valu", "vmem"]\n')
    target = Target.from_toml(path)
    assert target.name == "m" and target.model == {"dlen": 128, "pipes": ["valu", "vmem"]}
    assert tomllib.loads(target.to_toml())["model"]["dlen"] == 128


@pytest.mark.parametrize("kwargs, words", [
    (dict(cpu="xuantie-c930"), "unknown LLVM cpu"),
    (dict(cpu="bogus"), "unknown LLVM cpu"),
    (dict(features=("+v", "+zvbc")), "not implemented"),
    (dict(features=("+m",)), "needs '\\+v'"),
    (dict(features=("+v", "-d")), "switch off"),
    (dict(features=("+v", "-zihintpause")), "switch off"),
    (dict(features=("+v", "+nosuchext",)), "unknown extension"),
    (dict(features=("v",)), "form"),
    (dict(features=("+v", "+zvl256b",)), "min_vlen"),
    (dict(min_vlen=96), "power of two"),
    (dict(min_vlen=256, vlen=128), "below min_vlen"),
    (dict(vlen=8192), "power of two"),
])
def test_bad_targets_rejected_before_llvm(kwargs, words):
    with pytest.raises(ValueError, match=words):
        Target(name="bad", **{"features": ("+v",), **kwargs})


def test_unknown_preset_and_keys(tmp_path):
    with pytest.raises(ValueError, match="unknown target preset"):
        Target.preset("nope")
    path = tmp_path / "x.toml"
    path.write_text('cpu = "generic-rv64"\nvlenn = 3\n')
    with pytest.raises(ValueError, match="unknown keys"):
        Target.from_toml(path)
    path.write_text('cpu = [\n')
    with pytest.raises(ValueError, match="not valid TOML"):
        Target.from_toml(path)


def test_known_cpus_do_not_abort_llvm():
    # Each allow-listed cpu must be one LLVM knows: an unknown one would abort the process.
    for cpu in sorted(KNOWN_CPUS):
        target = Target(name=cpu, cpu=cpu, features=() if KNOWN_CPUS[cpu] else ("+v",),
                        min_vlen=1024)
        assert enabled_extensions(compile_llvm_ir(_TRIVIAL, target)[2])[0] == "i"


def test_with_vlen_and_key():
    target = Target.preset("generic")
    wide = target.with_vlen(1024)
    assert wide.vlen == 1024 and wide.key == target.key
    assert Target.preset("spacemit-x60").key != target.key
