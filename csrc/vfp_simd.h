/* The AVX2+FMA path of vector FP (vfp_simd.c) and the choice of path. */
#ifndef RVAI_VFP_SIMD_H
#define RVAI_VFP_SIMD_H
#include "vec.h"

/* rv_machine.vfp_path: which code runs single-width vector FP arithmetic.
 * VFP_SIMD: vfp_simd.c where it applies, else as VFP_PORTABLE;
 * VFP_PORTABLE: vfp.c's plain host loops for add/sub/mul/div (what hosts
 * without AVX2+FMA run), the element path for the rest;
 * VFP_EXACT: the element path (fp.h's scalar helpers) for everything. */
enum { VFP_SIMD, VFP_PORTABLE, VFP_EXACT };

/* The path a new machine takes: VFP_EXACT when RVAI_VFP_EXACT=1, VFP_PORTABLE
 * when RVAI_VFP_SIMD=0 or the host lacks AVX2+FMA, else VFP_SIMD. */
int vfp_path_default(void);

/* vfadd/vfsub/vfrsub/vfmul/vfdiv/vfrdiv and the FMA family (op: VFOP_*) at
 * SEW 32/64 in rm = RNE..RUP, and vfmin/vfmax at SEW 32/64: computes the body [vstart, vl) (which must be
 * non-empty) into group vd, applies the mask and tail policies as vec_commit
 * does, ORs the flags into fflags and resets vstart; returns 1.  Returns 0,
 * touching nothing, for anything else.  A: vs2, B: vs1 (NULL: the scalar s). */
int vfp_simd(rv_machine *m, const vec_ctx *c, int op, unsigned vd, const uint8_t *A, const uint8_t *B, uint64_t s,
             unsigned rm);
#endif
