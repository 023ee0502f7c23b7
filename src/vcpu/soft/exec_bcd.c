// SPDX-License-Identifier: MIT
/*
 * Decimal adjust instructions aaa/aas/daa/das/aam/aad and salc (legacy and
 * compatibility mode only: the decoder makes them #UD in 64-bit mode).
 * SDM Vol.2 per instruction; OF (and for aaa/aas also SF, ZF, PF) are
 * undefined and come out of the result here.
 */
#include "exec.h"

static unsigned af_cf(struct soft_cpu *c, bool *af)
{
	uint64_t f = soft_flags_get(c);

	*af = f & X86_AF;
	return (f & X86_CF) ? 1 : 0;
}

static void ascii_adjust(struct soft_cpu *c, bool sub)
{
	bool af;
	uint64_t ax = soft_reg_read(c, R_AX, 2);

	af_cf(c, &af);
	if ((ax & 0xf) > 9 || af) {
		ax = sub ? ((ax - 6) & 0xff) | (((ax >> 8) - 1) & 0xff) << 8 : ax + 0x106;
		ax &= 0xff0f;
		soft_reg_write(c, R_AX, 2, ax);
		lf_result(c, 1, ax & 0xff, X86_AF | X86_CF);
	} else {
		ax &= 0xff0f;
		soft_reg_write(c, R_AX, 2, ax);
		lf_result(c, 1, ax & 0xff, 0);
	}
}

SOFT_OP(aaa)
{
	(void)i;
	ascii_adjust(c, false);
}

SOFT_OP(aas)
{
	(void)i;
	ascii_adjust(c, true);
}

static void decimal_adjust(struct soft_cpu *c, bool sub)
{
	bool af;
	unsigned old_cf = af_cf(c, &af), cf = 0;
	unsigned al = (unsigned)soft_reg_read(c, R_AX, 1), old_al = al;

	if ((al & 0xf) > 9 || af) {
		if (sub)
			cf = old_cf || al < 6;
		else
			cf = old_cf || al + 6 > 0xff;
		al = (sub ? al - 6 : al + 6) & 0xff;
		af = true;
	} else {
		af = false;
	}
	if (old_al > 0x99 || old_cf) {
		al = (sub ? al - 0x60 : al + 0x60) & 0xff;
		cf = 1;
	} else {
		cf = 0;
	}
	soft_reg_write(c, R_AX, 1, al);
	lf_result(c, 1, al, (cf ? X86_CF : 0) | (af ? X86_AF : 0));
}

SOFT_OP(daa)
{
	(void)i;
	decimal_adjust(c, false);
}

SOFT_OP(das)
{
	(void)i;
	decimal_adjust(c, true);
}

SOFT_OP(aam)
{
	unsigned base = i->imm & 0xff, al = (unsigned)soft_reg_read(c, R_AX, 1);

	if (!base)
		soft_raise(c, X86_EXC_DE, SOFT_NO_ERRCODE);
	soft_reg_write(c, R_AX, 2, (al / base) << 8 | (al % base));
	lf_result(c, 1, al % base, 0);
}

SOFT_OP(aad)
{
	unsigned base = i->imm & 0xff, ax = (unsigned)soft_reg_read(c, R_AX, 2);
	unsigned al = ((ax & 0xff) + (ax >> 8) * base) & 0xff;

	soft_reg_write(c, R_AX, 2, al);
	lf_result(c, 1, al, 0);
}

SOFT_OP(salc)
{
	(void)i;
	soft_reg_write(c, R_AX, 1, soft_flags_cf(c) ? 0xff : 0);
}
