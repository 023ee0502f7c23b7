/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "boot/e820.h"
#include "boot_test.h"

static void assert_entry(const struct e820_entry *e, uint64_t addr, uint64_t size, uint32_t type)
{
	ck_assert_uint_eq(e->addr, addr);
	ck_assert_uint_eq(e->size, size);
	ck_assert_uint_eq(e->type, type);
}

START_TEST(test_e820_splits_low_and_high_ram_around_the_bios_area)
{
	struct guest_mem *m = test_guest(4 * GiB); /* 3G below the hole, 1G above 4G */
	struct e820_entry e[8];
	int n = e820_build(m, e, 8);

	ck_assert_int_eq(n, 4);
	assert_entry(&e[0], 0, PC_EBDA_BASE, E820_RAM);
	assert_entry(&e[1], PC_EBDA_BASE, PC_BIOS_END - PC_EBDA_BASE, E820_RESERVED);
	assert_entry(&e[2], PC_HIGH_RAM_BASE, PC_MMIO_HOLE_BASE - PC_HIGH_RAM_BASE, E820_RAM);
	assert_entry(&e[3], PC_RAM_ABOVE_4G, 1 * GiB, E820_RAM);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_e820_sorts_and_merges_abutting_regions)
{
	struct guest_mem *m;
	struct e820_entry e[8];
	int n;

	/* Added out of order, and the low RAM in two abutting pieces. */
	ck_assert_int_eq(guest_mem_create(&m), 0);
	ck_assert_int_eq(guest_mem_add_ram(m, PC_RAM_ABOVE_4G, 64 * MiB), 0);
	ck_assert_int_eq(guest_mem_add_ram(m, 32 * MiB, 32 * MiB), 0);
	ck_assert_int_eq(guest_mem_add_ram(m, 0, 32 * MiB), 0);
	n = e820_build(m, e, 8);
	ck_assert_int_eq(n, 4);
	assert_entry(&e[0], 0, PC_EBDA_BASE, E820_RAM);
	assert_entry(&e[1], PC_EBDA_BASE, PC_BIOS_END - PC_EBDA_BASE, E820_RESERVED);
	assert_entry(&e[2], PC_HIGH_RAM_BASE, 63 * MiB, E820_RAM);
	assert_entry(&e[3], PC_RAM_ABOVE_4G, 64 * MiB, E820_RAM);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_e820_tiny_guest_reports_only_what_exists)
{
	struct guest_mem *m = test_guest(512 * 1024);
	struct e820_entry e[8];

	/* 512K of RAM ends below the EBDA: nothing reserved, nothing invented. */
	ck_assert_int_eq(e820_build(m, e, 8), 1);
	assert_entry(&e[0], 0, 512 * 1024, E820_RAM);
	guest_mem_destroy(m);

	m = test_guest(1 * MiB);
	ck_assert_int_eq(e820_build(m, e, 8), 2);
	assert_entry(&e[0], 0, PC_EBDA_BASE, E820_RAM);
	assert_entry(&e[1], PC_EBDA_BASE, PC_BIOS_END - PC_EBDA_BASE, E820_RESERVED);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_e820_reserved_window_inside_a_region_that_starts_in_it)
{
	struct guest_mem *m;
	struct e820_entry e[8];

	/* A region from 0xe0000: only its part below 1M is reserved. */
	ck_assert_int_eq(guest_mem_create(&m), 0);
	ck_assert_int_eq(guest_mem_add_ram(m, 0xe0000, 2 * MiB), 0);
	ck_assert_int_eq(e820_build(m, e, 8), 2);
	assert_entry(&e[0], 0xe0000, PC_BIOS_END - 0xe0000, E820_RESERVED);
	assert_entry(&e[1], PC_BIOS_END, 2 * MiB - (PC_BIOS_END - 0xe0000), E820_RAM);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_e820_rejects_a_too_small_table)
{
	struct guest_mem *m = test_guest(4 * GiB);
	struct e820_entry e[3];

	ck_assert_int_eq(e820_build(m, e, 3), -ENOSPC);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_e820_empty_guest_has_no_entries)
{
	struct guest_mem *m;
	struct e820_entry e[1];

	ck_assert_int_eq(guest_mem_create(&m), 0);
	ck_assert_int_eq(e820_build(m, e, 1), 0);
	guest_mem_destroy(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("e820");
	TCase *tc = tcase_create("e820");

	tcase_add_test(tc, test_e820_splits_low_and_high_ram_around_the_bios_area);
	tcase_add_test(tc, test_e820_sorts_and_merges_abutting_regions);
	tcase_add_test(tc, test_e820_tiny_guest_reports_only_what_exists);
	tcase_add_test(tc, test_e820_reserved_window_inside_a_region_that_starts_in_it);
	tcase_add_test(tc, test_e820_rejects_a_too_small_table);
	tcase_add_test(tc, test_e820_empty_guest_has_no_entries);
	suite_add_tcase(s, tc);
	return test_run(s);
}
