/* The C core's public face, read by cffi (rvai/_build_rvemu.py) as its cdef:
 * plain declarations only, no preprocessor lines. */
typedef struct rv_machine rv_machine;

enum {
    RV_PERM_R = 1, RV_PERM_W = 2, RV_PERM_X = 4
};

/* Why rv_run returned. */
enum {
    RV_STOP_BUDGET = 0,     /* the instruction budget ran out */
    RV_STOP_ECALL = 1,      /* pc is at the ecall */
    RV_STOP_EBREAK = 2,     /* pc is at the ebreak */
    RV_STOP_HALT = 3,       /* control reached halt_pc (a call returned) */
    RV_STOP_FETCH = 4,      /* instruction fetch from unmapped or non-executable memory */
    RV_STOP_ILLEGAL = 5,    /* illegal or unsupported instruction, insn holds it */
    RV_STOP_LOAD = 6,       /* load access fault at addr */
    RV_STOP_STORE = 7,      /* store access fault at addr */
    RV_STOP_MISALIGNED = 8, /* misaligned access the spec does not allow (atomics), or pc
                               odd at the start of a run (addr == pc: a misaligned fetch) */
    RV_STOP_INTERRUPT = 9,  /* a stop was requested: rv_request_stop, or SIGINT while caught */
    RV_STOP_TIMEOUT = 10,   /* the deadline (rv_set_deadline) passed */
    RV_STOP_DEADLOCK = 11   /* rv_run_threads: no thread is runnable */
};

typedef struct {
    int reason;
    uint64_t pc;
    uint64_t addr;
    uint32_t insn;
    int insn_len;
} rv_stop;

rv_machine *rv_create(unsigned vlen);
void rv_destroy(rv_machine *m);

/* Memory map.  Return 0 on success, -1 on overlap / bad range / too many regions,
 * RV_ENOMEM past the memory limit or when the host has no memory for it. */
enum { RV_ENOMEM = -2 };
int rv_map(rv_machine *m, uint64_t addr, uint64_t size, unsigned perms);
/* The most guest memory mapped at once, in bytes (every mapping counts in
 * full, touched or not, like Linux's RLIMIT_AS); rv_create sets none (~0). */
void rv_set_mem_limit(rv_machine *m, uint64_t bytes);
uint64_t rv_mem_mapped(rv_machine *m);
/* The process-wide pool of host memory that dropped regions leave for new ones
 * (csrc/mem.c): set the most it holds, in bytes (0 empties it and turns it off;
 * 64 MiB at start); that bound; the bytes it holds now. */
void rv_mem_pool_set_limit(uint64_t bytes);
uint64_t rv_mem_pool_limit(void);
uint64_t rv_mem_pool_held(void);
int rv_unmap(rv_machine *m, uint64_t addr, uint64_t size);
int rv_protect(rv_machine *m, uint64_t addr, uint64_t size, unsigned perms);
/* Find a free page-aligned gap of `size` bytes at or above `hint`; 0 if none. */
uint64_t rv_find_free(rv_machine *m, uint64_t hint, uint64_t size);
/* Copy into / out of guest memory ignoring permissions (the loader, the host).
 * Return 0, or -1 when any byte is unmapped. */
int rv_poke(rv_machine *m, uint64_t addr, const void *src, uint64_t n);
int rv_peek(rv_machine *m, uint64_t addr, void *dst, uint64_t n);
/* 1 when every byte of [addr, addr+n) is mapped (whatever its permissions). */
int rv_is_mapped(rv_machine *m, uint64_t addr, uint64_t n);
/* Region i as (base, size, perms); -1 when i is past the end. */
int rv_region(rv_machine *m, int i, uint64_t *base, uint64_t *size, unsigned *perms);

/* Registers.  Vector registers move as raw bytes (vlenb each). */
uint64_t rv_get_x(rv_machine *m, int i);
void rv_set_x(rv_machine *m, int i, uint64_t v);
uint64_t rv_get_f(rv_machine *m, int i);
void rv_set_f(rv_machine *m, int i, uint64_t v);
uint64_t rv_get_pc(rv_machine *m);
void rv_set_pc(rv_machine *m, uint64_t pc);
void rv_set_halt_pc(rv_machine *m, uint64_t pc);
/* CSR read / write as the guest sees them; -1 for an unknown CSR. */
int rv_csr_read(rv_machine *m, unsigned csr, uint64_t *out);
int rv_csr_write(rv_machine *m, unsigned csr, uint64_t v);
void rv_get_v(rv_machine *m, int i, void *dst);
void rv_set_v(rv_machine *m, int i, const void *src);
unsigned rv_vlenb(rv_machine *m);
void rv_set_tail_ones(rv_machine *m, int on);
/* Which code runs vector FP arithmetic: 0 AVX2+FMA, 1 portable, 2 element by
 * element (vfp_simd.h's VFP_*), fixed when the machine was created. */
int rv_vfp_path(rv_machine *m);

/* Run until a stop; at most `budget` instructions retire.  The loop looks at
 * the stop request and the deadline on entry and every RV_RUN_SLICE
 * instructions (where its budget count runs out anyway), so a request stops
 * a run within a slice and costs the dispatch nothing. */
int rv_run(rv_machine *m, uint64_t budget, rv_stop *out);

/* Run control from outside the loop.  rv_request_stop may be called from any
 * thread (and is async-signal-safe): the run in progress, or the next one,
 * stops with RV_STOP_INTERRUPT; the request stays until rv_clear_stop. */
void rv_request_stop(rv_machine *m);
void rv_clear_stop(rv_machine *m);
/* Stop with RV_STOP_TIMEOUT once CLOCK_MONOTONIC reaches ns (0: no deadline). */
void rv_set_deadline(rv_machine *m, uint64_t ns);
/* Move a set deadline ns later (none set: nothing): rvai/emu/translate.py keeps
 * the time it spends translating every block at its first entry out of it. */
void rv_defer_deadline(rv_machine *m, uint64_t ns);
uint64_t rv_monotonic_ns(void);
/* While the main thread runs the guest, Python's own SIGINT handler cannot run:
 * rv_catch_sigint installs a C handler that requests a stop of m and returns 1
 * (0, installing nothing, when SIGINT is ignored); rv_release_sigint puts the
 * previous handler back and returns 1 when SIGINT arrived in between (the
 * caller then raises it again for Python to handle).  One machine at a time. */
int rv_catch_sigint(rv_machine *m);
int rv_release_sigint(rv_machine *m);

/* ---- Harts and threads (harts.c, docs/harts.md) ----
 * A machine has nharts harts (1 when created) sharing its memory, and threads
 * (contexts: registers, vector state, CSRs, an LR reservation), thread 0
 * being the one rv_create made.  Each thread runs on the hart that had the
 * fewest live threads when it was created.  The register accessors above act
 * on the selected thread.  rv_run_threads runs the runnable threads: the hart
 * with the lowest clock (ties: the lowest number) runs its next runnable
 * thread (round robin) for `quantum` instructions; a stop other than the
 * budget returns with the stopping thread selected, and the next call goes on
 * with the rest of its quantum.  Everything depends on guest state only: the
 * same run gives the same interleaving and counters. */
enum { RV_THREAD_RUNNABLE = 0, RV_THREAD_BLOCKED = 1, RV_THREAD_EXITED = 2 };
/* Set the number of harts (1..64) before any thread but 0 exists; -1 otherwise. */
int rv_set_harts(rv_machine *m, int n);
int rv_num_harts(rv_machine *m);
void rv_set_quantum(rv_machine *m, uint64_t instructions);
/* A new runnable thread, a copy of the selected one (without its reservation
 * and counters), on the least-loaded hart; reuses an exited thread's number.
 * Returns its number, or -1 when the host has no memory. */
int rv_thread_create(rv_machine *m);
int rv_num_threads(rv_machine *m);
int rv_thread_current(rv_machine *m);
/* Select thread i (its registers become those the accessors see); -1 for a bad i. */
int rv_thread_select(rv_machine *m, int i);
int rv_thread_state(rv_machine *m, int i);
/* Set thread i's state.  Making a thread of an idle hart runnable moves that
 * hart's clock up to the selected thread's hart's (it waited meanwhile). */
int rv_thread_set_state(rv_machine *m, int i, int state);
int rv_thread_hart(rv_machine *m, int i);
uint64_t rv_thread_instret(rv_machine *m, int i);
/* End the selected thread's quantum: the scheduler picks again (sched_yield). */
void rv_thread_yield(rv_machine *m);
/* The clock of hart h (cycles since the last reset). */
uint64_t rv_hart_cycles(rv_machine *m, int h);
int rv_run_threads(rv_machine *m, uint64_t budget, rv_stop *out);

/* Counters: retired instructions of all threads, cycles of the machine (the
 * latest hart clock), and per op over all threads (index = op number). */
uint64_t rv_instret(rv_machine *m);
uint64_t rv_cycles(rv_machine *m);
void rv_op_counts(rv_machine *m, uint64_t *out);
void rv_reset_counters(rv_machine *m);

/* The instruction table, for the Python side. */
int rv_num_ops(void);
const char *rv_op_name(int op);
uint32_t rv_op_match(int op);
uint32_t rv_op_mask(int op);
const char *rv_op_operands(int op);
int rv_op_class(int op);
int rv_num_classes(void);
const char *rv_class_name(int cls);
/* Extensions beyond the base ISA (RV_EXTENSIONS in insns.h): their number,
 * the LLVM feature name of extension e (1..n-1; 0 is the base ISA), the
 * extension of op, and switching a set off on a machine (bit e of `off`):
 * their instructions then stop as illegal there.  Every extension is on in
 * a new machine. */
int rv_num_extensions(void);
const char *rv_extension_name(int e);
int rv_op_extension(int op);
void rv_set_extensions_off(rv_machine *m, uint64_t off);

/* Disassemble one instruction word (16- or 32-bit) at pc into buf.
 * Returns its length in bytes (2 or 4), or 0 if it is not a valid instruction. */
int rv_disasm(uint32_t insn, uint64_t pc, char *buf, int size);
/* The name LLVM prints for a CSR into buf; returns 0 (buf empty) when it prints the number. */
int rv_csr_name(unsigned csr, char *buf, int size);
/* The rounding mode the disassembler leaves unprinted for op: dyn (7), or rne (0) for exact conversions. */
int rv_default_rm(int op);
/* The disassembler's alias i: table row, alias mnemonic, its operand letters and
 * the condition on the row's fields (see disasm.c).  Returns -1 past the end. */
int rv_num_aliases(void);
int rv_alias(int i, const char **row, const char **name, const char **ops, const char **cond);

/* ---- Timing model (timing.c, docs/timing-model.md) ----
 * Parameters of the modelled machine.  Arrays indexed by class are indexed by
 * class number (rv_class_name); vector pipes are RV_VPIPE_*. */
/* st: a separate vector store unit, for cores that have one (no class uses it by default). */
enum { RV_VPIPE_ARITH = 0, RV_VPIPE_FP = 1, RV_VPIPE_LS = 2, RV_VPIPE_PERM = 3, RV_VPIPE_ST = 4, RV_NVPIPES = 5 };

/* One row of a preset's vector cost table: what it matches (a mnemonic such as
 * "vfredosum.vs", a mnemonic prefix ending in '*' such as "vrgather*", or a
 * class name such as "VALU"; the most specific row wins) and its cycles as a
 * sum of terms: occ[RV_TERM_*] for the occupancy of its pipe, lat[] for the
 * latency of its first result; L is the register groups written (vl*EEW/VLEN,
 * LMUL at vl = VLMAX), beats ceil(vl*EEW / the pipe's width). */
enum { RV_TERM_CONST = 0, RV_TERM_L = 1, RV_TERM_L2 = 2, RV_TERM_ELEM = 3, RV_TERM_BEAT = 4, RV_NTERMS = 5 };
#define RV_MAX_VCOSTS 128
typedef struct {
    char match[32];
    double occ[5], lat[5];
    unsigned has_occ, has_lat;     /* whether occ / lat were given (else the class's rule) */
    double masked;                 /* occupancy factor of a masked form (v0.t); 0 = 1 */
    double e64;                    /* occupancy factor at SEW 64; 0 = 1 (both apply: the larger) */
    int pipe;                      /* RV_VPIPE_*, or -1 for the class's pipe */
} rv_vcost;

typedef struct {
    unsigned issue_width;          /* scalar instructions issued per cycle, in order */
    unsigned latency[64];          /* result latency by class, cycles */
    unsigned branch_penalty;       /* cycles lost on a mispredicted branch or indirect jump */
    unsigned bht_entries;          /* bimodal predictor: 2-bit counters, a power of two */
    unsigned dlen;                 /* vector datapath width, bits */
    unsigned vq_depth;             /* vector instructions waiting between scalar and vector issue */
    unsigned chaining;             /* 1: a dependent vector op starts when the first beat is ready */
    unsigned vset_latency;         /* scalar cycles of a vset{i}vl{i} */
    unsigned vpipe[64];            /* RV_VPIPE_* of each vector class */
    unsigned pipe_count[5];        /* units of each vector pipe */
    unsigned gather_elems_per_cycle;   /* vrgather / vcompress elements per cycle */
    unsigned strided_elems_per_cycle;  /* strided / indexed memory elements per cycle */
    unsigned vdiv_beat_cycles;     /* a vector divide / sqrt beat occupies its pipe this long */
    unsigned line;                 /* cache line, bytes (L1 and L2) */
    unsigned l1_size, l1_assoc, l1_latency;
    unsigned l2_size, l2_assoc, l2_latency;
    double l2_bytes_per_cycle;     /* L2 -> L1 fill bandwidth */
    unsigned dram_latency;         /* beyond the L2 latency */
    double dram_bytes_per_cycle;
    unsigned prefetch_degree;      /* stride prefetcher: most lines a stream runs ahead, 0 = off */
    unsigned prefetch_streams;     /* streams (instructions) the prefetcher tracks at once */
    unsigned cluster_harts;        /* harts sharing one L2 (a cluster); 0 = all of them */
    double l2_shared_bytes_per_cycle;  /* a cluster's L2 fill bandwidth, shared by its harts; 0 = not shared */
    double hart_dram_bytes_per_cycle;  /* with several harts: the DRAM bandwidth one hart can draw; 0 = all of it */
    unsigned ras_depth;            /* return-address stack entries (circular); 0 = returns use the BTB */
    unsigned btb_entries;          /* indirect-jump target buffer, direct-mapped, a power of two */
    unsigned waw_pairing;          /* 1: two instructions writing one register never issue in one cycle */
    unsigned occupancy[64];        /* scalar classes: one unit, taking an instruction every N cycles (0 = no limit but issue) */
    unsigned pipe_width[5];        /* bits each vector pipe processes a cycle (0 = dlen) */
    unsigned nvcosts;
    rv_vcost vcost[RV_MAX_VCOSTS];
} rv_timing_params;

typedef struct {
    uint64_t cycles;
    uint64_t stall_data, stall_memory, stall_vector, stall_branch;
    uint64_t stall_contention;                    /* waiting on memory other harts' traffic delayed */
    uint64_t contention_cycles;                   /* delay added to this hart's transfers by others' */
    uint64_t coherence_invalidations;             /* lines of its L1 another hart's store invalidated */
    uint64_t branches, mispredicts;               /* conditional branches */
    uint64_t indirect, indirect_mispredicts;      /* jalr: returns (RAS) and other indirect jumps (BTB) */
    uint64_t l1_hits, l1_misses, l2_hits, l2_misses, prefetches;
    uint64_t sw_prefetches;                       /* lines Zicbop's prefetch.r/w brought in */
    uint64_t dram_bytes_read, dram_bytes_written;
    uint64_t bytes_loaded, bytes_stored;
    uint64_t flops;                               /* of vector instructions (scalar ones are counted by op) */
    uint64_t vec_ops, vec_elems, vec_elems_max;   /* active elements against VLMAX */
    uint64_t pipe_busy[5];                        /* busy cycles of each vector pipe (all units) */
} rv_timing_stats;

/* One vector instruction's stay in a pipe, for the timeline. */
typedef struct {
    uint64_t start, end, pc;
    uint16_t op;
    uint8_t pipe, unit;
} rv_trace_event;

void rv_timing_default_params(rv_timing_params *p);
/* Switch the timed mode on with these parameters (off with p == NULL).
 * Returns 0, or -1 for parameters the model cannot take. */
int rv_set_timing(rv_machine *m, const rv_timing_params *p);
/* Forget cache contents and predictor state: the next run starts cold. */
void rv_timing_flush(rv_machine *m);
/* The counters of hart h's model (rv_timing_stats_get: the selected thread's hart). */
void rv_timing_stats_get(rv_machine *m, rv_timing_stats *out);
void rv_hart_timing_stats(rv_machine *m, int h, rv_timing_stats *out);
/* Per-pc cycles of hart h since the last reset: fills up to max (pc, cycles)
 * pairs with nonzero cycles and returns how many there are in all. */
int rv_timing_pc_cycles(rv_machine *m, int h, uint64_t *pcs, uint64_t *cycles, int max);
/* Hart h's first vector-pipe events since the last reset (at most max); returns the count stored. */
int rv_timing_trace(rv_machine *m, int h, rv_trace_event *out, int max);

/* The translating tier (csrc/jit.c, rvai/emu/translate.py).  One instruction
 * of a block as the translator reads it: its op and decoded operands (rd is
 * 32 for x0, the sink register). */
typedef struct {
    uint64_t pc;
    uint16_t op;
    uint8_t rd, rs1, rs2, len;
    int32_t imm;
    uint64_t slot[2];   /* its decode-cache slot as it stands (the JIT state byte zeroed) */
} rv_jit_insn;

/* Switch the tier on: a block's entries are counted at taken-branch targets,
 * and the translator (handle) is asked about it through
 * rv_jit_translate_hook every `ask` entries (at most 240; 0: at its first
 * entry) until it installs or refuses it.  -1 when already on. */
int rv_jit_enable(rv_machine *m, void *handle, unsigned ask);
/* A flag the translator sets (from any thread) when translations it made in
 * the background are ready: while it is set, each count of a block asks the
 * translator (rv_jit_translate_hook), which installs them and clears it.
 * The flag must outlive the runs; NULL: none. */
void rv_jit_set_post(rv_machine *m, const int *flag);
/* Up to max decoded instructions from pc on, within one region, up to and
 * including the first branch or jump (one pass through the code: all that a
 * translated block holds), stopping before one that cannot be decoded;
 * returns how many. */
int rv_jit_block(rv_machine *m, uint64_t pc, rv_jit_insn *out, int max);
/* Install host function fn as the n-instruction block at pc; 0, or -1. */
int rv_jit_install(rv_machine *m, uint64_t pc, uint64_t fn, int n);
/* Entries of the block at pc counted so far (in steps of `ask`; 0 when none). */
uint64_t rv_jit_entries(rv_machine *m, uint64_t pc);
/* Blocks translated and refused so far, the calls of jit_vfp (the
 * vector FP ops translated blocks left to C), and the instructions
 * translated blocks retired. */
void rv_jit_stats(rv_machine *m, uint64_t out[4]);
/* What translated code needs of rv_machine: offsets of x, op_count, tlb_r,
 * tlb_w; the addresses of the load and store slow paths; TLB_SIZE, PAGE_BITS;
 * the address of the counter of a partial pass, void (rv_machine *, const
 * uint16_t *ops, int64_t k); the address of jit_vec (jit.h); the offsets of
 * vl (vtype and vstart follow it) and of v (the vector registers' pointer);
 * the offsets of rv_machine's jit pointer and of the links in it (pc, fn,
 * n: 24 bytes each; jit.h), and how many links there are; the offset of f
 * (the NaN-boxed floating-point registers); the offset of fflags (frm, a
 * uint32_t too, follows it). */
void rv_jit_layout(uint64_t out[17]);
/* 1 when a block may hold op: a vector instruction jit_vec runs. */
int rv_jit_vec_covers(int op);
/* The context jit_vfp (csrc/jit.h) takes for the vector instruction whose
 * 16 decode-cache bytes are slot, under vtype at VLEN vlen, into out (words
 * 64-bit words, 16 suffice): 1 when it is a vector FP op legal under that
 * vtype, else 0 (the block calls jit_vec for it).  And jit_vfp's address. */
int rv_jit_vfp_ctx(unsigned vlen, uint64_t vtype, const uint64_t slot[2], uint64_t *out, int words);
uint64_t rv_jit_vfp_fn(void);
/* The address of jit_fp (csrc/jit_fp.c), int (rv_machine *, const rv_decoded *):
 * a scalar FP instruction of a translated block run as the interpreter runs
 * it; 0 (JIT_VEC_OK), or 2 (VEC_FAULT, m->stop filled) for a reserved rounding mode. */
uint64_t rv_jit_fp_fn(void);
/* What translated blocks computing vector FP inline need of csrc/fp.h: FP_NX
 * (fflags' inexact bit); fp_special32's bounds (FP_BIG32, FP_TINY32) and
 * fp_special64's (FP_BIG64, FP_TINY64), magnitudes' bit patterns; and
 * FP_HOST_FAST, whether this build keeps fp.h's MXCSR invariant (x86: inline
 * vector FP is exact only under it). */
void rv_fp_consts(uint64_t out[6]);
/* Timed translated blocks (off by default): whether the timed loop enters
 * translated blocks too; whether m is timed; the addresses of the C step
 * (m, pc), the scalar memory hook (m, filter entry, addr, n, store, pc), the timing slot
 * of a pc (m, pc), the resolution of pending work at a pc (m, pc), a vector
 * slot's step, a prefetch's miss, a copied unit-stride group's accesses
 * (t, addr, n, store) and a scalar access's first use of a prefetched line
 * (t, way, line, addr, n, store, pc) blocks call; the layout of the model's
 * fields they use. */
void rv_jit_set_timed(rv_machine *m, int on);
int rv_jit_timed(const rv_machine *m);
void rv_jit_timed_fns(uint64_t out[8]);
void rv_jit_timed_layout(uint64_t out[48]);
/* The model's parameters a timed block's inline paths take as constants:
 * issue width, log2 of the line size, L1's hit-filter shift, L1 latency, BHT
 * entries; 0 on an untimed machine. */
int rv_jit_tparams(const rv_machine *m, uint64_t out[5]);
/* pc's timing slot on a timed machine, derived now if it is not yet, when it
 * is a plain op's, a vector op's or a Zicbop prefetch's: its latency, source
 * and destination indexes and path into out, and a vector op's plan after
 * them when it has one (timing.h's tm_plan_words), made for the vtype and vl
 * in vstate (those expected where pc runs); returns the words written (6, or
 * 6 + TM_PLAN_WORDS), 0 for other slots.  A vset{i}vl{i} at pc advances
 * vstate to what is expected after it (exec.c's jit_vset_after), so that a
 * block's instructions asked in order get plans for the vtype each runs under.
 * out holds RV_JIT_TSLOT_WORDS (Python sizes its buffer by it: rvai/emu/translate.py). */
enum { RV_JIT_TSLOT_WORDS = 40 };
int rv_jit_tslot(rv_machine *m, uint64_t pc, uint64_t vstate[2], uint64_t out[RV_JIT_TSLOT_WORDS]);
/* What a timed block's inline vector step needs of csrc/timing.h's rv_timing (offsets, constants). */
void rv_jit_vstep_layout(uint64_t out[32]);
