/* SPDX-License-Identifier: MIT */
/* guest_mem: every range is checked against the map, overflow included. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/guest_mem.h"
#include "../check_main.h"

static struct guest_mem *two_regions(void)
{
	struct guest_mem *m;

	ck_assert_int_eq(guest_mem_create(&m), 0);
	ck_assert_int_eq(guest_mem_add_ram(m, 0, 1 << 20), 0);
	ck_assert_int_eq(guest_mem_add_ram(m, 4ull << 30, 1 << 20), 0);
	return m;
}

START_TEST(test_guest_mem_rejects_overlap_and_misalignment)
{
	struct guest_mem *m = two_regions();

	ck_assert_int_eq(guest_mem_add_ram(m, 0x80000, 0x100000), -EEXIST);
	ck_assert_int_eq(guest_mem_add_ram(m, 0x200001, 0x1000), -EINVAL);
	ck_assert_int_eq(guest_mem_add_ram(m, ~0xfffull, 0x2000), -EINVAL); /* wraps */
	ck_assert_uint_eq(guest_mem_ram_size(m), 2 << 20);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_guest_mem_is_ram_checks_whole_range)
{
	struct guest_mem *m = two_regions();

	ck_assert(guest_mem_is_ram(m, 0, 1 << 20));
	ck_assert(!guest_mem_is_ram(m, 0, (1 << 20) + 1));
	ck_assert(!guest_mem_is_ram(m, (1 << 20) - 4, 8));
	ck_assert(!guest_mem_is_ram(m, 0x1000, 0));
	ck_assert(!guest_mem_is_ram(m, ~0ull - 2, 8)); /* gpa + len wraps */
	ck_assert(!guest_mem_is_ram(m, 0x1000, ~0ull));
	ck_assert(guest_mem_is_ram(m, (4ull << 30) + 100, 100));
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_guest_mem_map_stays_inside_one_region)
{
	struct guest_mem *m = two_regions();
	uint8_t *p;

	p = guest_mem_map(m, 0x1000, 0x100, true);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_eq(guest_mem_map(m, (1 << 20) - 8, 16, false), NULL);
	ck_assert_ptr_eq(guest_mem_map(m, 0x2000000, 1, false), NULL);
	ck_assert_ptr_eq(guest_mem_map(m, 0x1000, ~0ull - 0x800, false), NULL);
	guest_mem_unmap(m, p, 0x1000, 0x100, true);
	guest_mem_destroy(m);
}
END_TEST

static uint64_t hook_gpa, hook_len;
static int hook_calls;

static void hook(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	hook_gpa = gpa;
	hook_len = len;
	hook_calls++;
}

START_TEST(test_guest_mem_copy_and_write_hook)
{
	struct guest_mem *m = two_regions();
	uint8_t in[64], out[64];

	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	guest_mem_set_write_hook(m, hook, NULL);
	ck_assert_int_eq(guest_mem_write(m, 0x3000, in, sizeof(in)), 0);
	ck_assert_int_eq(hook_calls, 1);
	ck_assert_uint_eq(hook_gpa, 0x3000);
	ck_assert_uint_eq(hook_len, 64);
	ck_assert_int_eq(guest_mem_read(m, 0x3000, out, sizeof(out)), 0);
	ck_assert_mem_eq(in, out, sizeof(in));
	/* a write that runs off the end is refused whole, and not reported */
	ck_assert_int_eq(guest_mem_write(m, (1 << 20) - 32, in, sizeof(in)), -EFAULT);
	ck_assert_int_eq(hook_calls, 1);
	ck_assert_int_eq(guest_mem_read(m, 0xfffffffffffffff0ull, out, 64), -EFAULT);
	guest_mem_destroy(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("guest_mem");
	TCase *tc = tcase_create("map");

	tcase_add_test(tc, test_guest_mem_rejects_overlap_and_misalignment);
	tcase_add_test(tc, test_guest_mem_is_ram_checks_whole_range);
	tcase_add_test(tc, test_guest_mem_map_stays_inside_one_region);
	tcase_add_test(tc, test_guest_mem_copy_and_write_hook);
	suite_add_tcase(s, tc);
	return cove_check_run(s);
}
