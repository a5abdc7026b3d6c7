/* Semantics of the rows in insns_vfwide.def; included from exec_vfp.h. */
