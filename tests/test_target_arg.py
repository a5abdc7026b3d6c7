"""Every public function that takes ``target`` takes a preset name as well as a Target.

The functions are found by introspection (a ``target`` parameter in their signature), so
one added later is caught by :func:`test_every_target_taker_has_a_case` until it has a
case here. Oracles: the call with the :class:`Target` the name stands for (the same bits
and cycles), and :meth:`Target.presets` for the error of an unknown name. The preset is
``small-inorder``: it compiles the same code as the default preset (the compile cache is
shared) but runs at another VLEN on another timing model, so a name silently taken for
the default would show in the cycles.
"""
import copy
import dataclasses
import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import rvai.lang as rl
from rvai import calibrate, codegen, demo, microbench, ops, runner, tune
from rvai.codegen import backend
from rvai.emu import Machine
from rvai.lang.kernel import Kernel, Launch
from rvai.models import costs, layer, predict
from rvai.models.configs import QwenConfig
from rvai.sweep import workloads
from rvai.target import Target

PRESET = "small-inorder"
MODULES = (ops, runner, tune, codegen, backend, costs, layer, predict, microbench, calibrate, workloads)
EXTRA = {"Kernel.__call__": Kernel.__call__, "Kernel.compile": Kernel.compile, "Launch.__call__": Launch.__call__,
         "Machine.__init__": Machine.__init__}


def _target_takers() -> dict:
    """Public functions and methods of :data:`MODULES` (and :data:`EXTRA`) with a ``target`` parameter."""
    found = dict(EXTRA)
    for mod in MODULES:
        for name, obj in vars(mod).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != mod.__name__:
                continue
            members = [(name, obj)] if inspect.isfunction(obj) else \
                [(f"{name}.{m}", getattr(obj, m)) for m in vars(obj) if not m.startswith("_")] \
                if inspect.isclass(obj) else []
            for full, fn in members:
                if callable(fn) and "target" in _parameters(fn):
                    found[f"{mod.__name__.rpartition('.')[2]}.{full}"] = fn
    return found


def _parameters(fn) -> tuple:
    try:
        return tuple(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return ()


@rl.kernel
def _scale(x: rl.Tensor[rl.f32], y: rl.Tensor[rl.f32], s: rl.f32):
    for i in rl.range(x.shape[0]):
        y[i] = x[i] * s


def _f32(draw, *shape, lo=-4.0):
    """A float32 array of ``shape`` drawn from a seed (values in [lo, 4))."""
    seed = draw(st.integers(0, 2**16))
    return np.random.default_rng(seed).uniform(lo, 4.0, shape).astype(np.float32)


def _dim(draw, hi=9):
    return draw(st.integers(1, hi))   # odd sizes included: tails of vector loops


TINY = QwenConfig("tiny", hidden_size=16, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                  head_dim=8, intermediate_size=24, rope_theta=1e4, rms_norm_eps=1e-6, tie_word_embeddings=False,
                  vocab_size=20, qkv_bias=True, qk_norm=True, source="test")


def _cell():
    return microbench.Cell("vadd.vv", 32, 1)


def _kernels():
    import rvai.kernels
    return rvai.kernels


def _compiled():
    return _scale.compile(PRESET)


# Each case: draw -> (args, kwargs) of a call with small valid inputs; ``target`` is added as a keyword.
CASES = {
    "ops.pack_weights": lambda d: ((_f32(d, _dim(d), _dim(d)),), {}),
    "ops.pack_weights_by_k": lambda d: (lambda w, cut: (([w[:, :cut], w[:, cut:]], w.shape[1]), {}))(
        _f32(d, _dim(d), 9), d(st.integers(1, 8))),
    "ops.matmul": lambda d: (lambda m, k, n: ((_f32(d, m, k), _f32(d, k, n)), {}))(_dim(d), _dim(d), _dim(d)),
    "ops.linear": lambda d: (lambda m, k, n: ((_f32(d, m, k), _f32(d, n, k)), {}))(_dim(d), _dim(d), _dim(d)),
    "ops.int8_path": lambda d: ((), {}),
    "ops.matmul_int8": lambda d: (lambda m, k, n: (
        (np.random.default_rng(m).integers(-128, 128, (m, k), np.int8),
         np.random.default_rng(n).integers(-128, 128, (k, n), np.int8)), {}))(_dim(d), _dim(d), _dim(d)),
    "ops.matmul_bf16": lambda d: (lambda m, k, n: ((_f32(d, m, k), _f32(d, k, n)), {}))(_dim(d), _dim(d), _dim(d)),
    "ops.softmax": lambda d: ((_f32(d, _dim(d), _dim(d)),), {}),
    "ops.rmsnorm": lambda d: (lambda r, n: ((_f32(d, r, n), _f32(d, n)), {}))(_dim(d), _dim(d)),
    "ops.attention_config": lambda d: (lambda lq, lk: ((), {"q3": _f32(d, 2, lq, 8), "k3": _f32(d, 1, lk, 8),
                                                             "group": 2}))(_dim(d), _dim(d)),
    "ops.attention": lambda d: (lambda lq, lk: ((_f32(d, 2, lq, 8), _f32(d, 1, lk, 8), _f32(d, 1, lk, 8)),
                                                {"causal": d(st.booleans())}))(_dim(d, 4), _dim(d)),
    "ops.swiglu": lambda d: (lambda r, n: ((_f32(d, r, n), _f32(d, r, n)), {}))(_dim(d), _dim(d)),
    "ops.rope": lambda d: (lambda t, h: ((_f32(d, t, h, 8), _f32(d, t, 4), _f32(d, t, 4)),
                                         {"interleaved": d(st.booleans())}))(_dim(d, 4), _dim(d, 3)),
    "ops.add_rmsnorm": lambda d: (lambda r, n: ((_f32(d, r, n), _f32(d, r, n), _f32(d, n)), {}))(_dim(d), _dim(d)),
    "ops.add": lambda d: (lambda r, n: ((_f32(d, r, n), _f32(d, *d(st.sampled_from([(r, n), (n,)])))), {}))(
        _dim(d), _dim(d)),
    "ops.embedding": lambda d: (lambda v, n: ((_f32(d, v, 5), np.arange(n) % v), {}))(_dim(d), _dim(d)),
    "ops.moe_combine": lambda d: (lambda r, n: ((np.zeros((3, n), np.float32), _f32(d, r, n), np.arange(r) % 3,
                                                 _f32(d, r)), {}))(_dim(d), _dim(d)),
    "runner.compile": lambda d: ((_scale,), {}),
    "runner.call": lambda d: (lambda n: ((_scale, (_f32(d, n), np.zeros(n, np.float32), 1.5), {}), {}))(_dim(d)),
    "runner.compiled_for": lambda d: (lambda n: ((_scale, (_f32(d, n), np.zeros(n, np.float32), 1.5), {}), {}))(
        _dim(d)),
    "runner.extension_query": lambda d: ((), {}),
    "runner.run_compiled": lambda d: (lambda n: ((_compiled(), [("ptr", _f32(d, n)), ("i64", n),
                                                                ("ptr", np.zeros(n, np.float32)), ("i64", n),
                                                                ("f32", 1.5)]), {}))(_dim(d)),
    "Kernel.__call__": lambda d: (lambda n: ((_scale, _f32(d, n), np.zeros(n, np.float32), 1.5), {}))(_dim(d)),
    "Kernel.compile": lambda d: ((_scale,), {}),
    "Launch.__call__": lambda d: (lambda n: ((_scale[(1,)], _f32(d, n), np.zeros(n, np.float32), 1.5), {}))(
        _dim(d)),
    "Machine.__init__": lambda d: ((), {}),
    "tune.model_hash": lambda d: ((), {}),
    "tune.best_for": lambda d: ((_kernels().softmax,), {"key_values": (4, 16)}),
    "tune.lookup": lambda d: ((_kernels().softmax, {"x": np.zeros((4, 16), np.float32)}), {}),
    "tune.config_for": lambda d: ((_kernels().softmax,), {"key_values": (4, 16)}),
    "tune.tune": lambda d: ((_kernels().softmax, (_f32(d, 3, 5), np.zeros((3, 5), np.float32))),
                            {"max_candidates": 2, "force": True}),
    "tune.fixed_params": lambda d: (("matmul", (5, 3, 7), np.float16), {}),
    "codegen.compile_function": lambda d: ((_scale.trace(None),), {}),
    "codegen.check_half_precision": lambda d: ((_scale.trace(None),), {}),
    "codegen.target_extensions": lambda d: ((), {}),
    "backend.target_machine": lambda d: ((), {}),
    "backend.compile_llvm_ir": lambda d: (("define void @f() {\n  ret void\n}\n",), {}),
    "backend.target_extensions": lambda d: ((), {}),
    "costs.Roofline.of": lambda d: ((), {}),
    "layer.LayerWeights.packed": lambda d: ((layer.LayerWeights(TINY, "f32", 0), "o"), {}),
    "layer.DecoderLayer.forward": lambda d: ((layer.DecoderLayer(TINY), _f32(d, 1, 16),
                                              layer.KVCache(TINY)), {}),
    "predict.layer_costs": lambda d: ((TINY,), {"phase": "decode", "context": _dim(d, 4), "max_macs": None}),
    "predict.predict": lambda d: ((TINY,), {"phase": "decode", "context": _dim(d, 4), "max_macs": None}),
    "microbench.cycles_per_insn": lambda d: ((), {"cell": _cell()}),
    "calibrate.compare": lambda d: ((), {"rows": [calibrate.Row(_cell(), 1.0)]}),
    "workloads.run_workload": lambda d: (({"kind": "op", "op": "softmax", "shapes": [[_dim(d), _dim(d)]]},),
                                         {"budget": None}),
}

#: How each is called when it is not called as found (a constructor, not its __init__).
CALLS = {"Machine.__init__": Machine}


@pytest.fixture(autouse=True, scope="module")
def _own_tune_cache(tmp_path_factory):
    """Tuning runs here store their entries in a file of this module's, not the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tune, "cache_path", lambda: tmp_path_factory.mktemp("tune") / "tune.json")
        yield


def _bits(value):
    """``value`` as plain data that compares equal exactly when the bits do (arrays by their
    bytes, floats by their hex form, runs by cycles and counts, objects by their fields)."""
    if isinstance(value, np.ndarray):
        return "array", value.dtype.str, value.shape, value.tobytes()
    if isinstance(value, (float, np.floating)):
        return float(value).hex()
    if isinstance(value, (str, bytes, int, bool, type(None), np.integer, Target)):
        return value
    if isinstance(value, dict):
        return tuple(sorted((str(k), _bits(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, frozenset, set)):
        items = [_bits(v) for v in value]
        return tuple(sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items)
    if isinstance(value, runner.Run):
        return "run", value.cycles, value.instret, value.vlen, value.compiled.elf
    if isinstance(value, Machine):
        return "machine", value.vlen, value.target
    if dataclasses.is_dataclass(value):
        return type(value).__name__, tuple((f.name, _bits(getattr(value, f.name))) for f in dataclasses.fields(value))
    if hasattr(value, "triple"):    # an llvmlite TargetMachine
        return "llvm", value.triple, str(value.target_data)
    if hasattr(value, "__dict__"):
        return type(value).__name__, _bits(vars(value))
    raise AssertionError(f"no way to compare a {type(value).__name__}")


def _outcome(name: str, args: tuple, kwargs: dict, target):
    """The call's result, its arrays after it and the op's run (:data:`rvai.ops.last_run`), on
    fresh copies of the arrays and KV caches (some calls update theirs in place)."""
    fn = CALLS.get(name, _target_takers()[name])
    args = tuple(copy.deepcopy(a) if isinstance(a, (np.ndarray, layer.KVCache)) else a for a in args)
    ops.last_run = None
    result = fn(*args, target=target, **kwargs)
    if name == "runner.extension_query":   # a function: what it says of some extensions
        result = [result(e) for e in ("zvfh", "zicond", "zvbb", "zfa")]
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    return _bits(result), _bits(arrays), None if ops.last_run is None else _bits(ops.last_run)


def test_every_target_taker_has_a_case():
    found = _target_takers()
    known = {"ops.matmul", "ops.softmax", "ops.rmsnorm", "ops.attention", "ops.linear", "runner.call",
             "Kernel.__call__", "tune.tune", "layer.DecoderLayer.forward"}
    assert known <= set(found), f"the enumeration missed {sorted(known - set(found))}"
    assert set(found) == set(CASES), (f"give these a case in CASES: {sorted(set(found) - set(CASES))}; "
                                      f"cases of no function: {sorted(set(CASES) - set(found))}")


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=2, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_preset_name_gives_what_its_target_gives(name, data):
    args, kwargs = CASES[name](data.draw)
    by_name = _outcome(name, args, kwargs, PRESET)
    by_target = _outcome(name, args, kwargs, Target.preset(PRESET))
    assert by_name == by_target


BAD_TARGETS = [("no-such-preset", ValueError, r"unknown target preset 'no-such-preset'; presets: "
                + ", ".join(Target.presets())),
               (42, TypeError, "target must be a Target or a preset name, not int"),
               (b"generic", TypeError, "target must be a Target or a preset name, not bytes")]


@pytest.mark.parametrize("bad,exc,message", BAD_TARGETS, ids=["unknown", "int", "bytes"])
@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=1)
@given(data=st.data())
def test_a_bad_target_is_refused_at_the_entry(name, bad, exc, message, data):
    args, kwargs = CASES[name](data.draw)
    with pytest.raises(exc, match=message):
        _outcome(name, args, kwargs, bad)


_X = np.ones((2, 7), np.float32)
_A, _B = np.ones((3, 5), np.float32), np.ones((5, 4), np.float32)

#: The other common parameters of the ops, each wrong in one way: refused at the entry with
#: a clear exception (before this, a runner name was not checked on several harts, a harts
#: count not under QEMU, a config key was ignored and MR 99 compiled for minutes).
BAD_OPS_CALLS = [
    (lambda: ops.matmul(_A, _B, runner="bogus", target="spacemit-k1"), ValueError, "runner must be 'emu' or 'qemu'"),
    (lambda: ops.softmax(np.ones((0, 3), np.float32), runner="bogus"), ValueError, "runner must be"),
    (lambda: ops.softmax(_X, runner=1), ValueError, "runner must be"),
    (lambda: ops.matmul(_A, _B, config={"BOGUS": 1}), ValueError, "'BOGUS' is not a tunable of this op; tunables: "),
    (lambda: ops.linear(_X, np.ones((4, 7), np.float32), config={"BOGUS": 1}), ValueError, "not a tunable"),
    (lambda: ops.matmul_bf16(_A, _B, config={"BM": 1}), ValueError, "not a tunable"),
    (lambda: ops.matmul(_A, _B, config={"MR": 99}), ValueError, "MR must be from 1 to 8, not 99"),
    (lambda: ops.linear(_X, np.ones((4, 7), np.float32), config={"LMUL": 16}), ValueError, "LMUL must be from 1 to 8"),
    (lambda: ops.matmul(_A, _B, config={"MR": "4"}), TypeError, "MR must be int, not str"),
    (lambda: ops.matmul(_A, _B, config={"KOUTER": 1}), TypeError, "KOUTER must be bool, not int"),
    (lambda: ops.matmul(_A, _B, config=[("MR", 4)]), TypeError, "config must be a dict"),
    (lambda: ops.attention(_X, _X, _X, config={"BOGUS": 1}), ValueError, "tunables"),
    (lambda: ops.matmul(_A, _B, harts=0), ValueError, "harts must be an integer from 1 to 64, not 0"),
    (lambda: ops.matmul(_A, _B, harts=-1, runner="qemu"), ValueError, "harts must be an integer"),
    (lambda: ops.attention(_X, _X, _X, harts=0), ValueError, "harts must be an integer"),
    (lambda: ops.attention(_X, np.ones((0, 7), np.float32), np.ones((0, 7), np.float32), harts=2.5), ValueError,
     "harts must be an integer"),
    (lambda: ops.matmul_bf16(_A, _B, harts=True), ValueError, "harts must be an integer"),
    (lambda: ops.softmax(_X, budget="10"), ValueError, "budget must be a positive number of instructions"),
    (lambda: ops.rmsnorm(_X, np.ones(7, np.float32), budget=0), ValueError, "budget must be a positive"),
    (lambda: ops.add(_X, _X, timeout="1"), TypeError, "timeout must be a number of seconds or None, not str"),
    (lambda: ops.swiglu(_X, _X, timeout=-1), ValueError, "timeout must be a positive number"),
    (lambda: ops.matmul_int8(_A.astype(np.int8), _B.astype(np.int8), checked="yes"), TypeError,
     "checked must be True, False or None, not str"),
]


@pytest.mark.parametrize("call,exc,message", BAD_OPS_CALLS)
def test_other_bad_op_parameters_are_refused_at_the_entry(call, exc, message):
    ops.last_run = None
    with pytest.raises(exc, match=message):
        call()
    assert ops.last_run is None   # nothing ran


@pytest.mark.parametrize("main,argv", [(tune.main, ["softmax", "--target", "nope", "--shape", "2,3"]),
                                       (demo.main, ["--target", "nope"])], ids=["tune", "demo"])
def test_a_command_with_an_unknown_preset_says_so_in_one_line(main, argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert "unknown target preset 'nope'; presets: " + ", ".join(Target.presets()) in capsys.readouterr().err
