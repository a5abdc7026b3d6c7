/* Control and status registers visible to user mode. */
#ifndef RVAI_CSR_H
#define RVAI_CSR_H
#include "machine.h"

enum {
    CSR_FFLAGS = 0x001, CSR_FRM = 0x002, CSR_FCSR = 0x003,
    CSR_VSTART = 0x008, CSR_VXSAT = 0x009, CSR_VXRM = 0x00a, CSR_VCSR = 0x00f,
    CSR_CYCLE = 0xc00, CSR_TIME = 0xc01, CSR_INSTRET = 0xc02,
    CSR_VL = 0xc20, CSR_VTYPE = 0xc21, CSR_VLENB = 0xc22
};

/* The time CSR ticks at 10 MHz of modelled time on a 1 GHz clock. */
#define CYCLES_PER_TIME_TICK 100

/* Read a CSR; instret is the live retired count. 0 on success, -1 if unknown. */
int csr_read(rv_machine *m, unsigned csr, uint64_t instret, uint64_t *out);
/* Write a CSR; -1 if unknown or read-only (an illegal instruction). */
int csr_write(rv_machine *m, unsigned csr, uint64_t v);
#endif
