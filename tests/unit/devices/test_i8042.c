/* SPDX-License-Identifier: MIT */
/* i8042: the reset line, controller commands and the idle keyboard. */
#include <check.h>

#include "devices/i8042.h"
#include "devtest.h"
#include "pc.h"

#define DATA PC_PORT_I8042_DATA
#define CMD  PC_PORT_I8042_CMD

#define STS_OBF 0x01

static struct bus *pio;
static struct i8042 *kbc;
static unsigned resets;

static void count_reset(void *opaque)
{
	unsigned *n = opaque;

	(*n)++;
}

static void setup(void)
{
	resets = 0;
	ck_assert_int_eq(bus_create(BUS_PIO, 1, &pio), 0);
	ck_assert_int_eq(i8042_create(pio, count_reset, &resets, &kbc), 0);
}

static void teardown(void)
{
	i8042_destroy(kbc);
	bus_destroy(pio);
}

/* Reads one reply byte, checking that the controller flagged it. */
static uint8_t read_reply(void)
{
	ck_assert_uint_eq(inb(pio, CMD) & STS_OBF, STS_OBF);
	return inb(pio, DATA);
}

START_TEST(test_i8042_fe_command_pulses_reset)
{
	outb(pio, CMD, 0xfe);
	ck_assert_uint_eq(resets, 1);
	outb(pio, CMD, 0xfe);
	ck_assert_uint_eq(resets, 2);
}
END_TEST

START_TEST(test_i8042_other_commands_do_not_reset)
{
	static const uint8_t cmds[] = { 0x20, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xad,
					0xae, 0xc0, 0xd0, 0xe0, 0xff, 0xf1, 0x00 };

	for (unsigned i = 0; i < sizeof(cmds); i++)
		outb(pio, CMD, cmds[i]);
	/* data bytes, including 0xfe, go to the keyboard, not the reset line */
	outb(pio, DATA, 0xfe);
	outb(pio, DATA, 0xff);
	ck_assert_uint_eq(resets, 0);
}
END_TEST

START_TEST(test_i8042_output_port_write_resets_only_with_bit0_low)
{
	outb(pio, CMD, 0xd1);
	outb(pio, DATA, 0x03);
	ck_assert_uint_eq(resets, 0);
	outb(pio, CMD, 0xd0);
	ck_assert_uint_eq(read_reply(), 0x03);
	outb(pio, CMD, 0xd1);
	outb(pio, DATA, 0x02);
	ck_assert_uint_eq(resets, 1);
}
END_TEST

START_TEST(test_i8042_self_test_and_command_byte)
{
	ck_assert_uint_eq(inb(pio, CMD) & STS_OBF, 0);
	outb(pio, CMD, 0xaa);
	ck_assert_uint_eq(read_reply(), 0x55);
	ck_assert_uint_eq(inb(pio, CMD) & STS_OBF, 0);
	outb(pio, CMD, 0xab);
	ck_assert_uint_eq(read_reply(), 0x00);

	outb(pio, CMD, 0x60);
	outb(pio, DATA, 0x47);
	outb(pio, CMD, 0x20);
	ck_assert_uint_eq(read_reply(), 0x47);
	/* the system flag in the status register follows command byte bit 2 */
	ck_assert_uint_eq(inb(pio, CMD) & 0x04, 0x04);
	outb(pio, CMD, 0x60);
	outb(pio, DATA, 0x43);
	ck_assert_uint_eq(inb(pio, CMD) & 0x04, 0);
	/* 0xad/0xae toggle the keyboard-disable bit */
	outb(pio, CMD, 0xad);
	outb(pio, CMD, 0x20);
	ck_assert_uint_eq(read_reply(), 0x53);
	outb(pio, CMD, 0xae);
	outb(pio, CMD, 0x20);
	ck_assert_uint_eq(read_reply(), 0x43);
}
END_TEST

START_TEST(test_i8042_keyboard_acknowledges_and_identifies)
{
	outb(pio, DATA, 0xf2);
	ck_assert_uint_eq(read_reply(), 0xfa);
	ck_assert_uint_eq(read_reply(), 0xab);
	ck_assert_uint_eq(read_reply(), 0x83);
	ck_assert_uint_eq(inb(pio, CMD) & STS_OBF, 0);
	outb(pio, DATA, 0xff);
	ck_assert_uint_eq(read_reply(), 0xfa);
	ck_assert_uint_eq(read_reply(), 0xaa);
	/* set LEDs takes a parameter, acknowledged too */
	outb(pio, DATA, 0xed);
	ck_assert_uint_eq(read_reply(), 0xfa);
	outb(pio, DATA, 0x07);
	ck_assert_uint_eq(read_reply(), 0xfa);
	/* scan set query */
	outb(pio, DATA, 0xf0);
	ck_assert_uint_eq(read_reply(), 0xfa);
	outb(pio, DATA, 0x00);
	ck_assert_uint_eq(read_reply(), 0xfa);
	ck_assert_uint_eq(read_reply(), 0x02);
	/* garbage asks for a resend */
	outb(pio, DATA, 0x42);
	ck_assert_uint_eq(read_reply(), 0xfe);
}
END_TEST

START_TEST(test_i8042_aux_loopback_is_not_aux_data)
{
	outb(pio, CMD, 0xd3);
	outb(pio, DATA, 0x5a);
	/* output buffer full, but the aux-data status bit stays clear: no mouse */
	ck_assert_uint_eq(inb(pio, CMD) & 0x21, 0x01);
	ck_assert_uint_eq(inb(pio, DATA), 0x5a);
	outb(pio, CMD, 0xa9);
	ck_assert_uint_ne(read_reply(), 0x00);
}
END_TEST

START_TEST(test_i8042_irq_follows_output_buffer)
{
	struct test_irq irq;

	test_irq_init(&irq);
	i8042_set_irq(kbc, &irq.sink, 1);
	ck_assert_int_eq(irq.level[1], 0);
	outb(pio, CMD, 0xaa);
	ck_assert_int_eq(irq.level[1], 1);
	inb(pio, DATA);
	ck_assert_int_eq(irq.level[1], 0);
	/* with the keyboard interrupt disabled in the command byte, no IRQ */
	outb(pio, CMD, 0x60);
	outb(pio, DATA, 0x44);
	outb(pio, CMD, 0xaa);
	ck_assert_int_eq(irq.level[1], 0);
}
END_TEST

START_TEST(test_i8042_save_load_round_trip_restores_state)
{
	outb(pio, DATA, 0xf2);
	ck_assert_int_eq(bus_checkpoint(pio, 0), 0);
	ck_assert_uint_eq(inb(pio, DATA), 0xfa);
	ck_assert_uint_eq(inb(pio, DATA), 0xab);
	outb(pio, CMD, 0x60);
	outb(pio, DATA, 0x00);
	bus_rollback(pio, 0);
	ck_assert_uint_eq(read_reply(), 0xfa);
	ck_assert_uint_eq(read_reply(), 0xab);
	ck_assert_uint_eq(read_reply(), 0x83);
	outb(pio, CMD, 0x20);
	ck_assert_uint_ne(read_reply(), 0x00);
}
END_TEST

static Suite *i8042_suite(void)
{
	Suite *s = suite_create("i8042");
	TCase *tc = tcase_create("controller");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_i8042_fe_command_pulses_reset);
	tcase_add_test(tc, test_i8042_other_commands_do_not_reset);
	tcase_add_test(tc, test_i8042_output_port_write_resets_only_with_bit0_low);
	tcase_add_test(tc, test_i8042_self_test_and_command_byte);
	tcase_add_test(tc, test_i8042_keyboard_acknowledges_and_identifies);
	tcase_add_test(tc, test_i8042_aux_loopback_is_not_aux_data);
	tcase_add_test(tc, test_i8042_irq_follows_output_buffer);
	tcase_add_test(tc, test_i8042_save_load_round_trip_restores_state);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return devtest_run(i8042_suite());
}
