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
/* The element loops are where vector code spends its time.  GCC's -O2 only
 * vectorises loops that need no runtime alias checks or scalar epilogues,
 * which rules out nearly all of them; this file is compiled as -O3 (before
 * the includes, so the inline helpers of the headers match their callers). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
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

/* LMUL * VLEN / SEW by shifts: every vector instruction computes it. */
static uint64_t vlmax_of(const rv_machine *m, uint64_t vtype) {
    int sh = lmul_log2_of(vtype) - 3 - (int)((vtype >> 3) & 7);
    return sh >= 0 ? (uint64_t)m->vlen << sh : (uint64_t)m->vlen >> -sh;
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

void vec_ctx_for(unsigned vlen, uint64_t vtype, vec_ctx *c) {
    int sh = lmul_log2_of(vtype) - 3 - (int)((vtype >> 3) & 7);
    c->lmul_log2 = lmul_log2_of(vtype);
    c->sew = 8u << ((vtype >> 3) & 7);
    c->sewb = c->sew / 8;
    c->nregs = vec_group_regs(c->lmul_log2);
    c->vlmax = sh >= 0 ? (uint64_t)vlen << sh : (uint64_t)vlen >> -sh;
    c->vl = c->vstart = 0;
    c->vm = 1;
    c->vta = (vtype >> 6) & 1;
    c->vma = (vtype >> 7) & 1;
}

void vec_vtype_decode(rv_machine *m) {
    vec_ctx_for(m->vlen, m->vtype, &m->vtc.c);
    m->vtc.key = m->vtype;
}

/* ---- register groups -------------------------------------------------- */

int vec_overlap_ok(unsigned vd, unsigned dst_eew, int dst_emul_log2,
                   unsigned vs, unsigned src_eew, int src_emul_log2) {
    unsigned dn = vec_group_regs(dst_emul_log2), sn = vec_group_regs(src_emul_log2);
    if (!vec_groups_overlap(vd, dn, vs, sn) || dst_eew == src_eew) return 1;
    if (dst_eew > src_eew) return src_emul_log2 >= 0 && vs == vd + dn - sn;
    return vd == vs;
}

/* ---- write-back under the mask and tail policies ----------------------- */

/* 64 mask bits of register r starting at bit 64*w (mask registers hold
 * VLEN >= 64 bits, so a word never runs past the register). */
static inline uint64_t mask_word(const rv_machine *m, unsigned r, uint64_t w) {
    uint64_t v;
    memcpy(&v, m->v + (size_t)r * m->vlenb + 8 * w, 8);
    return v;
}

/* Bits [lo, hi) of the 64-bit word w of a mask. */
static inline uint64_t bit_range(uint64_t w, uint64_t lo, uint64_t hi) {
    uint64_t b0 = w * 64, b1 = b0 + 64;
    if (hi <= b0 || lo >= b1) return 0;
    uint64_t s = lo > b0 ? lo - b0 : 0, e = hi < b1 ? hi - b0 : 64;
    uint64_t upto = e == 64 ? ~0ull : (1ull << e) - 1;
    return upto & ~((1ull << s) - 1);
}

/* Masked write-back, 64 elements (one v0 word) at a time: a word whose body
 * elements are all active is one block copy, an all-inactive word touches
 * only agnostic elements, and a mixed word selects per element without
 * branches so the loop vectorises. */
#define COMMIT_MASKED(T) {                                                              \
        T *d_ = (T *)dst; const T *s_ = (const T *)res;                                 \
        for (uint64_t w = vs / 64; w <= (vl - 1) / 64; w++) {                            \
            uint64_t body = bit_range(w, vs, vl), act = mask_word(m, 0, w) & body;       \
            uint64_t lo = w * 64 + (uint64_t)__builtin_ctzll(body);                      \
            uint64_t n = 64 - (uint64_t)__builtin_clzll(body) - (lo - w * 64);           \
            if (act == body) { memcpy(d_ + lo, s_ + lo, n * sizeof(T)); continue; }      \
            uint64_t fill = ones ? body & ~act : 0;                                      \
            if (act == 0 && fill == 0) continue;                                         \
            T *dw = d_ + w * 64; const T *sw = s_ + w * 64;                              \
            for (unsigned j = (unsigned)(lo - w * 64); j < (unsigned)(lo - w * 64 + n); j++) { \
                T take = (T)0 - (T)((act >> j) & 1), one = (T)0 - (T)((fill >> j) & 1);  \
                dw[j] = (sw[j] & take) | (dw[j] & ~take) | one;                          \
            }                                                                            \
        } } break;

void vec_commit(rv_machine *m, const vec_ctx *c, unsigned vd, const void *res, unsigned eewb, unsigned nregs) {
    uint64_t vs = c->vstart, vl = c->vl;
    m->vstart = 0;
    if (vs >= vl) return;   /* no body: nothing at all is written, not even the tail */
    uint8_t *dst = vreg(m, vd);
    if (c->vm) {
        if (dst + vs * eewb != (const uint8_t *)res + vs * eewb)   /* body computed in place */
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

/* Mask results are packed 64 at a time and merged into vd by word:
 * body bits take the result where active, inactive body bits stay or become
 * ones (vma with tail_ones), tail bits become ones when tail_ones (mask
 * destinations are always tail agnostic). */
void vec_commit_mask(rv_machine *m, const vec_ctx *c, unsigned vd, const uint8_t *res) {
    uint64_t vs = c->vstart, vl = c->vl;
    m->vstart = 0;
    if (vs >= vl) return;
    int ones = c->vma && m->tail_ones;
    uint8_t *D = vreg(m, vd);
    uint64_t last = m->tail_ones ? m->vlen / 64 : (vl + 63) / 64;
    for (uint64_t w = vs / 64; w < last; w++) {
        uint64_t body = bit_range(w, vs, vl), r = 0, old;
        if (body) {
            const uint8_t *rw = res + w * 64;
            unsigned n = (unsigned)(vl - w * 64 < 64 ? vl - w * 64 : 64);
            for (unsigned j = 0; j < n; j++) r |= (uint64_t)(rw[j] & 1) << j;
        }
        uint64_t act = c->vm ? body : body & mask_word(m, 0, w);
        uint64_t set = (r & act) | (ones ? body & ~act : 0) | (m->tail_ones ? bit_range(w, vl, m->vlen) : 0);
        uint64_t keep = ~(act | set);
        memcpy(&old, D + 8 * w, 8);
        old = (old & keep) | set;
        memcpy(D + 8 * w, &old, 8);
    }
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

/* vec_ldst's common case: a unit-stride unmasked access of one field that
 * lies in one page the TLB maps, so it cannot fault: one copy between that
 * page and vd.  1 when it ran the instruction (VEC_OK); 0, touching
 * nothing, when it does not apply (vec_ldst then takes the general path,
 * which also finds what is illegal). */
static inline int ldst_unit_page(rv_machine *m, const rv_decoded *d, int store, unsigned eewb) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return 0;
    int emul_lg = c.lmul_log2 + log2u(eewb) - log2u(c.sewb);
    unsigned dregs = vec_group_regs(emul_lg), vd = d->rd;
    if (emul_lg < -3 || emul_lg > 3 || vd % dregs || c.vstart >= c.vl) return 0;
    uint64_t n = (c.vl - c.vstart) * eewb, off = c.vstart * eewb, a = m->x[d->rs1] + off;
    if (n > PAGE_SIZE) return 0;
    uint8_t *h = tlb_host(store ? m->tlb_w : m->tlb_r, a, (unsigned)n), *r = vreg(m, vd) + off;
    if (!h) return 0;
    if (store) memcpy(h, r, n);
    else memcpy(r, h, n);
    TIMING_MEM(m, a, (unsigned)n, store);
    m->vstart = 0;
    if (!store && c.vta) vec_fill_tail(m, &c, vd, c.vl, eewb, dregs);
    return 1;
}

int vec_ldst(rv_machine *m, const rv_decoded *d) {
    uint32_t raw = d->raw;
    int store = (raw & 0x7f) == 0x27;
    unsigned nf = (raw >> 29) + 1, mop = (raw >> 26) & 3, lumop = (raw >> 20) & 31, w = (raw >> 12) & 7;
    unsigned eewb = w == 0 ? 1 : 1u << (w - 4);
    if ((raw & 0xfff00000u) == 1u << 25 && ldst_unit_page(m, d, store, eewb))   /* nf 1, mew 0, mop 0, vm 1, lumop 0 */
        return VEC_OK;
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

    if (!indexed && nf == 1 && mop == 0 && c.vm && vs < vl) {
        /* Unit stride, unmasked: one block copy (page by page), the fault
         * element being the one holding the first byte not copied. */
        uint64_t n = (vl - vs) * deewb, off = vs * deewb;
        uint64_t done = store ? guest_write(m, base + off, vreg(m, vd) + off, n) : guest_read(m, base + off, res + off, n);
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

/* r[i] = EXPR over the body, with a = vs2[i], b = vs1[i] or the scalar, and
 * c = r[i] on entry (the old vd[i]: r is vd itself or a copy of it). */
#define EW(EXPR) for (uint64_t i = lo; i < hi; i++) {                           \
        U a = A[i], b = B[i], c = r[i]; (void)a; (void)b; (void)c;              \
        r[i] = (U)(EXPR); } break;
/* The same for a saturating op: sat[i] records whether element i saturated. */
#define EWSAT(WIDE_EXPR, LO, HI) for (uint64_t i = lo; i < hi; i++) {            \
        U a = A[i], b = B[i]; (void)a; (void)b; SW v_ = (WIDE_EXPR);             \
        sat[i] = v_ < (SW)(LO) || v_ > (SW)(HI);                                 \
        r[i] = (U)(v_ < (SW)(LO) ? (SW)(LO) : v_ > (SW)(HI) ? (SW)(HI) : v_); } break;

#define INT_KERNEL(BITS, U_, S_, UW_, SW_, UM_)                                                   \
VEC_KERNEL static void int_kernel_##BITS(int op, U_ *restrict r, const U_ *restrict A, const U_ *restrict B, \
                              uint64_t lo, uint64_t hi, unsigned xrm, uint8_t *restrict sat) {    \
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
static const void *operand_b(rv_machine *m, const rv_decoded *d, int form, void *buf, uint64_t lo, uint64_t hi,
                             unsigned eewb) {
    if (form == VF_VV || form == VF_WV) return vreg(m, d->rs1);
    uint64_t v = (form == VF_VX || form == VF_WX) ? m->x[d->rs1] : (uint64_t)d->imm;
    switch (eewb) {   /* only the body [lo, hi) is read */
    case 1: { uint8_t *p = buf; for (uint64_t i = lo; i < hi; i++) p[i] = (uint8_t)v; break; }
    case 2: { uint16_t *p = buf; for (uint64_t i = lo; i < hi; i++) p[i] = (uint16_t)v; break; }
    case 4: { uint32_t *p = buf; for (uint64_t i = lo; i < hi; i++) p[i] = (uint32_t)v; break; }
    default: { uint64_t *p = buf; for (uint64_t i = lo; i < hi; i++) p[i] = v; break; }
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
    uint64_t lo = c.vstart, hi = c.vl;
    if (lo >= hi) { vec_done(m); return VEC_OK; }   /* no body: nothing is written */
    uint64_t bbuf[m->vlenb], rbuf[m->vlenb];
    uint8_t sat[8 * m->vlenb];
    const void *B = operand_b(m, d, form, bbuf, lo, hi, c.sewb), *A = vreg(m, vs2);
    /* Element i of the result depends only on element i of the sources and of
     * the old vd, so an unmasked op whose vd is not also a source computes
     * straight into vd (the kernels' restrict pointers let the compiler
     * vectorise without alias checks).  Otherwise the result goes to rbuf,
     * which the multiply-adds need to start as a copy of vd. */
    int direct = c.vm && vd != vs2 && (form != VF_VV || vd != d->rs1);
    void *R = direct ? vreg(m, vd) : (void *)rbuf;
    if (!direct && (op == VOP_MACC || op == VOP_NMSAC || op == VOP_MADD || op == VOP_NMSUB))
        memcpy((uint8_t *)rbuf + lo * c.sewb, vreg(m, vd) + lo * c.sewb, (hi - lo) * c.sewb);
    switch (c.sew) {
    case 8: int_kernel_8(op, R, A, B, lo, hi, m->vxrm, sat); break;
    case 16: int_kernel_16(op, R, A, B, lo, hi, m->vxrm, sat); break;
    case 32: int_kernel_32(op, R, A, B, lo, hi, m->vxrm, sat); break;
    default: int_kernel_64(op, R, A, B, lo, hi, m->vxrm, sat); break;
    }
    if (op == VOP_SADDU || op == VOP_SADD || op == VOP_SSUBU || op == VOP_SSUB || op == VOP_SMUL)
        note_sat(m, &c, sat);
    vec_commit(m, &c, vd, R, c.sewb, c.nregs);
    return VEC_OK;
}

/* ---- widening and narrowing -------------------------------------------- */

/* r (2*SEW) = EXPR with a = vs2[i] (SEW, or 2*SEW in the .w forms as aw),
 * b = vs1[i] / scalar (SEW), c = old vd[i] (2*SEW). */
#define EWW(EXPR) for (uint64_t i = lo; i < hi; i++) {                               \
        U a = A[i], b = B[i]; UW aw = AW[i], c = C[i]; (void)a; (void)aw; (void)c;   \
        r[i] = (UW)(EXPR); } break;

#define WIDEN_KERNEL(BITS, U_, S_, UW_, SW_)                                                     \
VEC_KERNEL static void widen_kernel_##BITS(int op, UW_ *restrict r, const void *Av, const U_ *B, const UW_ *C, \
                                uint64_t lo, uint64_t hi) {                                      \
    typedef U_ U; typedef S_ S; typedef UW_ UW; typedef SW_ SW;                                  \
    const U *A = Av; const UW *AW = Av;                                                          \
    switch (op) {                                                                                \
    case VOP_WADDU: EWW((UW)a + (UW)b)                                                           \
    case VOP_WADD: EWW((SW)(S)a + (SW)(S)b)                                                      \
    case VOP_WSUBU: EWW((UW)a - (UW)b)                                                           \
    case VOP_WSUB: EWW((SW)(S)a - (SW)(S)b)                                                      \
    case VOP_WADDU_W: EWW(aw + (UW)b)                                                            \
    case VOP_WADD_W: EWW(aw + (UW)(SW)(S)b)                                                      \
    case VOP_WSUBU_W: EWW(aw - (UW)b)                                                            \
    case VOP_WSUB_W: EWW(aw - (UW)(SW)(S)b)                                                      \
    case VOP_WMULU: EWW((UW)a * (UW)b)                                                           \
    case VOP_WMUL: EWW((SW)(S)a * (SW)(S)b)                                                      \
    case VOP_WMULSU: EWW((SW)(S)a * (SW)b)                                                       \
    case VOP_WMACCU: EWW(c + (UW)a * (UW)b)                                                      \
    case VOP_WMACC: EWW(c + (UW)((SW)(S)b * (SW)(S)a))                                           \
    case VOP_WMACCSU: EWW(c + (UW)((SW)(S)b * (SW)a))                                            \
    case VOP_WMACCUS: EWW(c + (UW)((SW)b * (SW)(S)a))                                            \
    }                                                                                            \
}
/* SEW 64 cannot widen (ELEN 64); its slot in the switches below is never reached. */
WIDEN_KERNEL(8, uint8_t, int8_t, uint16_t, int16_t)
WIDEN_KERNEL(16, uint16_t, int16_t, uint32_t, int32_t)
WIDEN_KERNEL(32, uint32_t, int32_t, uint64_t, int64_t)

int vec_widen(rv_machine *m, const rv_decoded *d, int op, int form) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    int lg = c.lmul_log2, wide_a = form == VF_WV || form == VF_WX;
    unsigned vd = d->rd, vs2 = d->rs2, vs1 = d->rs1, sew = c.sew;
    if (sew == 64 || lg == 3 || (!c.vm && vd == 0)) return VEC_ILLEGAL;
    if (!vec_group_ok(vd, lg + 1) || !vec_group_ok(vs2, wide_a ? lg + 1 : lg)) return VEC_ILLEGAL;
    if (!wide_a && !vec_overlap_ok(vd, 2 * sew, lg + 1, vs2, sew, lg)) return VEC_ILLEGAL;
    if ((form == VF_VV || form == VF_WV) &&
        (!vec_group_ok(vs1, lg) || !vec_overlap_ok(vd, 2 * sew, lg + 1, vs1, sew, lg)))
        return VEC_ILLEGAL;
    uint64_t bbuf[m->vlenb], rbuf[m->vlenb];
    const void *B = operand_b(m, d, form == VF_WV ? VF_VV : form == VF_WX ? VF_VX : form, bbuf, c.vstart, c.vl, c.sewb);
    const void *A = vreg(m, vs2), *C = vreg(m, vd);
    if (c.vstart < c.vl) {
        switch (sew) {
        case 8: widen_kernel_8(op, (uint16_t *)rbuf, A, B, C, c.vstart, c.vl); break;
        case 16: widen_kernel_16(op, (uint32_t *)rbuf, A, B, C, c.vstart, c.vl); break;
        default: widen_kernel_32(op, (uint64_t *)rbuf, A, B, C, c.vstart, c.vl); break;
        }
    }
    vec_commit(m, &c, vd, rbuf, 2 * c.sewb, vec_group_regs(lg + 1));
    return VEC_OK;
}

/* r (SEW) from a = vs2[i] (2*SEW) shifted by b & (2*SEW-1). */
#define NARROW_KERNEL(BITS, U_, UW_, SW_)                                                    \
VEC_KERNEL static void narrow_kernel_##BITS(int op, U_ *restrict r, const UW_ *A, const U_ *B,              \
                                 uint64_t lo, uint64_t hi, unsigned xrm, uint8_t *sat) {         \
    typedef U_ U; typedef UW_ UW; typedef SW_ SW;                                                \
    const unsigned SH = 2 * BITS - 1;                                                            \
    const SW SMIN = -((SW)1 << (BITS - 1)), SMAX = ((SW)1 << (BITS - 1)) - 1;                    \
    for (uint64_t i = lo; i < hi; i++) {                                                         \
        UW a = A[i]; unsigned sh = B[i] & SH;                                                    \
        switch (op) {                                                                            \
        case VOP_NSRL: r[i] = (U)(a >> sh); break;                                               \
        case VOP_NSRA: r[i] = (U)((SW)a >> sh); break;                                           \
        case VOP_NCLIPU: {                                                                       \
            UW v = (a >> sh) + rnd_inc(a, sh, xrm);                                              \
            sat[i] = v > (UW)(U)~(U)0;                                                           \
            r[i] = sat[i] ? (U)~(U)0 : (U)v; break; }                                            \
        default: {                                                                               \
            SW v = ((SW)a >> sh) + (SW)rnd_inc((unsigned __int128)(SW)a, sh, xrm);               \
            sat[i] = v < SMIN || v > SMAX;                                                       \
            r[i] = (U)(v < SMIN ? SMIN : v > SMAX ? SMAX : v); break; }                          \
        }                                                                                        \
    }                                                                                            \
}
NARROW_KERNEL(8, uint8_t, uint16_t, int16_t)
NARROW_KERNEL(16, uint16_t, uint32_t, int32_t)
NARROW_KERNEL(32, uint32_t, uint64_t, int64_t)

int vec_narrow(rv_machine *m, const rv_decoded *d, int op, int form) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    int lg = c.lmul_log2;
    unsigned vd = d->rd, vs2 = d->rs2, sew = c.sew;
    if (sew == 64 || lg == 3 || (!c.vm && vd == 0)) return VEC_ILLEGAL;
    if (!vec_group_ok(vd, lg) || !vec_group_ok(vs2, lg + 1) ||
        !vec_overlap_ok(vd, sew, lg, vs2, 2 * sew, lg + 1) ||
        (form == VF_VV && !vec_group_ok(d->rs1, lg)))
        return VEC_ILLEGAL;
    uint64_t bbuf[m->vlenb], rbuf[m->vlenb];
    uint8_t sat[8 * m->vlenb];
    const void *B = operand_b(m, d, form, bbuf, c.vstart, c.vl, c.sewb), *A = vreg(m, vs2);
    if (c.vstart < c.vl) {
        switch (sew) {
        case 8: narrow_kernel_8(op, (uint8_t *)rbuf, A, B, c.vstart, c.vl, m->vxrm, sat); break;
        case 16: narrow_kernel_16(op, (uint16_t *)rbuf, A, B, c.vstart, c.vl, m->vxrm, sat); break;
        default: narrow_kernel_32(op, (uint32_t *)rbuf, A, B, c.vstart, c.vl, m->vxrm, sat); break;
        }
        if (op == VOP_NCLIPU || op == VOP_NCLIP) note_sat(m, &c, sat);
    }
    vec_commit(m, &c, vd, rbuf, c.sewb, c.nregs);
    return VEC_OK;
}

/* vzext/vsext.vf2/4/8: source EEW = SEW / factor, EMUL = LMUL / factor. */
#define EXT_LOOP(DT, ST) { const ST *s_ = (const ST *)src; DT *r_ = (DT *)rbuf;                 \
        for (uint64_t i = c.vstart; i < c.vl; i++) r_[i] = (DT)s_[i]; } break;

int vec_ext(rv_machine *m, const rv_decoded *d, int factor, int is_signed) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    unsigned seew = c.sew / (unsigned)factor, vd = d->rd, vs2 = d->rs2;
    int slg = c.lmul_log2 - log2u((unsigned)factor);
    if (seew < 8 || slg < -3 || (!c.vm && vd == 0) || !vec_group_ok(vd, c.lmul_log2) ||
        !vec_group_ok(vs2, slg) || !vec_overlap_ok(vd, c.sew, c.lmul_log2, vs2, seew, slg))
        return VEC_ILLEGAL;
    uint64_t rbuf[m->vlenb];
    const void *src = vreg(m, vs2);
    switch (c.sew * 8 + seew * (is_signed ? -1 : 1) + 0 * factor) {
    case 16 * 8 + 8: EXT_LOOP(uint16_t, uint8_t)
    case 16 * 8 - 8: EXT_LOOP(int16_t, int8_t)
    case 32 * 8 + 16: EXT_LOOP(uint32_t, uint16_t)
    case 32 * 8 - 16: EXT_LOOP(int32_t, int16_t)
    case 32 * 8 + 8: EXT_LOOP(uint32_t, uint8_t)
    case 32 * 8 - 8: EXT_LOOP(int32_t, int8_t)
    case 64 * 8 + 32: EXT_LOOP(uint64_t, uint32_t)
    case 64 * 8 - 32: EXT_LOOP(int64_t, int32_t)
    case 64 * 8 + 16: EXT_LOOP(uint64_t, uint16_t)
    case 64 * 8 - 16: EXT_LOOP(int64_t, int16_t)
    case 64 * 8 + 8: EXT_LOOP(uint64_t, uint8_t)
    case 64 * 8 - 8: EXT_LOOP(int64_t, int8_t)
    }
    vec_commit(m, &c, vd, rbuf, c.sewb, c.nregs);
    return VEC_OK;
}

/* ---- carry, merge, compares -------------------------------------------- */

/* Per SEW: carry/borrow ops and compares write either SEW results (r) or one
 * byte per element (mb) for mask destinations. */
/* One loop per op (the switch is outside, so each loop vectorises). */
#define CMPL(DST, EXPR) for (uint64_t i = lo; i < hi; i++) {                                   \
        U a = A[i], b = B[i]; unsigned cin = (v0[i >> 3] >> (i & 7)) & 1; (void)cin;            \
        DST[i] = (EXPR); } break;
#define CMP_KERNEL(BITS, U_, S_, UW_)                                                            \
VEC_KERNEL static void cmp_kernel_##BITS(int op, uint8_t *restrict mb, U_ *restrict r, const U_ *A,         \
                              const U_ *B, const uint8_t *v0, uint64_t lo, uint64_t hi) {        \
    typedef U_ U; typedef S_ S; typedef UW_ UW;                                                  \
    switch (op) {                                                                                \
    case VOP_SEQ: CMPL(mb, a == b)                                                               \
    case VOP_SNE: CMPL(mb, a != b)                                                               \
    case VOP_SLTU: CMPL(mb, a < b)                                                               \
    case VOP_SLT: CMPL(mb, (S)a < (S)b)                                                          \
    case VOP_SLEU: CMPL(mb, a <= b)                                                              \
    case VOP_SLE: CMPL(mb, (S)a <= (S)b)                                                         \
    case VOP_SGTU: CMPL(mb, a > b)                                                               \
    case VOP_SGT: CMPL(mb, (S)a > (S)b)                                                          \
    case VOP_ADC: CMPL(r, (U)(a + b + cin))                                                      \
    case VOP_SBC: CMPL(r, (U)(a - b - cin))                                                      \
    case VOP_MADC: CMPL(mb, (UW)a + (UW)b + cin > (UW)(U)~(U)0)                                  \
    case VOP_MADC_NC: CMPL(mb, (UW)a + (UW)b > (UW)(U)~(U)0)                                     \
    case VOP_MSBC: CMPL(mb, (UW)a < (UW)b + cin)                                                 \
    case VOP_MSBC_NC: CMPL(mb, a < b)                                                            \
    }                                                                                            \
}
CMP_KERNEL(8, uint8_t, int8_t, uint16_t)
CMP_KERNEL(16, uint16_t, int16_t, uint32_t)
CMP_KERNEL(32, uint32_t, int32_t, uint64_t)
CMP_KERNEL(64, uint64_t, int64_t, unsigned __int128)

static void run_cmp_kernel(rv_machine *m, const vec_ctx *c, int op, uint8_t *mb, void *r, const void *A, const void *B) {
    const uint8_t *v0 = vreg(m, 0);
    switch (c->sew) {
    case 8: cmp_kernel_8(op, mb, r, A, B, v0, c->vstart, c->vl); break;
    case 16: cmp_kernel_16(op, mb, r, A, B, v0, c->vstart, c->vl); break;
    case 32: cmp_kernel_32(op, mb, r, A, B, v0, c->vstart, c->vl); break;
    default: cmp_kernel_64(op, mb, r, A, B, v0, c->vstart, c->vl); break;
    }
}

/* Sources legal for an instruction writing a mask (one register) from SEW groups. */
static int mask_dest_ok(const vec_ctx *c, unsigned vd, unsigned vs, int check) {
    return !check || (vec_group_ok(vs, c->lmul_log2) && vec_overlap_ok(vd, 1, 0, vs, c->sew, c->lmul_log2));
}

int vec_cmp(rv_machine *m, const rv_decoded *d, int op, int form) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    unsigned vd = d->rd;
    if (!mask_dest_ok(&c, vd, d->rs2, 1) || !mask_dest_ok(&c, vd, d->rs1, form == VF_VV)) return VEC_ILLEGAL;
    uint64_t bbuf[m->vlenb];
    uint8_t mb[8 * m->vlenb];
    const void *B = operand_b(m, d, form, bbuf, c.vstart, c.vl, c.sewb);
    run_cmp_kernel(m, &c, op, mb, NULL, vreg(m, d->rs2), B);
    vec_commit_mask(m, &c, vd, mb);
    return VEC_OK;
}

/* vadc/vsbc write every body element (v0 is the carry, not a mask);
 * vmadc/vmsbc write a mask.  The vm=0 forms with a SEW destination cannot write v0. */
int vec_carry(rv_machine *m, const rv_decoded *d, int op, int form) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    unsigned vd = d->rd;
    int mask_out = op != VOP_ADC && op != VOP_SBC;
    c.vm = 1;
    uint64_t bbuf[m->vlenb], rbuf[m->vlenb];
    uint8_t mb[8 * m->vlenb];
    const void *B = operand_b(m, d, form, bbuf, c.vstart, c.vl, c.sewb);
    if (mask_out) {
        if (!mask_dest_ok(&c, vd, d->rs2, 1) || !mask_dest_ok(&c, vd, d->rs1, form == VF_VV)) return VEC_ILLEGAL;
        run_cmp_kernel(m, &c, op, mb, NULL, vreg(m, d->rs2), B);
        vec_commit_mask(m, &c, vd, mb);
    } else {
        if (vd == 0 || !vec_group_ok(vd, c.lmul_log2) || !vec_group_ok(d->rs2, c.lmul_log2) ||
            (form == VF_VV && !vec_group_ok(d->rs1, c.lmul_log2)))
            return VEC_ILLEGAL;
        run_cmp_kernel(m, &c, op, mb, rbuf, vreg(m, d->rs2), B);
        vec_commit(m, &c, vd, rbuf, c.sewb, c.nregs);
    }
    return VEC_OK;
}

/* vmerge (vm=0): vd[i] = v0[i] ? b : vs2[i]; vmv.v.* (vm=1): vd[i] = b. */
#define MERGE_LOOP(T) { T *r_ = (T *)rbuf; const T *a_ = (const T *)A, *b_ = (const T *)B;      \
        if (merge) for (uint64_t i = c.vstart; i < c.vl; i++) r_[i] = vmask_bit(m, 0, i) ? b_[i] : a_[i]; \
        else for (uint64_t i = c.vstart; i < c.vl; i++) r_[i] = b_[i]; } break;

int vec_merge(rv_machine *m, const rv_decoded *d, int form) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    int merge = !c.vm;
    unsigned vd = d->rd;
    if ((merge && (vd == 0 || !vec_group_ok(d->rs2, c.lmul_log2))) || !vec_group_ok(vd, c.lmul_log2) ||
        (form == VF_VV && !vec_group_ok(d->rs1, c.lmul_log2)))
        return VEC_ILLEGAL;
    c.vm = 1;
    uint64_t bbuf[m->vlenb], rbuf[m->vlenb];
    const void *B = operand_b(m, d, form, bbuf, c.vstart, c.vl, c.sewb), *A = vreg(m, d->rs2);
    switch (c.sewb) {
    case 1: MERGE_LOOP(uint8_t)
    case 2: MERGE_LOOP(uint16_t)
    case 4: MERGE_LOOP(uint32_t)
    default: MERGE_LOOP(uint64_t)
    }
    vec_commit(m, &c, vd, rbuf, c.sewb, c.nregs);
    return VEC_OK;
}

/* ---- reductions ---------------------------------------------------------- */

#define RED_LOOP(EXPR) for (uint64_t i = 0; i < c->vl; i++) {                          \
        if (vactive(m, c, i)) { U a = A[i]; acc = (EXPR); } } break;
#define RED_KERNEL(BITS, U_, S_, UW_, SW_)                                                       \
static void red_kernel_##BITS(rv_machine *m, const vec_ctx *c, int op, const U_ *A, uint64_t s0, void *out) { \
    typedef U_ U; typedef S_ S; typedef UW_ UW; typedef SW_ SW;                                  \
    U acc = (U)s0; UW wacc = (UW)s0;                                                             \
    switch (op) {                                                                                \
    case VOP_RSUM: if (c->vm) { for (uint64_t i = 0; i < c->vl; i++) acc += A[i]; break; }      \
                   RED_LOOP((U)(acc + a))                                                        \
    case VOP_RAND: RED_LOOP(acc & a)                                                             \
    case VOP_ROR: RED_LOOP(acc | a)                                                              \
    case VOP_RXOR: RED_LOOP(acc ^ a)                                                             \
    case VOP_RMINU: RED_LOOP(a < acc ? a : acc)                                                  \
    case VOP_RMIN: RED_LOOP((S)a < (S)acc ? a : acc)                                             \
    case VOP_RMAXU: RED_LOOP(a > acc ? a : acc)                                                  \
    case VOP_RMAX: RED_LOOP((S)a > (S)acc ? a : acc)                                             \
    case VOP_RWSUMU: for (uint64_t i = 0; i < c->vl; i++) if (vactive(m, c, i)) wacc += (UW)A[i]; \
                     memcpy(out, &wacc, sizeof wacc); return;                                    \
    case VOP_RWSUM: for (uint64_t i = 0; i < c->vl; i++) if (vactive(m, c, i)) wacc += (UW)(SW)(S)A[i]; \
                    memcpy(out, &wacc, sizeof wacc); return;                                     \
    }                                                                                            \
    memcpy(out, &acc, sizeof acc);                                                               \
}
RED_KERNEL(8, uint8_t, int8_t, uint16_t, int16_t)
RED_KERNEL(16, uint16_t, int16_t, uint32_t, int32_t)
RED_KERNEL(32, uint32_t, int32_t, uint64_t, int64_t)
RED_KERNEL(64, uint64_t, int64_t, uint64_t, int64_t)

/* vd[0] = vs1[0] op (active vs2[i], i < vl); vd's other elements are tail.
 * vstart must be 0; vl = 0 writes nothing. */
int vec_red(rv_machine *m, const rv_decoded *d, int op) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    int wide = op == VOP_RWSUMU || op == VOP_RWSUM;
    if (c.vstart || !vec_group_ok(d->rs2, c.lmul_log2) || (wide && c.sew == 64)) return VEC_ILLEGAL;
    if (c.vl == 0) return VEC_OK;
    unsigned reb = wide ? 2 * c.sewb : c.sewb;
    uint64_t s0 = 0, out = 0;
    memcpy(&s0, vreg(m, d->rs1), reb);
    const void *A = vreg(m, d->rs2);
    switch (c.sew) {
    case 8: red_kernel_8(m, &c, op, A, s0, &out); break;
    case 16: red_kernel_16(m, &c, op, A, s0, &out); break;
    case 32: red_kernel_32(m, &c, op, A, s0, &out); break;
    default: red_kernel_64(m, &c, op, A, s0, &out); break;
    }
    memcpy(vreg(m, d->rd), &out, reb);
    if (c.vta) vec_fill_tail(m, &c, d->rd, 1, reb, 1);
    vec_done(m);
    return VEC_OK;
}

/* ---- mask instructions --------------------------------------------------- */

int vec_mlogic(rv_machine *m, const rv_decoded *d, int op) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    uint8_t *D = vreg(m, d->rd);
    const uint8_t *A = vreg(m, d->rs2), *B = vreg(m, d->rs1);
    uint64_t vs = c.vstart, vl = c.vl;
    m->vstart = 0;
    if (vs >= vl) return VEC_OK;
    for (uint64_t w = 0; w < m->vlenb / 8; w++) {
        uint64_t a, b, old, r = 0;
        memcpy(&a, A + 8 * w, 8); memcpy(&b, B + 8 * w, 8); memcpy(&old, D + 8 * w, 8);
        switch (op) {
        case VOP_MANDN: r = a & ~b; break;
        case VOP_MAND: r = a & b; break;
        case VOP_MOR: r = a | b; break;
        case VOP_MXOR: r = a ^ b; break;
        case VOP_MORN: r = a | ~b; break;
        case VOP_MNAND: r = ~(a & b); break;
        case VOP_MNOR: r = ~(a | b); break;
        case VOP_MXNOR: r = ~(a ^ b); break;
        }
        uint64_t body = bit_range(w, vs, vl), tail = m->tail_ones ? bit_range(w, vl, m->vlen) : 0;
        old = (old & ~body) | (r & body) | tail;
        memcpy(D + 8 * w, &old, 8);
    }
    return VEC_OK;
}

int vec_munary(rv_machine *m, const rv_decoded *d, int op) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    unsigned vd = d->rd, vs2 = d->rs2;
    uint64_t vl = c.vl;
    if (op == VOP_VID) {
        if ((!c.vm && vd == 0) || !vec_group_ok(vd, c.lmul_log2)) return VEC_ILLEGAL;
        uint64_t rbuf[m->vlenb];
        for (uint64_t i = c.vstart; i < vl; i++) {
            uint64_t v = i;
            memcpy((uint8_t *)rbuf + i * c.sewb, &v, c.sewb);   /* little-endian truncation */
        }
        vec_commit(m, &c, vd, rbuf, c.sewb, c.nregs);
        return VEC_OK;
    }
    if (c.vstart) return VEC_ILLEGAL;   /* these instructions require vstart = 0 */
    if (op == VOP_CPOP || op == VOP_FIRST) {
        int64_t first = -1;
        uint64_t count = 0;
        for (uint64_t i = 0; i < vl; i++)
            if (vmask_bit(m, vs2, i) && vactive(m, &c, i)) { if (first < 0) first = (int64_t)i; count++; }
        m->x[d->rd] = op == VOP_CPOP ? count : (uint64_t)first;
        vec_done(m);
        return VEC_OK;
    }
    if (!c.vm && vd == 0) return VEC_ILLEGAL;
    if (op == VOP_IOTA) {
        if (!vec_group_ok(vd, c.lmul_log2) || vec_groups_overlap(vd, c.nregs, vs2, 1)) return VEC_ILLEGAL;
        uint64_t rbuf[m->vlenb], sum = 0;
        for (uint64_t i = 0; i < vl; i++) {
            memcpy((uint8_t *)rbuf + i * c.sewb, &sum, c.sewb);
            if (vactive(m, &c, i) && vmask_bit(m, vs2, i)) sum++;
        }
        vec_commit(m, &c, vd, rbuf, c.sewb, c.nregs);
        return VEC_OK;
    }
    /* vmsbf / vmsif / vmsof: set-before / including / only the first active set bit. */
    if (vd == vs2) return VEC_ILLEGAL;
    uint8_t mb[8 * m->vlenb];
    int seen = 0;
    for (uint64_t i = 0; i < vl; i++) {
        if (!vactive(m, &c, i)) { mb[i] = 0; continue; }
        int bit = vmask_bit(m, vs2, i);
        if (op == VOP_MSBF) mb[i] = !seen && !bit;
        else if (op == VOP_MSIF) mb[i] = !seen;
        else mb[i] = !seen && bit;
        if (bit) seen = 1;
    }
    vec_commit_mask(m, &c, vd, mb);
    return VEC_OK;
}

/* ---- permutation --------------------------------------------------------- */

/* Element helpers for width eb. */
static inline uint64_t elem_get(const uint8_t *p, unsigned eb, uint64_t i) {
    uint64_t v = 0;
    memcpy(&v, p + i * eb, eb);
    return v;
}
static inline void elem_put(uint8_t *p, unsigned eb, uint64_t i, uint64_t v) { memcpy(p + i * eb, &v, eb); }

#define PERM_KERNEL(BITS, U_)                                                                    \
static void perm_kernel_##BITS(int op, U_ *restrict r, const U_ *A, const void *idx, unsigned ieb, \
                               uint64_t off, uint64_t lo, uint64_t hi, uint64_t vlmax) {         \
    switch (op) {                                                                                \
    case VOP_SLIDEUP: for (uint64_t i = lo; i < hi; i++) r[i] = A[i - off]; break;               \
    case VOP_SLIDEDOWN:                                                                          \
        for (uint64_t i = lo; i < hi; i++) r[i] = off < vlmax && i + off < vlmax ? A[i + off] : 0; \
        break;                                                                                   \
    case VOP_RGATHER: case VOP_RGATHEREI16: for (uint64_t i = lo; i < hi; i++) {                 \
            uint64_t k = idx ? elem_get(idx, ieb, i) : off; r[i] = k < vlmax ? A[k] : 0; } break; \
    }                                                                                            \
}
PERM_KERNEL(8, uint8_t)
PERM_KERNEL(16, uint16_t)
PERM_KERNEL(32, uint32_t)
PERM_KERNEL(64, uint64_t)

int vec_perm(rv_machine *m, const rv_decoded *d, int op, int form) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    unsigned vd = d->rd, vs2 = d->rs2, vs1 = d->rs1, eb = c.sewb;
    int lg = c.lmul_log2;
    uint64_t vl = c.vl;
    if (op == VOP_MV_X_S) {
        uint64_t v = elem_get(vreg(m, vs2), eb, 0);
        unsigned sh = 64 - c.sew;
        m->x[d->rd] = sh ? (uint64_t)((int64_t)(v << sh) >> sh) : v;   /* sign-extend */
        vec_done(m);
        return VEC_OK;
    }
    if (op == VOP_MV_S_X) {
        if (c.vstart < vl) {
            elem_put(vreg(m, vd), eb, 0, m->x[vs1]);
            if (c.vta) vec_fill_tail(m, &c, vd, 1, eb, 1);
        }
        vec_done(m);
        return VEC_OK;
    }
    if (!vec_group_ok(vd, lg) || !vec_group_ok(vs2, lg) || (!c.vm && vd == 0)) return VEC_ILLEGAL;
    uint64_t rbuf[m->vlenb];
    uint8_t *R = (uint8_t *)rbuf;
    const uint8_t *A = vreg(m, vs2);
    uint64_t off = form == VF_VX ? m->x[vs1] : (uint64_t)d->imm;
    const void *idx = NULL;
    unsigned ieb = eb;
    switch (op) {
    case VOP_SLIDEUP: case VOP_SLIDE1UP:
        if (vec_groups_overlap(vd, c.nregs, vs2, c.nregs)) return VEC_ILLEGAL;
        break;
    case VOP_RGATHER: case VOP_RGATHEREI16: {
        int ilg = op == VOP_RGATHEREI16 ? lg + 1 - log2u(eb) : lg;
        if (op == VOP_RGATHEREI16) ieb = 2;
        if (vec_groups_overlap(vd, c.nregs, vs2, c.nregs)) return VEC_ILLEGAL;
        if (form == VF_VV) {
            if (!vec_group_ok(vs1, ilg) || vec_groups_overlap(vd, c.nregs, vs1, vec_group_regs(ilg)))
                return VEC_ILLEGAL;
            idx = vreg(m, vs1);
        }
        break;
    }
    case VOP_COMPRESS: {
        if (c.vstart || vec_groups_overlap(vd, c.nregs, vs2, c.nregs) || vec_groups_overlap(vd, c.nregs, vs1, 1))
            return VEC_ILLEGAL;
        uint64_t n = 0;
        for (uint64_t i = 0; i < vl; i++)
            if (vmask_bit(m, vs1, i)) elem_put(R, eb, n++, elem_get(A, eb, i));
        c.vl = n;   /* the elements after the packed ones are tail */
        if (n == 0) {   /* nothing packed: all of vd is tail (unless vl = 0: no body at all) */
            if (vl && c.vta) vec_fill_tail(m, &c, vd, 0, eb, c.nregs);
            vec_done(m);
            return VEC_OK;
        }
        vec_commit(m, &c, vd, R, eb, c.nregs);
        return VEC_OK;
    }
    }
    uint64_t lo = c.vstart, hi = vl;
    if (lo >= hi) { vec_done(m); return VEC_OK; }   /* no body: nothing is written */
    if (op == VOP_SLIDEUP && off > lo) {
        /* Elements below the offset are not written; the tail still follows vta
         * when the offset leaves no body element to write. */
        if (off >= hi) {
            if (c.vta) vec_fill_tail(m, &c, vd, hi, eb, c.nregs);
            vec_done(m);
            return VEC_OK;
        }
        lo = c.vstart = off;
    }
    if (op == VOP_SLIDE1UP || op == VOP_SLIDE1DOWN) {
        uint64_t x = m->x[vs1];
        for (uint64_t i = lo; i < hi; i++) {
            if (op == VOP_SLIDE1UP) elem_put(R, eb, i, i == 0 ? x : elem_get(A, eb, i - 1));
            else elem_put(R, eb, i, i + 1 < vl ? elem_get(A, eb, i + 1) : x);
        }
    } else if (lo < hi) {
        switch (c.sew) {
        case 8: perm_kernel_8(op, (uint8_t *)R, (const uint8_t *)A, idx, ieb, off, lo, hi, c.vlmax); break;
        case 16: perm_kernel_16(op, (uint16_t *)R, (const uint16_t *)A, idx, ieb, off, lo, hi, c.vlmax); break;
        case 32: perm_kernel_32(op, (uint32_t *)R, (const uint32_t *)A, idx, ieb, off, lo, hi, c.vlmax); break;
        default: perm_kernel_64(op, (uint64_t *)R, (const uint64_t *)A, idx, ieb, off, lo, hi, c.vlmax); break;
        }
    }
    vec_commit(m, &c, vd, R, eb, c.nregs);
    return VEC_OK;
}

/* vmv<nr>r.v: copy nr whole registers, EEW = SEW for vstart. */
int vec_mvr(rv_machine *m, const rv_decoded *d, unsigned nr) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c)) return VEC_ILLEGAL;
    unsigned vd = d->rd, vs2 = d->rs2;
    if (vd % nr || vs2 % nr) return VEC_ILLEGAL;
    uint64_t evl = (uint64_t)nr * m->vlenb / c.sewb;
    if (c.vstart < evl && vd != vs2)
        memmove(vreg(m, vd) + c.vstart * c.sewb, vreg(m, vs2) + c.vstart * c.sewb, (evl - c.vstart) * c.sewb);
    vec_done(m);
    return VEC_OK;
}
