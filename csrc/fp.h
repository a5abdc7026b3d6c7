/* Floating-point helpers (filled in by the FP work). */
#ifndef RVAI_FP_H
#define RVAI_FP_H
#include "machine.h"
#endif
