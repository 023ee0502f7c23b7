/* SPDX-License-Identifier: MIT */
/*
 * Paging and the translation cache for the soft CPU (mmu.c). Stage 1 keeps a
 * direct-mapped TLB; stage 2 replaces it with shadow paging (src/mmu/shadow.c)
 * behind the same functions.
 */
#ifndef COVE_SOFT_MMU_H
#define COVE_SOFT_MMU_H

#include <stdbool.h>
#include <stdint.h>

struct soft_cpu;

#define SOFT_TLB_BITS 10
#define SOFT_TLB_SIZE (1u << SOFT_TLB_BITS)

struct soft_tlb_entry {
	uint64_t tag;	 /* linear page | valid/permission bits, see mmu.c */
	uintptr_t hva;	 /* host address of the page, 0 for MMIO */
	uint64_t gpa;	 /* guest-physical page */
};

/* Guest pages whose writes seg.c must hear of (seg.h soft_watch_page). */
#define SOFT_MMU_WATCH_MAX 64 /* seg.c watches at most 2 tables x 17 pages */

struct soft_mmu_state {
	struct soft_tlb_entry read[SOFT_TLB_SIZE], write[SOFT_TLB_SIZE], exec[SOFT_TLB_SIZE];
	/* mmu.c's bookkeeping */
	uint32_t flags;		 /* M_* in mmu.c */
	uint64_t mem_gen;	 /* soft_vm_mem_generation() at the last flush */
	uint64_t feat;		 /* paging features from CPUID (F_* in mmu.c), 0: not yet read */
	const void *feat_cpuid;	 /* the CPUID table feat came from */
	unsigned nwatch;
	uint64_t watch[SOFT_MMU_WATCH_MAX]; /* page | kind */
	uint64_t hits, misses, flushes;
};

/* CR3 write (keeps global pages unless all), CR0.PG/CR4 paging changes (all). */
void soft_mmu_flush(struct soft_cpu *c, bool all);
void soft_mmu_invlpg(struct soft_cpu *c, uint64_t la);

/*
 * frame.c built a frame on guest-physical page gpa: cached write translations
 * to it must go slow again, so that writes reach soft_frame_written(). Called
 * on the CPU that built the frame; other CPUs get SOFT_EV_FLUSH.
 */
void soft_mmu_code_added(struct soft_cpu *c, uint64_t gpa);

#endif
