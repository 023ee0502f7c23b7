/* SPDX-License-Identifier: MIT */
/*
 * The compact decoded form of one guest instruction. decode.c fills it from
 * Zydis once, when a frame is built; after that the guest bytes are not looked
 * at again until the frame is invalidated. 32 bytes, so a block of them stays
 * in few cache lines.
 */
#ifndef COVE_SOFT_INSN_H
#define COVE_SOFT_INSN_H

#include <stdint.h>

struct soft_cpu;
struct soft_insn;

/* Executes one instruction (cpu.h has the conventions). */
typedef void (*soft_exec_fn)(struct soft_cpu *c, const struct soft_insn *i);

/* soft_insn.flags */
enum {
	SOFT_I_MEM = 1u << 0,	     /* the r/m operand is memory (base/index/scale/disp) */
	SOFT_I_RIPREL = 1u << 1,     /* memory operand is RIP-relative: disp is from next rip */
	SOFT_I_REP = 1u << 2,	     /* F3 on a string instruction (rep / repe) */
	SOFT_I_REPNE = 1u << 3,	     /* F2 on a string instruction */
	SOFT_I_LOCK = 1u << 4,
	SOFT_I_BRANCH = 1u << 5,     /* control transfer: ends the block, needs a stub */
	SOFT_I_UNSAFE = 1u << 6,     /* privileged/sensitive: ends the block, run by the monitor */
	SOFT_I_DIRECT = 1u << 7,     /* branch target is known at decode time: target */
	SOFT_I_COND = 1u << 8,	     /* conditional branch: falls through to next rip too */
	SOFT_I_SEG_OVERRIDE = 1u << 9,
	SOFT_I_KEEPS_CHAINS = 1u << 10, /* unsafe, but leaves mode, CS and translations alone */
};

struct soft_insn {
	soft_exec_fn exec;
	uint16_t flags;	   /* SOFT_I_* */
	uint16_t mnemonic; /* ZydisMnemonic: for patterns, stats, debugging */
	uint8_t len;	   /* 1..15 bytes */
	uint8_t osz;	   /* operand size in bytes: 1, 2, 4, 8 */
	uint8_t asz;	   /* address size in bytes: 2, 4, 8 */
	uint8_t seg;	   /* S_* for the memory operand (default or override) */
	uint8_t reg;	   /* ModRM.reg (with REX.R) or the register in the opcode (also in rm) */
	uint8_t rm;	   /* register operand when !SOFT_I_MEM (with REX.B) */
	uint8_t base;	   /* SOFT_NOREG when absent */
	uint8_t index;	   /* SOFT_NOREG when absent */
	uint8_t scale;	   /* log2: 0..3 */
	uint8_t op;	   /* family sub-operation or condition code */
	uint8_t osz2;	   /* second operand size (movsx/movzx source, shifts' count, ...) */
	uint8_t vreg;	   /* VEX.vvvv register (BMI), SOFT_NOREG when absent */
	int32_t disp;
	uint64_t imm;	   /* immediate, sign-extended where the encoding says so; for a direct
			      branch, the target rip (absolute); moffs: the offset */
	uint16_t imm2;	   /* enter's nesting level, a far pointer's selector, a second imm8 */
};

_Static_assert(sizeof(struct soft_insn) <= 48, "keep soft_insn compact");

/*
 * Operand access for handlers (operand.c). Memory forms compute the effective
 * address from the decoded fields, apply the segment (seg.c: limits and
 * rights) and go through mem.h; faults longjmp.
 */
uint64_t soft_ea(struct soft_cpu *c, const struct soft_insn *i);
uint64_t soft_rm_read(struct soft_cpu *c, const struct soft_insn *i, unsigned size);
/* Reads the r/m operand and checks it can be written back (a read-modify-write). */
uint64_t soft_rm_read_rmw(struct soft_cpu *c, const struct soft_insn *i, unsigned size);
void soft_rm_write(struct soft_cpu *c, const struct soft_insn *i, unsigned size, uint64_t v);

/*
 * The stack (operand.c): SS-relative at rSP with the stack address size
 * c->ssize (SDM Vol.1 §6.2.3). soft_push writes first and moves rSP only
 * after the write completed; soft_pop reads and then moves rSP. For several
 * accesses that must all succeed before rSP changes, use soft_stack_read/
 * soft_stack_write at offsets from rSP and soft_stack_add at the end.
 */
void soft_push(struct soft_cpu *c, unsigned size, uint64_t v);
uint64_t soft_pop(struct soft_cpu *c, unsigned size);
uint64_t soft_stack_read(struct soft_cpu *c, int64_t off, unsigned size);
void soft_stack_write(struct soft_cpu *c, int64_t off, unsigned size, uint64_t v);
void soft_stack_add(struct soft_cpu *c, int64_t delta);

/* System instructions (exec_sys.c, engineer "sys"): a switch on i->mnemonic. */
void soft_exec_system(struct soft_cpu *c, const struct soft_insn *i);
/* Raises #UD: unsupported or invalid-in-this-mode instructions. */
void soft_op_ud(struct soft_cpu *c, const struct soft_insn *i);

#endif
