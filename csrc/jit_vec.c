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

/* exec_vfp.h's handlers once more: vec_fp's op and form for each of its
 * vec_fp handlers, 0 for its others. */
#undef OP
#undef VDO
#define OP(id) case RV_OP_##id:
#define VDO(call) return 0
#define VH_F(id, f, o) case RV_OP_##id: *op = VFOP_##o; *form = f; return 1;
static int vfp_args(int id, int *op, int *form) {
    switch (id) {
#include "exec_vfp.h"
    default: return 0;
    }
}

int jit_vfp(rv_machine *m, const rv_decoded *d, const jit_vfp_ctx *k) {
    m->jit->vfp_calls++;   /* (only translated blocks call it: m->jit is set) */
    if (unlikely(m->vtype != k->vtype || m->frm > FP_RMM)) return jit_vec(m, d);
    vec_ctx c = k->c;
    c.vl = m->vl;
    c.vstart = m->vstart;
    return vec_fp_run(m, d, &c, k->op, k->form);   /* VEC_OK: FP ops neither fault nor store */
}

int rv_jit_vfp_ctx(unsigned vlen, uint64_t vtype, const uint64_t slot[2], uint64_t *out, int words) {
    rv_decoded d;
    jit_vfp_ctx k;
    memset(&k, 0, sizeof k);
    memcpy(&d, slot, sizeof d);
    if ((size_t)words * 8 < sizeof k || !vec_vtype_legal(vtype) || !vfp_args(d.op, &k.op, &k.form)) return 0;
    k.vtype = vtype;
    vec_ctx_for(vlen, vtype, &k.c);
    k.c.vm = (d.raw >> 25) & 1;
    if (!vec_fp_legal(&d, &k.c, k.op, k.form)) return 0;
    memcpy(out, &k, sizeof k);
    return 1;
}

uint64_t rv_jit_vfp_fn(void) { return (uint64_t)(uintptr_t)&jit_vfp; }
