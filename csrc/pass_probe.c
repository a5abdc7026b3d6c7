/* The pass probe: does a loop pass's timing repeat?  (issue 15, ps63)
 *
 * Compiled only with -DRVAI_PASS_PROBE (bench/pass_repeat.py builds such an
 * extension of its own); the default build holds none of it, and the hooks in
 * timing.c and timing.h (TM_PROBE) compile to nothing there.
 *
 * It watches the timed interpreter (tm_step; translated blocks time
 * themselves and are not seen).  At each taken backward conditional branch,
 * once resolved, the model's core state relative to `now` is snapshot
 * (pp_snapshot: every field the next instructions' timing can read, cycles
 * at or before `now` as 0, the vector queue from its next slot, the units'
 * order); a pass of a loop runs from one of its back edges to its next with
 * no other loop's back edge between (innermost passes).  A pass's outcomes:
 * its path (every pc charged), the vtype and vl of its vector ops, and each
 * memory access's effect on the core relative to its issue.  A pass repeats
 * with period k when its start state and outcomes equal those of the pass k
 * before (k up to PP_K); its end state must then equal that pass's end state
 * too, else the snapshot misses state that matters (counted: `mismatch`).
 *
 * RVAI_PASS_PROBE_OUT names the file each run's counts are appended to (one
 * line per loop, at tm_run_end); RVAI_PASS_PROBE_IGNORE names state regions
 * (pp_rname) left out of the snapshot, to try coarser keys. */
#ifdef RVAI_PASS_PROBE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "timing.h"

#define PP_K 32        /* the longest period looked for */
#define PP_LOOPS 64    /* loops watched (by their branch's fall-through) */
#define PP_MEM 96      /* accesses of a pass kept for telling which differs */
#define PP_SLOTS 8     /* the accesses that differed first, by pc */
#define PP_MEV 128     /* memory-side events of a pass kept for telling which differs first */
static const char *const pp_ename[TM_PE_NR] = {"fasthit", "sameline", "l1hit", "l1first", "l1miss", "pf_in_l1",
                                               "l2hit", "l2miss", "v1_invalid", "v1_clean", "v1_dirty_l2",
                                               "v1_dirty_dram", "v2_dirty", "train", "steady"};

/* The snapshot's regions, each of pp_rlen words (the names RVAI_PASS_PROBE_IGNORE takes). */
enum { PP_R_ISSUE, PP_R_SCALAR_UNITS, PP_R_READY, PP_R_KIND, PP_R_VFIRST, PP_R_VDONE, PP_R_VSPLIT, PP_R_UNIT_FREE,
       PP_R_UNIT_ORDER, PP_R_VQ, PP_R_V_END, PP_R_MEM_END, PP_R_CONT, PP_R_BHT, PP_R_BTB_RAS, PP_NR };
static const char *const pp_rname[PP_NR] = {"issue", "scalar_units", "ready", "kind", "vfirst", "vdone", "vsplit",
                                            "unit_free", "unit_order", "vq", "v_end", "mem_end", "cont", "bht",
                                            "btb_ras"};
static const unsigned pp_rlen[PP_NR] = {2, 1 + RV_NCLASSES, TM_NREG, TM_NREG, 32, 32, 1, RV_NVPIPES * TM_MAX_UNITS,
                                        RV_NVPIPES, TM_VQ_MAX, 1, 1, 1, 1, 1};
#define PP_S (2 + 1 + RV_NCLASSES + 2 * TM_NREG + 64 + 1 + RV_NVPIPES * TM_MAX_UNITS + RV_NVPIPES + TM_VQ_MAX + 5)

/* The fill channels' free cycles relative to now (pp_channels). */
typedef struct { double l2, dram; } pp_chan;

/* One access's effect: its pc (odd for a vector op's) and four cycle differences. */
typedef struct { uint64_t pc; int64_t a, b, c, d; } pp_acc;

/* One pass: its start and end states, its outcomes (hashes, and the first
 * PP_MEM accesses as they were), and the fill channels' state at its start
 * (not in the key: whether they differ where the memory outcomes do). */
typedef struct {
    uint64_t s0[PP_S], s1[PP_S];
    uint64_t path, vec, ninstr, cycles, nmem, memh;
    pp_chan ch0, ch1;                /* the fill channels at its start and end */
    uint64_t mkind, mfull, nmev;     /* the memory side: its events' kinds, kinds and values, how many */
    uint64_t mev[PP_MEV];            /* (not cleared) the first events, code << 56 ^ value */
    pp_acc mem[PP_MEM];
} pp_pass;

/* A loop's last PP_K passes and its counts.  For a pass that does not
 * repeat, the pass before it that differs in the fewest regions and outcome
 * kinds says what differs (diff_*). */
typedef struct {
    uint64_t fall, head, nhist, pos;
    pp_pass *hist;
    uint64_t passes, instrs, cycles, rep_passes, rep_instrs, rep_k[PP_K + 1];
    uint64_t s_rep, o_rep, mismatch;         /* the start state alone, the outcomes alone, end states differing */
    uint64_t diff[PP_NR], diff_path, diff_vec, diff_mem, mem_only, state_only, chan_diff;
    uint64_t diff_pc[PP_SLOTS], diff_pc_n[PP_SLOTS];
    /* the memory side (ms64): passes whose events' kinds, kinds and values, and those with the fill
     * channels' state too, equal a pass k <= PP_MK before; and with the core's repeat; events by code;
     * the first differing event's code when the kinds repeat but the values do not */
    uint64_t m_kind, m_full, m_chan, m_core, m_core_full, ev[TM_PE_NR], m_diff[TM_PE_NR], m_chan_only;
    /* the memory side and channels repeating at the core's own k; channels that then end otherwise */
    uint64_t m_same_k, m_chan_mismatch;
} pp_loop;

typedef struct tm_probe {
    pp_loop loops[PP_LOOPS];
    int nloops, open;    /* the open pass's loop, -1 when none */
    pp_pass cur;
    uint64_t total_instrs;
    unsigned ignore;     /* PP_R_* bits left out of the snapshot */
    unsigned mem_k;      /* the memory side's repeat is looked for k <= mem_k passes back (RVAI_PASS_PROBE_MEMK, 2) */
} tm_probe;

static uint64_t pp_mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

/* A cycle relative to now: what is at or before now cannot delay anything from here. */
static uint64_t pp_rel(uint64_t x, uint64_t now) { return x > now ? x - now : 0; }

static tm_probe *pp_get(rv_timing *t) {
    if (!t->probe) {
        t->probe = calloc(1, sizeof *t->probe);
        if (!t->probe) abort();   /* (a measurement build: no way to go on without it) */
        t->probe->open = -1;
        unsigned words = 0;
        for (int r = 0; r < PP_NR; r++) words += pp_rlen[r];
        if (words != PP_S) abort();   /* pp_rlen and PP_S disagree */
        const char *ig = getenv("RVAI_PASS_PROBE_IGNORE");
        for (int r = 0; ig && r < PP_NR; r++)
            if (strstr(ig, pp_rname[r])) t->probe->ignore |= 1u << r;
        const char *mk = getenv("RVAI_PASS_PROBE_MEMK");
        t->probe->mem_k = mk && atoi(mk) > 0 ? (unsigned)atoi(mk) : 2;
        if (t->probe->mem_k > PP_K) t->probe->mem_k = PP_K;
    }
    return t->probe;
}

/* The units of each vector pipe in the order the next ops take them (by free cycle, ties by index), packed. */
static uint64_t pp_unit_order(const rv_timing *t, int q) {
    uint64_t code = 0;
    int n = (int)t->p.pipe_count[q] < TM_MAX_UNITS ? (int)t->p.pipe_count[q] : TM_MAX_UNITS;
    const uint64_t *uf = t->unit_free[q];
    for (int u = 0; u < n; u++) {
        unsigned rank = 0;
        for (int v = 0; v < n; v++) rank += uf[v] < uf[u] || (uf[v] == uf[u] && v < u);
        code = code << 4 | rank;
    }
    return code;
}

/* A hash of the branch predictors: the BHT a word at a time, the RAS and the BTB. */
static void pp_predictors(const rv_timing *t, uint64_t *bht, uint64_t *btb_ras) {
    uint64_t h = 0, w;
    for (unsigned i = 0; i + 8 <= t->p.bht_entries; i += 8) {
        memcpy(&w, t->bht + i, 8);
        h = pp_mix(h, w);
    }
    *bht = h;
    h = t->ras_top;
    for (unsigned i = 0; i < t->p.ras_depth; i++) h = pp_mix(h, t->ras[i]);
    for (unsigned i = 0; i < t->p.btb_entries; i++) h = pp_mix(pp_mix(h, t->btb[i].pc), t->btb[i].target);
    *btb_ras = h;
}

/* The core state relative to now into s, region after region (pp_rlen); the ignored regions zero. */
static void pp_snapshot(const rv_timing *t, uint64_t *s, unsigned ignore) {
    uint64_t now = t->now, *p = s;
    *p++ = t->room;
    *p++ = t->last_dst;
    *p++ = pp_rel(t->div_free, now);
    for (int c = 0; c < RV_NCLASSES; c++) *p++ = pp_rel(t->unit_busy[c], now);
    for (int r = 0; r < TM_NREG; r++) *p++ = pp_rel(t->ready[r], now);
    for (int r = 0; r < TM_NREG; r++) *p++ = t->ready[r] > now ? t->kind[r] : 0xff;   /* a kind only counts late */
    for (int r = 0; r < 32; r++) *p++ = pp_rel(t->vfirst[r], now);
    for (int r = 0; r < 32; r++) *p++ = pp_rel(t->vdone[r], now);
    *p++ = t->vsplit;
    for (int q = 0; q < RV_NVPIPES; q++)
        for (int u = 0; u < TM_MAX_UNITS; u++) *p++ = u < (int)t->p.pipe_count[q] ? pp_rel(t->unit_free[q][u], now) : 0;
    for (int q = 0; q < RV_NVPIPES; q++) *p++ = pp_unit_order(t, q);
    for (unsigned i = 0; i < TM_VQ_MAX; i++)   /* the ring from the slot the next op waits for */
        *p++ = i < t->p.vq_depth ? pp_rel(t->vq[(t->vq_pos + i) % t->p.vq_depth], now) : 0;
    *p++ = pp_rel(t->v_end, now);
    *p++ = pp_rel(t->mem_end, now);
    *p++ = pp_rel(t->cont_until, now);
    pp_predictors(t, p, p + 1);
    for (unsigned r = 0, off = 0; r < PP_NR; off += pp_rlen[r++])
        if (ignore >> r & 1) memset(s + off, 0, pp_rlen[r] * sizeof *s);
}

void tm_probe_step(rv_timing *t, uint64_t pc) {
    tm_probe *pr = pp_get(t);
    pr->total_instrs++;
    if (pr->open < 0) return;
    pr->cur.path = pp_mix(pr->cur.path, pc);
    pr->cur.ninstr++;
}

void tm_probe_mem(rv_timing *t, unsigned code, uint64_t value) {
    tm_probe *pr = pp_get(t);
    if (pr->open < 0) return;
    pp_pass *x = &pr->cur;
    if (code & TM_PE_CYCLE) {   /* a cycle: relative to the pass's first (cur.cycles holds it while open) */
        code &= ~TM_PE_CYCLE;
        value -= x->cycles;
    }
    x->mkind = pp_mix(x->mkind, code);
    x->mfull = pp_mix(pp_mix(x->mfull, code), value);
    if (x->nmev < PP_MEV) x->mev[x->nmev] = (uint64_t)code << 56 ^ (value & 0xffffffffffffffull);
    x->nmev++;
}

void tm_probe_vec(rv_timing *t, uint64_t vtype, uint64_t vl) {
    tm_probe *pr = pp_get(t);
    if (pr->open >= 0) pr->cur.vec = pp_mix(pp_mix(pr->cur.vec, vtype), vl);
}

static void pp_access(rv_timing *t, uint64_t pc, int64_t a, int64_t b, int64_t c, int64_t d) {
    tm_probe *pr = pp_get(t);
    if (pr->open < 0) return;
    pp_pass *x = &pr->cur;
    if (x->nmem < PP_MEM) x->mem[x->nmem] = (pp_acc){pc, a, b, c, d};
    x->memh = pp_mix(pp_mix(pp_mix(pp_mix(pp_mix(x->memh, pc), (uint64_t)a), (uint64_t)b), (uint64_t)c), (uint64_t)d);
    x->nmem++;
}

/* A scalar access just timed, by the instruction issued at last_issue: its
 * destination's ready cycle and kind (a load), the memory's end, contention. */
void tm_probe_scalar(rv_timing *t, uint64_t pc, int store) {
    uint64_t base = t->last_issue;
    pp_access(t, pc, store ? -1 : (int64_t)(t->ready[t->last_dst] - base), store ? -1 : t->kind[t->last_dst],
              (int64_t)(t->mem_end - base), (int64_t)pp_rel(t->cont_until, base));
}

/* A vector op's access just timed, from the op's start: its group's cycles (a load), the unit's and memory's end. */
void tm_probe_vector(rv_timing *t, int store) {
    uint64_t base = t->vm_start;
    pp_access(t, t->vm_pc | 1, store ? -1 : (int64_t)(t->vdone[t->vm_vd] - base),
              store ? -1 : (int64_t)(t->vfirst[t->vm_vd] - base), (int64_t)(t->v_end - base),
              (int64_t)(t->mem_end - base));
}

/* The fill channels' free cycles relative to now (a line's time or more before it all alike: channel
 * takes the later of free + cycles and the request). */
static pp_chan pp_channels(const rv_timing *t) {
    double l2 = t->l2_free - (double)t->now, dram = t->dram_free - (double)t->now;
    return (pp_chan){l2 < -t->l2_line_cycles ? -t->l2_line_cycles : l2,
                     dram < -t->dram_line_cycles ? -t->dram_line_cycles : dram};
}

/* Whether two passes' fill channels were in the same relative state (exact: the doubles ps63 found drifting). */
static int pp_same_channels(const pp_chan *a, const pp_chan *b) { return a->l2 == b->l2 && a->dram == b->dram; }

/* The regions where two snapshots differ, as bits. */
static unsigned pp_state_diff(const uint64_t *a, const uint64_t *b) {
    unsigned mask = 0;
    for (unsigned r = 0, off = 0; r < PP_NR; off += pp_rlen[r++])
        if (memcmp(a + off, b + off, pp_rlen[r] * sizeof *a)) mask |= 1u << r;
    return mask;
}

static int pp_same_path(const pp_pass *a, const pp_pass *b) { return a->path == b->path && a->ninstr == b->ninstr; }
static int pp_same_mem(const pp_pass *a, const pp_pass *b) { return a->nmem == b->nmem && a->memh == b->memh; }
static int pp_same_out(const pp_pass *a, const pp_pass *b) {
    return pp_same_path(a, b) && a->vec == b->vec && pp_same_mem(a, b);
}

/* A pass x that repeats none of the last ones: what differs from the one
 * before it (h) that is nearest to it (`mask`: its state regions). */
static void pp_count_diff(pp_loop *L, const pp_pass *x, const pp_pass *h, unsigned mask) {
    for (int r = 0; r < PP_NR; r++) L->diff[r] += mask >> r & 1;
    int pd = !pp_same_path(x, h), vd = x->vec != h->vec, md = !pp_same_mem(x, h);
    L->diff_path += pd;
    L->diff_vec += vd;
    L->diff_mem += md;
    L->mem_only += !mask && md && !pd && !vd;
    L->state_only += mask && !md && !pd && !vd;
    if (!md || pd) return;
    L->chan_diff += !pp_same_channels(&x->ch0, &h->ch0);
    for (uint64_t i = 0; i < x->nmem && i < PP_MEM; i++) {   /* the first access whose effect differs, by pc */
        const pp_acc *p = &x->mem[i], *q = &h->mem[i];
        if (p->pc == q->pc && p->a == q->a && p->b == q->b && p->c == q->c && p->d == q->d) continue;
        unsigned slot = 0;
        while (slot < PP_SLOTS - 1 && L->diff_pc_n[slot] && L->diff_pc[slot] != p->pc) slot++;
        L->diff_pc[slot] = p->pc;
        L->diff_pc_n[slot]++;
        break;
    }
}

/* The memory side of pass x against the mem_k passes before it (core_ks: bit k set when its core
 * repeated the pass k before). */
static void pp_count_memory(pp_loop *L, const pp_pass *x, uint64_t core_ks, unsigned mem_k) {
    int kind = 0, full = 0, chan = 0, rep = core_ks != 0, same = 0;
    for (uint64_t k = 1; k <= PP_K && k <= L->nhist && !same; k++) {   /* one k for the core and memory both */
        const pp_pass *h = &L->hist[(L->pos + PP_K - k) % PP_K];
        same = (core_ks >> k & 1) && h->nmev == x->nmev && h->mfull == x->mfull &&
               pp_same_channels(&h->ch0, &x->ch0);
    }
    L->m_same_k += same;
    const pp_pass *near = NULL;
    for (uint64_t k = 1; k <= mem_k && k <= L->nhist; k++) {
        const pp_pass *h = &L->hist[(L->pos + PP_K - k) % PP_K];
        int ke = h->nmev == x->nmev && h->mkind == x->mkind, fe = ke && h->mfull == x->mfull;
        kind |= ke;
        full |= fe;
        int ce = fe && pp_same_channels(&h->ch0, &x->ch0);
        /* the same events from the same channel state must end in the same one (the doubles' rounding) */
        if (ce && !chan) L->m_chan_mismatch += !pp_same_channels(&h->ch1, &x->ch1);
        chan |= ce;
        if (ke && !near) near = h;
    }
    L->m_kind += kind;
    L->m_full += full;
    L->m_chan += chan;
    L->m_core += rep;
    L->m_core_full += rep && full;
    if (!full && near) {   /* the kinds repeat, a value does not: the first event whose value differs */
        L->m_chan_only += !pp_same_channels(&near->ch0, &x->ch0);
        for (uint64_t i = 0; i < x->nmev && i < PP_MEV; i++)
            if (x->mev[i] != near->mev[i]) { L->m_diff[x->mev[i] >> 56]++; break; }
    }
    for (uint64_t i = 0; i < x->nmev && i < PP_MEV; i++) L->ev[x->mev[i] >> 56]++;
}

/* The open pass of loop L ends in state s1: count it against the loop's last passes, then keep it. */
static void pp_close(tm_probe *pr, pp_loop *L, const uint64_t *s1) {
    pp_pass *x = &pr->cur;
    memcpy(x->s1, s1, sizeof x->s1);
    L->passes++;
    L->instrs += x->ninstr;
    L->cycles += x->cycles;
    int rep = 0, srep = 0, orep = 0, bestn = PP_NR + 2;
    uint64_t core_ks = 0;
    const pp_pass *best = NULL;
    unsigned bestmask = 0;
    for (uint64_t k = 1; k <= PP_K && k <= L->nhist; k++) {
        const pp_pass *h = &L->hist[(L->pos + PP_K - k) % PP_K];
        unsigned mask = pp_state_diff(x->s0, h->s0);
        int oe = pp_same_out(x, h);
        srep |= !mask;
        orep |= oe;
        if (!mask && oe) core_ks |= 1ull << k;
        if (!mask && oe && !rep) {
            rep = 1;
            L->rep_k[k]++;
            L->rep_passes++;
            L->rep_instrs += x->ninstr;
            L->mismatch += pp_state_diff(x->s1, h->s1) != 0;
        }
        int n = __builtin_popcount(mask) + !oe;
        if (n < bestn) { bestn = n; best = h; bestmask = mask; }
    }
    L->s_rep += srep;
    L->o_rep += orep;
    pp_count_memory(L, x, core_ks, pr->mem_k);
    if (!rep && best) pp_count_diff(L, x, best, bestmask);
    L->hist[L->pos] = *x;
    L->pos = (L->pos + 1) % PP_K;
    L->nhist++;
}

/* The loop whose back edge falls through to `fall` (its head at pc), found or added; NULL when the table is full. */
static pp_loop *pp_loop_of(tm_probe *pr, uint64_t fall, uint64_t pc) {
    for (int i = 0; i < pr->nloops; i++)
        if (pr->loops[i].fall == fall) return &pr->loops[i];
    if (pr->nloops == PP_LOOPS) return NULL;
    pp_loop *L = &pr->loops[pr->nloops++];
    L->fall = fall;
    L->head = pc;
    L->hist = calloc(PP_K, sizeof *L->hist);
    if (!L->hist) abort();
    return L;
}

void tm_probe_branch(rv_timing *t, uint64_t fall, uint64_t pc, int taken) {
    if (!taken || pc >= fall) return;   /* not a back edge */
    tm_probe *pr = pp_get(t);
    pp_loop *L = pp_loop_of(pr, fall, pc);
    if (!L) { pr->open = -1; return; }
    static uint64_t s[PP_S];
    pp_snapshot(t, s, pr->ignore);
    int li = (int)(L - pr->loops);
    if (pr->open == li) {   /* (another loop's open pass is not an innermost one: dropped) */
        pr->cur.cycles = t->now - pr->cur.cycles;
        pr->cur.ch1 = pp_channels(t);
        pp_close(pr, L, s);
    }
    pr->open = li;   /* this loop's next pass */
    memset(&pr->cur, 0, offsetof(pp_pass, mem));
    memcpy(pr->cur.s0, s, sizeof s);
    pr->cur.cycles = t->now;
    pr->cur.ch0 = pp_channels(t);
}

/* One loop's counts as a line of name=value words (bench/pass_repeat.py reads them). */
static void pp_print(FILE *f, const pp_loop *L) {
    const uint64_t *v[] = {&L->passes, &L->instrs, &L->cycles, &L->rep_passes, &L->rep_instrs, &L->s_rep,
                           &L->o_rep, &L->mismatch, &L->diff_path, &L->diff_vec, &L->diff_mem, &L->mem_only,
                           &L->state_only, &L->chan_diff};
    static const char *const name[] = {"passes", "instrs", "cycles", "rep_passes", "rep_instrs", "s_rep", "o_rep",
                                       "mismatch", "diff_path", "diff_vec", "diff_mem", "mem_only", "state_only",
                                       "chan_diff"};
    fprintf(f, "loop fall=%llx head=%llx", (unsigned long long)L->fall, (unsigned long long)L->head);
    for (unsigned i = 0; i < sizeof v / sizeof *v; i++) fprintf(f, " %s=%llu", name[i], (unsigned long long)*v[i]);
    for (int k = 1; k <= PP_K; k++)
        if (L->rep_k[k]) fprintf(f, " k%d=%llu", k, (unsigned long long)L->rep_k[k]);
    for (int r = 0; r < PP_NR; r++)
        if (L->diff[r]) fprintf(f, " d_%s=%llu", pp_rname[r], (unsigned long long)L->diff[r]);
    fprintf(f, " m_kind=%llu m_full=%llu m_chan=%llu m_core=%llu m_core_full=%llu m_chan_only=%llu m_same_k=%llu"
            " m_chan_mismatch=%llu", (unsigned long long)L->m_kind, (unsigned long long)L->m_full,
            (unsigned long long)L->m_chan, (unsigned long long)L->m_core, (unsigned long long)L->m_core_full,
            (unsigned long long)L->m_chan_only, (unsigned long long)L->m_same_k, (unsigned long long)L->m_chan_mismatch);
    for (int c = 0; c < TM_PE_NR; c++) {
        if (L->ev[c]) fprintf(f, " e_%s=%llu", pp_ename[c], (unsigned long long)L->ev[c]);
        if (L->m_diff[c]) fprintf(f, " md_%s=%llu", pp_ename[c], (unsigned long long)L->m_diff[c]);
    }
    for (int s = 0; s < PP_SLOTS; s++)
        if (L->diff_pc_n[s]) fprintf(f, " pc_%llx=%llu", (unsigned long long)L->diff_pc[s],
                                     (unsigned long long)L->diff_pc_n[s]);
    fputc('\n', f);
}

void tm_probe_run_end(rv_timing *t) {
    tm_probe *pr = t->probe;
    if (!pr) return;
    pr->open = -1;
    const char *out = getenv("RVAI_PASS_PROBE_OUT");
    FILE *f = out ? fopen(out, "a") : NULL;
    if (f) {
        fprintf(f, "run total_instrs=%llu\n", (unsigned long long)pr->total_instrs);
        for (int i = 0; i < pr->nloops; i++)
            if (pr->loops[i].passes) pp_print(f, &pr->loops[i]);
        fclose(f);
    }
    for (int i = 0; i < pr->nloops; i++) {   /* the counts start again; the passes kept stay */
        pp_loop *L = &pr->loops[i];
        *L = (pp_loop){.fall = L->fall, .head = L->head, .nhist = L->nhist, .pos = L->pos, .hist = L->hist};
    }
    pr->total_instrs = 0;
}

void tm_probe_free(rv_timing *t) {
    if (!t->probe) return;
    for (int i = 0; i < t->probe->nloops; i++) free(t->probe->loops[i].hist);
    free(t->probe);
    t->probe = NULL;
}
#endif
