/* Semantics of the scalar integer instructions (RV64I, M, A, Zicsr,
 * Zifencei, Zba, Zbb, Zbs).  Included inside the interpreter loop: each
 * block ends by NEXT() or a jump; exec_loop.h defines the macros. */

/* RV64I */
OP(lui)   X(RD) = (uint64_t)IMM; NEXT();
OP(auipc) X(RD) = pc + (uint64_t)IMM; NEXT();
OP(jal)   { uint64_t t = pc + (uint64_t)IMM; X(RD) = pc + LEN; JUMP(t); }
OP(jalr)  { uint64_t t = (X(RS1) + (uint64_t)IMM) & ~1ull; X(RD) = pc + LEN; JUMP(t); }
OP(beq)   if (X(RS1) == X(RS2)) JUMP(pc + (uint64_t)IMM); NEXT();
OP(bne)   if (X(RS1) != X(RS2)) JUMP(pc + (uint64_t)IMM); NEXT();
OP(blt)   if (SX(RS1) < SX(RS2)) JUMP(pc + (uint64_t)IMM); NEXT();
OP(bge)   if (SX(RS1) >= SX(RS2)) JUMP(pc + (uint64_t)IMM); NEXT();
OP(bltu)  if (X(RS1) < X(RS2)) JUMP(pc + (uint64_t)IMM); NEXT();
OP(bgeu)  if (X(RS1) >= X(RS2)) JUMP(pc + (uint64_t)IMM); NEXT();
OP(lb)    X(RD) = (uint64_t)(int64_t)LOAD(int8_t, X(RS1) + IMM); NEXT();
OP(lh)    X(RD) = (uint64_t)(int64_t)LOAD(int16_t, X(RS1) + IMM); NEXT();
OP(lw)    X(RD) = (uint64_t)(int64_t)LOAD(int32_t, X(RS1) + IMM); NEXT();
OP(ld)    X(RD) = LOAD(uint64_t, X(RS1) + IMM); NEXT();
OP(lbu)   X(RD) = LOAD(uint8_t, X(RS1) + IMM); NEXT();
OP(lhu)   X(RD) = LOAD(uint16_t, X(RS1) + IMM); NEXT();
OP(lwu)   X(RD) = LOAD(uint32_t, X(RS1) + IMM); NEXT();
OP(sb)    STORE(uint8_t, X(RS1) + IMM, X(RS2)); NEXT();
OP(sh)    STORE(uint16_t, X(RS1) + IMM, X(RS2)); NEXT();
OP(sw)    STORE(uint32_t, X(RS1) + IMM, X(RS2)); NEXT();
OP(sd)    STORE(uint64_t, X(RS1) + IMM, X(RS2)); NEXT();
OP(addi)  X(RD) = X(RS1) + (uint64_t)IMM; NEXT();
OP(slti)  X(RD) = SX(RS1) < IMM; NEXT();
OP(sltiu) X(RD) = X(RS1) < (uint64_t)IMM; NEXT();
OP(xori)  X(RD) = X(RS1) ^ (uint64_t)IMM; NEXT();
OP(ori)   X(RD) = X(RS1) | (uint64_t)IMM; NEXT();
OP(andi)  X(RD) = X(RS1) & (uint64_t)IMM; NEXT();
OP(slli)  X(RD) = X(RS1) << IMM; NEXT();
OP(srli)  X(RD) = X(RS1) >> IMM; NEXT();
OP(srai)  X(RD) = (uint64_t)(SX(RS1) >> IMM); NEXT();
OP(add)   X(RD) = X(RS1) + X(RS2); NEXT();
OP(sub)   X(RD) = X(RS1) - X(RS2); NEXT();
OP(sll)   X(RD) = X(RS1) << (X(RS2) & 63); NEXT();
OP(slt)   X(RD) = SX(RS1) < SX(RS2); NEXT();
OP(sltu)  X(RD) = X(RS1) < X(RS2); NEXT();
OP(xor)   X(RD) = X(RS1) ^ X(RS2); NEXT();
OP(srl)   X(RD) = X(RS1) >> (X(RS2) & 63); NEXT();
OP(sra)   X(RD) = (uint64_t)(SX(RS1) >> (X(RS2) & 63)); NEXT();
OP(or)    X(RD) = X(RS1) | X(RS2); NEXT();
OP(and)   X(RD) = X(RS1) & X(RS2); NEXT();
#define W(v) ((uint64_t)(int64_t)(int32_t)(uint32_t)(v))
OP(addiw) X(RD) = W(X(RS1) + (uint64_t)IMM); NEXT();
OP(slliw) X(RD) = W((uint32_t)X(RS1) << IMM); NEXT();
OP(srliw) X(RD) = W((uint32_t)X(RS1) >> IMM); NEXT();
OP(sraiw) X(RD) = W((int32_t)X(RS1) >> IMM); NEXT();
OP(addw)  X(RD) = W(X(RS1) + X(RS2)); NEXT();
OP(subw)  X(RD) = W(X(RS1) - X(RS2)); NEXT();
OP(sllw)  X(RD) = W((uint32_t)X(RS1) << (X(RS2) & 31)); NEXT();
OP(srlw)  X(RD) = W((uint32_t)X(RS1) >> (X(RS2) & 31)); NEXT();
OP(sraw)  X(RD) = W((int32_t)X(RS1) >> (X(RS2) & 31)); NEXT();
/* One hart, and stores invalidate decoded instructions: fences have nothing to order. */
OP(fence)   NEXT();
OP(fence_i) NEXT();
OP(ecall)   STOP(RV_STOP_ECALL);
OP(ebreak)  STOP_UNRETIRED(RV_STOP_EBREAK);

/* M: division by zero and overflow give the spec's results, never a host trap. */
OP(mul)    X(RD) = X(RS1) * X(RS2); NEXT();
OP(mulh)   X(RD) = (uint64_t)(((__int128)SX(RS1) * (__int128)SX(RS2)) >> 64); NEXT();
OP(mulhsu) X(RD) = (uint64_t)(((__int128)SX(RS1) * (__int128)(unsigned __int128)X(RS2)) >> 64); NEXT();
OP(mulhu)  X(RD) = (uint64_t)(((unsigned __int128)X(RS1) * X(RS2)) >> 64); NEXT();
OP(div)    { int64_t a = SX(RS1), b = SX(RS2);
             X(RD) = b == 0 ? ~0ull : (a == INT64_MIN && b == -1) ? (uint64_t)a : (uint64_t)(a / b); NEXT(); }
OP(divu)   { uint64_t a = X(RS1), b = X(RS2); X(RD) = b == 0 ? ~0ull : a / b; NEXT(); }
OP(rem)    { int64_t a = SX(RS1), b = SX(RS2);
             X(RD) = b == 0 ? (uint64_t)a : (a == INT64_MIN && b == -1) ? 0 : (uint64_t)(a % b); NEXT(); }
OP(remu)   { uint64_t a = X(RS1), b = X(RS2); X(RD) = b == 0 ? a : a % b; NEXT(); }
OP(mulw)   X(RD) = W(X(RS1) * X(RS2)); NEXT();
OP(divw)   { int32_t a = (int32_t)X(RS1), b = (int32_t)X(RS2);
             X(RD) = W(b == 0 ? -1 : (a == INT32_MIN && b == -1) ? a : a / b); NEXT(); }
OP(divuw)  { uint32_t a = (uint32_t)X(RS1), b = (uint32_t)X(RS2); X(RD) = W(b == 0 ? ~0u : a / b); NEXT(); }
OP(remw)   { int32_t a = (int32_t)X(RS1), b = (int32_t)X(RS2);
             X(RD) = W(b == 0 ? a : (a == INT32_MIN && b == -1) ? 0 : a % b); NEXT(); }
OP(remuw)  { uint32_t a = (uint32_t)X(RS1), b = (uint32_t)X(RS2); X(RD) = W(b == 0 ? a : a % b); NEXT(); }

/* A: one hart, so an AMO is a load and a store; the address must be aligned. */
#define AMO_ADDR(size) ({ uint64_t a_ = X(RS1);                                   \
        if (a_ & ((size) - 1)) { m->stop.addr = a_; STOP_UNRETIRED(RV_STOP_MISALIGNED); } a_; })
#define AMO(T, expr) { uint64_t a = AMO_ADDR(sizeof(T)); T old = LOAD(T, a), src = (T)X(RS2); \
        (void)src; STORE(T, a, (expr)); X(RD) = (uint64_t)(int64_t)old; NEXT(); }
OP(lr_w)  { uint64_t a = AMO_ADDR(4); X(RD) = (uint64_t)(int64_t)LOAD(int32_t, a); m->reservation = a; NEXT(); }
OP(lr_d)  { uint64_t a = AMO_ADDR(8); X(RD) = LOAD(uint64_t, a); m->reservation = a; NEXT(); }
OP(sc_w)  { uint64_t a = AMO_ADDR(4); int ok = m->reservation == a; m->reservation = ~0ull;
            if (ok) STORE(uint32_t, a, X(RS2));
            X(RD) = !ok; NEXT(); }
OP(sc_d)  { uint64_t a = AMO_ADDR(8); int ok = m->reservation == a; m->reservation = ~0ull;
            if (ok) STORE(uint64_t, a, X(RS2));
            X(RD) = !ok; NEXT(); }
OP(amoswap_w) AMO(int32_t, src)
OP(amoadd_w)  AMO(int32_t, (int32_t)((uint32_t)old + (uint32_t)src))
OP(amoxor_w)  AMO(int32_t, old ^ src)
OP(amoand_w)  AMO(int32_t, old & src)
OP(amoor_w)   AMO(int32_t, old | src)
OP(amomin_w)  AMO(int32_t, old < src ? old : src)
OP(amomax_w)  AMO(int32_t, old > src ? old : src)
OP(amominu_w) AMO(int32_t, (uint32_t)old < (uint32_t)src ? old : src)
OP(amomaxu_w) AMO(int32_t, (uint32_t)old > (uint32_t)src ? old : src)
OP(amoswap_d) AMO(int64_t, src)
OP(amoadd_d)  AMO(int64_t, (int64_t)((uint64_t)old + (uint64_t)src))
OP(amoxor_d)  AMO(int64_t, old ^ src)
OP(amoand_d)  AMO(int64_t, old & src)
OP(amoor_d)   AMO(int64_t, old | src)
OP(amomin_d)  AMO(int64_t, old < src ? old : src)
OP(amomax_d)  AMO(int64_t, old > src ? old : src)
OP(amominu_d) AMO(int64_t, (uint64_t)old < (uint64_t)src ? old : src)
OP(amomaxu_d) AMO(int64_t, (uint64_t)old > (uint64_t)src ? old : src)

/* Zicsr: csrrw with rd=x0 does not read; csrrs/csrrc with rs1=x0 (or a zero
 * immediate) do not write, so reading a read-only CSR that way is legal.
 * Counters read as they were before this instruction ("if a CSR access
 * instruction reads a CSR, it reads the value prior to the execution of the
 * instruction"); INSTRET_NOW() already counts this one. */
#define CSR_OP(do_read, do_write, newval) {                                       \
        uint64_t old_ = 0; unsigned c_ = (unsigned)IMM;                            \
        if (csr_read(m, c_, INSTRET_NOW() - 1, &old_) && ((do_read) || !(do_write))) \
            goto illegal;                                                          \
        if ((do_write) && csr_write(m, c_, (newval))) goto illegal;               \
        X(RD) = old_; NEXT(); }
OP(csrrw)  CSR_OP(RD != 32, 1, X(RS1))
OP(csrrs)  CSR_OP(1, RS1 != 0, old_ | X(RS1))
OP(csrrc)  CSR_OP(1, RS1 != 0, old_ & ~X(RS1))
OP(csrrwi) CSR_OP(RD != 32, 1, (uint64_t)RS1)
OP(csrrsi) CSR_OP(1, RS1 != 0, old_ | RS1)
OP(csrrci) CSR_OP(1, RS1 != 0, old_ & ~(uint64_t)RS1)

/* Zba */
OP(sh1add)    X(RD) = (X(RS1) << 1) + X(RS2); NEXT();
OP(sh2add)    X(RD) = (X(RS1) << 2) + X(RS2); NEXT();
OP(sh3add)    X(RD) = (X(RS1) << 3) + X(RS2); NEXT();
OP(add_uw)    X(RD) = (uint64_t)(uint32_t)X(RS1) + X(RS2); NEXT();
OP(sh1add_uw) X(RD) = ((uint64_t)(uint32_t)X(RS1) << 1) + X(RS2); NEXT();
OP(sh2add_uw) X(RD) = ((uint64_t)(uint32_t)X(RS1) << 2) + X(RS2); NEXT();
OP(sh3add_uw) X(RD) = ((uint64_t)(uint32_t)X(RS1) << 3) + X(RS2); NEXT();
OP(slli_uw)   X(RD) = (uint64_t)(uint32_t)X(RS1) << IMM; NEXT();

/* Zbb */
OP(andn)  X(RD) = X(RS1) & ~X(RS2); NEXT();
OP(orn)   X(RD) = X(RS1) | ~X(RS2); NEXT();
OP(xnor)  X(RD) = ~(X(RS1) ^ X(RS2)); NEXT();
OP(clz)   X(RD) = X(RS1) ? (uint64_t)__builtin_clzll(X(RS1)) : 64; NEXT();
OP(ctz)   X(RD) = X(RS1) ? (uint64_t)__builtin_ctzll(X(RS1)) : 64; NEXT();
OP(cpop)  X(RD) = (uint64_t)__builtin_popcountll(X(RS1)); NEXT();
OP(clzw)  X(RD) = (uint32_t)X(RS1) ? (uint64_t)__builtin_clz((uint32_t)X(RS1)) : 32; NEXT();
OP(ctzw)  X(RD) = (uint32_t)X(RS1) ? (uint64_t)__builtin_ctz((uint32_t)X(RS1)) : 32; NEXT();
OP(cpopw) X(RD) = (uint64_t)__builtin_popcount((uint32_t)X(RS1)); NEXT();
OP(max)   X(RD) = SX(RS1) > SX(RS2) ? X(RS1) : X(RS2); NEXT();
OP(maxu)  X(RD) = X(RS1) > X(RS2) ? X(RS1) : X(RS2); NEXT();
OP(min)   X(RD) = SX(RS1) < SX(RS2) ? X(RS1) : X(RS2); NEXT();
OP(minu)  X(RD) = X(RS1) < X(RS2) ? X(RS1) : X(RS2); NEXT();
OP(sext_b) X(RD) = (uint64_t)(int64_t)(int8_t)X(RS1); NEXT();
OP(sext_h) X(RD) = (uint64_t)(int64_t)(int16_t)X(RS1); NEXT();
OP(zext_h) X(RD) = (uint16_t)X(RS1); NEXT();
#define ROL64(v, n) (((v) << ((n) & 63)) | ((v) >> ((64 - ((n) & 63)) & 63)))
#define ROR64(v, n) (((v) >> ((n) & 63)) | ((v) << ((64 - ((n) & 63)) & 63)))
#define ROL32(v, n) ((uint32_t)(((v) << ((n) & 31)) | ((v) >> ((32 - ((n) & 31)) & 31))))
#define ROR32(v, n) ((uint32_t)(((v) >> ((n) & 31)) | ((v) << ((32 - ((n) & 31)) & 31))))
OP(rol)   X(RD) = ROL64(X(RS1), X(RS2)); NEXT();
OP(ror)   X(RD) = ROR64(X(RS1), X(RS2)); NEXT();
OP(rori)  X(RD) = ROR64(X(RS1), (uint64_t)IMM); NEXT();
OP(rolw)  X(RD) = W(ROL32((uint32_t)X(RS1), X(RS2))); NEXT();
OP(rorw)  X(RD) = W(ROR32((uint32_t)X(RS1), X(RS2))); NEXT();
OP(roriw) X(RD) = W(ROR32((uint32_t)X(RS1), (uint64_t)IMM)); NEXT();
OP(orc_b) { uint64_t v = X(RS1), r = 0;
            for (int i = 0; i < 64; i += 8) if ((v >> i) & 0xff) r |= 0xffull << i;
            X(RD) = r; NEXT(); }
OP(rev8)  X(RD) = __builtin_bswap64(X(RS1)); NEXT();

/* Zbs */
OP(bclr)  X(RD) = X(RS1) & ~(1ull << (X(RS2) & 63)); NEXT();
OP(bclri) X(RD) = X(RS1) & ~(1ull << IMM); NEXT();
OP(bext)  X(RD) = (X(RS1) >> (X(RS2) & 63)) & 1; NEXT();
OP(bexti) X(RD) = (X(RS1) >> IMM) & 1; NEXT();
OP(binv)  X(RD) = X(RS1) ^ (1ull << (X(RS2) & 63)); NEXT();
OP(binvi) X(RD) = X(RS1) ^ (1ull << IMM); NEXT();
OP(bset)  X(RD) = X(RS1) | (1ull << (X(RS2) & 63)); NEXT();
OP(bseti) X(RD) = X(RS1) | (1ull << IMM); NEXT();
