// SPDX-License-Identifier: MIT
/*
 * Operand access for instruction handlers: effective addresses (SDM Vol.1
 * §3.7.5; 16-bit forms Vol.2 Table 2-1), the r/m operand and the stack.
 * Addresses wrap at the instruction's address size; the stack pointer wraps
 * at the stack address size (SS.B, or 64 bits in 64-bit mode).
 */
#include "exec.h"

uint64_t soft_ea(struct soft_cpu *c, const struct soft_insn *i)
{
	return ea_of(c, i);
}

uint64_t soft_rm_read(struct soft_cpu *c, const struct soft_insn *i, unsigned size)
{
	uint64_t ea;

	return rm_load(c, i, size, &ea);
}

uint64_t soft_rm_read_rmw(struct soft_cpu *c, const struct soft_insn *i, unsigned size)
{
	uint64_t ea;

	return rm_load_rmw(c, i, size, &ea);
}

void soft_rm_write(struct soft_cpu *c, const struct soft_insn *i, unsigned size, uint64_t v)
{
	rm_store(c, i, size, is_mem(i) ? ea_of(c, i) : 0, v);
}

static inline uint64_t sp_mask(const struct soft_cpu *c)
{
	return soft_size_mask(c->ssize);
}

/* Writes rSP with the stack address size: a 16-bit stack changes SP only. */
static inline void set_sp(struct soft_cpu *c, uint64_t sp)
{
	soft_reg_write(c, R_SP, c->ssize, sp);
}

uint64_t soft_stack_read(struct soft_cpu *c, int64_t off, unsigned size)
{
	return soft_mem_read(c, S_SS, (c->gpr[R_SP] + (uint64_t)off) & sp_mask(c), size);
}

void soft_stack_write(struct soft_cpu *c, int64_t off, unsigned size, uint64_t v)
{
	soft_mem_write(c, S_SS, (c->gpr[R_SP] + (uint64_t)off) & sp_mask(c), size, v);
}

void soft_stack_add(struct soft_cpu *c, int64_t delta)
{
	set_sp(c, c->gpr[R_SP] + (uint64_t)delta);
}

void soft_push(struct soft_cpu *c, unsigned size, uint64_t v)
{
	uint64_t sp = (c->gpr[R_SP] - size) & sp_mask(c);

	soft_mem_write(c, S_SS, sp, size, v);
	set_sp(c, sp);
}

uint64_t soft_pop(struct soft_cpu *c, unsigned size)
{
	uint64_t v = soft_mem_read(c, S_SS, c->gpr[R_SP] & sp_mask(c), size);

	set_sp(c, c->gpr[R_SP] + size);
	return v;
}

void soft_op_ud(struct soft_cpu *c, const struct soft_insn *i)
{
	(void)i;
	soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
}
