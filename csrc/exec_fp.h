/* Semantics of F, D, Zfh (filled in by the FP work). */
