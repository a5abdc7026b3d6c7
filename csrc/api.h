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
    RV_STOP_MISALIGNED = 8  /* misaligned access the spec does not allow (atomics) */
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

/* Memory map.  Return 0 on success, -1 on overlap / bad range / no memory. */
int rv_map(rv_machine *m, uint64_t addr, uint64_t size, unsigned perms);
int rv_unmap(rv_machine *m, uint64_t addr, uint64_t size);
int rv_protect(rv_machine *m, uint64_t addr, uint64_t size, unsigned perms);
/* Find a free page-aligned gap of `size` bytes at or above `hint`; 0 if none. */
uint64_t rv_find_free(rv_machine *m, uint64_t hint, uint64_t size);
/* Copy into / out of guest memory ignoring permissions (the loader, the host).
 * Return 0, or -1 when any byte is unmapped. */
int rv_poke(rv_machine *m, uint64_t addr, const void *src, uint64_t n);
int rv_peek(rv_machine *m, uint64_t addr, void *dst, uint64_t n);
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

/* Run until a stop; at most `budget` instructions retire. */
int rv_run(rv_machine *m, uint64_t budget, rv_stop *out);

/* Counters: total retired, and per op (index = op number). */
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

/* Disassemble one instruction word (16- or 32-bit) at pc into buf.
 * Returns its length in bytes (2 or 4), or 0 if it is not a valid instruction. */
int rv_disasm(uint32_t insn, uint64_t pc, char *buf, int size);
