/* The emulated hart: registers, memory regions, decode caches and counters. */
#ifndef RVAI_MACHINE_H
#define RVAI_MACHINE_H
#include <stdint.h>
#include <stddef.h>
#include "insns.h"
#include "api.h"
#include "vec_ctx.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define PAGE_BITS 12
#define PAGE_SIZE (1ull << PAGE_BITS)
#define TLB_SIZE 256
#define MAX_REGIONS 4096
/* The run loop looks at the stop request and the deadline every this many
 * instructions: small enough that even VLEN=4096 LMUL=8 code stops within a
 * fraction of a second, large enough that the look costs nothing measurable. */
#define RV_RUN_SLICE (1 << 16)
/* stop_request bits */
#define RV_REQ_API 1          /* rv_request_stop */
#define RV_REQ_SIGINT 2       /* the SIGINT handler of rv_catch_sigint */   /* brk growth and mmap each add one; lookups are binary searches */

/* A host block backs one or more regions (munmap/mprotect split regions). */
typedef struct host_block { uint8_t *mem; uint64_t size; int refs; } host_block;

typedef struct {
    uint64_t base, size;      /* guest range [base, base+size) */
    unsigned perms;           /* RV_PERM_* */
    uint8_t *host;            /* host address of base */
    host_block *block;
    rv_decoded *cache;        /* decode cache, one slot per halfword, for X regions */
} region;

/* TLB entry: guest page -> host delta (host = guest + delta). */
typedef struct { uint64_t tag; intptr_t delta; } tlb_entry;

/* Many harts (harts.c, docs/harts.md).  A software thread is a context: the
 * architectural state of one hart.  The running thread's state lives in the
 * fields of rv_machine itself, so the interpreter reads it exactly as when
 * there is one hart; a switch copies it out to its rv_context and the next
 * thread's in.  Each thread runs on one hart, fixed when it is created. */
#define RV_MAX_HARTS 64
/* Reservation sets are aligned blocks of this many bytes (a cache line). */
#define RV_RESERVATION_BITS 6

typedef struct {
    uint64_t x[33], f[32], pc;
    uint32_t fflags, frm;
    uint64_t vl, vtype, vstart;
    uint32_t vxrm, vxsat;
    uint8_t *v;               /* its vector registers (the running thread's are rv_machine.v) */
    uint64_t reservation;
    uint64_t instret;
    int state;                /* RV_THREAD_* */
    int hart;
} rv_context;

typedef struct {
    uint64_t cycles;          /* its clock while another hart's thread runs (rv_machine.cycles) */
    struct rv_timing *timing; /* its timing model (private state: pipeline, L1, predictors) */
    int last;                 /* the thread it ran last: round robin starts after it */
} rv_hart;

struct rv_machine {
    uint64_t x[33];           /* x[32] is the sink for writes to x0 */
    uint64_t f[32];           /* NaN-boxed floating-point registers */
    uint64_t pc;
    uint32_t fflags, frm;

    /* vector state */
    unsigned vlen, vlenb;     /* bits, bytes per register */
    uint64_t vl, vtype, vstart;
    uint32_t vxrm, vxsat;
    int tail_ones;            /* fill agnostic elements with ones */
    /* vtype's fields decoded (vec.h vec_ctx_init), valid while vtype equals
     * key: vector instructions decode vtype again only after it changed.  key
     * starts as vill, which vec_ctx_init turns away before it looks; c's vl,
     * vstart and vm are not kept (vec_ctx_init fills them per instruction). */
    struct { uint64_t key; vec_ctx c; } vtc;
    int vfp_path;             /* VFP_SIMD / VFP_PORTABLE / VFP_EXACT (vfp_simd.h), fixed at creation */
    uint64_t ext_off;         /* bit e: extension e (insns.h rv_ext) is switched off */
    uint8_t *v;               /* 32 * vlenb bytes */

    /* memory */
    region regions[MAX_REGIONS];
    int nregions;
    uint64_t mem_mapped, mem_limit;   /* bytes in regions; rv_map fails past the limit */
    tlb_entry tlb_r[TLB_SIZE], tlb_w[TLB_SIZE];
    uint64_t reservation;     /* LR/SC reservation address, ~0 when none */

    /* run control and counters */
    uint64_t halt_pc;
    uint64_t instret;
    uint64_t cycles;
    uint64_t op_count[RV_NOPS];
    rv_stop stop;
    int stop_request;         /* RV_REQ_* bits, set from other threads / a signal handler (atomics) */
    uint64_t deadline_ns;     /* CLOCK_MONOTONIC; 0: none */

    /* timing model (timing.c): rv_run takes the timed loop when `timed`;
     * `timing` is the running hart's (harts[cur_hart].timing) */
    struct rv_timing *timing;
    int timed;

    struct tm_uncore *uncore; /* what the harts' models share (timing.c), NULL with one hart */

    /* the translating tier (jit.h): NULL while off; only the functional loop uses it */
    struct rv_jit *jit;
    uint64_t code_writes;     /* writes that cleared decoded instructions (jit_vec.c looks) */

    /* threads and harts (harts.c): ctx[cur] runs on harts[cur_hart] */
    rv_context *ctx;
    int nctx, cur;
    rv_hart harts[RV_MAX_HARTS];
    int nharts, cur_hart;
    uint64_t quantum, quantum_left;   /* instructions a thread runs before the next is picked */
};

int harts_init(rv_machine *m);
void harts_free(rv_machine *m);
/* Reservations of threads other than the running one (harts.c): a store
 * there breaks them, so those pages stay out of the write TLB. */
int resv_foreign_page(const rv_machine *m, uint64_t addr);
void resv_break_foreign(rv_machine *m, uint64_t addr, uint64_t n);

/* Memory slow paths: return 0 and fill m->stop on a fault. */
int mem_load_slow(rv_machine *m, uint64_t addr, void *dst, unsigned n);
int mem_store_slow(rv_machine *m, uint64_t addr, const void *src, unsigned n);
int mem_fetch(rv_machine *m, uint64_t addr, void *dst, unsigned n);   /* needs X, 0 on success */
region *mem_find(rv_machine *m, uint64_t addr);
/* Put the page of addr in region r (mem_find's answer, NULL for none) into the
 * read TLB, or the write one when `store`, if r allows that access and the
 * TLB may hold it: what a load's or store's slow path does, so that the next
 * access to the page takes the fast path. */
void mem_tlb_remember(rv_machine *m, region *r, uint64_t addr, int store);
void mem_flush_tlb(rv_machine *m);

/* The TLB slot for addr's page. */
static inline const tlb_entry *tlb_slot(const tlb_entry *tlb, uint64_t addr) {
    return &tlb[(addr >> PAGE_BITS) & (TLB_SIZE - 1)];
}

/* Does slot e (picked by addr's page) cover an n-byte access at addr, n <= PAGE_SIZE?
 * One compare checks both the page and that the access stays inside it: the
 * tag is compared with the page of the LAST byte, and a slot picked by page p
 * only ever holds tags congruent to p, never p + 1. */
static inline int tlb_hit(const tlb_entry *e, uint64_t addr, unsigned n) {
    return likely(e->tag == (addr + n - 1) >> PAGE_BITS);
}

/* Host address of an n-byte access at addr (n <= PAGE_SIZE), or NULL on a miss. */
static inline void *tlb_host(const tlb_entry *tlb, uint64_t addr, unsigned n) {
    const tlb_entry *e = tlb_slot(tlb, addr);
    return tlb_hit(e, addr, n) ? (void *)(uintptr_t)(addr + (uint64_t)e->delta) : NULL;
}

#endif
