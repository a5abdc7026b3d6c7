/* Creating a hart and the small accessors of the public API. */
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "jit.h"
#include "csr.h"
#include "timing.h"
#include "vfp_simd.h"

rv_machine *rv_create(unsigned vlen) {
    if (vlen < 64 || vlen > 65536 || (vlen & (vlen - 1))) return NULL;
    rv_decoder_init();
    rv_machine *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->vlen = vlen;
    m->vlenb = vlen / 8;
    m->v = calloc(32, m->vlenb);
    if (!m->v) { free(m); return NULL; }
    m->vtype = 1ull << 63;   /* vill until the first vset{i}vl{i} */
    m->vtc.key = m->vtype;   /* no vtype decoded yet (vec.h) */
    m->reservation = ~0ull;
    m->halt_pc = ~0ull;
    m->mem_limit = ~0ull;
    m->vfp_path = vfp_path_default();
    mem_flush_tlb(m);
    if (harts_init(m)) { free(m->v); free(m); return NULL; }
    return m;
}

void rv_destroy(rv_machine *m) {
    if (!m) return;
    while (m->nregions) rv_unmap(m, m->regions[0].base, m->regions[0].size);
    harts_free(m);   /* the threads' vector registers (m->v among them) and the harts' models */
    jit_free(m);
    free(m);
}

uint64_t rv_get_x(rv_machine *m, int i) { return (i > 0 && i < 32) ? m->x[i] : 0; }
void rv_set_x(rv_machine *m, int i, uint64_t v) { if (i > 0 && i < 32) m->x[i] = v; }
uint64_t rv_get_f(rv_machine *m, int i) { return m->f[i & 31]; }
void rv_set_f(rv_machine *m, int i, uint64_t v) { m->f[i & 31] = v; }
uint64_t rv_get_pc(rv_machine *m) { return m->pc; }
void rv_set_pc(rv_machine *m, uint64_t pc) { m->pc = pc; }
void rv_set_halt_pc(rv_machine *m, uint64_t pc) { m->halt_pc = pc; }
int rv_csr_read(rv_machine *m, unsigned csr, uint64_t *out) { return csr_read(m, csr, m->instret, out); }
int rv_csr_write(rv_machine *m, unsigned csr, uint64_t v) { return csr_write(m, csr, v); }
void rv_get_v(rv_machine *m, int i, void *dst) { memcpy(dst, m->v + (size_t)(i & 31) * m->vlenb, m->vlenb); }
void rv_set_v(rv_machine *m, int i, const void *src) { memcpy(m->v + (size_t)(i & 31) * m->vlenb, src, m->vlenb); }
unsigned rv_vlenb(rv_machine *m) { return m->vlenb; }
void rv_set_tail_ones(rv_machine *m, int on) { m->tail_ones = on; }
int rv_vfp_path(rv_machine *m) { return m->vfp_path; }

uint64_t rv_instret(rv_machine *m) {
    uint64_t n = m->instret;
    for (int i = 0; i < m->nctx; i++)
        if (i != m->cur) n += m->ctx[i].instret;
    return n;
}
uint64_t rv_cycles(rv_machine *m) {
    uint64_t c = m->cycles;
    for (int h = 0; h < m->nharts; h++)
        if (h != m->cur_hart && m->harts[h].cycles > c) c = m->harts[h].cycles;
    return c;
}
void rv_op_counts(rv_machine *m, uint64_t *out) { memcpy(out, m->op_count, sizeof m->op_count); }
void rv_reset_counters(rv_machine *m) {
    m->instret = m->cycles = 0;
    for (int i = 0; i < m->nctx; i++) m->ctx[i].instret = 0;
    memset(m->op_count, 0, sizeof m->op_count);
    if (!m->timing) return;
    /* every hart's clock starts again from the latest one, so they stay comparable */
    uint64_t start = 0;
    for (int h = 0; h < m->nharts; h++) {
        m->harts[h].cycles = 0;
        uint64_t t = tm_reset_counters(m->harts[h].timing);
        if (t > start) start = t;
    }
    for (int h = 0; h < m->nharts; h++) tm_rebase(m->harts[h].timing, start);
}

int rv_num_ops(void) { return RV_NOPS; }
const char *rv_op_name(int op) { return (op >= 0 && op < RV_NOPS) ? rv_insns[op].name : "?"; }
uint32_t rv_op_match(int op) { return (op >= 0 && op < RV_NOPS) ? rv_insns[op].match : 0; }
uint32_t rv_op_mask(int op) { return (op >= 0 && op < RV_NOPS) ? rv_insns[op].mask : 0; }
const char *rv_op_operands(int op) { return (op >= 0 && op < RV_NOPS) ? rv_insns[op].ops : ""; }
int rv_op_class(int op) { return (op >= 0 && op < RV_NOPS) ? rv_insns[op].cls : -1; }
int rv_num_classes(void) { return RV_NCLASSES; }
int rv_num_extensions(void) { return RV_NEXTS; }
const char *rv_extension_name(int e) {
    static const char *names[] = {
        "base",
#define X(e) #e,
        RV_EXTENSIONS(X)
#undef X
    };
    return (e >= 0 && e < RV_NEXTS) ? names[e] : "?";
}
int rv_op_extension(int op) { return (op >= 0 && op < RV_NOPS) ? rv_insns[op].ext : -1; }
/* Decoded instructions of a newly switched-off extension must not stay in the
 * decode caches: they are cleared, and decode again (now illegal) on use. */
void rv_set_extensions_off(rv_machine *m, uint64_t off) {
    m->ext_off = off & ~1ull;   /* the base ISA stays on */
    for (int i = 0; i < m->nregions; i++)
        if (m->regions[i].cache) memset(m->regions[i].cache, 0, m->regions[i].size / 2 * sizeof(rv_decoded));
}
const char *rv_class_name(int cls) {
    static const char *names[] = {
#define X(c) #c,
        RV_CLASSES(X)
#undef X
    };
    return (cls >= 0 && cls < RV_NCLASSES) ? names[cls] : "?";
}
