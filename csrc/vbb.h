/* Vector bit manipulation (vbb.c): Zvbb and its subset Zvkb.
 *
 * No include guard on purpose (as vai.h): exec_rva23.h includes this inside
 * each of the two interpreter functions, so each block scope needs its own
 * declarations. */
#include "machine.h"

/* The single-width operations of vec_bitmanip: two-operand (vs2 op vs1 / x[rs1] /
 * uimm) and unary (vs2). */
enum { VBB_ANDN, VBB_ROL, VBB_ROR, VBB_BREV, VBB_BREV8, VBB_REV8, VBB_CLZ, VBB_CTZ, VBB_CPOP };
/* form: VF_VV, VF_VX or VF_VI (vec.h); unary ops ignore it. */
int vec_bitmanip(rv_machine *m, const rv_decoded *d, int op, int form);
/* vwsll.vv/.vx/.vi: 2*SEW vd = zero-extended vs2 << (shift mod 2*SEW). */
int vec_wsll(rv_machine *m, const rv_decoded *d, int form);
