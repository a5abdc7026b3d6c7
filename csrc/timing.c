/* The timing model's out-of-line parts: set-up from rv_timing_params, the
 * cache hierarchy, branches, the vector unit, and the counters read by
 * rvai.emu.Profile.  The per-instruction fast paths are in timing.h. */
#include <stdlib.h>
#include <string.h>
#include "timing.h"
#include "jit.h"

tm_opinfo tm_ops[RV_NOPS];

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* Vector ops whose vd is also read: multiply-accumulate forms. */
static int accumulates(const char *name) {
    return strstr(name, "macc") || strstr(name, "madd") || strstr(name, "nmsac") || strstr(name, "nmsub") ||
           strstr(name, "msac") || strstr(name, "msub");
}

static int is_vector_class(int cls) { return cls >= RV_CLASS_VSET; }

static int has_suffix(const char *s, const char *x) {
    size_t n = strlen(s), k = strlen(x);
    return n >= k && strcmp(s + n - k, x) == 0;
}

/* Ops whose vector result is a mask (one register whatever LMUL): compares,
 * carry-outs, mask logic and vmsbf/vmsif/vmsof (RVV 1.0 §11.8, §11.4, §15.1, §15.4-6). */
static int writes_mask(const char *name) {
    return has_prefix(name, "vms") || has_prefix(name, "vmf") || has_prefix(name, "vmadc") ||
           has_prefix(name, "vmsbc") || has_suffix(name, ".mm");
}

/* The register groups of an op's vd, vs1 and vs2 (TM_G_*), by the RVV 1.0
 * rules for its kind of instruction; the timing model waits for every
 * register of a source group and sets every register of the destination's. */
static void operand_groups(const rv_insn_info *in, tm_opinfo *o) {
    const char *n = in->name;
    o->gvd = o->gvs1 = o->gvs2 = TM_G_SEW;
    if (in->cls == RV_CLASS_VLOAD || in->cls == RV_CLASS_VSTORE) {   /* data, and an indexed op's index */
        o->gvd = TM_G_MEM;
        o->gvs2 = TM_G_INDEX;
        return;
    }
    if (has_prefix(n, "vmv") && n[3] >= '1' && n[3] <= '8' && has_suffix(n, "r.v")) {
        o->gvd = o->gvs2 = (uint8_t)(n[3] - '0');   /* vmv<nr>r.v: nr registers whatever vtype (§16.6) */
        return;
    }
    int narrow = has_prefix(n, "vn") || has_prefix(n, "vfn");
    if (in->cls == RV_CLASS_VRED) {          /* vd and vs1 hold the scalar: element 0 (§14) */
        o->gvd = o->gvs1 = TM_G_ONE;
    } else if (o->widen == 2 && !narrow) {   /* widening: a 2*SEW result (and accumulator) */
        o->gvd = TM_G_WIDE;
    }
    /* .wv/.wx/.wf and narrowing ops read a 2*SEW vs2 (§11.2, §11.7, §13.3, §13.19) */
    if (narrow || has_suffix(n, ".wv") || has_suffix(n, ".wx") || has_suffix(n, ".wf") || has_suffix(n, ".wi"))
        o->gvs2 = TM_G_WIDE;
    if (has_prefix(n, "vzext.vf") || has_prefix(n, "vsext.vf")) {   /* EEW = SEW/2, /4, /8 (§11.3) */
        int f = n[strlen(n) - 1] - '0';
        o->gvs2 = f == 2 ? TM_G_HALF : f == 4 ? TM_G_QUARTER : TM_G_EIGHTH;
    }
    if (has_prefix(n, "vrgatherei16")) o->gvs1 = TM_G_EI16;   /* §16.4 */
    if (writes_mask(n)) o->gvd = TM_G_ONE;
    if (has_suffix(n, ".mm")) o->gvs1 = o->gvs2 = TM_G_ONE;
    /* mask sources: vcompress's vs1 (§16.5); vcpop, vfirst, vmsbf/sif/of, viota's vs2 (§15) */
    if (has_prefix(n, "vcompress")) o->gvs1 = TM_G_ONE;
    if (has_suffix(n, ".m")) o->gvs2 = TM_G_ONE;
    /* element 0 only: vmv.x.s, vfmv.f.s read it, vmv.s.x, vfmv.s.f write it (§16.1, §16.2) */
    if (has_suffix(n, ".x.s") || has_suffix(n, ".f.s")) o->gvs2 = TM_G_ONE;
    if (has_suffix(n, ".s.x") || has_suffix(n, ".s.f")) o->gvd = TM_G_ONE;
    /* the vendor's matrix ops (smt.*): their operand layouts are their own;
     * the model waits on each source's first register, as it always did */
    if (has_prefix(n, "smt.")) o->gvs1 = o->gvs2 = TM_G_ONE;
}

/* Derive the scoreboard bases and vector facts of every op from its operand letters. */
static void init_ops(void) {
    static int done;
    if (done) return;
    for (int op = 0; op < RV_NOPS; op++) {
        const rv_insn_info *in = &rv_insns[op];
        tm_opinfo *o = &tm_ops[op];
        o->cls = in->cls;
        o->s1 = o->s2 = o->s3 = TM_SRC_NONE;
        o->dst = TM_DST_NONE;
        for (const char *c = in->ops; *c; c++) {
            switch (*c) {
            case 'd': o->dst = TM_X; break;
            case 's': o->s1 = TM_X; break;
            case 't': o->s2 = TM_X; break;
            case 'D': o->dst = TM_F; break;
            case 'S': o->s1 = TM_F; break;
            case 'T': o->s2 = TM_F; break;
            case 'R': o->s3 = TM_F; break;
            case 'V': o->vflags |= in->cls == RV_CLASS_VSTORE ? TM_V_VDSRC : TM_V_VD; break;
            case 'U': o->vflags |= TM_V_VS1; break;
            case 'W': o->vflags |= TM_V_VS2; break;
            case 'M': o->vflags |= TM_V_MASK; break;
            case '0': o->vflags |= TM_V_V0; break;   /* vmerge, vadc...: v0 always */
            }
        }
        if ((o->vflags & TM_V_VD) && accumulates(in->name)) o->vflags |= TM_V_VDSRC;
        if (is_vector_class(in->cls)) o->vflags |= TM_V_ANY;
        o->widen = (has_prefix(in->name, "vw") || has_prefix(in->name, "vfw") || has_prefix(in->name, "vn") ||
                    has_prefix(in->name, "vfn")) ? 2 : 1;
        o->elemwise = has_prefix(in->name, "vrgather") || has_prefix(in->name, "vcompress");
        if (is_vector_class(in->cls)) operand_groups(in, o);
        switch (in->cls) {
        case RV_CLASS_VFADD: case RV_CLASS_VFMUL: case RV_CLASS_VFDIV: o->flops = 1; break;
        case RV_CLASS_VFFMA: o->flops = 2; break;
        case RV_CLASS_VRED: o->flops = has_prefix(in->name, "vf"); break;
        }
        /* min and max share the adder's class but round nothing: not FLOPs */
        if (strstr(in->name, "min") || strstr(in->name, "max")) o->flops = 0;
        o->special = in->cls == RV_CLASS_BRANCH || in->cls == RV_CLASS_JUMP || in->cls == RV_CLASS_DIV || in->cls == RV_CLASS_FDIV ||
                     in->cls == RV_CLASS_FSQRT || is_vector_class(in->cls);
    }
    done = 1;
}

void rv_timing_default_params(rv_timing_params *p) {
    memset(p, 0, sizeof *p);
    static const unsigned lat[RV_NCLASSES] = {
        [RV_CLASS_ALU] = 1, [RV_CLASS_BRANCH] = 1, [RV_CLASS_JUMP] = 1, [RV_CLASS_LOAD] = 3,
        [RV_CLASS_STORE] = 1, [RV_CLASS_MUL] = 3, [RV_CLASS_DIV] = 20, [RV_CLASS_ATOMIC] = 5,
        [RV_CLASS_CSR] = 1, [RV_CLASS_SYSTEM] = 1, [RV_CLASS_FENCE] = 1, [RV_CLASS_FLOAD] = 3,
        [RV_CLASS_FSTORE] = 1, [RV_CLASS_FADD] = 4, [RV_CLASS_FMUL] = 4, [RV_CLASS_FFMA] = 4,
        [RV_CLASS_FDIV] = 15, [RV_CLASS_FSQRT] = 20, [RV_CLASS_FCVT] = 3, [RV_CLASS_FMISC] = 2,
        [RV_CLASS_VSET] = 1, [RV_CLASS_VLOAD] = 3, [RV_CLASS_VSTORE] = 1, [RV_CLASS_VALU] = 2,
        [RV_CLASS_VMUL] = 4, [RV_CLASS_VDIV] = 20, [RV_CLASS_VFADD] = 4, [RV_CLASS_VFMUL] = 4,
        [RV_CLASS_VFFMA] = 5, [RV_CLASS_VFDIV] = 15, [RV_CLASS_VFMISC] = 3, [RV_CLASS_VRED] = 4,
        [RV_CLASS_VPERM] = 3, [RV_CLASS_VMASK] = 2,
    };
    memcpy(p->latency, lat, sizeof lat);
    static const unsigned pipe[RV_NCLASSES] = {
        [RV_CLASS_VLOAD] = RV_VPIPE_LS, [RV_CLASS_VSTORE] = RV_VPIPE_LS,
        [RV_CLASS_VFADD] = RV_VPIPE_FP, [RV_CLASS_VFMUL] = RV_VPIPE_FP, [RV_CLASS_VFFMA] = RV_VPIPE_FP,
        [RV_CLASS_VFDIV] = RV_VPIPE_FP, [RV_CLASS_VFMISC] = RV_VPIPE_FP,
        [RV_CLASS_VRED] = RV_VPIPE_PERM, [RV_CLASS_VPERM] = RV_VPIPE_PERM,
    };
    memcpy(p->vpipe, pipe, sizeof pipe);
    p->issue_width = 1;
    p->branch_penalty = 5;
    p->bht_entries = 1024;
    p->dlen = 128;
    p->vq_depth = 8;
    p->chaining = 1;
    p->vset_latency = 1;
    for (int i = 0; i < RV_NVPIPES; i++) p->pipe_count[i] = 1;
    p->gather_elems_per_cycle = 1;
    p->strided_elems_per_cycle = 1;
    p->vdiv_beat_cycles = 8;
    p->line = 64;
    p->l1_size = 32768; p->l1_assoc = 4; p->l1_latency = 3;
    p->l2_size = 512 * 1024; p->l2_assoc = 8; p->l2_latency = 14;
    p->l2_bytes_per_cycle = 32;
    p->dram_latency = 100;
    p->dram_bytes_per_cycle = 8;
    p->prefetch_degree = 16;
    p->prefetch_streams = 16;
    p->ras_depth = 16;
    p->btb_entries = 64;
}

static int pow2(unsigned v) { return v && !(v & (v - 1)); }

/* What empty hit-filter entries point to: never valid, never written. */
static tm_line no_line = {.tag = ~0ull};

static void cache_free(tm_cache *c) {
    free(c->lines);
    free(c->hit);
}

/* A cache, empty, with its hit filter: twice as many entries as the cache has
 * lines (rounded up to a power of two), so that few lines in it share one. */
static int cache_init(tm_cache *c, unsigned size, unsigned assoc, unsigned line, unsigned latency, int reference) {
    if (!pow2(line) || !assoc || size % (assoc * line) || !pow2(size / (assoc * line))) return -1;
    c->sets = size / (assoc * line);
    c->assoc = assoc;
    c->set_mask = c->sets - 1;
    c->set_bytes = (size_t)assoc * sizeof(tm_line);
    c->by_four = !(assoc & 3) && !reference;
    c->latency = latency;
    c->lines = calloc((size_t)c->sets * assoc, sizeof(tm_line));
    uint64_t n = 64;
    unsigned bits = 6;
    while (n < 2ull * c->sets * assoc) { n <<= 1; bits++; }
    c->hit = malloc(n * sizeof *c->hit);
    if (!c->lines || !c->hit) { cache_free(c); c->lines = NULL; c->hit = NULL; return -1; }
    for (size_t i = 0; i < (size_t)c->sets * assoc; i++) c->lines[i].tag = ~0ull;
    for (uint64_t i = 0; i < n; i++) c->hit[i] = &no_line;
    c->hit_shift = 64 - bits;
    return 0;
}

static void cache_clear(tm_cache *c) {
    for (size_t i = 0; i < (size_t)c->sets * c->assoc; i++) c->lines[i] = (tm_line){.tag = ~0ull};
}

void tm_free(rv_timing *t) {
    if (!t) return;
    cache_free(&t->l1);
    cache_free(&t->l2);
    free(t->pc_scratch);
    free(t->bht);
    free(t->ras);
    free(t->btb);
    free(t->streams);
    free(t->costs);
    free(t->vplans);
    free(t->trace);
    for (int i = 0; i < t->nranges; i++) free(t->ranges[i].slots);
    TM_PROBE(tm_probe_free(t));
    free(t);
}

static void forget_state(rv_timing *t) {
    cache_clear(&t->l1);
    cache_clear(t->l2p);
    memset(t->bht, 1, t->p.bht_entries);   /* weakly not-taken */
    memset(t->ras, 0, (t->p.ras_depth ? t->p.ras_depth : 1) * sizeof *t->ras);
    t->ras_top = 0;
    for (unsigned i = 0; i < t->p.btb_entries; i++) t->btb[i] = (tm_btb){~0ull, ~0ull};
    memset(t->streams, 0, t->p.prefetch_streams * sizeof *t->streams);
    t->last_line = ~0ull;
}

/* When everything issued so far has finished: the core, the vector unit,
 * the memory accesses nobody waited for and the transfers still queued on the
 * fill channels (prefetches, write-backs), so that no run reports more bytes
 * a cycle than its channels carry. */
static uint64_t finish(const rv_timing *t) {
    uint64_t end = t->now + tm_cycle_begun(t);   /* a partly filled issue cycle counts */
    if (t->v_end > end) end = t->v_end;
    if (t->mem_end > end) end = t->mem_end;
    if (t->cont_until > end) end = t->cont_until;
    uint64_t chan = (uint64_t)((t->dram_free > t->l2_free ? t->dram_free : t->l2_free) + 0.999999);
    return chan > end ? chan : end;
}

/* The cost-table row for op: the mnemonic row, else the longest matching
 * prefix row ("vrgather*"), else the class row; -1 when none. */
static int find_row(const rv_timing_params *p, int op, int class_only) {
    const char *name = rv_insns[op].name, *cls = rv_class_name(rv_insns[op].cls);
    int best = -1;
    size_t best_len = 0;
    for (unsigned i = 0; i < p->nvcosts; i++) {
        const char *mt = p->vcost[i].match;
        size_t n = strlen(mt);
        if (class_only) {
            if (strcmp(mt, cls) == 0) return (int)i;
            continue;
        }
        if (strcmp(mt, name) == 0) return (int)i;
        if (n > 1 && mt[n - 1] == '*' && strncmp(mt, name, n - 1) == 0 && n > best_len) { best = (int)i; best_len = n; }
    }
    return best;
}

/* Merge op's rows (mnemonic or prefix over class: a field the specific row
 * leaves unset comes from the class row) into t->costs, once per op. */
static int resolve_costs(rv_timing *t) {
    const rv_timing_params *p = &t->p;
    int n = 0;
    for (int op = 0; op < RV_NOPS; op++) t->op_cost[op] = -1;
    if (!p->nvcosts) return 0;
    for (unsigned i = 0; i < p->nvcosts; i++) {
        const rv_vcost *r = &p->vcost[i];
        if (!memchr(r->match, 0, sizeof r->match) || !r->match[0] || r->pipe < -1 || r->pipe >= RV_NVPIPES ||
            r->masked < 0 || r->e64 < 0) return -1;
    }
    t->costs = calloc(RV_NOPS, sizeof *t->costs);
    if (!t->costs) return -1;
    for (int op = 1; op < RV_NOPS; op++) {
        if (!is_vector_class(rv_insns[op].cls) || rv_insns[op].cls == RV_CLASS_VSET) continue;
        int spec = find_row(p, op, 0), cls = find_row(p, op, 1);
        if (spec < 0 && cls < 0) continue;
        rv_vcost c = cls >= 0 ? p->vcost[cls] : (rv_vcost){.pipe = -1};
        if (spec >= 0) {
            const rv_vcost *s = &p->vcost[spec];
            if (s->has_occ) { memcpy(c.occ, s->occ, sizeof c.occ); c.has_occ = 1; }
            if (s->has_lat) { memcpy(c.lat, s->lat, sizeof c.lat); c.has_lat = 1; }
            if (s->masked) c.masked = s->masked;
            if (s->e64) c.e64 = s->e64;
            if (s->pipe >= 0) c.pipe = s->pipe;
        }
        t->costs[n] = c;
        t->op_cost[op] = (int16_t)n++;
    }
    return 0;
}

/* A double parameter the model's arithmetic may use: 0, or a magnitude in
 * [2^-20, 2^40].  With cycle and byte counts below 2^63 the sums, products
 * and quotients (channel, transfer, cost_terms) then never overflow, underflow,
 * divide by zero or make a NaN: they raise at most the host's PE, which
 * fp.h's invariant (the host's other sticky flags are in fflags) requires of
 * whatever runs between guest instructions. */
static int moderate(double x) {
    double a = __builtin_fabs(x);
    return x == 0 || (a >= 0x1p-20 && a <= 0x1p40);
}

static int vcost_ok(const rv_vcost *c) {
    for (int k = 0; k < RV_NTERMS; k++)
        if (!moderate(c->occ[k]) || !moderate(c->lat[k])) return 0;
    return moderate(c->masked) && moderate(c->e64);
}

static int params_ok(const rv_timing_params *p) {
    if (!p->issue_width || !pow2(p->bht_entries) || p->dlen < 8 || !pow2(p->dlen) ||
        !p->vq_depth || p->vq_depth > TM_VQ_MAX || !p->gather_elems_per_cycle ||
        !p->strided_elems_per_cycle || !p->vdiv_beat_cycles || p->line < 8 || p->line > 4096 ||
        !(p->l2_bytes_per_cycle > 0) || !(p->dram_bytes_per_cycle > 0) || !pow2(p->btb_entries) ||
        p->ras_depth > 4096 || !p->prefetch_streams || p->prefetch_streams > 256 || p->prefetch_degree > 4096)
        return 0;
    for (int i = 0; i < RV_NVPIPES; i++)
        if (!p->pipe_count[i] || p->pipe_count[i] > TM_MAX_UNITS) return 0;
    for (int c = 0; c < RV_NCLASSES; c++)
        if (p->vpipe[c] >= RV_NVPIPES) return 0;
    if (p->nvcosts > RV_MAX_VCOSTS) return 0;
    if (!moderate(p->l2_bytes_per_cycle) || !moderate(p->dram_bytes_per_cycle) ||
        !moderate(p->l2_shared_bytes_per_cycle) || !moderate(p->hart_dram_bytes_per_cycle))
        return 0;
    for (unsigned i = 0; i < p->nvcosts; i++)
        if (!vcost_ok(&p->vcost[i])) return 0;
    for (int i = 0; i < RV_NVPIPES; i++)
        if (p->pipe_width[i] && (p->pipe_width[i] < 8 || p->pipe_width[i] > 65536)) return 0;
    return 1;
}

/* The DRAM bandwidth of a hart's own channel: all of it when alone, else
 * what one hart can draw (hart_dram_bytes_per_cycle, when the preset gives it). */
static double hart_dram_bw(const rv_timing *t) {
    return t->u && t->p.hart_dram_bytes_per_cycle > 0 ? t->p.hart_dram_bytes_per_cycle : t->p.dram_bytes_per_cycle;
}

/* The cycles a line takes on the hart's L2 and DRAM channels, once its
 * uncore is known: the quotients every transfer used to divide afresh (the
 * same doubles: one expression, and rv_run keeps the host in round-to-nearest). */
static void set_line_cycles(rv_timing *t) {
    t->l2_line_cycles = t->p.line / t->p.l2_bytes_per_cycle;
    t->dram_line_cycles = t->p.line / hart_dram_bw(t);
}

/* One hart's model, cold; NULL when the host has no memory for it. */
static rv_timing *tm_create(const rv_timing_params *p) {
    rv_timing *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->p = *p;
    t->issue_width = p->issue_width;
    tm_new_cycle(t);
    tm_set_pending(t, 0);
    t->waw_below = p->waw_pairing ? TM_SRC_NONE : 0;
    t->line_bits = (unsigned)__builtin_ctz(p->line);
    t->bht = malloc(p->bht_entries);
    t->ras = malloc((p->ras_depth ? p->ras_depth : 1) * sizeof *t->ras);
    t->btb = malloc(p->btb_entries * sizeof *t->btb);
    t->streams = calloc(p->prefetch_streams, sizeof *t->streams);
    t->trace = malloc(TM_TRACE_MAX * sizeof(rv_trace_event));
    const char *ref = getenv("RVAI_TIMING_REFERENCE");
    t->reference = ref && *ref && strcmp(ref, "0") != 0;
    if (!t->bht || !t->ras || !t->btb || !t->streams || !t->trace ||
        cache_init(&t->l1, p->l1_size, p->l1_assoc, p->line, p->l1_latency, t->reference) ||
        cache_init(&t->l2, p->l2_size, p->l2_assoc, p->line, p->l2_latency, t->reference) || resolve_costs(t)) {
        tm_free(t);
        return NULL;
    }
    t->hit = t->l1.hit;
    t->hit_shift = t->l1.hit_shift;
    t->l2p = &t->l2;
    set_line_cycles(t);
    forget_state(t);
    return t;
}

void tm_uncore_free(tm_uncore *u) {
    if (!u) return;
    for (int c = 0; c < u->nclusters; c++) cache_free(&u->l2[c]);
    free(u->l2_port);
    free(u);
}

static void calendar_init(tm_calendar *c, double bytes_per_cycle) {
    c->cap = bytes_per_cycle * (1u << TM_CAL_SHIFT);
}

/* The shared side of n harts' models: an L2 per cluster of cluster_harts
 * harts (and its shared port, when the preset gives its bandwidth), the
 * DRAM channel; each hart then fills from its cluster's L2. */
static tm_uncore *uncore_create(const rv_timing_params *p, rv_timing **harts, int n) {
    tm_uncore *u = calloc(1, sizeof *u);
    if (!u) return NULL;
    unsigned per = p->cluster_harts && p->cluster_harts < (unsigned)n ? p->cluster_harts : (unsigned)n;
    u->nharts = n;
    u->nclusters = (int)((n + per - 1) / per);
    calendar_init(&u->dram, p->dram_bytes_per_cycle);
    if (p->l2_shared_bytes_per_cycle > 0) {
        u->l2_port = calloc((size_t)u->nclusters, sizeof *u->l2_port);
        if (!u->l2_port) { free(u); return NULL; }
        for (int c = 0; c < u->nclusters; c++) calendar_init(&u->l2_port[c], p->l2_shared_bytes_per_cycle);
    }
    for (int c = 0; c < u->nclusters; c++)
        if (cache_init(&u->l2[c], p->l2_size, p->l2_assoc, p->line, p->l2_latency, harts[0]->reference)) {
            u->nclusters = c;
            tm_uncore_free(u);
            return NULL;
        }
    for (int h = 0; h < n; h++) {
        rv_timing *t = harts[h];
        int c = h / (int)per;
        u->hart[h] = t;
        t->u = u;
        t->hart = h;
        t->l2p = &u->l2[c];
        t->l2_port = u->l2_port ? &u->l2_port[c] : NULL;
        set_line_cycles(t);   /* its own DRAM channel is narrower now (hart_dram_bw) */
    }
    return u;
}

/* Every hart gets its own model of the same parameters (and, with more than
 * one, the shared L2s and DRAM channel of the uncore). */
int rv_set_timing(rv_machine *m, const rv_timing_params *p) {
    init_ops();
    if (!p) {
        if (m->timed) jit_forget_all(m);   /* its blocks call the model */
        m->timed = 0;
        return 0;
    }
    if (!params_ok(p)) return -1;
    rv_timing *made[RV_MAX_HARTS];
    for (int h = 0; h < m->nharts; h++) {
        made[h] = tm_create(p);
        if (!made[h]) {
            while (h--) tm_free(made[h]);
            return -1;
        }
    }
    tm_uncore *u = NULL;
    if (m->nharts > 1 && !(u = uncore_create(p, made, m->nharts))) {
        for (int h = 0; h < m->nharts; h++) tm_free(made[h]);
        return -1;
    }
    /* Keep the model clock of the previous timing state so ready cycles stay ordered. */
    uint64_t start = 0;
    for (int h = 0; h < m->nharts; h++)
        if (m->harts[h].timing && finish(m->harts[h].timing) > start) start = finish(m->harts[h].timing);
    for (int h = 0; h < m->nharts; h++) {
        made[h]->now = made[h]->base = start;
        tm_free(m->harts[h].timing);
        m->harts[h].timing = made[h];
    }
    tm_uncore_free(m->uncore);
    m->uncore = u;
    m->timing = m->harts[m->cur_hart].timing;
    if (!m->timed) jit_forget_all(m);   /* its blocks do not call the model */
    m->timed = 1;
    return 0;
}

void rv_timing_flush(rv_machine *m) {
    for (int h = 0; h < m->nharts; h++)
        if (m->harts[h].timing) forget_state(m->harts[h].timing);
}

/* ---- caches ------------------------------------------------------------ */

/* The way of c holding `line`, NULL when none does; then *victim is the way
 * to fill for it: an invalid one, else the least recently used (the first of
 * each in way order).  One pass over the set; the hit filter first (and
 * refreshed by a hit the search finds).
 *
 * An invalid way's lru is 0 (every invalidation clears the whole line) and
 * a valid one's is a stamp, 0 only once the stamp has wrapped: so the first
 * way of the least lru is the first invalid one when there is one, else the
 * least recently used, and the loop (most searches past the filter miss and
 * read every way) tests no validity.  After a wrap the way it finds may be a
 * valid one of lru 0: an invalid way after it then still comes first. */
static inline __attribute__((always_inline)) tm_line *find(tm_cache *c, uint64_t line, tm_line **victim) {
    tm_line **h = tm_filter_slot(c, line);
    if ((*h)->tag == line) return *h;
    tm_line *set = (tm_line *)((char *)c->lines + (line & c->set_mask) * c->set_bytes),
            *end = (tm_line *)((char *)set + c->set_bytes), *old = set;
    uint32_t old_lru = set->lru;
    /* one way: its tag tested, then (selects, not a branch: which way is
     * older follows no pattern the host could predict) its age */
#define TM_WAY(x) do {                                                      \
        tm_line *x_ = (x);                                                  \
        uint32_t lru_ = x_->lru;                                            \
        if (x_->tag == line) { *h = x_; return x_; }                        \
        old = lru_ < old_lru ? x_ : old;                                    \
        old_lru = lru_ < old_lru ? lru_ : old_lru;                          \
    } while (0)
    if (likely(c->by_four)) {
        /* four ways a pass (every preset's L2 and all but small-inorder's
         * L1): the same ways in the same order, a loop test for four */
        for (tm_line *x = set; x != end; x += 4) { TM_WAY(x); TM_WAY(x + 1); TM_WAY(x + 2); TM_WAY(x + 3); }
    } else {
        for (tm_line *x = set; x != end; x++) TM_WAY(x);
    }
#undef TM_WAY
    if (unlikely(old_lru == 0 && old->tag != ~0ull))
        for (tm_line *x = old + 1; x != end; x++)
            if (x->tag == ~0ull) { old = x; break; }
    *victim = old;
    return NULL;
}

/* The way of c holding `line`, or NULL.  Inline: at a first use of a
 * prefetched line the dirty victim's search in L2 is usually answered by the
 * hit filter, in fewer host instructions than the call took. */
static inline __attribute__((always_inline)) tm_line *lookup(tm_cache *c, uint64_t line) {
    tm_line *unused;
    return find(c, line, &unused);
}


/* A transfer of one line over a channel of `bytes_per_cycle` wanted at `want`:
 * transfers are serialised, so back-to-back ones run at the bandwidth. */
static inline __attribute__((always_inline)) uint64_t channel(double *free, uint64_t want, double cycles) {
    double done = *free + cycles;
    /* want through int64_t too: the same double for a cycle count, without
     * the unsigned conversion's test and second path */
    if (done < (double)(int64_t)want) done = (double)(int64_t)want;
    *free = done;
    /* through int64_t: the same value for a cycle count (below 2^63), without
     * the range test a double -> uint64_t conversion costs */
    return (uint64_t)(int64_t)(done + 0.999999);
}

/* Book `bytes` on a shared channel for a transfer that must be done by cycle
 * `want` (as `channel` treats it: the bytes move during the `cycles` before
 * it); returns the cycle they have all passed, `want` when there was room. */
static uint64_t calendar_book(tm_calendar *c, uint64_t want, double bytes, double cycles) {
    const uint64_t size = 1ull << TM_CAL_BITS, mask = size - 1;
    uint64_t span = (uint64_t)(cycles + 0.999999);
    uint64_t b = (want > span ? want - span : 0) >> TM_CAL_SHIFT;
    if (b < c->lo) b = c->lo;           /* older than the window: as early as it still goes */
    if (b < c->full_to) b = c->full_to;
    for (;;) {
        if (b >= c->lo + size) {        /* slide the window up to b */
            uint64_t nlo = b - size + 1;
            for (uint64_t k = c->lo; k < nlo && k < c->lo + size; k++) c->used[k & mask] = 0;
            c->lo = nlo;
            if (c->full_to < nlo) c->full_to = nlo;
        }
        float *u = &c->used[b & mask];
        double room = c->cap - *u;
        if (room >= bytes) {
            *u += (float)bytes;
            uint64_t end = (b << TM_CAL_SHIFT) + (uint64_t)(*u / c->cap * (1u << TM_CAL_SHIFT) + 0.999999);
            if (b == c->full_to && *u >= c->cap) c->full_to++;
            return end > want ? end : want;
        }
        if (room > 0) { *u = (float)c->cap; bytes -= room; }
        if (b == c->full_to) c->full_to++;
        b++;
    }
}

/* A line over a hart's own channel (`free`), where it takes `cycles` (the
 * channel's *_line_cycles), and over the shared one (`cal`) when there is one:
 * the later of the two; the difference is contention, counted, and remembered
 * for the stalls it causes. */
static inline __attribute__((always_inline)) uint64_t transfer(rv_timing *t, double *free, tm_calendar *cal, uint64_t want, double cycles) {
    uint64_t alone = channel(free, want, cycles);
    if (!cal) return alone;
    uint64_t shared = calendar_book(cal, want, t->p.line, cycles);
    if (shared <= alone) return alone;
    /* within a bucket of the calendar is its rounding, not other harts' traffic */
    if (shared <= alone + (1u << TM_CAL_SHIFT)) return shared;
    t->s.contention_cycles += shared - alone;
    t->cont_hit = 1;
    if (shared > t->cont_until) t->cont_until = shared;
    return shared;
}

static void dram_write(rv_timing *t, uint64_t when) {
    transfer(t, &t->dram_free, t->u ? &t->u->dram : NULL, when, t->dram_line_cycles);
    t->s.dram_bytes_written += t->p.line;
}

/* A line `t` just filled into its L1: do other harts' L1s hold it?  Both
 * copies are then marked shared (a store to either must invalidate the other). */
static int share_line(rv_timing *t, uint64_t line) {
    int any = 0;
    for (int h = 0; h < t->u->nharts; h++) {
        rv_timing *o = t->u->hart[h];
        tm_line *w = o == t ? NULL : lookup(&o->l1, line);
        if (w) { w->shared = 1; any = 1; }
    }
    return any;
}

/* A store by `t` to a shared line: the other L1 copies are invalidated (a
 * dirty one written back into its L2) and their next access misses; the
 * store's own line becomes exclusive once the invalidation has gone round
 * the L2 (its latency, what the store then occupies memory for). */
static void invalidate_others(rv_timing *t, uint64_t line, tm_line *mine, uint64_t when) {
    for (int h = 0; h < t->u->nharts; h++) {
        rv_timing *o = t->u->hart[h];
        tm_line *w = o == t ? NULL : lookup(&o->l1, line);
        if (!w) continue;
        if (w->dirty) {
            tm_line *back = lookup(o->l2p, line);
            if (back) back->dirty = 1; else dram_write(o, when);
        }
        *w = (tm_line){.tag = ~0ull};
        if (o->last_way == w) o->last_line = ~0ull;
        o->s.coherence_invalidations++;
    }
    mine->shared = 0;
    if (when + t->p.l2_latency > t->mem_end) t->mem_end = when + t->p.l2_latency;
}

/* Put `line` into L1 in way w1 (find's victim: its data there at cycle
 * `ready`), writing back the dirty line it displaces: into L2 if L2 still
 * holds it, else to memory. */
static inline __attribute__((always_inline)) tm_line *install_l1(rv_timing *t, uint64_t line, uint64_t when, uint64_t ready, int prefetched, tm_line *w1) {
    TM_PROBE(if (w1->tag == ~0ull) tm_probe_mem(t, TM_PE_V1_INVALID, 0);
             else if (!w1->dirty) tm_probe_mem(t, TM_PE_V1_CLEAN, 0);)
    if (w1->tag != ~0ull && w1->dirty) {
        tm_line *back = lookup(t->l2p, w1->tag);
        TM_PROBE(tm_probe_mem(t, back ? TM_PE_V1_DIRTY_L2 : TM_PE_V1_DIRTY_DRAM, 0));
        if (back) back->dirty = 1; else dram_write(t, when);
    }
    /* field by field: the whole line as a compound literal stored its
     * padding too, and built the last word in registers first */
    w1->tag = line;
    w1->ready = ready;
    w1->lru = ++t->l1.stamp;
    w1->dirty = 0;
    w1->prefetched = (uint8_t)prefetched;
    w1->shared = t->u ? (uint8_t)share_line(t, line) : 0;
    *tm_hit_slot(t, line) = w1;
    if (w1 == t->last_way) t->last_line = ~0ull;
    return w1;
}

/* Bring `line` into L1 (and L2) for a request at cycle `when`, in L1 way w1
 * (find's victim); returns the cycle its data arrives.  `demand` says whether
 * a program access (counted) or the prefetcher asks. */
static inline __attribute__((always_inline)) uint64_t fill(rv_timing *t, uint64_t line, uint64_t when, int demand, tm_line *w1) {
    uint64_t done;
    tm_cache *l2 = t->l2p;
    tm_line *v2, *w2 = find(l2, line, &v2);
    if (w2) {
        if (demand) t->s.l2_hits++;
        done = when + t->p.l2_latency;
        if (w2->ready > done) done = w2->ready;
        done = transfer(t, &t->l2_free, t->l2_port, done, t->l2_line_cycles);
        TM_PROBE(tm_probe_mem(t, TM_PE_L2HIT | TM_PE_CYCLE, done));
    } else {
        if (demand) t->s.l2_misses++;
        done = transfer(t, &t->dram_free, t->u ? &t->u->dram : NULL, when + t->p.l2_latency + t->p.dram_latency,
                        t->dram_line_cycles);
        t->s.dram_bytes_read += t->p.line;
        w2 = v2;
        TM_PROBE(tm_probe_mem(t, TM_PE_L2MISS | TM_PE_CYCLE, done));
        if (w2->tag != ~0ull && w2->dirty) {
            TM_PROBE(tm_probe_mem(t, TM_PE_V2_DIRTY, 0));
            dram_write(t, when);
        }
        *w2 = (tm_line){.tag = line, .ready = done};
        *tm_filter_slot(l2, line) = w2;
    }
    w2->lru = ++l2->stamp;
    install_l1(t, line, when, done, !demand, w1);
    return done;
}

/* cbo.zero (Zicboz) of the 64-byte block at addr, by the instruction just
 * charged.  It writes every byte of the block (the CMO spec, Zicboz: "a
 * series of byte writes" covering the whole cache block), so a write-back
 * cache needs none of the block's old data: the line is claimed dirty in L1
 * (and L2) with no memory read (no read-for-ownership, what Arm's DC ZVA and
 * Power's dcbz are for); only lines it displaces are written back.  With a
 * model line other than the 64-byte block, the block is charged as the eight
 * doubleword stores it equals. */
void tm_zero_block(rv_timing *t, uint64_t addr, uint64_t pc) {
    if (t->p.line != 64) {
        for (int i = 0; i < 8; i++) tm_mem(t, addr + 8 * (uint64_t)i, 8, 1, pc);
        return;
    }
    uint64_t line = addr >> t->line_bits, when = t->last_issue, done = when + t->p.l1_latency;
    tm_line *v1, *w = find(&t->l1, line, &v1);
    if (w) {
        t->s.l1_hits++;
        w->lru = ++t->l1.stamp;
        w->prefetched = 0;
        if (w->ready > done) done = w->ready;
    } else {
        t->s.l1_misses++;
        tm_cache *l2 = t->l2p;
        tm_line *v2, *w2 = find(l2, line, &v2);
        if (!w2) {
            w2 = v2;
            if (w2->tag != ~0ull && w2->dirty) dram_write(t, when);
            *w2 = (tm_line){.tag = line, .ready = done};
            *tm_filter_slot(l2, line) = w2;
        }
        w2->lru = ++l2->stamp;
        w = install_l1(t, line, when, done, 0, v1);
    }
    w->dirty = 1;
    if (w->shared) invalidate_others(t, line, w, when);
    t->s.bytes_stored += 64;
    if (done > t->mem_end) t->mem_end = done;
    t->last_line = line;
    t->last_way = w;
}

/* ---- the stride prefetcher ----------------------------------------------
 * One stream per memory instruction (by pc, prefetch_streams of them, least
 * recently trained replaced).  A stream trains on the accesses that reach the
 * slow path: for a scalar instruction an L1 miss or the first use of a
 * prefetched line, for a vector one every instruction (its first address and
 * its footprint).  It prefetches only once the same stride (in bytes, either
 * sign, any size) has been seen twice in a row, and then fetches exactly the
 * lines its next accesses will touch: `dist` lines ahead, starting at 2 and
 * doubling with each access that confirms the stride, up to prefetch_degree.
 * A broken stride stops it until a new one is confirmed.  So a walk down a
 * column strip fetches the strip's next rows, never the neighbouring strips,
 * and a stream that ends over-fetches at most its current distance. */

static inline __attribute__((always_inline)) void prefetch_line(rv_timing *t, uint64_t line, uint64_t when) {
    tm_line *v1;
    if (find(&t->l1, line, &v1)) { TM_PROBE(tm_probe_mem(t, TM_PE_PF_IN_L1, 0)); return; }
    fill(t, line, when, 0, v1);
    t->s.prefetches++;
}

/* Zicbop's prefetch.r and prefetch.w: `ori x0, rs1, imm` with 1 (r) or 3 (w)
 * in the rs2 field (prefetch.i, 0, asks for instructions, which the model
 * does not cache). */
static int is_data_prefetch(const rv_decoded *d) {
    return d->op == RV_OP_ori && d->rd == TM_X + 32 && (d->rs2 == 1 || d->rs2 == 3);
}

/* software_prefetch past its hit-filter probe, out of line so that the
 * common case (the line already in L1) pays for none of this (timed
 * translated blocks probe the filter themselves and call it too). */
__attribute__((noinline)) void tm_prefetch_miss(rv_timing *t, rv_machine *m, const rv_decoded *d, uint64_t addr,
                                                uint64_t when) {
    /* the TLB holds only pages of regions that allow its kind of access: a hit
     * answers without the region search, and a page the search found goes
     * into it (a prefetch runs ahead of the loads: the next prefetches of the
     * page find it there, and so do the loads that follow) */
    int w = d->rs2 == 3;
    if (!tlb_hit(tlb_slot(w ? m->tlb_w : m->tlb_r, addr), addr, 1)) {
        region *r = mem_find(m, addr);
        if (!r || !(r->perms & (w ? RV_PERM_W : RV_PERM_R))) return;
        mem_tlb_remember(m, r, addr, w);
    }
    uint64_t line = addr >> t->line_bits;
    tm_line *v1;
    if (find(&t->l1, line, &v1)) return;
    fill(t, line, when, 0, v1);
    t->s.sw_prefetches++;
}

/* A prefetch.r/w issued at cycle `when`, on a machine with Zicbop: the line at
 * rs1 + offset is filled as the stride prefetcher fills one (the L2 and DRAM
 * channels booked, the pipe not waiting, the first demand use of the line
 * counted as a hit).  A hint never faults: an address that no readable region
 * (prefetch.r) or writable one (prefetch.w) maps does nothing.  Without
 * Zicbop the instruction is the ori it encodes, to the model too. */
static inline __attribute__((always_inline)) void software_prefetch(rv_timing *t, rv_machine *m, const rv_decoded *d, uint64_t when) {
    if (m->ext_off >> RV_EXT_zicbop & 1) return;
    uint64_t addr = m->x[d->rs1] + (uint64_t)(int64_t)(d->imm & ~31), line = addr >> t->line_bits;
    /* a line L1 holds asks for nothing, whatever maps its address: the hit
     * filter's entry answers the common case before the mapping is looked at */
    if ((*tm_hit_slot(t, line))->tag == line) return;
    tm_prefetch_miss(t, m, d, addr, when);
}

/* The stream of the instruction at pc (a new one replacing the least recently
 * trained when it has none). */
static inline __attribute__((always_inline)) tm_stream *stream_of(rv_timing *t, uint64_t pc, int *fresh) {
    tm_stream *s = t->streams, *old = s;
    /* a trained stream's pc is in no other entry, so a hint that names an
     * entry of this pc is what the search would find */
    uint8_t *hint = &t->stream_hint[(pc >> 1) & (TM_STREAM_HINTS - 1)];
    if (likely(!t->reference) && *hint < t->p.prefetch_streams && s[*hint].pc == pc && s[*hint].lru) {
        *fresh = 0;
        return &s[*hint];
    }
    *fresh = 0;
    for (unsigned i = 0; i < t->p.prefetch_streams; i++) {
        if (s[i].pc == pc && s[i].lru) { *hint = (uint8_t)i; return &s[i]; }
        if (s[i].lru < old->lru) old = &s[i];
    }
    *old = (tm_stream){.pc = pc};
    *hint = (uint8_t)(old - s);
    *fresh = 1;
    return old;
}

/* Host prefetches for the L2 searches of a stream's next trainings; they
 * change nothing modelled (the model's state is only read, into the host's
 * cache).  Each line a training prefetches is looked up in L2 (fill's find),
 * whose hit filter answers most of them: a chain of two dependent loads at
 * hashed, so unpredictable, addresses (the entry, then the way it points to)
 * in L2's filter and ways (256 KB and 384 KB on xuantie-c930), which the
 * host's cache often did not hold.  `next` is where the next training (the
 * stride kept) fetches: the filter entries of its lines were fetched by the
 * training before, so the ways they point to can be fetched now; the training
 * after it fetches at `next + delta`, whose entries are fetched now.  A
 * training comes a loop pass or more after the one before: time for the host
 * to bring them in.  (Warming L1's entries and ways as well, or the next
 * demand access's, measured slower: more host instructions than stalls saved.) */
static inline __attribute__((always_inline)) void warm_next(rv_timing *t, uint64_t next, int64_t delta, unsigned span) {
    const tm_cache *l2 = t->l2p;
    unsigned lb = t->line_bits;
    for (uint64_t l = next >> lb; l <= (next + span - 1) >> lb; l++) __builtin_prefetch(*tm_filter_slot(l2, l));
    uint64_t after = next + (uint64_t)delta;
    for (uint64_t l = after >> lb; l <= (after + span - 1) >> lb; l++) __builtin_prefetch(tm_filter_slot(l2, l));
}

/* An access of `span` bytes at addr by the instruction at pc, at cycle `when`.
 * Inline (with stream_of and prefetch_line) in first_use, which a streaming
 * scalar loop reaches once a line: the calls and their saved registers were
 * about 1.6M of the scalar memcpy's 162.5M host instructions; and in
 * vmem_access, once a vector memory op.  `train` is the out-of-line copy for
 * the other callers.  `warm` (a constant in each copy):
 * whether to warm_next; first_use's does not (measured: ~2 % slower on the
 * scalar memcpy, whose model the host's cache already holds, and no faster
 * on the GEMM's scalar streams). */
static inline __attribute__((always_inline)) void train_inline(rv_timing *t, uint64_t pc, uint64_t addr, unsigned span,
                                                               uint64_t when, int warm) {
    if (!t->p.prefetch_degree) return;
    int fresh;
    tm_stream *s = stream_of(t, pc, &fresh);
    s->lru = ++t->stream_stamp;
    if (!span) span = 1;
    int64_t delta = (int64_t)(addr - s->last);
    /* the stream's state relative to this access: fresh, its delta and stride, distance, lines ahead */
    TM_PROBE(tm_probe_mem(t, TM_PE_TRAIN, (uint64_t)fresh << 63 ^ (uint64_t)delta * 31 ^ (uint64_t)s->stride * 1009 ^
                                              (uint64_t)s->dist << 40 ^ (uint64_t)s->ahead << 48 ^ (uint64_t)span << 20));
    s->last = addr;
    s->span = span;
    if (fresh || delta == 0) return;
    if (delta != s->stride) {          /* a new stride: seen once, nothing fetched for it */
        s->stride = delta;
        s->dist = 0;
        s->ahead = 0;
        return;
    }
    unsigned degree = t->p.prefetch_degree;
    uint64_t k_max = s->k_max;
    if (likely(s->ahead == k_max && s->dist == degree && span == s->k_span) && likely(!t->reference)) {
        /* steady: a stream at full distance whose memo holds for this span,
         * with every access up to k_max strides ahead fetched: what the
         * general path below then does, the one access that comes into
         * reach fetched (the reference mode takes the general path) */
        TM_PROBE(tm_probe_mem(t, TM_PE_STEADY, k_max));
        uint64_t a = addr + (uint64_t)((int64_t)k_max * delta);
        for (uint64_t l = a >> t->line_bits; l <= (a + span - 1) >> t->line_bits; l++) prefetch_line(t, l, when);
        if (warm) warm_next(t, addr + (uint64_t)((int64_t)(k_max + 1) * delta), delta, span);
        return;
    }
    /* a stream at full distance stays there (the common case): for an access
     * of the span its memo was made for, k_max is the memo's (the reference
     * mode computes it afresh).  A new stride starts at distance 0, so the
     * memo of a stream at full distance was made for its stride. */
    if (s->dist != degree || span != s->k_span || t->reference) {
        if (s->dist != degree)
            s->dist = s->dist ? (s->dist * 2 > degree ? degree : s->dist * 2) : (degree < 2 ? degree : 2);
        /* how many accesses ahead `dist` lines reach */
        uint64_t line = t->p.line, step = (uint64_t)(delta < 0 ? -delta : delta);
        if (step >= line) {
            /* dist over the lines an access spans (1 for a scalar one): a shift
             * when they are a power of two, as a whole vector group's usually are */
            uint64_t lines = (span + line - 1) >> t->line_bits;
            k_max = !(lines & (lines - 1)) ? (uint64_t)s->dist >> __builtin_ctzll(lines) : s->dist / lines;
        } else if (!(step & (step - 1))) k_max = (uint64_t)s->dist * line >> __builtin_ctzll(step);   /* a power of two */
        else k_max = s->dist * line / step;
        if (k_max < 1) k_max = 1;
        s->k_max = (uint32_t)k_max;
        s->k_span = span;
    }
    if (s->ahead) s->ahead--;          /* this access was one of those already fetched */
    while (s->ahead < k_max) {
        s->ahead++;
        uint64_t a = addr + (uint64_t)((int64_t)s->ahead * delta);
        for (uint64_t l = a >> t->line_bits; l <= (a + span - 1) >> t->line_bits; l++) prefetch_line(t, l, when);
    }
    /* (not in the reference mode: anything warm_next changed of the model
     * would show as a difference between the two) */
    if (warm && likely(!t->reference)) warm_next(t, addr + (uint64_t)((int64_t)(s->ahead + 1) * delta), delta, span);
}

/* train_inline, called from the rarer paths (scalar misses). */
static __attribute__((noinline)) void train(rv_timing *t, uint64_t pc, uint64_t addr, unsigned span, uint64_t when) {
    train_inline(t, pc, addr, span, when, 1);
}

/* A demand access to one line at cycle `when`: the cycle its data is there.
 * *event says whether it missed L1 or was the first use of a prefetched line
 * (what trains a scalar stream). */
static inline __attribute__((always_inline)) uint64_t access_line(rv_timing *t, uint64_t line, uint64_t when,
                                                                  int store, int *event) {
    tm_line *v1, *w = find(&t->l1, line, &v1);
    uint64_t done;
    if (w) {
        t->s.l1_hits++;
        w->lru = ++t->l1.stamp;
        done = when + t->p.l1_latency;
        if (w->ready > done) {
            done = w->ready;
            if (done <= t->cont_until) t->cont_hit = 1;   /* its fill met contention */
        }
        TM_PROBE(tm_probe_mem(t, (w->prefetched ? TM_PE_L1FIRST : TM_PE_L1HIT) | TM_PE_CYCLE, done));
        if (w->prefetched) {
            w->prefetched = 0;
            *event = 1;
        }
    } else {
        t->s.l1_misses++;
        done = fill(t, line, when, 1, v1);
        w = v1;                    /* fill installed the line in find's victim */
        *event = 1;
        TM_PROBE(tm_probe_mem(t, TM_PE_L1MISS | TM_PE_CYCLE, done));
    }
    if (store) {
        w->dirty = 1;
        if (w->shared) invalidate_others(t, line, w, when);
    }
    if (done > t->mem_end) t->mem_end = done;
    t->last_line = line;
    t->last_way = w;
    return done;
}

/* Set the first- and last-result cycles of the n (0 to 8) registers of the
 * group at vd (vector_op's destination, a vector load's arrival): unrolled,
 * as a loop costs about as much again. */
static inline __attribute__((always_inline)) void set_group(rv_timing *t, unsigned vd, unsigned n, uint64_t first,
                                                            uint64_t done) {
    uint64_t *vf = &t->vfirst[vd], *vdn = &t->vdone[vd];
    switch (n) {
    case 8: vf[7] = first; vdn[7] = done; /* fall through */
    case 7: vf[6] = first; vdn[6] = done; /* fall through */
    case 6: vf[5] = first; vdn[5] = done; /* fall through */
    case 5: vf[4] = first; vdn[4] = done; /* fall through */
    case 4: vf[3] = first; vdn[3] = done; /* fall through */
    case 3: vf[2] = first; vdn[2] = done; /* fall through */
    case 2: vf[1] = first; vdn[1] = done; /* fall through */
    case 1: vf[0] = first; vdn[0] = done; /* fall through */
    default: break;
    }
}

/* tm_mem_slow for a scalar access within one line, the first use of line w
 * that the prefetcher brought into L1 (not shared when a store): an L1 hit
 * that trains the stream, what access_line and the rest of tm_mem_slow do for
 * it without their searches and loops.  `counted` (a constant in each copy):
 * whether the caller counts the access's L1 hit and bytes itself (a
 * translated block's exits do, for every scalar access). */
static inline __attribute__((always_inline)) void first_use(rv_timing *t, tm_line *w, uint64_t line, uint64_t addr,
                                                            unsigned n, int store, uint64_t pc, int counted) {
    uint64_t when = t->last_issue, done = when + t->p.l1_latency;
    t->cont_hit = 0;
    if (!counted) t->s.l1_hits++;
    w->lru = ++t->l1.stamp;
    if (w->ready > done) {
        done = w->ready;
        if (done <= t->cont_until) t->cont_hit = 1;
    }
    w->prefetched = 0;
    TM_PROBE(tm_probe_mem(t, TM_PE_L1FIRST | TM_PE_CYCLE, done));
    if (store) w->dirty = 1;
    if (done > t->mem_end) t->mem_end = done;
    t->last_line = line;
    t->last_way = w;
    train_inline(t, pc, addr, n, when, 0);
    if (store) {
        if (!counted) t->s.bytes_stored += n;
        return;
    }
    if (!counted) t->s.bytes_loaded += n;
    t->ready[t->last_dst] = done;
    t->kind[t->last_dst] = t->cont_hit ? TM_K_CONT : TM_K_MEM;
}

void tm_mem_filtered(rv_timing *t, tm_line *w, uint64_t line, uint64_t addr, unsigned n, int store, uint64_t pc) {
    if (w->tag == line && w->prefetched && !(store && w->shared)) first_use(t, w, line, addr, n, store, pc, 0);
    else tm_mem_slow(t, addr, n, store, pc);
}

void tm_first_use(rv_timing *t, tm_line *w, uint64_t line, uint64_t addr, unsigned n, int store, uint64_t pc) {
    first_use(t, w, line, addr, n, store, pc, 1);
}

/* An access of n bytes at addr by the vector memory op in flight: its lines
 * are requested from its start; its result is ready once the last line
 * arrives. */
static void vmem_access(rv_timing *t, uint64_t addr, unsigned n, int store) {
    uint64_t first = addr >> t->line_bits, last = (addr + (n ? n - 1 : 0)) >> t->line_bits;
    int event = 0;
    t->cont_hit = 0;
    uint64_t arrive = t->vm_start;
    for (uint64_t l = first; l <= last; l++) {
        if (l == t->last_line && !store) {
            /* the line the last access used (the element before, or the scalar
             * access just before the op): an L1 hit with no new request, but
             * its data may still be on its way from a miss, as tm_mem's
             * same-line path knows */
            t->s.l1_hits++;
            if (t->last_way->ready > arrive) arrive = t->last_way->ready;
            TM_PROBE(tm_probe_mem(t, TM_PE_SAMELINE | TM_PE_CYCLE, arrive));
            continue;
        }
        uint64_t a = access_line(t, l, t->vm_start, store, &event);
        if (a > arrive) arrive = a;
    }
    if (!t->vm_trained) {   /* the op's first access trains its stream (inline: once a vector memory op) */
        t->vm_trained = 1;
        train_inline(t, t->vm_pc, addr, n, t->vm_start, 1);
    }
    if (store) {
        t->s.bytes_stored += n;
        TM_PROBE(tm_probe_vector(t, store));
        return;
    }
    t->s.bytes_loaded += n;
    int vd = t->vm_vd, regs = t->vm_nregs;   /* the destination group's registers, those below v32 */
    if (regs > 32 - vd) regs = 32 - vd;
    if (!t->vm_first_seen && arrive > t->vfirst[vd])   /* (once an op) */
        for (int i = 0; i < regs; i++) t->vfirst[vd + i] = arrive;
    t->vm_first_seen = 1;
    if (arrive > t->vdone[vd]) {
        set_group(t, (unsigned)vd, (unsigned)regs, t->vfirst[vd], arrive);
        if (arrive > t->v_end) t->v_end = arrive;
    }
    TM_PROBE(tm_probe_vector(t, store));
}

void tm_mem_slow(rv_timing *t, uint64_t addr, unsigned n, int store, uint64_t pc) {
    uint64_t first = addr >> t->line_bits, last = (addr + (n ? n - 1 : 0)) >> t->line_bits;
    int event = 0;
    if (first == last) {
        tm_line *w = *tm_hit_slot(t, first);
        if (w->tag == first && w->prefetched && !(store && w->shared)) {
            tm_mem_filtered(t, w, first, addr, n, store, pc);   /* first_use's one copy */
            return;
        }
    }
    t->cont_hit = 0;
    uint64_t done = 0;
    for (uint64_t l = first; l <= last; l++) {
        uint64_t a = access_line(t, l, t->last_issue, store, &event);
        if (a > done) done = a;
    }
    if (event) train(t, pc, addr, n, t->last_issue);
    if (store) { t->s.bytes_stored += n; return; }
    t->s.bytes_loaded += n;
    t->ready[t->last_dst] = done;
    t->kind[t->last_dst] = t->cont_hit ? TM_K_CONT : TM_K_MEM;
}

void timing_mem(rv_machine *m, uint64_t addr, unsigned n, int is_store) {
    rv_timing *t = m->timing;
    /* an access of a vector memory op (the usual caller): straight to its
     * path, past tm_mem's tests for a scalar one */
    if (likely(t->pending & TM_P_VMEM)) vmem_access(t, addr, n, is_store);
    else tm_mem(t, addr, n, is_store, t->vm_pc);
}

void tm_vmem(rv_timing *t, uint64_t addr, unsigned n, int store) { vmem_access(t, addr, n, store); }

/* ---- scalar core ------------------------------------------------------- */

/* The issue cycle moves to `rdy`; charge the wait to what the first late
 * source (in operand order) of slot e was waiting for, as tm_step does inline. */
static uint64_t stall(rv_timing *t, const tm_slot *e, uint64_t rdy) {
    unsigned idx[3] = {e->s1, e->s2, e->s3};
    int kind = TM_K_DATA;
    for (int i = 0; i < 3; i++)
        if (t->ready[idx[i]] == rdy) { kind = t->kind[idx[i]]; break; }
    t->stall[kind] += rdy - t->now;
    tm_new_cycle(t);
    return rdy;
}

/* A misprediction found now: the front end restarts branch_penalty cycles
 * later, charged to the branch or jump at `slot`. */
static void mispredicted(rv_timing *t, uint64_t *slot) {
    t->s.stall_branch += t->p.branch_penalty;
    *slot += t->p.branch_penalty;
    t->now += t->p.branch_penalty;
    tm_new_cycle(t);
}

void tm_mispredicted_branch(rv_timing *t) {
    t->s.mispredicts++;
    mispredicted(t, t->br_slot);
}

/* tm_resolve's out-of-line part: whatever is pending besides a lone conditional branch. */
void tm_resolve_other(rv_timing *t, uint64_t pc) {
    TM_PROBE(int branch = t->pending & TM_P_BRANCH;)
    if (t->pending & TM_P_BRANCH) {
        int taken = pc != t->br_fall;
        uint8_t *c = &t->bht[t->br_idx];
        t->s.branches++;
        if (taken != (*c >= 2)) {
            t->s.mispredicts++;
            mispredicted(t, t->br_slot);
        }
        if (taken && *c < 3) (*c)++;
        if (!taken && *c > 0) (*c)--;
    }
    if (t->pending & TM_P_JUMP) {
        t->s.indirect++;
        if (pc != t->jr_pred) {
            t->s.indirect_mispredicts++;
            mispredicted(t, t->jr_slot);
        }
        if (t->jr_entry) *t->jr_entry = (tm_btb){t->jr_pc, pc};
    }
    tm_set_pending(t, 0);
    TM_PROBE(if (branch) tm_probe_branch(t, t->br_fall, pc, pc != t->br_fall);)
}

/* The link registers of the ISA manual's return-address-stack hints. */
static int is_link(unsigned r) { return r == 1 || r == 5; }

/* jal and jalr.  A direct jump's target is known at fetch (always predicted);
 * a jalr predicts from the return-address stack when it is a return (reads a
 * link register it does not also write) and from the BTB otherwise, and is
 * checked against the next pc in tm_resolve.  A jump writing a link register
 * is a call: it pushes its return address (after a return's pop, so a
 * coroutine swap pops then pushes, as the manual's hint table says). */
static void jump(rv_timing *t, const rv_decoded *d, uint64_t pc, uint64_t *slot) {
    unsigned depth = t->p.ras_depth;
    if (d->op == RV_OP_jalr) {
        tm_set_pending(t, t->pending | TM_P_JUMP);
        t->jr_slot = slot;
        if (depth && is_link(d->rs1) && !(is_link(d->rd) && d->rd == d->rs1)) {
            t->ras_top = (t->ras_top + depth - 1) % depth;
            t->jr_pred = t->ras[t->ras_top];
            t->jr_entry = NULL;
        } else {
            tm_btb *e = &t->btb[(pc >> 1) & (t->p.btb_entries - 1)];
            t->jr_pred = e->pc == pc ? e->target : ~0ull;   /* no entry: no target to fetch from */
            t->jr_entry = e;
            t->jr_pc = pc;
        }
    }
    if (depth && is_link(d->rd)) {
        t->ras[t->ras_top] = pc + d->len;
        t->ras_top = (t->ras_top + 1) % depth;
    }
}

static unsigned ilog2(uint64_t v) { return v ? 63u - (unsigned)__builtin_clzll(v) : 0; }

/* Element width (bits) and VLMAX of the current vtype; 0 when vill. */
static unsigned cur_sew(rv_machine *m) { return m->vtype >> 63 ? 0 : 8u << ((m->vtype >> 3) & 7); }
static uint64_t cur_vlmax(rv_machine *m, unsigned sew) {
    unsigned lmul = m->vtype & 7;
    uint64_t regs_x8 = lmul < 4 ? 8ull << lmul : 8ull >> (8 - lmul);   /* LMUL * 8 */
    return sew ? m->vlen * regs_x8 / 8 / sew : 0;
}

/* A cost-table sum (rv_vcost's terms) for `groups` register groups, vl
 * elements and `beats` pipe-width beats; whole cycles, at least one. */
static double cost_terms(const double *k, double groups, uint64_t vl, uint64_t beats) {
    return k[RV_TERM_CONST] + k[RV_TERM_L] * groups + k[RV_TERM_L2] * groups * groups +
           k[RV_TERM_ELEM] * (double)vl + k[RV_TERM_BEAT] * (double)beats;
}

static uint64_t whole_cycles(double x) { return x < 1 ? 1 : (uint64_t)(x + 0.5); }

/* Everything about a vector instruction's step that follows from the
 * instruction, the vtype, vl and the model's parameters: its pipe and units,
 * how long it occupies a unit (by its cost-table row when the preset has one,
 * else by the class's rule: beats of the pipe's width), its latency, the
 * registers it reads and writes, and what it adds to the counters. */
/* The registers a group of vl elements `bits` wide each covers:
 * ceil(vl*bits/VLEN), at least one, at most eight (RVV 1.0 §5.2; a vl below
 * VLMAX touches fewer of them). */
static int group_regs(uint64_t vl, unsigned bits, unsigned vlen) {
    uint64_t n = (vl * bits + vlen - 1) / vlen;
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* The registers of an operand of group kind g (TM_G_*) for the current SEW
 * and vl: mem_regs and index_bits are a memory op's data group and index EEW. */
static int operand_regs(unsigned g, uint64_t vl, unsigned sew, int mem_regs, unsigned index_bits, unsigned vlen) {
    switch (g) {
    case TM_G_SEW: return group_regs(vl, sew, vlen);
    case TM_G_WIDE: return group_regs(vl, 2 * sew, vlen);
    case TM_G_HALF: return group_regs(vl, sew / 2, vlen);
    case TM_G_QUARTER: return group_regs(vl, sew / 4, vlen);
    case TM_G_EIGHTH: return group_regs(vl, sew / 8, vlen);
    case TM_G_EI16: return group_regs(vl, 16, vlen);
    case TM_G_MEM: return mem_regs;
    case TM_G_INDEX: return group_regs(vl, index_bits, vlen);
    default: return (int)g;   /* a fixed count */
    }
}

/* The bits of the n registers from r (r + n <= 32) in a register mask. */
static uint32_t reg_bits(unsigned r, unsigned n) { return (uint32_t)(((1ull << n) - 1) << r); }

/* Adds the source group of `regs` registers from r (those below v32) to v's. */
static void add_source(tm_vplan *v, unsigned r, int regs) {
    unsigned n = r + regs > 32 ? 32 - r : (unsigned)regs;
    v->srcs[v->nsrc] = (uint8_t)r;
    v->srcn[v->nsrc++] = (uint8_t)n;
    v->inner |= reg_bits(r + 1, n - 1);
}

static void plan_vector(const rv_timing *t, const rv_decoded *d, rv_machine *m, const tm_opinfo *o, tm_vplan *v) {
    unsigned sew = cur_sew(m);
    uint64_t vl = sew ? m->vl : 0;
    unsigned cls = o->cls;
    int row = t->op_cost[d->op];
    const rv_vcost *c = row >= 0 ? &t->costs[row] : NULL;
    unsigned pipe = c && c->pipe >= 0 ? (unsigned)c->pipe : t->p.vpipe[cls];
    unsigned dlen = t->p.pipe_width[pipe] ? t->p.pipe_width[pipe] : t->p.dlen;   /* bits a beat */
    int is_mem = cls == RV_CLASS_VLOAD || cls == RV_CLASS_VSTORE;
    unsigned eew = sew * o->widen, nf = 1;
    int mask_mem = 0;              /* vlm.v or vsm.v */
    unsigned index_bits = 0;       /* an indexed memory op's index EEW */
    uint64_t beats, elems = vl;   /* elements accessed: a cost row's `elem` term */
    if (is_mem) {
        static const unsigned width_eew[8] = {8, 0, 0, 0, 0, 16, 32, 64};
        unsigned mop = (d->raw >> 26) & 3, lumop = d->rs2;
        nf = ((d->raw >> 29) & 7) + 1;
        index_bits = width_eew[(d->raw >> 12) & 7];
        eew = mop & 1 ? sew : index_bits;   /* indexed: data EEW is SEW */
        if (!eew) eew = sew;
        if (mop == 0 && lumop == 8) {            /* whole registers: nf of them, NF*VLEN bits */
            vl = (uint64_t)nf * m->vlen / eew;
            beats = (uint64_t)nf * m->vlen / dlen;
            nf = 1;   /* vl counts every register's elements: the groups below are nf, not nf*nf */
        } else if (mop == 0 && lumop == 0xb) {   /* mask */
            mask_mem = 1;
            beats = ((vl + 7) / 8 * 8 + dlen - 1) / dlen;
        } else if (mop == 0) {                   /* unit stride; segments one per cycle at most */
            beats = (vl * eew * nf + dlen - 1) / dlen;
            if (nf > 1 && beats < vl) beats = vl;
        } else {                                 /* strided, indexed: by element */
            beats = (vl * nf + t->p.strided_elems_per_cycle - 1) / t->p.strided_elems_per_cycle;
        }
        if (mop != 0 || lumop != 8) elems = vl * nf;   /* vl segments of nf fields (nf > 1: a segment access) */
    } else if (o->elemwise) {
        beats = (vl + t->p.gather_elems_per_cycle - 1) / t->p.gather_elems_per_cycle;
    } else {
        beats = (vl * eew + dlen - 1) / dlen;
    }
    if (!beats) beats = 1;
    double groups = (double)vl * eew * nf / m->vlen;
    double occ = (double)beats;
    if (c && c->has_occ) occ = cost_terms(c->occ, groups, elems, beats);
    else if (cls == RV_CLASS_VDIV || cls == RV_CLASS_VFDIV) occ *= t->p.vdiv_beat_cycles;
    if (c) {   /* a narrower path for masked forms or 64-bit elements: the slower of the two */
        double f = 1;
        if (c->masked && (o->vflags & TM_V_MASK) && !((d->raw >> 25) & 1)) f = c->masked;
        if (c->e64 && sew == 64 && c->e64 > f) f = c->e64;
        occ *= f;
    }
    uint64_t lat = is_mem ? t->p.l1_latency : t->p.latency[cls];
    if (c && c->has_lat) lat = whole_cycles(cost_terms(c->lat, groups, elems, beats));
    else if (cls == RV_CLASS_VRED) lat += ilog2(t->p.dlen / (sew ? sew : 8));   /* the tree of the last beat */
    /* a memory op's data group (vl·EEW bits; a mask one register; whole registers' vl covers NF);
     * a segment's NF fields are groups of EMUL registers each (at least one), taken as one span
     * to the last field's last register (at a short vl, with the other fields' tails) */
    int mem_regs = mask_mem ? 1 : group_regs(vl, eew, m->vlen);
    if (nf > 1) mem_regs += (int)(nf - 1) * group_regs(cur_vlmax(m, sew), eew, m->vlen);
    if (mem_regs > 8) mem_regs = 8;
#define TM_REGS(g) operand_regs(g, vl, sew, mem_regs, index_bits, m->vlen)
    int nvd = TM_REGS(o->gvd);
    v->occupancy = whole_cycles(occ);
    v->lat = lat;
    v->op = d->op;
    v->pipe = (uint8_t)pipe;
    v->units = (uint8_t)t->p.pipe_count[pipe];
    v->vd = d->rd;
    v->nvd = o->vflags & TM_V_VD ? (uint8_t)(d->rd + nvd > 32 ? 32 - d->rd : nvd) : 0;
    v->sdst = (uint8_t)(o->dst + (o->dst != TM_DST_NONE ? d->rd : 0));
    /* each source waits for every register of its group, which ops at a
     * smaller LMUL (or EMUL) may have written one at a time */
    v->nsrc = 0;
    v->inner = 0;
    if (o->vflags & TM_V_VS1) add_source(v, d->rs1, TM_REGS(o->gvs1));
    if (o->vflags & TM_V_VS2) add_source(v, d->rs2, TM_REGS(o->gvs2));
    if (o->vflags & TM_V_VDSRC) add_source(v, d->rd, nvd);
    if (((o->vflags & TM_V_MASK) && !((d->raw >> 25) & 1)) || (o->vflags & TM_V_V0)) add_source(v, 0, 1);
#undef TM_REGS
    /* its write sets its group's registers alike, apart from the registers on either side */
    v->wclear = v->nvd ? reg_bits(d->rd + 1u, v->nvd - 1u) : 0;
    v->wset = v->nvd ? reg_bits(d->rd, 1) | (d->rd + v->nvd < 32 ? reg_bits(d->rd + v->nvd, 1) : 0) : 0;
    v->is_mem = (uint8_t)is_mem;
    v->vm_vd = cls == RV_CLASS_VLOAD ? d->rd : 0;
    v->vm_nregs = cls == RV_CLASS_VLOAD ? (uint8_t)mem_regs : 0;
    v->chained = t->p.chaining != 0;
    /* a reduction's result (element 0) exists only once it has finished */
    v->first_at_done = !t->p.chaining || cls == RV_CLASS_VRED;
    v->elems = vl;
    v->elems_max = cur_vlmax(m, sew);
    v->flops = vl * o->flops;
}

/* The plan of the vector instruction d (in slot e) for the current vtype and
 * vl: its slot's plan, planned again when made for other ones; made afresh
 * into scratch when the slot has none (the reference mode, or the model out
 * of plans). */
static inline __attribute__((always_inline)) const tm_vplan *vector_plan(rv_timing *t, const rv_decoded *d, rv_machine *m,
                                                                                const tm_slot *e, tm_vplan *scratch) {
    if (unlikely(!e->plan)) {
        plan_vector(t, d, m, &tm_ops[d->op], scratch);
        return scratch;
    }
    tm_vplan *v = &t->vplans[e->plan];
    if (unlikely(v->raw != d->raw || v->vtype != m->vtype || v->vl != m->vl)) {
        plan_vector(t, d, m, &tm_ops[d->op], v);
        v->raw = d->raw;
        v->vtype = m->vtype;
        v->vl = m->vl;
    }
    return v;
}

int tm_plan_words(rv_timing *t, const rv_decoded *d, rv_machine *m, const tm_slot *e, uint64_t *out) {
    if (e->path != TM_PATH_VECTOR || !e->plan) return 0;
    /* planned for the machine's vtype and vl now, as its next execution would
     * plan it (a plan is a function of its key): the words do not depend on
     * whether, or under which vtype, the instruction ran before */
    const tm_vplan *v = vector_plan(t, d, m, e, NULL);
    /* (the groups past nsrc as 0: plan_vector leaves them unset, and the
     * words are part of the translation's key) */
    uint64_t s[sizeof v->srcs] = {0}, n[sizeof v->srcn] = {0};
    for (unsigned i = 0; i < v->nsrc; i++) s[i] = v->srcs[i], n[i] = v->srcn[i];
    const uint64_t w[] = {v->vtype, v->vl, v->op, v->pipe, v->units, v->vd, v->nvd, v->sdst, v->nsrc,
                          s[0], s[1], s[2], s[3], n[0], n[1], n[2], n[3], v->chained, v->first_at_done, v->is_mem,
                          v->vm_vd, v->vm_nregs, v->occupancy, v->lat, v->elems, v->elems_max, v->flops};
    _Static_assert(sizeof w == TM_PLAN_WORDS * sizeof *w, "TM_PLAN_WORDS");
    memcpy(out, w, sizeof w);
    return TM_PLAN_WORDS;
}

/* A vector instruction: wait for a queue entry, then start on the earliest
 * free unit of its pipe once its vector sources are ready (their first beat
 * with chaining, their last without), and occupy it for its plan's cycles.
 * Everything static is in the plan: this is the part that depends on the
 * machine's state. rvai/emu/jit_llvm.py's _Block._tvector writes this step (and
 * tm_vector_step's around it) in IR for translated blocks: a change here must be
 * made there too; tests/test_timed_translate.py's
 * test_vector_loops_time_the_same_translated catches a mismatch (cycles differ). */
static inline __attribute__((always_inline)) void vector_op(rv_timing *t, const rv_decoded *d, rv_machine *m,
                                                             const tm_slot *e, uint64_t dispatch, uint64_t pc) {
    tm_vplan scratch;
    const tm_vplan *v = vector_plan(t, d, m, e, &scratch);
    TM_PROBE(tm_probe_vec(t, m->vtype, m->vl));
    unsigned pipe = v->pipe, unit = 0;
    uint64_t lat = v->lat;

    /* the decoupling queue: wait until the op vq_depth places back has started */
    uint64_t *q = &t->vq[t->vq_pos];
    if (*q > dispatch) {
        /* waiting for vector work that contended memory held up counts as contention */
        t->stall[*q <= t->cont_until ? TM_K_CONT : TM_K_VEC] += *q - dispatch;
        tm_new_cycle(t);
        t->now = dispatch = *q;
    }
    uint64_t *uf = t->unit_free[pipe];
    for (unsigned u = 1; u < v->units; u++)
        if (uf[u] < uf[unit]) unit = u;
    uint64_t start = dispatch > uf[unit] ? dispatch : uf[unit], src_done = 0;
    const uint64_t *need = v->chained ? t->vfirst : t->vdone, *vdone = t->vdone;
    /* each register r of each source group: start no earlier than it is
     * needed, last beat no earlier than it is done */
#define TM_SOURCE(r) do {                                                   \
        if (need[r] > start) start = need[r];                              \
        if (vdone[r] > src_done) src_done = vdone[r];                      \
    } while (0)
    if (likely(!(t->vsplit & v->inner))) {   /* each group set by one write: its first register holds its cycles */
        switch (v->nsrc) {   /* 0 to 4 groups: unrolled, like the destination group below */
        case 4: TM_SOURCE(v->srcs[3]); /* fall through */
        case 3: TM_SOURCE(v->srcs[2]); /* fall through */
        case 2: TM_SOURCE(v->srcs[1]); /* fall through */
        case 1: TM_SOURCE(v->srcs[0]); /* fall through */
        default: break;
        }
    } else {
        for (unsigned g = 0; g < v->nsrc; g++)
            for (unsigned r = v->srcs[g], end = r + v->srcn[g]; r < end; r++) TM_SOURCE(r);
    }
#undef TM_SOURCE
    /* the last beat cannot run before the last beat of a chained source is there */
    uint64_t last_beat = start + v->occupancy - 1;
    if (v->chained && src_done > last_beat) last_beat = src_done;
    uint64_t done = last_beat + lat;
    uf[unit] = last_beat + 1;
    *q = start;
    if (++t->vq_pos == t->p.vq_depth) t->vq_pos = 0;   /* a ring of vq_depth entries */
    if (done > t->v_end) t->v_end = done;

    if (v->nvd) {
        uint64_t first = v->first_at_done ? done : start + lat;
        set_group(t, v->vd, v->nvd, first, done);
        t->vsplit = (t->vsplit & ~v->wclear) | v->wset;
    }
    if (v->sdst != TM_DST_NONE) {                /* a scalar result (vmv.x.s, vcpop.m, ...) */
        t->ready[v->sdst] = done;
        t->kind[v->sdst] = TM_K_VEC;
    }
    if (v->is_mem) {
        tm_set_pending(t, t->pending | TM_P_VMEM);
        t->vm_vd = v->vm_vd;
        t->vm_nregs = v->vm_nregs;
        t->vm_start = start;
        t->vm_first_seen = 0;
        t->vm_trained = 0;
        t->vm_pc = pc;
    }
    t->s.vec_ops++;
    t->s.vec_elems += v->elems;
    t->s.vec_elems_max += v->elems_max;
    t->s.flops += v->flops;
    t->s.pipe_busy[pipe] += uf[unit] - start;
    if (t->ntrace < TM_TRACE_MAX)
        t->trace[t->ntrace++] = (rv_trace_event){start, uf[unit], pc, v->op, (uint8_t)pipe, (uint8_t)unit};
}

/* A scalar class with one unit that takes an instruction every occupancy
 * cycles (not the divider, not
 * branches or jumps, which have their own rules). */
static int has_occupancy(const rv_timing *t, unsigned cls) {
    return t->p.occupancy[cls] && !is_vector_class((int)cls) && cls != RV_CLASS_BRANCH && cls != RV_CLASS_JUMP &&
           cls != RV_CLASS_DIV && cls != RV_CLASS_FDIV && cls != RV_CLASS_FSQRT;
}

/* A read of the cycle or time CSR (rdcycle, rdtime): it waits until the work
 * issued before it has finished (see tm_step_special). */
static int reads_clock(const rv_decoded *d) {
    unsigned csr = (unsigned)d->imm & 0xfff;
    return tm_ops[d->op].cls == RV_CLASS_CSR && (csr == 0xc00 || csr == 0xc01);
}

/* A plan for the vector slot e, whose `plan` field held `old` before it was
 * derived again: that plan when it is the slot's own (a slot whose code
 * changed keeps its plan, which the encoding in its key shows stale), else a
 * new one; 0 (none: planned afresh at every execution) in the reference mode
 * or when the model has made TM_VPLANS_MAX of them (slots derived again after
 * their counters were reset, as the scratch slots are, take new ones). */
static uint16_t slot_plan(rv_timing *t, const tm_slot *e, unsigned old) {
    if (t->reference) return 0;
    if (old && old < t->nvplans && t->vplans[old].owner == e) return (uint16_t)old;
    if (t->nvplans == t->vplans_cap) {
        if (t->vplans_cap == TM_VPLANS_MAX) return 0;
        unsigned cap = t->vplans_cap ? 2 * t->vplans_cap : 64;
        if (cap > TM_VPLANS_MAX) cap = TM_VPLANS_MAX;
        tm_vplan *grown = realloc(t->vplans, cap * sizeof *grown);
        if (!grown) return 0;
        t->vplans = grown;
        t->vplans_cap = cap;
        if (!t->nvplans) t->nvplans = 1;   /* index 0 is "none" */
    }
    tm_vplan *v = &t->vplans[t->nvplans];
    v->owner = e;
    v->raw = 0;   /* an illegal encoding: no vector op's, so its first execution plans it */
    return (uint16_t)t->nvplans++;
}

/* What the inline step needs of the instruction d, into its slot. */
static void derive(rv_timing *t, const rv_decoded *d, tm_slot *e) {
    const tm_opinfo *o = &tm_ops[d->op];
    unsigned lat = t->p.latency[o->cls], old_plan = e->plan;
    e->s1 = o->s1 + d->rs1;
    e->s2 = o->s2 + d->rs2;
    e->s3 = o->s3 + d->rs3;
    e->dst = o->dst + d->rd;
    e->lat = (uint16_t)lat;
    e->path = (o->vflags & TM_V_ANY) && o->cls != RV_CLASS_VSET ? TM_PATH_VECTOR
              : lat > UINT16_MAX || (o->special && o->cls != RV_CLASS_BRANCH) || reads_clock(d) ||
              has_occupancy(t, o->cls) ? TM_PATH_SPECIAL
              : is_data_prefetch(d) ? TM_PATH_PREFETCH
              : TM_PATH_PLAIN;
    if (e->path == TM_PATH_PLAIN)
        e->path |= (o->cls == RV_CLASS_BRANCH ? TM_PLAIN_BRANCH : 0) | (o->s3 != TM_SRC_NONE ? TM_PLAIN_S3 : 0) |
                   (e->dst < t->waw_below && e->dst != TM_X + 32 ? TM_PLAIN_WAW : 0);
    if (e->path == TM_PATH_VECTOR) e->plan = slot_plan(t, e, old_plan);
    /* the reference path: every instruction through tm_step_special's general
     * path, which the inline step and the vector and prefetch steps are
     * tested against (a vector slot's plan is then 0: planned afresh) */
    if (t->reference) e->path = TM_PATH_SPECIAL;
}

/* The first half of tm_vector_step and tm_prefetch_step: wait until slot e's sources
 * are ready (t->now moves there, the wait charged by stall()); returns t->now
 * from before the wait.  Neither kind has a third source: the instruction
 * table gives one ('R') only to the scalar fused multiply-adds
 * (tests/test_timing_fast_path.py checks the rows). */
static inline __attribute__((always_inline)) uint64_t wait_sources(rv_timing *t, const tm_slot *e) {
    uint64_t *r = t->ready;
    uint64_t rdy = r[e->s1], x;
    x = r[e->s2]; rdy = x > rdy ? x : rdy;
    uint64_t before = t->now;
    if (rdy > before) t->now = stall(t, e, rdy);
    return before;
}

/* Their second half: the op issued at t->now takes an issue slot, and slot e
 * is charged the cycles from `before`. */
static inline __attribute__((always_inline)) void issued(rv_timing *t, tm_slot *e, uint64_t before) {
    uint64_t now = t->now;
    t->last_issue = now;
    t->last_dst = e->dst;
    now = tm_take_slot(t, now);
    e->cycles += now - before;
    t->now = now;
}

/* tm_step_special for a vector op (not vsetvl): what its general path does
 * for one, without the tests for the other kinds of instruction. */
void tm_vector_step(rv_timing *t, const rv_decoded *d, rv_machine *m, uint64_t pc, tm_slot *e) {
    uint64_t before = wait_sources(t, e);
    vector_op(t, d, m, e, t->now, pc);
    issued(t, e, before);
}

/* tm_step_special for a Zicbop prefetch (TM_PATH_PREFETCH: its class has no
 * occupancy, its latency fits the slot): what the general path does for one,
 * a plain op that also asks for its line. */
void tm_prefetch_step(rv_timing *t, const rv_decoded *d, rv_machine *m, uint64_t pc, tm_slot *e) {
    uint64_t before = wait_sources(t, e);
    software_prefetch(t, m, d, t->now);
    t->ready[e->dst] = t->now + e->lat;
    t->kind[e->dst] = TM_K_DATA;
    issued(t, e, before);
}

void tm_derive_slot(rv_timing *t, const rv_decoded *d, tm_slot *e) {
    if (e->path == TM_PATH_NEW) derive(t, d, e);
}

/* tm_step, out of line, for a slot just derived as plain or branch (the
 * probe counted it in the tm_step that derived it). */
static __attribute__((noinline)) void step_derived(rv_timing *t, rv_machine *m, const rv_decoded *d, uint64_t pc, tm_slot *e) {
    tm_step_unprobed(t, m, d, pc, e);
}

void tm_step_special(rv_timing *t, const rv_decoded *d, rv_machine *m, uint64_t pc, tm_slot *e) {
    if (e->path == TM_PATH_NEW) {
        derive(t, d, e);
        if (e->path == TM_PATH_VECTOR) { tm_vector_step(t, d, m, pc, e); return; }
        if (e->path == TM_PATH_PREFETCH) { tm_prefetch_step(t, d, m, pc, e); return; }
        if (e->path >= TM_PATH_PLAIN) { step_derived(t, m, d, pc, e); return; }
    }
    uint64_t *slot = &e->cycles;
    const tm_opinfo *o = &tm_ops[d->op];
    uint64_t *r = t->ready;
    uint64_t rdy = r[o->s1 + d->rs1], x;
    x = r[o->s2 + d->rs2]; rdy = x > rdy ? x : rdy;
    x = r[o->s3 + d->rs3]; rdy = x > rdy ? x : rdy;
    uint64_t before = t->now, now = before;
    if (rdy > now) now = t->now = stall(t, e, rdy);
    unsigned cls = o->cls, dst = o->dst + d->rd;
    if (dst == t->last_dst && dst < t->waw_below && dst != TM_X + 32 && tm_cycle_begun(t) && !(o->vflags & TM_V_ANY)) {
        tm_new_cycle(t);   /* waw_pairing, as in tm_step */
        now = ++t->now;
    }
    uint64_t result = now + t->p.latency[cls];
    if (cls == RV_CLASS_DIV || cls == RV_CLASS_FDIV || cls == RV_CLASS_FSQRT) {
        /* one unpipelined divider: wait for it, then hold it for the latency */
        if (t->div_free > now) { t->stall[TM_K_DATA] += t->div_free - now; now = t->now = t->div_free; tm_new_cycle(t); }
        result = now + t->p.latency[cls];
        t->div_free = result;
    } else if (has_occupancy(t, cls)) {
        /* a unit that accepts one instruction every `occupancy` cycles (a
         * multiplier that is not fully pipelined) */
        if (t->unit_busy[cls] > now) { t->stall[TM_K_DATA] += t->unit_busy[cls] - now; now = t->now = t->unit_busy[cls]; tm_new_cycle(t); }
        t->unit_busy[cls] = now + t->p.occupancy[cls];
        result = now + t->p.latency[cls];
    } else if (cls == RV_CLASS_BRANCH) {   /* here only in the reference mode, or when its latency is too
                                             * large for tm_step */
        tm_set_pending(t, t->pending | TM_P_BRANCH);
        t->br_fall = pc + d->len;
        t->br_idx = (unsigned)(pc >> 1) & (t->p.bht_entries - 1);
        t->br_slot = slot;
    } else if (cls == RV_CLASS_JUMP) {
        jump(t, d, pc, slot);
    } else if (reads_clock(d)) {
        /* rdcycle/rdtime: the timed region it closes includes the vector
         * queue's drain and the memory accesses still in flight, so that a
         * program timing itself never sees more throughput than the model's
         * pipes and channels give (a real core's rdcycle does not wait; put
         * a fence before it there for the same measurement) */
        uint64_t drain = t->v_end > t->mem_end ? t->v_end : t->mem_end;
        if (drain > now) {
            t->stall[drain <= t->cont_until ? TM_K_CONT : t->v_end >= t->mem_end ? TM_K_VEC : TM_K_MEM] += drain - now;
            now = t->now = drain;
            tm_new_cycle(t);
        }
        result = now + t->p.latency[cls];
    } else if (cls == RV_CLASS_VSET) {
        result = now + t->p.vset_latency;
        if (t->p.vset_latency > 1) { now += t->p.vset_latency - 1; tm_new_cycle(t); }
    } else if (o->vflags & TM_V_ANY) {
        vector_op(t, d, m, e, now, pc);
        now = t->now;
        result = r[dst];
    } else if (is_data_prefetch(d)) {
        software_prefetch(t, m, d, now);
    }
    if (!(o->vflags & TM_V_ANY) || cls == RV_CLASS_VSET) {
        r[dst] = result;
        t->kind[dst] = TM_K_DATA;
    }
    t->last_issue = now;
    t->last_dst = dst;
    now = tm_take_slot(t, now);
    *slot += now - before;
    t->now = now;
}

/* ---- runs and counters --------------------------------------------------- */

void tm_run_begin(rv_timing *t) { tm_set_pending(t, 0); }

/* The stall counters the inline step keeps by kind, into the stats. */
static void sync_stalls(rv_timing *t) {
    t->s.stall_data = t->stall[TM_K_DATA];
    t->s.stall_memory = t->stall[TM_K_MEM];
    t->s.stall_vector = t->stall[TM_K_VEC];
    t->s.stall_contention = t->stall[TM_K_CONT];
}

uint64_t tm_run_end(rv_timing *t) {
    tm_set_pending(t, 0);
    TM_PROBE(tm_probe_run_end(t));
    sync_stalls(t);
    t->s.cycles = finish(t) - t->base;
    return t->s.cycles;
}

tm_slot *tm_pc_counters(rv_timing *t, uint64_t base, uint64_t size) {
    for (int i = 0; i < t->nranges; i++)
        if (t->ranges[i].base == base && t->ranges[i].size == size) return t->ranges[i].slots;
    tm_slot *slots = t->nranges < TM_MAX_RANGES ? calloc(size / 2, sizeof *slots) : NULL;
    if (!slots) {
        /* no room to keep them: count into scratch slots nobody reads, derived
         * afresh (TM_PATH_NEW) as they may have served another region */
        if (t->pc_scratch_size < size / 2) {
            tm_slot *scratch = realloc(t->pc_scratch, size / 2 * sizeof *scratch);
            if (!scratch) return NULL;
            t->pc_scratch = scratch;
            t->pc_scratch_size = size / 2;
        }
        memset(t->pc_scratch, 0, size / 2 * sizeof *t->pc_scratch);
        return t->pc_scratch;
    }
    t->ranges[t->nranges++] = (tm_range){base, size, slots};
    return slots;
}

void tm_rebase(rv_timing *t, uint64_t at) {
    if (at > t->now) t->now = t->base = at;
}

void tm_advance(rv_timing *t, uint64_t to) {
    if (to > t->now) { t->now = to; tm_new_cycle(t); }
}

uint64_t tm_reset_counters(rv_timing *t) {
    /* the next run starts once this one has drained */
    t->now = t->base = finish(t);
    tm_new_cycle(t);
    memset(&t->s, 0, sizeof t->s);
    memset(t->stall, 0, sizeof t->stall);
    for (int i = 0; i < t->nranges; i++)
        for (uint64_t k = 0; k < t->ranges[i].size / 2; k++) t->ranges[i].slots[k].cycles = 0;
    t->ntrace = 0;
    return t->now;
}

uint64_t tm_cycle_now(const rv_timing *t) { return t->last_issue - t->base; }

void rv_hart_timing_stats(rv_machine *m, int h, rv_timing_stats *out) {
    rv_timing *t = h >= 0 && h < m->nharts ? m->harts[h].timing : NULL;
    if (t) { sync_stalls(t); *out = t->s; }
    else memset(out, 0, sizeof *out);
}

void rv_timing_stats_get(rv_machine *m, rv_timing_stats *out) { rv_hart_timing_stats(m, m->cur_hart, out); }

int rv_timing_pc_cycles(rv_machine *m, int h, uint64_t *pcs, uint64_t *cycles, int max) {
    rv_timing *t = h >= 0 && h < m->nharts ? m->harts[h].timing : NULL;
    int n = 0;
    for (int i = 0; t && i < t->nranges; i++) {
        const tm_range *r = &t->ranges[i];
        for (uint64_t k = 0; k < r->size / 2; k++) {
            if (!r->slots[k].cycles) continue;
            if (n < max) { pcs[n] = r->base + 2 * k; cycles[n] = r->slots[k].cycles; }
            n++;
        }
    }
    return n;
}

int rv_timing_trace(rv_machine *m, int h, rv_trace_event *out, int max) {
    rv_timing *t = h >= 0 && h < m->nharts ? m->harts[h].timing : NULL;
    int n = t ? (t->ntrace < max ? t->ntrace : max) : 0;
    if (n) memcpy(out, t->trace, (size_t)n * sizeof *out);
    return n;
}
