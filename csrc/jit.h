/* The translating tier (jit.c, rvai/emu/translate.py): hot basic blocks of
 * scalar integer code become host functions; the functional loop enters
 * them at taken-branch targets (exec_loop.h's jit_hook) and runs everything
 * else itself.  A block's state lives in its first instruction's decode-cache
 * slot (rv_decoded.pad), so a store that clears decoded instructions also
 * forgets the translations there (docs/architecture.md, "Translating tier"). */
#ifndef RVAI_JIT_H
#define RVAI_JIT_H
#include "machine.h"
#include "vec.h"

/* rv_decoded.pad of a block's first slot: 0..JIT_COUNT_MAX counts entries,
 * JIT_NEVER marks a block the translator refused, JIT_READY one it installed. */
#define JIT_COUNT_MAX 0xf0
#define JIT_NEVER 0xfe
#define JIT_READY 0xff
/* A block holds at most this many instructions: invalidating a store looks
 * back this many bytes for translations that cover it. */
#define JIT_MAX_INSNS 64
#define JIT_MAX_BYTES (JIT_MAX_INSNS * 4)

/* A translated block: runs from its first instruction with at least n
 * instructions of budget in *left, retires what it runs (*left, op_count,
 * registers, memory), may chain to the blocks after it (links below), and
 * returns the next pc; on a memory fault it returns
 * the faulting instruction's pc | 1, that instruction not retired and
 * m->stop filled by the slow path. */
typedef uint64_t (*jit_block_fn)(rv_machine *m, int64_t *left);

typedef struct {
    uint64_t pc;              /* block start; ~0: empty slot */
    jit_block_fn fn;          /* NULL while the block is only being counted */
    int64_t n;                /* instructions of one pass */
    uint64_t entries;         /* entries counted so far (in units of the slot counter) */
    uint64_t due;             /* ask the translator again once entries reach this */
} jit_entry;

/* Chaining: a block leaving whole for pc looks in links[JIT_LINK(pc)] and,
 * when it holds pc's installed block and the budget covers one pass of it,
 * tail-calls it instead of returning to the loop.  A link is set where a
 * block is installed or entered from the loop, and all are dropped when a
 * translation is forgotten (jit_forget_links), so they only ever name blocks
 * the loop itself would enter. */
#define JIT_LINKS 1024
#define JIT_LINK(pc) ((pc) >> 1 & (JIT_LINKS - 1))
typedef struct {
    uint64_t pc;              /* ~0: empty (a block's pc is even) */
    jit_block_fn fn;
    int64_t n;
} jit_link;

struct rv_jit {
    void *handle;             /* the Python translator (cffi handle) */
    uint8_t lim;              /* entries a slot's byte counts before jit_hot (0: ask at once) */
    int timed;                /* the timed loop translates too (rv_jit_set_timed) */
    jit_entry *tab;           /* open-addressed by pc */
    uint64_t cap, used;
    uint64_t translated, refused;
    uint64_t vfp_calls;       /* jit_vfp's calls: the vector FP ops a block did not compute inline */
    uint64_t ran;             /* instructions retired by translated blocks (those they chained to too) */
    const volatile int *post; /* set by the translator's background thread when it finished work (NULL: none) */
    jit_link links[JIT_LINKS];
};

/* The installed block starting at pc (its slot says JIT_READY), or NULL. */
const jit_entry *jit_lookup(const struct rv_jit *j, uint64_t pc);
/* Block start pc (decode-cache slot s) was entered another lim times: count
 * it, and once due (or whenever *post is set) ask the translator, which
 * installs it (the slot becomes JIT_READY), refuses it (JIT_NEVER) or names
 * when to ask again. */
void jit_hot(rv_machine *m, uint64_t pc, rv_decoded *s);
void jit_free(rv_machine *m);
/* Forget every translation (the mode changed: a timed machine's blocks call
 * the model, a functional one's do not). */
void jit_forget_all(rv_machine *m);
/* Translations were forgotten (code rewritten, memory remapped): drop every link. */
void jit_forget_links(rv_machine *m);

/* What jit_vec returns: the instruction ran (VEC_OK), faulted or was illegal
 * as it stands (VEC_FAULT: m->stop filled; the block leaves before it), ran
 * and wrote executable memory (the block leaves after it), or is not one
 * jit_vec runs. */
enum { JIT_VEC_OK = 0, JIT_VEC_CODE = 3, JIT_VEC_NONE = 4 };
/* Run the vector instruction d as the interpreter would (jit_vec.c). */
int jit_vec(rv_machine *m, const rv_decoded *d);

/* A vector FP instruction's context, made when its block was translated
 * for the vtype expected there (rv_jit_vfp_ctx): vtype's fields, vm, and
 * vec_fp's op and form, the instruction being legal under that vtype. */
typedef struct { uint64_t vtype; vec_ctx c; int op, form; } jit_vfp_ctx;
/* Run vector FP instruction d of a block with its context k: straight to
 * the kernel while vtype is k's (and frm legal), else as jit_vec does. */
int jit_vfp(rv_machine *m, const rv_decoded *d, const jit_vfp_ctx *k);

/* Run the scalar FP instruction d of a block as the interpreter would
 * (jit_fp.c): JIT_VEC_OK, VEC_FAULT (a reserved rounding mode: m->stop
 * filled), or JIT_VEC_NONE for an FP load or store (blocks make those). */
int jit_fp(rv_machine *m, const rv_decoded *d);

/* Decode the instruction at pc into its slot if it is not yet (exec.c): its
 * op, 0 when illegal or unfetchable (the slot then stays undecoded). */
int rv_decode_slot(rv_machine *m, uint64_t pc, rv_decoded **slot);
/* On a timed machine, the timing slot of pc to be derived again (csrc/exec.c):
 * the instruction there was decoded afresh, and the slot may be another's,
 * from before the code there changed (the timed loop does the same whenever
 * it decodes, exec_loop.h). */
void jit_tslot_forget(rv_machine *m, uint64_t pc);

#endif
