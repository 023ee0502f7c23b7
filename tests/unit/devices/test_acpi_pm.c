/* SPDX-License-Identifier: MIT */
/* ACPI PM1 event/control blocks and the PM timer. */
#include <check.h>

#include "devices/acpi_pm.h"
#include "devtest.h"
#include "pc.h"

#define NS	    1000000000ull
#define PM1_STS	    PC_PORT_ACPI_PM1_EVT
#define PM1_EN	    (PC_PORT_ACPI_PM1_EVT + 2)
#define PM1_CNT	    PC_PORT_ACPI_PM1_CNT
#define PM_TMR	    PC_PORT_ACPI_PM_TMR
#define SLP_EN	    0x2000
#define SLP_TYP(t)  ((t) << 10)
#define STS_TMR	    0x0001
#define STS_PWRBTN  0x0100
#define STS_WAK	    0x8000
#define PM_TIMER_HZ 3579545ull

static struct bus *pio;
static struct acpi_pm *pm;
static struct test_clock clk;
static unsigned poweroffs;

static void count_poweroff(void *opaque)
{
	unsigned *n = opaque;

	(*n)++;
}

static void setup(void)
{
	poweroffs = 0;
	test_clock_init(&clk, 0, 0);
	ck_assert_int_eq(bus_create(BUS_PIO, 1, &pio), 0);
	ck_assert_int_eq(acpi_pm_create(pio, &clk.gc, count_poweroff, &poweroffs, &pm), 0);
}

static void teardown(void)
{
	acpi_pm_destroy(pm);
	bus_destroy(pio);
}

START_TEST(test_acpi_pm_s5_powers_off)
{
	port_out(pio, PM1_CNT, SLP_TYP(PC_ACPI_S5_TYPE) | SLP_EN, 2);
	ck_assert_uint_eq(poweroffs, 1);
}
END_TEST

START_TEST(test_acpi_pm_s5_by_byte_writes_powers_off)
{
	/* SLP_TYP first, then SLP_EN in a second write, to the high byte only */
	outb(pio, PM1_CNT + 1, SLP_TYP(PC_ACPI_S5_TYPE) >> 8);
	ck_assert_uint_eq(poweroffs, 0);
	outb(pio, PM1_CNT, 0x00); /* low byte: leaves SLP_TYP alone */
	outb(pio, PM1_CNT + 1, (SLP_TYP(PC_ACPI_S5_TYPE) | SLP_EN) >> 8);
	ck_assert_uint_eq(poweroffs, 1);
}
END_TEST

START_TEST(test_acpi_pm_other_sleep_types_do_not_power_off)
{
	for (unsigned t = 0; t < 8; t++) {
		if (t == PC_ACPI_S5_TYPE)
			continue;
		port_out(pio, PM1_STS, STS_WAK, 2);
		port_out(pio, PM1_CNT, SLP_TYP(t) | SLP_EN, 2);
		/* the machine "wakes" at once rather than leave the OS polling WAK_STS */
		ck_assert_uint_eq(port_in(pio, PM1_STS, 2) & STS_WAK, STS_WAK);
	}
	/* S5 without SLP_EN only selects the type */
	port_out(pio, PM1_CNT, SLP_TYP(PC_ACPI_S5_TYPE), 2);
	ck_assert_uint_eq(poweroffs, 0);
	/* SLP_EN is write-only; SLP_TYP reads back */
	ck_assert_uint_eq(port_in(pio, PM1_CNT, 2) & (SLP_EN | SLP_TYP(7)),
			  SLP_TYP(PC_ACPI_S5_TYPE));
}
END_TEST

START_TEST(test_acpi_pm_sci_en_reads_set)
{
	ck_assert_uint_eq(port_in(pio, PM1_CNT, 2) & 1, 1);
	port_out(pio, PM1_CNT, 0, 2);
	ck_assert_uint_eq(port_in(pio, PM1_CNT, 2) & 1, 1);
}
END_TEST

START_TEST(test_acpi_pm_timer_counts_at_3579545_hz_and_wraps_at_24_bits)
{
	uint32_t prev = port_in(pio, PM_TMR, 4), v;

	ck_assert_uint_eq(prev, 0);
	/* monotonic over a sweep of guest times within one wrap period */
	for (unsigned i = 1; i <= 100; i++) {
		clk.now = i * 40000000ull; /* 40 ms steps up to 4 s */
		v = port_in(pio, PM_TMR, 4);
		ck_assert_uint_gt(v, prev);
		prev = v;
	}
	clk.now = NS;
	ck_assert_uint_eq(port_in(pio, PM_TMR, 4), PM_TIMER_HZ);
	/* bits 31:24 read 0 and the count wraps at 2^24 */
	clk.now = 5 * NS;
	ck_assert_uint_eq(port_in(pio, PM_TMR, 4), (5 * PM_TIMER_HZ) & 0xffffff);
	/* byte reads give the bytes of the same count */
	ck_assert_uint_eq(inb(pio, PM_TMR + 2), ((5 * PM_TIMER_HZ) >> 16) & 0xff);
	ck_assert_uint_eq(inb(pio, PM_TMR + 3), 0);
}
END_TEST

START_TEST(test_acpi_pm_tmr_sts_sets_on_bit23_and_clears_on_write_one)
{
	ck_assert_uint_eq(port_in(pio, PM1_STS, 2) & STS_TMR, 0);
	clk.now = 2 * NS; /* 7.16M ticks: bit 23 (8.39M) not reached yet */
	ck_assert_uint_eq(port_in(pio, PM1_STS, 2) & STS_TMR, 0);
	clk.now = 3 * NS;
	ck_assert_uint_eq(port_in(pio, PM1_STS, 2) & STS_TMR, STS_TMR);
	port_out(pio, PM1_STS, 0x0000, 2); /* writing 0 changes nothing */
	ck_assert_uint_eq(port_in(pio, PM1_STS, 2) & STS_TMR, STS_TMR);
	port_out(pio, PM1_STS, STS_TMR, 2);
	ck_assert_uint_eq(port_in(pio, PM1_STS, 2) & STS_TMR, 0);
}
END_TEST

START_TEST(test_acpi_pm_power_button_raises_sci_when_enabled)
{
	struct test_irq irq;

	test_irq_init(&irq);
	acpi_pm_set_irq(pm, &irq.sink, PC_IRQ_SCI);
	acpi_pm_power_button(pm);
	ck_assert_uint_eq(port_in(pio, PM1_STS, 2) & STS_PWRBTN, STS_PWRBTN);
	ck_assert_int_eq(irq.level[PC_IRQ_SCI], 0);
	port_out(pio, PM1_EN, STS_PWRBTN, 2);
	ck_assert_uint_eq(port_in(pio, PM1_EN, 2), STS_PWRBTN);
	ck_assert_int_eq(irq.level[PC_IRQ_SCI], 1);
	/* a 4-byte write to the event block: status in the low half, enable in the high */
	port_out(pio, PM1_STS, STS_PWRBTN | (uint32_t)STS_PWRBTN << 16, 4);
	ck_assert_int_eq(irq.level[PC_IRQ_SCI], 0);
	ck_assert_uint_eq(port_in(pio, PM1_STS, 2) & STS_PWRBTN, 0);
}
END_TEST

START_TEST(test_acpi_pm_save_load_round_trip_restores_state)
{
	port_out(pio, PM1_EN, STS_PWRBTN, 2);
	port_out(pio, PM1_CNT, SLP_TYP(3), 2);
	acpi_pm_power_button(pm);
	ck_assert_int_eq(bus_checkpoint(pio, 0), 0);
	port_out(pio, PM1_STS, STS_PWRBTN, 2);
	port_out(pio, PM1_EN, 0, 2);
	port_out(pio, PM1_CNT, SLP_TYP(1), 2);
	bus_rollback(pio, 0);
	ck_assert_uint_eq(port_in(pio, PM1_STS, 2) & STS_PWRBTN, STS_PWRBTN);
	ck_assert_uint_eq(port_in(pio, PM1_EN, 2), STS_PWRBTN);
	ck_assert_uint_eq(port_in(pio, PM1_CNT, 2) & SLP_TYP(7), SLP_TYP(3));
}
END_TEST

static Suite *acpi_pm_suite(void)
{
	Suite *s = suite_create("acpi_pm");
	TCase *tc = tcase_create("pm1");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_acpi_pm_s5_powers_off);
	tcase_add_test(tc, test_acpi_pm_s5_by_byte_writes_powers_off);
	tcase_add_test(tc, test_acpi_pm_other_sleep_types_do_not_power_off);
	tcase_add_test(tc, test_acpi_pm_sci_en_reads_set);
	tcase_add_test(tc, test_acpi_pm_timer_counts_at_3579545_hz_and_wraps_at_24_bits);
	tcase_add_test(tc, test_acpi_pm_tmr_sts_sets_on_bit23_and_clears_on_write_one);
	tcase_add_test(tc, test_acpi_pm_power_button_raises_sci_when_enabled);
	tcase_add_test(tc, test_acpi_pm_save_load_round_trip_restores_state);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return devtest_run(acpi_pm_suite());
}
