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
/* TM_K_CONT: memory whose transfer other harts' traffic delayed (contention). */
enum { TM_K_DATA = 0, TM_K_MEM = 1, TM_K_VEC = 2, TM_K_CONT = 3, TM_NKINDS = 4 };

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
    uint8_t gvd, gvs1, gvs2;  /* TM_G_*: the register group of vd (as destination or source), vs1, vs2 */
} tm_opinfo;

enum { TM_V_VD = 1, TM_V_VDSRC = 2, TM_V_VS1 = 4, TM_V_VS2 = 8, TM_V_MASK = 16, TM_V_ANY = 32, TM_V_V0 = 64 };

/* The register group of a vector operand (RVV 1.0 §5.2, and each
 * instruction's section): 1 to 8 fixed registers (a mask, a reduction's
 * scalar, vmv<nr>r.v's nr), or the registers vl elements of an element
 * width cover: SEW, 2*SEW (widening results, narrowing and .w sources),
 * SEW/2, /4, /8 (vzext/vsext.vf2/4/8), 16 bits (vrgatherei16's index), a
 * memory op's data (its EEW times its fields; whole registers: NF) or its
 * index (the width field's EEW). */
enum { TM_G_ONE = 1, TM_G_SEW = 16, TM_G_WIDE, TM_G_HALF, TM_G_QUARTER, TM_G_EIGHTH, TM_G_EI16, TM_G_MEM, TM_G_INDEX };

/* One stream of the stride prefetcher: the memory instruction at pc, the
 * address and footprint of its last access seen, the stride between its
 * accesses, how far ahead the stream runs (lines, ramping up to
 * prefetch_degree), how many strides past `last` it has already fetched, and
 * train's memo for a stream at full distance: how many accesses `dist` lines
 * reach at this stride for an access of k_span bytes. */
typedef struct {
    uint64_t pc, last;
    int64_t stride;
    uint32_t span, lru;
    uint32_t dist, ahead, k_max, k_span;
} tm_stream;

/* A branch-target-buffer entry: the last target of the jalr at pc. */
typedef struct { uint64_t pc, target; } tm_btb;

typedef struct {
    uint64_t tag;             /* line number, ~0 when invalid */
    uint64_t ready;           /* cycle the fill completes */
    uint32_t lru;
    uint8_t dirty, prefetched;
    uint8_t shared;           /* another hart's L1 may hold it too: a store must invalidate theirs */
} tm_line;

/* A channel shared by several harts (a cluster's L2, DRAM).  Harts run a
 * quantum at a time, so their requests reach it out of time order: instead
 * of one "free from" cycle it keeps the bytes booked in each bucket of
 * 2^TM_CAL_SHIFT cycles over a sliding window, and a transfer takes the
 * first room from the cycle it wants on. */
#define TM_CAL_BITS 14
#define TM_CAL_SHIFT 3
typedef struct {
    double cap;               /* bytes a bucket carries */
    uint64_t lo;              /* the oldest bucket in the window */
    uint64_t full_to;         /* every bucket from lo below this is full */
    float used[1u << TM_CAL_BITS];
} tm_calendar;

/* A set-associative cache, and its hit filter: a direct-mapped array of
 * pointers to its ways, indexed by a hash of the line number (tm_filter_slot).
 * An entry only speeds up finding a way: it counts only if the way's tag is
 * the line, so stale entries are harmless and the cache's contents and LRU
 * order are exactly those of the associative search. */
typedef struct {
    tm_line *lines;
    unsigned sets, assoc, latency;
    uint32_t stamp;
    tm_line **hit;
    unsigned hit_shift;       /* 64 - log2(filter entries) */
    uint64_t set_mask;        /* sets - 1 */
    size_t set_bytes;         /* a set's ways, in bytes: find's set address is one multiply, of neither field */
    int by_four;              /* find searches four ways a pass (assoc a multiple of 4, not in the reference
                               * mode, whose one way a pass the fast one is tested against) */
} tm_cache;

/* What the harts of a machine share (NULL with one hart): an L2 and its fill
 * port per cluster, the DRAM channel, and each hart's model (for coherence). */
typedef struct tm_uncore {
    int nharts, nclusters;
    struct rv_timing *hart[RV_MAX_HARTS];
    tm_cache l2[RV_MAX_HARTS];
    tm_calendar *l2_port;     /* one per cluster, or NULL when the L2 port is not shared */
    tm_calendar dram;
} tm_uncore;

/* One per halfword of an executable region, beside its decode-cache slot:
 * the cycles charged to that pc, and what the inline step needs of the
 * instruction there, derived from its decoded form on its first timed
 * execution (so the step does no per-op table lookups). */
typedef struct {
    uint64_t cycles;
    union {
        uint16_t lat;         /* result latency (plain and branch ops) */
        uint16_t plan;        /* a vector op's (TM_PATH_VECTOR): its tm_vplan in t->vplans, 0 for none */
    };
    uint8_t s1, s2, s3, dst;  /* scoreboard indexes of the sources and the destination */
    uint8_t path;             /* TM_PATH_*: how tm_step charges it */
    uint8_t pad;
} tm_slot;

/* Plain scalar ops and conditional branches are charged inline; vector ops
 * other than vsetvl (TM_PATH_VECTOR) and Zicbop prefetches (TM_PATH_PREFETCH)
 * go from tm_step straight to their own out-of-line steps; the rest (jumps,
 * the divider, vsetvl, latencies too large for `lat`) to tm_step_special,
 * which also derives a slot not derived yet (TM_PATH_NEW).  In the reference
 * mode every slot is TM_PATH_SPECIAL: the general path charges everything. */
enum { TM_PATH_NEW = 0, TM_PATH_SPECIAL = 1, TM_PATH_VECTOR = 2, TM_PATH_PREFETCH = 3,
       TM_PATH_PLAIN = 8,     /* the inline ones last (PLAIN with TM_PLAIN_* flags): one compare tells them apart */
       TM_PATH_END = 16 };    /* past every path */

/* What the inline step of a plain slot does beyond the common part, known
 * when the slot is derived (the model's parameters are fixed), so the step
 * tests one bit instead of looking it up: a conditional branch; a third
 * source (the fused multiply-adds), which no other op reads; a destination
 * that waw_pairing keeps out of the issue cycle of a write of the same
 * register (an x or f register other than the sink, with waw_pairing on). */
enum { TM_PLAIN_BRANCH = 1, TM_PLAIN_S3 = 2, TM_PLAIN_WAW = 4 };

/* The tm_slots of one executable region (one per halfword). */
typedef struct { uint64_t base, size; tm_slot *slots; } tm_range;

/* What vector_op derives from a vector instruction, the vtype, vl and the
 * model's parameters (plan_vector): every part of its step that does not
 * depend on the machine's state, so that each execution computes only what
 * does: the queue, the units, the registers' readiness, the counters.  One
 * per vector instruction's slot (tm_slot.plan), made when the slot is derived
 * and planned on its first execution, again whenever vtype or vl differ from
 * the ones it was planned for.  Keyed by the instruction's encoding, vtype
 * and vl (all the plan depends on besides the model's fixed parameters), so
 * a stale entry is never used. */
typedef struct {
    uint64_t vtype, vl;       /* the key, with raw */
    const tm_slot *owner;     /* the slot it was made for (a slot derived again keeps it) */
    uint32_t raw;
    uint16_t op;              /* the instruction's op, for the trace */
    uint8_t pipe, units;      /* its pipe, and that pipe's units */
    uint8_t vd, nvd;          /* its destination group's first register, and the group's registers below
                               * v32 (the ones it sets); nvd 0 when it writes no vector register */
    uint8_t sdst;             /* the scoreboard index of its scalar result, TM_DST_NONE when none */
    uint8_t nsrc;             /* the source groups it waits for: vs1, vs2, vd, v0 at most */
    uint8_t srcs[4], srcn[4]; /* each group's first register and its registers (1 to 8, below v32) */
    uint32_t inner;           /* the vsplit bits of its source groups' registers past their first */
    uint32_t wclear, wset;    /* its write's vsplit bits: the group's own past its first, and its two edges */
    uint8_t chained;          /* the model chains: a source is needed from its first beat, not its last */
    uint8_t first_at_done;    /* its group's first result exists only once it is done (no chaining, reductions) */
    uint8_t is_mem;           /* a vector memory op */
    uint8_t vm_vd, vm_nregs;  /* what its accesses complete: a load's destination group, else none (0, 0) */
    uint64_t occupancy, lat;  /* cycles on its unit, cycles from its last beat to its result */
    uint64_t elems, elems_max, flops;   /* what it adds to the counters */
} tm_vplan;
/* Plans a model makes at most (tm_slot.plan's range; index 0 is none). */
#define TM_VPLANS_MAX 65536
#define TM_STREAM_HINTS 64

#define TM_MAX_RANGES 64
#define TM_MAX_UNITS 8
#define TM_TRACE_MAX 65536
#define TM_VQ_MAX 64


typedef struct rv_timing {
    /* hot: read or written by every charged instruction (first cache lines) */
    uint64_t now;             /* issue cycle of the next instruction */
    unsigned room;            /* issue slots left in cycle `now` (issue_width when none is taken) */
    unsigned issue_width;     /* p.issue_width */
    int pending;              /* TM_P_*, set through tm_set_pending */
    unsigned inline_from;     /* the paths tm_step charges without a test for pending work: TM_PATH_PLAIN
                               * and up, none (TM_PATH_END) while work is pending */
    unsigned last_dst;        /* the last instruction's destination and issue cycle, */
    unsigned waw_below;       /* waw_pairing: destinations below this (x and f registers) never
                               * share an issue cycle; 0 when off */
    uint64_t last_issue;      /* for the memory hook that follows its dispatch */
    uint64_t stall[TM_NKINDS];   /* stall cycles by TM_K_* of the late source (copied to s) */
    uint64_t br_fall;         /* fall-through pc of the pending branch */
    uint64_t *br_slot;        /* its per-pc cycle counter */
    unsigned br_idx;
    unsigned line_bits;
    uint8_t *bht;
    /* L1's hit filter (l1.hit and l1.hit_shift, here for the inline path) */
    tm_line **hit;
    unsigned hit_shift;
    uint64_t last_line;       /* fast path: the line of the last scalar access */
    tm_line *last_way;
    uint64_t mem_end;         /* the last demand access completes here */
    uint64_t ready[TM_NREG];
    uint8_t kind[TM_NREG];
    rv_timing_params p;
    /* scalar core */
    uint64_t div_free;        /* the unpipelined divider is free from here */
    uint64_t unit_busy[RV_NCLASSES];  /* scalar classes with an occupancy: their unit is free from here */
    uint64_t *ras;            /* return-address stack, circular: overflow overwrites the oldest */
    unsigned ras_top;         /* where the next call pushes */
    tm_btb *btb;
    uint64_t jr_pred;         /* the pending jalr: its predicted target, */
    uint64_t *jr_slot;        /* its per-pc counter, */
    tm_btb *jr_entry;         /* and the BTB entry it trains (NULL for a return) */
    uint64_t jr_pc;
    /* vector unit: per op, the merged cost-table row that prices it (-1: the
     * class's DLEN rule), resolved once when the parameters are set */
    int16_t op_cost[RV_NOPS];
    rv_vcost *costs;
    tm_vplan *vplans;         /* the plans of the vector slots (index 0 unused), */
    unsigned nvplans, vplans_cap;   /* how many are in use, and room for */
    int reference;            /* RVAI_TIMING_REFERENCE: charge every instruction through the general
                               * path, plan every vector op afresh, search the whole stream table,
                               * compute each stream's reach afresh and train a stream at full
                               * distance as any other, search a cache's set one way a pass (the
                               * reference path the fast one is tested against) */
    uint64_t vfirst[32], vdone[32];   /* first / last beat of each register's producer */
    uint32_t vsplit;          /* bit r: v<r> and v<r-1> were last set by different writes; a source
                               * group with none of its bits past its first register set was set
                               * by one write, whose cycles its first register holds */
    uint64_t unit_free[RV_NVPIPES][TM_MAX_UNITS];
    uint64_t vq[TM_VQ_MAX];   /* start cycles of the queued vector ops, a ring */
    unsigned vq_pos;
    uint64_t v_end;           /* the vector unit is idle from here */
    int vm_vd, vm_nregs;      /* the vector memory op in flight: its destination group, */
    uint64_t vm_start;        /* its start cycle, */
    int vm_first_seen;        /* whether its first line has been accessed, */
    int vm_trained;           /* whether it has trained the prefetcher, */
    uint64_t vm_pc;           /* and its pc */
    /* memory */
    tm_cache l1, l2;
    tm_cache *l2p;            /* the L2 it fills from: its own, or its cluster's */
    tm_uncore *u;             /* shared with the other harts, or NULL */
    tm_calendar *l2_port;     /* its cluster's L2 port when shared */
    int hart;
    uint64_t cont_until;      /* the last cycle a transfer delayed by contention completes */
    int cont_hit;             /* the access being charged met contention */
    double l2_free, dram_free;    /* fill channels are busy until here */
    double l2_line_cycles, dram_line_cycles;   /* cycles a line takes on each (set_line_cycles) */
    tm_stream *streams;       /* the prefetcher's stream table (prefetch_streams entries) */
    uint32_t stream_stamp;
    uint8_t stream_hint[TM_STREAM_HINTS];   /* by pc: where its stream was last found (checked before use) */
    /* accounting */
    uint64_t base;            /* `now` at the last reset */
    rv_timing_stats s;
    tm_range ranges[TM_MAX_RANGES];
    int nranges;
    tm_slot *pc_scratch;      /* slots whose counts are discarded, when the ranges are used up */
    uint64_t pc_scratch_size;
    rv_trace_event *trace;
    int ntrace;
    /* timed translated blocks: the region the running block's pcs are in */
    rv_decoded *jcache;
    uint64_t jbase, jsize;
    tm_slot *jslots;
#ifdef RVAI_PASS_PROBE
    struct tm_probe *probe;   /* the pass probe's loops and counts (csrc/pass_probe.c) */
#endif
} rv_timing;

/* The pass probe's hooks (csrc/pass_probe.c), in a build with -DRVAI_PASS_PROBE
 * only: TM_PROBE(x) is x there and nothing in the default build. */
#ifdef RVAI_PASS_PROBE
void tm_probe_step(rv_timing *t, uint64_t pc);
void tm_probe_branch(rv_timing *t, uint64_t fall, uint64_t pc, int taken);
void tm_probe_scalar(rv_timing *t, uint64_t pc, int store);
void tm_probe_vector(rv_timing *t, int store);
void tm_probe_vec(rv_timing *t, uint64_t vtype, uint64_t vl);
void tm_probe_run_end(rv_timing *t);
void tm_probe_free(rv_timing *t);
/* The memory side's events (ms64): each with a cycle (TM_PE_CYCLE: taken
 * relative to the pass's first cycle) or a small value. */
enum { TM_PE_FASTHIT, TM_PE_SAMELINE, TM_PE_L1HIT, TM_PE_L1FIRST, TM_PE_L1MISS, TM_PE_PF_IN_L1, TM_PE_L2HIT,
       TM_PE_L2MISS, TM_PE_V1_INVALID, TM_PE_V1_CLEAN, TM_PE_V1_DIRTY_L2, TM_PE_V1_DIRTY_DRAM, TM_PE_V2_DIRTY,
       TM_PE_TRAIN, TM_PE_STEADY, TM_PE_NR, TM_PE_CYCLE = 64 };
void tm_probe_mem(rv_timing *t, unsigned code, uint64_t value);
#define TM_PROBE(x) x
#else
#define TM_PROBE(x)
#endif

extern tm_opinfo tm_ops[RV_NOPS];

/* The issue cycle has moved on: none of its issue slots is taken yet. */
static inline void tm_new_cycle(rv_timing *t) { t->room = t->issue_width; }

/* Whether an instruction has taken a slot of the current issue cycle. */
static inline int tm_cycle_begun(const rv_timing *t) { return t->room != t->issue_width; }

/* An instruction issued in cycle `now` takes one of its slots: the cycle the
 * next one can issue in (the next cycle once this one is full). */
static inline uint64_t tm_take_slot(rv_timing *t, uint64_t now) {
    if (--t->room == 0) { tm_new_cycle(t); now++; }
    return now;
}

void tm_run_begin(rv_timing *t);
uint64_t tm_run_end(rv_timing *t);
tm_slot *tm_pc_counters(rv_timing *t, uint64_t base, uint64_t size);
/* tm_step's out-of-line part for a slot not derived yet (it derives it) or
 * derived TM_PATH_SPECIAL (every slot in the reference mode): the general
 * path, which looks the instruction up in the op table and the parameters. */
void tm_step_special(rv_timing *t, const rv_decoded *d, rv_machine *m, uint64_t pc, tm_slot *e);
/* Derive slot e of decoded instruction d now if it is not yet (a translation
 * reads it before its first execution; that execution then finds it derived). */
void tm_derive_slot(rv_timing *t, const rv_decoded *d, tm_slot *e);
/* tm_step_special for a slot derived as TM_PATH_VECTOR, called by tm_step directly. */
void tm_vector_step(rv_timing *t, const rv_decoded *d, rv_machine *m, uint64_t pc, tm_slot *e);
/* tm_step_special for a slot derived as TM_PATH_PREFETCH, likewise. */
void tm_prefetch_step(rv_timing *t, const rv_decoded *d, rv_machine *m, uint64_t pc, tm_slot *e);
/* The plan of vector slot e (instruction d) for m's vtype and vl as words,
 * for a timed translated block that writes its step with them as constants
 * (under a test of that vtype and vl, the first two words): TM_PLAN_WORDS,
 * or 0 when the slot has no plan (the reference mode, the model out of plans). */
#define TM_PLAN_WORDS 27   /* with the 4 source groups' first registers and counts */
int tm_plan_words(rv_timing *t, const rv_decoded *d, rv_machine *m, const tm_slot *e, uint64_t *out);
/* A Zicbop prefetch (d) of the line at addr, issued at cycle `when`, whose
 * line the hit filter did not find in L1: the rest of tm_prefetch_step's
 * request for it. */
void tm_prefetch_miss(rv_timing *t, rv_machine *m, const rv_decoded *d, uint64_t addr, uint64_t when);
void tm_mem_slow(rv_timing *t, uint64_t addr, unsigned n, int store, uint64_t pc);
/* tm_mem_slow for an access within one line, with no vector memory op in flight,
 * whose hit-filter entry w did not give a plain hit: the first use of a
 * prefetched line goes straight to its own path, anything else to tm_mem_slow. */
void tm_mem_filtered(rv_timing *t, tm_line *w, uint64_t line, uint64_t addr, unsigned n, int store, uint64_t pc);
/* The first use of line w, prefetched into L1 (not shared when a store), by a
 * translated block's scalar access within it, which found w by its own filter
 * probe and whose exits count the access's L1 hit and bytes: the rest of
 * tm_mem_filtered's work for it, with neither the test nor those counts. */
void tm_first_use(rv_timing *t, tm_line *w, uint64_t line, uint64_t addr, unsigned n, int store, uint64_t pc);
void tm_zero_block(rv_timing *t, uint64_t addr, uint64_t pc);
void tm_free(rv_timing *t);
void tm_uncore_free(tm_uncore *u);
/* Zero the counters; returns the cycle the next run starts at (all issued work drained). */
uint64_t tm_reset_counters(rv_timing *t);
/* Start counting (and issuing) at cycle `at`, no earlier than the drained state. */
void tm_rebase(rv_timing *t, uint64_t at);
/* A hart's clock for the scheduler: the issue cycle of its next instruction. */
static inline uint64_t tm_clock(const rv_timing *t) { return t->now; }
/* The hart waited idle until cycle `to`: nothing issues before it. */
void tm_advance(rv_timing *t, uint64_t to);
/* The modelled cycle count since the last reset, as the instruction just
 * charged sees it (its issue cycle): what the cycle CSR reads in timed mode. */
uint64_t tm_cycle_now(const rv_timing *t);
/* The vector memory hook for helpers outside the loop (vec.c): one call per
 * contiguous access of n bytes at addr. */
void timing_mem(rv_machine *m, uint64_t addr, unsigned n, int is_store);
#define TIMING_MEM(m, a, n, st) do { if (unlikely((m)->timed)) timing_mem((m), (a), (n), (st)); } while (0)
/* timing_mem's path for the access of a vector memory op whose step left it
 * pending (TM_P_VMEM): what a timed translated block calls after copying a
 * unit-stride group itself. */
void tm_vmem(rv_timing *t, uint64_t addr, unsigned n, int store);

void tm_resolve_other(rv_timing *t, uint64_t pc);
void tm_mispredicted_branch(rv_timing *t);

/* Set the pending work (TM_P_*), and with it inline_from, so that tm_step
 * tests for pending work only while there is some: its one compare of the
 * path against inline_from answers both questions for a plain op. */
static inline void tm_set_pending(rv_timing *t, int pending) {
    t->pending = pending;
    t->inline_from = pending ? TM_PATH_END : TM_PATH_PLAIN;
}

/* The instruction at pc follows a pending branch or jump: was it predicted?
 * A conditional branch (the common case) is checked here; a misprediction
 * and jumps go out of line. */
static inline __attribute__((always_inline)) void tm_resolve(rv_timing *t, uint64_t pc) {
    if (likely(t->pending == TM_P_BRANCH)) {
        int taken = pc != t->br_fall;
        uint8_t *c = &t->bht[t->br_idx];
        t->s.branches++;
        if (unlikely(taken != (*c >= 2))) tm_mispredicted_branch(t);
        if (taken) { if (*c < 3) (*c)++; }
        else if (*c > 0) (*c)--;
        tm_set_pending(t, 0);
        TM_PROBE(tm_probe_branch(t, t->br_fall, pc, taken));
    } else {
        tm_resolve_other(t, pc);
    }
}

/* Charge one instruction (its slot e): wait for its sources, take an issue
 * slot, set the ready cycle of its destination, and add the cycles it cost
 * to e->cycles. */
static inline __attribute__((always_inline)) void tm_step_unprobed(rv_timing *t, rv_machine *m, const rv_decoded *d, uint64_t pc, tm_slot *e) {
    unsigned path = e->path;
    if (unlikely(path < t->inline_from)) {   /* work is pending, or not a plain op */
        if (t->pending) tm_resolve(t, pc);
        if (path < TM_PATH_PLAIN) {
            if (path == TM_PATH_VECTOR) tm_vector_step(t, d, m, pc, e);
            else if (path == TM_PATH_PREFETCH) tm_prefetch_step(t, d, m, pc, e);
            else tm_step_special(t, d, m, pc, e);
            return;
        }
    }
    uint64_t *r = t->ready;
    unsigned i1 = e->s1, i2 = e->s2;
    uint64_t a = r[i1], b = r[i2];
    uint64_t rdy = a > b ? a : b;
    if (unlikely(path & TM_PLAIN_S3)) {
        uint64_t c = r[e->s3];
        rdy = c > rdy ? c : rdy;
    }
    uint64_t now = t->now;
    if (unlikely(rdy > now)) {
        /* the issue cycle moves to rdy: charge the wait to what the first
         * late source (in operand order) was waiting for */
        t->stall[a == rdy ? t->kind[i1] : b == rdy ? t->kind[i2] : t->kind[e->s3]] += rdy - now;
        tm_new_cycle(t);
        now = rdy;
    }
    unsigned dst = e->dst;
    if ((path & TM_PLAIN_WAW) && dst == t->last_dst && tm_cycle_begun(t)) {
        tm_new_cycle(t);   /* waw_pairing: not in the same cycle as a write of the same register */
        now++;
    }
    t->last_issue = now;
    t->last_dst = dst;
    r[dst] = now + e->lat;
    t->kind[dst] = TM_K_DATA;
    if (path & TM_PLAIN_BRANCH) {   /* resolved when the next instruction is charged */
        tm_set_pending(t, TM_P_BRANCH);
        t->br_fall = pc + d->len;
        t->br_idx = (unsigned)(pc >> 1) & (t->p.bht_entries - 1);
        t->br_slot = &e->cycles;
    }
    now = tm_take_slot(t, now);
    e->cycles += now - t->now;
    t->now = now;
}

/* tm_step, counted by the pass probe (a build with -DRVAI_PASS_PROBE) once
 * per instruction: a slot derived on its first step is charged again through
 * tm_step_unprobed (timing.c's step_derived), not counted twice. */
static inline __attribute__((always_inline)) void tm_step(rv_timing *t, rv_machine *m, const rv_decoded *d, uint64_t pc, tm_slot *e) {
    TM_PROBE(tm_probe_step(t, pc));
    tm_step_unprobed(t, m, d, pc, e);
}

/* A line's index in a hit filter of 2**(64 - shift) entries: a multiplicative
 * hash, so that streams a power of two apart (a copy's source and destination)
 * do not share entries the way they share cache sets. */
static inline uint64_t tm_filter_index(uint64_t line, unsigned shift) {
    return (line * 0x9e3779b97f4a7c15ull) >> shift;
}

/* The hit-filter entry of a line in cache c. */
static inline tm_line **tm_filter_slot(const tm_cache *c, uint64_t line) {
    return &c->hit[tm_filter_index(line, c->hit_shift)];
}

/* tm_filter_slot of L1, through the copy of its filter in the hot fields. */
static inline tm_line **tm_hit_slot(rv_timing *t, uint64_t line) {
    return &t->hit[tm_filter_index(line, t->hit_shift)];
}

/* A scalar load or store of n bytes at addr by the instruction just charged
 * (at pc): a load's destination becomes ready when its data arrives.  No
 * vector memory op is in flight here (TM_P_VMEM): charging the instruction
 * resolved whatever was pending, and a scalar one sets nothing but a branch
 * or jump (timing_mem tests it for the vector helpers). */
static inline __attribute__((always_inline)) void tm_mem_access(rv_timing *t, uint64_t addr, unsigned n, int store,
                                                                uint64_t pc) {
    uint64_t line = addr >> t->line_bits;
    if (likely(((addr + n - 1) >> t->line_bits) == line)) {
        tm_line *w = t->last_way;
        uint64_t done = t->last_issue + t->p.l1_latency;
        if (line == t->last_line) {
            /* the same line as the last scalar access: an L1 hit */
            if (store && unlikely(w->shared)) { tm_mem_slow(t, addr, n, store, pc); return; }
        } else {
            w = *tm_hit_slot(t, line);
            if (unlikely(w->tag != line || w->prefetched || (store && w->shared))) {
                tm_mem_filtered(t, w, line, addr, n, store, pc);
                return;
            }
            /* an L1 hit found by the filter: what access_line does on a hit
             * of a line that was not prefetched */
            w->lru = ++t->l1.stamp;
            t->last_line = line;
            t->last_way = w;
        }
        TM_PROBE(tm_probe_mem(t, TM_PE_FASTHIT | TM_PE_CYCLE, w->ready > done ? w->ready : done));
        if (w->ready > done) done = w->ready;   /* still being filled */
        if (done > t->mem_end) t->mem_end = done;
        t->s.l1_hits++;
        if (store) { w->dirty = 1; t->s.bytes_stored += n; }
        else { t->ready[t->last_dst] = done; t->kind[t->last_dst] = TM_K_MEM; t->s.bytes_loaded += n; }
        return;
    }
    tm_mem_slow(t, addr, n, store, pc);
}

/* tm_mem_access, and in a build with the pass probe its record of the access's outcome. */
static inline __attribute__((always_inline)) void tm_mem(rv_timing *t, uint64_t addr, unsigned n, int store, uint64_t pc) {
    tm_mem_access(t, addr, n, store, pc);
    TM_PROBE(tm_probe_scalar(t, pc, store));
}

#endif
