// SPDX-License-Identifier: MIT
/* 8259A pair: initialisation, priorities, EOIs, triggers, cascade, spurious IRQs. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "devices/irqchip/pic8259.h"
#include "../check_main.h"

static struct pic *p;

static void setup(void)
{
	ck_assert_int_eq(pic_create(&p), 0);
}

static void teardown(void)
{
	pic_destroy(p);
}

static void out(uint16_t port, uint8_t v)
{
	ck_assert_int_eq(pic_io_write(p, port, v), 0);
}

static uint8_t in(uint16_t port)
{
	uint8_t v = 0;

	ck_assert_int_eq(pic_io_read(p, port, &v), 0);
	return v;
}

/* Linux's init_8259A(): mask, ICW1-4 on both, vectors 0x30/0x38, then masks. */
static void init_linux(uint8_t master_icw4)
{
	out(0x21, 0xff);
	out(0xa1, 0xff);
	out(0x20, 0x11);
	out(0x21, 0x30);
	out(0x21, 0x04);
	out(0x21, master_icw4);
	out(0xa0, 0x11);
	out(0xa1, 0x38);
	out(0xa1, 0x02);
	out(0xa1, 0x01);
	out(0x21, 0x00);
	out(0xa1, 0x00);
}

static uint8_t read_isr(uint16_t cmd)
{
	out(cmd, 0x0b);
	return in(cmd);
}

static uint8_t read_irr(uint16_t cmd)
{
	out(cmd, 0x0a);
	return in(cmd);
}

START_TEST(test_pic_linux_init_sequence_delivers_at_base_0x30)
{
	init_linux(0x01);
	ck_assert(!pic_has_interrupt(p));
	pic_set_irq(p, 1, 1);
	ck_assert(pic_has_interrupt(p));
	ck_assert_uint_eq(pic_acknowledge(p), 0x31);
	ck_assert_uint_eq(read_isr(0x20), 0x02);
	ck_assert(!pic_has_interrupt(p));
	out(0x20, 0x20); /* non-specific EOI */
	ck_assert_uint_eq(read_isr(0x20), 0x00);
}
END_TEST

START_TEST(test_pic_bios_init_sequence_cascades_slave_vector)
{
	/* A BIOS: master at 0x08, slave at 0x70, IMR left as set. */
	out(0x20, 0x11);
	out(0x21, 0x08);
	out(0x21, 0x04);
	out(0x21, 0x01);
	out(0xa0, 0x11);
	out(0xa1, 0x70);
	out(0xa1, 0x02);
	out(0xa1, 0x01);
	out(0x21, 0xb8);
	out(0xa1, 0x8e);
	ck_assert_uint_eq(in(0x21), 0xb8);
	ck_assert_uint_eq(in(0xa1), 0x8e);

	pic_set_irq(p, 8, 1); /* RTC */
	ck_assert(pic_has_interrupt(p));
	ck_assert_uint_eq(pic_acknowledge(p), 0x70);
	ck_assert_uint_eq(read_isr(0x20), 0x04); /* IR2 in service on the master */
	ck_assert_uint_eq(read_isr(0xa0), 0x01);
	out(0xa0, 0x20);
	out(0x20, 0x20);
	ck_assert_uint_eq(read_isr(0x20), 0);
	ck_assert_uint_eq(read_isr(0xa0), 0);

	pic_set_irq(p, 0, 1);
	ck_assert_uint_eq(pic_acknowledge(p), 0x08);
}
END_TEST

START_TEST(test_pic_lowest_irq_has_priority_and_blocks_lower)
{
	init_linux(0x01);
	pic_set_irq(p, 5, 1);
	pic_set_irq(p, 3, 1);
	ck_assert_uint_eq(pic_acknowledge(p), 0x33);
	ck_assert(!pic_has_interrupt(p)); /* IRQ5 waits for IRQ3's EOI */
	out(0x20, 0x20);
	ck_assert(pic_has_interrupt(p));
	ck_assert_uint_eq(pic_acknowledge(p), 0x35);
}
END_TEST

START_TEST(test_pic_higher_priority_nests_over_in_service)
{
	init_linux(0x01);
	pic_set_irq(p, 5, 1);
	ck_assert_uint_eq(pic_acknowledge(p), 0x35);
	pic_set_irq(p, 1, 1);
	ck_assert(pic_has_interrupt(p));
	ck_assert_uint_eq(pic_acknowledge(p), 0x31);
	ck_assert_uint_eq(read_isr(0x20), 0x22);
	out(0x20, 0x20); /* non-specific EOI retires the highest: IRQ1 */
	ck_assert_uint_eq(read_isr(0x20), 0x20);
}
END_TEST

START_TEST(test_pic_masked_request_waits_in_irr_until_unmasked)
{
	init_linux(0x01);
	out(0x21, 0x10);
	pic_set_irq(p, 4, 1);
	ck_assert(!pic_has_interrupt(p));
	ck_assert_uint_eq(read_irr(0x20), 0x10);
	out(0x21, 0x00);
	ck_assert(pic_has_interrupt(p));
	ck_assert_uint_eq(pic_acknowledge(p), 0x34);
}
END_TEST

START_TEST(test_pic_specific_eoi_clears_only_the_named_level)
{
	init_linux(0x01);
	pic_set_irq(p, 5, 1);
	pic_acknowledge(p);
	pic_set_irq(p, 1, 1);
	pic_acknowledge(p);
	out(0x20, 0x65); /* specific EOI, level 5 */
	ck_assert_uint_eq(read_isr(0x20), 0x02);
}
END_TEST

START_TEST(test_pic_rotate_on_nonspecific_eoi_makes_level_lowest)
{
	init_linux(0x01);
	pic_set_irq(p, 3, 1);
	ck_assert_uint_eq(pic_acknowledge(p), 0x33);
	out(0x20, 0xa0); /* rotate on non-specific EOI: IRQ4 now highest */
	pic_set_irq(p, 1, 1);
	pic_set_irq(p, 5, 1);
	ck_assert_uint_eq(pic_acknowledge(p), 0x35);
	out(0x20, 0xc7); /* set priority: IR7 lowest, IR0 highest again */
	out(0x20, 0x20);
	ck_assert_uint_eq(pic_acknowledge(p), 0x31);
}
END_TEST

START_TEST(test_pic_auto_eoi_leaves_isr_clear)
{
	init_linux(0x03);
	pic_set_irq(p, 6, 1);
	ck_assert_uint_eq(pic_acknowledge(p), 0x36);
	ck_assert_uint_eq(read_isr(0x20), 0);
	pic_set_irq(p, 7, 1);
	ck_assert(pic_has_interrupt(p)); /* nothing in service blocks it */
}
END_TEST

START_TEST(test_pic_level_line_interrupts_again_after_eoi_while_high)
{
	init_linux(0x01);
	out(0x4d1, 0x04); /* IRQ10 level-triggered */
	ck_assert_uint_eq(in(0x4d1), 0x04);
	pic_set_irq(p, 10, 1);
	ck_assert_uint_eq(pic_acknowledge(p), 0x3a);
	out(0xa0, 0x20);
	out(0x20, 0x20);
	ck_assert(pic_has_interrupt(p)); /* still high */
	ck_assert_uint_eq(pic_acknowledge(p), 0x3a);
	pic_set_irq(p, 10, 0);
	out(0xa0, 0x20);
	out(0x20, 0x20);
	ck_assert(!pic_has_interrupt(p));
}
END_TEST

START_TEST(test_pic_edge_line_needs_a_new_rising_edge)
{
	init_linux(0x01);
	pic_set_irq(p, 1, 1);
	ck_assert_uint_eq(pic_acknowledge(p), 0x31);
	out(0x20, 0x20);
	pic_set_irq(p, 1, 1);
	ck_assert(!pic_has_interrupt(p));
	pic_set_irq(p, 1, 0);
	pic_set_irq(p, 1, 1);
	ck_assert(pic_has_interrupt(p));
}
END_TEST

START_TEST(test_pic_elcr_keeps_irq0_1_2_edge_only)
{
	out(0x4d0, 0xff);
	ck_assert_uint_eq(in(0x4d0), 0xf8);
	out(0x4d1, 0xff);
	ck_assert_uint_eq(in(0x4d1), 0xde);
}
END_TEST

START_TEST(test_pic_withdrawn_level_request_gives_spurious_irq7)
{
	init_linux(0x01);
	out(0x4d0, 0x08); /* IRQ3 level */
	pic_set_irq(p, 3, 1);
	ck_assert(pic_has_interrupt(p));
	pic_set_irq(p, 3, 0);
	ck_assert_uint_eq(pic_acknowledge(p), 0x37);
	ck_assert_uint_eq(read_isr(0x20), 0); /* a default IR7 sets no ISR bit */
}
END_TEST

START_TEST(test_pic_withdrawn_slave_request_gives_spurious_irq15)
{
	init_linux(0x01);
	out(0x4d1, 0x04);
	pic_set_irq(p, 10, 1);
	pic_set_irq(p, 10, 0);
	ck_assert(pic_has_interrupt(p)); /* IR2 stays latched on the master */
	ck_assert_uint_eq(pic_acknowledge(p), 0x3f);
	ck_assert_uint_eq(read_isr(0xa0), 0);
	ck_assert_uint_eq(read_isr(0x20), 0x04); /* the master still wants its EOI */
}
END_TEST

START_TEST(test_pic_masked_after_intr_gives_spurious_irq7)
{
	init_linux(0x01);
	pic_set_irq(p, 4, 1);
	ck_assert(pic_has_interrupt(p));
	out(0x21, 0x10);
	ck_assert_uint_eq(pic_acknowledge(p), 0x37);
}
END_TEST

START_TEST(test_pic_poll_command_acknowledges_highest)
{
	init_linux(0x01);
	pic_set_irq(p, 6, 1);
	out(0x20, 0x0c); /* OCW3 poll */
	ck_assert_uint_eq(in(0x20), 0x86);
	ck_assert_uint_eq(read_isr(0x20), 0x40);
	out(0x20, 0x0c);
	ck_assert_uint_eq(in(0x20), 0x00); /* nothing else requests */
}
END_TEST

START_TEST(test_pic_special_mask_mode_lets_lower_levels_through)
{
	init_linux(0x01);
	pic_set_irq(p, 3, 1);
	ck_assert_uint_eq(pic_acknowledge(p), 0x33);
	pic_set_irq(p, 5, 1);
	ck_assert(!pic_has_interrupt(p));
	out(0x21, 0x08);		  /* mask the level in service */
	out(0x20, 0x68);		  /* OCW3: set special mask mode */
	ck_assert(pic_has_interrupt(p));
	ck_assert_uint_eq(pic_acknowledge(p), 0x35);
	out(0x20, 0x48); /* reset special mask mode */
	pic_set_irq(p, 6, 1);
	ck_assert(!pic_has_interrupt(p));
}
END_TEST

START_TEST(test_pic_ocw3_selects_irr_or_isr_reads)
{
	init_linux(0x01);
	out(0x21, 0xff);
	pic_set_irq(p, 3, 1);
	pic_set_irq(p, 5, 1);
	ck_assert_uint_eq(read_irr(0x20), 0x28);
	ck_assert_uint_eq(in(0x20), 0x28); /* the selection sticks */
	ck_assert_uint_eq(read_isr(0x20), 0x00);
	ck_assert_uint_eq(in(0x21), 0xff);
}
END_TEST

START_TEST(test_pic_no_output_before_initialisation_completes)
{
	out(0x20, 0x11);
	out(0x21, 0x20);
	pic_set_irq(p, 1, 1);
	ck_assert(!pic_has_interrupt(p)); /* ICW3/ICW4 still expected */
	out(0x21, 0x04);
	out(0x21, 0x01);
	ck_assert(pic_has_interrupt(p));
	ck_assert_uint_eq(pic_acknowledge(p), 0x21);
}
END_TEST

START_TEST(test_pic_state_round_trips_through_kvm_pic_state)
{
	struct kvm_pic_state a[2], b[2];
	struct pic *q;

	init_linux(0x01);
	out(0x4d1, 0x04);
	out(0x21, 0x80);
	pic_set_irq(p, 5, 1);
	pic_acknowledge(p);
	pic_set_irq(p, 3, 1);
	pic_set_irq(p, 10, 1);
	out(0x20, 0x0b);
	for (unsigned i = 0; i < 2; i++)
		ck_assert_int_eq(pic_get_state(p, i, &a[i]), 0);
	ck_assert_int_eq(pic_create(&q), 0);
	for (unsigned i = 0; i < 2; i++)
		ck_assert_int_eq(pic_set_state(q, i, &a[i]), 0);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_int_eq(pic_get_state(q, i, &b[i]), 0);
		ck_assert_mem_eq(&a[i], &b[i], sizeof(a[i]));
	}
	ck_assert_uint_eq(pic_acknowledge(p), pic_acknowledge(q));
	ck_assert_uint_eq(pic_acknowledge(p), pic_acknowledge(q));
	ck_assert_int_eq(pic_get_state(q, 2, &b[0]), -EINVAL);
	pic_destroy(q);
}
END_TEST

START_TEST(test_pic_flat_save_load_restores_everything)
{
	unsigned char buf[PIC_STATE_SIZE];
	uint8_t imr;

	init_linux(0x01);
	out(0x21, 0x5a);
	pic_save(p, buf);
	out(0x21, 0x00);
	out(0x20, 0x11); /* even a re-initialisation is undone */
	pic_load(p, buf);
	imr = in(0x21);
	ck_assert_uint_eq(imr, 0x5a);
	pic_set_irq(p, 0, 1);
	ck_assert_uint_eq(pic_acknowledge(p), 0x30);
}
END_TEST

START_TEST(test_pic_rejects_foreign_ports_and_lines)
{
	uint8_t v;

	ck_assert_int_eq(pic_io_read(p, 0x22, &v), -ENOENT);
	ck_assert_int_eq(pic_io_write(p, 0x60, 0), -ENOENT);
	init_linux(0x01);
	pic_set_irq(p, 16, 1);
	pic_set_irq(p, 1000, 1);
	pic_set_irq(p, 2, 1); /* the cascade input is not a device line */
	ck_assert(!pic_has_interrupt(p));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pic8259");
	TCase *tc = tcase_create("pic");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pic_linux_init_sequence_delivers_at_base_0x30);
	tcase_add_test(tc, test_pic_bios_init_sequence_cascades_slave_vector);
	tcase_add_test(tc, test_pic_lowest_irq_has_priority_and_blocks_lower);
	tcase_add_test(tc, test_pic_higher_priority_nests_over_in_service);
	tcase_add_test(tc, test_pic_masked_request_waits_in_irr_until_unmasked);
	tcase_add_test(tc, test_pic_specific_eoi_clears_only_the_named_level);
	tcase_add_test(tc, test_pic_rotate_on_nonspecific_eoi_makes_level_lowest);
	tcase_add_test(tc, test_pic_auto_eoi_leaves_isr_clear);
	tcase_add_test(tc, test_pic_level_line_interrupts_again_after_eoi_while_high);
	tcase_add_test(tc, test_pic_edge_line_needs_a_new_rising_edge);
	tcase_add_test(tc, test_pic_elcr_keeps_irq0_1_2_edge_only);
	tcase_add_test(tc, test_pic_withdrawn_level_request_gives_spurious_irq7);
	tcase_add_test(tc, test_pic_withdrawn_slave_request_gives_spurious_irq15);
	tcase_add_test(tc, test_pic_masked_after_intr_gives_spurious_irq7);
	tcase_add_test(tc, test_pic_poll_command_acknowledges_highest);
	tcase_add_test(tc, test_pic_special_mask_mode_lets_lower_levels_through);
	tcase_add_test(tc, test_pic_ocw3_selects_irr_or_isr_reads);
	tcase_add_test(tc, test_pic_no_output_before_initialisation_completes);
	tcase_add_test(tc, test_pic_state_round_trips_through_kvm_pic_state);
	tcase_add_test(tc, test_pic_flat_save_load_restores_everything);
	tcase_add_test(tc, test_pic_rejects_foreign_ports_and_lines);
	suite_add_tcase(s, tc);
	return cove_check_run(s);
}
