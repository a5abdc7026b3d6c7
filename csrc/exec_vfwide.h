/* Semantics of the rows in insns_vfwide.def; included from exec_vfp.h. */
#include "vfwide.h"
#define VH_W(id, f, op) OP(id) VDO(vec_fwide(m, d, VFW_##op, f));
#define VH_WVVF(id, op) VH_W(id##_vv, VF_VV, op) VH_W(id##_vf, VF_VX, op)
VH_WVVF(vfwadd, ADD) VH_WVVF(vfwsub, SUB)
VH_W(vfwadd_wv, VF_WV, ADD) VH_W(vfwadd_wf, VF_WX, ADD)
VH_W(vfwsub_wv, VF_WV, SUB) VH_W(vfwsub_wf, VF_WX, SUB)
VH_WVVF(vfwmul, MUL)
VH_WVVF(vfwmacc, MACC) VH_WVVF(vfwnmacc, NMACC) VH_WVVF(vfwmsac, MSAC) VH_WVVF(vfwnmsac, NMSAC)
#undef VH_W
#undef VH_WVVF
OP(vfredusum_vs) VDO(vec_fred(m, d, VFR_OSUM, 0));
OP(vfredosum_vs) VDO(vec_fred(m, d, VFR_OSUM, 0));
OP(vfredmin_vs) VDO(vec_fred(m, d, VFR_MIN, 0));
OP(vfredmax_vs) VDO(vec_fred(m, d, VFR_MAX, 0));
OP(vfwredusum_vs) VDO(vec_fred(m, d, VFR_OSUM, 1));
OP(vfwredosum_vs) VDO(vec_fred(m, d, VFR_OSUM, 1));
OP(vfslide1up_vf) VDO(vec_fslide1(m, d, 0));
OP(vfslide1down_vf) VDO(vec_fslide1(m, d, 1));
