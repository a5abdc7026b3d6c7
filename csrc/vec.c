/* RVV 1.0: configuration, the shared infrastructure of vec.h, and the
 * semantics of loads/stores, integer, fixed-point, mask, permutation and
 * reduction instructions.
 *
 * Element loops are written once as macros and instantiated per SEW (the
 * *_KERNELS(BITS, ...) blocks); each loop runs over the body [vstart, vl)
 * into a scratch buffer with no masking inside, so the host compiler can
 * vectorise it; vec_commit() then applies the mask and tail policies.
 *
 * Memory faults: loads and stores stop at the first faulting element i with
 * vstart = i, elements before i done (precise, as the spec requires for
 * traps); fault-only-first loads trim vl instead when i > 0.  In user-mode
 * emulation the fault surfaces as a Python exception at the instruction.
 */
#include "vec.h"
#include "timing.h"

/* ---- configuration ---------------------------------------------------- */

static int lmul_log2_of(uint64_t vtype) {
    int v = (int)(vtype & 7);
    return v < 4 ? v : v - 8;
}

int vec_vtype_legal(uint64_t vtype) {
    if (vtype >> 8) return 0;                           /* reserved bits, vill */
    unsigned vsew = (vtype >> 3) & 7;
    if (vsew > 3 || (vtype & 7) == 4) return 0;        /* SEW > ELEN, reserved LMUL */
    int lg = lmul_log2_of(vtype);
    return lg >= 0 || (8u << vsew) <= (VEC_ELEN >> -lg);   /* SEW <= LMUL * ELEN */
}

static uint64_t vlmax_of(const rv_machine *m, uint64_t vtype) {
    int lg = lmul_log2_of(vtype);
    unsigned sew = 8u << ((vtype >> 3) & 7);
    return (lg >= 0 ? (uint64_t)m->vlen << lg : (uint64_t)m->vlen >> -lg) / sew;
}

/* AVL rules: rs1 != x0 -> AVL = x[rs1]; rs1 = x0, rd != x0 -> AVL = ~0 (vl = VLMAX);
 * rs1 = x0, rd = x0 -> keep vl, which the spec reserves when vill was set or
 * VLMAX changes: we set vill then.  vl = min(AVL, VLMAX) (the choice QEMU and
 * most hardware make for VLMAX < AVL < 2*VLMAX). */
void vec_setvl(rv_machine *m, uint64_t avl, uint64_t vtype, int rs1_x0, int rd_x0, uint64_t *rd_val) {
    int was_ill = (m->vtype & VTYPE_VILL) != 0;
    uint64_t old_vlmax = was_ill ? 0 : vlmax_of(m, m->vtype);
    m->vstart = 0;
    if (!vec_vtype_legal(vtype)) goto ill;
    uint64_t vlmax = vlmax_of(m, vtype), vl;
    if (rs1_x0 && rd_x0) {
        if (was_ill || vlmax != old_vlmax) goto ill;
        vl = m->vl;
    } else if (rs1_x0) {
        vl = vlmax;
    } else {
        vl = avl < vlmax ? avl : vlmax;
    }
    m->vtype = vtype;
    m->vl = vl;
    *rd_val = vl;
    return;
ill:
    m->vtype = VTYPE_VILL;
    m->vl = 0;
    *rd_val = 0;
}

int vec_ctx_init(rv_machine *m, const rv_decoded *d, vec_ctx *c) {
    uint64_t vt = m->vtype;
    if (vt & VTYPE_VILL) return VEC_ILLEGAL;
    c->lmul_log2 = lmul_log2_of(vt);
    c->sew = 8u << ((vt >> 3) & 7);
    c->sewb = c->sew / 8;
    c->nregs = vec_group_regs(c->lmul_log2);
    c->vlmax = vlmax_of(m, vt);
    c->vl = m->vl;
    c->vstart = m->vstart;
    c->vm = (d->raw >> 25) & 1;
    c->vta = (vt >> 6) & 1;
    c->vma = (vt >> 7) & 1;
    return VEC_OK;
}

/* ---- register groups -------------------------------------------------- */

int vec_group_ok(unsigned reg, int emul_log2) {
    if (emul_log2 < -3 || emul_log2 > 3) return 0;
    unsigned n = vec_group_regs(emul_log2);
    return reg % n == 0 && reg + n <= 32;
}

int vec_groups_overlap(unsigned a, unsigned a_regs, unsigned b, unsigned b_regs) {
    return a < b + b_regs && b < a + a_regs;
}

int vec_overlap_ok(unsigned vd, unsigned dst_eew, int dst_emul_log2,
                   unsigned vs, unsigned src_eew, int src_emul_log2) {
    unsigned dn = vec_group_regs(dst_emul_log2), sn = vec_group_regs(src_emul_log2);
    if (!vec_groups_overlap(vd, dn, vs, sn) || dst_eew == src_eew) return 1;
    if (dst_eew > src_eew) return src_emul_log2 >= 0 && vs == vd + dn - sn;
    return vd == vs;
}

/* ---- write-back under the mask and tail policies ----------------------- */

#define COMMIT_MASKED(T) {                                                       \
        T *d_ = (T *)dst; const T *s_ = (const T *)res;                          \
        for (uint64_t i = vs; i < vl; i++) {                                     \
            if (vmask_bit(m, 0, i)) d_[i] = s_[i];                               \
            else if (ones) d_[i] = (T)~(T)0;                                     \
        } } break;

void vec_commit(rv_machine *m, const vec_ctx *c, unsigned vd, const void *res, unsigned eewb, unsigned nregs) {
    uint64_t vs = c->vstart, vl = c->vl;
    m->vstart = 0;
    if (vs >= vl) return;   /* no body: nothing at all is written, not even the tail */
    uint8_t *dst = vreg(m, vd);
    if (c->vm) {
        memcpy(dst + vs * eewb, (const uint8_t *)res + vs * eewb, (vl - vs) * eewb);
    } else {
        int ones = c->vma && m->tail_ones;
        switch (eewb) {
        case 1: COMMIT_MASKED(uint8_t)
        case 2: COMMIT_MASKED(uint16_t)
        case 4: COMMIT_MASKED(uint32_t)
        default: COMMIT_MASKED(uint64_t)
        }
    }
    if (c->vta) vec_fill_tail(m, c, vd, vl, eewb, nregs);
}

void vec_fill_tail(rv_machine *m, const vec_ctx *c, unsigned vd, uint64_t from, unsigned eewb, unsigned nregs) {
    (void)c;
    uint64_t end = (uint64_t)nregs * m->vlenb;
    if (m->tail_ones && from * eewb < end) memset(vreg(m, vd) + from * eewb, 0xff, end - from * eewb);
}

void vec_commit_mask(rv_machine *m, const vec_ctx *c, unsigned vd, const uint8_t *res) {
    uint64_t vs = c->vstart, vl = c->vl;
    m->vstart = 0;
    if (vs >= vl) return;
    int ones = c->vma && m->tail_ones;
    for (uint64_t i = vs; i < vl; i++) {
        if (c->vm || vmask_bit(m, 0, i)) vmask_set(m, vd, i, res[i]);
        else if (ones) vmask_set(m, vd, i, 1);
    }
    if (m->tail_ones)   /* mask destinations are always tail agnostic */
        for (uint64_t i = vl; i < m->vlen; i++) vmask_set(m, vd, i, 1);
}

/* ---- guest memory ------------------------------------------------------ */

/* Copy n bytes from guest memory page by page; returns how many were copied
 * before a fault (n when none; m->stop describes the fault otherwise). */
static uint64_t guest_read(rv_machine *m, uint64_t addr, uint8_t *dst, uint64_t n) {
    uint64_t done = 0;
    while (done < n) {
        uint64_t a = addr + done, chunk = PAGE_SIZE - (a & (PAGE_SIZE - 1));
        if (chunk > n - done) chunk = n - done;
        void *h = tlb_host(m->tlb_r, a, (unsigned)chunk);
        if (h) memcpy(dst + done, h, chunk);
        else if (!mem_load_slow(m, a, dst + done, (unsigned)chunk)) return done;
        done += chunk;
    }
    TIMING_MEM(m, addr, (unsigned)n, 0);
    return n;
}

static uint64_t guest_write(rv_machine *m, uint64_t addr, const uint8_t *src, uint64_t n) {
    uint64_t done = 0;
    while (done < n) {
        uint64_t a = addr + done, chunk = PAGE_SIZE - (a & (PAGE_SIZE - 1));
        if (chunk > n - done) chunk = n - done;
        void *h = tlb_host(m->tlb_w, a, (unsigned)chunk);
        if (h) memcpy(h, src + done, chunk);
        else if (!mem_store_slow(m, a, src + done, (unsigned)chunk)) return done;
        done += chunk;
    }
    TIMING_MEM(m, addr, (unsigned)n, 1);
    return n;
}

/* Index element i of EEW eewb (unsigned, zero-extended to XLEN). */
static uint64_t index_elem(const uint8_t *p, unsigned eewb, uint64_t i) {
    switch (eewb) {
    case 1: return p[i];
    case 2: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    default: { uint64_t v; memcpy(&v, p + 8 * i, 8); return v; }
    }
}

static int log2u(unsigned v) { return 31 - __builtin_clz(v); }

/* Whole-register loads/stores: EEW from the width field (stores: 8), EMUL = nf,
 * independent of vtype and vl (legal even with vill). */
static int ldst_whole(rv_machine *m, const rv_decoded *d, int store, unsigned nf, unsigned eewb) {
    unsigned vd = d->rd;
    if (vd % nf) return VEC_ILLEGAL;
    uint64_t evl = (uint64_t)nf * m->vlenb / eewb, vs = m->vstart;
    uint64_t base = m->x[d->rs1];
    uint8_t *regs = vreg(m, vd);
    if (vs < evl) {
        uint64_t n = (evl - vs) * eewb, done;
        if (store) done = guest_write(m, base + vs * eewb, regs + vs * eewb, n);
        else {
            /* Read to scratch so a fault leaves the registers' later elements alone. */
            uint8_t tmp[n];
            done = guest_read(m, base + vs * eewb, tmp, n);
            memcpy(regs + vs * eewb, tmp, done / eewb * eewb);
        }
        if (done < n) { m->vstart = vs + done / eewb; return VEC_FAULT; }
    }
    m->vstart = 0;
    return VEC_OK;
}

/* vlm.v / vsm.v: EEW 8, evl = ceil(vl / 8), unmasked, tail agnostic. */
static int ldst_mask(rv_machine *m, const rv_decoded *d, int store) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    uint64_t evl = (c.vl + 7) / 8, vs = c.vstart, base = m->x[d->rs1];
    uint8_t *reg = vreg(m, d->rd);
    if (vs < evl) {
        uint64_t n = evl - vs, done;
        if (store) done = guest_write(m, base + vs, reg + vs, n);
        else {
            uint8_t tmp[n];
            done = guest_read(m, base + vs, tmp, n);
            memcpy(reg + vs, tmp, done);
        }
        if (done < n) { m->vstart = vs + done; return VEC_FAULT; }
        if (!store && m->tail_ones) memset(reg + evl, 0xff, m->vlenb - evl);
    }
    m->vstart = 0;
    return VEC_OK;
}

int vec_ldst(rv_machine *m, const rv_decoded *d) {
    uint32_t raw = d->raw;
    int store = (raw & 0x7f) == 0x27;
    unsigned nf = (raw >> 29) + 1, mop = (raw >> 26) & 3, lumop = (raw >> 20) & 31, w = (raw >> 12) & 7;
    unsigned eewb = w == 0 ? 1 : 1u << (w - 4);
    if (mop == 0 && lumop == 8) return ldst_whole(m, d, store, nf, store ? 1 : eewb);
    if (mop == 0 && lumop == 0xb) return ldst_mask(m, d, store);

    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    int indexed = mop & 1, ff = mop == 0 && lumop == 0x10;
    /* Data EEW: from the instruction, or SEW for indexed (whose index EEW it gives). */
    unsigned deewb = indexed ? c.sewb : eewb;
    int emul_lg = c.lmul_log2 + log2u(eewb) - log2u(c.sewb);   /* of the data, or of the index */
    int demul_lg = indexed ? c.lmul_log2 : emul_lg;
    if (emul_lg < -3 || emul_lg > 3) return VEC_ILLEGAL;
    unsigned dregs = vec_group_regs(demul_lg), vd = d->rd, vs2 = d->rs2;
    if (nf * dregs > 8 || vd + nf * dregs > 32 || vd % dregs) return VEC_ILLEGAL;
    if (indexed && !vec_group_ok(vs2, emul_lg)) return VEC_ILLEGAL;
    if (!store) {
        if (!c.vm && vd == 0) return VEC_ILLEGAL;
        if (indexed) {
            unsigned iregs = vec_group_regs(emul_lg);
            if (nf > 1 ? vec_groups_overlap(vd, nf * dregs, vs2, iregs)
                       : !vec_overlap_ok(vd, deewb * 8, demul_lg, vs2, eewb * 8, emul_lg))
                return VEC_ILLEGAL;
        }
    }

    uint64_t base = m->x[d->rs1], stride = m->x[d->rs2];
    uint64_t vs = c.vstart, vl = c.vl, fault_at = vl;
    const uint8_t *idx = vreg(m, vs2);
    size_t field_bytes = (size_t)dregs * m->vlenb;
    uint64_t buf[m->vlenb];   /* 8 registers: the nf fields of a load */
    uint8_t *res = (uint8_t *)buf;

    if (!store && !indexed && nf == 1 && mop == 0 && c.vm && vs < vl) {
        /* Unit stride, unmasked: one block copy. */
        uint64_t n = (vl - vs) * deewb, done = guest_read(m, base + vs * deewb, res + vs * deewb, n);
        if (done < n) fault_at = vs + done / deewb;
    } else {
        for (uint64_t i = vs; i < vl && fault_at == vl; i++) {
            if (!vactive(m, &c, i)) continue;
            for (unsigned f = 0; f < nf; f++) {
                uint64_t off = indexed ? index_elem(idx, eewb, i) : mop == 2 ? i * stride : i * nf * deewb;
                uint64_t a = base + off + f * deewb;
                uint8_t *reg = (store ? vreg(m, vd) : res) + f * field_bytes + i * deewb;
                uint64_t done = store ? guest_write(m, a, reg, deewb) : guest_read(m, a, reg, deewb);
                if (done < deewb) { fault_at = i; break; }
            }
        }
    }
    if (store) {
        if (fault_at < vl) { m->vstart = fault_at; return VEC_FAULT; }
        m->vstart = 0;
        return VEC_OK;
    }
    int trap = fault_at < vl && !(ff && fault_at > 0);
    if (fault_at < vl && !trap) m->vl = fault_at;   /* fault-only-first: trim vl */
    vec_ctx cc = c;
    cc.vl = fault_at;
    if (trap) cc.vta = 0;   /* a trapping load writes only the elements before the fault */
    for (unsigned f = 0; f < nf; f++) vec_commit(m, &cc, vd + f * dregs, res + f * field_bytes, deewb, dregs);
    if (trap) { m->vstart = fault_at; return VEC_FAULT; }
    return VEC_OK;
}

/* ---- fixed-point rounding (spec 3.8, vxrm) ----------------------------- */

/* The rounding increment r of roundoff(v, d) = (v >> d) + r for mode xrm;
 * v as two's complement bits (sign extension beyond bit d does not matter). */
static inline unsigned rnd_inc(unsigned __int128 v, unsigned d, unsigned xrm) {
    if (d == 0) return 0;
    unsigned bd1 = (unsigned)(v >> (d - 1)) & 1, bd = (unsigned)(v >> d) & 1;
    unsigned __int128 one = 1;
    int below = d >= 2 && (v & ((one << (d - 1)) - 1)) != 0;      /* v[d-2:0] != 0 */
    switch (xrm) {
    case 0: return bd1;                                            /* rnu */
    case 1: return bd1 & (below | bd);                             /* rne */
    case 2: return 0;                                              /* rdn */
    default: return !bd & ((v & ((one << d) - 1)) != 0);          /* rod */
    }
}

/* ---- single-width integer kernels -------------------------------------- */

/* r[i] = EXPR over the body, with a = vs2[i], b = vs1[i] or the scalar, c = old vd[i]. */
#define EW(EXPR) for (uint64_t i = lo; i < hi; i++) {                           \
        U a = A[i], b = B[i], c = C[i]; (void)a; (void)b; (void)c;              \
        r[i] = (U)(EXPR); } break;
/* The same for a saturating op: sat[i] records whether element i saturated. */
#define EWSAT(WIDE_EXPR, LO, HI) for (uint64_t i = lo; i < hi; i++) {            \
        U a = A[i], b = B[i]; (void)a; (void)b; SW v_ = (WIDE_EXPR);             \
        sat[i] = v_ < (SW)(LO) || v_ > (SW)(HI);                                 \
        r[i] = (U)(v_ < (SW)(LO) ? (SW)(LO) : v_ > (SW)(HI) ? (SW)(HI) : v_); } break;

#define INT_KERNEL(BITS, U_, S_, UW_, SW_, UM_)                                                   \
static void int_kernel_##BITS(int op, U_ *restrict r, const U_ *A, const U_ *B, const U_ *C,      \
                              uint64_t lo, uint64_t hi, unsigned xrm, uint8_t *sat) {             \
    typedef U_ U; typedef S_ S; typedef SW_ SW; typedef UW_ UW; typedef UM_ UM;                   \
    const unsigned SH = BITS - 1;                                                                 \
    const S SMIN = (S)((U)1 << SH), SMAX = (S)(((U)1 << SH) - 1);                                 \
    const U UMAX = (U)~(U)0;                                                                      \
    (void)SMIN; (void)SMAX; (void)UMAX; (void)xrm; (void)sat;                                     \
    switch (op) {                                                                                 \
    case VOP_ADD: EW(a + b)                                                                       \
    case VOP_SUB: EW(a - b)                                                                       \
    case VOP_RSUB: EW(b - a)                                                                      \
    case VOP_AND: EW(a & b)                                                                       \
    case VOP_OR: EW(a | b)                                                                        \
    case VOP_XOR: EW(a ^ b)                                                                       \
    case VOP_MINU: EW(a < b ? a : b)                                                              \
    case VOP_MIN: EW((S)a < (S)b ? a : b)                                                         \
    case VOP_MAXU: EW(a > b ? a : b)                                                              \
    case VOP_MAX: EW((S)a > (S)b ? a : b)                                                         \
    case VOP_SLL: EW((UM)a << (b & SH))                                                           \
    case VOP_SRL: EW(a >> (b & SH))                                                               \
    case VOP_SRA: EW((S)a >> (b & SH))                                                            \
    case VOP_MUL: EW((UM)a * (UM)b)                                                               \
    case VOP_MULH: EW(((SW)(S)a * (SW)(S)b) >> BITS)                                              \
    case VOP_MULHU: EW(((UW)a * (UW)b) >> BITS)                                                   \
    case VOP_MULHSU: EW(((SW)(S)a * (SW)b) >> BITS)                                               \
    case VOP_DIVU: EW(b == 0 ? UMAX : a / b)                                                      \
    case VOP_DIV: EW(b == 0 ? UMAX : ((S)a == SMIN && (S)b == -1) ? a : (U)((S)a / (S)b))         \
    case VOP_REMU: EW(b == 0 ? a : a % b)                                                         \
    case VOP_REM: EW(b == 0 ? a : ((S)a == SMIN && (S)b == -1) ? 0 : (U)((S)a % (S)b))            \
    case VOP_MACC: EW(c + (UM)a * (UM)b)                                                          \
    case VOP_NMSAC: EW(c - (UM)a * (UM)b)                                                         \
    case VOP_MADD: EW(a + (UM)b * (UM)c)                                                          \
    case VOP_NMSUB: EW(a - (UM)b * (UM)c)                                                         \
    case VOP_SADDU: EWSAT((SW)(UW)a + (SW)(UW)b, 0, UMAX)                                         \
    case VOP_SADD: EWSAT((SW)(S)a + (SW)(S)b, SMIN, SMAX)                                         \
    case VOP_SSUBU: EWSAT((SW)(UW)a - (SW)(UW)b, 0, UMAX)                                         \
    case VOP_SSUB: EWSAT((SW)(S)a - (SW)(S)b, SMIN, SMAX)                                         \
    case VOP_SMUL: EWSAT((((SW)(S)a * (SW)(S)b) >> SH) + rnd_inc((unsigned __int128)((SW)(S)a * (SW)(S)b), SH, xrm), \
                         SMIN, SMAX)                                                              \
    case VOP_AADDU: { for (uint64_t i = lo; i < hi; i++) { SW s = (SW)(UW)A[i] + (SW)(UW)B[i];    \
                          r[i] = (U)((s >> 1) + rnd_inc((unsigned __int128)s, 1, xrm)); } break; } \
    case VOP_AADD: { for (uint64_t i = lo; i < hi; i++) { SW s = (SW)(S)A[i] + (SW)(S)B[i];       \
                          r[i] = (U)((s >> 1) + rnd_inc((unsigned __int128)s, 1, xrm)); } break; } \
    case VOP_ASUBU: { for (uint64_t i = lo; i < hi; i++) { SW s = (SW)(UW)A[i] - (SW)(UW)B[i];    \
                          r[i] = (U)((s >> 1) + rnd_inc((unsigned __int128)s, 1, xrm)); } break; } \
    case VOP_ASUB: { for (uint64_t i = lo; i < hi; i++) { SW s = (SW)(S)A[i] - (SW)(S)B[i];       \
                          r[i] = (U)((s >> 1) + rnd_inc((unsigned __int128)s, 1, xrm)); } break; } \
    case VOP_SSRL: EW((a >> (b & SH)) + rnd_inc(a, b & SH, xrm))                                  \
    case VOP_SSRA: EW(((S)a >> (b & SH)) + rnd_inc((unsigned __int128)(SW)(S)a, b & SH, xrm))      \
    }                                                                                             \
}
INT_KERNEL(8, uint8_t, int8_t, uint16_t, int16_t, uint32_t)
INT_KERNEL(16, uint16_t, int16_t, uint32_t, int32_t, uint32_t)
INT_KERNEL(32, uint32_t, int32_t, uint64_t, int64_t, uint32_t)
INT_KERNEL(64, uint64_t, int64_t, unsigned __int128, __int128, uint64_t)

/* The second operand as an element array: vs1, or the scalar (x[rs1] or
 * the immediate) broadcast into buf, truncated to eewb bytes. */
static const void *operand_b(rv_machine *m, const rv_decoded *d, int form, void *buf, uint64_t n, unsigned eewb) {
    if (form == VF_VV || form == VF_WV) return vreg(m, d->rs1);
    uint64_t v = (form == VF_VX || form == VF_WX) ? m->x[d->rs1] : (uint64_t)d->imm;
    switch (eewb) {
    case 1: { uint8_t *p = buf; for (uint64_t i = 0; i < n; i++) p[i] = (uint8_t)v; break; }
    case 2: { uint16_t *p = buf; for (uint64_t i = 0; i < n; i++) p[i] = (uint16_t)v; break; }
    case 4: { uint32_t *p = buf; for (uint64_t i = 0; i < n; i++) p[i] = (uint32_t)v; break; }
    default: { uint64_t *p = buf; for (uint64_t i = 0; i < n; i++) p[i] = v; break; }
    }
    return buf;
}

/* Any saturation among the active body elements sets vxsat. */
static void note_sat(rv_machine *m, const vec_ctx *c, const uint8_t *sat) {
    for (uint64_t i = c->vstart; i < c->vl; i++)
        if (sat[i] && vactive(m, c, i)) { m->vxsat = 1; return; }
}

int vec_int(rv_machine *m, const rv_decoded *d, int op, int form) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    unsigned vd = d->rd, vs2 = d->rs2;
    if ((!c.vm && vd == 0) || !vec_group_ok(vd, c.lmul_log2) || !vec_group_ok(vs2, c.lmul_log2) ||
        (form == VF_VV && !vec_group_ok(d->rs1, c.lmul_log2)))
        return VEC_ILLEGAL;
    uint64_t bbuf[m->vlenb], rbuf[m->vlenb];
    uint8_t sat[8 * m->vlenb];
    const void *B = operand_b(m, d, form, bbuf, c.vl, c.sewb);
    const void *A = vreg(m, vs2), *C = vreg(m, vd);
    uint64_t lo = c.vstart, hi = c.vl;
    if (lo < hi) {
        switch (c.sew) {
        case 8: int_kernel_8(op, (uint8_t *)rbuf, A, B, C, lo, hi, m->vxrm, sat); break;
        case 16: int_kernel_16(op, (uint16_t *)rbuf, A, B, C, lo, hi, m->vxrm, sat); break;
        case 32: int_kernel_32(op, (uint32_t *)rbuf, A, B, C, lo, hi, m->vxrm, sat); break;
        default: int_kernel_64(op, (uint64_t *)rbuf, A, B, C, lo, hi, m->vxrm, sat); break;
        }
        if (op == VOP_SADDU || op == VOP_SADD || op == VOP_SSUBU || op == VOP_SSUB || op == VOP_SMUL)
            note_sat(m, &c, sat);
    }
    vec_commit(m, &c, vd, rbuf, c.sewb, c.nregs);
    return VEC_OK;
}

/* ---- not yet implemented: illegal until their families land ------------ */
int vec_carry(rv_machine *m, const rv_decoded *d, int op, int form) { (void)m; (void)d; (void)op; (void)form; return VEC_ILLEGAL; }
int vec_merge(rv_machine *m, const rv_decoded *d, int form) { (void)m; (void)d; (void)form; return VEC_ILLEGAL; }
int vec_cmp(rv_machine *m, const rv_decoded *d, int op, int form) { (void)m; (void)d; (void)op; (void)form; return VEC_ILLEGAL; }
int vec_widen(rv_machine *m, const rv_decoded *d, int op, int form) { (void)m; (void)d; (void)op; (void)form; return VEC_ILLEGAL; }
int vec_narrow(rv_machine *m, const rv_decoded *d, int op, int form) { (void)m; (void)d; (void)op; (void)form; return VEC_ILLEGAL; }
int vec_ext(rv_machine *m, const rv_decoded *d, int factor, int is_signed) { (void)m; (void)d; (void)factor; (void)is_signed; return VEC_ILLEGAL; }
int vec_red(rv_machine *m, const rv_decoded *d, int op) { (void)m; (void)d; (void)op; return VEC_ILLEGAL; }
int vec_mlogic(rv_machine *m, const rv_decoded *d, int op) { (void)m; (void)d; (void)op; return VEC_ILLEGAL; }
int vec_munary(rv_machine *m, const rv_decoded *d, int op) { (void)m; (void)d; (void)op; return VEC_ILLEGAL; }
int vec_perm(rv_machine *m, const rv_decoded *d, int op, int form) { (void)m; (void)d; (void)op; (void)form; return VEC_ILLEGAL; }
int vec_mvr(rv_machine *m, const rv_decoded *d, unsigned nr) { (void)m; (void)d; (void)nr; return VEC_ILLEGAL; }
