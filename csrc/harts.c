/* Many harts: threads (contexts) and the harts they run on, the context
 * switch, the deterministic scheduler, and the LR reservations kept across
 * harts.  The interpreter loop is the one-hart loop: it runs the selected
 * thread, whose state lives in rv_machine; a switch copies that state out
 * to the thread's rv_context and the next thread's in (docs/harts.md). */
#include <stdlib.h>
#include <string.h>
#include "machine.h"
#include "timing.h"

/* Instructions a thread runs before the scheduler picks again: small enough
 * that harts interleave finely (spin loops, contention in the timed mode),
 * large enough that a switch (a few hundred bytes copied) costs nothing
 * measurable beside it. */
#define RV_DEFAULT_QUANTUM 1000

int harts_init(rv_machine *m) {
    m->ctx = calloc(1, sizeof *m->ctx);
    if (!m->ctx) return -1;
    m->ctx[0].v = m->v;
    m->ctx[0].reservation = ~0ull;
    m->nctx = 1;
    m->nharts = 1;
    m->quantum = RV_DEFAULT_QUANTUM;
    return 0;
}

void harts_free(rv_machine *m) {
    for (int i = 0; i < m->nctx; i++) free(m->ctx[i].v);
    free(m->ctx);
    for (int h = 0; h < m->nharts; h++) tm_free(m->harts[h].timing);
    tm_uncore_free(m->uncore);
}

/* The running thread's live state into c (its vector buffer stays put: the
 * buffer is the thread's, rv_machine.v only points at it). */
static void save_live(const rv_machine *m, rv_context *c) {
    memcpy(c->x, m->x, sizeof c->x);
    memcpy(c->f, m->f, sizeof c->f);
    c->pc = m->pc;
    c->fflags = m->fflags; c->frm = m->frm;
    c->vl = m->vl; c->vtype = m->vtype; c->vstart = m->vstart;
    c->vxrm = m->vxrm; c->vxsat = m->vxsat;
    c->reservation = m->reservation;
    c->instret = m->instret;
}

static void load_live(rv_machine *m, const rv_context *c) {
    memcpy(m->x, c->x, sizeof m->x);
    memcpy(m->f, c->f, sizeof m->f);
    m->pc = c->pc;
    m->fflags = c->fflags; m->frm = c->frm;
    m->vl = c->vl; m->vtype = c->vtype; m->vstart = c->vstart;
    m->vxrm = c->vxrm; m->vxsat = c->vxsat;
    m->v = c->v;
    m->reservation = c->reservation;
    m->instret = c->instret;
}

/* A hart's clock: the model's issue cycle in the timed mode, else retired
 * instructions plus the time it waited idle. */
static uint64_t hart_clock(const rv_machine *m, int h) {
    if (m->timed) return tm_clock(m->harts[h].timing);
    return h == m->cur_hart ? m->cycles : m->harts[h].cycles;
}

/* Keep stores by the thread about to run to pages where others hold a
 * reservation out of the write TLB, so they reach resv_break_foreign. */
static void tlb_drop_reserved(rv_machine *m) {
    for (int i = 0; i < m->nctx; i++) {
        uint64_t r = m->ctx[i].reservation;
        if (i == m->cur || r == ~0ull) continue;
        tlb_entry *e = &m->tlb_w[(r >> PAGE_BITS) & (TLB_SIZE - 1)];
        if (e->tag == r >> PAGE_BITS) e->tag = ~0ull;
    }
}

static void switch_to(rv_machine *m, int i) {
    if (i == m->cur) return;
    save_live(m, &m->ctx[m->cur]);
    int h = m->ctx[i].hart;
    if (h != m->cur_hart) {
        m->harts[m->cur_hart].cycles = m->cycles;
        m->cur_hart = h;
        m->cycles = m->harts[h].cycles;
        m->timing = m->harts[h].timing;
    }
    m->cur = i;
    load_live(m, &m->ctx[i]);
    tlb_drop_reserved(m);
}

int resv_foreign_page(const rv_machine *m, uint64_t addr) {
    for (int i = 0; i < m->nctx; i++) {
        uint64_t r = m->ctx[i].reservation;
        if (i != m->cur && r != ~0ull && r >> PAGE_BITS == addr >> PAGE_BITS) return 1;
    }
    return 0;
}

void resv_break_foreign(rv_machine *m, uint64_t addr, uint64_t n) {
    uint64_t lo = addr >> RV_RESERVATION_BITS, hi = (addr + n - 1) >> RV_RESERVATION_BITS;
    for (int i = 0; i < m->nctx; i++) {
        uint64_t r = m->ctx[i].reservation;
        if (i != m->cur && r != ~0ull && r >> RV_RESERVATION_BITS >= lo && r >> RV_RESERVATION_BITS <= hi)
            m->ctx[i].reservation = ~0ull;
    }
}

int rv_set_harts(rv_machine *m, int n) {
    if (n < 1 || n > RV_MAX_HARTS || m->nctx > 1) return -1;
    if (n == m->nharts) return 0;
    int old = m->nharts;
    if (!m->timing) {
        m->nharts = n;
        return 0;
    }
    /* a model exists (timed now or before): every hart gets one, all of them cold */
    rv_timing_params p = m->timing->p;
    int timed = m->timed;
    m->nharts = n;
    if (rv_set_timing(m, &p)) { m->nharts = old; return -1; }
    for (int h = n; h < old; h++) { tm_free(m->harts[h].timing); m->harts[h] = (rv_hart){0}; }
    m->timed = timed;
    return 0;
}

int rv_num_harts(rv_machine *m) { return m->nharts; }
void rv_set_quantum(rv_machine *m, uint64_t n) { m->quantum = n ? n : 1; }
int rv_num_threads(rv_machine *m) { return m->nctx; }
int rv_thread_current(rv_machine *m) { return m->cur; }

/* The hart with the fewest live threads (ties: the lowest number). */
static int least_loaded(const rv_machine *m) {
    int load[RV_MAX_HARTS] = {0}, best = 0;
    for (int i = 0; i < m->nctx; i++)
        if (m->ctx[i].state != RV_THREAD_EXITED) load[m->ctx[i].hart]++;
    for (int h = 1; h < m->nharts; h++)
        if (load[h] < load[best]) best = h;
    return best;
}

int rv_thread_create(rv_machine *m) {
    int i = 0;
    while (i < m->nctx && m->ctx[i].state != RV_THREAD_EXITED) i++;
    if (i == m->nctx) {
        rv_context *grown = realloc(m->ctx, (size_t)(m->nctx + 1) * sizeof *grown);
        if (!grown) return -1;
        m->ctx = grown;
        memset(&m->ctx[i], 0, sizeof *m->ctx);
    }
    uint8_t *v = m->ctx[i].v ? m->ctx[i].v : malloc((size_t)32 * m->vlenb);
    if (!v) return -1;
    memcpy(v, m->v, (size_t)32 * m->vlenb);
    int hart = least_loaded(m);
    if (i == m->nctx) m->nctx++;
    rv_context *c = &m->ctx[i];
    save_live(m, c);
    c->v = v;
    c->reservation = ~0ull;
    c->instret = 0;
    c->state = RV_THREAD_RUNNABLE;
    c->hart = hart;
    return i;
}

int rv_thread_select(rv_machine *m, int i) {
    if (i < 0 || i >= m->nctx) return -1;
    switch_to(m, i);
    return 0;
}

int rv_thread_state(rv_machine *m, int i) { return (i >= 0 && i < m->nctx) ? m->ctx[i].state : -1; }
int rv_thread_hart(rv_machine *m, int i) { return (i >= 0 && i < m->nctx) ? m->ctx[i].hart : -1; }
uint64_t rv_thread_instret(rv_machine *m, int i) {
    if (i < 0 || i >= m->nctx) return 0;
    return i == m->cur ? m->instret : m->ctx[i].instret;
}

static int hart_busy(const rv_machine *m, int h) {
    for (int i = 0; i < m->nctx; i++)
        if (m->ctx[i].hart == h && m->ctx[i].state == RV_THREAD_RUNNABLE) return 1;
    return 0;
}

int rv_thread_set_state(rv_machine *m, int i, int state) {
    if (i < 0 || i >= m->nctx || state < RV_THREAD_RUNNABLE || state > RV_THREAD_EXITED) return -1;
    rv_context *c = &m->ctx[i];
    if (state == RV_THREAD_RUNNABLE && c->state != RV_THREAD_RUNNABLE && c->hart != m->cur_hart &&
        !hart_busy(m, c->hart)) {
        /* the idle hart waited until now: its clock catches up with the waker's */
        uint64_t now = hart_clock(m, m->cur_hart);
        if (m->timed) tm_advance(m->harts[c->hart].timing, now);
        else if (m->harts[c->hart].cycles < now) m->harts[c->hart].cycles = now;
    }
    c->state = state;
    if (state == RV_THREAD_EXITED) {
        c->reservation = ~0ull;
        if (i == m->cur) m->reservation = ~0ull;
    }
    return 0;
}

void rv_thread_yield(rv_machine *m) { m->quantum_left = 0; }

uint64_t rv_hart_cycles(rv_machine *m, int h) {
    if (h < 0 || h >= m->nharts) return 0;
    return h == m->cur_hart ? m->cycles : m->harts[h].cycles;
}

/* The next thread to run: on the hart with the lowest clock among those with
 * a runnable thread (ties: the lowest number), the runnable thread after the
 * one that hart ran last.  -1 when no thread is runnable. */
static int pick_next(rv_machine *m) {
    int best = -1;
    uint64_t best_clock = 0;
    for (int i = 0; i < m->nctx; i++) {
        if (m->ctx[i].state != RV_THREAD_RUNNABLE) continue;
        int h = m->ctx[i].hart;
        uint64_t c = hart_clock(m, h);
        if (best < 0 || c < best_clock || (c == best_clock && h < best)) { best = h; best_clock = c; }
    }
    if (best < 0) return -1;
    for (int k = 1; k <= m->nctx; k++) {
        int i = (m->harts[best].last + k) % m->nctx;
        if (m->ctx[i].hart == best && m->ctx[i].state == RV_THREAD_RUNNABLE) {
            m->harts[best].last = i;
            return i;
        }
    }
    return -1;   /* not reached: the hart has a runnable thread */
}

int rv_run_threads(rv_machine *m, uint64_t budget, rv_stop *out) {
    if (m->nctx == 1 && m->ctx[0].state == RV_THREAD_RUNNABLE) return rv_run(m, budget, out);
    for (;;) {
        if (!budget) {
            memset(&m->stop, 0, sizeof m->stop);
            m->stop.reason = RV_STOP_BUDGET;
            m->stop.pc = m->pc;
            *out = m->stop;
            return RV_STOP_BUDGET;
        }
        if (!m->quantum_left || m->ctx[m->cur].state != RV_THREAD_RUNNABLE) {
            int next = pick_next(m);
            if (next < 0) {
                memset(&m->stop, 0, sizeof m->stop);
                m->stop.reason = RV_STOP_DEADLOCK;
                m->stop.pc = m->pc;
                *out = m->stop;
                return RV_STOP_DEADLOCK;
            }
            switch_to(m, next);
            m->quantum_left = m->quantum;
        }
        uint64_t slice = m->quantum_left < budget ? m->quantum_left : budget, before = m->instret;
        int why = rv_run(m, slice, out);
        uint64_t ran = m->instret - before;
        budget -= ran;
        m->quantum_left -= ran;
        if (why != RV_STOP_BUDGET) return why;
    }
}
