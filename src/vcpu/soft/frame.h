/* SPDX-License-Identifier: MIT */
/*
 * Code frames (frame.c, DESIGN.md "Code frames"): a guest code page is
 * analysed once into a frame of decoded instructions split into blocks that
 * end at control transfers; run.c executes blocks and follows their stubs.
 *
 * What mmu.c needs from frame.c, for self-modifying code and DMA:
 */
#ifndef COVE_SOFT_FRAME_H
#define COVE_SOFT_FRAME_H

#include <stdbool.h>
#include <stdint.h>

struct soft_cpu;
struct soft_vm;

/* Whether guest-physical page gpa (any address in it) holds frames. Cheap; any thread. */
bool soft_frame_page_has_code(struct soft_vm *vm, uint64_t gpa);

/*
 * [gpa, gpa + len) was written (by CPU c, or with c NULL by the VMM's DMA):
 * the frames on those pages are invalidated. When c's running block was on
 * one of them, c->smc is set so run.c leaves the block after the current
 * instruction.
 */
void soft_frame_written(struct soft_vm *vm, struct soft_cpu *c, uint64_t gpa, uint64_t len);

#endif
