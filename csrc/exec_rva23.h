/* Semantics of the rows in insns_rva23.def.  Included inside the interpreter
 * loop (exec_loop.h defines the macros; W and ROL/ROR come from exec_int.h;
 * FRM, FFL, GET_x and PUT_x from exec_fp.h; the Zfa arithmetic is in fp.c). */

/* Zicond */
OP(czero_eqz) X(RD) = X(RS2) ? X(RS1) : 0; NEXT();
OP(czero_nez) X(RD) = X(RS2) ? 0 : X(RS1); NEXT();

/* Zbc: the carry-less product of rs1 and rs2 is 127 bits wide; clmul keeps
 * bits 63:0, clmulh bits 127:64, clmulr bits 126:63. */
#define CLMUL_PART(shift_expr) { uint64_t a = X(RS1), b = X(RS2), r = 0;          \
        for (int i = 0; i < 64; i++) if (b >> i & 1) r ^= (shift_expr);          \
        X(RD) = r; NEXT(); }
OP(clmul)  CLMUL_PART(a << i)
OP(clmulh) CLMUL_PART(i ? a >> (64 - i) : 0)
OP(clmulr) CLMUL_PART(a >> (63 - i))
#undef CLMUL_PART

/* Zbkb */
OP(pack)  X(RD) = (X(RS1) & 0xffffffffull) | X(RS2) << 32; NEXT();
OP(packh) X(RD) = (X(RS1) & 0xff) | (X(RS2) & 0xff) << 8; NEXT();
OP(packw) X(RD) = W((X(RS1) & 0xffff) | (X(RS2) & 0xffff) << 16); NEXT();
OP(brev8) { uint64_t v = X(RS1), r = 0;
            for (int i = 0; i < 8; i++) r |= (v >> i & 0x0101010101010101ull) << (7 - i);
            X(RD) = r; NEXT(); }

/* Zbkx: each nibble (byte) of rs2 indexes the nibbles (bytes) of rs1; out of range gives 0. */
OP(xperm4) { uint64_t a = X(RS1), b = X(RS2), r = 0;
             for (int i = 0; i < 64; i += 4) r |= (a >> 4 * (b >> i & 15) & 15) << i;
             X(RD) = r; NEXT(); }
OP(xperm8) { uint64_t a = X(RS1), b = X(RS2), r = 0;
             for (int i = 0; i < 64; i += 8) { uint64_t k = b >> i & 0xff; if (k < 8) r |= (a >> 8 * k & 0xff) << i; }
             X(RD) = r; NEXT(); }

/* Zicbom: one hart and no cache to keep coherent with anything, so the
 * management operations have nothing to do.  Zicboz: cbo.zero stores zeros
 * over the 64-byte block holding x[rs1] (the block size Zic64b fixes; one
 * page, so it faults whole or not at all); the timing model claims the
 * block's line without reading it (tm_zero_block). */
OP(cbo_inval) NEXT();
OP(cbo_clean) NEXT();
OP(cbo_flush) NEXT();
OP(cbo_zero) { uint64_t a = X(RS1) & ~63ull;
               for (int i = 0; i < 8; i++) STORE_UNTIMED(uint64_t, a + 8 * i, 0);
               TIME_ZERO_BLOCK(a);
               NEXT(); }

/* Zawrs: with one hart no store can come from elsewhere; waiting ends at once. */
OP(wrs_nto) NEXT();
OP(wrs_sto) NEXT();

/* Zimop: unless redefined by a later extension, a may-be-operation writes 0 to rd. */
#define MOP_R_H(n) OP(mop_r_##n) X(RD) = 0; NEXT();
#define MOP_RR_H(n) OP(mop_rr_##n) X(RD) = 0; NEXT();
MOP_R_H(0) MOP_R_H(1) MOP_R_H(2) MOP_R_H(3) MOP_R_H(4) MOP_R_H(5) MOP_R_H(6) MOP_R_H(7)
MOP_R_H(8) MOP_R_H(9) MOP_R_H(10) MOP_R_H(11) MOP_R_H(12) MOP_R_H(13) MOP_R_H(14) MOP_R_H(15)
MOP_R_H(16) MOP_R_H(17) MOP_R_H(18) MOP_R_H(19) MOP_R_H(20) MOP_R_H(21) MOP_R_H(22) MOP_R_H(23)
MOP_R_H(24) MOP_R_H(25) MOP_R_H(26) MOP_R_H(27) MOP_R_H(28) MOP_R_H(29) MOP_R_H(30) MOP_R_H(31)
MOP_RR_H(0) MOP_RR_H(1) MOP_RR_H(2) MOP_RR_H(3) MOP_RR_H(4) MOP_RR_H(5) MOP_RR_H(6) MOP_RR_H(7)
#undef MOP_R_H
#undef MOP_RR_H

/* Zfa; T is the exec_fp.h operand format (S, D, H), fmt the fp.h one. */
#define ZFA_FORMAT(s, T, fmt)                                                                 \
    OP(fli_##s) PUT_##T(fp_fli(fmt, RS1)); NEXT();                                            \
    OP(fminm_##s) PUT_##T(fp_minmax_nan(fmt, GET_##T(RS1), GET_##T(RS2), 0, FFL)); NEXT();    \
    OP(fmaxm_##s) PUT_##T(fp_minmax_nan(fmt, GET_##T(RS1), GET_##T(RS2), 1, FFL)); NEXT();    \
    OP(fround_##s) { unsigned rm = FRM(); PUT_##T(fp_round_integral(fmt, GET_##T(RS1), rm, 0, FFL)); NEXT(); } \
    OP(froundnx_##s) { unsigned rm = FRM(); PUT_##T(fp_round_integral(fmt, GET_##T(RS1), rm, 1, FFL)); NEXT(); } \
    OP(fleq_##s) X(RD) = (uint64_t)fp_compare_quiet(fmt, GET_##T(RS1), GET_##T(RS2), 1, FFL); NEXT(); \
    OP(fltq_##s) X(RD) = (uint64_t)fp_compare_quiet(fmt, GET_##T(RS1), GET_##T(RS2), 0, FFL); NEXT();
ZFA_FORMAT(s, S, FMT_S)
ZFA_FORMAT(d, D, FMT_D)
ZFA_FORMAT(h, H, FMT_H)
#undef ZFA_FORMAT
OP(fcvtmod_w_d) X(RD) = fp_cvtmod_w_d(GET_D(RS1), FFL); NEXT();

/* Zvkb, Zvbb (vbb.c) */
#include "vbb.h"
OP(vandn_vv) VDO(vec_bitmanip(m, d, VBB_ANDN, VF_VV));
OP(vandn_vx) VDO(vec_bitmanip(m, d, VBB_ANDN, VF_VX));
OP(vrol_vv)  VDO(vec_bitmanip(m, d, VBB_ROL, VF_VV));
OP(vrol_vx)  VDO(vec_bitmanip(m, d, VBB_ROL, VF_VX));
OP(vror_vv)  VDO(vec_bitmanip(m, d, VBB_ROR, VF_VV));
OP(vror_vx)  VDO(vec_bitmanip(m, d, VBB_ROR, VF_VX));
OP(vror_vi)  VDO(vec_bitmanip(m, d, VBB_ROR, VF_VI));
OP(vbrev8_v) VDO(vec_bitmanip(m, d, VBB_BREV8, VF_VV));
OP(vrev8_v)  VDO(vec_bitmanip(m, d, VBB_REV8, VF_VV));
OP(vbrev_v)  VDO(vec_bitmanip(m, d, VBB_BREV, VF_VV));
OP(vclz_v)   VDO(vec_bitmanip(m, d, VBB_CLZ, VF_VV));
OP(vctz_v)   VDO(vec_bitmanip(m, d, VBB_CTZ, VF_VV));
OP(vcpop_v)  VDO(vec_bitmanip(m, d, VBB_CPOP, VF_VV));
OP(vwsll_vv) VDO(vec_wsll(m, d, VF_VV));
OP(vwsll_vx) VDO(vec_wsll(m, d, VF_VX));
OP(vwsll_vi) VDO(vec_wsll(m, d, VF_VI));
