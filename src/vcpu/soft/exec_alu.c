// SPDX-License-Identifier: MIT
/*
 * Integer arithmetic: the eight ALU operations and test (SDM Vol.2 ADD ...
 * XOR, TEST), inc/dec/neg/not, mul/imul/div/idiv and adcx/adox. Flags go
 * through the lazy recorder (flags.c); memory destinations are read with a
 * write check first, so a fault leaves registers and flags untouched.
 * LOCK needs no host atomics: one soft vCPU executes at a time (cpu.h).
 */
#include "exec.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Computes a op b (a, b already masked to sz) and records the flags. */
static ALWAYS_INLINE uint64_t alu(struct soft_cpu *c, unsigned op, unsigned sz, uint64_t a,
				  uint64_t b)
{
	uint64_t m = soft_size_mask(sz), r;
	unsigned cin;

	switch (op) {
	case ALU_ADD:
		r = (a + b) & m;
		lf_record(c, SOFT_LF_ADD, sz, a, b, r);
		return r;
	case ALU_ADC:
		cin = soft_flags_cf(c);
		r = (a + b + cin) & m;
		lf_record(c, cin ? SOFT_LF_ADC : SOFT_LF_ADD, sz, a, b, r);
		return r;
	case ALU_SBB:
		cin = soft_flags_cf(c);
		r = (a - b - cin) & m;
		lf_record(c, cin ? SOFT_LF_SBB : SOFT_LF_SUB, sz, a, b, r);
		return r;
	case ALU_SUB:
	case ALU_CMP:
		r = (a - b) & m;
		lf_record(c, SOFT_LF_SUB, sz, a, b, r);
		return r;
	case ALU_OR:
		r = a | b;
		break;
	case ALU_XOR:
		r = a ^ b;
		break;
	default: /* AND, TEST */
		r = a & b;
		break;
	}
	lf_record(c, SOFT_LF_LOGIC, sz, a, b, r);
	return r;
}

static inline bool writes_back(unsigned op)
{
	return op != ALU_CMP && op != ALU_TEST;
}

/* lock op m, b: computed again from what memory holds until the swap succeeds. */
static void alu_locked(struct soft_cpu *c, const struct soft_insn *i, unsigned op, uint64_t b)
{
	struct soft_lazy_flags lf = c->lf; /* adc/sbb read CF from it on every try */
	struct soft_locked l;
	unsigned sz = i->osz;
	uint64_t a = soft_mem_lock_begin(c, i->seg, ea_of(c, i), sz, &l), r;

	do {
		c->lf = lf;
		r = alu(c, op, sz, a, b);
	} while (!soft_mem_lock_commit(c, &l, &a, r));
}

/* r/m op= reg */
static ALWAYS_INLINE void alu_EG(struct soft_cpu *c, const struct soft_insn *i, unsigned op)
{
	unsigned sz = i->osz;
	uint64_t b = soft_reg_read(c, i->reg, sz), a, ea = 0, r;

	if (!is_mem(i)) {
		a = soft_reg_read(c, i->rm, sz);
		r = alu(c, op, sz, a, b);
		if (writes_back(op))
			soft_reg_write(c, i->rm, sz, r);
		return;
	}
	if (!writes_back(op)) {
		alu(c, op, sz, rm_load(c, i, sz, &ea), b);
		return;
	}
	if (i->flags & SOFT_I_LOCK) {
		alu_locked(c, i, op, b);
		return;
	}
	a = rm_load_rmw(c, i, sz, &ea);
	r = alu(c, op, sz, a, b);
	soft_mem_write(c, i->seg, ea, sz, r);
}

/* reg op= r/m */
static ALWAYS_INLINE void alu_GE(struct soft_cpu *c, const struct soft_insn *i, unsigned op)
{
	unsigned sz = i->osz;
	uint64_t ea, b = rm_load(c, i, sz, &ea);
	uint64_t r = alu(c, op, sz, soft_reg_read(c, i->reg, sz), b);

	if (writes_back(op))
		soft_reg_write(c, i->reg, sz, r);
}

/* r/m op= imm */
static ALWAYS_INLINE void alu_EI(struct soft_cpu *c, const struct soft_insn *i, unsigned op)
{
	unsigned sz = i->osz;
	uint64_t b = i->imm & soft_size_mask(sz), a, ea = 0, r;

	if (!is_mem(i)) {
		a = soft_reg_read(c, i->rm, sz);
		r = alu(c, op, sz, a, b);
		if (writes_back(op))
			soft_reg_write(c, i->rm, sz, r);
		return;
	}
	if (!writes_back(op)) {
		alu(c, op, sz, rm_load(c, i, sz, &ea), b);
		return;
	}
	if (i->flags & SOFT_I_LOCK) {
		alu_locked(c, i, op, b);
		return;
	}
	a = rm_load_rmw(c, i, sz, &ea);
	r = alu(c, op, sz, a, b);
	soft_mem_write(c, i->seg, ea, sz, r);
}

#define ALU_HANDLERS(n, OP)                                                                        \
	SOFT_OP(n##_EG)                                                                            \
	{                                                                                          \
		alu_EG(c, i, OP);                                                                  \
	}                                                                                          \
	SOFT_OP(n##_GE)                                                                            \
	{                                                                                          \
		alu_GE(c, i, OP);                                                                  \
	}                                                                                          \
	SOFT_OP(n##_EI)                                                                            \
	{                                                                                          \
		alu_EI(c, i, OP);                                                                  \
	}

ALU_HANDLERS(add, ALU_ADD)
ALU_HANDLERS(or, ALU_OR)
ALU_HANDLERS(adc, ALU_ADC)
ALU_HANDLERS(sbb, ALU_SBB)
ALU_HANDLERS(and, ALU_AND)
ALU_HANDLERS(sub, ALU_SUB)
ALU_HANDLERS(xor, ALU_XOR)
ALU_HANDLERS(cmp, ALU_CMP)

SOFT_OP(test_EG)
{
	alu_EG(c, i, ALU_TEST);
}

SOFT_OP(test_EI)
{
	alu_EI(c, i, ALU_TEST);
}

/*
 * The memory destination of a lock-prefixed unary operation: f(v, arg) is
 * applied until the compare-and-swap succeeds; returns the old value, the
 * new one in *r.
 */
static uint64_t unary_locked(struct soft_cpu *c, const struct soft_insn *i,
			     uint64_t (*f)(uint64_t v, unsigned sz), uint64_t *r)
{
	struct soft_locked l;
	uint64_t a = soft_mem_lock_begin(c, i->seg, ea_of(c, i), i->osz, &l);

	do
		*r = f(a, i->osz);
	while (!soft_mem_lock_commit(c, &l, &a, *r));
	return a;
}

/* r/m = f(r/m): returns the old value, the new one in *r. */
static ALWAYS_INLINE uint64_t unary(struct soft_cpu *c, const struct soft_insn *i,
				    uint64_t (*f)(uint64_t v, unsigned sz), uint64_t *r)
{
	uint64_t ea = 0, a;

	if (is_mem(i) && (i->flags & SOFT_I_LOCK))
		return unary_locked(c, i, f, r);
	a = rm_load_rmw(c, i, i->osz, &ea);
	*r = f(a, i->osz);
	rm_store(c, i, i->osz, ea, *r);
	return a;
}

static uint64_t inc_of(uint64_t v, unsigned sz)
{
	return (v + 1) & soft_size_mask(sz);
}

static uint64_t dec_of(uint64_t v, unsigned sz)
{
	return (v - 1) & soft_size_mask(sz);
}

static uint64_t neg_of(uint64_t v, unsigned sz)
{
	return (0 - v) & soft_size_mask(sz);
}

static uint64_t not_of(uint64_t v, unsigned sz)
{
	return ~v & soft_size_mask(sz);
}

/* inc/dec keep CF (SDM Vol.2 INC, DEC): it moves into rflags before the record. */
static ALWAYS_INLINE void incdec(struct soft_cpu *c, const struct soft_insn *i, bool dec)
{
	uint64_t cf = soft_flags_cf(c) ? X86_CF : 0, r;
	uint64_t a = unary(c, i, dec ? dec_of : inc_of, &r);

	c->rflags = (c->rflags & ~X86_CF) | cf;
	lf_record(c, dec ? SOFT_LF_DEC : SOFT_LF_INC, i->osz, a, 1, r);
}

SOFT_OP(inc)
{
	incdec(c, i, false);
}

SOFT_OP(dec)
{
	incdec(c, i, true);
}

SOFT_OP(neg)
{
	uint64_t r, a = unary(c, i, neg_of, &r);

	lf_record(c, SOFT_LF_SUB, i->osz, 0, a, r);
}

SOFT_OP(not )
{
	uint64_t r;

	unary(c, i, not_of, &r);
}

/*
 * Multiplication: CF = OF = "the upper half is significant"; SF, ZF, AF and PF
 * are undefined (SDM Vol.2 MUL, IMUL): here SF/ZF/PF follow the low half and
 * AF is clear.
 */
static void mul_flags(struct soft_cpu *c, unsigned sz, uint64_t lo, bool ovf)
{
	lf_result(c, sz, lo, ovf ? X86_CF | X86_OF : 0);
}

/* Writes the double-width result of one-operand mul/imul/div/idiv to AX, DX:AX, ... */
static void write_pair(struct soft_cpu *c, unsigned sz, uint64_t lo, uint64_t hi)
{
	if (sz == 1) {
		soft_reg_write(c, R_AX, 2, (lo & 0xff) | (hi & 0xff) << 8);
		return;
	}
	soft_reg_write(c, R_AX, sz, lo);
	soft_reg_write(c, R_DX, sz, hi);
}

SOFT_OP(mul)
{
	unsigned sz = i->osz, bits = sz * 8;
	uint64_t ea, b = rm_load(c, i, sz, &ea), a = soft_reg_read(c, R_AX, sz), lo, hi;

	if (sz == 8) {
		unsigned __int128 p = (unsigned __int128)a * b;

		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
	} else {
		uint64_t p = a * b;

		lo = p & soft_size_mask(sz);
		hi = p >> bits;
	}
	write_pair(c, sz, lo, hi);
	mul_flags(c, sz, lo, hi != 0);
}

SOFT_OP(imul1)
{
	unsigned sz = i->osz, bits = sz * 8;
	uint64_t ea, b = rm_load(c, i, sz, &ea), a = soft_reg_read(c, R_AX, sz), lo, hi;
	bool ovf;

	if (sz == 8) {
		__int128 p = (__int128)(int64_t)a * (int64_t)b;

		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
		ovf = p != (__int128)(int64_t)lo;
	} else {
		int64_t p = (int64_t)sext(a, sz) * (int64_t)sext(b, sz);

		lo = (uint64_t)p & soft_size_mask(sz);
		hi = ((uint64_t)p >> bits) & soft_size_mask(sz);
		ovf = (uint64_t)p != sext(lo, sz);
	}
	write_pair(c, sz, lo, hi);
	mul_flags(c, sz, lo, ovf);
}

/* Truncating signed multiply for the two- and three-operand imul forms. */
static uint64_t imul_trunc(struct soft_cpu *c, unsigned sz, uint64_t a, uint64_t b)
{
	uint64_t lo;
	bool ovf;

	if (sz == 8) {
		__int128 p = (__int128)(int64_t)a * (int64_t)b;

		lo = (uint64_t)p;
		ovf = p != (__int128)(int64_t)lo;
	} else {
		int64_t p = (int64_t)sext(a, sz) * (int64_t)sext(b, sz);

		lo = (uint64_t)p & soft_size_mask(sz);
		ovf = (uint64_t)p != sext(lo, sz);
	}
	mul_flags(c, sz, lo, ovf);
	return lo;
}

SOFT_OP(imul_GE)
{
	unsigned sz = i->osz;
	uint64_t ea, b = rm_load(c, i, sz, &ea);

	soft_reg_write(c, i->reg, sz, imul_trunc(c, sz, soft_reg_read(c, i->reg, sz), b));
}

SOFT_OP(imul_GEI)
{
	unsigned sz = i->osz;
	uint64_t ea, a = rm_load(c, i, sz, &ea);

	soft_reg_write(c, i->reg, sz, imul_trunc(c, sz, a, i->imm & soft_size_mask(sz)));
}

/* Division: #DE for a zero divisor or a quotient that does not fit (SDM Vol.2 DIV, IDIV).
 * The flags are undefined; they are left as they were. */
static unsigned __int128 dividend(struct soft_cpu *c, unsigned sz)
{
	if (sz == 1)
		return soft_reg_read(c, R_AX, 2);
	return (unsigned __int128)soft_reg_read(c, R_DX, sz) << (sz * 8) |
	       soft_reg_read(c, R_AX, sz);
}

SOFT_OP(div)
{
	unsigned sz = i->osz;
	uint64_t ea, d = rm_load(c, i, sz, &ea);
	unsigned __int128 n = dividend(c, sz), q;

	if (!d)
		soft_raise(c, X86_EXC_DE, SOFT_NO_ERRCODE);
	q = n / d;
	if (q > soft_size_mask(sz))
		soft_raise(c, X86_EXC_DE, SOFT_NO_ERRCODE);
	write_pair(c, sz, (uint64_t)q, (uint64_t)(n % d));
}

SOFT_OP(idiv)
{
	unsigned sz = i->osz, bits = sz * 8;
	uint64_t ea, draw = rm_load(c, i, sz, &ea);
	unsigned __int128 un = dividend(c, sz);
	__int128 n, q, r, lim = (__int128)1 << (bits - 1);
	int64_t d = (int64_t)sext(draw, sz);

	if (!d)
		soft_raise(c, X86_EXC_DE, SOFT_NO_ERRCODE);
	/* Sign-extend the 2*bits dividend to 128 bits. */
	if (bits == 64)
		n = (__int128)un;
	else
		n = (__int128)(un << (128 - 2 * bits)) >> (128 - 2 * bits);
	if (d == -1) {
		/* -n overflows only for the most negative 128-bit value, which is out of range. */
		if (bits == 64 && un == (unsigned __int128)1 << 127)
			soft_raise(c, X86_EXC_DE, SOFT_NO_ERRCODE);
		q = -n;
		r = 0;
	} else {
		q = n / d;
		r = n % d;
	}
	if (q >= lim || q < -lim)
		soft_raise(c, X86_EXC_DE, SOFT_NO_ERRCODE);
	write_pair(c, sz, (uint64_t)q, (uint64_t)r);
}

/* adcx/adox: an unsigned add through CF or OF alone (SDM Vol.2 ADCX, ADOX). */
static void adx(struct soft_cpu *c, const struct soft_insn *i, uint64_t flag)
{
	unsigned sz = i->osz;
	uint64_t ea, b = rm_load(c, i, sz, &ea), a = soft_reg_read(c, i->reg, sz);
	uint64_t cin = (soft_flags_get(c) & flag) ? 1 : 0, m = soft_size_mask(sz);
	uint64_t r = (a + b + cin) & m;
	bool cout = cin ? r <= a : r < a;

	soft_reg_write(c, i->reg, sz, r);
	soft_flags_put(c, flag, cout ? flag : 0);
}

SOFT_OP(adcx)
{
	adx(c, i, X86_CF);
}

SOFT_OP(adox)
{
	adx(c, i, X86_OF);
}
