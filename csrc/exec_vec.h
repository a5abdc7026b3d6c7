/* Semantics of RVV 1.0 (filled in by the vector work). */
