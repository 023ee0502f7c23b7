// SPDX-License-Identifier: MIT
/* Local APIC: reset state, priorities, EOI, IPIs, timer modes, x2APIC, snapshots. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/irqchip/lapic.h"
#include "fake_clock.h"

#define MAX_EVENTS 16

static struct fake_clock fc;
static struct lapic *l;
static struct apic_msg ipis[MAX_EVENTS];
static unsigned nipis;
static uint8_t eois[MAX_EVENTS];
static unsigned neois;

static void on_ipi(void *opaque, const struct apic_msg *m)
{
	(void)opaque;
	if (nipis < MAX_EVENTS)
		ipis[nipis] = *m;
	nipis++;
}

static void on_eoi(void *opaque, uint8_t v)
{
	(void)opaque;
	if (neois < MAX_EVENTS)
		eois[neois] = v;
	neois++;
}

static const struct lapic_ops ops = { .send_ipi = on_ipi, .eoi = on_eoi };

static struct lapic *make(unsigned index, bool bsp)
{
	struct lapic_params p = {
		.index = index,
		.bsp = bsp,
		.clock = &fc.gc,
		.tsc_hz = 2000000000ull,
		.ops = &ops,
	};
	struct lapic *x;

	ck_assert_int_eq(lapic_create(&p, &x), 0);
	return x;
}

static void setup(void)
{
	fake_clock_init(&fc, 0);
	nipis = neois = 0;
	l = make(0, true);
}

static void teardown(void)
{
	lapic_destroy(l);
}

static void wr(struct lapic *x, uint32_t off, uint32_t v)
{
	lapic_mmio_write(x, off, &v, 4);
}

static uint32_t rd(struct lapic *x, uint32_t off)
{
	uint32_t v;

	lapic_mmio_read(x, off, &v, 4);
	return v;
}

static void enable(struct lapic *x)
{
	wr(x, 0xf0, 0x1ff);
}

START_TEST(test_lapic_reset_state_follows_sdm)
{
	struct lapic *ap = make(3, false);

	ck_assert_uint_eq(lapic_get_base(l), 0xfee00000ull | (1u << 11) | (1u << 8));
	ck_assert_uint_eq(lapic_get_base(ap), 0xfee00000ull | (1u << 11));
	ck_assert_uint_eq(rd(ap, 0x20), 3u << 24);
	ck_assert_uint_eq(rd(ap, 0x30), 0x00050014);
	ck_assert_uint_eq(rd(ap, 0x80), 0);
	ck_assert_uint_eq(rd(ap, 0xe0), 0xffffffff);
	ck_assert_uint_eq(rd(ap, 0xf0), 0xff);
	for (uint32_t off = 0x320; off <= 0x370; off += 0x10)
		ck_assert_uint_eq(rd(ap, off), 0x10000);
	ck_assert_uint_eq(rd(l, 0x350), 0x700); /* BSP LINT0: virtual wire */
	ck_assert(lapic_pic_connected(l));
	ck_assert(!lapic_pic_connected(ap));
	ck_assert_uint_eq(lapic_mmio_base(ap), 0xfee00000ull);
	lapic_destroy(ap);
}
END_TEST

START_TEST(test_lapic_software_disabled_forces_lvt_masks)
{
	wr(l, 0x320, 0x20);
	ck_assert_uint_eq(rd(l, 0x320), 0x10020);
	enable(l);
	wr(l, 0x320, 0x20);
	ck_assert_uint_eq(rd(l, 0x320), 0x20);
	wr(l, 0x350, 0x700);
	wr(l, 0xf0, 0xff); /* software disable */
	ck_assert_uint_eq(rd(l, 0x320), 0x10020);
	ck_assert_uint_eq(rd(l, 0x350), 0x10700);
	ck_assert(!lapic_pic_connected(l));
}
END_TEST

START_TEST(test_lapic_software_disabled_drops_fixed_but_takes_nmi)
{
	struct apic_msg nmi = { .delivery = APIC_DM_NMI };

	ck_assert(!lapic_accept(l, 0x40, false));
	ck_assert_int_eq(lapic_pending_vector(l), -1);
	lapic_deliver(l, &nmi);
	ck_assert(lapic_take_nmi(l));
	ck_assert(!lapic_take_nmi(l));
}
END_TEST

START_TEST(test_lapic_ppr_is_max_of_tpr_and_in_service_class)
{
	enable(l);
	ck_assert(lapic_accept(l, 0x51, false));
	ck_assert_int_eq(lapic_acknowledge(l), 0x51);
	ck_assert_uint_eq(rd(l, 0xa0), 0x50);
	wr(l, 0x80, 0x60);
	ck_assert_uint_eq(rd(l, 0xa0), 0x60);
	wr(l, 0x80, 0x3f);
	ck_assert_uint_eq(rd(l, 0xa0), 0x50);
	wr(l, 0x80, 0x5f);
	ck_assert_uint_eq(rd(l, 0xa0), 0x5f);
}
END_TEST

START_TEST(test_lapic_tpr_holds_back_lower_classes)
{
	enable(l);
	wr(l, 0x80, 0x50);
	lapic_accept(l, 0x45, false);
	lapic_accept(l, 0x50, false);
	ck_assert_int_eq(lapic_pending_vector(l), -1);
	lapic_accept(l, 0x61, false);
	ck_assert_int_eq(lapic_pending_vector(l), 0x61);
	lapic_set_tpr(l, 0);
	ck_assert_int_eq(lapic_acknowledge(l), 0x61);
	wr(l, 0xb0, 0);
	ck_assert_int_eq(lapic_acknowledge(l), 0x50);
	wr(l, 0xb0, 0);
	ck_assert_int_eq(lapic_acknowledge(l), 0x45);
}
END_TEST

START_TEST(test_lapic_isr_nesting_and_eoi_order)
{
	enable(l);
	lapic_accept(l, 0x40, false);
	ck_assert_int_eq(lapic_acknowledge(l), 0x40);
	lapic_accept(l, 0x80, false);
	ck_assert_int_eq(lapic_pending_vector(l), 0x80);
	ck_assert_int_eq(lapic_acknowledge(l), 0x80);
	lapic_accept(l, 0x50, false);
	ck_assert_int_eq(lapic_pending_vector(l), -1); /* below 0x80 in service */
	ck_assert_uint_eq(rd(l, 0x100 + 0x40), 1u); /* ISR bit 0x80 */
	ck_assert_uint_eq(rd(l, 0x100 + 0x20), 1u); /* ISR bit 0x40 */
	wr(l, 0xb0, 0);				     /* EOI retires 0x80 */
	ck_assert_uint_eq(rd(l, 0x100 + 0x40), 0);
	ck_assert_int_eq(lapic_pending_vector(l), 0x50);
	ck_assert_int_eq(lapic_acknowledge(l), 0x50);
	wr(l, 0xb0, 0);
	ck_assert_uint_eq(rd(l, 0x100 + 0x20), 1u);
	wr(l, 0xb0, 0);
	ck_assert_uint_eq(rd(l, 0x100 + 0x20), 0);
	ck_assert_uint_eq(neois, 0); /* all edge-triggered */
}
END_TEST

START_TEST(test_lapic_same_class_waits_for_eoi)
{
	enable(l);
	lapic_accept(l, 0x41, false);
	lapic_acknowledge(l);
	lapic_accept(l, 0x45, false);
	ck_assert_int_eq(lapic_pending_vector(l), -1);
	ck_assert_uint_eq(rd(l, 0x200 + 0x20), 1u << 5); /* IRR holds 0x45 */
}
END_TEST

START_TEST(test_lapic_level_eoi_broadcasts_its_vector)
{
	enable(l);
	lapic_accept(l, 0x61, true);
	ck_assert_uint_eq(rd(l, 0x180 + 0x30), 1u << 1); /* TMR bit 0x61 */
	lapic_acknowledge(l);
	wr(l, 0xb0, 0);
	ck_assert_uint_eq(neois, 1);
	ck_assert_uint_eq(eois[0], 0x61);
	lapic_accept(l, 0x61, false);
	lapic_acknowledge(l);
	wr(l, 0xb0, 0);
	ck_assert_uint_eq(neois, 1);
}
END_TEST

START_TEST(test_lapic_ack_with_nothing_deliverable_returns_spurious_vector)
{
	wr(l, 0xf0, 0x1ef);
	ck_assert_int_eq(lapic_acknowledge(l), 0xef);
	ck_assert_int_eq(vec_isr_empty_dummy, 0);
}
END_TEST
