/* SPDX-License-Identifier: MIT */
/*
 * Unsafe-instruction patterns (pattern.c, DESIGN.md "Unsafe instructions and
 * patterns"): short sequences of port I/O that recur, recognised on decoded
 * instructions and run in the monitor as one unit under a device checkpoint
 * (accel_io_handler.checkpoint), with every effect rolled back when the guest
 * state turns out not to follow the pattern.
 */
#ifndef COVE_SOFT_PATTERN_H
#define COVE_SOFT_PATTERN_H

#include <stdbool.h>
#include <stdint.h>

struct soft_block;
struct soft_frame;
struct soft_insn;
struct soft_vcpu;

enum soft_pattern_kind {
	SOFT_PAT_NONE = 0,
	SOFT_PAT_UART_TX,  /* in al,dx; test al,0x20 (0x60) | and al,0x20; jz back */
	SOFT_PAT_PIC_EOI,  /* [mov al,0x20;] out 0x20,al | out 0xa0,al; out 0x20,al */
	SOFT_PAT_PIT_LOAD, /* out 0x43,al; out 0x40,al; out 0x40,al, movs of al between */
	SOFT_PAT_CMOS,	   /* out 0x70,al; in al,0x71 | out 0x71,al, repeated */
};

#define SOFT_PATTERN_MAX_INSNS 16

/*
 * Matches seq[0..n): seq[0] is the unsafe instruction at rip, the others
 * follow it in fall-through order; prev is the instruction before seq[0] in
 * its block (NULL when seq[0] starts the block). Pure: looks at decoded
 * fields only. Returns the kind and, in *len, how many instructions of seq
 * the unit covers.
 */
enum soft_pattern_kind soft_pattern_match(const struct soft_insn *const *seq, unsigned n,
					  const struct soft_insn *prev, uint64_t rip,
					  unsigned *len);
const char *soft_pattern_name(enum soft_pattern_kind kind);

int soft_patterns_create(struct soft_vcpu *v);
void soft_patterns_destroy(struct soft_vcpu *v);
/* Frame f dies: cached units in it are dropped (frame.c). */
void soft_patterns_forget(struct soft_vcpu *v, const struct soft_frame *f);

/*
 * run.c, before the last instruction of block b when it is unsafe (c->rip at
 * it): true when a unit starting there ran to its end and was committed
 * (c->rip is past it); false with the state untouched (nothing matched, or
 * the unit was rolled back): execute the instruction the normal way.
 */
bool soft_pattern_run(struct soft_vcpu *v, struct soft_block *b);

#endif
