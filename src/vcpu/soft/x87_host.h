/* SPDX-License-Identifier: MIT */
/*
 * The host's x87 unit as x87.c uses it (x87_host.c): one function per
 * instruction form, each an asm statement that loads the operands, runs the
 * instruction under a given control word and hands back what is left on the
 * host stack and the status word. The host's control word is put back in the
 * same statement.
 */
#ifndef COVE_SOFT_X87_HOST_H
#define COVE_SOFT_X87_HOST_H

#include <stdint.h>

#include "fpu.h"

struct x87_io {
	struct soft_f80 in[2];	/* ST(0), ST(1) on the host */
	struct soft_f80 out[3]; /* what is left on the host stack, top first */
	union {
		uint64_t u64;
		struct soft_f80 f80;
	} m; /* a memory operand */
	uint16_t cw, sw;
};

/* The forms, XH_<name>; soft_x87_host[XH_<name>] runs one. */
/* clang-format off */
#define SOFT_X87_HOST_FORMS(X) \
	X(add) X(mul) X(sub) X(div) X(com) X(ucom) X(add_m32) X(mul_m32) X(com_m32) \
	X(sub_m32) X(subr_m32) X(div_m32) X(divr_m32) X(add_m64) X(mul_m64) X(com_m64) \
	X(sub_m64) X(subr_m64) X(div_m64) X(divr_m64) X(add_i16) X(mul_i16) X(com_i16) \
	X(sub_i16) X(subr_i16) X(div_i16) X(divr_i16) X(add_i32) X(mul_i32) X(com_i32) \
	X(sub_i32) X(subr_i32) X(div_i32) X(divr_i32) X(ld_m32) X(ld_m64) X(ild_16) \
	X(ild_32) X(ild_64) X(bld) X(ld1) X(ldl2t) X(ldl2e) X(ldpi) X(ldlg2) X(ldln2) \
	X(ldz) X(st_m32) X(st_m64) X(ist_16) X(ist_32) X(ist_64) X(istt_16) X(istt_32) \
	X(istt_64) X(bstp) X(tst) X(xam) X(sqrt) X(rndint) X(sin) X(cos) X(f2xm1) \
	X(scale) X(prem) X(prem1) X(yl2x) X(yl2xp1) X(patan) X(ptan) X(sincos) X(xtract)
/* clang-format on */

enum soft_x87_form {
#define SOFT_X87_ENUM(n) XH_##n,
	SOFT_X87_HOST_FORMS(SOFT_X87_ENUM)
#undef SOFT_X87_ENUM
		XH_COUNT
};

extern void (*const soft_x87_host[XH_COUNT])(struct x87_io *io);

#endif
