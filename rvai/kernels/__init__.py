"""Kernels written in the rvai DSL: GEMM/GEMV (matmul), softmax, rmsnorm and attention."""
from rvai.kernels.attention import attention
from rvai.kernels.matmul import a_scratch, gemm_packed, gemv_rows, matmul, pack_panels, panel_width
from rvai.kernels.norms import rmsnorm, softmax

__all__ = ["matmul", "gemm_packed", "gemv_rows", "a_scratch", "pack_panels", "panel_width", "softmax", "rmsnorm", "attention"]
