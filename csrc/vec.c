/* Vector helpers (filled in by the vector work). */
#include "vec.h"
