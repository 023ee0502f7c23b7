// SPDX-License-Identifier: MIT
/*
 * Near control transfers: jmp, jcc, call, ret (with imm16), loop/loope/
 * loopne and jcxz/jecxz/jrcxz (SDM Vol.2 per instruction). The target is
 * truncated to the operand size (16-bit code runs with IP wrapping at 64K),
 * and checked before anything else changes: against the CS limit outside
 * 64-bit mode, for canonical form inside it (#GP(0) at the branch).
 * Direct targets arrive absolute in i->imm, already truncated by the decoder.
 */
#include "exec.h"

static inline uint64_t target_check(struct soft_cpu *c, unsigned osz, uint64_t t)
{
	if (osz == 2)
		t &= 0xffff;
	else if (osz == 4)
		t &= 0xffffffff;
	if (c->code64) {
		if ((uint64_t)((int64_t)(t << 16) >> 16) != t)
			soft_raise(c, X86_EXC_GP, 0);
	} else if (t > c->seg[S_CS].limit) {
		soft_raise(c, X86_EXC_GP, 0);
	}
	return t;
}

void soft_branch(struct soft_cpu *c, unsigned osz, uint64_t target)
{
	c->next_rip = target_check(c, osz, target);
}

SOFT_OP(jmp)
{
	soft_branch(c, i->osz, i->imm);
}

SOFT_OP(jmp_E)
{
	uint64_t ea;

	soft_branch(c, i->osz, rm_load(c, i, i->osz, &ea));
}

SOFT_OP(jcc)
{
	if (soft_cond(c, i->op))
		soft_branch(c, i->osz, i->imm);
}

SOFT_OP(call)
{
	uint64_t t = target_check(c, i->osz, i->imm);

	soft_push(c, i->osz, c->rip + i->len);
	c->next_rip = t;
}

SOFT_OP(call_E)
{
	uint64_t ea, t = target_check(c, i->osz, rm_load(c, i, i->osz, &ea));

	soft_push(c, i->osz, c->rip + i->len);
	c->next_rip = t;
}

/* ret and ret imm16: the immediate is released after the return address. */
SOFT_OP(ret)
{
	uint64_t t = target_check(c, i->osz, soft_stack_read(c, 0, i->osz));

	soft_stack_add(c, (int64_t)i->osz + (int64_t)(i->imm & 0xffff));
	c->next_rip = t;
}

/* The loop counter is CX, ECX or RCX by address size; no flags change. */
static inline uint64_t count_down(struct soft_cpu *c, const struct soft_insn *i)
{
	uint64_t n = (c->gpr[R_CX] - 1) & soft_size_mask(i->asz);

	return n;
}

static inline void loop_common(struct soft_cpu *c, const struct soft_insn *i, int zf_need)
{
	uint64_t n = count_down(c, i);
	bool take = n != 0;

	if (take && zf_need >= 0)
		take = soft_cond(c, 4) == zf_need;
	if (take)
		target_check(c, i->osz, i->imm);
	soft_reg_write(c, R_CX, i->asz, n);
	if (take)
		c->next_rip = i->imm;
}

SOFT_OP(loop)
{
	loop_common(c, i, -1);
}

SOFT_OP(loope)
{
	loop_common(c, i, 1);
}

SOFT_OP(loopne)
{
	loop_common(c, i, 0);
}

SOFT_OP(jcxz)
{
	if (!(c->gpr[R_CX] & soft_size_mask(i->asz)))
		soft_branch(c, i->osz, i->imm);
}
