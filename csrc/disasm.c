/* The disassembler, in the spelling of llvm-objdump-19 / llvm-mc-19 for
 * riscv64 with +m,+a,+f,+d,+c,+zba,+zbb,+zbs,+zfh,+v, and of llvm-mc-22 with
 * the extensions' features on for the extension rows (tests/test_disasm.py
 * holds it to llvm-mc on random encodings of every table row).
 *
 * Everything is driven by data: a row prints as its mnemonic and its operand
 * letters (insns.h); the alias table below rewrites a row into the alias LLVM
 * prints by default (li, mv, ret, csrr, vnot.v, ...) with a condition on the
 * row's fields; the RVC hint table spells the compressed HINTs LLVM keeps in
 * their c. form.  Other compressed words print as their 32-bit expansion, as
 * LLVM prints them.  Branch and jump targets print as the signed offset from
 * the instruction, as llvm-mc does for a lone word: the text then does not
 * depend on where the word sits, assembles back to the same word, and a
 * fault's message carries the pc beside it anyway. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "insns.h"
#include "api.h"

static const char *const xname[32] = {
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
    "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"};
static const char *const fname[32] = {
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
    "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11"};
static const char *const rm_name[8] = {"rne", "rtz", "rdn", "rup", "rmm", NULL, NULL, "dyn"};
/* Zfa's fli constants by index, as LLVM prints them for every format (entry 29
 * of fli.h loads +inf, yet prints as 65536.0). */
static const char *const fli_name[32] = {
    "-1.0", "min", "1.52587890625e-05", "3.0517578125e-05", "0.00390625", "0.0078125", "0.0625", "0.125",
    "0.25", "0.3125", "0.375", "0.4375", "0.5", "0.625", "0.75", "0.875", "1.0", "1.25", "1.5", "1.75",
    "2.0", "2.5", "3.0", "4.0", "8.0", "16.0", "128.0", "256.0", "32768.0", "65536.0", "inf", "nan"};

/* ---- CSR names: the ones LLVM 19 prints by name on RV64; others print as a number ---- */

static const struct { uint16_t num; const char *name; } csr_names[] = {
    {0x001, "fflags"}, {0x002, "frm"}, {0x003, "fcsr"}, {0x008, "vstart"}, {0x009, "vxsat"},
    {0x00a, "vxrm"}, {0x00f, "vcsr"}, {0x011, "ssp"}, {0x015, "seed"}, {0x017, "jvt"},
    {0x100, "sstatus"}, {0x104, "sie"}, {0x105, "stvec"}, {0x106, "scounteren"}, {0x10a, "senvcfg"},
    {0x10c, "sstateen0"}, {0x10d, "sstateen1"}, {0x10e, "sstateen2"}, {0x10f, "sstateen3"},
    {0x120, "scountinhibit"}, {0x140, "sscratch"}, {0x141, "sepc"}, {0x142, "scause"}, {0x143, "stval"},
    {0x144, "sip"}, {0x14d, "stimecmp"}, {0x150, "siselect"}, {0x151, "sireg"}, {0x152, "sireg2"},
    {0x153, "sireg3"}, {0x155, "sireg4"}, {0x156, "sireg5"}, {0x157, "sireg6"}, {0x15c, "stopei"},
    {0x180, "satp"}, {0x181, "srmcfg"}, {0x200, "vsstatus"}, {0x204, "vsie"}, {0x205, "vstvec"},
    {0x240, "vsscratch"}, {0x241, "vsepc"}, {0x242, "vscause"}, {0x243, "vstval"}, {0x244, "vsip"},
    {0x24d, "vstimecmp"}, {0x250, "vsiselect"}, {0x251, "vsireg"}, {0x252, "vsireg2"}, {0x253, "vsireg3"},
    {0x255, "vsireg4"}, {0x256, "vsireg5"}, {0x257, "vsireg6"}, {0x25c, "vstopei"}, {0x280, "vsatp"},
    {0x300, "mstatus"}, {0x301, "misa"}, {0x302, "medeleg"}, {0x303, "mideleg"}, {0x304, "mie"},
    {0x305, "mtvec"}, {0x306, "mcounteren"}, {0x308, "mvien"}, {0x309, "mvip"}, {0x30a, "menvcfg"},
    {0x30c, "mstateen0"}, {0x30d, "mstateen1"}, {0x30e, "mstateen2"}, {0x30f, "mstateen3"},
    {0x320, "mcountinhibit"}, {0x340, "mscratch"}, {0x341, "mepc"}, {0x342, "mcause"}, {0x343, "mtval"},
    {0x344, "mip"}, {0x34a, "mtinst"}, {0x34b, "mtval2"}, {0x350, "miselect"}, {0x351, "mireg"},
    {0x352, "mireg2"}, {0x353, "mireg3"}, {0x355, "mireg4"}, {0x356, "mireg5"}, {0x357, "mireg6"},
    {0x35c, "mtopei"}, {0x5a8, "scontext"}, {0x600, "hstatus"}, {0x602, "hedeleg"}, {0x603, "hideleg"},
    {0x604, "hie"}, {0x605, "htimedelta"}, {0x606, "hcounteren"}, {0x607, "hgeie"}, {0x608, "hvien"},
    {0x609, "hvictl"}, {0x60a, "henvcfg"}, {0x60c, "hstateen0"}, {0x60d, "hstateen1"},
    {0x60e, "hstateen2"}, {0x60f, "hstateen3"}, {0x643, "htval"}, {0x644, "hip"}, {0x645, "hvip"},
    {0x646, "hviprio1"}, {0x647, "hviprio2"}, {0x64a, "htinst"}, {0x680, "hgatp"}, {0x6a8, "hcontext"},
    {0x740, "mnscratch"}, {0x741, "mnepc"}, {0x742, "mncause"}, {0x744, "mnstatus"}, {0x747, "mseccfg"},
    {0x7a0, "tselect"}, {0x7a1, "tdata1"}, {0x7a2, "tdata2"}, {0x7a3, "tdata3"}, {0x7a8, "mcontext"},
    {0x7b0, "dcsr"}, {0x7b1, "dpc"}, {0x7b2, "dscratch0"}, {0x7b3, "dscratch1"}, {0xb00, "mcycle"},
    {0xb02, "minstret"}, {0xc00, "cycle"}, {0xc01, "time"}, {0xc02, "instret"}, {0xc20, "vl"},
    {0xc21, "vtype"}, {0xc22, "vlenb"}, {0xda0, "scountovf"}, {0xdb0, "stopi"}, {0xe12, "hgeip"},
    {0xeb0, "vstopi"}, {0xf11, "mvendorid"}, {0xf12, "marchid"}, {0xf13, "mimpid"}, {0xf14, "mhartid"},
    {0xf15, "mconfigptr"}, {0xfb0, "mtopi"},
};
/* Numbered families: <prefix><n> is CSR base + n for n in first..last by step
 * (pmpcfg has only even numbers on RV64). */
static const struct { uint16_t base; uint8_t first, last, step; const char *prefix; } csr_series[] = {
    {0x320, 3, 31, 1, "mhpmevent"}, {0x3a0, 0, 14, 2, "pmpcfg"}, {0x3b0, 0, 63, 1, "pmpaddr"},
    {0xb00, 3, 31, 1, "mhpmcounter"}, {0xc00, 3, 31, 1, "hpmcounter"},
};

int rv_csr_name(unsigned csr, char *buf, int size) {
    buf[0] = 0;
    for (size_t i = 0; i < sizeof csr_names / sizeof csr_names[0]; i++)
        if (csr_names[i].num == csr) { snprintf(buf, (size_t)size, "%s", csr_names[i].name); return 1; }
    for (size_t i = 0; i < sizeof csr_series / sizeof csr_series[0]; i++) {
        unsigned n = csr - csr_series[i].base;
        if (csr >= csr_series[i].base && n >= csr_series[i].first && n <= csr_series[i].last &&
            (n - csr_series[i].first) % csr_series[i].step == 0) {
            snprintf(buf, (size_t)size, "%s%u", csr_series[i].prefix, n);
            return 1;
        }
    }
    return 0;
}

/* ---- aliases: {row, alias, its operand letters, condition on the row's fields} ----
 * The condition is a comma list of LETTER=NUMBER or LETTER=LETTER over the
 * field letters of insns.h plus three of the fence: P (predecessor set),
 * Q (successor set), F (fm).  The first alias of a row whose condition holds
 * is printed.  A row name the instruction table lacks matches nothing
 * (alias_row 0), so a row removed from the table cannot break this list. */
static const struct { const char *row, *name, *ops, *cond; } aliases[] = {
    {"addi", "nop", "", "d=0,s=0,i=0"},
    {"addi", "li", "d,i", "s=0"},
    {"addi", "mv", "d,s", "i=0"},
    {"addiw", "sext.w", "d,s", "i=0"},
    {"xori", "not", "d,s", "i=-1"},
    {"sub", "neg", "d,t", "s=0"},
    {"subw", "negw", "d,t", "s=0"},
    {"sltiu", "seqz", "d,s", "i=1"},
    {"sltu", "snez", "d,t", "s=0"},
    {"slt", "sltz", "d,s", "t=0"},
    {"slt", "sgtz", "d,t", "s=0"},
    {"beq", "beqz", "s,b", "t=0"},
    {"bne", "bnez", "s,b", "t=0"},
    {"blt", "bltz", "s,b", "t=0"},
    {"blt", "bgtz", "t,b", "s=0"},
    {"bge", "blez", "t,b", "s=0"},
    {"bge", "bgez", "s,b", "t=0"},
    {"jal", "j", "j", "d=0"},
    {"jal", "jal", "j", "d=1"},
    {"jalr", "ret", "", "d=0,s=1,o=0"},
    {"jalr", "jr", "s", "d=0,o=0"},
    {"jalr", "jr", "o(s)", "d=0"},
    {"jalr", "jalr", "s", "d=1,o=0"},
    {"jalr", "jalr", "o(s)", "d=1"},
    {"jalr", "jalr", "d,s", "o=0"},
    {"fence", "fence.tso", "", "F=8,P=3,Q=3"},
    {"fence", "pause", "", "F=0,P=1,Q=0"},               /* Zihintpause */
    {"fence", "fence", "", "P=15,Q=15"},
    {"fence", "fence", "P,Q", ""},
    {"csrrw", "unimp", "", "d=0,c=0xc00,s=0"},
    {"csrrs", "frcsr", "d", "c=3,s=0"},
    {"csrrw", "fscsr", "s", "d=0,c=3"},
    {"csrrw", "fscsr", "d,s", "c=3"},
    {"csrrs", "frrm", "d", "c=2,s=0"},
    {"csrrw", "fsrm", "s", "d=0,c=2"},
    {"csrrw", "fsrm", "d,s", "c=2"},
    {"csrrwi", "fsrmi", "z", "d=0,c=2"},
    {"csrrwi", "fsrmi", "d,z", "c=2"},
    {"csrrs", "frflags", "d", "c=1,s=0"},
    {"csrrw", "fsflags", "s", "d=0,c=1"},
    {"csrrw", "fsflags", "d,s", "c=1"},
    {"csrrwi", "fsflagsi", "z", "d=0,c=1"},
    {"csrrwi", "fsflagsi", "d,z", "c=1"},
    {"csrrs", "rdcycle", "d", "c=0xc00,s=0"},
    {"csrrs", "rdtime", "d", "c=0xc01,s=0"},
    {"csrrs", "rdinstret", "d", "c=0xc02,s=0"},
    {"csrrs", "csrr", "d,c", "s=0"},
    {"csrrw", "csrw", "c,s", "d=0"},
    {"csrrs", "csrs", "c,s", "d=0"},
    {"csrrc", "csrc", "c,s", "d=0"},
    {"csrrwi", "csrwi", "c,z", "d=0"},
    {"csrrsi", "csrsi", "c,z", "d=0"},
    {"csrrci", "csrci", "c,z", "d=0"},
    {"add.uw", "zext.w", "d,s", "t=0"},
    /* hints: Zihintntl (add x0, x0, x2..x5), Zicbop (ori x0 with rs2 field 0, 1, 3) */
    {"add", "ntl.p1", "", "d=0,s=0,t=2"},
    {"add", "ntl.pall", "", "d=0,s=0,t=3"},
    {"add", "ntl.s1", "", "d=0,s=0,t=4"},
    {"add", "ntl.all", "", "d=0,s=0,t=5"},
    {"ori", "prefetch.i", "p(s)", "d=0,t=0"},
    {"ori", "prefetch.r", "p(s)", "d=0,t=1"},
    {"ori", "prefetch.w", "p(s)", "d=0,t=3"},
    /* F, D, Zfh */
    {"fsgnj.s", "fmv.s", "D,S", "T=S"},
    {"fsgnjn.s", "fneg.s", "D,S", "T=S"},
    {"fsgnjx.s", "fabs.s", "D,S", "T=S"},
    {"fsgnj.d", "fmv.d", "D,S", "T=S"},
    {"fsgnjn.d", "fneg.d", "D,S", "T=S"},
    {"fsgnjx.d", "fabs.d", "D,S", "T=S"},
    {"fsgnj.h", "fmv.h", "D,S", "T=S"},
    {"fsgnjn.h", "fneg.h", "D,S", "T=S"},
    {"fsgnjx.h", "fabs.h", "D,S", "T=S"},
    /* V */
    {"vxor.vi", "vnot.v", "V,W,M", "k=-1"},
    {"vrsub.vx", "vneg.v", "V,W,M", "s=0"},
    {"vwadd.vx", "vwcvt.x.x.v", "V,W,M", "s=0"},
    {"vwaddu.vx", "vwcvtu.x.x.v", "V,W,M", "s=0"},
    {"vnsrl.wx", "vncvt.x.x.w", "V,W,M", "s=0"},
    {"vfsgnjn.vv", "vfneg.v", "V,W,M", "U=W"},
    {"vfsgnjx.vv", "vfabs.v", "V,W,M", "U=W"},
    {"vmand.mm", "vmmv.m", "V,W", "U=W"},
    {"vmnand.mm", "vmnot.m", "V,W", "U=W"},
    {"vmxor.mm", "vmclr.m", "V", "U=V,W=V"},
    {"vmxnor.mm", "vmset.m", "V", "U=V,W=V"},
    {"vl1re8.v", "vl1r.v", "V,(s)", ""},
    {"vl2re8.v", "vl2r.v", "V,(s)", ""},
    {"vl4re8.v", "vl4r.v", "V,(s)", ""},
    {"vl8re8.v", "vl8r.v", "V,(s)", ""},
};
#define NALIASES ((int)(sizeof aliases / sizeof aliases[0]))

/* Conversions whose rounding cannot matter: LLVM gives their rm operand the
 * default rne (printed unless rne) instead of dyn (printed unless dyn). */
static const char *const exact_conversions[] = {"fcvt.d.w", "fcvt.d.wu", "fcvt.d.s", "fcvt.s.h", "fcvt.d.h",
                                                 "fcvt.s.bf16"};

/* Compressed words LLVM prints otherwise than their expansion: the HINTs,
 * kept in their c. form, and c.mv, printed as mv although its expansion
 * (add rd, zero, rs2) prints as add.  Rows with a NULL name are ordinary
 * instructions the broader rows after them would otherwise catch.  Operands
 * print from the 32-bit expansion, except L: c.lui's 6-bit immediate, signed. */
static const struct { uint16_t mask, match; const char *name, *ops; } rvc_spellings[] = {
    {0xffff, 0x0001, NULL, NULL},             /* c.nop */
    {0xef83, 0x0001, "c.nop", "i"},           /* c.addi zero, imm */
    {0xf07f, 0x0001, "c.addi", "d,i"},        /* c.addi rd, 0 */
    {0xef83, 0x4001, "c.li", "d,i"},          /* c.li zero, imm */
    {0xef83, 0x6001, "c.lui", "d,L"},         /* c.lui zero, imm */
    {0xf07f, 0x0002, "c.slli64", "d"},        /* c.slli rd, 0 */
    {0xef83, 0x0002, "c.slli", "d,>"},        /* c.slli zero, shamt */
    {0xfc7f, 0x8001, "c.srli64", "d"},        /* c.srli rd', 0 */
    {0xfc7f, 0x8401, "c.srai64", "d"},        /* c.srai rd', 0 */
    {0xffff, 0x9002, NULL, NULL},             /* c.ebreak */
    {0xffff, 0x900a, "c.ntl.p1", ""},         /* Zihintntl: c.add zero, sp..a5 */
    {0xffff, 0x900e, "c.ntl.pall", ""},
    {0xffff, 0x9012, "c.ntl.s1", ""},
    {0xffff, 0x9016, "c.ntl.all", ""},
    {0xffff, 0x6081, "c.mop.1", ""},          /* Zcmop: c.lui x1, x3, ..., x15 with immediate 0 */
    {0xffff, 0x6181, "c.mop.3", ""},
    {0xffff, 0x6281, "c.mop.5", ""},
    {0xffff, 0x6381, "c.mop.7", ""},
    {0xffff, 0x6481, "c.mop.9", ""},
    {0xffff, 0x6581, "c.mop.11", ""},
    {0xffff, 0x6681, "c.mop.13", ""},
    {0xffff, 0x6781, "c.mop.15", ""},
    {0xff83, 0x8002, "c.mv", "d,t"},          /* c.mv zero, rs2 */
    {0xff83, 0x9002, "c.add", "d,t"},         /* c.add zero, rs2 */
    {0xf07f, 0x8002, NULL, NULL},             /* c.jr */
    {0xf003, 0x8002, "mv", "d,t"},            /* c.mv */
};

static int alias_row[NALIASES];   /* the row's op, 0 when the row is not in the table */
static int exact_conv_op[sizeof exact_conversions / sizeof exact_conversions[0]];
static int tables_ready;

static int op_by_name(const char *name) {
    for (int op = 1; op < RV_NOPS; op++)
        if (!strcmp(rv_insns[op].name, name)) return op;
    return 0;
}

static void init_tables(void) {
    if (tables_ready) return;
    for (int i = 0; i < NALIASES; i++) alias_row[i] = op_by_name(aliases[i].row);
    for (size_t i = 0; i < sizeof exact_conv_op / sizeof exact_conv_op[0]; i++)
        exact_conv_op[i] = op_by_name(exact_conversions[i]);
    tables_ready = 1;
}

/* The value of the field an operand letter names. */
static int64_t field(const rv_decoded *d, char letter) {
    uint32_t r = d->raw;
    switch (letter) {
    case 'd': case 'D': case 'V': return (r >> 7) & 31;
    case 's': case 'S': case 'U': case 'z': case 'l': return (r >> 15) & 31;
    case 'E': return (r >> 16 & 15) << 1;
    case 't': case 'T': case 'W': return (r >> 20) & 31;
    case 'R': return r >> 27;
    case 'M': return (r >> 25) & 1;
    case 'm': return (r >> 12) & 7;
    case 'p': return d->imm & ~31;   /* prefetch offset: the I-immediate without its low 5 bits */
    case 'c': return r >> 20;
    case 'P': return (r >> 24) & 15;
    case 'Q': return (r >> 20) & 15;
    case 'F': return r >> 28;
    default: return d->imm;   /* a row has one immediate; the decoder extracted it */
    }
}

static int cond_holds(const rv_decoded *d, const char *cond) {
    for (const char *p = cond; *p;) {
        char letter = p[0];
        const char *v = p + 2;   /* past "L=" */
        char *end;
        int64_t want;
        if ((v[0] >= '0' && v[0] <= '9') || v[0] == '-') want = strtoll(v, &end, 0);
        else { want = field(d, v[0]); end = (char *)v + 1; }
        if (field(d, letter) != want) return 0;
        p = *end == ',' ? end + 1 : end;
    }
    return 1;
}

static int is_exact_conversion(int op) {
    for (size_t i = 0; i < sizeof exact_conv_op / sizeof exact_conv_op[0]; i++)
        if (exact_conv_op[i] && exact_conv_op[i] == op) return 1;
    return 0;
}

/* vtype as LLVM prints it: "e32, m4, ta, ma", or the number when reserved. */
static void print_vtype(char *out, size_t size, int64_t v) {
    unsigned sew = (v >> 3) & 7, lmul = v & 7;
    if (lmul == 4 || sew > 3 || (v >> 8)) { snprintf(out, size, "%lld", (long long)v); return; }
    snprintf(out, size, "e%u, %s%u, %s, %s", 8u << sew, lmul < 4 ? "m" : "mf",
             lmul < 4 ? 1u << lmul : 1u << (8 - lmul), (v >> 6) & 1 ? "ta" : "tu", (v >> 7) & 1 ? "ma" : "mu");
}

/* A fence set: "iorw" letters, "0" when empty. */
static void print_fence_set(char *out, int64_t set) {
    int n = 0;
    for (int b = 3; b >= 0; b--)
        if (set >> b & 1) out[n++] = "wroi"[b];
    if (!n) out[n++] = '0';
    out[n] = 0;
}

/* Print `name` and operands `ops` (letters of insns.h) of the decoded d. */
static void print_insn(const rv_decoded *d, const char *name, const char *ops, char *buf, int size) {
    int n = snprintf(buf, (size_t)size, "%s", name);
    if ((d->raw & 0x7f) == 0x2f) {   /* A: the aq/rl bits print as a suffix */
        static const char *const order[4] = {"", ".rl", ".aq", ".aqrl"};
        n += snprintf(buf + n, (size_t)(size - n), "%s", order[(d->raw >> 25) & 3]);
    }
    const char *pending = "\t";   /* what goes before the next operand printed */
    for (const char *p = ops; *p && n < size; p++) {
        char tmp[48];
        int64_t v = field(d, *p);
        switch (*p) {
        case ',': if (pending[0] != '\t') pending = ", "; continue;
        case ')': snprintf(tmp, sizeof tmp, ")"); break;
        case 'd': case 's': case 't': snprintf(tmp, sizeof tmp, "%s", xname[v]); break;
        case 'D': case 'S': case 'T': case 'R': snprintf(tmp, sizeof tmp, "%s", fname[v]); break;
        case 'V': case 'U': case 'W': case 'E': snprintf(tmp, sizeof tmp, "v%lld", (long long)v); break;
        case '0': snprintf(tmp, sizeof tmp, "v0"); break;   /* the fixed mask operand of vmerge, vadc, ... */
        case 'u': snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)(((uint64_t)v >> 12) & 0xfffff)); break;
        case 'L': snprintf(tmp, sizeof tmp, "%lld", (long long)(v >> 12)); break;
        case 'c': if (!rv_csr_name((unsigned)v, tmp, sizeof tmp)) snprintf(tmp, sizeof tmp, "%lld", (long long)v); break;
        case 'P': case 'Q': print_fence_set(tmp, v); break;
        case 'l': snprintf(tmp, sizeof tmp, "%s", fli_name[v]); break;
        case 'Z': case 'Y': print_vtype(tmp, sizeof tmp, v); break;
        case 'b': case 'j': case 'i': case 'o': case 'p': case 'q': case '>': case '<': case 'k': case 'K': case 'z':
        case 'N':
            snprintf(tmp, sizeof tmp, "%lld", (long long)v); break;
        case 'm': {
            int exact = is_exact_conversion(d->op);
            if (v == (exact ? 0 : 7)) continue;   /* the default rounding mode is not printed */
            if (rm_name[v]) snprintf(tmp, sizeof tmp, "%s", rm_name[v]);
            else snprintf(tmp, sizeof tmp, "%lld", (long long)v);
            break;
        }
        case 'M':
            if (v) continue;   /* unmasked */
            if (!pending[0]) pending = ", ";
            snprintf(tmp, sizeof tmp, "v0.t");
            break;
        default: snprintf(tmp, sizeof tmp, "%c", *p); break;   /* '(' and literal text */
        }
        n += snprintf(buf + n, (size_t)(size - n), "%s%s", *p == ')' ? "" : pending, tmp);
        pending = "";
    }
}

void rv_format(const rv_decoded *d, uint64_t pc, char *buf, int size) {
    (void)pc;   /* targets print as offsets */
    init_tables();
    for (int i = 0; i < NALIASES; i++)
        if (alias_row[i] == d->op && cond_holds(d, aliases[i].cond)) {
            print_insn(d, aliases[i].name, aliases[i].ops, buf, size);
            return;
        }
    print_insn(d, rv_insns[d->op].name, rv_insns[d->op].ops, buf, size);
}

int rv_disasm(uint32_t insn, uint64_t pc, char *buf, int size) {
    rv_decoder_init();
    rv_decoded d;
    int len = 4;
    uint32_t full = insn;
    if ((insn & 3) != 3) {
        if ((insn & 0xffff) == 0) { snprintf(buf, (size_t)size, "unimp"); return 0; }   /* c.unimp */
        full = rv_expand_rvc((uint16_t)insn);
        len = 2;
    }
    if (!full || !rv_decode32(full, &d)) {
        snprintf(buf, (size_t)size, "<unknown>");
        return 0;
    }
    d.len = (uint8_t)len;
    if (len == 2)
        for (size_t i = 0; i < sizeof rvc_spellings / sizeof rvc_spellings[0]; i++)
            if (((uint16_t)insn & rvc_spellings[i].mask) == rvc_spellings[i].match) {
                if (!rvc_spellings[i].name) break;
                print_insn(&d, rvc_spellings[i].name, rvc_spellings[i].ops, buf, size);
                return len;
            }
    rv_format(&d, pc, buf, size);
    return len;
}

int rv_default_rm(int op) {
    init_tables();
    return is_exact_conversion(op) ? 0 : 7;
}

int rv_num_aliases(void) { return NALIASES; }

int rv_alias(int i, const char **row, const char **name, const char **ops, const char **cond) {
    if (i < 0 || i >= NALIASES) return -1;
    *row = aliases[i].row;
    *name = aliases[i].name;
    *ops = aliases[i].ops;
    *cond = aliases[i].cond;
    return 0;
}
