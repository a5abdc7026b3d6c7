"""The rvai kernel language: write RVV kernels as Python functions.

See docs/dsl.md. A kernel is a function decorated with :func:`kernel` whose body is
traced once over proxies into rvai IR; :mod:`rvai.runner` compiles it (through
:mod:`rvai.codegen`) and runs it when the kernel is called.
"""
from rvai.ir import DType, bf16, bool_, f16, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64
from rvai.lang.core import (BoundsError, KernelError, Mask, Scalar, Tensor, Var, abs, arange, cast, const, dot4, fma, full,
                            maximum, minimum, mma, no_jump_tables, num_programs, program_id, range, schedule_as, slidedown, sqrt, target_has, touch_frame, var, vector, vloop, where,
                            zeros)
from rvai.lang.autotune import autotune
from rvai.lang.kernel import Kernel, TensorSpec, constexpr, kernel
from rvai.lang.math import exp, exp_fast, exp_fast_bias, exp_nonpositive, rsqrt, tanh
from rvai.lang.core import Vector

__all__ = ["DType", "bf16", "bool_", "f16", "f32", "f64", "i8", "i16", "i32", "i64", "u8", "u16", "u32",
           "u64", "BoundsError", "KernelError", "Mask", "Scalar", "Tensor", "Var", "Vector", "abs", "arange", "cast",
           "const", "dot4", "fma", "full", "maximum", "minimum", "mma", "no_jump_tables", "num_programs", "program_id", "range", "schedule_as", "slidedown", "sqrt", "target_has", "touch_frame", "var", "vector", "vloop",
           "where", "zeros", "autotune", "Kernel", "TensorSpec", "constexpr", "kernel", "exp", "exp_nonpositive", "exp_fast", "exp_fast_bias",
           "rsqrt", "tanh"]
