/* The decoded vtype and the state a vector instruction runs under (vec.h
 * builds it).  A header of its own so that machine.h can hold the decoded
 * vtype (rv_machine.vtc) as this same record without including vec.h. */
#ifndef RVAI_VEC_CTX_H
#define RVAI_VEC_CTX_H
#include <stdint.h>

typedef struct {
    unsigned sew;        /* element width in bits, 8..64 */
    unsigned sewb;       /* ... in bytes */
    int lmul_log2;       /* -3..3 */
    unsigned nregs;      /* registers in a group of EMUL=LMUL (1 when fractional) */
    uint64_t vlmax;      /* LMUL * VLEN / SEW */
    uint64_t vl, vstart;
    int vm;              /* 1: unmasked */
    int vta, vma;
} vec_ctx;

#endif
