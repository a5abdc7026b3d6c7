/* Vector extensions for AI kernels (vai.c): bfloat16 conversions and
 * widening multiply-add (Zvfbfmin, Zvfbfwma), int8 dot products (Zvqdotq)
 * and the SpacemiT IME tile multiply-accumulate (XSMTVDot).
 *
 * No include guard on purpose (as vfwide.h): exec_ai.h includes this inside
 * each of the two interpreter functions, so each block scope needs its own
 * declarations. */
#include "machine.h"

/* vfwcvtbf16.f.f.v (narrow = 0) or vfncvtbf16.f.f.w (narrow = 1). */
int vec_bf16_cvt(rv_machine *m, const rv_decoded *d, int narrow);
/* vfwmaccbf16.vv (scalar = 0) or .vf (scalar = 1). */
int vec_bf16_wmacc(rv_machine *m, const rv_decoded *d, int scalar);
/* vqdot*: each 32-bit element of vd += the dot product of the four bytes of
 * vs2's element with the four of vs1's element (scalar = 0) or of x[rs1]
 * (scalar = 1); signed_a / signed_b: whether vs2's / the other's bytes are signed. */
int vec_qdot(rv_machine *m, const rv_decoded *d, int scalar, int signed_a, int signed_b);
/* smt.vmadot*: C (vd, vd+1: int32) += A (vs1: int8) x B^T (vs2: int8);
 * slide 0 for the plain forms, 1..3 for smt.vmadot1/2/3*; signed_a / signed_b
 * for A's / B's bytes. */
int vec_smt_vmadot(rv_machine *m, const rv_decoded *d, int slide, int signed_a, int signed_b);
