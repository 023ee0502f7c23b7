/* SPDX-License-Identifier: MIT */
/*
 * Arithmetic flags, evaluated lazily (flags.c): an ALU handler records what
 * it computed and the flags are worked out only when something reads them.
 * Everything outside flags.c reads and writes flags through these functions.
 */
#ifndef COVE_SOFT_FLAGS_H
#define COVE_SOFT_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

struct soft_cpu;

/* What produced the pending flags (soft_lazy_flags.op). */
enum soft_lf_op {
	SOFT_LF_NONE = 0, /* rflags holds every arithmetic flag */
	SOFT_LF_ADD,	  /* res = src1 + src2 */
	SOFT_LF_ADC,	  /* res = src1 + src2 + 1 (adc with CF set; CF clear records ADD) */
	SOFT_LF_SUB,	  /* res = src1 - src2 (sub, cmp, neg with src1 = 0, cmpxchg, scas) */
	SOFT_LF_SBB,	  /* res = src1 - src2 - 1 (sbb with CF set) */
	SOFT_LF_LOGIC,	  /* and/or/xor/test: CF = OF = AF = 0 */
	SOFT_LF_INC,	  /* res = src1 + 1; CF is kept in rflags */
	SOFT_LF_DEC,	  /* res = src1 - 1; CF is kept in rflags */
	SOFT_LF_RES,	  /* SF/ZF/PF from res; CF, OF and AF are the X86_* bits in src2 */
};

struct soft_lazy_flags {
	uint64_t res;  /* result of the last flag-setting operation, masked to size */
	uint64_t src1; /* its destination operand before the operation */
	uint64_t src2; /* its source operand (SOFT_LF_RES: the explicit CF/OF/AF bits) */
	uint8_t op;    /* enum soft_lf_op; 0: rflags already holds them */
	uint8_t size;  /* operand size in bytes */
};

/* Full RFLAGS with the arithmetic flags worked out. */
uint64_t soft_flags_get(struct soft_cpu *c);
/* Sets all of RFLAGS (bit 1 forced on); callers mask what an instruction may change. */
void soft_flags_set(struct soft_cpu *c, uint64_t v);
/* Jcc/SETcc/CMOVcc condition cc (0..15, the low nibble of the opcode). */
bool soft_cond(struct soft_cpu *c, unsigned cc);
/* CF alone, cheaper than soft_flags_get() (adc, sbb, rcl, rcr, inc/dec). */
bool soft_flags_cf(struct soft_cpu *c);
/* Replaces the arithmetic flags in mask with those in v, keeping the others. */
void soft_flags_put(struct soft_cpu *c, uint64_t mask, uint64_t v);

#endif
