/* Floating-point helpers (filled in by the FP work). */
#include "fp.h"
