/* SPDX-License-Identifier: MIT */
/*
 * memsweep: writes a pattern of its own to every 4 KiB page of RAM above the guest image (the
 * RAM size from the multiboot mem_upper field, Multiboot 0.6.96 §3.3), then reads every page
 * back and checks it. For block RAM (--memory-file with a small --memory-resident) this touches
 * every block, in order, twice: each block is mapped, released and mapped again from the file.
 * Paging stays off (32-bit flat segments reach the 1 GiB and more that the tests give it).
 * Prints no sizes (QEMU keeps the top 128 KiB of RAM for its tables, cove does not): with
 * min_mib=N on the command line it checks that RAM reaches N MiB, so a test knows the sweep
 * covered what it gave.
 */
#include "guest.h"

extern char __image_end[];

/* A value per page that no other page has, and that a page shifted by a block would not. */
static uint32_t page_value(uint32_t page)
{
	uint32_t x = page * 0x9e3779b1u;

	return x ^ (x >> 15) ^ 0x5bd1e995u;
}

static void fill_page(uint32_t *p, uint32_t v)
{
	uint32_t n = PAGE_SIZE / 4 - 2;
	uint32_t *q = p + 1;

	p[0] = (uint32_t)(ulong)p; /* the page's own address */
	asm volatile("cld; rep stosl" : "+D"(q), "+c"(n) : "a"(v) : "memory");
	p[PAGE_SIZE / 4 - 1] = ~(uint32_t)(ulong)p;
}

static bool page_ok(const uint32_t *p, uint32_t v)
{
	uint32_t n = PAGE_SIZE / 4 - 2;
	const uint32_t *q = p + 1;
	uint8_t differ;

	if (p[0] != (uint32_t)(ulong)p || p[PAGE_SIZE / 4 - 1] != ~(uint32_t)(ulong)p)
		return false;
	asm volatile("cld; repe scasl; setne %2"
		     : "+D"(q), "+c"(n), "=qm"(differ)
		     : "a"(v)
		     : "memory", "cc");
	return !differ;
}

void guest_main(void)
{
	uint32_t upper = mb_mem_upper_kib();
	ulong start = ((ulong)__image_end + PAGE_SIZE - 1) & ~(ulong)(PAGE_SIZE - 1);
	ulong end = 0x100000ul + (ulong)upper * 1024;
	uint32_t pages, bad = 0;

	if (!check(upper != 0 && end > start + PAGE_SIZE, "multiboot gives the RAM size"))
		return;
	pages = (uint32_t)((end - start) / PAGE_SIZE);
	for (uint32_t i = 0; i < pages; i++)
		fill_page((uint32_t *)(start + (ulong)i * PAGE_SIZE), page_value(i));
	for (uint32_t i = 0; i < pages; i++)
		if (!page_ok((const uint32_t *)(start + (ulong)i * PAGE_SIZE), page_value(i)))
			bad++;
	check((end >> 20) + 1 >= mb_param("min_mib", 0), "RAM reaches min_mib (less 1 MiB)");
	check_eq("pages that read back wrong", bad, 0);
}
