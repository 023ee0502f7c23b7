// SPDX-License-Identifier: MIT
/*
 * String instructions movs/cmps/stos/lods/scas with rep/repe/repne (SDM
 * Vol.2 per instruction and "REP/REPE/REPZ/REPNE/REPNZ"). rCX, rSI and rDI
 * are used and wrap at the address size. Each iteration completes its
 * accesses before it moves the registers, so a fault in the middle leaves
 * rCX/rSI/rDI describing the remaining work and the instruction restarts.
 * A long rep returns after SOFT_REP_CHUNK iterations with next_rip = rip, so
 * run.c can look at interrupts and re-executes the instruction.
 * The source segment (i->seg) may be overridden; the destination is ES.
 */
#include "exec.h"

#define SOFT_REP_CHUNK 4096

enum { STR_MOVS, STR_CMPS, STR_STOS, STR_LODS, STR_SCAS };

static inline void advance(struct soft_cpu *c, int reg, unsigned asz, int64_t d)
{
	soft_reg_write(c, reg, asz, c->gpr[reg] + (uint64_t)d);
}

/* One iteration; returns false when a repe/repne condition ends the loop. */
static inline __attribute__((always_inline)) bool step(struct soft_cpu *c,
						       const struct soft_insn *i, unsigned kind,
						       int64_t d)
{
	unsigned sz = i->osz, asz = i->asz;
	uint64_t am = soft_size_mask(asz), m = soft_size_mask(sz), a, b, r;

	switch (kind) {
	case STR_MOVS:
		a = soft_mem_read(c, i->seg, c->gpr[R_SI] & am, sz);
		soft_mem_write(c, S_ES, c->gpr[R_DI] & am, sz, a);
		advance(c, R_SI, asz, d);
		advance(c, R_DI, asz, d);
		return true;
	case STR_STOS:
		soft_mem_write(c, S_ES, c->gpr[R_DI] & am, sz, c->gpr[R_AX]);
		advance(c, R_DI, asz, d);
		return true;
	case STR_LODS:
		a = soft_mem_read(c, i->seg, c->gpr[R_SI] & am, sz);
		soft_reg_write(c, R_AX, sz, a);
		advance(c, R_SI, asz, d);
		return true;
	case STR_CMPS:
		a = soft_mem_read(c, i->seg, c->gpr[R_SI] & am, sz);
		b = soft_mem_read(c, S_ES, c->gpr[R_DI] & am, sz);
		advance(c, R_SI, asz, d);
		advance(c, R_DI, asz, d);
		break;
	default: /* SCAS */
		a = c->gpr[R_AX] & m;
		b = soft_mem_read(c, S_ES, c->gpr[R_DI] & am, sz);
		advance(c, R_DI, asz, d);
		break;
	}
	r = (a - b) & m;
	lf_record(c, SOFT_LF_SUB, sz, a, b, r);
	if (i->flags & SOFT_I_REP)
		return r == 0;
	if (i->flags & SOFT_I_REPNE)
		return r != 0;
	return true;
}

static inline __attribute__((always_inline)) void string_op(struct soft_cpu *c,
							    const struct soft_insn *i,
							    unsigned kind)
{
	int64_t d = (c->rflags & X86_DF) ? -(int64_t)i->osz : i->osz;
	unsigned asz = i->asz;
	uint64_t n;

	if (!(i->flags & (SOFT_I_REP | SOFT_I_REPNE))) {
		step(c, i, kind, d);
		return;
	}
	n = c->gpr[R_CX] & soft_size_mask(asz);
	for (unsigned budget = SOFT_REP_CHUNK; n; budget--) {
		if (!budget) {
			c->next_rip = c->rip; /* not done: run again after an interrupt check */
			return;
		}
		bool go_on = step(c, i, kind, d);

		soft_reg_write(c, R_CX, asz, --n);
		if (!go_on)
			return;
		if (c->dbg_data && (c->dr[6] & 0xf)) {
			/* a data breakpoint traps after this iteration (SDM Vol.3 §18.3.1.2) */
			if (n)
				c->next_rip = c->rip;
			return;
		}
	}
}

SOFT_OP(movs)
{
	string_op(c, i, STR_MOVS);
}

SOFT_OP(cmps)
{
	string_op(c, i, STR_CMPS);
}

SOFT_OP(stos)
{
	string_op(c, i, STR_STOS);
}

SOFT_OP(lods)
{
	string_op(c, i, STR_LODS);
}

SOFT_OP(scas)
{
	string_op(c, i, STR_SCAS);
}
