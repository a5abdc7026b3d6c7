/* The instruction table and the decoded-instruction record.
 *
 * One table (insns_*.def, X-macro rows) drives the decoder, the dispatch
 * labels of the interpreter, the disassembler, the per-class counters and the
 * Python test assembler (rvai/emu/isa.py reads the rows through the C API).
 *
 * Operand letters in the `operands` column, in printing order:
 *   d s t    integer rd, rs1, rs2          D S T R  float rd, rs1, rs2, rs3
 *   V U W    vector vd/vs3, vs1, vs2        M        vector mask (vm=0 prints ", v0.t")
 *   i        I-immediate (signed 12)       o(s)     I-immediate offset(rs1)
 *   q(s)     S-immediate offset(rs1)       (s)      plain (rs1)
 *   b        branch target (B-immediate)   j        jump target (J-immediate), both print as offsets
 *   u        U-immediate (20 bits)         > <      shift amount, 6 / 5 bits
 *   c        CSR number                    z        5-bit unsigned in the rs1 field
 *   m        rounding mode (printed unless dyn; for exact conversions unless rne)
 *   0        the fixed operand v0 (vmerge, vadc, ...)
 *   k K      vector simm5 / uimm5 in the vs1 field
 *   Z Y      vsetvli zimm11 / vsetivli zimm10 vtype
 *   E        an even vector register in bits 19:16 (vs1 of smt.vmadot1/2/3*; bit 15 is opcode)
 *   p(s)     prefetch.* offset(rs1): the I-immediate with bits 4:0 (the rs2 field) cleared
 *   N        vror.vi's 6-bit unsigned immediate: bit 5 in bit 26, bits 4:0 in the vs1 field
 *   l        Zfa's fli constant: its index in the rs1 field, printed as LLVM names the value
 *
 * Rows of the base ISA (RV64GCV with Zba/Zbb/Zbs/Zfh/Zvfh) are INSN(...) and
 * always decode.  Rows of the other extensions are INSN_EXT(ext, ...): ext
 * names the extension as LLVM spells its feature (RV_EXTENSIONS below), and
 * a machine can switch each off (rv_set_extensions), making its rows
 * illegal instructions there.  Zicbop has no rows: its prefetch.* are hints
 * (ori x0 encodings) that run on every machine; switched off, the timing model
 * ignores them too, as a core without Zicbop would (timing.c, software_prefetch).
 */
#ifndef RVAI_INSNS_H
#define RVAI_INSNS_H
#include <stdint.h>

/* Classes for counters and the timing model. */
#define RV_CLASSES(X) \
    X(ALU) X(BRANCH) X(JUMP) X(LOAD) X(STORE) X(MUL) X(DIV) X(ATOMIC) \
    X(CSR) X(SYSTEM) X(FENCE) \
    X(FLOAD) X(FSTORE) X(FADD) X(FMUL) X(FFMA) X(FDIV) X(FSQRT) X(FCVT) X(FMISC) \
    X(VSET) X(VLOAD) X(VSTORE) X(VALU) X(VMUL) X(VDIV) X(VFADD) X(VFMUL) \
    X(VFFMA) X(VFDIV) X(VFMISC) X(VRED) X(VPERM) X(VMASK)

enum rv_class {
#define X(c) RV_CLASS_##c,
    RV_CLASSES(X)
#undef X
    RV_NCLASSES
};

/* The extensions whose rows a machine can switch off, by LLVM feature name. */
#define RV_EXTENSIONS(X) \
    X(zfbfmin) X(zvfbfmin) X(zvfbfwma) X(zvqdotq) X(xsmtvdot) \
    X(zicond) X(zbc) X(zbkb) X(zbkx) X(zicbom) X(zicboz) X(zawrs) X(zimop) X(zfa) X(zvkb) X(zvbb) \
    X(zicbop)

enum rv_ext {
    RV_EXT_BASE = 0,
#define X(e) RV_EXT_##e,
    RV_EXTENSIONS(X)
#undef X
    RV_NEXTS
};
_Static_assert(RV_NEXTS <= 64, "extension switches are bits of a 64-bit word");

enum rv_op {
    RV_OP_UNDECODED = 0,
#define INSN(id, name, match, mask, ops, cls) RV_OP_##id,
#include "insns.def"
#undef INSN
    RV_NOPS
};

/* Immediate kinds, derived from the operand letters once at start-up. */
enum rv_imm { IMM_NONE, IMM_I, IMM_S, IMM_B, IMM_J, IMM_U, IMM_SH6, IMM_SH5,
              IMM_CSR, IMM_SIMM5, IMM_UIMM5, IMM_ZIMM11, IMM_ZIMM10, IMM_UIMM6 };

typedef struct {
    const char *name;
    uint32_t match, mask;
    const char *ops;
    uint8_t cls;
    uint8_t ext;          /* rv_ext: RV_EXT_BASE for the base ISA */
} rv_insn_info;

extern const rv_insn_info rv_insns[RV_NOPS];

/* One instruction decoded once and kept in the region's decode cache.
 * rd is remapped to the sink register 32 when it is x0 and an integer
 * destination, so handlers never test for x0.  Every RV64GCV immediate fits
 * in 32 bits (U-type ones sign-extend from bit 31), which keeps a slot at 16
 * bytes: the cache index is one shift. */
typedef struct {
    uint16_t op;
    uint8_t rd, rs1, rs2, rs3;
    uint8_t len;          /* 2 (compressed) or 4 */
    uint8_t pad;
    uint32_t raw;         /* the 32-bit form (compressed ones expanded) */
    int32_t imm;
} rv_decoded;

_Static_assert(sizeof(rv_decoded) == 16, "a decode-cache slot should stay 16 bytes");

/* Decode a 32-bit instruction word; returns the op or RV_OP_UNDECODED. */
int rv_decode32(uint32_t raw, rv_decoded *d);
/* Expand a 16-bit compressed instruction to its 32-bit form; 0 if illegal. */
uint32_t rv_expand_rvc(uint16_t c);
/* Format one decoded instruction in llvm-objdump's spelling. */
void rv_format(const rv_decoded *d, uint64_t pc, char *buf, int size);
void rv_decoder_init(void);

#endif
