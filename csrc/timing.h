/* The cycle-approximate timing model, driven by the timed interpreter loop.
 *
 * The scalar core issues in order, issue_width instructions a cycle, each once
 * its source registers are ready (a scoreboard of per-register ready cycles).
 * Vector instructions pass through a queue to a decoupled vector unit with
 * pipes of DLEN-wide beats; loads and stores go through an L1D/L2/DRAM model.
 * docs/timing-model.md describes what is modelled and what is not.
 *
 * Hot path: tm_step (every instruction) and tm_mem (every scalar access) are
 * inline and do table lookups and a few compares; everything rarer
 * (branches, vector ops, cache misses) is out of line in timing.c. */
#ifndef RVAI_TIMING_H
#define RVAI_TIMING_H
#include "machine.h"

/* One register file index space for the scoreboard: x0..x32 (x32 the sink),
 * f0..f31, then indexes no instruction writes (absent sources read 0 there)
 * and indexes nothing reads (absent destinations write there). */
enum { TM_X = 0, TM_F = 33, TM_SRC_NONE = 65, TM_DST_NONE = 98, TM_NREG = 131 };

/* Who produced a register's value, to say what a stall waited for. */
enum { TM_K_DATA = 0, TM_K_MEM = 1, TM_K_VEC = 2 };

/* Pending work resolved when the next instruction is charged. */
enum { TM_P_BRANCH = 1, TM_P_VMEM = 2, TM_P_JUMP = 4 };

/* Per-op facts derived once from the instruction table. */
typedef struct {
    uint8_t cls;
    uint8_t special;          /* not a plain scalar op: branch, divider, vset, vector */
    uint8_t s1, s2, s3, dst;  /* scoreboard bases for rs1, rs2, rs3 and rd */
    uint8_t vflags;           /* TM_V_*: which fields are vector registers, and how */
    uint8_t flops;            /* floating-point operations per vector element */
    uint8_t widen;            /* 2 for widening and narrowing vector ops */
    uint8_t elemwise;         /* gathers, compress: one element at a time */
} tm_opinfo;

enum { TM_V_VD = 1, TM_V_VDSRC = 2, TM_V_VS1 = 4, TM_V_VS2 = 8, TM_V_MASK = 16, TM_V_ANY = 32 };

/* A branch-target-buffer entry: the last target of the jalr at pc. */
typedef struct { uint64_t pc, target; } tm_btb;

typedef struct {
    uint64_t tag;             /* line number, ~0 when invalid */
    uint64_t ready;           /* cycle the fill completes */
    uint32_t lru;
    uint8_t dirty, prefetched;
} tm_line;

typedef struct {
    tm_line *lines;
    unsigned sets, assoc, latency;
    uint32_t stamp;
} tm_cache;

/* Per-pc cycle counters of one executable region (one per halfword). */
typedef struct { uint64_t base, size; uint64_t *count; } tm_range;

#define TM_MAX_RANGES 64
#define TM_MAX_UNITS 8
#define TM_TRACE_MAX 65536
#define TM_VQ_MAX 64

typedef struct rv_timing {
    rv_timing_params p;
    unsigned line_bits;
    /* scalar core */
    uint64_t now;             /* issue cycle of the next instruction */
    unsigned slot;            /* instructions already issued in cycle `now` */
    uint64_t ready[TM_NREG];
    uint8_t kind[TM_NREG];
    uint64_t div_free;        /* the unpipelined divider is free from here */
    unsigned last_dst;        /* the last instruction's destination and issue cycle, */
    uint64_t last_issue;      /* for the memory hook that follows its dispatch */
    int pending;
    uint64_t br_fall;         /* fall-through pc of the pending branch */
    unsigned br_idx;
    uint64_t *br_slot;
    uint8_t *bht;
    uint64_t *ras;            /* return-address stack, circular: overflow overwrites the oldest */
    unsigned ras_top;         /* where the next call pushes */
    tm_btb *btb;
    uint64_t jr_pred;         /* the pending jalr: its predicted target, */
    uint64_t *jr_slot;        /* its per-pc counter, */
    tm_btb *jr_entry;         /* and the BTB entry it trains (NULL for a return) */
    uint64_t jr_pc;
    /* vector unit */
    uint64_t vfirst[32], vdone[32];   /* first / last beat of each register's producer */
    uint64_t unit_free[RV_NVPIPES][TM_MAX_UNITS];
    uint64_t vq[TM_VQ_MAX];   /* start cycles of the queued vector ops, a ring */
    unsigned vq_pos;
    uint64_t v_end;           /* the vector unit is idle from here */
    int vm_vd, vm_nregs;      /* the vector memory op in flight: its destination group, */
    uint64_t vm_start;        /* its start cycle, */
    int vm_first_seen;        /* and whether its first line has been accessed */
    /* memory */
    tm_cache l1, l2;
    double l2_free, dram_free;    /* fill channels are busy until here */
    uint64_t mem_end;         /* the last demand access completes here */
    uint64_t last_line;       /* fast path: the line of the last scalar access */
    tm_line *last_way;
    /* accounting */
    uint64_t base;            /* `now` at the last reset */
    rv_timing_stats s;
    tm_range ranges[TM_MAX_RANGES];
    int nranges;
    uint64_t pc_sink;         /* per-pc counter when a region has none */
    rv_trace_event *trace;
    int ntrace;
} rv_timing;

extern tm_opinfo tm_ops[RV_NOPS];

void tm_run_begin(rv_timing *t);
uint64_t tm_run_end(rv_timing *t);
uint64_t *tm_pc_counters(rv_timing *t, uint64_t base, uint64_t size);
void tm_resolve(rv_timing *t, uint64_t pc);
void tm_step_special(rv_timing *t, const rv_decoded *d, rv_machine *m, uint64_t pc, uint64_t *slot);
uint64_t tm_stall(rv_timing *t, const rv_decoded *d, const tm_opinfo *o, uint64_t rdy);
void tm_mem_slow(rv_timing *t, uint64_t addr, unsigned n, int store);
void tm_free(rv_timing *t);
void tm_reset_counters(rv_timing *t);
/* The modelled cycle count since the last reset, as the instruction just
 * charged sees it (its issue cycle): what the cycle CSR reads in timed mode. */
uint64_t tm_cycle_now(const rv_timing *t);
/* The vector memory hook for helpers outside the loop (vec.c): one call per
 * contiguous access of n bytes at addr. */
void timing_mem(rv_machine *m, uint64_t addr, unsigned n, int is_store);
#define TIMING_MEM(m, a, n, st) do { if (unlikely((m)->timed)) timing_mem((m), (a), (n), (st)); } while (0)

/* Charge one instruction: wait for its sources, take an issue slot, set the
 * ready cycle of its destination, and add the cycles it cost to *slot. */
static inline __attribute__((always_inline)) void tm_step(rv_timing *t, rv_machine *m, const rv_decoded *d, uint64_t pc, uint64_t *slot) {
    if (unlikely(t->pending)) tm_resolve(t, pc);
    const tm_opinfo *o = &tm_ops[d->op];
    if (unlikely(o->special)) { tm_step_special(t, d, m, pc, slot); return; }
    uint64_t *r = t->ready;
    uint64_t rdy = r[o->s1 + d->rs1], x;
    x = r[o->s2 + d->rs2]; rdy = x > rdy ? x : rdy;
    x = r[o->s3 + d->rs3]; rdy = x > rdy ? x : rdy;
    uint64_t now = t->now;
    if (unlikely(rdy > now)) now = tm_stall(t, d, o, rdy);
    unsigned dst = o->dst + d->rd;
    t->last_issue = now;
    t->last_dst = dst;
    r[dst] = now + t->p.latency[o->cls];
    t->kind[dst] = TM_K_DATA;
    if (++t->slot >= t->p.issue_width) { t->slot = 0; now++; }
    *slot += now - t->now;
    t->now = now;
}

/* A scalar load or store of n bytes at addr by the instruction just charged:
 * a load's destination becomes ready when its data arrives. */
static inline __attribute__((always_inline)) void tm_mem(rv_timing *t, uint64_t addr, unsigned n, int store) {
    uint64_t line = addr >> t->line_bits;
    if (likely(line == t->last_line && ((addr + n - 1) >> t->line_bits) == line &&
               !(t->pending & TM_P_VMEM))) {
        /* the same line as the last scalar access: an L1 hit */
        uint64_t done = t->last_issue + t->p.l1_latency;
        if (t->last_way->ready > done) done = t->last_way->ready;   /* still being filled */
        if (done > t->mem_end) t->mem_end = done;
        t->s.l1_hits++;
        if (store) { t->last_way->dirty = 1; t->s.bytes_stored += n; }
        else { t->ready[t->last_dst] = done; t->kind[t->last_dst] = TM_K_MEM; t->s.bytes_loaded += n; }
        return;
    }
    tm_mem_slow(t, addr, n, store);
}

#endif
