/* SPDX-License-Identifier: MIT */
/* MC146818 RTC against a guest clock the test moves by hand. */
#include <check.h>
#include <stdint.h>

#include "devices/rtc.h"
#include "devtest.h"
#include "pc.h"

#define NS 1000000000ull
#define MS 1000000ull
/* 2024-03-09 16:00:00 UTC, a Saturday */
#define T0	1710000000ll
#define S0	(3 * 3600 + 25 * 60 + 47) /* the fixture starts at 19:25:47.250 */
#define REG_A	0x0a
#define REG_B	0x0b
#define REG_C	0x0c
#define REG_D	0x0d
#define CENTURY 0x32
#define B_SET	0x80
#define B_PIE	0x40
#define B_AIE	0x20
#define B_UIE	0x10
#define B_DM	0x04
#define B_24H	0x02

static struct bus *pio;
static struct test_irq irq;
static struct test_clock clk;
static struct rtc *rtc;

static void setup(void)
{
	ck_assert_int_eq(bus_create(BUS_PIO, 1, &pio), 0);
	test_irq_init(&irq);
	test_clock_init(&clk, T0, S0 * NS + 250 * MS);
	ck_assert_int_eq(rtc_create(pio, &irq.sink, &clk.gc, &rtc), 0);
}

static void teardown(void)
{
	rtc_destroy(rtc);
	bus_destroy(pio);
}

static uint8_t cmos_read(uint8_t idx)
{
	outb(pio, PC_PORT_RTC, idx);
	return inb(pio, PC_PORT_RTC + 1);
}

static void cmos_write(uint8_t idx, uint8_t v)
{
	outb(pio, PC_PORT_RTC, idx);
	outb(pio, PC_PORT_RTC + 1, v);
}

/* Moves the clock to seconds s (and ms) after T0. */
static void clock_at(uint64_t s, uint64_t ms)
{
	clk.now = s * NS + ms * MS;
}

START_TEST(test_rtc_reads_bcd_24h_by_default)
{
	ck_assert_uint_eq(cmos_read(REG_B), B_24H);
	ck_assert_uint_eq(cmos_read(0x00), 0x47);
	ck_assert_uint_eq(cmos_read(0x02), 0x25);
	ck_assert_uint_eq(cmos_read(0x04), 0x19);
	ck_assert_uint_eq(cmos_read(0x06), 0x07); /* Saturday, Sunday = 1 */
	ck_assert_uint_eq(cmos_read(0x07), 0x09);
	ck_assert_uint_eq(cmos_read(0x08), 0x03);
	ck_assert_uint_eq(cmos_read(0x09), 0x24);
	ck_assert_uint_eq(cmos_read(CENTURY), 0x20);
	ck_assert_uint_eq(cmos_read(REG_D), 0x80);
	/* the clock runs with guest time */
	clk.now += 13 * NS;
	ck_assert_uint_eq(cmos_read(0x00), 0x00);
	ck_assert_uint_eq(cmos_read(0x02), 0x26);
}
END_TEST

START_TEST(test_rtc_binary_mode)
{
	cmos_write(REG_B, B_24H | B_DM);
	ck_assert_uint_eq(cmos_read(0x00), 47);
	ck_assert_uint_eq(cmos_read(0x02), 25);
	ck_assert_uint_eq(cmos_read(0x04), 19);
	ck_assert_uint_eq(cmos_read(0x09), 24);
	ck_assert_uint_eq(cmos_read(CENTURY), 20);
}
END_TEST

START_TEST(test_rtc_12h_mode_marks_pm_in_bit7)
{
	cmos_write(REG_B, 0); /* BCD, 12 hours */
	ck_assert_uint_eq(cmos_read(0x04), 0x87);
	cmos_write(REG_B, B_DM);
	ck_assert_uint_eq(cmos_read(0x04), 0x87);
	/* midnight is 12 AM, 01:00 is 1 AM, noon 12 PM (times on the next day) */
	cmos_write(REG_B, 0);
	clock_at(8 * 3600, 0);
	ck_assert_uint_eq(cmos_read(0x04), 0x12);
	clock_at(9 * 3600, 0);
	ck_assert_uint_eq(cmos_read(0x04), 0x01);
	clock_at(20 * 3600, 0);
	ck_assert_uint_eq(cmos_read(0x04), 0x92);
	cmos_write(REG_B, B_DM);
	clock_at(22 * 3600, 0); /* 14:00 */
	ck_assert_uint_eq(cmos_read(0x04), 0x82);
}
END_TEST

START_TEST(test_rtc_uip_set_only_just_before_the_update)
{
	clock_at(S0, 500);
	ck_assert_uint_eq(cmos_read(REG_A) & 0x80, 0);
	clk.now = (S0 + 1) * NS - 300000; /* 300 us before the next second */
	ck_assert_uint_eq(cmos_read(REG_A) & 0x80, 0);
	clk.now = (S0 + 1) * NS - 100000; /* 100 us before it */
	ck_assert_uint_eq(cmos_read(REG_A) & 0x80, 0x80);
	ck_assert_uint_eq(cmos_read(REG_A) & 0x7f, 0x26);
	clk.now = (S0 + 1) * NS;
	ck_assert_uint_eq(cmos_read(REG_A) & 0x80, 0);
	/* no update cycle while SET holds the clock */
	cmos_write(REG_B, B_SET | B_24H);
	clk.now = (S0 + 2) * NS - 100000;
	ck_assert_uint_eq(cmos_read(REG_A) & 0x80, 0);
}
END_TEST

START_TEST(test_rtc_set_time_under_set_bit_and_roll_over)
{
	cmos_write(REG_B, B_SET | B_24H);
	/* 2030-12-31 23:59:58, BCD */
	cmos_write(0x00, 0x58);
	cmos_write(0x02, 0x59);
	cmos_write(0x04, 0x23);
	cmos_write(0x07, 0x31);
	cmos_write(0x08, 0x12);
	cmos_write(0x09, 0x30);
	/* frozen: reads give back what was written while time moves on */
	clk.now += 5 * NS;
	ck_assert_uint_eq(cmos_read(0x00), 0x58);
	cmos_write(REG_B, B_24H);
	clk.now += 3 * NS;
	ck_assert_uint_eq(cmos_read(0x00), 0x01);
	ck_assert_uint_eq(cmos_read(0x02), 0x00);
	ck_assert_uint_eq(cmos_read(0x04), 0x00);
	ck_assert_uint_eq(cmos_read(0x06), 0x04); /* Wednesday */
	ck_assert_uint_eq(cmos_read(0x07), 0x01);
	ck_assert_uint_eq(cmos_read(0x08), 0x01);
	ck_assert_uint_eq(cmos_read(0x09), 0x31);
	ck_assert_uint_eq(cmos_read(CENTURY), 0x20);
}
END_TEST

START_TEST(test_rtc_invalid_time_write_is_ignored)
{
	cmos_write(REG_B, B_SET | B_24H);
	cmos_write(0x04, 0x25); /* hour 25 */
	cmos_write(REG_B, B_24H);
	ck_assert_uint_eq(cmos_read(0x04), 0x19);
	/* 30 February */
	cmos_write(REG_B, B_SET | B_24H);
	cmos_write(0x07, 0x30);
	cmos_write(0x08, 0x02);
	cmos_write(REG_B, B_24H);
	ck_assert_uint_eq(cmos_read(0x07), 0x09);
	/* bad BCD, written directly to the running clock */
	cmos_write(0x02, 0x7a);
	ck_assert_uint_eq(cmos_read(0x02), 0x25);
	/* a good one takes */
	cmos_write(0x02, 0x10);
	ck_assert_uint_eq(cmos_read(0x02), 0x10);
	ck_assert_uint_eq(cmos_read(0x04), 0x19);
}
END_TEST

START_TEST(test_rtc_update_interrupt_through_poll)
{
	uint64_t next;

	ck_assert_uint_eq(rtc_poll(rtc), UINT64_MAX);
	cmos_write(REG_A, 0x20); /* no periodic flag to mix in */
	cmos_write(REG_B, B_24H | B_UIE);
	cmos_read(REG_C);
	next = rtc_poll(rtc);
	ck_assert_uint_eq(next, clk.now + 750 * MS);
	ck_assert_int_eq(irq.level[PC_IRQ_RTC], 0);
	clk.now = next;
	ck_assert_uint_eq(rtc_poll(rtc), UINT64_MAX); /* the line is up now */
	ck_assert_int_eq(irq.level[PC_IRQ_RTC], 1);
	ck_assert_uint_eq(cmos_read(REG_C), 0x80 | 0x10);
	ck_assert_int_eq(irq.level[PC_IRQ_RTC], 0);
	ck_assert_uint_eq(cmos_read(REG_C), 0);
}
END_TEST

START_TEST(test_rtc_periodic_flag_follows_rate)
{
	cmos_write(REG_A, 0x2f); /* RS = 15: 2 Hz */
	cmos_read(REG_C);
	clock_at(S0, 400);
	ck_assert_uint_eq(cmos_read(REG_C) & 0x40, 0);
	clock_at(S0, 600);
	/* PF is set whether or not PIE is; IRQF needs PIE */
	ck_assert_uint_eq(cmos_read(REG_C), 0x40);
	ck_assert_int_eq(irq.level[PC_IRQ_RTC], 0);
	cmos_write(REG_B, B_24H | B_PIE);
	clock_at(S0 + 1, 100);
	ck_assert_int_eq(irq.level[PC_IRQ_RTC], 0); /* nobody looked yet */
	rtc_poll(rtc);
	ck_assert_int_eq(irq.level[PC_IRQ_RTC], 1);
	ck_assert_uint_eq(cmos_read(REG_C) & 0xc0, 0xc0);
	ck_assert_int_eq(irq.level[PC_IRQ_RTC], 0);
}
END_TEST

START_TEST(test_rtc_alarm_matches_with_dont_care)
{
	cmos_write(0x01, 0x50); /* at second 50 of any minute of any hour */
	cmos_write(0x03, 0xff);
	cmos_write(0x05, 0xc0);
	cmos_write(REG_B, B_24H | B_AIE);
	cmos_read(REG_C);
	clk.now += 2 * NS; /* :49 */
	ck_assert_uint_eq(cmos_read(REG_C) & 0x20, 0);
	clk.now += 1 * NS; /* :50 */
	ck_assert_uint_eq(cmos_read(REG_C) & 0xa0, 0xa0);
	/* a whole day asleep still finds the alarm */
	clk.now += 86400 * NS;
	ck_assert_uint_eq(cmos_read(REG_C) & 0x20, 0x20);
	/* an hour that never comes never matches */
	cmos_write(0x05, 0x24);
	clk.now += 86400 * NS;
	ck_assert_uint_eq(cmos_read(REG_C) & 0x20, 0);
}
END_TEST

START_TEST(test_rtc_cmos_ram_and_index_nmi_bit)
{
	cmos_write(0x40, 0xab);
	cmos_write(0x7f, 0xcd);
	ck_assert_uint_eq(cmos_read(0x40), 0xab);
	/* bit 7 of the index is the NMI mask, not part of the address */
	ck_assert_uint_eq(cmos_read(0x80 | 0x7f), 0xcd);
	/* C and D are read-only */
	cmos_write(REG_D, 0x00);
	ck_assert_uint_eq(cmos_read(REG_D), 0x80);
}
END_TEST

START_TEST(test_rtc_save_load_round_trip_restores_state)
{
	cmos_write(0x40, 0x11);
	cmos_write(REG_B, B_24H | B_DM);
	outb(pio, PC_PORT_RTC, 0x40);
	ck_assert_int_eq(bus_checkpoint(pio, 0), 0);
	cmos_write(0x40, 0x22);
	cmos_write(REG_B, B_SET | B_24H);
	cmos_write(0x04, 0x01);
	bus_rollback(pio, 0);
	/* the index register came back too */
	ck_assert_uint_eq(inb(pio, PC_PORT_RTC + 1), 0x11);
	ck_assert_uint_eq(cmos_read(REG_B), B_24H | B_DM);
	ck_assert_uint_eq(cmos_read(0x04), 19);
}
END_TEST

static Suite *rtc_suite(void)
{
	Suite *s = suite_create("rtc");
	TCase *tc = tcase_create("mc146818");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rtc_reads_bcd_24h_by_default);
	tcase_add_test(tc, test_rtc_binary_mode);
	tcase_add_test(tc, test_rtc_12h_mode_marks_pm_in_bit7);
	tcase_add_test(tc, test_rtc_uip_set_only_just_before_the_update);
	tcase_add_test(tc, test_rtc_set_time_under_set_bit_and_roll_over);
	tcase_add_test(tc, test_rtc_invalid_time_write_is_ignored);
	tcase_add_test(tc, test_rtc_update_interrupt_through_poll);
	tcase_add_test(tc, test_rtc_periodic_flag_follows_rate);
	tcase_add_test(tc, test_rtc_alarm_matches_with_dont_care);
	tcase_add_test(tc, test_rtc_cmos_ram_and_index_nmi_bit);
	tcase_add_test(tc, test_rtc_save_load_round_trip_restores_state);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return devtest_run(rtc_suite());
}
