/* Semantics of vector floating point: each handler calls vfp.c (see fp.h for
 * the VFOP_* operations).  Included from exec_vec.h (VDO is defined there). */
#ifndef VH_F   /* jit_vec.c defines its own, to read the arguments */
#define VH_F(id, f, op) OP(id) VDO(vec_fp(m, d, VFOP_##op, f));
#endif
#define VH_FVVF(id, op) VH_F(id##_vv, VF_VV, op) VH_F(id##_vf, VF_VX, op)
VH_FVVF(vfadd, ADD) VH_FVVF(vfsub, SUB) VH_F(vfrsub_vf, VF_VX, RSUB)
VH_FVVF(vfmul, MUL) VH_FVVF(vfdiv, DIV) VH_F(vfrdiv_vf, VF_VX, RDIV)
VH_FVVF(vfmin, MIN) VH_FVVF(vfmax, MAX)
VH_FVVF(vfsgnj, SGNJ) VH_FVVF(vfsgnjn, SGNJN) VH_FVVF(vfsgnjx, SGNJX)
VH_FVVF(vfmacc, MACC) VH_FVVF(vfnmacc, NMACC) VH_FVVF(vfmsac, MSAC) VH_FVVF(vfnmsac, NMSAC)
VH_FVVF(vfmadd, MADD) VH_FVVF(vfnmadd, NMADD) VH_FVVF(vfmsub, MSUB) VH_FVVF(vfnmsub, NMSUB)
VH_F(vfsqrt_v, VF_VV, SQRT) VH_F(vfclass_v, VF_VV, CLASS)
VH_FVVF(vmfeq, EQ) VH_FVVF(vmfne, NE) VH_FVVF(vmflt, LT) VH_FVVF(vmfle, LE)
VH_F(vmfgt_vf, VF_VX, GT) VH_F(vmfge_vf, VF_VX, GE)
OP(vfmerge_vfm) VDO(vec_fp_merge(m, d));
OP(vfmv_v_f) VDO(vec_fp_merge(m, d));
OP(vfmv_f_s) VDO(vec_fp_mv(m, d, 1));
OP(vfmv_s_f) VDO(vec_fp_mv(m, d, 0));
#include "exec_vfwide.h"
#include "exec_vfcvt.h"
#undef VH_F
#undef VH_FVVF
