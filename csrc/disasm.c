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
        case 'c': case 'z': case '>': case '<': case 'i': case 'o': case 'q': case 'k': case 'K':
            snprintf(tmp, sizeof tmp, "%lld", (long long)(*p == 'z' ? d->rs1 : d->imm)); break;
        default: break;
        }
        n += snprintf(buf + n, (size_t)(size - n), "%s%s", *p == ')' ? "" : sep, tmp);
        sep = "";
    }
}
