/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes as a kernel file, through the same path
 * boot_load() takes (bzImage detection and loader, multiboot header search,
 * ELF and a.out-kludge loading) into a 64 MiB guest.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "boot/boot_priv.h"
#include "mmu/guest_mem.h"

#define FUZZ_RAM (64ULL << 20)

static struct guest_mem *fuzz_guest(void)
{
	static struct guest_mem *mem;

	if (!mem && (guest_mem_create(&mem) || guest_mem_add_ram(mem, 0, FUZZ_RAM)))
		abort();
	return mem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_file f = { .name = "fuzz-input", .fd = -1, .data = data, .size = size };
	struct boot_request req = { .kernel_path = "fuzz-input", .cmdline = "console=ttyS0" };
	struct boot_cpu_state cpu;
	enum boot_kind kind;
	GError *err = NULL;
	int ret = boot_load_file(fuzz_guest(), &f, &req, &kind, &cpu, &err);

	/* The contract: an error always comes with exactly one message, success with none. */
	if ((ret != 0) != (err != NULL))
		abort();
	g_clear_error(&err);
	return 0;
}
