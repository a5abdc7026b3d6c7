/* The interpreter: decode once into the region's cache, then dispatch through
 * a table of labels (GCC computed goto).  The semantics of each instruction are
 * small blocks in exec_int.h, exec_fp.h, exec_vec.h and the exec_vf*.h it
 * includes; the loop, the fetch path and the stop paths are in exec_loop.h,
 * compiled twice here: once plain (functional mode pays nothing for timing)
 * and once driving the timing model. */
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "machine.h"
#include "csr.h"
#include "fp.h"
#include "vec.h"
#include "timing.h"
#include "jit.h"

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

int rv_decode_slot(rv_machine *m, uint64_t pc, rv_decoded **slot) {
    uint64_t base, size;
    rv_decoded *cache = fetch_region(m, pc, &base, &size);
    if (!cache || (pc & 1)) return 0;
    rv_decoded *d = *slot = &cache[(pc - base) / 2];
    if (d->op) return d->op;
    int op = decode_at(m, pc, d);
    if (op <= 0) memset(d, 0, sizeof *d);
    return op > 0 ? op : 0;
}

uint64_t rv_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Why the run must stop now (RV_STOP_INTERRUPT / RV_STOP_TIMEOUT), or 0 to go
 * on: looked at on entry and once per slice, never per instruction. */
static int run_control(rv_machine *m) {
    if (__atomic_load_n(&m->stop_request, __ATOMIC_RELAXED)) return RV_STOP_INTERRUPT;
    if (m->deadline_ns && rv_monotonic_ns() >= m->deadline_ns) return RV_STOP_TIMEOUT;
    return 0;
}

void rv_request_stop(rv_machine *m) { __atomic_fetch_or(&m->stop_request, RV_REQ_API, __ATOMIC_RELAXED); }
void rv_clear_stop(rv_machine *m) { __atomic_fetch_and(&m->stop_request, ~RV_REQ_API, __ATOMIC_RELAXED); }
void rv_set_deadline(rv_machine *m, uint64_t ns) { m->deadline_ns = ns; }
void rv_defer_deadline(rv_machine *m, uint64_t ns) { if (m->deadline_ns) m->deadline_ns += ns; }

/* The machine the C SIGINT handler stops, and the handler it displaced. */
static rv_machine *volatile sigint_machine;
static struct sigaction sigint_saved;

static void on_sigint(int sig) {
    (void)sig;
    rv_machine *m = sigint_machine;
    if (m) __atomic_fetch_or(&m->stop_request, RV_REQ_SIGINT, __ATOMIC_RELAXED);
}

int rv_catch_sigint(rv_machine *m) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigint_machine = m;
    if (sigaction(SIGINT, &sa, &sigint_saved)) { sigint_machine = NULL; return 0; }
    if (!(sigint_saved.sa_flags & SA_SIGINFO) && sigint_saved.sa_handler == SIG_IGN) {
        sigaction(SIGINT, &sigint_saved, NULL);   /* ignored SIGINT stays ignored */
        sigint_machine = NULL;
        return 0;
    }
    return 1;
}

int rv_release_sigint(rv_machine *m) {
    sigaction(SIGINT, &sigint_saved, NULL);
    sigint_machine = NULL;
    return (__atomic_fetch_and(&m->stop_request, ~RV_REQ_SIGINT, __ATOMIC_RELAXED) & RV_REQ_SIGINT) != 0;
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

/* Timed translated blocks: the timed loop's step and memory hook, called by
 * the block before each instruction and after each scalar access (a plain
 * op's step the block computes itself, from its slots: rvai_jit_tslots).
 * The region of the block's pcs is the one the loop entered it from (set in
 * jit_hook) unless a chained block left it. */
static tm_slot *jit_tslots(rv_machine *m, uint64_t pc) {
    rv_timing *t = m->timing;
    uint64_t off = pc - t->jbase;
    if (unlikely(off >= t->jsize)) {
        t->jcache = fetch_region(m, pc, &t->jbase, &t->jsize);
        t->jslots = tm_pc_counters(t, t->jbase, t->jsize);
        off = pc - t->jbase;
    }
    return t->jslots + (off >> 1);
}

static void jit_tstep(rv_machine *m, uint64_t pc) {
    rv_timing *t = m->timing;
    tm_slot *e = jit_tslots(m, pc);
    tm_step(t, m, &t->jcache[e - t->jslots], pc, e);
}

/* The memory hook of a block's scalar access of n bytes at addr, which the
 * block's exits count as an L1 hit (its inline path counts none): that hit
 * taken back, tm_mem's work.  `probed` is 1 when the block probed L1's hit
 * filter for the access's line and found neither a plain hit nor the first
 * use of a prefetched line there (tm_first_use's), so that only tm_mem's
 * slow path is left; else 0. */
static void jit_tmem(rv_machine *m, uint32_t probed, uint64_t addr, uint32_t n, uint32_t store, uint64_t pc) {
    rv_timing *t = m->timing;
    t->s.l1_hits--;
    if (store) t->s.bytes_stored -= n;
    else t->s.bytes_loaded -= n;
    if (probed) tm_mem_slow(t, addr, n, (int)store, pc);
    else tm_mem(t, addr, n, (int)store, pc);
}

/* The pending branch or jump resolved for the instruction at pc, as its step
 * would first do (a block calls it where it does not resolve inline). */
static void jit_tresolve(rv_machine *m, uint64_t pc) {
    rv_timing *t = m->timing;
    if (t->pending) tm_resolve(t, pc);
}

void rv_jit_timed_fns(uint64_t out[8]) {
    out[0] = (uint64_t)(uintptr_t)&jit_tstep;
    out[1] = (uint64_t)(uintptr_t)&jit_tmem;
    out[2] = (uint64_t)(uintptr_t)&jit_tslots;
    out[3] = (uint64_t)(uintptr_t)&jit_tresolve;
    out[4] = (uint64_t)(uintptr_t)&tm_vector_step;     /* a vector slot's step, called with its slot */
    out[5] = (uint64_t)(uintptr_t)&tm_prefetch_miss;   /* a prefetch the block's filter probe missed */
    out[6] = (uint64_t)(uintptr_t)&tm_vmem;   /* the accesses of a unit-stride group the block copied */
    out[7] = (uint64_t)(uintptr_t)&tm_first_use;   /* a scalar access's first use of a prefetched line */
}

void jit_tslot_forget(rv_machine *m, uint64_t pc) {
    uint64_t base, size;
    rv_decoded *cache = m->timed ? fetch_region(m, pc, &base, &size) : NULL;
    tm_slot *e = cache ? tm_pc_counters(m->timing, base, size) : NULL;
    if (e) e[(pc - base) >> 1].path = TM_PATH_NEW;
}

/* rv_jit_tslot's words for the decoded instruction d at pc (slot e), under
 * the machine's vtype and vl. */
static int jit_tslot_words(rv_machine *m, const rv_decoded *d, tm_slot *e, uint64_t *out) {
    tm_derive_slot(m->timing, d, e);
    if (e->path < TM_PATH_PLAIN && e->path != TM_PATH_VECTOR && e->path != TM_PATH_PREFETCH) return 0;
    const uint64_t f[6] = {e->lat, e->s1, e->s2, e->s3, e->dst, e->path};
    memcpy(out, f, sizeof f);
    return 6 + tm_plan_words(m->timing, d, m, e, out + 6);
}

/* The vtype and vl after vset{i}vl{i} d runs (vec_setvl's rules, on the
 * machine's fields): an AVL from a register taken as at least VLMAX, a
 * strip-mined loop's full strips; vsetvl's vtype, from a register, unknown
 * (vill: no plan made for it holds). */
static void jit_vset_after(rv_machine *m, const rv_decoded *d) {
    uint64_t nvl;
    if (d->op == RV_OP_vsetvli) vec_setvl(m, ~0ull, (uint64_t)d->imm, d->rs1 == 0, d->rd == 32, &nvl);
    else if (d->op == RV_OP_vsetivli) vec_setvl(m, d->rs1, (uint64_t)d->imm, 0, 0, &nvl);
    else if (d->op == RV_OP_vsetvl) m->vtype = VTYPE_VILL, m->vl = 0;
}

int rv_jit_tslot(rv_machine *m, uint64_t pc, uint64_t vstate[2], uint64_t out[RV_JIT_TSLOT_WORDS]) {
    _Static_assert(6 + TM_PLAN_WORDS <= RV_JIT_TSLOT_WORDS, "rv_jit_tslot's out holds RV_JIT_TSLOT_WORDS");
    if (!m->timed) return 0;
    uint64_t base, size;
    rv_decoded *cache = fetch_region(m, pc, &base, &size);
    tm_slot *e = cache ? tm_pc_counters(m->timing, base, size) : NULL;
    const rv_decoded *d = cache ? &cache[(pc - base) >> 1] : NULL;
    if (!e || !d->op) return 0;
    /* planned, and vstate advanced, on the machine's own fields, restored after */
    const uint64_t vtype = m->vtype, vl = m->vl, vstart = m->vstart;
    m->vtype = vstate[0], m->vl = vstate[1];
    int n = jit_tslot_words(m, d, e + ((pc - base) >> 1), out);
    jit_vset_after(m, d);
    vstate[0] = m->vtype, vstate[1] = m->vl;
    m->vtype = vtype, m->vl = vl, m->vstart = vstart;
    return n;
}

int rv_jit_tparams(const rv_machine *m, uint64_t out[5]) {
    if (!m->timed) return 0;
    const rv_timing *t = m->timing;
    const uint64_t p[5] = {t->issue_width, t->line_bits, t->hit_shift, t->p.l1_latency, t->p.bht_entries};
    memcpy(out, p, sizeof p);
    return 1;
}

void rv_jit_timed_layout(uint64_t out[48]) {
    const uint64_t l[] = {
        offsetof(rv_machine, timing), offsetof(rv_timing, now), offsetof(rv_timing, room),
        offsetof(rv_timing, inline_from), offsetof(rv_timing, last_dst), offsetof(rv_timing, last_issue),
        offsetof(rv_timing, stall), offsetof(rv_timing, ready), offsetof(rv_timing, kind), sizeof(tm_slot),
        offsetof(tm_slot, path), TM_PLAIN_S3, TM_PLAIN_WAW,
        /* what a block's inline memory hook and branch resolution need (timing.h's tm_mem, tm_resolve) */
        offsetof(rv_timing, pending), offsetof(rv_timing, br_fall), offsetof(rv_timing, br_slot),
        offsetof(rv_timing, br_idx), offsetof(rv_timing, bht), offsetof(rv_timing, hit),
        offsetof(rv_timing, last_line), offsetof(rv_timing, last_way), offsetof(rv_timing, mem_end),
        offsetof(rv_timing, l1.stamp), offsetof(rv_timing, s.l1_hits), offsetof(rv_timing, s.bytes_loaded),
        offsetof(rv_timing, s.bytes_stored), offsetof(rv_timing, s.branches),
        offsetof(tm_line, tag), offsetof(tm_line, ready), offsetof(tm_line, lru), offsetof(tm_line, dirty),
        offsetof(tm_line, prefetched), offsetof(tm_line, shared),
        TM_P_BRANCH, TM_PATH_END, TM_K_MEM, TM_SRC_NONE, TM_DST_NONE,
        /* the vector and prefetch steps a block calls directly or writes inline (software_prefetch) */
        TM_PATH_VECTOR, TM_PATH_PREFETCH, TM_PATH_PLAIN, offsetof(rv_machine, ext_off), RV_EXT_zicbop,
    };
    _Static_assert(sizeof l <= 48 * sizeof *out, "rv_jit_timed_layout's out holds 48");
    memcpy(out, l, sizeof l);
}

void rv_jit_vstep_layout(uint64_t out[32]) {
    const uint64_t l[] = {
        offsetof(rv_timing, vq), offsetof(rv_timing, vq_pos), offsetof(rv_timing, p.vq_depth),
        offsetof(rv_timing, cont_until), offsetof(rv_timing, unit_free), TM_MAX_UNITS, offsetof(rv_timing, vfirst),
        offsetof(rv_timing, vdone), offsetof(rv_timing, v_end), offsetof(rv_timing, vm_vd),
        offsetof(rv_timing, vm_nregs), offsetof(rv_timing, vm_start), offsetof(rv_timing, vm_first_seen),
        offsetof(rv_timing, vm_trained), offsetof(rv_timing, vm_pc), offsetof(rv_timing, s.vec_ops),
        offsetof(rv_timing, s.vec_elems), offsetof(rv_timing, s.vec_elems_max), offsetof(rv_timing, s.flops),
        offsetof(rv_timing, s.pipe_busy), offsetof(rv_timing, ntrace), offsetof(rv_timing, trace),
        sizeof(rv_trace_event), offsetof(rv_trace_event, op), offsetof(rv_trace_event, pipe),
        offsetof(rv_trace_event, unit), TM_TRACE_MAX, TM_K_VEC, TM_K_CONT, TM_P_VMEM, offsetof(rv_timing, vsplit),
    };
    _Static_assert(sizeof l <= 32 * sizeof *out, "rv_jit_vstep_layout's out holds 32");
    memcpy(out, l, sizeof l);
}

int rv_jit_timed(const rv_machine *m) { return m->timed; }

int rv_run(rv_machine *m, uint64_t budget, rv_stop *out) {
    fp_host_reset();   /* fp.h's invariant: Python ran since the last call */
    return m->timed ? rv_run_timed(m, budget, out) : rv_run_functional(m, budget, out);
}
