/* Semantics of RVV 1.0: each handler calls one semantic function of vec.c,
 * whose element loops run per SEW over whole register groups.
 * Included inside the interpreter loop (exec_loop.h defines the macros). */

/* Run a vector semantic function and turn its status into the stop paths
 * (jit_vec.c defines its own: a status returned). */
#ifndef VDO
#define VDO(call) do {                                                   \
        int r_ = (call);                                                 \
        if (unlikely(r_ != VEC_OK)) {                                    \
            if (r_ == VEC_FAULT) goto mem_fault;                         \
            goto illegal;                                                \
        }                                                                \
        NEXT();                                                          \
    } while (0)
#endif

/* Configuration: rd=x0 is the sink register 32 (see decode.c). */
OP(vsetvli) {
    uint64_t nvl; vec_setvl(m, X(RS1), (uint64_t)IMM, RS1 == 0, RD == 32, &nvl); X(RD) = nvl; NEXT();
}
OP(vsetivli) { uint64_t nvl; vec_setvl(m, RS1, (uint64_t)IMM, 0, 0, &nvl); X(RD) = nvl; NEXT(); }
OP(vsetvl)   { uint64_t nvl; vec_setvl(m, X(RS1), X(RS2), RS1 == 0, RD == 32, &nvl); X(RD) = nvl; NEXT(); }

/* Loads and stores: vec_ldst decodes nf, mop, lumop and width from the encoding. */
#define VEC_LDST_HANDLER(id, name, match, mask, ops, cls) OP(id) VDO(vec_ldst(m, d));
VEC_MEM_ROWS(VEC_LDST_HANDLER)
#undef VEC_LDST_HANDLER

/* Integer arithmetic (VOP_* in vec.h) */
#define VH_INT(id, f, op) OP(id) VDO(vec_int(m, d, VOP_##op, f));
#define VH_VVX(id, op) VH_INT(id##_vv, VF_VV, op) VH_INT(id##_vx, VF_VX, op)
#define VH_VVXI(id, op) VH_VVX(id, op) VH_INT(id##_vi, VF_VI, op)
VH_VVXI(vadd, ADD)
VH_VVX(vsub, SUB)
VH_INT(vrsub_vx, VF_VX, RSUB) VH_INT(vrsub_vi, VF_VI, RSUB)
VH_VVX(vminu, MINU) VH_VVX(vmin, MIN) VH_VVX(vmaxu, MAXU) VH_VVX(vmax, MAX)
VH_VVXI(vand, AND) VH_VVXI(vor, OR) VH_VVXI(vxor, XOR)
VH_VVXI(vsll, SLL) VH_VVXI(vsrl, SRL) VH_VVXI(vsra, SRA)
VH_VVX(vdivu, DIVU) VH_VVX(vdiv, DIV) VH_VVX(vremu, REMU) VH_VVX(vrem, REM)
VH_VVX(vmulhu, MULHU) VH_VVX(vmul, MUL) VH_VVX(vmulhsu, MULHSU) VH_VVX(vmulh, MULH)
VH_VVX(vmadd, MADD) VH_VVX(vnmsub, NMSUB) VH_VVX(vmacc, MACC) VH_VVX(vnmsac, NMSAC)
/* Fixed point */
VH_VVXI(vsaddu, SADDU) VH_VVXI(vsadd, SADD) VH_VVX(vssubu, SSUBU) VH_VVX(vssub, SSUB)
VH_VVX(vaaddu, AADDU) VH_VVX(vaadd, AADD) VH_VVX(vasubu, ASUBU) VH_VVX(vasub, ASUB)
VH_VVX(vsmul, SMUL) VH_VVXI(vssrl, SSRL) VH_VVXI(vssra, SSRA)

/* Narrowing */
#define VH_NAR(id, op) OP(id##_wv) VDO(vec_narrow(m, d, VOP_##op, VF_VV)); \
    OP(id##_wx) VDO(vec_narrow(m, d, VOP_##op, VF_VX)); OP(id##_wi) VDO(vec_narrow(m, d, VOP_##op, VF_VI));
VH_NAR(vnsrl, NSRL) VH_NAR(vnsra, NSRA) VH_NAR(vnclipu, NCLIPU) VH_NAR(vnclip, NCLIP)

/* Widening */
#define VH_WID(id, f, op) OP(id) VDO(vec_widen(m, d, VOP_##op, f));
VH_WID(vwaddu_vv, VF_VV, WADDU) VH_WID(vwaddu_vx, VF_VX, WADDU)
VH_WID(vwadd_vv, VF_VV, WADD) VH_WID(vwadd_vx, VF_VX, WADD)
VH_WID(vwsubu_vv, VF_VV, WSUBU) VH_WID(vwsubu_vx, VF_VX, WSUBU)
VH_WID(vwsub_vv, VF_VV, WSUB) VH_WID(vwsub_vx, VF_VX, WSUB)
VH_WID(vwaddu_wv, VF_WV, WADDU_W) VH_WID(vwaddu_wx, VF_WX, WADDU_W)
VH_WID(vwadd_wv, VF_WV, WADD_W) VH_WID(vwadd_wx, VF_WX, WADD_W)
VH_WID(vwsubu_wv, VF_WV, WSUBU_W) VH_WID(vwsubu_wx, VF_WX, WSUBU_W)
VH_WID(vwsub_wv, VF_WV, WSUB_W) VH_WID(vwsub_wx, VF_WX, WSUB_W)
VH_WID(vwmulu_vv, VF_VV, WMULU) VH_WID(vwmulu_vx, VF_VX, WMULU)
VH_WID(vwmulsu_vv, VF_VV, WMULSU) VH_WID(vwmulsu_vx, VF_VX, WMULSU)
VH_WID(vwmul_vv, VF_VV, WMUL) VH_WID(vwmul_vx, VF_VX, WMUL)
VH_WID(vwmaccu_vv, VF_VV, WMACCU) VH_WID(vwmaccu_vx, VF_VX, WMACCU)
VH_WID(vwmacc_vv, VF_VV, WMACC) VH_WID(vwmacc_vx, VF_VX, WMACC)
VH_WID(vwmaccsu_vv, VF_VV, WMACCSU) VH_WID(vwmaccsu_vx, VF_VX, WMACCSU)
VH_WID(vwmaccus_vx, VF_VX, WMACCUS)

/* Extension */
OP(vzext_vf2) VDO(vec_ext(m, d, 2, 0));
OP(vsext_vf2) VDO(vec_ext(m, d, 2, 1));
OP(vzext_vf4) VDO(vec_ext(m, d, 4, 0));
OP(vsext_vf4) VDO(vec_ext(m, d, 4, 1));
OP(vzext_vf8) VDO(vec_ext(m, d, 8, 0));
OP(vsext_vf8) VDO(vec_ext(m, d, 8, 1));

/* Carry / borrow */
#define VH_CAR(id, f, op) OP(id) VDO(vec_carry(m, d, VOP_##op, f));
VH_CAR(vadc_vvm, VF_VV, ADC) VH_CAR(vadc_vxm, VF_VX, ADC) VH_CAR(vadc_vim, VF_VI, ADC)
VH_CAR(vmadc_vvm, VF_VV, MADC) VH_CAR(vmadc_vxm, VF_VX, MADC) VH_CAR(vmadc_vim, VF_VI, MADC)
VH_CAR(vmadc_vv, VF_VV, MADC_NC) VH_CAR(vmadc_vx, VF_VX, MADC_NC) VH_CAR(vmadc_vi, VF_VI, MADC_NC)
VH_CAR(vsbc_vvm, VF_VV, SBC) VH_CAR(vsbc_vxm, VF_VX, SBC)
VH_CAR(vmsbc_vvm, VF_VV, MSBC) VH_CAR(vmsbc_vxm, VF_VX, MSBC)
VH_CAR(vmsbc_vv, VF_VV, MSBC_NC) VH_CAR(vmsbc_vx, VF_VX, MSBC_NC)

/* Merge and move */
OP(vmerge_vvm) VDO(vec_merge(m, d, VF_VV));
OP(vmerge_vxm) VDO(vec_merge(m, d, VF_VX));
OP(vmerge_vim) VDO(vec_merge(m, d, VF_VI));
OP(vmv_v_v) VDO(vec_merge(m, d, VF_VV));
OP(vmv_v_x) VDO(vec_merge(m, d, VF_VX));
OP(vmv_v_i) VDO(vec_merge(m, d, VF_VI));

/* Compares */
#define VH_CMP(id, f, op) OP(id) VDO(vec_cmp(m, d, VOP_##op, f));
VH_CMP(vmseq_vv, VF_VV, SEQ) VH_CMP(vmseq_vx, VF_VX, SEQ) VH_CMP(vmseq_vi, VF_VI, SEQ)
VH_CMP(vmsne_vv, VF_VV, SNE) VH_CMP(vmsne_vx, VF_VX, SNE) VH_CMP(vmsne_vi, VF_VI, SNE)
VH_CMP(vmsltu_vv, VF_VV, SLTU) VH_CMP(vmsltu_vx, VF_VX, SLTU)
VH_CMP(vmslt_vv, VF_VV, SLT) VH_CMP(vmslt_vx, VF_VX, SLT)
VH_CMP(vmsleu_vv, VF_VV, SLEU) VH_CMP(vmsleu_vx, VF_VX, SLEU) VH_CMP(vmsleu_vi, VF_VI, SLEU)
VH_CMP(vmsle_vv, VF_VV, SLE) VH_CMP(vmsle_vx, VF_VX, SLE) VH_CMP(vmsle_vi, VF_VI, SLE)
VH_CMP(vmsgtu_vx, VF_VX, SGTU) VH_CMP(vmsgtu_vi, VF_VI, SGTU)
VH_CMP(vmsgt_vx, VF_VX, SGT) VH_CMP(vmsgt_vi, VF_VI, SGT)

/* Reductions */
OP(vredsum_vs) VDO(vec_red(m, d, VOP_RSUM));
OP(vredand_vs) VDO(vec_red(m, d, VOP_RAND));
OP(vredor_vs) VDO(vec_red(m, d, VOP_ROR));
OP(vredxor_vs) VDO(vec_red(m, d, VOP_RXOR));
OP(vredminu_vs) VDO(vec_red(m, d, VOP_RMINU));
OP(vredmin_vs) VDO(vec_red(m, d, VOP_RMIN));
OP(vredmaxu_vs) VDO(vec_red(m, d, VOP_RMAXU));
OP(vredmax_vs) VDO(vec_red(m, d, VOP_RMAX));
OP(vwredsumu_vs) VDO(vec_red(m, d, VOP_RWSUMU));
OP(vwredsum_vs) VDO(vec_red(m, d, VOP_RWSUM));

/* Mask */
OP(vmandn_mm) VDO(vec_mlogic(m, d, VOP_MANDN));
OP(vmand_mm) VDO(vec_mlogic(m, d, VOP_MAND));
OP(vmor_mm) VDO(vec_mlogic(m, d, VOP_MOR));
OP(vmxor_mm) VDO(vec_mlogic(m, d, VOP_MXOR));
OP(vmorn_mm) VDO(vec_mlogic(m, d, VOP_MORN));
OP(vmnand_mm) VDO(vec_mlogic(m, d, VOP_MNAND));
OP(vmnor_mm) VDO(vec_mlogic(m, d, VOP_MNOR));
OP(vmxnor_mm) VDO(vec_mlogic(m, d, VOP_MXNOR));
OP(vcpop_m) VDO(vec_munary(m, d, VOP_CPOP));
OP(vfirst_m) VDO(vec_munary(m, d, VOP_FIRST));
OP(vmsbf_m) VDO(vec_munary(m, d, VOP_MSBF));
OP(vmsof_m) VDO(vec_munary(m, d, VOP_MSOF));
OP(vmsif_m) VDO(vec_munary(m, d, VOP_MSIF));
OP(viota_m) VDO(vec_munary(m, d, VOP_IOTA));
OP(vid_v) VDO(vec_munary(m, d, VOP_VID));

/* Permutation */
OP(vmv_x_s) VDO(vec_perm(m, d, VOP_MV_X_S, VF_VV));
OP(vmv_s_x) VDO(vec_perm(m, d, VOP_MV_S_X, VF_VX));
OP(vslideup_vx) VDO(vec_perm(m, d, VOP_SLIDEUP, VF_VX));
OP(vslideup_vi) VDO(vec_perm(m, d, VOP_SLIDEUP, VF_VI));
OP(vslidedown_vx) VDO(vec_perm(m, d, VOP_SLIDEDOWN, VF_VX));
OP(vslidedown_vi) VDO(vec_perm(m, d, VOP_SLIDEDOWN, VF_VI));
OP(vslide1up_vx) VDO(vec_perm(m, d, VOP_SLIDE1UP, VF_VX));
OP(vslide1down_vx) VDO(vec_perm(m, d, VOP_SLIDE1DOWN, VF_VX));
OP(vrgather_vv) VDO(vec_perm(m, d, VOP_RGATHER, VF_VV));
OP(vrgather_vx) VDO(vec_perm(m, d, VOP_RGATHER, VF_VX));
OP(vrgather_vi) VDO(vec_perm(m, d, VOP_RGATHER, VF_VI));
OP(vrgatherei16_vv) VDO(vec_perm(m, d, VOP_RGATHEREI16, VF_VV));
OP(vcompress_vm) VDO(vec_perm(m, d, VOP_COMPRESS, VF_VV));
OP(vmv1r_v) VDO(vec_mvr(m, d, 1));
OP(vmv2r_v) VDO(vec_mvr(m, d, 2));
OP(vmv4r_v) VDO(vec_mvr(m, d, 4));
OP(vmv8r_v) VDO(vec_mvr(m, d, 8));

/* Vector floating point */
#include "exec_vfp.h"
