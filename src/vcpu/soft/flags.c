// SPDX-License-Identifier: MIT
/*
 * Lazy arithmetic flags. Handlers record (op, size, src1, src2, res) and the
 * six arithmetic flags are derived only when read: most results are
 * overwritten by the next ALU instruction before anything looks at them, and
 * a Jcc after cmp/test is answered straight from the operands.
 * Flag definitions: SDM Vol.1 §3.4.3.1 and Vol.2 per instruction.
 */
#include "flags.h"

#include "cpu.h"

static inline uint64_t sign_bit(unsigned size)
{
	return 1ull << (size * 8 - 1);
}

static inline int64_t sext(uint64_t v, unsigned size)
{
	unsigned sh = 64 - size * 8;

	return (int64_t)(v << sh) >> sh;
}

static inline uint64_t parity(uint64_t res)
{
	/* PF is set when the low byte has an even number of ones. */
	return __builtin_parity((unsigned)(res & 0xff)) ? 0 : X86_PF;
}

static inline uint64_t szp(uint64_t res, unsigned size)
{
	uint64_t f = parity(res);

	if (!(res & soft_size_mask(size)))
		f |= X86_ZF;
	if (res & sign_bit(size))
		f |= X86_SF;
	return f;
}

static uint64_t lazy_cf(const struct soft_lazy_flags *lf, uint64_t rflags)
{
	switch (lf->op) {
	case SOFT_LF_ADD:
		return lf->res < lf->src1;
	case SOFT_LF_ADC:
		return lf->res <= lf->src1;
	case SOFT_LF_SUB:
		return lf->src1 < lf->src2;
	case SOFT_LF_SBB:
		return lf->src1 <= lf->src2;
	case SOFT_LF_LOGIC:
		return 0;
	case SOFT_LF_RES:
		return lf->src2 & X86_CF;
	default:
		return rflags & X86_CF;
	}
}

/* The six arithmetic flags of the pending operation. */
static uint64_t lazy_compute(const struct soft_lazy_flags *lf, uint64_t rflags)
{
	uint64_t a = lf->src1, b = lf->src2, r = lf->res, sb = sign_bit(lf->size);
	uint64_t f = szp(r, lf->size);

	switch (lf->op) {
	case SOFT_LF_ADD:
	case SOFT_LF_ADC:
		f |= lazy_cf(lf, rflags);
		f |= (a ^ b ^ r) & X86_AF;
		if ((a ^ r) & (b ^ r) & sb)
			f |= X86_OF;
		break;
	case SOFT_LF_SUB:
	case SOFT_LF_SBB:
		f |= lazy_cf(lf, rflags);
		f |= (a ^ b ^ r) & X86_AF;
		if ((a ^ b) & (a ^ r) & sb)
			f |= X86_OF;
		break;
	case SOFT_LF_LOGIC:
		break;
	case SOFT_LF_INC:
		f |= rflags & X86_CF;
		f |= (a ^ 1 ^ r) & X86_AF;
		if (r == sb)
			f |= X86_OF;
		break;
	case SOFT_LF_DEC:
		f |= rflags & X86_CF;
		f |= (a ^ 1 ^ r) & X86_AF;
		if (a == sb)
			f |= X86_OF;
		break;
	case SOFT_LF_RES:
		f |= b & (X86_CF | X86_OF | X86_AF);
		break;
	default:
		return rflags & X86_ARITH_FLAGS;
	}
	return f;
}

static inline void materialize(struct soft_cpu *c)
{
	if (c->lf.op) {
		c->rflags = (c->rflags & ~X86_ARITH_FLAGS) | lazy_compute(&c->lf, c->rflags);
		c->lf.op = SOFT_LF_NONE;
	}
}

uint64_t soft_flags_get(struct soft_cpu *c)
{
	materialize(c);
	c->rflags |= 2;
	return c->rflags;
}

void soft_flags_set(struct soft_cpu *c, uint64_t v)
{
	c->rflags = v | 2;
	c->lf.op = SOFT_LF_NONE;
}

void soft_flags_put(struct soft_cpu *c, uint64_t mask, uint64_t v)
{
	materialize(c);
	c->rflags = (c->rflags & ~mask) | (v & mask) | 2;
}

bool soft_flags_cf(struct soft_cpu *c)
{
	return lazy_cf(&c->lf, c->rflags);
}

/* Conditions from the flag bits (SDM Vol.2 Appendix B.1.4.7, Table B-1). */
static bool cond_from_bits(uint64_t f, unsigned cc)
{
	bool r;

	switch (cc >> 1) {
	case 0:
		r = f & X86_OF;
		break;
	case 1:
		r = f & X86_CF;
		break;
	case 2:
		r = f & X86_ZF;
		break;
	case 3:
		r = f & (X86_CF | X86_ZF);
		break;
	case 4:
		r = f & X86_SF;
		break;
	case 5:
		r = f & X86_PF;
		break;
	case 6:
		r = !(f & X86_SF) != !(f & X86_OF);
		break;
	default:
		r = (f & X86_ZF) || (!(f & X86_SF) != !(f & X86_OF));
		break;
	}
	return r ^ (cc & 1);
}

bool soft_cond(struct soft_cpu *c, unsigned cc)
{
	const struct soft_lazy_flags *lf = &c->lf;
	bool r;

	/* cmp/sub and test/and answer every condition from the operands. */
	if (lf->op == SOFT_LF_SUB) {
		uint64_t a = lf->src1, b = lf->src2;

		switch (cc >> 1) {
		case 1:
			r = a < b;
			break;
		case 2:
			r = a == b;
			break;
		case 3:
			r = a <= b;
			break;
		case 6:
			r = sext(a, lf->size) < sext(b, lf->size);
			break;
		case 7:
			r = sext(a, lf->size) <= sext(b, lf->size);
			break;
		default:
			return cond_from_bits(lazy_compute(lf, c->rflags), cc);
		}
		return r ^ (cc & 1);
	}
	if (lf->op == SOFT_LF_LOGIC) {
		switch (cc >> 1) {
		case 0:
		case 1:
			r = false;
			break;
		case 2:
		case 3:
			r = lf->res == 0;
			break;
		case 4:
		case 6:
			r = lf->res & sign_bit(lf->size);
			break;
		case 7:
			r = lf->res == 0 || (lf->res & sign_bit(lf->size));
			break;
		default:
			return cond_from_bits(lazy_compute(lf, c->rflags), cc);
		}
		return r ^ (cc & 1);
	}
	if (!lf->op)
		return cond_from_bits(c->rflags, cc);
	return cond_from_bits(lazy_compute(lf, c->rflags), cc);
}
