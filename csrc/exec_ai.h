/* Semantics of the rows in insns_ai.def (the vector ones call vai.c; the
 * scalar Zfbfmin conversions are in exec_fp.h beside the other fcvt).
 * Included inside the interpreter loop after exec_vec.h (VDO). */
#include "vai.h"
OP(vfwcvtbf16_f_f_v) VDO(vec_bf16_cvt(m, d, 0));
OP(vfncvtbf16_f_f_w) VDO(vec_bf16_cvt(m, d, 1));
OP(vfwmaccbf16_vv) VDO(vec_bf16_wmacc(m, d, 0));
OP(vfwmaccbf16_vf) VDO(vec_bf16_wmacc(m, d, 1));
/* vqdot{,u,su,us}: signedness of vs2's bytes, then of vs1's / x[rs1]'s. */
OP(vqdot_vv)   VDO(vec_qdot(m, d, 0, 1, 1));
OP(vqdot_vx)   VDO(vec_qdot(m, d, 1, 1, 1));
OP(vqdotu_vv)  VDO(vec_qdot(m, d, 0, 0, 0));
OP(vqdotu_vx)  VDO(vec_qdot(m, d, 1, 0, 0));
OP(vqdotsu_vv) VDO(vec_qdot(m, d, 0, 1, 0));
OP(vqdotsu_vx) VDO(vec_qdot(m, d, 1, 1, 0));
OP(vqdotus_vx) VDO(vec_qdot(m, d, 1, 0, 1));
/* smt.vmadot{,1,2,3}{,u,us,su}: slide, then signedness of A (vs1) and B (vs2). */
#define VH_SMT(slide, sfx)                                                        \
    OP(smt_vmadot##sfx)    VDO(vec_smt_vmadot(m, d, slide, 1, 1));               \
    OP(smt_vmadot##sfx##u)  VDO(vec_smt_vmadot(m, d, slide, 0, 0));              \
    OP(smt_vmadot##sfx##us) VDO(vec_smt_vmadot(m, d, slide, 0, 1));              \
    OP(smt_vmadot##sfx##su) VDO(vec_smt_vmadot(m, d, slide, 1, 0));
VH_SMT(0, ) VH_SMT(1, 1) VH_SMT(2, 2) VH_SMT(3, 3)
#undef VH_SMT
