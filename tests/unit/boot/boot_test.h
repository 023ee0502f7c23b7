/* SPDX-License-Identifier: MIT */
/* Helpers shared by the boot unit tests: guests of a given size, temp files. */
#ifndef COVE_TESTS_BOOT_TEST_H
#define COVE_TESTS_BOOT_TEST_H

#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "mmu/guest_mem.h"
#include "pc.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* RAM laid out as the VMM does: [0, min(size, 3G)) and the rest from 4G. */
static inline struct guest_mem *test_guest(uint64_t size)
{
	struct guest_mem *m;
	uint64_t low = size < PC_MMIO_HOLE_BASE ? size : PC_MMIO_HOLE_BASE;

	ck_assert_int_eq(guest_mem_create(&m), 0);
	ck_assert_int_eq(guest_mem_add_ram(m, 0, low), 0);
	if (size > low)
		ck_assert_int_eq(guest_mem_add_ram(m, PC_RAM_ABOVE_4G, size - low), 0);
	return m;
}

/* Writes buf to a new temp file; returns its path (g_free it after unlinking). */
static inline char *test_tmpfile(const void *buf, size_t len)
{
	GError *err = NULL;
	char *path = NULL;
	int fd = g_file_open_tmp("cove-boot-XXXXXX", &path, &err);

	ck_assert_msg(fd >= 0, "temp file: %s", err ? err->message : "?");
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	return path;
}

static inline void test_rmfile(char *path)
{
	if (path)
		g_unlink(path);
	g_free(path);
}

static inline uint32_t test_rd32(struct guest_mem *m, uint64_t gpa)
{
	uint32_t v = 0;

	ck_assert_int_eq(guest_mem_read(m, gpa, &v, 4), 0);
	return v;
}

static inline uint64_t test_rd64(struct guest_mem *m, uint64_t gpa)
{
	uint64_t v = 0;

	ck_assert_int_eq(guest_mem_read(m, gpa, &v, 8), 0);
	return v;
}

static inline int test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif
