"""Compilation and machine targets: ISA features, vector length, LLVM cpu and timing model.

A :class:`Target` is plain data. It is read from and written to TOML, and the named
presets are TOML files shipped in ``rvai/targets``. Every name and feature is checked
against explicit allow-lists *before* LLVM sees it, because LLVM aborts the whole
process on an unknown cpu instead of raising.
"""
from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["Target", "EMULATED_EXTENSIONS", "KNOWN_CPUS", "KNOWN_EXTENSIONS", "SWITCHABLE_EXTENSIONS",
           "HINT_EXTENSIONS", "CPU_EXTENSIONS", "DEFAULT_PRESET"]

#: LLVM triple every target compiles for.
TRIPLE = "riscv64-unknown-linux-gnu"
#: ABI of every object: doubles and floats travel in FP registers.
ABI = "lp64d"
#: The preset used when no target is given.
DEFAULT_PRESET = "generic"

#: LLVM cpu names accepted (any other name would make LLVM abort the process), each
#: with whether it switches V on by itself; ``generic-rv64`` needs ``+v`` in the features.
KNOWN_CPUS = {
    "generic-rv64": False, "spacemit-x60": True, "sifive-x280": True, "sifive-p670": True,
    "sifive-x390": True, "xiangshan-kunminghu": True, "tt-ascalon-d8": True, "sifive-p470": True,
}

#: Extensions whose instructions an emulated machine has only when its target
#: enables them (the INSN_EXT rows of csrc/insns_*.def, in the C core's order;
#: tests/test_target.py holds the two equal).  A machine made without a target
#: has them all.
SWITCHABLE_EXTENSIONS = ("zfbfmin", "zvfbfmin", "zvfbfwma", "zvqdotq", "xsmtvdot",
                         "zicond", "zbc", "zbkb", "zbkx", "zicbom", "zicboz", "zawrs", "zimop", "zfa", "zvkb", "zvbb",
                         "zicbop")

#: Switchable extensions whose instructions are hints: a machine without one runs them as
#: the base instructions they encode (no exception), and only the timing model tells the
#: difference (Zicbop: prefetch.r/w fill a cache line only where the target has it).
HINT_EXTENSIONS = frozenset({"zicbop"})

#: Extensions that bring switchable ones with them: Zvbb contains Zvkb (as LLVM's
#: feature implication says), and Zbkc's clmul and clmulh run on Zbc's rows (so a
#: machine with Zbkc alone also accepts clmulr: lenient, never wrong for Zbkc code).
_IMPLIES = {"zvbb": ("zvkb",), "zbkc": ("zbc",)}

#: The switchable extensions each known cpu turns on by itself in LLVM 22
#: (tests/test_target.py holds this to what LLVM enables).
CPU_EXTENSIONS = {
    "sifive-p470": frozenset({"zicbom", "zicbop", "zicboz", "zvbb", "zvkb"}),
    "sifive-p670": frozenset({"zicbom", "zicbop", "zicboz", "zvbb", "zvkb"}),
    "sifive-x390": frozenset({"zawrs", "zfa", "zfbfmin", "zicbom", "zicbop", "zicboz", "zicond", "zimop", "zvbb",
                              "zvfbfmin", "zvfbfwma", "zvkb"}),
    # RVA22S64 (RISCVProcessors.td: SPACEMIT_X60 lists RVA22S64Features), and RVA22U64
    # mandates Zicbop: the X60 has prefetch.r/w
    "spacemit-x60": frozenset({"xsmtvdot", "zbc", "zicbom", "zicbop", "zicboz", "zicond"}),
    "tt-ascalon-d8": frozenset({"zawrs", "zfa", "zfbfmin", "zicbom", "zicbop", "zicboz", "zicond", "zimop", "zvbb",
                                "zvfbfmin", "zvfbfwma", "zvkb"}),
    "xiangshan-kunminghu": frozenset({"zawrs", "zbc", "zfa", "zbkb", "zbkx", "zicbom", "zicbop", "zicboz", "zicond",
                                      "zimop", "zvbb", "zvkb"}),
}

#: Extensions the rvai emulator implements, with the ones they imply or that LLVM
#: lists as parts of them (``b`` = Zba+Zbb+Zbs, ``zmmul`` of M, Zve* and Zvl* of V...).
EMULATED_EXTENSIONS = frozenset({
    "i", "m", "a", "f", "d", "c", "b", "v",
    "zicsr", "zifencei", "zmmul", "zaamo", "zalrsc", "zca", "zcd",
    "zba", "zbb", "zbs", "zfh", "zfhmin",
    "zve32x", "zve32f", "zve64x", "zve64f", "zve64d", "zvfh", "zvfhmin",
    # hints that execute as no-ops (Zcmop's c.mop.N, Zicbop's prefetch.*, ntl.*, pause;
    # the timing model honours prefetch.r/w on targets with Zicbop, HINT_EXTENSIONS),
    # and Zcb's compressed forms (expanded by the decoder, so not switchable)
    "zihintntl", "zihintpause", "zicbop", "zcmop", "zcb",
    # Zbkc (clmul, clmulh): a subset of Zbc, executed on its rows (_IMPLIES)
    "zbkc",
    # properties of the emulated machine rather than instructions: 64-byte cache
    # blocks (cbo.zero), misaligned and atomic accesses to all memory, LR/SC
    # forward progress, the counters (hpmcounter3-31 count nothing and read 0),
    # and timing that does not depend on operand values
    "zic64b", "ziccamoa", "ziccif", "zicclsm", "ziccrse", "za64rs", "zicntr", "zihpm", "zkt", "zvkt",
}) | frozenset(SWITCHABLE_EXTENSIONS) | frozenset(f"zvl{1 << k}b" for k in range(5, 17))

#: Extensions LLVM 22 still calls experimental: their feature is spelt with the prefix.
_LLVM_EXPERIMENTAL = frozenset({"zvqdotq"})

#: Extensions a target may switch off (``-name``): the emulated ones plus those the
#: known cpus switch on that the emulator does not implement.
KNOWN_EXTENSIONS = EMULATED_EXTENSIONS | frozenset({
    "h", "zic64b", "zicbom", "zicbop", "zicboz", "ziccamoa", "ziccif", "zicclsm",
    "ziccrse", "zicntr", "zicond", "zicfilp", "zicfiss", "zihintntl", "zihintpause",
    "zihpm", "zimop", "za64rs", "zacas", "zawrs", "zfa", "zfbfmin", "zcb", "zcmop",
    "zbc", "zbkb", "zbkc", "zbkx", "zkn", "zknd", "zkne", "zknh", "zks", "zksed",
    "zksh", "zkr", "zkt", "zvbb", "zvbc", "zvfbfmin", "zvfbfwma", "zvkb", "zvkg",
    "zvkn", "zvknc", "zvkned", "zvkng", "zvknhb", "zvks", "zvksc", "zvksed",
    "zvksg", "zvksh", "zvkt", "zvqdotq", "ssccptr", "sscofpmf", "sscounterenw", "sstc",
    "sstvala", "sstvecd", "svade", "svbare", "svinval", "svnapot", "svpbmt",
    "xsmtvdot", "xsfvcp", "xsfvqmaccdod", "xsfvqmaccqoq", "xsfvfnrclipxfqf",
    "xsfvfwmaccqqq", "smaia", "ssaia", "smstateen", "ssstateen",
})

_FEATURE = re.compile(r"^([+-])([a-z][a-z0-9]*)$")
_TARGETS_DIR = Path(__file__).with_name("targets")


@dataclasses.dataclass(frozen=True)
class Target:
    """A machine to compile for and emulate.

    ``cpu`` is the LLVM cpu name, ``features`` LLVM feature switches (``+zfh``,
    ``-zicond``), ``min_vlen`` the smallest VLEN the compiled code must run at (passed
    to LLVM as ``+zvl<N>b``), ``vlen`` the VLEN the emulator runs with, ``harts``
    how many harts a machine of this target has (docs/harts.md), and ``model``
    the timing-model parameters read by the emulator (free-form TOML table).
    """

    name: str
    cpu: str = "generic-rv64"
    features: tuple[str, ...] = ()
    min_vlen: int = 128
    vlen: int | None = None
    harts: int = 1
    description: str = ""
    model: dict[str, Any] = dataclasses.field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("Target.name must be a non-empty string")
        if self.cpu not in KNOWN_CPUS:
            raise ValueError(
                f"target {self.name!r}: unknown LLVM cpu {self.cpu!r}; known cpus: "
                + ", ".join(sorted(KNOWN_CPUS)))
        feats = tuple(self.features)
        for feat in feats:
            _check_feature(self.name, feat)
        if not KNOWN_CPUS[self.cpu] and "+v" not in feats:
            raise ValueError(f"target {self.name!r}: cpu {self.cpu!r} needs '+v' in features "
                             "(rvai targets are vector machines)")
        object.__setattr__(self, "features", feats)
        _check_vlen(self.name, "min_vlen", self.min_vlen)
        vlen = self.min_vlen if self.vlen is None else self.vlen
        _check_vlen(self.name, "vlen", vlen)
        if vlen < self.min_vlen:
            raise ValueError(f"target {self.name!r}: vlen {vlen} is below min_vlen {self.min_vlen}")
        object.__setattr__(self, "vlen", vlen)
        if not isinstance(self.harts, int) or isinstance(self.harts, bool) or not 1 <= self.harts <= 64:
            raise ValueError(f"target {self.name!r}: harts must be an integer from 1 to 64, got {self.harts!r}")
        if not isinstance(self.model, dict):
            raise ValueError(f"target {self.name!r}: model must be a table")

    @property
    def llvm_features(self) -> str:
        """The feature string handed to LLVM: the target's switches (experimental
        extensions with LLVM's prefix) plus ``+zvl<min_vlen>b``."""
        spelt = tuple(f[0] + "experimental-" + f[1:] if f[1:] in _LLVM_EXPERIMENTAL else f
                      for f in self.features)
        return ",".join(spelt + (f"+zvl{self.min_vlen}b",))

    @property
    def extensions(self) -> frozenset[str]:
        """The switchable extensions (:data:`SWITCHABLE_EXTENSIONS`) this target has:
        its cpu's, plus those its features switch on, minus those they switch off."""
        on = set(CPU_EXTENSIONS.get(self.cpu, ()))
        for feat in self.features:
            (on.add if feat[0] == "+" else on.discard)(feat[1:])
        on = on.union(*(_IMPLIES.get(e, ()) for e in on))
        return frozenset(on & set(SWITCHABLE_EXTENSIONS))

    @property
    def key(self) -> str:
        """What identifies the generated code for this target (not ``vlen`` or ``model``)."""
        return f"{self.cpu}|{self.llvm_features}|{TRIPLE}|{ABI}"

    def with_vlen(self, vlen: int) -> "Target":
        """This target with the emulator's VLEN set to ``vlen`` (at least ``min_vlen``)."""
        return dataclasses.replace(self, vlen=vlen)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, name: str | None = None) -> "Target":
        """Build a target from a parsed TOML table; unknown keys are rejected.
        ``extends = "preset"`` starts from that preset: the table's keys replace
        its keys, and its ``[model]`` keys replace the preset's one by one."""
        if "extends" in data:
            data = dict(data)
            base = cls.preset(data.pop("extends"))
            merged = {f.name: getattr(base, f.name) for f in dataclasses.fields(cls) if f.name != "name"}
            merged["features"] = list(base.features)
            merged["model"] = {**base.model, **data.pop("model", {})}
            data = {**merged, **data}
        fields = {f.name for f in dataclasses.fields(cls)}
        extra = set(data) - fields
        if extra:
            raise ValueError(f"target: unknown keys {sorted(extra)}; allowed: {sorted(fields)}")
        data = dict(data)
        if name is not None:
            data.setdefault("name", name)
        if "name" not in data:
            raise ValueError("target: missing 'name'")
        if "features" in data:
            feats = data["features"]
            if not isinstance(feats, list) or not all(isinstance(f, str) for f in feats):
                raise ValueError(f"target {data['name']!r}: features must be a list of strings")
            data["features"] = tuple(feats)
        return cls(**data)

    @classmethod
    def from_toml(cls, path: str | Path) -> "Target":
        """Read a target from a TOML file (the file stem names it if ``name`` is absent)."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(data, name=path.stem)

    @classmethod
    def preset(cls, name: str) -> "Target":
        """Load the named preset shipped in ``rvai/targets`` (see :meth:`presets`)."""
        if name not in cls.presets():
            raise ValueError(f"unknown target preset {name!r}; presets: {', '.join(cls.presets())}")
        return cls.from_toml(_TARGETS_DIR / f"{name}.toml")

    @staticmethod
    def presets() -> list[str]:
        """Names of the shipped presets."""
        return sorted(p.stem for p in _TARGETS_DIR.glob("*.toml"))

    @classmethod
    def of(cls, value: "Target | str | None", *, param: str = "target") -> "Target":
        """What a user passes as a ``target`` parameter, as a :class:`Target`.

        Every public function that takes a target converts it here, at its entry, so
        that nothing deeper sees anything but a Target: None gives :meth:`default`, a
        str the preset of that name (:meth:`preset`: a ValueError listing the presets
        for an unknown name), a Target itself. Anything else (bytes too) is a
        TypeError naming ``param`` and the type given.
        """
        if value is None:
            return cls.default()
        if isinstance(value, Target):
            return value
        if isinstance(value, str):
            return cls.preset(value)
        raise TypeError(f"{param} must be a Target or a preset name, not {type(value).__name__}")

    @classmethod
    def default(cls) -> "Target":
        """The default target (the ``generic`` preset)."""
        return cls.preset(DEFAULT_PRESET)

    def to_toml(self) -> str:
        """This target as TOML text that :meth:`from_toml` reads back to an equal target."""
        lines = [f"name = {_toml_value(self.name)}", f"description = {_toml_value(self.description)}",
                 f"cpu = {_toml_value(self.cpu)}", f"features = {_toml_value(list(self.features))}",
                 f"min_vlen = {self.min_vlen}", f"vlen = {self.vlen}", f"harts = {self.harts}"]
        if self.model:
            # tables of tables (the vector cost table) as sections, one row a line
            sections = {k: v for k, v in self.model.items()
                        if isinstance(v, dict) and v and all(isinstance(r, dict) for r in v.values())}
            lines.append("")
            lines.append("[model]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in self.model.items() if k not in sections)
            for name, table in sections.items():
                lines.append("")
                lines.append(f"[model.{name}]")
                lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items())
        return "\n".join(lines) + "\n"


def _check_feature(name: str, feat: Any) -> None:
    match = _FEATURE.match(feat) if isinstance(feat, str) else None
    if match is None:
        raise ValueError(f"target {name!r}: feature {feat!r} is not of the form '+ext' or '-ext'")
    sign, ext = match.groups()
    if ext not in KNOWN_EXTENSIONS:
        raise ValueError(f"target {name!r}: unknown extension {ext!r} in feature {feat!r}")
    if sign == "-" and ext in EMULATED_EXTENSIONS and ext not in SWITCHABLE_EXTENSIONS:
        raise ValueError(f"target {name!r}: feature {feat!r} would switch off an extension rvai "
                         "relies on; only extensions the emulator lacks may be switched off")
    if sign == "+" and ext not in EMULATED_EXTENSIONS:
        raise ValueError(f"target {name!r}: extension {ext!r} is not implemented by the rvai "
                         f"emulator; implemented: {', '.join(sorted(EMULATED_EXTENSIONS))}")
    if ext.startswith("zvl"):
        raise ValueError(f"target {name!r}: set min_vlen instead of feature {feat!r}")


def _check_vlen(name: str, what: str, vlen: Any) -> None:
    if not isinstance(vlen, int) or isinstance(vlen, bool) or vlen < 64 or vlen > 4096 \
            or vlen & (vlen - 1):
        raise ValueError(f"target {name!r}: {what} must be a power of two in 64..4096, got {vlen!r}")


def _toml_key(key: str) -> str:
    """A TOML key: bare when it can be, else quoted (mnemonics such as "vadd.vv")."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"cannot write {type(value).__name__} to TOML")
