/* Vector instructions in translated blocks (jit.h): exec_vec.h's handlers,
 * each one call of a semantic function in vec.c / vfp.c / vfwide.c / vfcvt.c,
 * compiled a second time as the cases of one switch, so a block calls the same
 * bulk element loops as the interpreter and the two can never disagree. */
#include "jit.h"
#include "vec.h"
#include "fp.h"

/* The handlers' spelling (exec_loop.h), here: a case per op, a status returned. */
#define OP(id) case RV_OP_##id: if (!m) return JIT_VEC_OK;
#define VDO(call) return (call)
#define NEXT() return JIT_VEC_OK
#define X(r) m->x[r]
#define RD (d->rd)
#define RS1 (d->rs1)
#define RS2 (d->rs2)
#define IMM (d->imm)

static int vec_switch(rv_machine *m, const rv_decoded *d) {
    switch (d->op) {
#include "exec_vec.h"
    default: return JIT_VEC_NONE;
    }
}

int jit_vec(rv_machine *m, const rv_decoded *d) {
    uint64_t writes = m->code_writes;
    int r = vec_switch(m, d);
    if (r == VEC_ILLEGAL) {   /* a stop like a fault's: the block must not be entered at it again */
        m->stop.reason = RV_STOP_ILLEGAL;
        return VEC_FAULT;
    }
    return r == JIT_VEC_OK && m->code_writes != writes ? JIT_VEC_CODE : r;
}

int rv_jit_vec_covers(int op) {
    rv_decoded d = {.op = (uint16_t)op};
    return op > 0 && op < RV_NOPS && vec_switch(NULL, &d) == JIT_VEC_OK;
}
