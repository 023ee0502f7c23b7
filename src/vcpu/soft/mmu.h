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

struct soft_mmu_state {
	struct soft_tlb_entry read[SOFT_TLB_SIZE], write[SOFT_TLB_SIZE], exec[SOFT_TLB_SIZE];
	uint64_t hits, misses, flushes;
};

/* CR3 write (keeps global pages unless all), CR0.PG/CR4 paging changes (all). */
void soft_mmu_flush(struct soft_cpu *c, bool all);
void soft_mmu_invlpg(struct soft_cpu *c, uint64_t la);

#endif
