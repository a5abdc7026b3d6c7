/* Semantics of the rows in insns_vfcvt.def; included from exec_vfp.h.
 * Every conversion handler passes its vs1 field (shape and kind) to vec_fcvt. */
#include "vfcvt.h"
#define VH_FCVT(id) OP(id) VDO(vec_fcvt(m, d, (d->raw >> 15) & 31));
VH_FCVT(vfcvt_xu_f_v) VH_FCVT(vfcvt_x_f_v) VH_FCVT(vfcvt_f_xu_v) VH_FCVT(vfcvt_f_x_v)
VH_FCVT(vfcvt_rtz_xu_f_v) VH_FCVT(vfcvt_rtz_x_f_v)
VH_FCVT(vfwcvt_xu_f_v) VH_FCVT(vfwcvt_x_f_v) VH_FCVT(vfwcvt_f_xu_v) VH_FCVT(vfwcvt_f_x_v)
VH_FCVT(vfwcvt_f_f_v) VH_FCVT(vfwcvt_rtz_xu_f_v) VH_FCVT(vfwcvt_rtz_x_f_v)
VH_FCVT(vfncvt_xu_f_w) VH_FCVT(vfncvt_x_f_w) VH_FCVT(vfncvt_f_xu_w) VH_FCVT(vfncvt_f_x_w)
VH_FCVT(vfncvt_f_f_w) VH_FCVT(vfncvt_rod_f_f_w) VH_FCVT(vfncvt_rtz_xu_f_w) VH_FCVT(vfncvt_rtz_x_f_w)
#undef VH_FCVT
OP(vfrsqrt7_v) VDO(vec_fest7(m, d, 0));
OP(vfrec7_v) VDO(vec_fest7(m, d, 1));
