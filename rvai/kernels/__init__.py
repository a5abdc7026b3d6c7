"""Kernels written in the rvai DSL: GEMM/GEMV (matmul), softmax, rmsnorm, attention and the fused LLM operators of llm.py."""
from rvai.kernels.attention import attention
from rvai.kernels.llm import add, add_bias, add_rmsnorm, embedding, moe_combine, rope_interleaved, rope_neox, swiglu
from rvai.kernels.matmul import a_scratch, gemm_packed, gemv_rows, matmul, pack_panels, panel_width
from rvai.kernels.norms import rmsnorm, softmax

__all__ = ["matmul", "gemm_packed", "gemv_rows", "a_scratch", "pack_panels", "panel_width", "softmax", "rmsnorm",
           "attention", "swiglu", "rope_neox", "rope_interleaved", "add_rmsnorm", "add", "add_bias", "embedding",
           "moe_combine"]
