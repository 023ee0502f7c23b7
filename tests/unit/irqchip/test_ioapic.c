// SPDX-License-Identifier: MIT
/* I/O APIC: registers, redirection, masking, remote IRR and re-delivery. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/irqchip/ioapic.h"
#include "../check_main.h"

#define MAX_MSGS 16

static struct ioapic *io;
static struct apic_msg msgs[MAX_MSGS];
static unsigned nmsgs;

static void record(void *opaque, const struct apic_msg *m)
{
	(void)opaque;
	if (nmsgs < MAX_MSGS)
		msgs[nmsgs] = *m;
	nmsgs++;
}

static void setup(void)
{
	struct ioapic_params p = { .deliver = record };

	nmsgs = 0;
	memset(msgs, 0, sizeof(msgs));
	ck_assert_int_eq(ioapic_create(&p, &io), 0);
}

static void teardown(void)
{
	ioapic_destroy(io);
}

static void wr32(uint64_t off, uint32_t v)
{
	ioapic_mmio_write(io, off, &v, 4);
}

static uint32_t reg_read(uint32_t reg)
{
	uint32_t v;

	wr32(0x00, reg);
	ioapic_mmio_read(io, 0x10, &v, 4);
	return v;
}

static void reg_write(uint32_t reg, uint32_t v)
{
	wr32(0x00, reg);
	wr32(0x10, v);
}

static void program(unsigned pin, uint32_t low, uint8_t dest)
{
	reg_write(0x11 + 2 * pin, (uint32_t)dest << 24);
	reg_write(0x10 + 2 * pin, low);
}

#define LEVEL	  (1u << 15)
#define MASKED	  (1u << 16)
#define REMOTE_IRR (1u << 14)

START_TEST(test_ioapic_version_reports_0x20_and_23_entries)
{
	ck_assert_uint_eq(reg_read(0x01), 0x00170020);
}
END_TEST

START_TEST(test_ioapic_id_keeps_only_bits_27_24)
{
	reg_write(0x00, 0xffffffff);
	ck_assert_uint_eq(reg_read(0x00), 0x0f000000);
	ck_assert_uint_eq(reg_read(0x02), 0x0f000000);
	reg_write(0x01, 0);
	ck_assert_uint_eq(reg_read(0x01), 0x00170020); /* read-only */
}
END_TEST

START_TEST(test_ioapic_entries_come_out_of_reset_masked)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		ck_assert_uint_eq(reg_read(0x10 + 2 * pin), MASKED);
	ioapic_set_irq(io, 4, 1);
	ck_assert_uint_eq(nmsgs, 0);
}
END_TEST

START_TEST(test_ioapic_ioregsel_reads_back)
{
	uint8_t b;

	wr32(0x00, 0x3f);
	ioapic_mmio_read(io, 0x00, &b, 1);
	ck_assert_uint_eq(b, 0x3f);
}
END_TEST

START_TEST(test_ioapic_edge_delivers_once_per_rising_edge)
{
	program(4, 0x24, 1);
	ioapic_set_irq(io, 4, 1);
	ck_assert_uint_eq(nmsgs, 1);
	ck_assert_uint_eq(msgs[0].vector, 0x24);
	ck_assert_uint_eq(msgs[0].dest, 1);
	ck_assert_uint_eq(msgs[0].delivery, APIC_DM_FIXED);
	ck_assert(!msgs[0].logical);
	ck_assert(!msgs[0].level);
	ck_assert_int_eq(msgs[0].source, -1);
	ioapic_set_irq(io, 4, 1);
	ck_assert_uint_eq(nmsgs, 1);
	ioapic_set_irq(io, 4, 0);
	ioapic_set_irq(io, 4, 1);
	ck_assert_uint_eq(nmsgs, 2);
}
END_TEST

START_TEST(test_ioapic_masked_edge_is_dropped_not_held)
{
	program(5, 0x25 | MASKED, 0);
	ioapic_set_irq(io, 5, 1);
	program(5, 0x25, 0);
	ck_assert_uint_eq(nmsgs, 0);
}
END_TEST

START_TEST(test_ioapic_level_sets_remote_irr_and_redelivers_after_eoi)
{
	program(16, 0x41 | LEVEL, 0);
	ioapic_set_irq(io, 16, 1);
	ck_assert_uint_eq(nmsgs, 1);
	ck_assert(msgs[0].level);
	ck_assert_uint_eq(reg_read(0x30) & REMOTE_IRR, REMOTE_IRR);
	ioapic_set_irq(io, 16, 1);
	ck_assert_uint_eq(nmsgs, 1); /* waits for the EOI */
	ioapic_eoi(io, 0x41);
	ck_assert_uint_eq(nmsgs, 2); /* still held: delivered again */
	ck_assert_uint_eq(reg_read(0x30) & REMOTE_IRR, REMOTE_IRR);
	ioapic_set_irq(io, 16, 0);
	ioapic_eoi(io, 0x41);
	ck_assert_uint_eq(nmsgs, 2);
	ck_assert_uint_eq(reg_read(0x30) & REMOTE_IRR, 0);
}
END_TEST

START_TEST(test_ioapic_eoi_of_other_vector_leaves_remote_irr)
{
	program(16, 0x41 | LEVEL, 0);
	ioapic_set_irq(io, 16, 1);
	ioapic_eoi(io, 0x42);
	ck_assert_uint_eq(reg_read(0x30) & REMOTE_IRR, REMOTE_IRR);
	ck_assert_uint_eq(nmsgs, 1);
}
END_TEST

START_TEST(test_ioapic_unmasking_a_held_level_line_delivers)
{
	program(17, 0x51 | LEVEL | MASKED, 0);
	ioapic_set_irq(io, 17, 1);
	ck_assert_uint_eq(nmsgs, 0);
	program(17, 0x51 | LEVEL, 0);
	ck_assert_uint_eq(nmsgs, 1);
	ck_assert_uint_eq(msgs[0].vector, 0x51);
}
END_TEST

START_TEST(test_ioapic_eoi_register_clears_remote_irr)
{
	program(18, 0x61 | LEVEL, 0);
	ioapic_set_irq(io, 18, 1);
	ioapic_set_irq(io, 18, 0);
	wr32(0x40, 0x61);
	ck_assert_uint_eq(reg_read(0x34) & REMOTE_IRR, 0);
}
END_TEST

START_TEST(test_ioapic_guest_cannot_write_remote_irr_or_delivery_status)
{
	program(3, 0x33 | LEVEL | REMOTE_IRR | (1u << 12) | MASKED, 0);
	ck_assert_uint_eq(reg_read(0x16), 0x33 | LEVEL | MASKED);
}
END_TEST

START_TEST(test_ioapic_message_carries_mode_destination_and_logical)
{
	/* lowest priority, logical, destination 0x03 */
	program(6, 0x36 | (1u << 8) | (1u << 11), 0x03);
	ioapic_set_irq(io, 6, 1);
	ck_assert_uint_eq(nmsgs, 1);
	ck_assert_uint_eq(msgs[0].delivery, APIC_DM_LOWEST);
	ck_assert(msgs[0].logical);
	ck_assert_uint_eq(msgs[0].dest, 0x03);
	ck_assert_uint_eq(reg_read(0x1d), 0x03000000);

	program(7, (4u << 8), 0); /* NMI */
	ioapic_set_irq(io, 7, 1);
	ck_assert_uint_eq(msgs[1].delivery, APIC_DM_NMI);
	program(8, (7u << 8), 0); /* ExtINT */
	ioapic_set_irq(io, 8, 1);
	ck_assert_uint_eq(msgs[2].delivery, APIC_DM_EXTINT);
}
END_TEST

START_TEST(test_ioapic_level_nmi_does_not_wait_for_eoi)
{
	program(9, (4u << 8) | LEVEL, 0);
	ioapic_set_irq(io, 9, 1);
	ck_assert_uint_eq(nmsgs, 1);
	ck_assert_uint_eq(reg_read(0x22) & REMOTE_IRR, 0);
}
END_TEST

START_TEST(test_ioapic_switching_to_edge_clears_remote_irr)
{
	program(19, 0x71 | LEVEL, 0);
	ioapic_set_irq(io, 19, 1);
	program(19, 0x71, 0);
	ck_assert_uint_eq(reg_read(0x36) & REMOTE_IRR, 0);
}
END_TEST

START_TEST(test_ioapic_out_of_range_pins_and_registers_are_ignored)
{
	ioapic_set_irq(io, 24, 1);
	ioapic_set_irq(io, 0xffffffff, 1);
	ck_assert_uint_eq(nmsgs, 0);
	ck_assert_uint_eq(reg_read(0x40), 0);
	reg_write(0xff, 0x1234);
	ck_assert_uint_eq(reg_read(0xff), 0);
}
END_TEST

START_TEST(test_ioapic_state_round_trips_through_kvm_ioapic_state)
{
	struct kvm_ioapic_state a, b;
	struct ioapic_params p = { .deliver = record };
	struct ioapic *q;

	reg_write(0x00, 0x02000000);
	program(16, 0x41 | LEVEL, 0);
	program(4, 0x24, 1);
	ioapic_set_irq(io, 16, 1);
	ioapic_set_irq(io, 4, 1);
	ioapic_get_state(io, &a);
	ck_assert_uint_eq(a.id, 2);
	ck_assert_uint_eq(a.irr, (1u << 16) | (1u << 4));
	ck_assert_uint_eq(a.redirtbl[16].fields.remote_irr, 1);
	ck_assert_uint_eq(a.redirtbl[16].fields.vector, 0x41);
	ck_assert_uint_eq(a.redirtbl[4].fields.dest_id, 1);

	ck_assert_int_eq(ioapic_create(&p, &q), 0);
	nmsgs = 0;
	ioapic_set_state(q, &a);
	ck_assert_uint_eq(nmsgs, 0); /* remote IRR set: no re-delivery */
	ioapic_get_state(q, &b);
	ck_assert_mem_eq(&a, &b, sizeof(a));
	ioapic_eoi(q, 0x41);
	ck_assert_uint_eq(nmsgs, 1);
	ioapic_destroy(q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ioapic");
	TCase *tc = tcase_create("ioapic");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ioapic_version_reports_0x20_and_23_entries);
	tcase_add_test(tc, test_ioapic_id_keeps_only_bits_27_24);
	tcase_add_test(tc, test_ioapic_entries_come_out_of_reset_masked);
	tcase_add_test(tc, test_ioapic_ioregsel_reads_back);
	tcase_add_test(tc, test_ioapic_edge_delivers_once_per_rising_edge);
	tcase_add_test(tc, test_ioapic_masked_edge_is_dropped_not_held);
	tcase_add_test(tc, test_ioapic_level_sets_remote_irr_and_redelivers_after_eoi);
	tcase_add_test(tc, test_ioapic_eoi_of_other_vector_leaves_remote_irr);
	tcase_add_test(tc, test_ioapic_unmasking_a_held_level_line_delivers);
	tcase_add_test(tc, test_ioapic_eoi_register_clears_remote_irr);
	tcase_add_test(tc, test_ioapic_guest_cannot_write_remote_irr_or_delivery_status);
	tcase_add_test(tc, test_ioapic_message_carries_mode_destination_and_logical);
	tcase_add_test(tc, test_ioapic_level_nmi_does_not_wait_for_eoi);
	tcase_add_test(tc, test_ioapic_switching_to_edge_clears_remote_irr);
	tcase_add_test(tc, test_ioapic_out_of_range_pins_and_registers_are_ignored);
	tcase_add_test(tc, test_ioapic_state_round_trips_through_kvm_ioapic_state);
	suite_add_tcase(s, tc);
	return cove_check_run(s);
}
