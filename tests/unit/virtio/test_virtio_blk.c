/* SPDX-License-Identifier: MIT */
/* virtio-blk end to end: a driver on the MMIO bus, a real image file. */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk_fixture.h"
#include "devices/virtio/virtio_mmio.h"

static void ready_device(void)
{
	vd_bring_up(&bf.drv, 1, BF_RINGS);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static uint64_t config_capacity(void)
{
	uint32_t lo = vd_read(&bf.drv, VIRTIO_MMIO_CONFIG);
	uint32_t hi = vd_read(&bf.drv, VIRTIO_MMIO_CONFIG + 4);

	return ((uint64_t)hi << 32) | lo;
}

START_TEST(test_virtio_blk_reports_capacity)
{
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	ck_assert_uint_eq(config_capacity(), BF_SECTORS);
}
END_TEST

START_TEST(test_virtio_blk_write_then_read)
{
	uint8_t data[3 * VIRTIO_BLK_SECTOR], back[sizeof(data)];
	uint32_t used;

	ready_device();
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	gm_write(bf.mem, BF_DATA, data, sizeof(data));
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_OUT, 5, sizeof(data), false, &used),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1); /* only the status byte was written */
	bf_read_image(5 * VIRTIO_BLK_SECTOR, back, sizeof(back));
	ck_assert(memcmp(back, data, sizeof(data)) == 0);

	/* Read it back through an indirect table into a scrubbed buffer. */
	memset(back, 0, sizeof(back));
	gm_write(bf.mem, BF_DATA, back, sizeof(back));
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_IN, 5, sizeof(data), true, &used),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, sizeof(data) + 1);
	gm_read(bf.mem, BF_DATA, back, sizeof(back));
	ck_assert(memcmp(back, data, sizeof(data)) == 0);

	/* Neighbouring sectors kept their original contents. */
	bf_read_image(4 * VIRTIO_BLK_SECTOR, back, VIRTIO_BLK_SECTOR);
	ck_assert_uint_eq(back[0], 4);
	bf_read_image(8 * VIRTIO_BLK_SECTOR, back, VIRTIO_BLK_SECTOR);
	ck_assert_uint_eq(back[VIRTIO_BLK_SECTOR - 1], 8);
}
END_TEST

START_TEST(test_virtio_blk_reads_last_sector)
{
	uint8_t back[VIRTIO_BLK_SECTOR];

	ready_device();
	ck_assert_uint_eq(
		bf_request(VIRTIO_BLK_T_IN, BF_SECTORS - 1, VIRTIO_BLK_SECTOR, false, NULL),
		VIRTIO_BLK_S_OK);
	gm_read(bf.mem, BF_DATA, back, sizeof(back));
	ck_assert_uint_eq(back[0], BF_SECTORS - 1);
}
END_TEST

START_TEST(test_virtio_blk_beyond_capacity_is_ioerr)
{
	uint8_t data[2 * VIRTIO_BLK_SECTOR], orig[sizeof(data)];
	uint32_t used;

	ready_device();
	bf_read_image((BF_SECTORS - 1) * VIRTIO_BLK_SECTOR, orig, VIRTIO_BLK_SECTOR);
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_IN, BF_SECTORS - 1, sizeof(data), false, &used),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_lt(used, sizeof(data) + 1);
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_IN, BF_SECTORS, VIRTIO_BLK_SECTOR, false, NULL),
			  VIRTIO_BLK_S_IOERR);
	/* sector * 512 would overflow 64 bits. */
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_IN, 1ULL << 60, VIRTIO_BLK_SECTOR, true, NULL),
			  VIRTIO_BLK_S_IOERR);
	memset(data, 0x77, sizeof(data));
	gm_write(bf.mem, BF_DATA, data, sizeof(data));
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_OUT, BF_SECTORS - 1, sizeof(data), false, NULL),
			  VIRTIO_BLK_S_IOERR);
	/* A failed write did not write its in-range part either. */
	bf_read_image((BF_SECTORS - 1) * VIRTIO_BLK_SECTOR, data, VIRTIO_BLK_SECTOR);
	ck_assert(memcmp(data, orig, VIRTIO_BLK_SECTOR) == 0);
	/* And the device still works. */
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_IN, 0, VIRTIO_BLK_SECTOR, false, NULL),
			  VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(test_virtio_blk_partial_sector_is_ioerr)
{
	ready_device();
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_IN, 0, 100, false, NULL), VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(test_virtio_blk_readonly_refuses_writes)
{
	uint8_t data[VIRTIO_BLK_SECTOR], back[VIRTIO_BLK_SECTOR];

	ck_assert_int_eq(bf_create(true, NULL), 0);
	ck_assert(vd_device_features(&bf.drv) & (1ULL << VIRTIO_BLK_F_RO));
	ready_device();
	memset(data, 0x5a, sizeof(data));
	gm_write(bf.mem, BF_DATA, data, sizeof(data));
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_OUT, 2, sizeof(data), false, NULL),
			  VIRTIO_BLK_S_IOERR);
	bf_read_image(2 * VIRTIO_BLK_SECTOR, back, sizeof(back));
	for (size_t i = 0; i < sizeof(back); i++)
		ck_assert_uint_eq(back[i], 2);
	/* Reads still work. */
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_IN, 3, sizeof(data), false, NULL),
			  VIRTIO_BLK_S_OK);
	gm_read(bf.mem, BF_DATA, back, sizeof(back));
	ck_assert_uint_eq(back[17], 3);
}
END_TEST

START_TEST(test_virtio_blk_read_write_device_does_not_offer_ro)
{
	ck_assert(!(vd_device_features(&bf.drv) & (1ULL << VIRTIO_BLK_F_RO)));
	ck_assert(vd_device_features(&bf.drv) & (1ULL << VIRTIO_BLK_F_FLUSH));
}
END_TEST

START_TEST(test_virtio_blk_get_id_returns_serial)
{
	uint8_t id[VIRTIO_BLK_ID_BYTES], want[VIRTIO_BLK_ID_BYTES] = "cove-test-serial";
	uint32_t used;

	ready_device();
	memset(id, 0xff, sizeof(id));
	gm_write(bf.mem, BF_DATA, id, sizeof(id));
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_GET_ID, 0, sizeof(id), false, &used),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, VIRTIO_BLK_ID_BYTES + 1);
	gm_read(bf.mem, BF_DATA, id, sizeof(id));
	/* Shorter than 20 bytes: zero padded. */
	ck_assert(memcmp(id, want, sizeof(id)) == 0);
}
END_TEST

START_TEST(test_virtio_blk_flush_succeeds)
{
	uint32_t used;

	ready_device();
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_FLUSH, 0, 0, false, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1);
}
END_TEST

START_TEST(test_virtio_blk_unknown_type_is_unsupp)
{
	ready_device();
	ck_assert_uint_eq(bf_request(99, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
}
END_TEST

START_TEST(test_virtio_blk_completion_raises_interrupt)
{
	ready_device();
	ck_assert_int_eq(test_irq_level(&bf.irq), 0);
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	ck_assert_int_eq(test_irq_level(&bf.irq), 1);
	ck_assert_uint_eq(bf.irq.last_gsi, BF_GSI);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	vd_write(&bf.drv, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_int_eq(test_irq_level(&bf.irq), 0);
}
END_TEST

START_TEST(test_virtio_blk_bad_chain_sets_needs_reset)
{
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} hdr = { htole32(VIRTIO_BLK_T_OUT), 0, htole64(0) };
	struct vd_buf b[3] = {
		{ BF_HDR, sizeof(hdr), false },
		{ BF_RAM - VIRTIO_BLK_SECTOR / 2, VIRTIO_BLK_SECTOR, false }, /* runs off RAM */
		{ BF_STATUS, 1, true },
	};
	uint8_t before[VIRTIO_BLK_SECTOR], after[VIRTIO_BLK_SECTOR];

	ready_device();
	bf_read_image(0, before, sizeof(before));
	gm_write(bf.mem, BF_HDR, &hdr, sizeof(hdr));
	vd_add_chain(&bf.drv, 0, b, 3);
	vd_kick(&bf.drv, 0);
	/* The worker flags the device; wait for it (bounded). */
	for (int i = 0;
	     i < 20000 && !(vd_read(&bf.drv, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET); i++)
		usleep(1000);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET,
			  VIRTIO_STATUS_NEEDS_RESET);
	ck_assert_uint_eq(vd_read(&bf.drv, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	ck_assert_int_eq(test_irq_level(&bf.irq), 1);
	ck_assert(!vd_poll_used(&bf.drv, 0, NULL, NULL));
	bf_read_image(0, after, sizeof(after));
	ck_assert(memcmp(before, after, sizeof(after)) == 0);

	/* A reset brings it back. */
	memset(&bf.drv.q, 0, sizeof(bf.drv.q));
	ready_device();
	ck_assert_int_eq(test_irq_level(&bf.irq), 0);
	ck_assert_uint_eq(bf_request(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(test_virtio_blk_missing_header_is_ioerr)
{
	struct vd_buf b[2] = { { BF_HDR, 8, false }, { BF_STATUS, 1, true } };
	uint8_t status = 0xee;
	uint32_t len;

	ready_device();
	gm_write(bf.mem, BF_STATUS, &status, 1);
	vd_add_chain(&bf.drv, 0, b, 2);
	vd_kick(&bf.drv, 0);
	ck_assert(vd_wait_used(&bf.drv, 0, NULL, &len));
	gm_read(bf.mem, BF_STATUS, &status, 1);
	ck_assert_uint_eq(status, VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(test_virtio_blk_requests_wait_for_driver_ok)
{
	uint32_t s = vd_negotiate(&bf.drv, vd_device_features(&bf.drv));

	ck_assert(s & VIRTIO_STATUS_FEATURES_OK);
	vd_setup_queue(&bf.drv, 0, 16, BF_RINGS);
	gm_write(bf.mem, BF_HDR, &(uint32_t[4]){ htole32(VIRTIO_BLK_T_FLUSH) }, 16);
	vd_add_chain(&bf.drv, 0, (struct vd_buf[]){ { BF_HDR, 16, false }, { BF_STATUS, 1, true } },
		     2);
	vd_kick(&bf.drv, 0);
	usleep(20000);
	/* §3.1.2: no buffer is used before DRIVER_OK ... */
	ck_assert(!vd_poll_used(&bf.drv, 0, NULL, NULL));
	/* ... and DRIVER_OK alone starts the queue. */
	vd_driver_ok(&bf.drv);
	ck_assert(vd_wait_used(&bf.drv, 0, NULL, NULL));
}
END_TEST

START_TEST(test_virtio_blk_create_reports_missing_file)
{
	struct virtio_blk_params p = { .path = "/nonexistent/cove/disk.img" };
	struct virtio_blk *b = NULL;
	GError *err = NULL;

	ck_assert_int_eq(
		virtio_blk_create(&p, bf.bus, BF_BASE, bf.mem, &bf.irq.sink, BF_GSI, &b, &err),
		-ENOENT);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err->message, "/nonexistent/cove/disk.img"));
	ck_assert_ptr_null(strchr(err->message, '\n'));
	g_error_free(err);
	ck_assert_ptr_null(b);
}
END_TEST

START_TEST(test_virtio_blk_create_rejects_long_serial)
{
	struct virtio_blk_params p = { .path = bf.path, .serial = "123456789012345678901" };
	struct virtio_blk *b = NULL;
	GError *err = NULL;

	ck_assert_int_eq(
		virtio_blk_create(&p, bf.bus, BF_BASE, bf.mem, &bf.irq.sink, BF_GSI, &b, &err),
		-EINVAL);
	ck_assert_ptr_nonnull(strstr(err->message, "serial"));
	g_error_free(err);
}
END_TEST

START_TEST(test_virtio_blk_refuses_second_writer)
{
	struct virtio_blk_params p = { .path = bf.path };
	struct virtio_blk *b = NULL;
	GError *err = NULL;

	/* bf.blk already holds the image read-write. */
	ck_assert_int_eq(virtio_blk_create(&p, bf.bus, BF_BASE + 0x1000, bf.mem, &bf.irq.sink,
					   BF_GSI + 1, &b, &err),
			 -EBUSY);
	ck_assert_ptr_nonnull(strstr(err->message, "in use"));
	g_error_free(err);
}
END_TEST

static Suite *blk_suite(void)
{
	Suite *s = suite_create("virtio_blk");
	TCase *tc = tcase_create("device");
	TCase *nodev = tcase_create("create");

	tcase_add_checked_fixture(tc, bf_setup, bf_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_virtio_blk_reports_capacity);
	tcase_add_test(tc, test_virtio_blk_write_then_read);
	tcase_add_test(tc, test_virtio_blk_reads_last_sector);
	tcase_add_test(tc, test_virtio_blk_beyond_capacity_is_ioerr);
	tcase_add_test(tc, test_virtio_blk_partial_sector_is_ioerr);
	tcase_add_test(tc, test_virtio_blk_read_write_device_does_not_offer_ro);
	tcase_add_test(tc, test_virtio_blk_get_id_returns_serial);
	tcase_add_test(tc, test_virtio_blk_flush_succeeds);
	tcase_add_test(tc, test_virtio_blk_unknown_type_is_unsupp);
	tcase_add_test(tc, test_virtio_blk_completion_raises_interrupt);
	tcase_add_test(tc, test_virtio_blk_bad_chain_sets_needs_reset);
	tcase_add_test(tc, test_virtio_blk_missing_header_is_ioerr);
	tcase_add_test(tc, test_virtio_blk_requests_wait_for_driver_ok);
	tcase_add_test(tc, test_virtio_blk_refuses_second_writer);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(nodev, bf_setup_nodev, bf_teardown);
	tcase_set_timeout(nodev, 60);
	tcase_add_test(nodev, test_virtio_blk_readonly_refuses_writes);
	tcase_add_test(nodev, test_virtio_blk_create_reports_missing_file);
	tcase_add_test(nodev, test_virtio_blk_create_rejects_long_serial);
	suite_add_tcase(s, nodev);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(blk_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
