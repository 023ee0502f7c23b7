/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config: arbitrary bytes as a cove config file (GKeyFile, group [vm]) through
 * config_load_file() and config_validate(), and as the argument of each command-line value
 * parser (config_parse_size, _block, _cpus, _disk, _on_reboot). The contract checked: a parser
 * fails with exactly one error, a one-line message, and succeeds with none; what it accepts is in
 * range. The file lives in a memfd, read back through /proc/self/fd.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		__builtin_trap();
}

/* ok with no error, or an error of one line and no ok. */
static void check_result(bool ok, GError *err)
{
	check(ok == !err);
	if (err) {
		check(err->message && !strchr(err->message, '\n'));
		g_error_free(err);
	}
}

static void load(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct cove_config c;
	GError *err = NULL;
	bool ok;

	if (fd < 0) {
		fd = memfd_create("fuzz-config", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	config_init(&c);
	ok = config_load_file(&c, path, &err);
	check_result(ok, err);
	if (ok) {
		check(c.ndisks <= COVE_MAX_DISKS);
		check(c.cpus >= 1 && c.cpus <= COVE_MAX_CPUS);
		check(!c.memory_block || !(c.memory_block & (c.memory_block - 1)));
		for (unsigned i = 0; i < c.ndisks; i++)
			check(c.disks[i].path && *c.disks[i].path);
		err = NULL;
		ok = config_validate(&c, &err);
		check_result(ok, err);
	}
	config_clear(&c);
}

static void values(const char *s)
{
	struct cove_disk_cfg disk = { 0 };
	enum cove_on_reboot reboot;
	GError *err = NULL;
	uint64_t v = 0;
	unsigned cpus = 0;
	bool ok;

	ok = config_parse_size(s, &v, &err);
	check_result(ok, err);
	check(!ok || v > 0);
	err = NULL;
	v = 0;
	ok = config_parse_block(s, &v, &err);
	check_result(ok, err);
	check(!ok || (v >= (64u << 10) && v <= (1u << 30) && !(v & (v - 1))));
	err = NULL;
	ok = config_parse_cpus(s, &cpus, &err);
	check_result(ok, err);
	check(!ok || (cpus >= 1 && cpus <= COVE_MAX_CPUS));
	err = NULL;
	ok = config_parse_disk(s, &disk, &err);
	check_result(ok, err);
	check(!ok || (disk.path && *disk.path));
	g_free(disk.path);
	err = NULL;
	ok = config_parse_on_reboot(s, &reboot, &err);
	check_result(ok, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = g_strndup((const char *)data, size);

	load(data, size);
	values(s);
	g_free(s);
	return 0;
}
