/* The interpreter loop, included twice by exec.c: with TIMED 0 it is the
 * functional rv_run_functional, with TIMED 1 the timed rv_run_timed that also
 * drives the timing model (timing.h) from the dispatch and the scalar memory
 * macros.  Expects RUN_NAME and TIMED to be defined; every macro it defines is
 * undefined at the end so the second copy can define it again. */

static int RUN_NAME(rv_machine *m, uint64_t budget, rv_stop *out) {
    static const void *labels[RV_NOPS] = {
        [RV_OP_UNDECODED] = &&undecoded,
#define INSN(id, name, match, mask, ops, cls) [RV_OP_##id] = &&L_##id,
#include "insns.def"
#undef INSN
    };
    uint64_t pc = m->pc;
    /* The budget is handed to the loop a slice at a time: `left` counts down the
     * current slice, `rest` is what remains beyond it, `start` what was handed out. */
    uint64_t rest = budget > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : budget;
    int64_t left = (int64_t)(rest < RV_RUN_SLICE ? rest : RV_RUN_SLICE);
    int64_t start = left;
    rest -= (uint64_t)left;
    rv_decoded *cache = NULL, *d = NULL;
    uint64_t cbase = 0, csize = 0;
    memset(&m->stop, 0, sizeof m->stop);
#if TIMED
    rv_timing *tm = m->timing;
    tm_slot *tm_pcyc = NULL;     /* the timing slots of the current region, beside its decode cache */
    tm_run_begin(tm);
/* Charge the instruction in d to the model (the first execution of a slot
 * is charged after decoding, in `undecoded`). */
#define TIME_STEP_RAW() tm_step(tm, m, d, pc, tm_pcyc + (d - cache))
#define TIME_STEP() do { if (likely(d->op)) TIME_STEP_RAW(); } while (0)
#define TIME_MEM(a, n, st) tm_mem(tm, (a), (n), (st), pc)
#define TIME_ZERO_BLOCK(a) tm_zero_block(tm, (a), pc)
#else
#define TIME_STEP_RAW() do { } while (0)
#define TIME_STEP() do { } while (0)
#define TIME_MEM(a, n, st) do { } while (0)
#define TIME_ZERO_BLOCK(a) do { } while (0)
#endif

/* Retired-so-far, for the counter CSRs read in the middle of a run. */
#define INSTRET_NOW() (m->instret + (uint64_t)(start - left))

#define DISPATCH_HERE() do {                                         \
        if (unlikely(left <= 0)) goto out_budget;                    \
        uint64_t off_ = pc - cbase;                                  \
        if (unlikely(off_ >= csize)) goto refetch;                   \
        d = &cache[off_ >> 1];                                       \
        left--;                                                      \
        m->op_count[d->op]++;                                        \
        TIME_STEP();                                                 \
        goto *labels[d->op];                                         \
    } while (0)
#if TIMED
/* One shared dispatch point, so the model's step is inlined once rather than
 * in every handler. */
#define DISPATCH() goto dispatch
#else
#define DISPATCH() DISPATCH_HERE()
#endif
#define NEXT() do { pc += d->len; DISPATCH(); } while (0)
/* A taken branch or jump may land on a translated block (jit.h); the timed
 * loop enters blocks only when timed translation is on (rv_jit_set_timed). */
#if TIMED
#define JIT_ON() (m->jit != NULL && m->jit->timed)
#else
#define JIT_ON() (m->jit != NULL)
#endif
#define JUMP(t) do { pc = (t); if (unlikely(JIT_ON())) goto jit_hook; DISPATCH(); } while (0)
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

/* Scalar memory access: TLB fast path (no host pointer to test: the hit
 * test is the branch), region walk on a miss. */
#define LOAD(T, a) ({                                                        \
        uint64_t a_ = (a); T v_;                                             \
        const tlb_entry *e_ = tlb_slot(m->tlb_r, a_);                        \
        if (tlb_hit(e_, a_, sizeof(T)))                                      \
            memcpy(&v_, (void *)(uintptr_t)(a_ + (uint64_t)e_->delta), sizeof(T)); \
        else if (!mem_load_slow(m, a_, &v_, sizeof(T))) goto mem_fault;      \
        TIME_MEM(a_, sizeof(T), 0);                                          \
        v_; })
#define STORE_UNTIMED(T, a, val) do {                                        \
        uint64_t a_ = (a); T v_ = (T)(val);                                  \
        const tlb_entry *e_ = tlb_slot(m->tlb_w, a_);                        \
        if (tlb_hit(e_, a_, sizeof(T)))                                      \
            memcpy((void *)(uintptr_t)(a_ + (uint64_t)e_->delta), &v_, sizeof(T)); \
        else if (!mem_store_slow(m, a_, &v_, sizeof(T))) goto mem_fault;     \
    } while (0)
#define STORE(T, a, val) do {                                                \
        uint64_t as_ = (a);                                                  \
        STORE_UNTIMED(T, as_, val);                                          \
        TIME_MEM(as_, sizeof(T), 1);                                         \
    } while (0)

    {
        int why = run_control(m);
        if (unlikely(why)) STOP(why);
    }
    if (unlikely(pc & 1)) { m->stop.addr = pc; STOP(RV_STOP_MISALIGNED); }   /* only set_pc can make it odd */
    if (unlikely(JIT_ON())) {   /* where a run starts (a call, after an ecall) is a block start too */
        cache = fetch_region(m, pc, &cbase, &csize);
#if TIMED
        if (cache) tm_pcyc = tm_pc_counters(tm, cbase, csize);
        if (cache && tm_pcyc) goto jit_hook;
#else
        if (cache) goto jit_hook;
#endif
        csize = 0;   /* the dispatch's refetch stops the run */
    }

dispatch:
    DISPATCH_HERE();

#include "exec_int.h"
#include "exec_fp.h"
#include "exec_vec.h"
#include "exec_ai.h"
#include "exec_rva23.h"

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
#if TIMED
        tm_pcyc[d - cache].path = TM_PATH_NEW;   /* derive it again: the code there may have changed */
#endif
        TIME_STEP_RAW();
        goto *labels[op];
    }

refetch:
    if (pc == m->halt_pc) STOP(RV_STOP_HALT);
    cache = fetch_region(m, pc, &cbase, &csize);
    if (!cache) { csize = 0; cbase = 0; m->stop.addr = pc; STOP(RV_STOP_FETCH); }
#if TIMED
    tm_pcyc = tm_pc_counters(tm, cbase, csize);
    /* no memory for the counters: like a decode cache fetch_region cannot allocate */
    if (!tm_pcyc) { csize = 0; cbase = 0; m->stop.addr = pc; STOP(RV_STOP_FETCH); }
#endif
    DISPATCH();

/* The translating tier, reached from JUMP when it is on: run the block at pc
 * when it is translated and the budget covers one pass of it (else the
 * instructions run here one by one, so every stop falls where it would
 * anyway), count its entries while it is not. */
jit_hook: {
        uint64_t off_ = pc - cbase;
        if (unlikely(off_ >= csize)) DISPATCH();
        rv_decoded *s_ = &cache[off_ >> 1];
        if (s_->pad == JIT_READY) {
            const jit_entry *e_ = jit_lookup(m->jit, pc);
            if (likely(e_ && left >= e_->n)) {
                jit_link *l_ = &m->jit->links[JIT_LINK(pc)];
                if (unlikely(l_->pc != pc)) *l_ = (jit_link){pc, e_->fn, e_->n};   /* so blocks chain to it */
#if TIMED
                tm->jcache = cache; tm->jbase = cbase; tm->jsize = csize; tm->jslots = tm_pcyc;
#endif
                int64_t budget_ = left;   /* a copy: `left` itself stays in a register */
                uint64_t next_ = e_->fn(m, &budget_);
                m->jit->ran += (uint64_t)(left - budget_);
                left = budget_;
                pc = next_ & ~1ull;
                if (unlikely(next_ & 1)) {   /* a memory fault: the slow path filled m->stop */
                    d = &cache[(pc - cbase) >> 1];
                    goto out_stop;
                }
                goto jit_hook;
            }
        } else if (s_->pad != JIT_NEVER) {
            /* entries 1 .. lim-1 count in the slot's byte; the lim-th asks, counted as lim (jit_hot) */
            if (s_->pad + 1u < m->jit->lim) s_->pad++;
            else {
                jit_hot(m, pc, s_);
                if (s_->pad == JIT_READY) goto jit_hook;
            }
        }
        DISPATCH();
    }

mem_fault:
    left++;
    m->op_count[d->op]--;
    goto out_stop;   /* mem_*_slow filled in the reason and the address */

illegal:
    STOP_UNRETIRED(RV_STOP_ILLEGAL);

out_budget:
    if (rest) {   /* only the slice ran out: look at the stop request and the clock */
        int why = run_control(m);
        if (why) STOP(why);
        int64_t more = (int64_t)(rest < RV_RUN_SLICE ? rest : RV_RUN_SLICE);
        rest -= (uint64_t)more;
        left += more;
        start += more;
        goto dispatch;
    }
    m->stop.reason = RV_STOP_BUDGET;
out_stop:
    m->pc = pc;
    m->stop.pc = pc;
    if (d && !m->stop.insn_len && m->stop.reason != RV_STOP_BUDGET &&
        m->stop.reason != RV_STOP_HALT && m->stop.reason != RV_STOP_FETCH &&
        m->stop.reason != RV_STOP_INTERRUPT && m->stop.reason != RV_STOP_TIMEOUT) {
        m->stop.insn = d->raw;
        m->stop.insn_len = d->len;
    }
    m->instret += (uint64_t)(start - left);
#if TIMED
    m->cycles = tm_run_end(tm);
#else
    m->cycles += (uint64_t)(start - left);   /* functional mode: one cycle per instruction */
#endif
    *out = m->stop;
    return m->stop.reason;
}

#undef TIME_STEP_RAW
#undef TIME_STEP
#undef TIME_MEM
#undef TIME_ZERO_BLOCK
#undef INSTRET_NOW
#undef DISPATCH
#undef DISPATCH_HERE
#undef NEXT
#undef JUMP
#undef JIT_ON
#undef STOP
#undef STOP_UNRETIRED
#undef OP
#undef X
#undef SX
#undef RD
#undef RS1
#undef RS2
#undef RS3
#undef IMM
#undef LEN
#undef LOAD
#undef STORE
#undef STORE_UNTIMED
