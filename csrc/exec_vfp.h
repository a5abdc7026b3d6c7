/* Semantics of vector floating point (filled in by the vector FP work). */
