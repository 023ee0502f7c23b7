/* SPDX-License-Identifier: MIT */
/* The virtio-mmio register protocol (virtio 1.2 §4.2), through a virtio-blk device. */
#include <check.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "blk_fixture.h"
#include "devices/virtio/virtio_mmio.h"

#define F_VERSION_1 (1ULL << VIRTIO_F_VERSION_1)

static uint64_t read_sized(uint64_t off, unsigned size)
{
	uint64_t v = 0;

	ck_assert_int_eq(bus_access(bf.bus, 0, BF_BASE + off, &v, size, false), 0);
	return le64toh(v);
}

static void write_sized(uint64_t off, uint64_t v, unsigned size)
{
	v = htole64(v);
	ck_assert_int_eq(bus_access(bf.bus, 0, BF_BASE + off, &v, size, true), 0);
}

START_TEST(test_virtio_mmio_identifies_device)
{
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_VERSION_REG), 2);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_VENDOR_ID_REG), 0x45564f43);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_STATUS), 0);
	/* No shared memory regions: length reads as -1. */
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
}
END_TEST

START_TEST(test_virtio_mmio_offers_modern_features)
{
	uint64_t f = vd_device_features(&bf.drv);

	ck_assert(f & F_VERSION_1);
	ck_assert(f & (1ULL << VIRTIO_F_INDIRECT_DESC));
	ck_assert(f & (1ULL << VIRTIO_F_EVENT_IDX));
	vd_write(&bf.drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}
END_TEST

START_TEST(test_virtio_mmio_accepts_offered_subset)
{
	uint32_t s = vd_negotiate(&bf.drv, F_VERSION_1 | (1ULL << VIRTIO_F_INDIRECT_DESC));

	ck_assert_uint_eq(s, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				     VIRTIO_STATUS_FEATURES_OK);
}
END_TEST

START_TEST(test_virtio_mmio_refuses_features_not_offered)
{
	/* Bit 34 (RING_PACKED) is not offered. */
	uint32_t s = vd_negotiate(&bf.drv, F_VERSION_1 | (1ULL << 34));

	ck_assert_uint_eq(s & VIRTIO_STATUS_FEATURES_OK, 0);
	ck_assert_uint_eq(s, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
}
END_TEST

START_TEST(test_virtio_mmio_refuses_legacy_driver)
{
	uint32_t s = vd_negotiate(&bf.drv, 1ULL << VIRTIO_F_INDIRECT_DESC);

	ck_assert_uint_eq(s & VIRTIO_STATUS_FEATURES_OK, 0);
}
END_TEST

/*
 * avail_event, which the device writes only with EVENT_IDX, when it finds
 * the ring empty: right after the push, under the same hold of the mutex,
 * which vd_wait_used() waits out.
 */
static uint16_t avail_event_after_one_request(void)
{
	vd_setup_queue(&bf.drv, 0, 16, BF_RINGS);
	vd_driver_ok(&bf.drv);
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	return gm_get16(bf.mem, bf.drv.q[0].used + 4 + 8 * 16);
}

START_TEST(test_virtio_mmio_negotiated_event_idx_reaches_queue)
{
	uint32_t s = vd_negotiate(&bf.drv, F_VERSION_1 | (1ULL << VIRTIO_F_EVENT_IDX));

	ck_assert(s & VIRTIO_STATUS_FEATURES_OK);
	ck_assert_uint_eq(avail_event_after_one_request(), 1);
}
END_TEST

START_TEST(test_virtio_mmio_features_fixed_after_features_ok)
{
	uint32_t s = vd_negotiate(&bf.drv, F_VERSION_1);

	ck_assert(s & VIRTIO_STATUS_FEATURES_OK);
	/* A later write cannot sneak in EVENT_IDX (or anything else). */
	vd_write(&bf.drv, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_write(&bf.drv, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	ck_assert_uint_eq(avail_event_after_one_request(), 0);
}
END_TEST

START_TEST(test_virtio_mmio_queue_setup)
{
	vd_negotiate(&bf.drv, F_VERSION_1);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	vd_setup_queue(&bf.drv, 0, 128, BF_RINGS);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_QUEUE_READY), 1);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_QUEUE_NUM), 128);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_QUEUE_DRIVER_LOW), BF_RINGS + 0x1000);
	/* While ready, the layout is fixed (§4.2.2.3). */
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_NUM, 8);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_QUEUE_NUM), 128);
	/* Stopping a queue reads back 0. */
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_READY, 0);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}
END_TEST

START_TEST(test_virtio_mmio_absent_queue_has_no_size)
{
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_SEL, 1);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_QUEUE_READY), 0);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
}
END_TEST

START_TEST(test_virtio_mmio_bad_queue_setup_needs_reset)
{
	vd_negotiate(&bf.drv, F_VERSION_1);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_SEL, 0);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_NUM, 100); /* not a power of two */
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_DESC_LOW, BF_RINGS);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_DRIVER_LOW, BF_RINGS + 0x1000);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_DEVICE_LOW, BF_RINGS + 0x2000);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_READY, 1);
	ck_assert(vd_read(&bf.drv, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* Rings above RAM are refused the same way after a reset. */
	vd_negotiate(&bf.drv, F_VERSION_1);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_NUM, 16);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_DESC_LOW, BF_RINGS);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_DRIVER_LOW, BF_RINGS + 0x1000);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 1);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_READY, 1);
	ck_assert(vd_read(&bf.drv, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}
END_TEST

START_TEST(test_virtio_mmio_reset_clears_queues)
{
	vd_bring_up(&bf.drv, 1, BF_RINGS);
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	ck_assert_int_eq(test_irq_level(&bf.irq), 1);
	vd_write(&bf.drv, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_int_eq(test_irq_level(&bf.irq), 0);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_QUEUE_NUM), 0);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
	/* A request posted to the old rings is not served. */
	vd_add_chain(&bf.drv, 0, (struct vd_buf[]){ { BF_HDR, 16, false }, { BF_STATUS, 1, true } },
		     2);
	vd_kick(&bf.drv, 0);
	vd_read(&bf.drv, VIRTIO_MMIO_STATUS);
	ck_assert(!vd_poll_used(&bf.drv, 0, NULL, NULL));
}
END_TEST

START_TEST(test_virtio_mmio_ignores_wrong_width_registers)
{
	ck_assert_uint_eq(read_sized(VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
	ck_assert_uint_eq(read_sized(VIRTIO_MMIO_MAGIC_VALUE, 1), 0);
	ck_assert_uint_eq(read_sized(VIRTIO_MMIO_MAGIC_VALUE, 8), 0);
	ck_assert_uint_eq(read_sized(VIRTIO_MMIO_MAGIC_VALUE + 2, 4), 0);
	write_sized(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	write_sized(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 2);
	write_sized(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 8);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_STATUS), 0);
	vd_write(&bf.drv, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	/* Writes to read-only registers change nothing. */
	vd_write(&bf.drv, VIRTIO_MMIO_MAGIC_VALUE, 0);
	vd_write(&bf.drv, VIRTIO_MMIO_DEVICE_ID, 7);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
}
END_TEST

START_TEST(test_virtio_mmio_config_space_any_width)
{
	uint64_t cap = read_sized(VIRTIO_MMIO_CONFIG, 8);

	ck_assert_uint_eq(cap, BF_SECTORS);
	ck_assert_uint_eq(read_sized(VIRTIO_MMIO_CONFIG, 4), BF_SECTORS);
	ck_assert_uint_eq(read_sized(VIRTIO_MMIO_CONFIG, 2), BF_SECTORS);
	ck_assert_uint_eq(read_sized(VIRTIO_MMIO_CONFIG, 1), BF_SECTORS);
	ck_assert_uint_eq(read_sized(VIRTIO_MMIO_CONFIG + 1, 1), 0);
	/* seg_max at 12 */
	ck_assert_uint_eq(read_sized(VIRTIO_MMIO_CONFIG + 12, 4), VIRTQ_MAX_SIZE - 2);
	/* Past the end of the config structure, and across it, reads 0. */
	ck_assert_uint_eq(read_sized(VIRTIO_MMIO_CONFIG + 0x40, 4), 0);
	ck_assert_uint_eq(read_sized(VIRTIO_MMIO_CONFIG + 34, 8), 0);
	ck_assert_uint_eq(read_sized(0x1f8, 8), 0);
	/* Config writes to a device without writable fields change nothing. */
	write_sized(VIRTIO_MMIO_CONFIG, 0x1234, 4);
	ck_assert_uint_eq(read_sized(VIRTIO_MMIO_CONFIG, 8), BF_SECTORS);
}
END_TEST

START_TEST(test_virtio_mmio_notify_of_absent_queue_is_ignored)
{
	vd_bring_up(&bf.drv, 1, BF_RINGS);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_NOTIFY, 5);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(test_virtio_mmio_rollback_restores_registers)
{
	vd_bring_up(&bf.drv, 1, BF_RINGS);
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	ck_assert_int_eq(test_irq_level(&bf.irq), 1);

	/* A checkpointed reset, rolled back, leaves the device as it was. */
	ck_assert_int_eq(bus_checkpoint(bf.bus, 0), 0);
	vd_write(&bf.drv, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_STATUS), 0);
	ck_assert_int_eq(test_irq_level(&bf.irq), 0);
	bus_rollback(bf.bus, 0);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK,
			  VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	ck_assert_int_eq(test_irq_level(&bf.irq), 1);
	vd_write(&bf.drv, VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_QUEUE_READY), 1);
	/* The queue carries on where it was. */
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);

	/* A committed ACK stays. */
	ck_assert_int_eq(bus_checkpoint(bf.bus, 0), 0);
	vd_write(&bf.drv, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	bus_commit(bf.bus, 0);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_int_eq(test_irq_level(&bf.irq), 0);
}
END_TEST

static Suite *mmio_suite(void)
{
	Suite *s = suite_create("virtio_mmio");
	TCase *tc = tcase_create("registers");

	tcase_add_checked_fixture(tc, bf_setup, bf_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_virtio_mmio_identifies_device);
	tcase_add_test(tc, test_virtio_mmio_offers_modern_features);
	tcase_add_test(tc, test_virtio_mmio_accepts_offered_subset);
	tcase_add_test(tc, test_virtio_mmio_refuses_features_not_offered);
	tcase_add_test(tc, test_virtio_mmio_refuses_legacy_driver);
	tcase_add_test(tc, test_virtio_mmio_negotiated_event_idx_reaches_queue);
	tcase_add_test(tc, test_virtio_mmio_features_fixed_after_features_ok);
	tcase_add_test(tc, test_virtio_mmio_queue_setup);
	tcase_add_test(tc, test_virtio_mmio_absent_queue_has_no_size);
	tcase_add_test(tc, test_virtio_mmio_bad_queue_setup_needs_reset);
	tcase_add_test(tc, test_virtio_mmio_reset_clears_queues);
	tcase_add_test(tc, test_virtio_mmio_ignores_wrong_width_registers);
	tcase_add_test(tc, test_virtio_mmio_config_space_any_width);
	tcase_add_test(tc, test_virtio_mmio_notify_of_absent_queue_is_ignored);
	tcase_add_test(tc, test_virtio_mmio_rollback_restores_registers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mmio_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
