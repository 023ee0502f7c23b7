/* SPDX-License-Identifier: MIT */
/* isa-debug-exit: the status QEMU would exit with, for each access width. */
#include <check.h>
#include <errno.h>

#include "devices/debugexit.h"
#include "devtest.h"
#include "pc.h"

static struct bus *pio;
static struct debugexit *dbg;
static int last_status;
static unsigned exits;

static void record_exit(void *opaque, int status)
{
	(void)opaque;
	last_status = status;
	exits++;
}

static void setup(void)
{
	exits = 0;
	last_status = 0;
	ck_assert_int_eq(bus_create(BUS_PIO, 1, &pio), 0);
	ck_assert_int_eq(debugexit_create(pio, PC_PORT_DEBUG_EXIT, record_exit, NULL, &dbg), 0);
}

static void teardown(void)
{
	debugexit_destroy(dbg);
	bus_destroy(pio);
}

START_TEST(test_debugexit_byte_write_status)
{
	outb(pio, PC_PORT_DEBUG_EXIT, 0x10);
	ck_assert_uint_eq(exits, 1);
	ck_assert_int_eq(last_status, 0x21);
	outb(pio, PC_PORT_DEBUG_EXIT, 0);
	ck_assert_int_eq(last_status, 1);
	/* the value is zero-extended: bit 7 becomes bit 8 */
	outb(pio, PC_PORT_DEBUG_EXIT, 0xff);
	ck_assert_int_eq(last_status, 0x1ff);
	/* any offset in the 4-byte window */
	outb(pio, PC_PORT_DEBUG_EXIT + 3, 0x02);
	ck_assert_int_eq(last_status, 0x05);
	ck_assert_uint_eq(exits, 4);
}
END_TEST

START_TEST(test_debugexit_word_write_status)
{
	port_out(pio, PC_PORT_DEBUG_EXIT, 0x1234, 2);
	ck_assert_int_eq(last_status, 0x2469);
	port_out(pio, PC_PORT_DEBUG_EXIT + 2, 0x8000, 2);
	ck_assert_int_eq(last_status, 0x10001);
}
END_TEST

START_TEST(test_debugexit_dword_write_status)
{
	port_out(pio, PC_PORT_DEBUG_EXIT, 0x12345678, 4);
	ck_assert_int_eq(last_status, 0x2468acf1);
	/* (v << 1) | 1 is cut to int as QEMU's exit() argument is */
	port_out(pio, PC_PORT_DEBUG_EXIT, 0x80000001, 4);
	ck_assert_int_eq(last_status, 3);
	port_out(pio, PC_PORT_DEBUG_EXIT, 0x7fffffff, 4);
	ck_assert_int_eq(last_status, -1);
	ck_assert_uint_eq(exits, 3);
}
END_TEST

START_TEST(test_debugexit_reads_zero_and_do_not_exit)
{
	ck_assert_uint_eq(port_in(pio, PC_PORT_DEBUG_EXIT, 4), 0);
	ck_assert_uint_eq(inb(pio, PC_PORT_DEBUG_EXIT + 1), 0);
	ck_assert_uint_eq(exits, 0);
	/* past the window the port is not claimed */
	ck_assert_int_eq(bus_access(pio, 0, PC_PORT_DEBUG_EXIT + 4, &(uint8_t){ 1 }, 1, true),
			 -ENOENT);
	ck_assert_uint_eq(exits, 0);
}
END_TEST

static Suite *debugexit_suite(void)
{
	Suite *s = suite_create("debugexit");
	TCase *tc = tcase_create("port");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_debugexit_byte_write_status);
	tcase_add_test(tc, test_debugexit_word_write_status);
	tcase_add_test(tc, test_debugexit_dword_write_status);
	tcase_add_test(tc, test_debugexit_reads_zero_and_do_not_exit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return devtest_run(debugexit_suite());
}
