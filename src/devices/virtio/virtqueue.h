/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2 §2.7), device side. The rings live in guest
 * RAM and are written by a hostile driver, so every value read from them is
 * checked before use and all access goes through guest_mem. A chain that
 * breaks a rule marks the queue broken; the transport then reports
 * DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2) and nothing is taken from the queue
 * again until a reset.
 *
 * Not thread-safe: the caller (the transport) serialises all calls on one
 * queue with the device mutex.
 */
#ifndef COVE_DEVICES_VIRTIO_VIRTQUEUE_H
#define COVE_DEVICES_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

struct guest_mem;

/* virtio 1.2 §2.7.5 */
#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2
#define VIRTQ_DESC_F_INDIRECT	   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

/* Reserved feature bits, virtio 1.2 §6 */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

/*
 * Largest queue size cove offers. It also caps the descriptors of one chain,
 * indirect ones included (virtio 1.2 §2.7.5.3.1: a driver MUST NOT create a
 * chain longer than the queue size), so a loop ends there.
 */
#define VIRTQ_MAX_SIZE 256

/* One guest buffer of a chain: [gpa, gpa+len) is guest RAM, checked. */
struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/*
 * A chain taken from the available ring. seg[0..nread) are device-readable,
 * seg[nread..nseg) device-writable; zero-length descriptors are dropped.
 */
struct virtq_req {
	uint16_t head;
	unsigned nseg;
	unsigned nread;
	uint64_t read_len;
	uint64_t write_len;
	struct virtq_seg seg[VIRTQ_MAX_SIZE];
};

/*
 * Plain data (no host pointers besides mem), so the transport can save and
 * restore it by copying. The transport writes size and the three ring
 * addresses from the guest's register writes, then calls virtq_enable().
 */
struct virtq {
	struct guest_mem *mem;
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
	uint32_t size;
	bool ready;
	bool broken;
	bool event_idx;
	bool indirect;
	uint16_t last_avail;	 /* next available-ring slot to take */
	uint16_t used_idx;	 /* next used-ring slot to fill */
	uint16_t signalled_used; /* used idx at the last notification decision */
	bool signalled_valid;
};

void virtq_init(struct virtq *vq, struct guest_mem *mem);
/* Back to the state after virtq_init(): not ready, no addresses, size 0. */
void virtq_reset(struct virtq *vq);

/*
 * Checks size (a power of two, 1..VIRTQ_MAX_SIZE), the rings' alignment and
 * that they lie in guest RAM (virtio 1.2 §2.7), and starts the queue with the
 * negotiated features. Returns 0, or -EINVAL and marks the queue broken.
 */
int virtq_enable(struct virtq *vq, uint64_t features);

/*
 * Takes the next available chain into req. Returns 1 with a chain, 0 when the
 * ring is empty (or the queue is not ready), or -EIO when the guest broke a
 * rule (the queue is then broken and req holds no segments). With EVENT_IDX,
 * an empty ring publishes avail_event so the driver notifies the next buffer.
 */
int virtq_pop(struct virtq *vq, struct virtq_req *req);

/* Returns head to the driver with len bytes written. 0 or -EIO. */
int virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/*
 * After one or more pushes: true when the driver wants a used-buffer
 * notification (avail flags, or used_event with EVENT_IDX, §2.7.7).
 */
bool virtq_should_notify(struct virtq *vq);

/*
 * Copy between a host buffer and the chain's readable (or writable) bytes,
 * starting at byte off of that part. Return the bytes copied (short at the
 * end of the part) or -EFAULT.
 */
int64_t virtq_req_read(struct guest_mem *mem, const struct virtq_req *req, uint64_t off, void *buf,
		       uint64_t len);
int64_t virtq_req_write(struct guest_mem *mem, const struct virtq_req *req, uint64_t off,
			const void *buf, uint64_t len);

#endif
