/* Vector bit manipulation: Zvbb (vbrev, vclz, vctz, vcpop.v, vwsll) and its
 * subset Zvkb (vandn, vbrev8, vrev8, vrol, vror), from the vector crypto
 * specification (riscv-isa-manual, "Zvbb" and "Zvkb").  Every SEW 8..64 and
 * LMUL, masked or not, under the usual tail and mask policies; register
 * groups follow RVV's rules (vwsll as a widening op: vd 2*SEW at 2*LMUL).
 * Rotations take the shift from the low log2(SEW) bits of vs1 / x[rs1] /
 * uimm6, vwsll from the low log2(2*SEW) bits.
 *
 * Zvkt asks that these run in time independent of the data; the timing model
 * prices a vector instruction from its class, vtype and vl alone (timing.c),
 * never from element values, so they do here. */
#include "vec.h"
#include "vbb.h"

static inline uint64_t ld(const uint8_t *p, unsigned eb, uint64_t i) {
    uint64_t v = 0;
    memcpy(&v, p + i * eb, eb);
    return v;
}
static inline void st(uint8_t *p, unsigned eb, uint64_t i, uint64_t v) { memcpy(p + i * eb, &v, eb); }

/* The low `bits` bits of a in reverse order. */
static uint64_t reverse_bits(uint64_t a, unsigned bits) {
    uint64_t r = 0;
    for (unsigned i = 0; i < bits; i++) r |= (a >> i & 1) << (bits - 1 - i);
    return r;
}

/* One element of SEW `sew` (its bits in the low part of a; b the other operand). */
static uint64_t bitmanip(int op, uint64_t a, uint64_t b, unsigned sew) {
    const uint64_t mask = sew == 64 ? ~0ull : (1ull << sew) - 1;
    unsigned s = (unsigned)b & (sew - 1);
    switch (op) {
    case VBB_ANDN: return a & ~b & mask;
    case VBB_ROL: return s ? ((a << s) | (a >> (sew - s))) & mask : a;
    case VBB_ROR: return s ? ((a >> s) | (a << (sew - s))) & mask : a;
    case VBB_BREV: return reverse_bits(a, sew);
    case VBB_BREV8: {
        uint64_t r = 0;
        for (unsigned k = 0; k < sew; k += 8) r |= reverse_bits(a >> k & 0xff, 8) << k;
        return r;
    }
    case VBB_REV8: {
        uint64_t r = 0;
        for (unsigned k = 0; k < sew; k += 8) r |= (a >> k & 0xff) << (sew - 8 - k);
        return r;
    }
    case VBB_CLZ: return a ? (uint64_t)(__builtin_clzll(a) - (64 - (int)sew)) : sew;
    case VBB_CTZ: return a ? (uint64_t)__builtin_ctzll(a) : sew;
    default: return (uint64_t)__builtin_popcountll(a);   /* VBB_CPOP */
    }
}

int vec_bitmanip(rv_machine *m, const rv_decoded *d, int op, int form) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    int unary = op >= VBB_BREV;
    unsigned vd = d->rd, vs2 = d->rs2, vs1 = d->rs1, eb = c.sewb;
    if ((!c.vm && vd == 0) || !vec_group_ok(vd, c.lmul_log2) || !vec_group_ok(vs2, c.lmul_log2) ||
        (!unary && form == VF_VV && !vec_group_ok(vs1, c.lmul_log2)))
        return VEC_ILLEGAL;
    uint64_t rbuf[m->vlenb];
    uint8_t *R = (uint8_t *)rbuf;
    const uint8_t *A = vreg(m, vs2), *B = vreg(m, vs1);
    uint64_t scalar = form == VF_VX ? m->x[vs1] : (uint64_t)d->imm;
    for (uint64_t i = c.vstart; i < c.vl; i++)
        st(R, eb, i, bitmanip(op, ld(A, eb, i), unary || form != VF_VV ? scalar : ld(B, eb, i), c.sew));
    vec_commit(m, &c, vd, R, eb, c.nregs);
    return VEC_OK;
}

int vec_wsll(rv_machine *m, const rv_decoded *d, int form) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    int lg = c.lmul_log2;
    unsigned vd = d->rd, vs2 = d->rs2, vs1 = d->rs1, sew = c.sew, eb = c.sewb;
    if (sew == 64 || lg == 3 || (!c.vm && vd == 0) || !vec_group_ok(vd, lg + 1) || !vec_group_ok(vs2, lg) ||
        !vec_overlap_ok(vd, 2 * sew, lg + 1, vs2, sew, lg) ||
        (form == VF_VV && (!vec_group_ok(vs1, lg) || !vec_overlap_ok(vd, 2 * sew, lg + 1, vs1, sew, lg))))
        return VEC_ILLEGAL;
    uint64_t rbuf[m->vlenb];
    uint8_t *R = (uint8_t *)rbuf;
    const uint8_t *A = vreg(m, vs2), *B = vreg(m, vs1);
    uint64_t scalar = form == VF_VX ? m->x[vs1] : (uint64_t)d->imm;
    const uint64_t wide_mask = sew == 32 ? ~0ull : (1ull << 2 * sew) - 1;
    for (uint64_t i = c.vstart; i < c.vl; i++) {
        unsigned s = (unsigned)(form == VF_VV ? ld(B, eb, i) : scalar) & (2 * sew - 1);
        st(R, 2 * eb, i, ld(A, eb, i) << s & wide_mask);
    }
    vec_commit(m, &c, vd, R, 2 * eb, vec_group_regs(lg + 1));
    return VEC_OK;
}
