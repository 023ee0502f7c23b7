/* SPDX-License-Identifier: MIT */
/*
 * Guest memory as the soft CPU's instructions see it (implemented in mmu.c).
 *
 * Segment-relative accesses (soft_mem_*) apply the segment (seg.c: base,
 * limit, rights; #GP or #SS with the right error code) and then the linear
 * accesses below. Linear accesses (soft_lin_*) go through paging (#PF with
 * the exact error code and CR2) and the translation cache to guest-physical,
 * and then to RAM or, outside RAM, to MMIO (the irqchip's LAPIC/IOAPIC or the
 * VMM's in-line handler). A write to a page that holds code frames invalidates
 * them (frame.c) and sets c->smc when it hit the running block's page.
 *
 * Every function either completes or raises a fault through soft_raise()
 * (longjmp): callers never see a failure return. size is 1, 2, 4 or 8;
 * accesses may be unaligned and may cross a page (both pages are checked
 * before either is touched).
 */
#ifndef COVE_SOFT_MEM_H
#define COVE_SOFT_MEM_H

#include <stdint.h>

struct soft_cpu;

/* Access kinds, for permission checks and #PF error codes. */
enum {
	SOFT_ACC_READ = 0,
	SOFT_ACC_WRITE = 1u << 0,
	SOFT_ACC_EXEC = 1u << 1,
	SOFT_ACC_IMPLICIT = 1u << 2, /* supervisor access whatever the CPL (GDT, IDT, TSS) */
};

uint64_t soft_mem_read(struct soft_cpu *c, int seg, uint64_t ea, unsigned size);
/* Like soft_mem_read, but faults as a write would (for read-modify-write). */
uint64_t soft_mem_read_rmw(struct soft_cpu *c, int seg, uint64_t ea, unsigned size);
void soft_mem_write(struct soft_cpu *c, int seg, uint64_t ea, unsigned size, uint64_t v);
/* Checks [ea, ea+len) for access without touching it (cmpxchg16b, fxsave, ...). */
void soft_mem_check(struct soft_cpu *c, int seg, uint64_t ea, uint64_t len, unsigned acc);

uint64_t soft_lin_read(struct soft_cpu *c, uint64_t la, unsigned size, unsigned acc);
void soft_lin_write(struct soft_cpu *c, uint64_t la, unsigned size, uint64_t v, unsigned acc);

/*
 * Instruction fetch for the decoder: copies up to len bytes at linear la,
 * stopping at the end of la's page; returns the count and the guest-physical
 * address of la in *gpa. Faults (#PF with I/D, #GP) are raised.
 */
unsigned soft_fetch(struct soft_cpu *c, uint64_t la, uint8_t *buf, unsigned len, uint64_t *gpa);

#endif
