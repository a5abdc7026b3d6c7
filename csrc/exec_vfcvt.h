/* Semantics of the rows in insns_vfcvt.def; included from exec_vfp.h. */
