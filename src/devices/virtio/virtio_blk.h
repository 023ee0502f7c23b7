/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2 §5.2) over virtio-mmio, backed by a raw image file
 * or block device. One request queue. Requests run on the device's worker
 * thread: a QueueNotify from the vCPU only wakes it. Guest memory is touched
 * only with the device mutex held (data goes through a bounce buffer), so a
 * reset cuts off any request still in flight at once.
 */
#ifndef COVE_DEVICES_VIRTIO_VIRTIO_BLK_H
#define COVE_DEVICES_VIRTIO_VIRTIO_BLK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct bus;
struct guest_mem;
struct irq_sink;
struct virtio_blk;

/* Feature bits, virtio 1.2 §5.2.3 */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO	      5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

/* Request types and status, virtio 1.2 §5.2.6 */
#define VIRTIO_BLK_T_IN	    0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR   512

struct virtio_blk_params {
	const char *path;
	bool readonly;
	const char *serial; /* GET_ID answer, at most 20 bytes; NULL for none */
};

/*
 * Opens the image (read-only when asked), locks it against a second writer
 * (flock), starts the worker and registers the device window at base.
 * Returns 0, or -errno with err set to one line naming the file and reason.
 */
int virtio_blk_create(const struct virtio_blk_params *p, struct bus *mmio, uint64_t base,
		      struct guest_mem *mem, struct irq_sink *irq, uint32_t gsi,
		      struct virtio_blk **out, GError **err);
/*
 * Stops the worker and closes the image. The bus has no unregister: call
 * this only when no vCPU can reach the window any more (after the vCPUs have
 * stopped, before or after bus_destroy()).
 */
void virtio_blk_destroy(struct virtio_blk *b);

#endif
