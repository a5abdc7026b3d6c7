/* Vector extensions for AI kernels; see vai.h.
 *
 * bfloat16 (Zvfbfmin, Zvfbfwma; SEW = 16 for the bfloat16 side, anything
 * else is reserved, so illegal here).  A bfloat16 is the upper half of a
 * single, so widening it is exact, and so is the product of two of them in
 * single (8 + 8 significant bits <= 24): vfwmaccbf16 is one single-precision
 * FMA of the widened operands, rounded once as the spec asks.
 *
 * Zvqdotq (v0.0): SEW must be 32; each element accumulates a 4-way int8 dot
 * product, wrapping modulo 2^32, under the usual mask and tail policies.
 *
 * XSMTVDot, from SpacemiT's "AI Matrix Extension Instruction Set" (v0.6,
 * sections 2 and 5): A is a tile of M x K int8 in vs1 (row-major), B a tile
 * of N x K int8 in vs2 (each row of B^T contiguous), C an M x N int32 tile in
 * the pair vd, vd+1 (row-major), C += A * B^T.  The tile shape belongs to
 * the core: 4 x 8 x 4 on the A60 (VLEN 256), 8 x 16 x 8 on the A100 (VLEN
 * 1024); the text defines no other VLEN ("unsupported profile"), so other
 * VLENs stop as an illegal instruction, as do LMUL != 1, an odd vd, and a vd
 * pair overlapping a source.  The sliding forms read A at an offset of
 * slide * K bytes into the pair vs1, vs1+1 (vs1 even).  Neither vl nor the
 * mask bit enters: the whole tile is computed and written.
 */
#include "fp.h"
#include "vec.h"
#include "vai.h"

static inline uint64_t ld(const uint8_t *p, unsigned eb, uint64_t i) {
    uint64_t v = 0;
    memcpy(&v, p + i * eb, eb);
    return v;
}
static inline void st(uint8_t *p, unsigned eb, uint64_t i, uint64_t v) { memcpy(p + i * eb, &v, eb); }

/* ---- bfloat16 ----------------------------------------------------------- */

int vec_bf16_cvt(rv_machine *m, const rv_decoded *d, int narrow) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c) || c.sew != 16 || m->frm > FP_RMM || c.lmul_log2 == 3) return VEC_ILLEGAL;
    int lg = c.lmul_log2, slg = narrow ? lg + 1 : lg, dlg = narrow ? lg : lg + 1;
    unsigned vd = d->rd, vs2 = d->rs2, sw = narrow ? 32 : 16, dw = narrow ? 16 : 32;
    if ((!c.vm && vd == 0) || !vec_group_ok(vd, dlg) || !vec_group_ok(vs2, slg) ||
        !vec_overlap_ok(vd, dw, dlg, vs2, sw, slg))
        return VEC_ILLEGAL;
    uint64_t rbuf[m->vlenb];
    uint8_t *R = (uint8_t *)rbuf;
    const uint8_t *A = vreg(m, vs2);
    uint32_t fl = 0;
    for (uint64_t i = c.vstart; i < c.vl; i++)
        if (vactive(m, &c, i))
            st(R, dw / 8, i, narrow ? fp_convert(FMT_B, FMT_S, ld(A, 4, i), m->frm, &fl)
                                    : fp_convert(FMT_S, FMT_B, ld(A, 2, i), m->frm, &fl));
    m->fflags |= fl;
    vec_commit(m, &c, vd, R, dw / 8, vec_group_regs(dlg));
    return VEC_OK;
}

int vec_bf16_wmacc(rv_machine *m, const rv_decoded *d, int scalar) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c) || c.sew != 16 || m->frm > FP_RMM || c.lmul_log2 == 3) return VEC_ILLEGAL;
    int lg = c.lmul_log2;
    unsigned vd = d->rd, vs2 = d->rs2, vs1 = d->rs1;
    if ((!c.vm && vd == 0) || !vec_group_ok(vd, lg + 1) || !vec_group_ok(vs2, lg) ||
        !vec_overlap_ok(vd, 32, lg + 1, vs2, 16, lg) ||
        (!scalar && (!vec_group_ok(vs1, lg) || !vec_overlap_ok(vd, 32, lg + 1, vs1, 16, lg))))
        return VEC_ILLEGAL;
    uint64_t rbuf[m->vlenb];
    uint8_t *R = (uint8_t *)rbuf;
    const uint8_t *A = vreg(m, vs2), *B = vreg(m, vs1), *C = vreg(m, vd);
    uint32_t s = (uint32_t)fp_unboxb(m->f[vs1]) << 16, fl = 0;
    /* Widening on the bits keeps a signalling NaN signalling: the FMA raises NV for it. */
    for (uint64_t i = c.vstart; i < c.vl; i++)
        if (vactive(m, &c, i)) {
            uint32_t a = (uint32_t)ld(A, 2, i) << 16, b = scalar ? s : (uint32_t)ld(B, 2, i) << 16;
            st(R, 4, i, f32_fma(b, a, (uint32_t)ld(C, 4, i), m->frm, &fl));
        }
    m->fflags |= fl;
    vec_commit(m, &c, vd, R, 4, vec_group_regs(lg + 1));
    return VEC_OK;
}

/* ---- Zvqdotq ------------------------------------------------------------- */

/* Byte k of w, sign- or zero-extended. */
static inline int32_t byte_of(uint32_t w, int k, int is_signed) {
    uint32_t b = (w >> (8 * k)) & 0xff;
    return is_signed ? (int32_t)(int8_t)b : (int32_t)b;
}

int vec_qdot(rv_machine *m, const rv_decoded *d, int scalar, int signed_a, int signed_b) {
    vec_ctx c;
    if (vec_ctx_init(m, d, &c) || c.sew != 32) return VEC_ILLEGAL;
    int lg = c.lmul_log2;
    unsigned vd = d->rd, vs2 = d->rs2, vs1 = d->rs1;
    if ((!c.vm && vd == 0) || !vec_group_ok(vd, lg) || !vec_group_ok(vs2, lg) ||
        (!scalar && !vec_group_ok(vs1, lg)))
        return VEC_ILLEGAL;
    uint64_t rbuf[m->vlenb];
    uint8_t *R = (uint8_t *)rbuf;
    const uint8_t *A = vreg(m, vs2), *B = vreg(m, vs1), *C = vreg(m, vd);
    uint32_t s = (uint32_t)m->x[vs1];
    for (uint64_t i = c.vstart; i < c.vl; i++)
        if (vactive(m, &c, i)) {
            uint32_t a = (uint32_t)ld(A, 4, i), b = scalar ? s : (uint32_t)ld(B, 4, i);
            uint32_t acc = (uint32_t)ld(C, 4, i);
            for (int k = 0; k < 4; k++) acc += (uint32_t)(byte_of(a, k, signed_a) * byte_of(b, k, signed_b));
            st(R, 4, i, acc);
        }
    vec_commit(m, &c, vd, R, 4, vec_group_regs(lg));
    return VEC_OK;
}

/* ---- XSMTVDot ------------------------------------------------------------ */

int vec_smt_vmadot(rv_machine *m, const rv_decoded *d, int slide, int signed_a, int signed_b) {
    vec_ctx c;
    unsigned mn, k;   /* M = N, and K */
    if (m->vlen == 256) mn = 4, k = 8;
    else if (m->vlen == 1024) mn = 8, k = 16;
    else return VEC_ILLEGAL;
    unsigned vd = d->rd, vs1 = slide ? d->rs1 & ~1u : d->rs1, vs2 = d->rs2, na = slide ? 2 : 1;
    if (vec_ctx_init(m, d, &c) || c.lmul_log2 != 0 || (vd & 1) ||
        vec_groups_overlap(vd, 2, vs1, na) || vec_groups_overlap(vd, 2, vs2, 1))
        return VEC_ILLEGAL;
    const uint8_t *A = vreg(m, vs1) + slide * k, *B = vreg(m, vs2);
    uint8_t *C = vreg(m, vd);
    for (unsigned p = 0; p < mn * mn; p++) {
        const uint8_t *row = A + (p / mn) * k, *col = B + (p % mn) * k;
        uint32_t acc = (uint32_t)ld(C, 4, p);
        for (unsigned q = 0; q < k; q++) {
            int32_t a = signed_a ? (int8_t)row[q] : row[q], b = signed_b ? (int8_t)col[q] : col[q];
            acc += (uint32_t)(a * b);
        }
        st(C, 4, p, acc);
    }
    vec_done(m);
    return VEC_OK;
}
