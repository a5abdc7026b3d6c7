/* Scalar FP arithmetic and conversions in translated blocks (jit.h):
 * exec_fp.h's handlers compiled a second time as the cases of one switch,
 * so a block runs the interpreter's own semantics for the one instruction
 * (fp.h's rounding, flags and NaN rules; the rounding mode from the rm field
 * or frm; fp.h's MXCSR invariant kept as the interpreter keeps it): results
 * and fflags are the interpreter's by construction.  Integer operands and
 * results go through m->x (the block writes rs1 back before the call and
 * reads rd after it). */
#include "jit.h"
#include "fp.h"

/* The handlers' spelling (exec_loop.h), here: a case per op, a status
 * returned.  FP loads and stores, which blocks emit themselves, are not run
 * here (JIT_VEC_NONE). */
#define OP(id) case RV_OP_##id:
#define NEXT() return JIT_VEC_OK
#define X(r) m->x[r]
#define RD (d->rd)
#define RS1 (d->rs1)
#define RS2 (d->rs2)
#define RS3 (d->rs3)
#define IMM (d->imm)
#define LOAD(T, a) ({ if (1) return JIT_VEC_NONE; (T)0; })
#define STORE(T, a, v) return JIT_VEC_NONE

int jit_fp(rv_machine *m, const rv_decoded *d) {
    switch (d->op) {
#include "exec_fp.h"
    default: return JIT_VEC_NONE;
    }
illegal:   /* a reserved rounding mode: a stop like a fault's, the instruction not retired (as jit_vec's) */
    m->stop.reason = RV_STOP_ILLEGAL;
    return VEC_FAULT;
}

uint64_t rv_jit_fp_fn(void) { return (uint64_t)(uintptr_t)&jit_fp; }
