/* User-mode CSRs: floating-point status, vector status, counters. */
#include "csr.h"
#include "fp.h"
#include "timing.h"

/* The cycle count at the instruction that has retired `instret` before it. */
static uint64_t cycle_now(const rv_machine *m, uint64_t instret) {
    if (m->timed) return tm_cycle_now(m->timing);
    return m->cycles + (instret - m->instret);
}

int csr_read(rv_machine *m, unsigned csr, uint64_t instret, uint64_t *out) {
    switch (csr) {
    case CSR_FFLAGS: *out = m->fflags; return 0;
    case CSR_FRM: *out = m->frm; return 0;
    case CSR_FCSR: *out = (m->frm << 5) | m->fflags; return 0;
    case CSR_VSTART: *out = m->vstart; return 0;
    case CSR_VXSAT: *out = m->vxsat; return 0;
    case CSR_VXRM: *out = m->vxrm; return 0;
    case CSR_VCSR: *out = (m->vxrm << 1) | m->vxsat; return 0;
    /* Functional mode retires one instruction per cycle; the timed mode reads
     * the model's clock at the reading instruction's issue. */
    case CSR_CYCLE: *out = cycle_now(m, instret); return 0;
    case CSR_TIME: *out = cycle_now(m, instret) / CYCLES_PER_TIME_TICK; return 0;
    case CSR_INSTRET: *out = instret; return 0;
    case CSR_VL: *out = m->vl; return 0;
    case CSR_VTYPE: *out = m->vtype; return 0;
    case CSR_VLENB: *out = m->vlenb; return 0;
    }
    /* Zihpm: hpmcounter3..31 exist and count no event. */
    if (csr >= CSR_CYCLE + 3 && csr <= CSR_CYCLE + 31) { *out = 0; return 0; }
    return -1;
}

/* fflags written: the host's sticky flags may hold bits it no longer has (fp.h's invariant). */
static void set_fflags(rv_machine *m, uint64_t v) {
    m->fflags = v & 0x1f;
    fp_host_reset();
}

int csr_write(rv_machine *m, unsigned csr, uint64_t v) {
    switch (csr) {
    case CSR_FFLAGS: set_fflags(m, v); return 0;
    case CSR_FRM: m->frm = v & 7; return 0;
    case CSR_FCSR: set_fflags(m, v); m->frm = (v >> 5) & 7; return 0;
    case CSR_VSTART: m->vstart = v & (m->vlen - 1); return 0;   /* holds log2(VLEN) bits */
    case CSR_VXSAT: m->vxsat = v & 1; return 0;
    case CSR_VXRM: m->vxrm = v & 3; return 0;
    case CSR_VCSR: m->vxsat = v & 1; m->vxrm = (v >> 1) & 3; return 0;
    }
    return -1;
}
