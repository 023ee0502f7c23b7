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

#include <stdbool.h>
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

/*
 * Locked read-modify-writes (a LOCK prefix, xchg with memory; SDM Vol.3
 * §9.1.2), atomic against the other vCPUs' threads:
 *
 *	struct soft_locked l;
 *	uint64_t old = soft_mem_lock_begin(c, seg, ea, size, &l), nv;
 *	do
 *		nv = f(old);
 *	while (!soft_mem_lock_commit(c, &l, &old, nv));
 *
 * begin checks the operand as a write (every fault is raised there, before
 * anything changes) and reads it; commit stores nv only if the operand still
 * holds old, and otherwise returns false with what it holds now in *old.
 * commit raises nothing. A naturally aligned operand in RAM takes a host
 * compare-and-swap on guest RAM, a full barrier as the locked instruction
 * is. A misaligned or page-crossing one is compared and stored under a
 * per-VM lock: atomic against other locked instructions, not against plain
 * stores of other vCPUs (a split lock the guest should not rely on). A
 * non-RAM operand (MMIO, ROM) is read and written as two accesses.
 */
struct soft_locked {
	uint8_t *hva[2]; /* the operand's pieces in RAM (one unless it crosses a page) */
	uint64_t gpa[2];
	unsigned n[2]; /* bytes per piece: n[1] = 0 for one piece */
	unsigned size;
	uint8_t kind;	/* mmu.c: host atomic, under the VM's lock, or two accesses */
	uint8_t notify; /* bit k: piece k's page has frames or is watched (ram_written) */
};

uint64_t soft_mem_lock_begin(struct soft_cpu *c, int seg, uint64_t ea, unsigned size,
			     struct soft_locked *l);
bool soft_mem_lock_commit(struct soft_cpu *c, struct soft_locked *l, uint64_t *old, uint64_t nv);
/*
 * lock cmpxchg16b at a 16-byte aligned ea (the caller checks the alignment):
 * true if the 16 bytes held cmp[0] (low), cmp[1] and now hold nv; else false
 * with what they hold in cmp. A fault is raised before anything changes.
 */
bool soft_mem_lock_cmpxchg16(struct soft_cpu *c, int seg, uint64_t ea, uint64_t cmp[2],
			     const uint64_t nv[2]);

uint64_t soft_lin_read(struct soft_cpu *c, uint64_t la, unsigned size, unsigned acc);
void soft_lin_write(struct soft_cpu *c, uint64_t la, unsigned size, uint64_t v, unsigned acc);

/*
 * Instruction fetch for the decoder: copies up to len bytes at linear la,
 * stopping at the end of la's page; returns the count and the guest-physical
 * address of la in *gpa. Faults (#PF with I/D, #GP) are raised.
 */
unsigned soft_fetch(struct soft_cpu *c, uint64_t la, uint8_t *buf, unsigned len, uint64_t *gpa);

#endif
