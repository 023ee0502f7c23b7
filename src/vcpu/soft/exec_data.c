// SPDX-License-Identifier: MIT
/*
 * Data movement and flag-register odds and ends: mov (all general forms,
 * moffs), movzx/movsx/movsxd, lea, xchg, xadd, cmpxchg/8b/16b, setcc,
 * cmovcc, cbw/cwd families, lahf/sahf, cmc/clc/stc/cld/std, xlat, movbe,
 * nops and mfence. SDM Vol.2 per instruction.
 */
#include "exec.h"

SOFT_OP(mov_EG)
{
	uint64_t v = soft_reg_read(c, i->reg, i->osz);

	rm_store(c, i, i->osz, is_mem(i) ? ea_of(c, i) : 0, v);
}

SOFT_OP(mov_GE)
{
	uint64_t ea;

	soft_reg_write(c, i->reg, i->osz, rm_load(c, i, i->osz, &ea));
}

SOFT_OP(mov_EI)
{
	rm_store(c, i, i->osz, is_mem(i) ? ea_of(c, i) : 0, i->imm);
}

/* A0-A3: the offset is the absolute address (up to 64 bits) in imm. */
SOFT_OP(mov_load_moffs)
{
	uint64_t ea = i->imm & soft_size_mask(i->asz);

	soft_reg_write(c, R_AX, i->osz, soft_mem_read(c, i->seg, ea, i->osz));
}

SOFT_OP(mov_store_moffs)
{
	uint64_t ea = i->imm & soft_size_mask(i->asz);

	soft_mem_write(c, i->seg, ea, i->osz, soft_reg_read(c, R_AX, i->osz));
}

/* osz2: the source size. */
SOFT_OP(movzx)
{
	uint64_t ea;

	soft_reg_write(c, i->reg, i->osz, rm_load(c, i, i->osz2, &ea));
}

SOFT_OP(movsx)
{
	uint64_t ea;

	soft_reg_write(c, i->reg, i->osz, sext(rm_load(c, i, i->osz2, &ea), i->osz2));
}

/* The address computed with the address size, then truncated or zero-extended to the operand
   size (SDM Vol.2 LEA, Table 3-54). */
SOFT_OP(lea)
{
	soft_reg_write(c, i->reg, i->osz, ea_of(c, i));
}

/* xchg with memory is locked whether or not it has the prefix (SDM Vol.2 XCHG). */
SOFT_OP(xchg)
{
	unsigned sz = i->osz;
	uint64_t ea = 0, a, b = soft_reg_read(c, i->reg, sz);
	struct soft_locked l;

	if (is_mem(i)) {
		a = soft_mem_lock_begin(c, i->seg, ea_of(c, i), sz, &l);
		while (!soft_mem_lock_commit(c, &l, &a, b))
			;
	} else {
		a = rm_load_rmw(c, i, sz, &ea);
		rm_store(c, i, sz, ea, b);
	}
	soft_reg_write(c, i->reg, sz, a);
}

SOFT_OP(xadd)
{
	unsigned sz = i->osz;
	uint64_t ea = 0, a, b = soft_reg_read(c, i->reg, sz), r;
	struct soft_locked l;

	if (is_mem(i) && (i->flags & SOFT_I_LOCK)) {
		a = soft_mem_lock_begin(c, i->seg, ea_of(c, i), sz, &l);
		do
			r = (a + b) & soft_size_mask(sz);
		while (!soft_mem_lock_commit(c, &l, &a, r));
	} else {
		a = rm_load_rmw(c, i, sz, &ea);
		r = (a + b) & soft_size_mask(sz);
		if (is_mem(i))
			soft_mem_write(c, i->seg, ea, sz, r);
	}
	/* SRC <- DEST, then DEST <- sum: with one register for both, the sum wins. */
	soft_reg_write(c, i->reg, sz, a);
	if (!is_mem(i))
		soft_reg_write(c, i->rm, sz, r);
	lf_record(c, SOFT_LF_ADD, sz, a, b, r);
}

/*
 * The compare-and-exchange of a locked cmpxchg/cmpxchg8b on size bytes at
 * ea: returns what memory held. A mismatch writes the old value back, as the
 * processor does, within the same atomic update.
 */
static uint64_t cmpxchg_locked(struct soft_cpu *c, const struct soft_insn *i, uint64_t ea,
			       unsigned sz, uint64_t cmp, uint64_t src)
{
	struct soft_locked l;
	uint64_t d = soft_mem_lock_begin(c, i->seg, ea, sz, &l);

	while (!soft_mem_lock_commit(c, &l, &d, d == cmp ? src : d))
		;
	return d;
}

/*
 * cmpxchg: the destination is always written (with its old value on a
 * mismatch), so a read-only destination faults either way (SDM Vol.2 CMPXCHG).
 */
SOFT_OP(cmpxchg)
{
	unsigned sz = i->osz;
	uint64_t ea = 0, d, acc = soft_reg_read(c, R_AX, sz);
	uint64_t src = soft_reg_read(c, i->reg, sz);

	if (is_mem(i) && (i->flags & SOFT_I_LOCK)) {
		d = cmpxchg_locked(c, i, ea_of(c, i), sz, acc, src);
	} else {
		d = rm_load_rmw(c, i, sz, &ea);
		if (acc == d)
			rm_store(c, i, sz, ea, src);
		else if (is_mem(i))
			soft_mem_write(c, i->seg, ea, sz, d);
	}
	if (acc != d)
		soft_reg_write(c, R_AX, sz, d);
	lf_record(c, SOFT_LF_SUB, sz, acc, d, (acc - d) & soft_size_mask(sz));
}

SOFT_OP(cmpxchg8b)
{
	uint64_t ea = ea_of(c, i), m;
	uint64_t cmp = soft_reg_read(c, R_DX, 4) << 32 | soft_reg_read(c, R_AX, 4);
	uint64_t src = soft_reg_read(c, R_CX, 4) << 32 | soft_reg_read(c, R_BX, 4);

	if (i->flags & SOFT_I_LOCK) {
		m = cmpxchg_locked(c, i, ea, 8, cmp, src);
	} else {
		m = soft_mem_read_rmw(c, i->seg, ea, 8);
		soft_mem_write(c, i->seg, ea, 8, m == cmp ? src : m);
	}
	if (m != cmp) {
		soft_reg_write(c, R_AX, 4, m);
		soft_reg_write(c, R_DX, 4, m >> 32);
	}
	soft_flags_put(c, X86_ZF, m == cmp ? X86_ZF : 0);
}

/* cmpxchg16b: #GP(0) unless the linear address is 16-byte aligned. */
SOFT_OP(cmpxchg16b)
{
	uint64_t ea = ea_of(c, i), lo, hi, base;

	base = (c->code64 && i->seg < S_FS) ? 0 : c->seg[i->seg].base;
	if ((base + ea) & 15)
		soft_raise(c, X86_EXC_GP, 0);
	if (i->flags & SOFT_I_LOCK) {
		uint64_t cmp[2] = { c->gpr[R_AX], c->gpr[R_DX] };
		const uint64_t nv[2] = { c->gpr[R_BX], c->gpr[R_CX] };
		bool ok = soft_mem_lock_cmpxchg16(c, i->seg, ea, cmp, nv);

		c->gpr[R_AX] = cmp[0];
		c->gpr[R_DX] = cmp[1];
		soft_flags_put(c, X86_ZF, ok ? X86_ZF : 0);
		return;
	}
	soft_mem_check(c, i->seg, ea, 16, SOFT_ACC_WRITE);
	lo = soft_mem_read_rmw(c, i->seg, ea, 8);
	hi = soft_mem_read_rmw(c, i->seg, ea + 8, 8);
	if (lo == c->gpr[R_AX] && hi == c->gpr[R_DX]) {
		soft_mem_write(c, i->seg, ea, 8, c->gpr[R_BX]);
		soft_mem_write(c, i->seg, ea + 8, 8, c->gpr[R_CX]);
		soft_flags_put(c, X86_ZF, X86_ZF);
	} else {
		soft_mem_write(c, i->seg, ea, 8, lo);
		soft_mem_write(c, i->seg, ea + 8, 8, hi);
		c->gpr[R_AX] = lo;
		c->gpr[R_DX] = hi;
		soft_flags_put(c, X86_ZF, 0);
	}
}

SOFT_OP(setcc)
{
	rm_store(c, i, 1, is_mem(i) ? ea_of(c, i) : 0, soft_cond(c, i->op));
}

/* The source is read whatever the condition; a 32-bit destination is zero-extended even when
   nothing moves (SDM Vol.2 CMOVcc). */
SOFT_OP(cmovcc)
{
	uint64_t ea, v = rm_load(c, i, i->osz, &ea);

	if (soft_cond(c, i->op))
		soft_reg_write(c, i->reg, i->osz, v);
	else if (i->osz == 4)
		soft_reg_write(c, i->reg, 4, c->gpr[i->reg]);
}

/* cbw/cwde/cdqe */
SOFT_OP(cbw)
{
	unsigned h = i->osz / 2;

	soft_reg_write(c, R_AX, i->osz, sext(soft_reg_read(c, R_AX, h), h));
}

/* cwd/cdq/cqo */
SOFT_OP(cwd)
{
	uint64_t a = soft_reg_read(c, R_AX, i->osz);

	soft_reg_write(c, R_DX, i->osz, (a & sign_bit(i->osz)) ? ~0ull : 0);
}

#define LAHF_FLAGS (X86_SF | X86_ZF | X86_AF | X86_PF | X86_CF)

SOFT_OP(lahf)
{
	(void)i;
	soft_reg_write(c, SOFT_REG_AH, 1, (soft_flags_get(c) & LAHF_FLAGS) | 2);
}

SOFT_OP(sahf)
{
	(void)i;
	soft_flags_put(c, LAHF_FLAGS, soft_reg_read(c, SOFT_REG_AH, 1));
}

SOFT_OP(cmc)
{
	(void)i;
	soft_flags_put(c, X86_CF, soft_flags_cf(c) ? 0 : X86_CF);
}

SOFT_OP(clc)
{
	(void)i;
	soft_flags_put(c, X86_CF, 0);
}

SOFT_OP(stc)
{
	(void)i;
	soft_flags_put(c, X86_CF, X86_CF);
}

SOFT_OP(cld)
{
	(void)i;
	c->rflags &= ~X86_DF;
}

SOFT_OP(std)
{
	(void)i;
	c->rflags |= X86_DF;
}

/* AL <- [seg:rBX + AL], wrapping at the address size. */
SOFT_OP(xlat)
{
	uint64_t ea = (c->gpr[R_BX] + (c->gpr[R_AX] & 0xff)) & soft_size_mask(i->asz);

	soft_reg_write(c, R_AX, 1, soft_mem_read(c, i->seg, ea, 1));
}

static uint64_t bswap_sz(uint64_t v, unsigned sz)
{
	if (sz == 8)
		return __builtin_bswap64(v);
	if (sz == 4)
		return __builtin_bswap32((uint32_t)v);
	return __builtin_bswap16((uint16_t)v);
}

SOFT_OP(movbe_load)
{
	uint64_t ea = ea_of(c, i);

	soft_reg_write(c, i->reg, i->osz, bswap_sz(soft_mem_read(c, i->seg, ea, i->osz), i->osz));
}

SOFT_OP(movbe_store)
{
	uint64_t ea = ea_of(c, i);

	soft_mem_write(c, i->seg, ea, i->osz, bswap_sz(soft_reg_read(c, i->reg, i->osz), i->osz));
}

SOFT_OP(nop)
{
	(void)c;
	(void)i;
}

/* Other vCPUs are host threads: a store before it must be visible before a load after it. */
SOFT_OP(mfence)
{
	(void)c;
	(void)i;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
