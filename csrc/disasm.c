/* The disassembler: prints a decoded instruction from its table row's operand
 * letters, in llvm-objdump's spelling. */
#include <stdio.h>
#include <string.h>
#include "insns.h"

static const char *const xname[33] = {
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
    "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6", "zero"};
static const char *const fname[32] = {
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
    "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11"};

/* A vtype immediate as llvm-objdump prints it ("e32, m4, ta, ma"), or the
 * number when it encodes a reserved setting. */
static void format_vtype(uint64_t vt, char *out, size_t size) {
    static const char *const lmul[8] = {"m1", "m2", "m4", "m8", NULL, "mf8", "mf4", "mf2"};
    unsigned vsew = (vt >> 3) & 7;
    if (vt >> 8 || vsew > 3 || !lmul[vt & 7]) { snprintf(out, size, "%llu", (unsigned long long)vt); return; }
    snprintf(out, size, "e%u, %s, %s, %s", 8u << vsew, lmul[vt & 7], (vt >> 6) & 1 ? "ta" : "tu",
             (vt >> 7) & 1 ? "ma" : "mu");
}

void rv_format(const rv_decoded *d, uint64_t pc, char *buf, int size) {
    const rv_insn_info *in = &rv_insns[d->op];
    int n = snprintf(buf, (size_t)size, "%s", in->name);
    const char *sep = "\t";
    for (const char *p = in->ops; *p && n < size; p++) {
        char tmp[48];
        tmp[0] = 0;
        switch (*p) {
        case ',': sep = ", "; continue;
        case '(': snprintf(tmp, sizeof tmp, "("); break;
        case ')': snprintf(tmp, sizeof tmp, ")"); break;
        case 'd': snprintf(tmp, sizeof tmp, "%s", xname[d->rd]); break;
        case 's': snprintf(tmp, sizeof tmp, "%s", xname[d->rs1]); break;
        case 't': snprintf(tmp, sizeof tmp, "%s", xname[d->rs2]); break;
        case 'D': snprintf(tmp, sizeof tmp, "%s", fname[d->rd & 31]); break;
        case 'S': snprintf(tmp, sizeof tmp, "%s", fname[d->rs1]); break;
        case 'T': snprintf(tmp, sizeof tmp, "%s", fname[d->rs2]); break;
        case 'R': snprintf(tmp, sizeof tmp, "%s", fname[d->rs3]); break;
        case 'b': case 'j': snprintf(tmp, sizeof tmp, "0x%llx", (unsigned long long)(pc + (uint64_t)d->imm)); break;
        case 'u': snprintf(tmp, sizeof tmp, "0x%llx", (unsigned long long)(((uint64_t)d->imm >> 12) & 0xfffff)); break;
        case 'V': snprintf(tmp, sizeof tmp, "v%d", d->rd); break;
        case 'U': snprintf(tmp, sizeof tmp, "v%d", d->rs1); break;
        case 'W': snprintf(tmp, sizeof tmp, "v%d", d->rs2); break;
        case '0': snprintf(tmp, sizeof tmp, "v0"); break;
        case 'M':   /* vm=0: masked by v0; printed right after the last operand */
            n += snprintf(buf + n, (size_t)(size - n), "%s", (d->raw >> 25) & 1 ? "" : ", v0.t");
            continue;
        case 'Z': case 'Y': format_vtype((uint64_t)d->imm, tmp, sizeof tmp); break;
        case 'c': case 'z': case '>': case '<': case 'i': case 'o': case 'q': case 'k': case 'K':
            snprintf(tmp, sizeof tmp, "%lld", (long long)(*p == 'z' ? d->rs1 : d->imm)); break;
        default: break;
        }
        n += snprintf(buf + n, (size_t)(size - n), "%s%s", *p == ')' ? "" : sep, tmp);
        sep = "";
    }
}
