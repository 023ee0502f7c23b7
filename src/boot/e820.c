/* SPDX-License-Identifier: MIT */
#include "boot/e820.h"

#include <errno.h>

#include "pc.h"

/* Each region splits into at most three pieces around the reserved window. */
#define E820_MAX_PIECES (GUEST_MEM_MAX_REGIONS * 3)

static void add_piece(struct e820_entry *p, unsigned *n, uint64_t start, uint64_t end,
		      uint32_t type)
{
	if (start < end)
		p[(*n)++] = (struct e820_entry){ .addr = start, .size = end - start, .type = type };
}

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int e820_build(const struct guest_mem *mem, struct e820_entry *out, unsigned max)
{
	struct e820_entry pieces[E820_MAX_PIECES];
	unsigned nregions = guest_mem_nregions(mem), n = 0, count = 0;

	if (nregions > GUEST_MEM_MAX_REGIONS)
		nregions = GUEST_MEM_MAX_REGIONS;
	for (unsigned i = 0; i < nregions; i++) {
		const struct guest_mem_region *r = guest_mem_region(mem, i);
		uint64_t start = r->gpa, end = r->gpa + r->size;
		/* The EBDA and the BIOS area: ACPI and MP tables live at 0xE0000. */
		uint64_t rs = clamp(PC_EBDA_BASE, start, end), re = clamp(PC_BIOS_END, start, end);

		add_piece(pieces, &n, start, rs, E820_RAM);
		add_piece(pieces, &n, rs, re, E820_RESERVED);
		add_piece(pieces, &n, re, end, E820_RAM);
	}

	/* Insertion sort: a handful of entries. */
	for (unsigned i = 1; i < n; i++) {
		struct e820_entry e = pieces[i];
		unsigned j = i;

		for (; j > 0 && pieces[j - 1].addr > e.addr; j--)
			pieces[j] = pieces[j - 1];
		pieces[j] = e;
	}

	for (unsigned i = 0; i < n; i++) {
		struct e820_entry *prev = count ? &out[count - 1] : NULL;

		if (prev && prev->type == pieces[i].type &&
		    prev->addr + prev->size == pieces[i].addr) {
			prev->size += pieces[i].size;
			continue;
		}
		if (count == max)
			return -ENOSPC;
		out[count++] = pieces[i];
	}
	return (int)count;
}
