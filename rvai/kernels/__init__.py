"""Kernels written in the rvai DSL: GEMM/GEMV (matmul), int8 GEMM and Q8_0 (int8), softmax, rmsnorm, attention and the fused LLM operators of llm.py."""
from rvai.kernels.attention import attention
from rvai.kernels.attention import ATTENTION_EXPS
from rvai.kernels.attention import scratch as attention_scratch
from rvai.kernels.attention import prefetch_lines as attention_prefetch_lines
from rvai.kernels import attention_harts
from rvai.kernels.llm import add, add_bias, add_rmsnorm, embedding, moe_combine, rope_interleaved, rope_neox, swiglu
from rvai.kernels.int8 import (Q8_BLOCK, gemm_i8, gemm_i8_tiles, group_tiles, linear_q8, linear_q8_tiles, pack_tiles,
                              pack_words, scale_tiles, unpack_tiles)
from rvai.kernels.matmul import (a_scratch, gemm_packed, gemm_packed_bf16, gemm_packed_grid, gemv_rows, gemv_rows_grid,
                                 gemv_t, matmul, matmul_t, pack_panels, panel_width)
from rvai.kernels.matmul_harts import (gemm_packed_bf16_grid, linear_q8_grid, linear_q8_tiles_grid, pack_panels_grid,
                                       quantize_rows_grid, quantize_tiles_grid)
from rvai.kernels.norms import SOFTMAX_EXPS, rmsnorm, softmax

__all__ = ["Q8_BLOCK", "matmul", "matmul_t", "gemm_packed", "gemm_packed_bf16", "gemm_packed_grid", "gemv_rows_grid",
           "gemv_t", "pack_panels_grid", "gemm_packed_bf16_grid", "quantize_rows_grid", "quantize_tiles_grid", "linear_q8_grid",
           "linear_q8_tiles_grid", "gemm_i8",
           "gemm_i8_tiles", "linear_q8", "linear_q8_tiles", "group_tiles", "pack_tiles", "scale_tiles", "pack_words",
           "unpack_tiles", "gemv_rows", "a_scratch", "pack_panels", "panel_width", "softmax", "SOFTMAX_EXPS", "rmsnorm", "attention",
           "ATTENTION_EXPS", "attention_scratch", "attention_prefetch_lines", "attention_harts", "swiglu", "rope_neox", "rope_interleaved", "add_rmsnorm", "add",
           "add_bias", "embedding", "moe_combine"]
