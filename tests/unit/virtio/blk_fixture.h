/* SPDX-License-Identifier: MIT */
/*
 * A virtio-blk device on a real temporary image, on a real MMIO bus, over
 * 1 MiB of guest RAM at 0 (nothing above it), driven by vdriver.
 */
#ifndef COVE_TESTS_VIRTIO_BLK_FIXTURE_H
#define COVE_TESTS_VIRTIO_BLK_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio_blk.h"
#include "vdriver.h"

#define BF_BASE	   0xd0000000ULL
#define BF_GSI	   16
#define BF_RAM	   0x100000ULL
#define BF_SECTORS 64
#define BF_RINGS   0x1000ULL /* queue 0 rings: 0x1000..0x3fff */
#define BF_HDR	   0x10000ULL
#define BF_DATA	   0x20000ULL /* up to 64 KiB */
#define BF_STATUS  0x40000ULL
#define BF_TABLE   0x50000ULL

struct blk_fixture {
	char path[64];
	struct guest_mem *mem;
	struct bus *bus;
	struct test_irq irq;
	struct virtio_blk *blk;
	struct vdrv drv;
};

extern struct blk_fixture bf;

/* Creates the image (BF_SECTORS sectors, sector i filled with byte i). */
void bf_make_image(void);
/* Creates the device; returns what virtio_blk_create returned. */
int bf_create(bool readonly, const char *serial);
void bf_setup_nodev(void); /* RAM, bus, irq and image; no device yet */
void bf_setup(void);	   /* ... and a read-write device, serial "cove-test-serial" */
void bf_teardown(void);

/*
 * One request: header, data (readable for OUT, writable otherwise) and
 * status, as direct or indirect descriptors. Waits for completion and
 * returns the status byte; *used_len gets the used length.
 */
uint8_t bf_request(uint32_t type, uint64_t sector, uint32_t data_len, bool indirect,
		   uint32_t *used_len);
void bf_read_image(uint64_t off, void *buf, size_t len);

#endif
