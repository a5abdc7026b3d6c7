/* Vector (RVV 1.0) infrastructure shared by the integer work (vec.c) and the
 * vector floating-point work (vfp.c): vtype decoding, the per-instruction
 * context, register-group legality checks, masks, and writing results back
 * under the mask and tail policies.
 *
 * Conventions.  An instruction's semantic function returns VEC_OK,
 * VEC_ILLEGAL (the interpreter raises an illegal-instruction stop) or
 * VEC_FAULT (a memory fault; m->stop is filled in).  Element loops compute
 * body results [vstart, vl) into a scratch buffer first and then call
 * vec_commit*(), so results never depend on how the destination overlaps the
 * sources, and the unmasked loops stay simple enough for the host compiler to
 * vectorise.  Every instruction ends with vstart = 0 (vec_commit* do it;
 * instructions that write no vector register call vec_done()).
 */
#ifndef RVAI_VEC_H
#define RVAI_VEC_H
#include <string.h>
#include "machine.h"
#include "vec_ctx.h"

enum { VEC_OK = 0, VEC_ILLEGAL = 1, VEC_FAULT = 2 };

/* Put on element-loop kernels: on x86-64 GCC builds an AVX2 copy beside the
 * baseline one and picks at load time (an ifunc), so the loops use 32-byte
 * vectors where the host has them and the extension still runs on any
 * x86-64; elsewhere (other hosts, clang, no ifunc) it is nothing. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define VEC_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define VEC_KERNEL
#endif

#define VTYPE_VILL (1ull << 63)
#define VEC_ELEN 64u

/* vtype legality: 1 if `vtype` is a legal setting for a hart with this VLEN
 * (SEW <= ELEN, LMUL not reserved, SEW <= LMUL * ELEN, reserved bits zero). */
int vec_vtype_legal(uint64_t vtype);
/* vsetvl{i} / vsetivli: set vtype and vl from AVL; writes the new vl to *rd_val.
 * rs1_x0 / rd_x0 select the spec's special AVL forms (see vec.c). */
void vec_setvl(rv_machine *m, uint64_t avl, uint64_t vtype, int rs1_x0, int rd_x0, uint64_t *rd_val);

/* The fields of a legal vtype at VLEN vlen in *c (vl and vstart 0, unmasked). */
void vec_ctx_for(unsigned vlen, uint64_t vtype, vec_ctx *c);
/* Decode the current (legal) vtype into m->vtc. */
void vec_vtype_decode(rv_machine *m);
/* Fill *c from the current vtype/vl/vstart and the instruction's vm bit.
 * VEC_ILLEGAL when vill is set.  Inline, and vtype's fields come from
 * m->vtc, decoded once per change of vtype: every vector instruction runs
 * this, and at LMUL 1 its cost was a large part of theirs. */
static inline int vec_ctx_init(rv_machine *m, const rv_decoded *d, vec_ctx *c) {
    uint64_t vt = m->vtype;
    if (unlikely(vt & VTYPE_VILL)) return VEC_ILLEGAL;
    if (unlikely(vt != m->vtc.key)) vec_vtype_decode(m);
    *c = m->vtc.c;
    c->vl = m->vl;
    c->vstart = m->vstart;
    c->vm = (d->raw >> 25) & 1;
    return VEC_OK;
}

/* The host address of vector register r. */
static inline uint8_t *vreg(rv_machine *m, unsigned r) { return m->v + (size_t)r * m->vlenb; }
/* Bit i of mask register r (v0 for masking). */
static inline int vmask_bit(const rv_machine *m, unsigned r, uint64_t i) {
    return (m->v[(size_t)r * m->vlenb + (i >> 3)] >> (i & 7)) & 1;
}
/* Is element i active: unmasked, or its v0 bit set. */
static inline int vactive(const rv_machine *m, const vec_ctx *c, uint64_t i) {
    return c->vm || vmask_bit(m, 0, i);
}

/* Registers of a group with EMUL 2^emul_log2 (fractional groups take one). */
static inline unsigned vec_group_regs(int emul_log2) { return emul_log2 > 0 ? 1u << emul_log2 : 1u; }
/* Register-group legality.  emul_log2 is log2 of the operand's EMUL (-3..3);
 * a group must be aligned to its size and fit below v32.  Inline (as the
 * overlap test below) because every vector instruction runs several. */
static inline int vec_group_ok(unsigned reg, int emul_log2) {
    if (emul_log2 < -3 || emul_log2 > 3) return 0;
    unsigned n = vec_group_regs(emul_log2);
    return reg % n == 0 && reg + n <= 32;
}
/* Legal overlap of destination group (vd, dst EEW/EMUL) with a source group
 * (vs, src EEW/EMUL) per the spec's section 5.2:  same EEW always; a wider
 * destination only in its highest-numbered part and when source EMUL >= 1;
 * a narrower destination only in the source's lowest-numbered part. */
int vec_overlap_ok(unsigned vd, unsigned dst_eew, int dst_emul_log2,
                   unsigned vs, unsigned src_eew, int src_emul_log2);
/* Do two register groups share a register? */
static inline int vec_groups_overlap(unsigned a, unsigned a_regs, unsigned b, unsigned b_regs) {
    return a < b + b_regs && b < a + a_regs;
}

/* Write back body elements [c->vstart, c->vl) from res (element i at
 * res + i*eewb) into group vd of `nregs` registers: active elements take the
 * result; inactive ones keep their value, or become all ones when vma and
 * m->tail_ones; tail elements [vl, nregs*VLEN/EEW) likewise under vta.
 * Nothing is written when vstart >= vl.  Resets vstart. */
void vec_commit(rv_machine *m, const vec_ctx *c, unsigned vd, const void *res, unsigned eewb, unsigned nregs);
/* The same for a mask result: res holds one byte (0/1) per element.
 * Mask destinations are always tail agnostic. */
void vec_commit_mask(rv_machine *m, const vec_ctx *c, unsigned vd, const uint8_t *res);
/* Tail (and only tail) fill for a destination whose body was written in place. */
static inline void vec_fill_tail(rv_machine *m, const vec_ctx *c, unsigned vd, uint64_t from, unsigned eewb,
                                 unsigned nregs) {
    (void)c;
    uint64_t end = (uint64_t)nregs * m->vlenb;
    if (m->tail_ones && from * eewb < end) memset(vreg(m, vd) + from * eewb, 0xff, end - from * eewb);
}
static inline void vec_done(rv_machine *m) { m->vstart = 0; }

/* Semantic entry points called from exec_vec.h. */
int vec_ldst(rv_machine *m, const rv_decoded *d);
int vec_int(rv_machine *m, const rv_decoded *d, int op, int form);
int vec_carry(rv_machine *m, const rv_decoded *d, int op, int form);
int vec_merge(rv_machine *m, const rv_decoded *d, int form);
int vec_cmp(rv_machine *m, const rv_decoded *d, int op, int form);
int vec_widen(rv_machine *m, const rv_decoded *d, int op, int form);
int vec_narrow(rv_machine *m, const rv_decoded *d, int op, int form);
int vec_ext(rv_machine *m, const rv_decoded *d, int factor, int is_signed);
int vec_red(rv_machine *m, const rv_decoded *d, int op);
int vec_mlogic(rv_machine *m, const rv_decoded *d, int op);
int vec_munary(rv_machine *m, const rv_decoded *d, int op);
int vec_perm(rv_machine *m, const rv_decoded *d, int op, int form);
int vec_mvr(rv_machine *m, const rv_decoded *d, unsigned nr);

/* vec_fp (vfp.c) in its two halves, for translated blocks, which take the
 * first at translation for the vtype they expect (jit_vec.c's jit_vfp):
 * is op d legal under context c whatever vl and frm (SEW, register groups,
 * the mask register); and run it, legal under c and frm. */
int vec_fp_legal(const rv_decoded *d, const vec_ctx *c, int op, int form);
int vec_fp_run(rv_machine *m, const rv_decoded *d, const vec_ctx *c, int op, int form);

/* Operand forms: vs1, x[rs1], simm5/uimm5 (already in d->imm), wide vs2 with vs1 / x[rs1] / imm. */
enum { VF_VV, VF_VX, VF_VI, VF_WV, VF_WX, VF_WI };

/* Single-width integer and fixed-point operations (vec_int). */
#define VEC_INT_OPS(X) \
    X(ADD) X(SUB) X(RSUB) X(AND) X(OR) X(XOR) X(MINU) X(MIN) X(MAXU) X(MAX) \
    X(SLL) X(SRL) X(SRA) X(MUL) X(MULH) X(MULHU) X(MULHSU) \
    X(DIVU) X(DIV) X(REMU) X(REM) X(MACC) X(NMSAC) X(MADD) X(NMSUB) \
    X(SADDU) X(SADD) X(SSUBU) X(SSUB) X(AADDU) X(AADD) X(ASUBU) X(ASUB) \
    X(SMUL) X(SSRL) X(SSRA)
/* Compares (vec_cmp) */
#define VEC_CMP_OPS(X) X(SEQ) X(SNE) X(SLTU) X(SLT) X(SLEU) X(SLE) X(SGTU) X(SGT)
/* Widening (vec_widen): 2*SEW results; the _W forms take a wide vs2. */
#define VEC_WIDEN_OPS(X) \
    X(WADDU) X(WADD) X(WSUBU) X(WSUB) X(WADDU_W) X(WADD_W) X(WSUBU_W) X(WSUB_W) \
    X(WMULU) X(WMUL) X(WMULSU) X(WMACCU) X(WMACC) X(WMACCSU) X(WMACCUS)
/* Narrowing (vec_narrow): SEW results from 2*SEW vs2. */
#define VEC_NARROW_OPS(X) X(NSRL) X(NSRA) X(NCLIPU) X(NCLIP)
/* Carry / borrow (vec_carry) */
#define VEC_CARRY_OPS(X) X(ADC) X(MADC) X(SBC) X(MSBC) X(MADC_NC) X(MSBC_NC)
/* Reductions (vec_red) */
#define VEC_RED_OPS(X) X(RSUM) X(RAND) X(ROR) X(RXOR) X(RMINU) X(RMIN) X(RMAXU) X(RMAX) X(RWSUMU) X(RWSUM)
/* Mask logic (vec_mlogic) */
#define VEC_MLOGIC_OPS(X) X(MANDN) X(MAND) X(MOR) X(MXOR) X(MORN) X(MNAND) X(MNOR) X(MXNOR)
/* Mask unary and friends (vec_munary) */
#define VEC_MUNARY_OPS(X) X(CPOP) X(FIRST) X(MSBF) X(MSOF) X(MSIF) X(IOTA) X(VID)
/* Permutation (vec_perm) */
#define VEC_PERM_OPS(X) X(MV_X_S) X(MV_S_X) X(SLIDEUP) X(SLIDEDOWN) X(SLIDE1UP) X(SLIDE1DOWN) \
    X(RGATHER) X(RGATHEREI16) X(COMPRESS)

#define VEC_ENUM(n) VOP_##n,
enum { VEC_INT_OPS(VEC_ENUM) VEC_CMP_OPS(VEC_ENUM) VEC_WIDEN_OPS(VEC_ENUM) VEC_NARROW_OPS(VEC_ENUM)
       VEC_CARRY_OPS(VEC_ENUM) VEC_RED_OPS(VEC_ENUM) VEC_MLOGIC_OPS(VEC_ENUM) VEC_MUNARY_OPS(VEC_ENUM)
       VEC_PERM_OPS(VEC_ENUM) VOP_COUNT };
#undef VEC_ENUM

#endif
