/* Vector helpers (filled in by the vector work). */
#ifndef RVAI_VEC_H
#define RVAI_VEC_H
#include "machine.h"
#endif
