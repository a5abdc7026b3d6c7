/* Vector FP conversions (vfcvt/vfwcvt/vfncvt) and the 7-bit estimates
 * vfrec7/vfrsqrt7 (vfcvt.c), called from exec_vfcvt.h. */
#ifndef RVAI_VFCVT_H
#define RVAI_VFCVT_H
/* A conversion's vs1 field: shape in bits 4:3, kind in bits 2:0. */
enum { VFC_SINGLE = 0, VFC_WIDEN = 1, VFC_NARROW = 2 };
enum { VFC_XU_F, VFC_X_F, VFC_F_XU, VFC_F_X, VFC_F_F, VFC_ROD_F_F, VFC_RTZ_XU_F, VFC_RTZ_X_F };
#endif

/* Outside the guard on purpose: exec_vfcvt.h includes this file inside each
 * of exec.c's two interpreter functions (timed and untimed), so the
 * prototypes must be seen -- at block scope -- by both. */
#include "machine.h"
/* One conversion instruction; `code` is its vs1 field.  VEC_OK / VEC_ILLEGAL. */
int vec_fcvt(rv_machine *m, const rv_decoded *d, unsigned code);
/* vfrec7.v (rec = 1) or vfrsqrt7.v (rec = 0). */
int vec_fest7(rv_machine *m, const rv_decoded *d, int rec);
