/* The interpreter: decode once into the region's cache, then dispatch through
 * a table of labels (GCC computed goto).  The semantics of each instruction are
 * small blocks in exec_int.h, exec_fp.h, exec_vec.h and the exec_vf*.h it
 * includes; the loop, the fetch path and the stop paths are in exec_loop.h,
 * compiled twice here: once plain (functional mode pays nothing for timing)
 * and once driving the timing model. */
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "csr.h"
#include "fp.h"
#include "vec.h"
#include "timing.h"

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

/* Decode the instruction at pc into *d: 0 if illegal (an instruction of an
 * extension switched off on this machine included; d->raw then still holds
 * it, so the stop can name it), -1 if its bytes cannot be fetched (the upper
 * half of a 32-bit one beyond executable memory). */
static int decode_at(rv_machine *m, uint64_t pc, rv_decoded *d) {
    uint16_t half[2];
    int op;
    if (mem_fetch(m, pc, &half[0], 2)) return -1;
    if ((half[0] & 3) != 3) {
        uint32_t full = rv_expand_rvc(half[0]);
        op = full ? rv_decode32(full, d) : 0;
        d->len = 2;
        d->raw = op ? d->raw : half[0];
    } else {
        if (mem_fetch(m, pc + 2, &half[1], 2)) return -1;
        op = rv_decode32((uint32_t)half[0] | (uint32_t)half[1] << 16, d);
    }
    if (unlikely(m->ext_off >> rv_insns[op].ext & 1)) {
        if (d->len == 2) d->raw = half[0];
        return 0;
    }
    return op;
}

#define TIMED 0
#define RUN_NAME rv_run_functional
#include "exec_loop.h"
#undef TIMED
#undef RUN_NAME

#define TIMED 1
#define RUN_NAME rv_run_timed
#include "exec_loop.h"
#undef TIMED
#undef RUN_NAME

int rv_run(rv_machine *m, uint64_t budget, rv_stop *out) {
    return m->timed ? rv_run_timed(m, budget, out) : rv_run_functional(m, budget, out);
}
