/* Semantics of F, D, Zfh, Zfhmin and Zfbfmin.  Included inside the interpreter loop
 * (exec_loop.h defines the macros); the arithmetic itself is in fp.h.  Per format S (single), D
 * (double), H (half): GET_x reads an operand (narrow ones NaN-unboxed),
 * PUT_x writes rd (narrow ones NaN-boxed), SIGN_x is the sign bit. */

/* The rounding mode: the instruction's rm field, or frm when it says dyn (7).
 * rm 5 and 6, and dyn with frm above 4, are reserved: illegal instruction. */
#define FRM() ({ unsigned rm_ = (d->raw >> 12) & 7;                    \
        if (rm_ == FP_DYN) rm_ = m->frm;                               \
        if (unlikely(rm_ > FP_RMM)) goto illegal;                      \
        rm_; })
#define FFL (&m->fflags)
#define GET_S(r) fp_unbox32(m->f[r])
#define GET_D(r) (m->f[r])
#define GET_H(r) fp_unbox16(m->f[r])
#define PUT_S(v) (m->f[RD] = fp_box32((uint32_t)(v)))
#define PUT_D(v) (m->f[RD] = (uint64_t)(v))
#define PUT_H(v) (m->f[RD] = fp_box16((uint16_t)(v)))
#define SIGN_S 0x80000000u
#define SIGN_D (1ull << 63)
#define SIGN_H ((uint16_t)0x8000)

/* Loads and stores move the bits untouched (stores take the low bits, boxed or not). */
OP(flw) { uint32_t v = LOAD(uint32_t, X(RS1) + IMM); PUT_S(v); NEXT(); }
OP(fld) { uint64_t v = LOAD(uint64_t, X(RS1) + IMM); PUT_D(v); NEXT(); }
OP(flh) { uint16_t v = LOAD(uint16_t, X(RS1) + IMM); PUT_H(v); NEXT(); }
OP(fsw) STORE(uint32_t, X(RS1) + IMM, m->f[RS2]); NEXT();
OP(fsd) STORE(uint64_t, X(RS1) + IMM, m->f[RS2]); NEXT();
OP(fsh) STORE(uint16_t, X(RS1) + IMM, m->f[RS2]); NEXT();

#define FBIN(id, T, fn) OP(id) { unsigned rm = FRM(); PUT_##T(fn(GET_##T(RS1), GET_##T(RS2), rm, FFL)); NEXT(); }
#define FUN(id, T, fn)  OP(id) { unsigned rm = FRM(); PUT_##T(fn(GET_##T(RS1), rm, FFL)); NEXT(); }
/* fmsub = a*b - c, fnmsub = -(a*b) + c, fnmadd = -(a*b) - c: negating an
 * operand first keeps the single rounding and IEEE's signs of zero. */
#define FFMA(id, T, fn, neg_ab, neg_c) OP(id) { unsigned rm = FRM();                      \
        PUT_##T(fn(GET_##T(RS1) ^ ((neg_ab) ? SIGN_##T : 0), GET_##T(RS2),                   \
                   GET_##T(RS3) ^ ((neg_c) ? SIGN_##T : 0), rm, FFL)); NEXT(); }
#define FSGNJ(id, T, expr) OP(id) { __typeof__(GET_##T(0)) a = GET_##T(RS1), b = GET_##T(RS2); \
        PUT_##T((a & ~SIGN_##T) | ((expr) & SIGN_##T)); NEXT(); }
#define FMINMAX(id, T, fn) OP(id) PUT_##T(fn(GET_##T(RS1), GET_##T(RS2), FFL)); NEXT();
#define FCMP(id, T, fn)    OP(id) X(RD) = (uint64_t)fn(GET_##T(RS1), GET_##T(RS2), FFL); NEXT();
#define FTOI(id, T, fn, kind) OP(id) { unsigned rm = FRM(); X(RD) = fn(GET_##T(RS1), kind, rm, FFL); NEXT(); }
#define ITOF(id, T, fmt, kind) OP(id) { unsigned rm = FRM(); PUT_##T(fp_from_int(fmt, X(RS1), kind, rm, FFL)); NEXT(); }
#define FCVT(id, TO, FROM, to, from) OP(id) { unsigned rm = FRM();                           \
        PUT_##TO(fp_convert(to, from, GET_##FROM(RS1), rm, FFL)); NEXT(); }

/* One format's instructions; P is the helper prefix (f16, f32, f64). */
#define FP_FORMAT(s, T, P, fmt)                                                    \
    FBIN(fadd_##s, T, P##_add) FBIN(fsub_##s, T, P##_sub)                          \
    FBIN(fmul_##s, T, P##_mul) FBIN(fdiv_##s, T, P##_div)                          \
    FUN(fsqrt_##s, T, P##_sqrt)                                                    \
    FFMA(fmadd_##s, T, P##_fma, 0, 0) FFMA(fmsub_##s, T, P##_fma, 0, 1)            \
    FFMA(fnmsub_##s, T, P##_fma, 1, 0) FFMA(fnmadd_##s, T, P##_fma, 1, 1)          \
    FSGNJ(fsgnj_##s, T, b) FSGNJ(fsgnjn_##s, T, ~b) FSGNJ(fsgnjx_##s, T, a ^ b)    \
    FMINMAX(fmin_##s, T, P##_min) FMINMAX(fmax_##s, T, P##_max)                    \
    FCMP(feq_##s, T, P##_eq) FCMP(flt_##s, T, P##_lt) FCMP(fle_##s, T, P##_le)     \
    OP(fclass_##s) X(RD) = P##_class(GET_##T(RS1)); NEXT();                        \
    FTOI(fcvt_w_##s, T, P##_to_int, FP_I32) FTOI(fcvt_wu_##s, T, P##_to_int, FP_U32) \
    FTOI(fcvt_l_##s, T, P##_to_int, FP_I64) FTOI(fcvt_lu_##s, T, P##_to_int, FP_U64) \
    ITOF(fcvt_##s##_w, T, fmt, FP_I32) ITOF(fcvt_##s##_wu, T, fmt, FP_U32)         \
    ITOF(fcvt_##s##_l, T, fmt, FP_I64) ITOF(fcvt_##s##_lu, T, fmt, FP_U64)

FP_FORMAT(s, S, f32, FMT_S)
FP_FORMAT(d, D, f64, FMT_D)
FP_FORMAT(h, H, f16, FMT_H)

/* Moves to integer registers take the low bits and sign-extend; moves in box. */
OP(fmv_x_w) X(RD) = (uint64_t)(int64_t)(int32_t)(uint32_t)m->f[RS1]; NEXT();
OP(fmv_x_d) X(RD) = m->f[RS1]; NEXT();
OP(fmv_x_h) X(RD) = (uint64_t)(int64_t)(int16_t)(uint16_t)m->f[RS1]; NEXT();
OP(fmv_w_x) PUT_S(X(RS1)); NEXT();
OP(fmv_d_x) PUT_D(X(RS1)); NEXT();
OP(fmv_h_x) PUT_H(X(RS1)); NEXT();

FCVT(fcvt_s_d, S, D, FMT_S, FMT_D) FCVT(fcvt_s_h, S, H, FMT_S, FMT_H)
FCVT(fcvt_d_s, D, S, FMT_D, FMT_S) FCVT(fcvt_d_h, D, H, FMT_D, FMT_H)
FCVT(fcvt_h_s, H, S, FMT_H, FMT_S) FCVT(fcvt_h_d, H, D, FMT_H, FMT_D)

/* Zfbfmin: bfloat16 lives NaN-boxed in the low 16 bits, like a half. */
OP(fcvt_bf16_s) { unsigned rm = FRM(); PUT_H(fp_convert(FMT_B, FMT_S, GET_S(RS1), rm, FFL)); NEXT(); }
OP(fcvt_s_bf16) { unsigned rm = FRM(); PUT_S(fp_convert(FMT_S, FMT_B, fp_unboxb(m->f[RS1]), rm, FFL)); NEXT(); }

#undef FBIN
#undef FUN
#undef FFMA
#undef FSGNJ
#undef FMINMAX
#undef FCMP
#undef FTOI
#undef ITOF
#undef FCVT
#undef FP_FORMAT
