/* The translating tier's C side: the table of translated blocks, the hot
 * counter past the decode-cache slot's byte, the hand-off to the Python
 * translator, and what the translator reads (decoded blocks, the machine's
 * layout) and calls (the memory slow paths).  jit.h says how a block runs. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "jit.h"
#include "fp.h"

/* Defined by cffi (extern "Python+C" in rvai/_build_rvemu.py): the Python
 * translator of handle, told the block at pc was entered `entries` times,
 * builds it and installs it through rv_jit_install (returns 1), refuses it
 * for good (0), or asks to be told again after -r more entries (r < 0). */
int64_t rv_jit_translate_hook(void *handle, uint64_t pc, uint64_t entries);

static uint64_t slot_of(const struct rv_jit *j, uint64_t pc) {
    return ((pc >> 1) * 0x9e3779b97f4a7c15ull) >> 32 & (j->cap - 1);
}

/* The table entry of pc, or the empty slot where it would go. */
static jit_entry *find(const struct rv_jit *j, uint64_t pc) {
    for (uint64_t i = slot_of(j, pc);; i = (i + 1) & (j->cap - 1))
        if (j->tab[i].pc == pc || j->tab[i].pc == ~0ull) return &j->tab[i];
}

const jit_entry *jit_lookup(const struct rv_jit *j, uint64_t pc) {
    const jit_entry *e = find(j, pc);
    return e->fn ? e : NULL;
}

static int grow(struct rv_jit *j) {
    uint64_t cap = j->cap * 2;
    jit_entry *old = j->tab, *tab = malloc(cap * sizeof *tab);
    if (!tab) return -1;
    for (uint64_t i = 0; i < cap; i++) tab[i] = (jit_entry){~0ull, NULL, 0, 0, 0};
    uint64_t ocap = j->cap;
    j->tab = tab;
    j->cap = cap;
    for (uint64_t i = 0; i < ocap; i++)
        if (old[i].pc != ~0ull) *find(j, old[i].pc) = old[i];
    free(old);
    return 0;
}

/* The entry of pc, made when missing; NULL when out of memory. */
static jit_entry *entry(struct rv_jit *j, uint64_t pc) {
    if (2 * (j->used + 1) > j->cap && grow(j)) return NULL;
    jit_entry *e = find(j, pc);
    if (e->pc == ~0ull) { *e = (jit_entry){pc, NULL, 0, 0, 0}; j->used++; }
    return e;
}

void jit_hot(rv_machine *m, uint64_t pc, rv_decoded *s) {
    struct rv_jit *j = m->jit;
    jit_entry *e = entry(j, pc);
    if (!e) { s->pad = JIT_NEVER; return; }
    e->entries += j->lim ? j->lim : 1;
    /* A translation finished in the background is installed from here, the
     * thread running the guest, at a block boundary (rvai/emu/translate.py). */
    if (e->entries < e->due && !(j->post && *j->post)) { s->pad = 0; return; }
    int64_t r = rv_jit_translate_hook(j->handle, pc, e->entries);
    fp_host_reset();                   /* Python ran: fp.h's invariant again */
    e = entry(j, pc);                  /* installing may have grown the table */
    if (!e) { s->pad = JIT_NEVER; return; }
    if (r < 0) {                       /* not yet: ask again after -r more entries */
        e->due = e->entries - (uint64_t)r;
        s->pad = 0;
    } else if (!r || s->pad != JIT_READY) {
        s->pad = JIT_NEVER;
        j->refused++;
    }
}

void jit_forget_links(rv_machine *m) {
    if (!m->jit) return;
    for (int i = 0; i < JIT_LINKS; i++) m->jit->links[i] = (jit_link){~0ull, NULL, 0};
}

void jit_forget_all(rv_machine *m) {
    struct rv_jit *j = m->jit;
    if (!j) return;
    for (int i = 0; i < m->nregions; i++) {
        region *r = &m->regions[i];
        for (uint64_t k = 0; r->cache && k < r->size / 2; k++)
            if (r->cache[k].pad == JIT_READY) r->cache[k].pad = 0;
    }
    for (uint64_t i = 0; i < j->cap; i++) j->tab[i].fn = NULL;
    jit_forget_links(m);
}

int rv_jit_enable(rv_machine *m, void *handle, unsigned ask) {
    if (m->jit) return -1;
    struct rv_jit *j = calloc(1, sizeof *j);
    if (!j) return -1;
    j->handle = handle;
    j->lim = ask < JIT_COUNT_MAX ? (uint8_t)ask : JIT_COUNT_MAX;
    j->cap = 256;
    j->tab = malloc(j->cap * sizeof *j->tab);
    if (!j->tab) { free(j); return -1; }
    for (uint64_t i = 0; i < j->cap; i++) j->tab[i] = (jit_entry){~0ull, NULL, 0, 0, 0};
    m->jit = j;
    jit_forget_links(m);
    return 0;
}

void rv_jit_set_post(rv_machine *m, const int *flag) {
    if (m->jit) m->jit->post = flag;
}

void rv_jit_set_timed(rv_machine *m, int on) {
    if (m->jit) m->jit->timed = on;
}

void jit_free(rv_machine *m) {
    if (!m->jit) return;
    free(m->jit->tab);
    free(m->jit);
    m->jit = NULL;
}

int rv_jit_block(rv_machine *m, uint64_t pc, rv_jit_insn *out, int max) {
    if (max > JIT_MAX_INSNS) max = JIT_MAX_INSNS;
    region *r = mem_find(m, pc);
    int n = 0;
    for (; n < max && r && pc - r->base < r->size; n++) {
        rv_decoded *d;
        int fresh = !r->cache || !r->cache[(pc - r->base) / 2].op;
        int op = rv_decode_slot(m, pc, &d);
        if (op <= 0 || mem_find(m, pc + d->len - 1) != r) break;   /* within one region */
        if (fresh) jit_tslot_forget(m, pc);
        out[n] = (rv_jit_insn){pc, (uint16_t)op, d->rd, d->rs1, d->rs2, d->len, d->imm, {0, 0}};
        rv_decoded copy = *d;
        copy.pad = 0;
        memcpy(out[n].slot, &copy, sizeof copy);
        pc += d->len;
        int cls = rv_insns[op].cls;
        if (cls == RV_CLASS_BRANCH || cls == RV_CLASS_JUMP) { n++; break; }   /* one pass: all a block holds */
    }
    return n;
}

int rv_jit_install(rv_machine *m, uint64_t pc, uint64_t fn, int n) {
    struct rv_jit *j = m->jit;
    region *r = mem_find(m, pc);
    if (!j || !r || !r->cache || n < 1 || n > JIT_MAX_INSNS) return -1;
    rv_decoded *s = &r->cache[(pc - r->base) / 2];
    if (!s->op) return -1;
    jit_entry *e = entry(j, pc);
    if (!e) return -1;
    e->fn = (jit_block_fn)(uintptr_t)fn;
    e->n = n;
    j->links[JIT_LINK(pc)] = (jit_link){pc, e->fn, n};
    s->pad = JIT_READY;
    j->translated++;
    return 0;
}

uint64_t rv_jit_entries(rv_machine *m, uint64_t pc) {
    if (!m->jit) return 0;
    const jit_entry *e = find(m->jit, pc);
    return e->pc == pc ? e->entries : 0;
}

void rv_jit_stats(rv_machine *m, uint64_t out[4]) {
    out[0] = m->jit ? m->jit->translated : 0;
    out[1] = m->jit ? m->jit->refused : 0;
    out[2] = m->jit ? m->jit->vfp_calls : 0;
    out[3] = m->jit ? m->jit->ran : 0;
}

/* A block leaving part way through a pass (a fault, a slow-path store, a
 * vector op that wrote code) counts what it retired here, out of its hot
 * code: `passes` whole passes of its ops[1..ops[0]] and the first k
 * instructions of one more; it returns next_pc (so the block's exit is one
 * tail call).  Such exits are rare, and their counting inline cost every
 * exit point a few stores and the hot path registers. */
static uint64_t jit_part(rv_machine *m, const uint16_t *ops, int64_t passes, int64_t k, uint64_t next_pc) {
    const uint16_t *op = ops + 1;
    if (passes)
        for (int i = 0; i < ops[0]; i++) m->op_count[op[i]] += (uint64_t)passes;
    for (int64_t i = 0; i < k; i++) m->op_count[op[i]]++;
    return next_pc;
}

void rv_jit_layout(uint64_t out[17]) {
    out[0] = offsetof(rv_machine, x);
    out[1] = offsetof(rv_machine, op_count);
    out[2] = offsetof(rv_machine, tlb_r);
    out[3] = offsetof(rv_machine, tlb_w);
    out[4] = (uint64_t)(uintptr_t)&mem_load_slow;
    out[5] = (uint64_t)(uintptr_t)&mem_store_slow;
    out[6] = TLB_SIZE;
    out[7] = PAGE_BITS;
    out[8] = (uint64_t)(uintptr_t)&jit_part;
    out[9] = (uint64_t)(uintptr_t)&jit_vec;
    out[10] = offsetof(rv_machine, vl);
    out[11] = offsetof(rv_machine, v);
    out[12] = offsetof(rv_machine, jit);
    out[13] = offsetof(struct rv_jit, links);
    out[14] = JIT_LINKS;
    out[15] = offsetof(rv_machine, f);
    out[16] = offsetof(rv_machine, fflags);
}
