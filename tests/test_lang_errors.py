"""Kernel authors' mistakes become KernelError at their own source line, never an LLVM abort."""
import inspect

import pytest

import rvai.lang as rl
from rvai.lang import f16, f32, i64


def line_of(fn, text):
    src, start = inspect.getsourcelines(fn.fn)
    return start + next(i for i, s in enumerate(src) if text in s)


def check(kern, text, words, **kw):
    with pytest.raises(rl.KernelError, match=words) as info:
        kern.trace(**kw)
    assert info.value.filename == __file__
    assert info.value.lineno == line_of(kern, text)


def test_dtype_mismatch():
    @rl.kernel
    def k(x: rl.Tensor[f32], y: rl.Tensor[f16]):
        for vl, i in rl.vloop(x.shape[0]):
            x.vstore(x.vload(i) + y.vload(i), i)  # here
    check(k, "# here", "differ in dtype: f32 and f16")


def test_store_wrong_dtype_and_shape():
    @rl.kernel
    def k(x: rl.Tensor[f32, 2], y: rl.Tensor[f16]):
        for vl, i in rl.vloop(x.shape[1]):
            y.vstore(x.vload(0, i), i)  # here
    check(k, "# here", "cannot store f32 vectors into a f16 tensor")

    @rl.kernel
    def k2(x: rl.Tensor[f32, 2]):
        x[0] = 1.0  # here
    check(k2, "# here", "needs 2 indices")


def test_python_if_on_runtime_value():
    @rl.kernel
    def k(n: i64, x: rl.Tensor[f32]):
        if n > 3:  # here
            x[0] = 1.0
    check(k, "# here", "no truth value")


def test_python_range_on_runtime_value_and_unsupported_op():
    @rl.kernel
    def k(n: i64, x: rl.Tensor[f32]):
        for i in range(n):  # here
            x[i] = 1.0
    check(k, "# here", "rvai.lang.range")

    @rl.kernel
    def k2(x: rl.Tensor[f32]):
        x[0] = x[0] ** 2  # here
    check(k2, "# here", r"\*\* is not supported")


def test_value_escaping_loop_and_break():
    @rl.kernel
    def k(x: rl.Tensor[f32]):
        for i in rl.range(3):
            last = x[i]
        x[0] = last  # here
    check(k, "# here", "not visible here")

    @rl.kernel
    def k2(x: rl.Tensor[f32]):
        for i in rl.range(3):
            x[i] = 0.0  # here
            break
        x[1] = 1.0
    check(k2, "# here", "left early")


def test_vector_outside_vloop_and_bad_lmul():
    @rl.kernel
    def k(x: rl.Tensor[f32]):
        x.vload(0)  # here
    check(k, "# here", "active vector length")

    @rl.kernel
    def k2(x: rl.Tensor[rl.f64]):
        for vl, i in rl.vloop(x.shape[0], sew=32, lmul=8):
            x.vload(i)  # here
    check(k2, "# here", "LMUL 16")

    @rl.kernel
    def k3(x: rl.Tensor[f32]):
        for vl, i in rl.vloop(x.shape[0], sew=32, lmul=3):  # here
            pass
    check(k3, "# here", "lmul must be")


def test_other_python_errors_are_located():
    @rl.kernel
    def k(x: rl.Tensor[f32]):
        x.no_such_method()  # here
    check(k, "# here", "AttributeError")


def test_var_assignment_type_and_math_dtype():
    @rl.kernel
    def k(x: rl.Tensor[f32]):
        acc = rl.var(0.0)
        acc.value = x.shape[0]  # here
    check(k, "# here", "cannot assign")

    @rl.kernel
    def k2(x: rl.Tensor[f16]):
        x[0] = rl.exp(x[0])  # here
    check(k2, "# here", "takes f32 values")


def test_missing_dtype_for_generic_tensor():
    @rl.kernel
    def k(x: rl.Tensor[None, 1]):
        pass
    with pytest.raises(TypeError, match="give the dtype"):
        k.trace()
    assert "ptr<i8>" in str(k.trace(types={"x": rl.i8}))


@pytest.mark.parametrize("loop", ["vloop", "range"])
def test_exception_in_loop_body_surfaces_as_itself(loop):
    @rl.kernel
    def k(x: rl.Tensor[f32]):
        for it in (rl.vloop(x.shape[0]) if loop == "vloop" else rl.range(x.shape[0])):
            x[0] = undefined_name  # here  # noqa: F821
    check(k, "# here", r": NameError: name 'undefined_name' is not defined$")

    @rl.kernel
    def k2(x: rl.Tensor[f32]):
        for it in (rl.vloop(x.shape[0]) if loop == "vloop" else rl.range(x.shape[0])):
            for j in rl.range(3):
                {}["key"]  # here
    with pytest.raises(rl.KernelError) as info:
        k2.trace()
    assert info.value.message == "KeyError: 'key'" and info.value.lineno == line_of(k2, "# here")
    assert isinstance(info.value.__cause__, KeyError)


def test_kernel_calling_a_kernel_is_located():
    @rl.kernel
    def helper(x: rl.Tensor[f32]):
        x[0] = 1.0

    @rl.kernel
    def rec(x: rl.Tensor[f32]):
        rec(x)  # here
    check(rec, "# here", "kernel rec is called while a kernel is being traced")

    @rl.kernel
    def calls_other(x: rl.Tensor[f32]):
        helper(x)  # here
    check(calls_other, "# here", "cannot call a kernel")


@pytest.mark.parametrize("dtype, zero", [(f32, "0.0"), (i64, "0")])
def test_vector_var_outside_vector_context_says_what_to_write(dtype, zero):
    @rl.kernel
    def k(x: rl.Tensor[f32]):
        acc = rl.var(rl.full(0, dtype))  # here
    check(k, "# here", rf"rl\.var\({zero}, rl\.{dtype.name}\)")

    @rl.kernel
    def fixed(x: rl.Tensor[f32]):
        acc = rl.var(0, dtype)      # the spelling the message suggests traces
        acc += rl.const(1, dtype)
    assert f"var<{dtype.name}>" in str(fixed.trace())


def test_slidedown_of_a_scalar_and_first_of_bf16():
    @rl.kernel
    def k(x: rl.Tensor[f32]):
        for vl, i in rl.vloop(x.shape[0]):
            x.vstore(rl.slidedown(x[0], 1), i)  # here
    check(k, "# here", "slidedown takes a vector")

    @rl.kernel
    def k1(x: rl.Tensor[f32]):
        for vl, i in rl.vloop(x.shape[0]):
            x.vstore(rl.slidedown(x.vload(i), -1), i)  # here
    check(k1, "# here", "offset must be non-negative, not -1")

    @rl.kernel
    def k2(x: rl.Tensor[rl.bf16], y: rl.Tensor[rl.bf16]):
        for vl, i in rl.vloop(x.shape[0]):
            y[0] = x.vload(i).first()  # here
    check(k2, "# here", "first\\(\\) of bf16 vectors")
