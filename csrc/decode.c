/* Decoding: the instruction table, immediates by kind, and the RVC expander. */
#include <pthread.h>
#include <string.h>
#include "insns.h"

const rv_insn_info rv_insns[RV_NOPS] = {
    [RV_OP_UNDECODED] = {"<undecoded>", 0, 0, "", RV_CLASS_SYSTEM},
#define INSN(id, nm, mt, mk, ops, cls) [RV_OP_##id] = {nm, mt, mk, ops, RV_CLASS_##cls, RV_EXT_BASE},
#define INSN_EXT(ext, id, nm, mt, mk, ops, cls) [RV_OP_##id] = {nm, mt, mk, ops, RV_CLASS_##cls, RV_EXT_##ext},
#include "insns.def"
#undef INSN_EXT
#undef INSN
};

/* Per major opcode (bits 6:0), the table rows that can match, in table order. */
static uint16_t bucket_start[129];
static uint16_t bucket_ops[RV_NOPS];
static uint8_t imm_kind[RV_NOPS];
static uint8_t rd_is_x[RV_NOPS];

static int kind_of(const char *ops) {
    for (const char *p = ops; *p; p++) {
        switch (*p) {
        case 'i': case 'o': return IMM_I;
        case 'q': return IMM_S;
        case 'b': return IMM_B;
        case 'j': return IMM_J;
        case 'u': return IMM_U;
        case '>': return IMM_SH6;
        case '<': return IMM_SH5;
        case 'c': return IMM_CSR;
        case 'k': return IMM_SIMM5;
        case 'K': return IMM_UIMM5;
        case 'N': return IMM_UIMM6;
        case 'Z': return IMM_ZIMM11;
        case 'Y': return IMM_ZIMM10;
        }
    }
    return IMM_NONE;
}

static void decoder_build(void) {
    uint16_t count[128] = {0};
    for (int op = 1; op < RV_NOPS; op++) {
        count[rv_insns[op].match & 0x7f]++;
        imm_kind[op] = (uint8_t)kind_of(rv_insns[op].ops);
        rd_is_x[op] = rv_insns[op].ops[0] == 'd';
    }
    bucket_start[0] = 0;
    for (int b = 0; b < 128; b++) bucket_start[b + 1] = bucket_start[b] + count[b];
    uint16_t fill[128];
    memcpy(fill, bucket_start, sizeof fill);
    for (int op = 1; op < RV_NOPS; op++) bucket_ops[fill[rv_insns[op].match & 0x7f]++] = (uint16_t)op;
}

/* Machines and the disassembler may start in several threads at once: the
 * tables are built exactly once, and no thread reads them half built. */
void rv_decoder_init(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, decoder_build);
}

static int64_t sext(uint64_t v, int bits) { return (int64_t)(v << (64 - bits)) >> (64 - bits); }

static int64_t immediate(int kind, uint32_t r) {
    switch (kind) {
    case IMM_I: return sext(r >> 20, 12);
    case IMM_S: return sext(((r >> 25) << 5) | ((r >> 7) & 0x1f), 12);
    case IMM_B: return sext((((r >> 31) & 1) << 12) | (((r >> 7) & 1) << 11) |
                            (((r >> 25) & 0x3f) << 5) | (((r >> 8) & 0xf) << 1), 13);
    case IMM_J: return sext((((r >> 31) & 1) << 20) | (((r >> 12) & 0xff) << 12) |
                            (((r >> 20) & 1) << 11) | (((r >> 21) & 0x3ff) << 1), 21);
    case IMM_U: return sext(r & 0xfffff000u, 32);
    case IMM_SH6: return (r >> 20) & 0x3f;
    case IMM_SH5: return (r >> 20) & 0x1f;
    case IMM_CSR: return r >> 20;
    case IMM_SIMM5: return sext((r >> 15) & 0x1f, 5);
    case IMM_UIMM5: return (r >> 15) & 0x1f;
    case IMM_ZIMM11: return (r >> 20) & 0x7ff;
    case IMM_ZIMM10: return (r >> 20) & 0x3ff;
    case IMM_UIMM6: return ((r >> 26) & 1) << 5 | ((r >> 15) & 0x1f);
    }
    return 0;
}

int rv_decode32(uint32_t raw, rv_decoded *d) {
    memset(d, 0, sizeof *d);
    d->raw = raw;
    d->len = 4;
    if ((raw & 3) != 3) return RV_OP_UNDECODED;
    unsigned b = raw & 0x7f;
    for (unsigned i = bucket_start[b]; i < bucket_start[b + 1]; i++) {
        unsigned op = bucket_ops[i];
        if ((raw & rv_insns[op].mask) != rv_insns[op].match) continue;
        d->op = (uint16_t)op;
        d->rd = (raw >> 7) & 0x1f;
        d->rs1 = (raw >> 15) & 0x1f;
        d->rs2 = (raw >> 20) & 0x1f;
        d->rs3 = raw >> 27;
        d->imm = (int32_t)immediate(imm_kind[op], raw);
        if (d->rd == 0 && rd_is_x[op]) d->rd = 32;   /* writes to x0 go to the sink */
        return (int)op;
    }
    return RV_OP_UNDECODED;
}

/* ---- RVC: expand each compressed form to the 32-bit instruction it stands for ---- */

static uint32_t enc_r(uint32_t f7, unsigned rs2, unsigned rs1, uint32_t f3, unsigned rd, uint32_t opc) {
    return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
static uint32_t enc_i(int32_t imm, unsigned rs1, uint32_t f3, unsigned rd, uint32_t opc) {
    return ((uint32_t)(imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
static uint32_t enc_s(int32_t imm, unsigned rs2, unsigned rs1, uint32_t f3, uint32_t opc) {
    uint32_t u = (uint32_t)imm & 0xfff;
    return ((u >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((u & 0x1f) << 7) | opc;
}
static uint32_t enc_b(int32_t imm, unsigned rs2, unsigned rs1, uint32_t f3) {
    uint32_t u = (uint32_t)imm;
    return (((u >> 12) & 1) << 31) | (((u >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) |
           (f3 << 12) | (((u >> 1) & 0xf) << 8) | (((u >> 11) & 1) << 7) | 0x63;
}
static uint32_t enc_j(int32_t imm, unsigned rd) {
    uint32_t u = (uint32_t)imm;
    return (((u >> 20) & 1) << 31) | (((u >> 1) & 0x3ff) << 21) | (((u >> 11) & 1) << 20) |
           (((u >> 12) & 0xff) << 12) | (rd << 7) | 0x6f;
}

#define BIT(c, n) (((c) >> (n)) & 1u)
#define BITS(c, hi, lo) (((c) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1))

uint32_t rv_expand_rvc(uint16_t c) {
    unsigned rd = BITS(c, 11, 7), rs2 = BITS(c, 6, 2);
    unsigned rdp = 8 + BITS(c, 4, 2), rs1p = 8 + BITS(c, 9, 7);   /* the x8..x15 forms */
    unsigned f3 = BITS(c, 15, 13);
    switch ((c & 3) << 3 | f3) {
    case 0x00: { /* c.addi4spn */
        unsigned imm = (BITS(c, 10, 7) << 6) | (BITS(c, 12, 11) << 4) | (BIT(c, 5) << 3) | (BIT(c, 6) << 2);
        return imm ? enc_i((int32_t)imm, 2, 0, rdp, 0x13) : 0;
    }
    case 0x01: return enc_i((int32_t)((BITS(c, 6, 5) << 6) | (BITS(c, 12, 10) << 3)), rs1p, 3, rdp, 0x07); /* c.fld */
    case 0x02: return enc_i((int32_t)((BIT(c, 5) << 6) | (BITS(c, 12, 10) << 3) | (BIT(c, 6) << 2)), rs1p, 2, rdp, 0x03); /* c.lw */
    case 0x03: return enc_i((int32_t)((BITS(c, 6, 5) << 6) | (BITS(c, 12, 10) << 3)), rs1p, 3, rdp, 0x03); /* c.ld */
    case 0x04: { /* Zcb byte and halfword loads and stores: funct6 in bits 12:10, offset bits in 6:5 */
        unsigned b = BIT(c, 6), h = BIT(c, 5);
        switch (BITS(c, 12, 10)) {
        case 0: return enc_i((int32_t)(h << 1 | b), rs1p, 4, rdp, 0x03);            /* c.lbu -> lbu */
        case 1: return enc_i((int32_t)(h << 1), rs1p, b ? 1 : 5, rdp, 0x03);        /* c.lh / c.lhu */
        case 2: return enc_s((int32_t)(h << 1 | b), rdp, rs1p, 0, 0x23);            /* c.sb -> sb */
        case 3: return b ? 0 : enc_s((int32_t)(h << 1), rdp, rs1p, 1, 0x23);        /* c.sh -> sh */
        }
        return 0;
    }
    case 0x05: return enc_s((int32_t)((BITS(c, 6, 5) << 6) | (BITS(c, 12, 10) << 3)), rdp, rs1p, 3, 0x27); /* c.fsd */
    case 0x06: return enc_s((int32_t)((BIT(c, 5) << 6) | (BITS(c, 12, 10) << 3) | (BIT(c, 6) << 2)), rdp, rs1p, 2, 0x23); /* c.sw */
    case 0x07: return enc_s((int32_t)((BITS(c, 6, 5) << 6) | (BITS(c, 12, 10) << 3)), rdp, rs1p, 3, 0x23); /* c.sd */
    case 0x08: { /* c.addi, c.nop */
        int32_t imm = (int32_t)sext((BIT(c, 12) << 5) | rs2, 6);
        return enc_i(imm, rd, 0, rd, 0x13);
    }
    case 0x09: { /* c.addiw */
        int32_t imm = (int32_t)sext((BIT(c, 12) << 5) | rs2, 6);
        return rd ? enc_i(imm, rd, 0, rd, 0x1b) : 0;
    }
    case 0x0a: /* c.li */
        return enc_i((int32_t)sext((BIT(c, 12) << 5) | rs2, 6), 0, 0, rd, 0x13);
    case 0x0b:
        if (rd == 2) { /* c.addi16sp */
            int32_t imm = (int32_t)sext((BIT(c, 12) << 9) | (BITS(c, 4, 3) << 7) | (BIT(c, 5) << 6) |
                                        (BIT(c, 2) << 5) | (BIT(c, 6) << 4), 10);
            return imm ? enc_i(imm, 2, 0, 2, 0x13) : 0;
        } else { /* c.lui; with immediate 0 and rd x1, x3, ..., x15 Zcmop's c.mop.N, a no-op */
            int32_t imm = (int32_t)sext((BIT(c, 12) << 17) | (rs2 << 12), 18);
            if (!imm) return (rd & 1) && rd < 16 ? 0x13u : 0;
            return ((uint32_t)imm & 0xfffff000u) | (rd << 7) | 0x37;
        }
    case 0x0c: { /* misc ALU on x8..x15 */
        unsigned sh = (BIT(c, 12) << 5) | rs2;
        switch (BITS(c, 11, 10)) {
        case 0: return enc_i((int32_t)sh, rs1p, 5, rs1p, 0x13);                    /* c.srli */
        case 1: return enc_i((int32_t)(sh | 0x400), rs1p, 5, rs1p, 0x13);          /* c.srai */
        case 2: return enc_i((int32_t)sext(sh, 6), rs1p, 7, rs1p, 0x13);           /* c.andi */
        default: {
            static const uint32_t f7[8] = {0x20, 0, 0, 0, 0x20, 0, 0, 0};
            static const uint32_t fn3[8] = {0, 4, 6, 7, 0, 0, 0, 0};
            unsigned k = (BIT(c, 12) << 2) | BITS(c, 6, 5);  /* sub xor or and subw addw, Zcb's c.mul, unary */
            if (k == 6) return enc_r(1, rdp, rs1p, 0, rs1p, 0x33);                    /* c.mul -> mul */
            if (k == 7) switch (BITS(c, 4, 2)) {                                     /* Zcb unary on rd' */
                case 0: return enc_i(0xff, rs1p, 7, rs1p, 0x13);                      /* c.zext.b -> andi 255 */
                case 1: return enc_i(0x604, rs1p, 1, rs1p, 0x13);                     /* c.sext.b -> sext.b */
                case 2: return enc_r(0x04, 0, rs1p, 4, rs1p, 0x3b);                   /* c.zext.h -> zext.h */
                case 3: return enc_i(0x605, rs1p, 1, rs1p, 0x13);                     /* c.sext.h -> sext.h */
                case 4: return enc_r(0x04, 0, rs1p, 0, rs1p, 0x3b);                   /* c.zext.w -> add.uw rd, rd, zero */
                case 5: return enc_i(-1, rs1p, 4, rs1p, 0x13);                        /* c.not -> xori -1 */
                default: return 0;
            }
            return enc_r(f7[k], rdp, rs1p, fn3[k], rs1p, k >= 4 ? 0x3b : 0x33);
        }
        }
    }
    case 0x0d: { /* c.j */
        int32_t imm = (int32_t)sext((BIT(c, 12) << 11) | (BIT(c, 8) << 10) | (BITS(c, 10, 9) << 8) |
                                    (BIT(c, 6) << 7) | (BIT(c, 7) << 6) | (BIT(c, 2) << 5) |
                                    (BIT(c, 11) << 4) | (BITS(c, 5, 3) << 1), 12);
        return enc_j(imm, 0);
    }
    case 0x0e: case 0x0f: { /* c.beqz, c.bnez */
        int32_t imm = (int32_t)sext((BIT(c, 12) << 8) | (BITS(c, 6, 5) << 6) | (BIT(c, 2) << 5) |
                                    (BITS(c, 11, 10) << 3) | (BITS(c, 4, 3) << 1), 9);
        return enc_b(imm, 0, rs1p, f3 & 1);
    }
    case 0x10: { /* c.slli */
        unsigned sh = (BIT(c, 12) << 5) | rs2;
        return enc_i((int32_t)sh, rd, 1, rd, 0x13);
    }
    case 0x11: return enc_i((int32_t)((BITS(c, 4, 2) << 6) | (BIT(c, 12) << 5) | (BITS(c, 6, 5) << 3)), 2, 3, rd, 0x07); /* c.fldsp */
    case 0x12: return rd ? enc_i((int32_t)((BITS(c, 3, 2) << 6) | (BIT(c, 12) << 5) | (BITS(c, 6, 4) << 2)), 2, 2, rd, 0x03) : 0; /* c.lwsp */
    case 0x13: return rd ? enc_i((int32_t)((BITS(c, 4, 2) << 6) | (BIT(c, 12) << 5) | (BITS(c, 6, 5) << 3)), 2, 3, rd, 0x03) : 0; /* c.ldsp */
    case 0x14:
        if (!BIT(c, 12)) {
            if (rs2 == 0) return rd ? enc_i(0, rd, 0, 0, 0x67) : 0;       /* c.jr */
            return enc_r(0, rs2, 0, 0, rd, 0x33);                          /* c.mv */
        }
        if (rs2 == 0) return rd ? enc_i(0, rd, 0, 1, 0x67) : 0x00100073;  /* c.jalr, c.ebreak */
        return enc_r(0, rs2, rd, 0, rd, 0x33);                             /* c.add */
    case 0x15: return enc_s((int32_t)((BITS(c, 9, 7) << 6) | (BITS(c, 12, 10) << 3)), rs2, 2, 3, 0x27); /* c.fsdsp */
    case 0x16: return enc_s((int32_t)((BITS(c, 8, 7) << 6) | (BITS(c, 12, 9) << 2)), rs2, 2, 2, 0x23); /* c.swsp */
    case 0x17: return enc_s((int32_t)((BITS(c, 9, 7) << 6) | (BITS(c, 12, 10) << 3)), rs2, 2, 3, 0x23); /* c.sdsp */
    }
    return 0;
}
