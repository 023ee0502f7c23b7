// SPDX-License-Identifier: MIT
/*
 * Shifts and rotates: group 2 (rol/ror/rcl/rcr/shl/shr/sar by 1, CL or imm8)
 * and shld/shrd (SDM Vol.2 "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR", SHLD, SHRD).
 * The count is masked to 5 bits (6 with a 64-bit operand); a masked count of
 * 0 changes nothing, not even the flags. OF is defined for a count of 1 only;
 * for larger counts this code applies the same formula. AF is undefined
 * after a shift by a nonzero count: it is cleared here.
 */
#include "exec.h"

static uint64_t rotate_rc(uint64_t a, unsigned cf, unsigned bits, unsigned n, bool left,
			  unsigned *cf_out)
{
	/* A (bits+1)-bit rotation of CF:value (rcl/rcr). */
	unsigned __int128 v = (unsigned __int128)a | (unsigned __int128)cf << bits;
	unsigned __int128 m = ((unsigned __int128)1 << (bits + 1)) - 1;

	if (n) {
		if (left)
			v = ((v << n) | (v >> (bits + 1 - n))) & m;
		else
			v = ((v >> n) | (v << (bits + 1 - n))) & m;
	}
	*cf_out = (unsigned)(v >> bits) & 1;
	return (uint64_t)v & soft_size_mask(bits / 8);
}

/*
 * A masked count of 0 changes no flag and no memory, but a 32-bit register
 * destination is still written, so bits 63:32 clear (SDM Vol.1 §3.4.1.1).
 */
static void zero_count(struct soft_cpu *c, const struct soft_insn *i, unsigned sz, uint64_t a)
{
	if (sz == 4 && !is_mem(i))
		soft_reg_write(c, i->rm, 4, a);
}

static void shift(struct soft_cpu *c, const struct soft_insn *i, unsigned count)
{
	unsigned sz = i->osz, bits = sz * 8, cnt = count & (sz == 8 ? 0x3f : 0x1f), n, cf;
	uint64_t m = soft_size_mask(sz), msb = sign_bit(sz), ea = 0;
	uint64_t a = rm_load_rmw(c, i, sz, &ea), r, of;

	if (!cnt) {
		zero_count(c, i, sz, a);
		return;
	}
	switch (i->op) {
	case SH_ROL:
		n = cnt & (bits - 1);
		r = n ? ((a << n) | (a >> (bits - n))) & m : a;
		cf = r & 1;
		of = !!(r & msb) ^ cf;
		break;
	case SH_ROR:
		n = cnt & (bits - 1);
		r = n ? ((a >> n) | (a << (bits - n))) & m : a;
		cf = !!(r & msb);
		of = cf ^ !!(r & (msb >> 1));
		break;
	case SH_RCL:
		/* 8- and 16-bit: the count is taken modulo 9 or 17 after masking. */
		r = rotate_rc(a, soft_flags_cf(c), bits, cnt % (bits + 1), true, &cf);
		of = !!(r & msb) ^ cf;
		break;
	case SH_RCR:
		r = rotate_rc(a, soft_flags_cf(c), bits, cnt % (bits + 1), false, &cf);
		of = !!(r & msb) ^ !!(r & (msb >> 1));
		break;
	case SH_SHL:
	case SH_SAL:
		r = cnt < 64 ? (a << cnt) & m : 0;
		cf = cnt <= bits ? (a >> (bits - cnt)) & 1 : 0;
		of = !!(r & msb) ^ cf;
		rm_store(c, i, sz, ea, r);
		lf_result(c, sz, r, (cf ? X86_CF : 0) | (of ? X86_OF : 0));
		return;
	case SH_SHR:
		r = a >> cnt;
		cf = cnt <= bits ? (a >> (cnt - 1)) & 1 : 0;
		of = !!(a & msb);
		rm_store(c, i, sz, ea, r);
		lf_result(c, sz, r, (cf ? X86_CF : 0) | (of ? X86_OF : 0));
		return;
	default: { /* SAR */
		int64_t s = (int64_t)sext(a, sz);

		r = (uint64_t)(s >> (cnt < 63 ? cnt : 63)) & m;
		cf = (s >> (cnt - 1 < 63 ? cnt - 1 : 63)) & 1;
		rm_store(c, i, sz, ea, r);
		lf_result(c, sz, r, cf ? X86_CF : 0);
		return;
	}
	}
	/* Rotates change CF and OF only. */
	rm_store(c, i, sz, ea, r);
	soft_flags_put(c, X86_CF | X86_OF, (cf ? X86_CF : 0) | (of ? X86_OF : 0));
}

SOFT_OP(shift_EI)
{
	shift(c, i, (unsigned)i->imm);
}

SOFT_OP(shift_ECL)
{
	shift(c, i, (unsigned)c->gpr[R_CX]);
}

/*
 * Double shifts. A 16-bit operand with a count of 17..31 has an undefined
 * result; this code shifts through dst:src:dst as 48 bits then.
 */
static void dshift(struct soft_cpu *c, const struct soft_insn *i, unsigned count, bool left)
{
	unsigned sz = i->osz, bits = sz * 8, cnt = count & (sz == 8 ? 0x3f : 0x1f), cf;
	uint64_t m = soft_size_mask(sz), msb = sign_bit(sz), ea = 0;
	uint64_t b = soft_reg_read(c, i->reg, sz);
	uint64_t a = rm_load_rmw(c, i, sz, &ea), r;

	if (!cnt) {
		zero_count(c, i, sz, a);
		return;
	}
	if (cnt > bits) {
		uint64_t v = left ? a << 32 | b << 16 | a : b << 32 | a << 16 | b;

		if (left) {
			r = (v >> (32 - cnt)) & m;
			cf = (v >> (48 - cnt)) & 1;
		} else {
			r = (v >> cnt) & m;
			cf = (v >> (cnt - 1)) & 1;
		}
	} else if (left) {
		r = ((a << cnt) | (cnt == bits ? b : b >> (bits - cnt))) & m;
		cf = (a >> (bits - cnt)) & 1;
	} else {
		r = ((cnt == bits ? 0 : a >> cnt) | (b << (bits - cnt))) & m;
		cf = (a >> (cnt - 1)) & 1;
	}
	rm_store(c, i, sz, ea, r);
	lf_result(c, sz, r, (cf ? X86_CF : 0) | (((r ^ a) & msb) ? X86_OF : 0));
}

SOFT_OP(shld_EGI)
{
	dshift(c, i, (unsigned)i->imm, true);
}

SOFT_OP(shld_EGCL)
{
	dshift(c, i, (unsigned)c->gpr[R_CX], true);
}

SOFT_OP(shrd_EGI)
{
	dshift(c, i, (unsigned)i->imm, false);
}

SOFT_OP(shrd_EGCL)
{
	dshift(c, i, (unsigned)c->gpr[R_CX], false);
}
