/* SPDX-License-Identifier: MIT */
/* The monitor's line protocol: splitting a byte stream into bounded lines, and the commands. */
#include <check.h>
#include <string.h>

#include "monitor.h"
#include "../check_main.h"

static enum monitor_cmd parse(const char *line)
{
	const char *why = NULL;
	enum monitor_cmd c = monitor_parse(line, strlen(line), &why);

	if (c == MONITOR_CMD_INVALID)
		ck_assert_msg(why && *why && !strchr(why, '\n'), "one-line reason for '%s'", line);
	return c;
}

START_TEST(test_monitor_parses_every_command)
{
	ck_assert_int_eq(parse("status"), MONITOR_CMD_STATUS);
	ck_assert_int_eq(parse("pause"), MONITOR_CMD_PAUSE);
	ck_assert_int_eq(parse("resume"), MONITOR_CMD_RESUME);
	ck_assert_int_eq(parse("powerdown"), MONITOR_CMD_POWERDOWN);
	ck_assert_int_eq(parse("quit"), MONITOR_CMD_QUIT);
	/* socat's crlf and stray blanks */
	ck_assert_int_eq(parse("status\r"), MONITOR_CMD_STATUS);
	ck_assert_int_eq(parse("  pause \t"), MONITOR_CMD_PAUSE);
}
END_TEST

START_TEST(test_monitor_rejects_other_lines)
{
	const char *why = NULL;

	ck_assert_int_eq(parse(""), MONITOR_CMD_INVALID);
	ck_assert_int_eq(parse(" \r"), MONITOR_CMD_INVALID);
	ck_assert_int_eq(parse("Status"), MONITOR_CMD_INVALID);
	ck_assert_int_eq(parse("stat"), MONITOR_CMD_INVALID);
	ck_assert_int_eq(parse("statusx"), MONITOR_CMD_INVALID);
	ck_assert_int_eq(parse("status now"), MONITOR_CMD_INVALID);
	ck_assert_int_eq(parse("quit quit"), MONITOR_CMD_INVALID);
	/* a NUL inside the line is not the end of it */
	ck_assert_int_eq(monitor_parse("quit\0x", 6, &why), MONITOR_CMD_INVALID);
}
END_TEST

START_TEST(test_linebuf_splits_lines_across_feeds)
{
	struct monitor_linebuf lb;
	const char *in = "sta";
	bool done = true;
	size_t used;

	monitor_linebuf_reset(&lb);
	used = monitor_linebuf_feed(&lb, in, 3, &done);
	ck_assert_uint_eq(used, 3);
	ck_assert(!done);
	used = monitor_linebuf_feed(&lb, "tus\npause\n", 10, &done);
	ck_assert_uint_eq(used, 4); /* up to and including the first '\n' */
	ck_assert(done && !lb.overlong);
	ck_assert_uint_eq(lb.len, 6);
	ck_assert_str_eq(lb.buf, "status");
	monitor_linebuf_reset(&lb);
	used = monitor_linebuf_feed(&lb, "pause\n", 6, &done);
	ck_assert(done);
	ck_assert_str_eq(lb.buf, "pause");
}
END_TEST

START_TEST(test_linebuf_bounds_long_lines)
{
	struct monitor_linebuf lb;
	char big[MONITOR_MAX_LINE + 40];
	bool done;
	size_t used;

	memset(big, 'a', sizeof(big));
	monitor_linebuf_reset(&lb);
	/* exactly the limit is fine */
	used = monitor_linebuf_feed(&lb, big, MONITOR_MAX_LINE, &done);
	ck_assert(!done && !lb.overlong && used == MONITOR_MAX_LINE);
	used = monitor_linebuf_feed(&lb, "\n", 1, &done);
	ck_assert(done && !lb.overlong && lb.len == MONITOR_MAX_LINE);
	/* one byte more, spread over feeds, is too long and stays bounded */
	monitor_linebuf_reset(&lb);
	used = monitor_linebuf_feed(&lb, big, 200, &done);
	used = monitor_linebuf_feed(&lb, big, 57, &done);
	ck_assert(!done && lb.overlong && lb.len == MONITOR_MAX_LINE);
	used = monitor_linebuf_feed(&lb, big, sizeof(big), &done);
	ck_assert(!done && lb.len == MONITOR_MAX_LINE);
	used = monitor_linebuf_feed(&lb, "b\nstatus\n", 9, &done);
	ck_assert(done && lb.overlong);
	ck_assert_uint_eq(used, 2);
	/* the next line starts clean */
	monitor_linebuf_reset(&lb);
	used = monitor_linebuf_feed(&lb, "status\n", 7, &done);
	ck_assert(done && !lb.overlong);
	ck_assert_str_eq(lb.buf, "status");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("monitor");
	TCase *tc = tcase_create("protocol");

	tcase_add_test(tc, test_monitor_parses_every_command);
	tcase_add_test(tc, test_monitor_rejects_other_lines);
	tcase_add_test(tc, test_linebuf_splits_lines_across_feeds);
	tcase_add_test(tc, test_linebuf_bounds_long_lines);
	suite_add_tcase(s, tc);
	return cove_check_run(s);
}
