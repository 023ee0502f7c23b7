/* SPDX-License-Identifier: MIT */
/*
 * A minimal virtio-mmio *driver* for the tests: it talks to a device only
 * through bus_access() and guest RAM, as a guest would.
 */
#ifndef COVE_TESTS_VIRTIO_VDRIVER_H
#define COVE_TESTS_VIRTIO_VDRIVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "mmu/guest_mem.h"

#define VD_MAX_QUEUES 4

/* An irq_sink that records the line, for asserting interrupts. */
struct test_irq {
	struct irq_sink sink;
	pthread_mutex_t lock;
	int level;
	unsigned raised; /* low -> high transitions */
	uint32_t last_gsi;
};

void test_irq_init(struct test_irq *t);
int test_irq_level(struct test_irq *t);
unsigned test_irq_raised(struct test_irq *t);

struct vd_queue {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx;
	uint16_t used_seen;
	uint16_t next_desc;
};

struct vdrv {
	struct bus *bus;
	uint64_t base;
	struct guest_mem *mem;
	struct vd_queue q[VD_MAX_QUEUES];
};

struct vd_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

uint32_t vd_read(struct vdrv *d, uint64_t off);
void vd_write(struct vdrv *d, uint64_t off, uint32_t v);
uint64_t vd_device_features(struct vdrv *d);
/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns the status read back. */
uint32_t vd_negotiate(struct vdrv *d, uint64_t features);
/* Rings at ring_base: desc, then avail at +0x1000, used at +0x2000. */
void vd_setup_queue(struct vdrv *d, unsigned q, uint16_t size, uint64_t ring_base);
void vd_driver_ok(struct vdrv *d);
/* Full bring-up with the device's own features (minus none) and queues 0..nq-1. */
void vd_bring_up(struct vdrv *d, unsigned nq, uint64_t ring_area);

/* Posts a chain of direct descriptors; returns its head. */
uint16_t vd_add_chain(struct vdrv *d, unsigned q, const struct vd_buf *b, unsigned n);
/* Posts one descriptor pointing at an indirect table written at table_gpa. */
uint16_t vd_add_indirect(struct vdrv *d, unsigned q, const struct vd_buf *b, unsigned n,
			 uint64_t table_gpa);
void vd_kick(struct vdrv *d, unsigned q);
/* Waits (bounded, as a hang guard) for the next used element; false on timeout. */
bool vd_wait_used(struct vdrv *d, unsigned q, uint32_t *id, uint32_t *len);
/* The next used element if there is one now. */
bool vd_poll_used(struct vdrv *d, unsigned q, uint32_t *id, uint32_t *len);

void gm_write(struct guest_mem *m, uint64_t gpa, const void *buf, uint64_t len);
void gm_read(struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len);
void gm_put16(struct guest_mem *m, uint64_t gpa, uint16_t v);
uint16_t gm_get16(struct guest_mem *m, uint64_t gpa);

#endif
