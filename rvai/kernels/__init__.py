"""Kernels written in the rvai DSL: matmul, softmax, rmsnorm and attention."""
from rvai.kernels.attention import attention
from rvai.kernels.matmul import matmul
from rvai.kernels.norms import rmsnorm, softmax

__all__ = ["matmul", "softmax", "rmsnorm", "attention"]
