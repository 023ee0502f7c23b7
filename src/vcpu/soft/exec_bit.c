// SPDX-License-Identifier: MIT
/*
 * Bit instructions: bt/bts/btr/btc, bsf/bsr, tzcnt/lzcnt/popcnt, bswap and
 * the BMI1/BMI2 group (andn, bextr, blsi, blsmsk, blsr, bzhi, mulx, pdep,
 * pext, rorx, sarx, shlx, shrx). SDM Vol.2 per instruction; flags the SDM
 * leaves undefined are left unchanged unless noted.
 */
#include "exec.h"

static uint64_t bt_apply(unsigned op, uint64_t v, unsigned bit)
{
	switch (op) {
	case 1:
		return v | 1ull << bit;
	case 2:
		return v & ~(1ull << bit);
	case 3:
		return v ^ 1ull << bit;
	default:
		return v;
	}
}

/* bt family: op 0 bt, 1 bts, 2 btr, 3 btc. CF = the selected bit; ZF kept. */
static void bt_common(struct soft_cpu *c, const struct soft_insn *i, uint64_t off, bool reg_off)
{
	unsigned sz = i->osz, bits = sz * 8, bit = off & (bits - 1);
	uint64_t ea = 0, v, nv;
	struct soft_locked l;

	if (!is_mem(i)) {
		v = soft_reg_read(c, i->rm, sz);
		if (i->op)
			soft_reg_write(c, i->rm, sz, bt_apply(i->op, v, bit));
	} else {
		ea = ea_of(c, i);
		if (reg_off) {
			/* The register offset is signed and may address outside the operand:
			   EA + operand size * floor(offset / bits) (SDM Vol.2 BT). */
			int64_t so = (int64_t)sext(off, sz);
			int64_t unit = so >> __builtin_ctz(bits);

			ea = (ea + (uint64_t)unit * sz) & soft_size_mask(i->asz);
		}
		if (i->op == 0) {
			v = soft_mem_read(c, i->seg, ea, sz);
		} else if (i->flags & SOFT_I_LOCK) {
			v = soft_mem_lock_begin(c, i->seg, ea, sz, &l);
			while (!soft_mem_lock_commit(c, &l, &v, bt_apply(i->op, v, bit)))
				;
		} else {
			v = soft_mem_read_rmw(c, i->seg, ea, sz);
			nv = bt_apply(i->op, v, bit);
			soft_mem_write(c, i->seg, ea, sz, nv);
		}
	}
	soft_flags_put(c, X86_CF, (v >> bit) & 1 ? X86_CF : 0);
}

SOFT_OP(bt_EG)
{
	bt_common(c, i, soft_reg_read(c, i->reg, i->osz), true);
}

SOFT_OP(bt_EI)
{
	bt_common(c, i, i->imm, false);
}

SOFT_OP(bsf)
{
	uint64_t ea, v = rm_load(c, i, i->osz, &ea);

	if (v)
		soft_reg_write(c, i->reg, i->osz, (uint64_t)__builtin_ctzll(v));
	soft_flags_put(c, X86_ZF, v ? 0 : X86_ZF);
}

SOFT_OP(bsr)
{
	uint64_t ea, v = rm_load(c, i, i->osz, &ea);

	if (v)
		soft_reg_write(c, i->reg, i->osz, 63u - (uint64_t)__builtin_clzll(v));
	soft_flags_put(c, X86_ZF, v ? 0 : X86_ZF);
}

/* tzcnt/lzcnt: CF = source was zero, ZF = result is zero; OF, SF, AF, PF undefined. */
static void count_flags(struct soft_cpu *c, uint64_t src, uint64_t r)
{
	soft_flags_put(c, X86_CF | X86_ZF, (src ? 0 : X86_CF) | (r ? 0 : X86_ZF));
}

SOFT_OP(tzcnt)
{
	unsigned sz = i->osz;
	uint64_t ea, v = rm_load(c, i, sz, &ea);
	uint64_t r = v ? (uint64_t)__builtin_ctzll(v) : sz * 8u;

	soft_reg_write(c, i->reg, sz, r);
	count_flags(c, v, r);
}

SOFT_OP(lzcnt)
{
	unsigned sz = i->osz;
	uint64_t ea, v = rm_load(c, i, sz, &ea);
	uint64_t r = v ? (uint64_t)__builtin_clzll(v) - (64 - sz * 8u) : sz * 8u;

	soft_reg_write(c, i->reg, sz, r);
	count_flags(c, v, r);
}

/* popcnt clears OF, SF, AF, CF and PF; ZF = source was zero. */
SOFT_OP(popcnt)
{
	uint64_t ea, v = rm_load(c, i, i->osz, &ea);

	soft_reg_write(c, i->reg, i->osz, (uint64_t)__builtin_popcountll(v));
	soft_flags_put(c, X86_ARITH_FLAGS, v ? 0 : X86_ZF);
}

/* bswap with a 16-bit operand is undefined: processors clear the low word. */
SOFT_OP(bswap)
{
	uint64_t v = soft_reg_read(c, i->rm, i->osz);

	if (i->osz == 8)
		v = __builtin_bswap64(v);
	else if (i->osz == 4)
		v = __builtin_bswap32((uint32_t)v);
	else
		v = 0;
	soft_reg_write(c, i->rm, i->osz, v);
}

/* BMI: SF and ZF from the result, OF clear, CF as given; AF and PF undefined (cleared/set
   from the result here). */
static void bmi_flags(struct soft_cpu *c, unsigned sz, uint64_t r, bool cf)
{
	lf_result(c, sz, r, cf ? X86_CF : 0);
}

SOFT_OP(andn)
{
	unsigned sz = i->osz;
	uint64_t ea, b = rm_load(c, i, sz, &ea), r = ~soft_reg_read(c, i->vreg, sz) & b;

	soft_reg_write(c, i->reg, sz, r);
	bmi_flags(c, sz, r, false);
}

SOFT_OP(bextr)
{
	unsigned sz = i->osz, bits = sz * 8;
	uint64_t ea, a = rm_load(c, i, sz, &ea), ctl = soft_reg_read(c, i->vreg, sz), r;
	unsigned start = ctl & 0xff, len = (ctl >> 8) & 0xff;

	r = start < bits ? a >> start : 0;
	if (len < 64)
		r &= (1ull << len) - 1;
	soft_reg_write(c, i->reg, sz, r);
	bmi_flags(c, sz, r, false);
}

static void bls(struct soft_cpu *c, const struct soft_insn *i, unsigned kind)
{
	unsigned sz = i->osz;
	uint64_t ea, a = rm_load(c, i, sz, &ea), m = soft_size_mask(sz), r;
	bool cf;

	switch (kind) {
	case 0: /* blsi: CF = source nonzero */
		r = (0 - a) & a & m;
		cf = a != 0;
		break;
	case 1: /* blsmsk: CF = source zero */
		r = ((a - 1) ^ a) & m;
		cf = a == 0;
		break;
	default: /* blsr: CF = source zero */
		r = (a - 1) & a & m;
		cf = a == 0;
		break;
	}
	soft_reg_write(c, i->vreg, sz, r);
	bmi_flags(c, sz, r, cf);
}

SOFT_OP(blsi)
{
	bls(c, i, 0);
}

SOFT_OP(blsmsk)
{
	bls(c, i, 1);
}

SOFT_OP(blsr)
{
	bls(c, i, 2);
}

SOFT_OP(bzhi)
{
	unsigned sz = i->osz, bits = sz * 8;
	uint64_t ea, a = rm_load(c, i, sz, &ea);
	unsigned n = soft_reg_read(c, i->vreg, sz) & 0xff;
	uint64_t r = n < bits ? a & ((1ull << n) - 1) : a;

	soft_reg_write(c, i->reg, sz, r);
	bmi_flags(c, sz, r, n >= bits);
}

/* mulx: unsigned rDX * r/m, no flags; the high half wins when both destinations agree. */
SOFT_OP(mulx)
{
	unsigned sz = i->osz;
	uint64_t ea, b = rm_load(c, i, sz, &ea), a = soft_reg_read(c, R_DX, sz), lo, hi;

	if (sz == 8) {
		unsigned __int128 p = (unsigned __int128)a * b;

		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
	} else {
		uint64_t p = a * b;

		lo = p & 0xffffffff;
		hi = p >> 32;
	}
	soft_reg_write(c, i->vreg, sz, lo);
	soft_reg_write(c, i->reg, sz, hi);
}

SOFT_OP(pdep)
{
	unsigned sz = i->osz;
	uint64_t ea, mask = rm_load(c, i, sz, &ea), src = soft_reg_read(c, i->vreg, sz), r = 0;

	for (uint64_t bit = 1; mask; mask &= mask - 1, bit <<= 1)
		if (src & bit)
			r |= mask & -mask;
	soft_reg_write(c, i->reg, sz, r);
}

SOFT_OP(pext)
{
	unsigned sz = i->osz;
	uint64_t ea, mask = rm_load(c, i, sz, &ea), src = soft_reg_read(c, i->vreg, sz), r = 0;

	for (uint64_t bit = 1; mask; mask &= mask - 1, bit <<= 1)
		if (src & mask & -mask)
			r |= bit;
	soft_reg_write(c, i->reg, sz, r);
}

SOFT_OP(rorx)
{
	unsigned sz = i->osz, bits = sz * 8, n = (unsigned)i->imm & (bits - 1);
	uint64_t ea, a = rm_load(c, i, sz, &ea);
	uint64_t r = n ? ((a >> n) | (a << (bits - n))) & soft_size_mask(sz) : a;

	soft_reg_write(c, i->reg, sz, r);
}

static void shx(struct soft_cpu *c, const struct soft_insn *i, unsigned kind)
{
	unsigned sz = i->osz, n = soft_reg_read(c, i->vreg, sz) & (sz * 8 - 1);
	uint64_t ea, a = rm_load(c, i, sz, &ea), r;

	if (kind == 0)
		r = (uint64_t)((int64_t)sext(a, sz) >> n);
	else if (kind == 1)
		r = a << n;
	else
		r = a >> n;
	soft_reg_write(c, i->reg, sz, r & soft_size_mask(sz));
}

SOFT_OP(sarx)
{
	shx(c, i, 0);
}

SOFT_OP(shlx)
{
	shx(c, i, 1);
}

SOFT_OP(shrx)
{
	shx(c, i, 2);
}
