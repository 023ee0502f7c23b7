/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport, modern register layout (Version 2, virtio 1.2
 * §4.2.2). A device embeds a struct virtio_mmio, fills in the parameters and
 * registers a 0x200-byte window on the MMIO bus. The transport owns the
 * device mutex: the bus holds it around register accesses, and the device's
 * worker threads take it whenever they touch the queues or guest memory.
 *
 * The interrupt is one level-triggered line, high while InterruptStatus is
 * not zero (§4.2.3.4).
 */
#ifndef COVE_DEVICES_VIRTIO_VIRTIO_MMIO_H
#define COVE_DEVICES_VIRTIO_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtqueue.h"

struct bus;
struct guest_mem;
struct irq_sink;

#define VIRTIO_MMIO_WINDOW     0x200
#define VIRTIO_MMIO_MAGIC      0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION    2
#define VIRTIO_MMIO_VENDOR_ID  0x45564f43 /* "COVE" */
#define VIRTIO_MMIO_MAX_QUEUES 16
#define VIRTIO_MMIO_CONFIG_MAX (VIRTIO_MMIO_WINDOW - 0x100)

/* Register offsets, virtio 1.2 §4.2.2 */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000
#define VIRTIO_MMIO_VERSION_REG		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID_REG	0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define VIRTIO_MMIO_SHM_SEL		0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW		0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH	0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW	0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH	0x0bc
#define VIRTIO_MMIO_QUEUE_RESET		0x0c0
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

#define VIRTIO_MMIO_INT_VRING  1
#define VIRTIO_MMIO_INT_CONFIG 2

/* Device status bits, virtio 1.2 §2.1 */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER	  2
#define VIRTIO_STATUS_DRIVER_OK	  4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED	  128

/* Device IDs, virtio 1.2 §5 */
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_CONSOLE 3

/* What the transport asks of a device. All calls hold the device mutex. */
struct virtio_dev_ops {
	/* The driver notified queue q, or set DRIVER_OK (then once per queue). */
	void (*notify)(void *dev, unsigned q);
	/* The driver reset the device; queues are already cleared. */
	void (*reset)(void *dev);
	/* Optional: a config space write; off is within config_size. */
	void (*config_write)(void *dev, uint32_t off, const void *data, unsigned size);
};

struct virtio_mmio_params {
	const struct virtio_dev_ops *ops;
	void *dev;
	uint32_t device_id;
	uint64_t features; /* device-specific bits; the transport adds its own */
	unsigned nqueues;  /* 1..VIRTIO_MMIO_MAX_QUEUES */
	/* Device config space, read under the mutex; owned by the device. */
	const void *config;
	uint32_t config_size; /* <= VIRTIO_MMIO_CONFIG_MAX */
	struct guest_mem *mem;
	struct irq_sink *irq;
	uint32_t gsi;
};

/* Guest-visible state: plain data, saved and restored whole. */
struct virtio_mmio_regs {
	uint32_t status;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t shm_sel;
	uint32_t isr;
	uint32_t config_generation;
	bool irq_level;
	uint64_t driver_features;
	uint64_t reset_count; /* bumped by every reset; workers compare it */
	struct virtq vq[VIRTIO_MMIO_MAX_QUEUES];
};

struct virtio_mmio {
	pthread_mutex_t lock;
	struct virtio_mmio_params p;
	uint64_t device_features; /* p.features plus the transport's bits */
	struct virtio_mmio_regs regs;
};

/* Fills t from p; -EINVAL if p is out of range. Call before registering. */
int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_mmio_params *p);
/* Claims [base, base + VIRTIO_MMIO_WINDOW) on the MMIO bus. */
int virtio_mmio_register(struct virtio_mmio *t, struct bus *mmio, uint64_t base);
void virtio_mmio_fini(struct virtio_mmio *t);

/*
 * For the device, with t->lock held. pop returns 1 with a chain, 0 when
 * there is nothing to do (driver not ready, queue empty), or -EIO when the
 * guest broke the queue, which puts the device into DEVICE_NEEDS_RESET.
 * push returns a chain and raises the interrupt if the driver wants one.
 */
int virtio_mmio_pop(struct virtio_mmio *t, unsigned q, struct virtq_req *req);
void virtio_mmio_push(struct virtio_mmio *t, unsigned q, uint16_t head, uint32_t len);
void virtio_mmio_needs_reset(struct virtio_mmio *t);
/* The device changed its config space: new generation, config interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio *t);
/* FEATURES_OK and DRIVER_OK set, no DEVICE_NEEDS_RESET. */
bool virtio_mmio_live(const struct virtio_mmio *t);

#endif
