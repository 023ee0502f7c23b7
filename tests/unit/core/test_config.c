/* SPDX-License-Identifier: MIT */
/* Size, CPU count, disk and config-file parsing, and the errors users see. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "../check_main.h"

static uint64_t size_ok(const char *s)
{
	GError *e = NULL;
	uint64_t v = 0;

	ck_assert_msg(config_parse_size(s, &v, &e), "'%s' should parse: %s", s, e ? e->message : "");
	return v;
}

static char *size_error(const char *s)
{
	GError *e = NULL;
	uint64_t v = 12345;
	char *msg;

	ck_assert_msg(!config_parse_size(s, &v, &e), "'%s' should not parse", s);
	ck_assert_uint_eq(v, 12345); /* output untouched on error */
	ck_assert_ptr_nonnull(e);
	msg = g_strdup(e->message);
	g_error_free(e);
	return msg;
}

START_TEST(test_size_accepts_suffixes)
{
	ck_assert_uint_eq(size_ok("256M"), 256ull << 20);
	ck_assert_uint_eq(size_ok("2G"), 2ull << 30);
	ck_assert_uint_eq(size_ok("2g"), 2ull << 30);
	ck_assert_uint_eq(size_ok("512K"), 512ull << 10);
	ck_assert_uint_eq(size_ok("1T"), 1ull << 40);
	ck_assert_uint_eq(size_ok("4096"), 4096);
	ck_assert_uint_eq(size_ok("64MiB"), 64ull << 20);
	ck_assert_uint_eq(size_ok("64MB"), 64ull << 20);
}
END_TEST

START_TEST(test_size_rejects_unknown_suffix)
{
	char *m = size_error("12Q");

	ck_assert_str_eq(m, "unknown size suffix 'Q' (use K, M, G or T)");
	g_free(m);
}
END_TEST

START_TEST(test_size_rejects_zero)
{
	char *m = size_error("0");

	ck_assert_str_eq(m, "must be greater than 0");
	g_free(m);
	m = size_error("0M");
	g_free(m);
}
END_TEST

START_TEST(test_size_rejects_garbage_and_overflow)
{
	const char *bad[] = { "", "M", "-1", " 12", "12 M", "1.5G", "12MX", "99999999999999999999",
			      "18446744073709551615K", "17179869184G" };

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		g_free(size_error(bad[i]));
}
END_TEST

START_TEST(test_cpus_range)
{
	GError *e = NULL;
	unsigned n = 0;

	ck_assert(config_parse_cpus("1", &n, &e) && n == 1);
	ck_assert(config_parse_cpus("64", &n, &e) && n == 64);
	ck_assert(!config_parse_cpus("0", &n, &e));
	ck_assert_str_eq(e->message, "out of range (1-64)");
	g_clear_error(&e);
	ck_assert(!config_parse_cpus("65", &n, &e));
	g_clear_error(&e);
	ck_assert(!config_parse_cpus("2x", &n, &e));
	ck_assert_str_eq(e->message, "not a number of CPUs");
	g_clear_error(&e);
}
END_TEST

START_TEST(test_disk_spec)
{
	struct cove_disk_cfg d;
	GError *e = NULL;

	ck_assert(config_parse_disk("a.img", &d, &e));
	ck_assert_str_eq(d.path, "a.img");
	ck_assert(!d.readonly);
	g_free(d.path);
	ck_assert(config_parse_disk("/x/b.img,readonly", &d, &e));
	ck_assert_str_eq(d.path, "/x/b.img");
	ck_assert(d.readonly);
	g_free(d.path);
	ck_assert(!config_parse_disk("b.img,rw", &d, &e));
	ck_assert_str_eq(e->message, "unknown disk option 'rw' (only 'readonly')");
	g_clear_error(&e);
	ck_assert(!config_parse_disk(",readonly", &d, &e));
	g_clear_error(&e);
}
END_TEST

/* Writes text to a temp config file; returns its path. */
static char *write_conf(const char *text)
{
	char *path = NULL;
	int fd = g_file_open_tmp("cove-test-XXXXXX.conf", &path, NULL);

	ck_assert_int_ge(fd, 0);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	close(fd);
	return path;
}

START_TEST(test_config_file_loads_every_key)
{
	char *path = write_conf("[vm]\nname=demo\nkernel=/k/vmlinuz\ninitrd=ird.gz\n"
				"cmdline=console=ttyS0 quiet\nmemory=1G\ncpus=4\n"
				"disk=/d/a.img;/d/b.img,readonly\nconsole=none\naccel=soft\n"
				"on-reboot=restart\nstats=true\ndeterministic=yes\n");
	char *dir = g_path_get_dirname(path), *want_initrd = g_build_filename(dir, "ird.gz", NULL);
	struct cove_config c;
	GError *e = NULL;

	config_init(&c);
	ck_assert_msg(config_load_file(&c, path, &e), "%s", e ? e->message : "");
	ck_assert_str_eq(c.name, "demo");
	ck_assert_str_eq(c.kernel, "/k/vmlinuz");
	ck_assert_str_eq(c.initrd, want_initrd); /* relative to the file's folder */
	ck_assert_str_eq(c.cmdline, "console=ttyS0 quiet");
	ck_assert_uint_eq(c.memory, 1ull << 30);
	ck_assert_uint_eq(c.cpus, 4);
	ck_assert_uint_eq(c.ndisks, 2);
	ck_assert(!c.disks[0].readonly && c.disks[1].readonly);
	ck_assert_str_eq(c.console, "none");
	ck_assert_str_eq(c.accel, "soft");
	ck_assert_int_eq(c.on_reboot, COVE_REBOOT_RESTART);
	ck_assert(c.stats && c.deterministic && !c.debug);
	config_clear(&c);
	g_unlink(path);
	g_free(path);
	g_free(dir);
	g_free(want_initrd);
}
END_TEST

START_TEST(test_config_socket_keys_resolve_relative_paths)
{
	char *path = write_conf("[vm]\nkernel=/k\nconsole=unix:con.sock\n"
				"virtio-console=unix:/abs/v.sock\nmonitor=mon.sock\npidfile=/run/x.pid\n");
	char *dir = g_path_get_dirname(path);
	char *want_con = g_strconcat("unix:", dir, "/con.sock", NULL);
	char *want_mon = g_build_filename(dir, "mon.sock", NULL);
	struct cove_config c;
	GError *e = NULL;

	config_init(&c);
	ck_assert_msg(config_load_file(&c, path, &e), "%s", e ? e->message : "");
	ck_assert_str_eq(c.console, want_con);
	ck_assert_str_eq(c.virtio_console, "unix:/abs/v.sock");
	ck_assert_str_eq(c.monitor, want_mon);
	ck_assert_str_eq(c.pidfile, "/run/x.pid");
	ck_assert(config_validate(&c, &e));
	config_clear(&c);
	g_unlink(path);
	g_free(path);
	g_free(dir);
	g_free(want_con);
	g_free(want_mon);
}
END_TEST

START_TEST(test_config_rejects_empty_socket_path)
{
	struct cove_config c;
	GError *e = NULL;

	config_init(&c);
	c.kernel = g_strdup("/k");
	g_free(c.console);
	c.console = g_strdup("unix:");
	ck_assert(!config_validate(&c, &e));
	ck_assert_str_eq(e->message, "--console unix:: empty socket path (use unix:PATH)");
	g_clear_error(&e);
	g_free(c.console);
	c.console = g_strdup("stdio");
	c.monitor = g_strdup("");
	ck_assert(!config_validate(&c, &e));
	ck_assert_str_eq(e->message, "--monitor: empty path");
	g_clear_error(&e);
	config_clear(&c);
}
END_TEST

static char *conf_error(const char *text)
{
	char *path = write_conf(text), *msg;
	struct cove_config c;
	GError *e = NULL;

	config_init(&c);
	ck_assert_msg(!config_load_file(&c, path, &e), "should fail: %s", text);
	msg = g_strdup(strchr(e->message, ':') + 2); /* drop "path: " */
	g_error_free(e);
	config_clear(&c);
	g_unlink(path);
	g_free(path);
	return msg;
}

START_TEST(test_config_rejects_unknown_key)
{
	char *m = conf_error("[vm]\nkernel=/k\nmemroy=1G\n");

	ck_assert_str_eq(m, "unknown key 'memroy' in [vm]");
	g_free(m);
}
END_TEST

START_TEST(test_config_rejects_unknown_group_and_bad_values)
{
	char *m = conf_error("[machine]\nkernel=/k\n");

	ck_assert_str_eq(m, "unknown group [machine] (only [vm])");
	g_free(m);
	m = conf_error("[vm]\nmemory=12Q\n");
	ck_assert_str_eq(m, "memory = 12Q: unknown size suffix 'Q' (use K, M, G or T)");
	g_free(m);
	m = conf_error("[vm]\ncpus=65\n");
	ck_assert_str_eq(m, "cpus = 65: out of range (1-64)");
	g_free(m);
	m = conf_error("[vm]\naccel=hyperv\n");
	g_free(m);
	m = conf_error("not a key file\n");
	g_free(m);
}
END_TEST

START_TEST(test_config_block_ram_keys)
{
	char *path = write_conf("[vm]\nkernel=/k\nmemory=1G\nmemory-file=ram.img\n"
				"memory-block=4M\nmemory-resident=64M\n");
	char *dir = g_path_get_dirname(path), *want = g_build_filename(dir, "ram.img", NULL);
	struct cove_config c;
	GError *e = NULL;

	config_init(&c);
	ck_assert_msg(config_load_file(&c, path, &e), "%s", e ? e->message : "");
	ck_assert_str_eq(c.memory_file, want);
	ck_assert_uint_eq(c.memory_block, 4ull << 20);
	ck_assert_uint_eq(c.memory_resident, 64ull << 20);
	ck_assert(config_validate(&c, &e));
	c.memory_resident = 2ull << 20; /* below one block */
	ck_assert(!config_validate(&c, &e));
	ck_assert_str_eq(e->message,
			 "--memory-resident 2048K: smaller than one block (--memory-block 4096K)");
	g_clear_error(&e);
	c.memory_resident = 4ull << 40; /* more than the RAM: all of it */
	ck_assert(config_validate(&c, &e));
	config_clear(&c);
	g_unlink(path);
	g_free(path);
	g_free(dir);
	g_free(want);

	char *m = conf_error("[vm]\nmemory-block=96K\n");
	ck_assert_str_eq(m, "memory-block = 96K: not a power of two");
	g_free(m);
	m = conf_error("[vm]\nmemory-block=2G\n");
	ck_assert_str_eq(m, "memory-block = 2G: out of range (64K to 1G)");
	g_free(m);
}
END_TEST

START_TEST(test_config_validate)
{
	struct cove_config c;
	GError *e = NULL;

	config_init(&c);
	ck_assert(!config_validate(&c, &e)); /* no kernel */
	g_clear_error(&e);
	c.kernel = g_strdup("/k");
	ck_assert(config_validate(&c, &e));
	c.memory = 1ull << 20;
	ck_assert(!config_validate(&c, &e));
	ck_assert_str_eq(e->message, "memory 1024K: too small (at least 2M)");
	g_clear_error(&e);
	c.memory = (64ull << 20) + 1;
	ck_assert(!config_validate(&c, &e));
	g_clear_error(&e);
	config_clear(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_size_accepts_suffixes);
	tcase_add_test(tc, test_size_rejects_unknown_suffix);
	tcase_add_test(tc, test_size_rejects_zero);
	tcase_add_test(tc, test_size_rejects_garbage_and_overflow);
	tcase_add_test(tc, test_cpus_range);
	tcase_add_test(tc, test_disk_spec);
	tcase_add_test(tc, test_config_file_loads_every_key);
	tcase_add_test(tc, test_config_rejects_unknown_key);
	tcase_add_test(tc, test_config_rejects_unknown_group_and_bad_values);
	tcase_add_test(tc, test_config_validate);
	tcase_add_test(tc, test_config_socket_keys_resolve_relative_paths);
	tcase_add_test(tc, test_config_rejects_empty_socket_path);
	tcase_add_test(tc, test_config_block_ram_keys);
	suite_add_tcase(s, tc);
	return cove_check_run(s);
}
