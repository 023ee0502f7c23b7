// SPDX-License-Identifier: MIT
/*
 * Stack instructions: push/pop (register, r/m, imm), pusha/popa, enter and
 * leave (SDM Vol.2 per instruction). Every memory access completes before
 * rSP or any other register changes, so a fault restarts cleanly. The stack
 * pointer wraps at the stack address size (operand.c).
 */
#include "exec.h"

SOFT_OP(push_E)
{
	uint64_t ea;

	/* push rsp / push [rsp+...] see rSP from before the push. */
	soft_push(c, i->osz, rm_load(c, i, i->osz, &ea));
}

SOFT_OP(push_I)
{
	soft_push(c, i->osz, i->imm);
}

/* pop r/m: a memory destination based on rSP uses the incremented rSP (SDM Vol.2 POP). */
SOFT_OP(pop_E)
{
	unsigned sz = i->osz;
	uint64_t v = soft_stack_read(c, 0, sz), old_sp = c->gpr[R_SP], ea;

	if (!is_mem(i)) {
		soft_stack_add(c, sz);
		soft_reg_write(c, i->rm, sz, v); /* pop rsp: the popped value wins */
		return;
	}
	soft_stack_add(c, sz);
	ea = ea_of(c, i);
	c->gpr[R_SP] = old_sp;
	soft_mem_write(c, i->seg, ea, sz, v);
	soft_stack_add(c, sz);
}

/* pusha/pushad: AX, CX, DX, BX, the original SP, BP, SI, DI. */
SOFT_OP(pusha)
{
	unsigned sz = i->osz;

	for (int r = R_AX; r <= R_DI; r++)
		soft_stack_write(c, -(int64_t)sz * (r + 1), sz, soft_reg_read(c, r, sz));
	soft_stack_add(c, -(int64_t)sz * 8);
}

/* popa/popad: the stored SP is skipped. */
SOFT_OP(popa)
{
	unsigned sz = i->osz;
	uint64_t v[8];

	for (int r = R_AX; r <= R_DI; r++)
		v[r] = soft_stack_read(c, (int64_t)sz * (7 - r), sz);
	for (int r = R_AX; r <= R_DI; r++)
		if (r != R_SP)
			soft_reg_write(c, r, sz, v[r]);
	soft_stack_add(c, (int64_t)sz * 8);
}

/*
 * enter size, level (SDM Vol.2 ENTER): push rBP, copy level-1 frame pointers
 * from the enclosing frame, push the new frame pointer, then allocate. The
 * final stack pointer is probed for a write as the SDM's fault list requires.
 */
SOFT_OP(enter)
{
	unsigned sz = i->osz, level = i->imm2 & 31;
	uint64_t size = i->imm & 0xffff, smask = soft_size_mask(c->ssize);
	uint64_t frame = (c->gpr[R_SP] - sz) & smask, bp = c->gpr[R_BP];
	int64_t off = -(int64_t)sz;

	soft_stack_write(c, off, sz, soft_reg_read(c, R_BP, sz));
	if (level) {
		for (unsigned k = 1; k < level; k++) {
			uint64_t v = soft_mem_read(c, S_SS, (bp - k * sz) & smask, sz);

			off -= sz;
			soft_stack_write(c, off, sz, v);
		}
		off -= sz;
		soft_stack_write(c, off, sz, frame);
	}
	soft_mem_check(c, S_SS, (c->gpr[R_SP] + (uint64_t)off - size) & smask, 1, SOFT_ACC_WRITE);
	soft_reg_write(c, R_BP, sz, frame);
	soft_stack_add(c, off - (int64_t)size);
}

/* leave: rSP <- rBP (stack address size), then pop rBP. */
SOFT_OP(leave)
{
	unsigned sz = i->osz;
	uint64_t smask = soft_size_mask(c->ssize);
	uint64_t v = soft_mem_read(c, S_SS, c->gpr[R_BP] & smask, sz);

	soft_reg_write(c, R_SP, c->ssize, c->gpr[R_BP] + sz);
	soft_reg_write(c, R_BP, sz, v);
}
