/* SPDX-License-Identifier: MIT */
/* The BIOS-style memory map (e820) cove reports to bzImage and multiboot guests. */
#ifndef COVE_BOOT_E820_H
#define COVE_BOOT_E820_H

#include <stdint.h>

#include "mmu/guest_mem.h"

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

/*
 * Builds the map from guest_mem's regions: RAM minus [PC_EBDA_BASE, 1M), which
 * is reported reserved where it is backed by RAM (EBDA, and the BIOS area that
 * holds the ACPI and MP tables). Sorted by address, adjacent entries of one
 * type merged. Returns the number of entries, or -ENOSPC if more than max.
 */
int e820_build(const struct guest_mem *mem, struct e820_entry *out, unsigned max);

#endif
