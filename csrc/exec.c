/* The interpreter: decode once into the region's cache, then dispatch through
 * a table of labels (GCC computed goto).  The semantics of each instruction are
 * small blocks in exec_int.h, exec_fp.h and exec_vec.h; this file holds the loop,
 * the fetch path and the stop paths. */
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "csr.h"
#include "fp.h"
#include "vec.h"

/* Find the executable region holding pc and make sure it has a decode cache. */
static rv_decoded *fetch_region(rv_machine *m, uint64_t pc, uint64_t *base, uint64_t *size) {
    region *r = mem_find(m, pc);
    if (!r || !(r->perms & RV_PERM_X)) return NULL;
    if (!r->cache) {
        r->cache = calloc(r->size / 2, sizeof(rv_decoded));
        if (!r->cache) return NULL;
    }
    *base = r->base;
    *size = r->size;
    return r->cache;
}

/* Decode the instruction at pc into *d: 0 if illegal, -1 if its bytes
 * cannot be fetched (the upper half of a 32-bit one beyond executable memory). */
static int decode_at(rv_machine *m, uint64_t pc, rv_decoded *d) {
    uint16_t half[2];
    if (mem_fetch(m, pc, &half[0], 2)) return -1;
    if ((half[0] & 3) != 3) {
        uint32_t full = rv_expand_rvc(half[0]);
        int op = full ? rv_decode32(full, d) : 0;
        d->len = 2;
        if (!op) d->raw = half[0];
        return op;
    }
    if (mem_fetch(m, pc + 2, &half[1], 2)) return -1;
    return rv_decode32((uint32_t)half[0] | (uint32_t)half[1] << 16, d);
}

int rv_run(rv_machine *m, uint64_t budget, rv_stop *out) {
    static const void *labels[RV_NOPS] = {
        [RV_OP_UNDECODED] = &&undecoded,
#define INSN(id, name, match, mask, ops, cls) [RV_OP_##id] = &&L_##id,
#include "insns.def"
#undef INSN
    };
    uint64_t pc = m->pc;
    int64_t left = (int64_t)(budget > (uint64_t)INT64_MAX ? INT64_MAX : budget);
    const int64_t start = left;
    rv_decoded *cache = NULL, *d = NULL;
    uint64_t cbase = 0, csize = 0;
    memset(&m->stop, 0, sizeof m->stop);

/* Retired-so-far, for the counter CSRs read in the middle of a run. */
#define INSTRET_NOW() (m->instret + (uint64_t)(start - left))

#define DISPATCH() do {                                              \
        if (unlikely(left <= 0)) goto out_budget;                    \
        uint64_t off_ = pc - cbase;                                  \
        if (unlikely(off_ >= csize)) goto refetch;                   \
        d = &cache[off_ >> 1];                                       \
        left--;                                                      \
        m->op_count[d->op]++;                                        \
        goto *labels[d->op];                                         \
    } while (0)
#define NEXT() do { pc += d->len; DISPATCH(); } while (0)
#define JUMP(t) do { pc = (t); DISPATCH(); } while (0)
#define STOP(why) do { m->stop.reason = (why); goto out_stop; } while (0)
#define STOP_UNRETIRED(why) do { left++; m->op_count[d->op]--; STOP(why); } while (0)

#define OP(id) L_##id:
#define X(r) m->x[r]
#define SX(r) ((int64_t)m->x[r])
#define RD (d->rd)
#define RS1 (d->rs1)
#define RS2 (d->rs2)
#define RS3 (d->rs3)
#define IMM (d->imm)
#define LEN (d->len)

/* Scalar memory access: TLB fast path, region walk on a miss. */
#define LOAD(T, a) ({                                                        \
        uint64_t a_ = (a); T v_;                                             \
        void *h_ = tlb_host(m->tlb_r, a_, sizeof(T));                        \
        if (likely(h_ != NULL)) memcpy(&v_, h_, sizeof(T));                  \
        else if (!mem_load_slow(m, a_, &v_, sizeof(T))) goto mem_fault;      \
        v_; })
#define STORE(T, a, val) do {                                                \
        uint64_t a_ = (a); T v_ = (T)(val);                                  \
        void *h_ = tlb_host(m->tlb_w, a_, sizeof(T));                        \
        if (likely(h_ != NULL)) memcpy(h_, &v_, sizeof(T));                  \
        else if (!mem_store_slow(m, a_, &v_, sizeof(T))) goto mem_fault;     \
    } while (0)

    DISPATCH();

#include "exec_int.h"
#include "exec_fp.h"
#include "exec_vec.h"

undecoded: {
        int op = decode_at(m, pc, d);
        if (op <= 0) {
            m->stop.insn = d->raw;
            m->stop.insn_len = d->len;
            memset(d, 0, sizeof *d);   /* decode again next time: memory may change */
            left++;
            m->op_count[0]--;
            if (op < 0) { m->stop.addr = pc + 2; STOP(RV_STOP_FETCH); }
            STOP(RV_STOP_ILLEGAL);
        }
        m->op_count[0]--;
        m->op_count[op]++;
        goto *labels[op];
    }

refetch:
    if (pc == m->halt_pc) STOP(RV_STOP_HALT);
    cache = fetch_region(m, pc, &cbase, &csize);
    if (!cache) { csize = 0; cbase = 0; m->stop.addr = pc; STOP(RV_STOP_FETCH); }
    DISPATCH();

mem_fault:
    left++;
    m->op_count[d->op]--;
    goto out_stop;   /* mem_*_slow filled in the reason and the address */

illegal:
    STOP_UNRETIRED(RV_STOP_ILLEGAL);

out_budget:
    m->stop.reason = RV_STOP_BUDGET;
out_stop:
    m->pc = pc;
    m->stop.pc = pc;
    if (d && !m->stop.insn_len && m->stop.reason != RV_STOP_BUDGET &&
        m->stop.reason != RV_STOP_HALT && m->stop.reason != RV_STOP_FETCH) {
        m->stop.insn = d->raw;
        m->stop.insn_len = d->len;
    }
    m->instret += (uint64_t)(start - left);
    m->cycles = m->instret;   /* functional mode: one cycle per instruction */
    *out = m->stop;
    return m->stop.reason;
}
