// SPDX-License-Identifier: MIT
/*
 * The host's x87 unit (x87_host.h). Each form loads in[1] and in[0] (ST(1)
 * and ST(0) on the host), runs its instruction under io->cw with a memory
 * operand in io->m, reads the status word and pops what is left into out[].
 * The host's control word is saved and put back around it; fnclex comes
 * before the pops, so a host exception is never delivered.
 */
#include "x87_host.h"

#define STORE1 "fstpt %[o0]\n\t"
#define STORE2 STORE1 "fstpt %[o1]\n\t"
#define STORE3 STORE2 "fstpt %[o2]\n\t"

/* Loads in[1] and in[0], runs text, reads the status word and pops nleft values into out[]. */
#define X87_FN(name, text, store)                                                                  \
	static void name(struct x87_io *io)                                                        \
	{                                                                                          \
		uint16_t hcw;                                                                      \
		asm volatile("fnstcw %[hcw]\n\t"                                                   \
			     "fldcw %[cw]\n\t"                                                     \
			     "fnclex\n\t"                                                          \
			     "fldt %[i1]\n\t"                                                      \
			     "fldt %[i0]\n\t" text "\n\t"                                          \
			     "fnstsw %[sw]\n\t"                                                    \
			     "fnclex\n\t" store "fldcw %[hcw]"                                     \
			     : [hcw] "=m"(hcw), [sw] "=m"(io->sw), [o0] "=m"(io->out[0]),          \
			       [o1] "=m"(io->out[1]), [o2] "=m"(io->out[2]), [mo] "+m"(io->m)      \
			     : [cw] "m"(io->cw), [i0] "m"(io->in[0]), [i1] "m"(io->in[1])          \
			     : "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",         \
			       "st(7)");                                                           \
	}

/* st0 = st0 op st1 (no AT&T operand reversal with %st as destination) */
X87_FN(h_add, "fadd %%st(1), %%st", STORE2)
X87_FN(h_mul, "fmul %%st(1), %%st", STORE2)
X87_FN(h_sub, "fsub %%st(1), %%st", STORE2)
X87_FN(h_div, "fdiv %%st(1), %%st", STORE2)
X87_FN(h_com, "fcom %%st(1)", STORE2)
X87_FN(h_ucom, "fucom %%st(1)", STORE2)
/* st0 = st0 op m */
X87_FN(h_add_m32, "fadds %[mo]", STORE2)
X87_FN(h_mul_m32, "fmuls %[mo]", STORE2)
X87_FN(h_com_m32, "fcoms %[mo]", STORE2)
X87_FN(h_sub_m32, "fsubs %[mo]", STORE2)
X87_FN(h_subr_m32, "fsubrs %[mo]", STORE2)
X87_FN(h_div_m32, "fdivs %[mo]", STORE2)
X87_FN(h_divr_m32, "fdivrs %[mo]", STORE2)
X87_FN(h_add_m64, "faddl %[mo]", STORE2)
X87_FN(h_mul_m64, "fmull %[mo]", STORE2)
X87_FN(h_com_m64, "fcoml %[mo]", STORE2)
X87_FN(h_sub_m64, "fsubl %[mo]", STORE2)
X87_FN(h_subr_m64, "fsubrl %[mo]", STORE2)
X87_FN(h_div_m64, "fdivl %[mo]", STORE2)
X87_FN(h_divr_m64, "fdivrl %[mo]", STORE2)
X87_FN(h_add_i16, "fiadds %[mo]", STORE2)
X87_FN(h_mul_i16, "fimuls %[mo]", STORE2)
X87_FN(h_com_i16, "ficoms %[mo]", STORE2)
X87_FN(h_sub_i16, "fisubs %[mo]", STORE2)
X87_FN(h_subr_i16, "fisubrs %[mo]", STORE2)
X87_FN(h_div_i16, "fidivs %[mo]", STORE2)
X87_FN(h_divr_i16, "fidivrs %[mo]", STORE2)
X87_FN(h_add_i32, "fiaddl %[mo]", STORE2)
X87_FN(h_mul_i32, "fimull %[mo]", STORE2)
X87_FN(h_com_i32, "ficoml %[mo]", STORE2)
X87_FN(h_sub_i32, "fisubl %[mo]", STORE2)
X87_FN(h_subr_i32, "fisubrl %[mo]", STORE2)
X87_FN(h_div_i32, "fidivl %[mo]", STORE2)
X87_FN(h_divr_i32, "fidivrl %[mo]", STORE2)
/* loads: the converted value is out[0] */
X87_FN(h_ld_m32, "flds %[mo]", STORE3)
X87_FN(h_ld_m64, "fldl %[mo]", STORE3)
X87_FN(h_ild_16, "filds %[mo]", STORE3)
X87_FN(h_ild_32, "fildl %[mo]", STORE3)
X87_FN(h_ild_64, "fildll %[mo]", STORE3)
X87_FN(h_bld, "fbld %[mo]", STORE3)
X87_FN(h_ld1, "fld1", STORE3)
X87_FN(h_ldl2t, "fldl2t", STORE3)
X87_FN(h_ldl2e, "fldl2e", STORE3)
X87_FN(h_ldpi, "fldpi", STORE3)
X87_FN(h_ldlg2, "fldlg2", STORE3)
X87_FN(h_ldln2, "fldln2", STORE3)
X87_FN(h_ldz, "fldz", STORE3)
/* stores of in[0] to m */
X87_FN(h_st_m32, "fsts %[mo]", STORE2)
X87_FN(h_st_m64, "fstl %[mo]", STORE2)
X87_FN(h_ist_16, "fists %[mo]", STORE2)
X87_FN(h_ist_32, "fistl %[mo]", STORE2)
X87_FN(h_ist_64, "fld %%st(0)\n\tfistpll %[mo]", STORE2)
X87_FN(h_istt_16, "fld %%st(0)\n\tfisttps %[mo]", STORE2)
X87_FN(h_istt_32, "fld %%st(0)\n\tfisttpl %[mo]", STORE2)
X87_FN(h_istt_64, "fld %%st(0)\n\tfisttpll %[mo]", STORE2)
X87_FN(h_bstp, "fld %%st(0)\n\tfbstp %[mo]", STORE2)
/* on ST(0) [and ST(1)] */
X87_FN(h_tst, "ftst", STORE2)
X87_FN(h_xam, "fxam", STORE2)
X87_FN(h_sqrt, "fsqrt", STORE2)
X87_FN(h_rndint, "frndint", STORE2)
X87_FN(h_sin, "fsin", STORE2)
X87_FN(h_cos, "fcos", STORE2)
X87_FN(h_f2xm1, "f2xm1", STORE2)
X87_FN(h_scale, "fscale", STORE2)
X87_FN(h_prem, "fprem", STORE2)
X87_FN(h_prem1, "fprem1", STORE2)
X87_FN(h_yl2x, "fyl2x", STORE1)
X87_FN(h_yl2xp1, "fyl2xp1", STORE1)
X87_FN(h_patan, "fpatan", STORE1)
X87_FN(h_ptan, "fptan", STORE3)
X87_FN(h_sincos, "fsincos", STORE3)
X87_FN(h_xtract, "fxtract", STORE3)

void (*const soft_x87_host[XH_COUNT])(struct x87_io *io) = {
#define SOFT_X87_PTR(n) [XH_##n] = h_##n,
	SOFT_X87_HOST_FORMS(SOFT_X87_PTR)
#undef SOFT_X87_PTR
};
