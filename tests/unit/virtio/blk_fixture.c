/* SPDX-License-Identifier: MIT */
#include "blk_fixture.h"

#include <check.h>
#include <endian.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct blk_fixture bf;

void bf_make_image(void)
{
	uint8_t sector[VIRTIO_BLK_SECTOR];
	int fd;

	strcpy(bf.path, "/tmp/cove-virtio-blk-XXXXXX");
	fd = mkstemp(bf.path);
	ck_assert_int_ge(fd, 0);
	for (unsigned i = 0; i < BF_SECTORS; i++) {
		memset(sector, (int)i, sizeof(sector));
		ck_assert_int_eq(write(fd, sector, sizeof(sector)), sizeof(sector));
	}
	close(fd);
}

int bf_create(bool readonly, const char *serial)
{
	struct virtio_blk_params p = { .path = bf.path, .readonly = readonly, .serial = serial };
	GError *err = NULL;
	int ret;

	ret = virtio_blk_create(&p, bf.bus, BF_BASE, bf.mem, &bf.irq.sink, BF_GSI, &bf.blk, &err);
	if (err)
		g_error_free(err);
	return ret;
}

void bf_setup_nodev(void)
{
	memset(&bf, 0, sizeof(bf));
	ck_assert_int_eq(guest_mem_create(&bf.mem), 0);
	ck_assert_int_eq(guest_mem_add_ram(bf.mem, 0, BF_RAM), 0);
	ck_assert_int_eq(bus_create(BUS_MMIO, 1, &bf.bus), 0);
	test_irq_init(&bf.irq);
	bf.drv = (struct vdrv){ .bus = bf.bus, .base = BF_BASE, .mem = bf.mem };
	bf_make_image();
}

void bf_setup(void)
{
	bf_setup_nodev();
	ck_assert_int_eq(bf_create(false, "cove-test-serial"), 0);
}

void bf_teardown(void)
{
	virtio_blk_destroy(bf.blk);
	bus_destroy(bf.bus);
	guest_mem_destroy(bf.mem);
	unlink(bf.path);
}

uint8_t bf_request(uint32_t type, uint64_t sector, uint32_t data_len, bool indirect,
		   uint32_t *used_len)
{
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} hdr = { htole32(type), 0, htole64(sector) };
	uint8_t status = 0xee;
	struct vd_buf b[3];
	unsigned n = 0;
	uint32_t id, len;
	uint16_t head;

	gm_write(bf.mem, BF_HDR, &hdr, sizeof(hdr));
	gm_write(bf.mem, BF_STATUS, &status, 1);
	b[n++] = (struct vd_buf){ BF_HDR, sizeof(hdr), false };
	if (data_len)
		b[n++] = (struct vd_buf){ BF_DATA, data_len, type != VIRTIO_BLK_T_OUT };
	b[n++] = (struct vd_buf){ BF_STATUS, 1, true };
	if (indirect)
		head = vd_add_indirect(&bf.drv, 0, b, n, BF_TABLE);
	else
		head = vd_add_chain(&bf.drv, 0, b, n);
	vd_kick(&bf.drv, 0);
	ck_assert_msg(vd_wait_used(&bf.drv, 0, &id, &len), "request never completed");
	ck_assert_uint_eq(id, head);
	if (used_len)
		*used_len = len;
	gm_read(bf.mem, BF_STATUS, &status, 1);
	return status;
}

void bf_read_image(uint64_t off, void *buf, size_t len)
{
	int fd = open(bf.path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}
