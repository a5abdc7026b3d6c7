/* Vector FP widening arithmetic, reductions and slides (vfwide.c).
 *
 * No include guard on purpose: exec_vfwide.h includes this inside the
 * interpreter function, and exec.c expands that function body twice
 * (exec_loop.h), so each block scope needs its own copy of the declarations. */
#include "machine.h"

/* Widening operations: 2*SEW result from SEW operands (vs2 also 2*SEW in the
 * VF_WV / VF_WX forms).  The multiply-adds accumulate into the wide vd:
 * MACC vd = vs1*vs2 + vd, NMACC -(vs1*vs2) - vd, MSAC vs1*vs2 - vd, NMSAC -(vs1*vs2) + vd. */
enum { VFW_ADD, VFW_SUB, VFW_MUL, VFW_MACC, VFW_NMACC, VFW_MSAC, VFW_NMSAC };
/* form: VF_VV, VF_VX, VF_WV, VF_WX (vec.h). */
int vec_fwide(rv_machine *m, const rv_decoded *d, int op, int form);

/* Reductions.  The unordered sums are computed as the ordered one: the spec
 * allows any association, and the ordered one is reproducible. */
enum { VFR_OSUM, VFR_MIN, VFR_MAX };
/* wide: the 2*SEW sums vfwred[ou]sum. */
int vec_fred(rv_machine *m, const rv_decoded *d, int op, int wide);

/* vfslide1up.vf (down = 0) and vfslide1down.vf (down = 1). */
int vec_fslide1(rv_machine *m, const rv_decoded *d, int down);

