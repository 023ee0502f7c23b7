/* SPDX-License-Identifier: MIT */
#include "virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "mmu/guest_mem.h"

/* Ring layouts, virtio 1.2 §2.7.5, §2.7.6, §2.7.8 (all little-endian). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes");

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

#define AVAIL_FLAGS	   0
#define AVAIL_IDX	   2
#define AVAIL_RING(i)	   (4 + 2 * (uint64_t)(i))
#define USED_IDX	   2
#define USED_RING(i)	   (4 + 8 * (uint64_t)(i))
#define AVAIL_SIZE(n)	   (6 + 2 * (uint64_t)(n)) /* used_event included */
#define USED_SIZE(n)	   (6 + 8 * (uint64_t)(n)) /* avail_event included */
#define DESC_TABLE_SIZE(n) (16 * (uint64_t)(n))

void virtq_init(struct virtq *vq, struct guest_mem *mem)
{
	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
}

void virtq_reset(struct virtq *vq)
{
	virtq_init(vq, vq->mem);
}

/*
 * The 16-bit ring indexes are shared with a driver running on another CPU:
 * load and store them whole. Callers supply the barriers (§2.7.13).
 */
static int load16(struct virtq *vq, uint64_t gpa, uint16_t *v)
{
	uint16_t *p = guest_mem_map(vq->mem, gpa, 2, false);

	if (!p)
		return -EFAULT;
	*v = le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
	guest_mem_unmap(vq->mem, p, gpa, 2, false);
	return 0;
}

static int store16(struct virtq *vq, uint64_t gpa, uint16_t v)
{
	uint16_t *p = guest_mem_map(vq->mem, gpa, 2, true);

	if (!p)
		return -EFAULT;
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
	guest_mem_unmap(vq->mem, p, gpa, 2, true);
	return 0;
}

int virtq_enable(struct virtq *vq, uint64_t features)
{
	uint32_t n = vq->size;

	vq->ready = true;
	vq->broken = true;
	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	/* Alignment from the table in virtio 1.2 §2.7. */
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return -EINVAL;
	if (!guest_mem_is_ram(vq->mem, vq->desc_gpa, DESC_TABLE_SIZE(n)) ||
	    !guest_mem_is_ram(vq->mem, vq->avail_gpa, AVAIL_SIZE(n)) ||
	    !guest_mem_is_ram(vq->mem, vq->used_gpa, USED_SIZE(n)))
		return -EINVAL;
	vq->event_idx = features & (1ULL << VIRTIO_F_EVENT_IDX);
	vq->indirect = features & (1ULL << VIRTIO_F_INDIRECT_DESC);
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->broken = false;
	return 0;
}

/* [gpa, gpa+len) is non-empty, does not wrap, and is guest RAM. */
static bool buf_in_ram(struct virtq *vq, uint64_t gpa, uint64_t len)
{
	if (!len || gpa > UINT64_MAX - len)
		return false;
	return guest_mem_is_ram(vq->mem, gpa, len);
}

static int read_desc(struct virtq *vq, uint64_t table, uint32_t i, struct virtq_desc *d)
{
	if (guest_mem_read(vq->mem, table + 16 * (uint64_t)i, d, sizeof(*d)))
		return -EFAULT;
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
	return 0;
}

/*
 * Walks the chain at head into req. Each descriptor is copied out of guest
 * memory once and only the copy is used, so a driver rewriting the table
 * meanwhile cannot make a checked value change under us.
 */
static int walk_chain(struct virtq *vq, uint16_t head, struct virtq_req *req)
{
	uint64_t table = vq->desc_gpa;
	uint32_t table_len = vq->size;
	bool in_indirect = false, seen_write = false;
	unsigned count = 0;
	uint32_t i = head;

	req->head = head;
	req->nseg = 0;
	req->nread = 0;
	req->read_len = 0;
	req->write_len = 0;
	for (;;) {
		struct virtq_desc d;
		bool write;

		if (i >= table_len)
			return -EIO;
		if (read_desc(vq, table, i, &d))
			return -EIO;
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* §2.7.5.3.1: feature negotiated, one level, no NEXT. */
			if (!vq->indirect || in_indirect || (d.flags & VIRTQ_DESC_F_NEXT))
				return -EIO;
			if (d.len == 0 || d.len % sizeof(struct virtq_desc))
				return -EIO;
			if (!buf_in_ram(vq, d.addr, d.len))
				return -EIO;
			table = d.addr;
			table_len = d.len / sizeof(struct virtq_desc);
			in_indirect = true;
			i = 0;
			continue;
		}
		/* A loop, or a chain longer than the queue (§2.7.5.3.1). */
		if (++count > vq->size)
			return -EIO;
		write = d.flags & VIRTQ_DESC_F_WRITE;
		/* §2.6.4.2: device-writable descriptors come last. */
		if (!write && seen_write)
			return -EIO;
		if (d.len) {
			if (!buf_in_ram(vq, d.addr, d.len))
				return -EIO;
			req->seg[req->nseg++] =
				(struct virtq_seg){ .gpa = d.addr, .len = d.len, .write = write };
			if (write) {
				req->write_len += d.len;
			} else {
				req->nread++;
				req->read_len += d.len;
			}
		}
		seen_write |= write;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

static int broken(struct virtq *vq, struct virtq_req *req)
{
	vq->broken = true;
	if (req) {
		req->nseg = 0;
		req->nread = 0;
		req->read_len = 0;
		req->write_len = 0;
	}
	return -EIO;
}

/* How many chains the driver has made available; -EIO if idx ran ahead. */
static int avail_pending(struct virtq *vq, uint16_t *pending)
{
	uint16_t idx;

	if (load16(vq, vq->avail_gpa + AVAIL_IDX, &idx))
		return -EIO;
	*pending = idx - vq->last_avail;
	/* §2.7.13.3: the driver can never be more than a ring ahead. */
	if (*pending > vq->size)
		return -EIO;
	return 0;
}

int virtq_pop(struct virtq *vq, struct virtq_req *req)
{
	uint16_t pending, head;

	if (!vq->ready)
		return 0;
	if (vq->broken)
		return broken(vq, req);
	if (avail_pending(vq, &pending))
		return broken(vq, req);
	if (!pending && vq->event_idx) {
		/*
		 * §2.7.10: ask for a notification at the next buffer, then look
		 * again, in that order, so a buffer added meanwhile is not lost.
		 */
		if (store16(vq, vq->used_gpa + USED_RING(vq->size), vq->last_avail))
			return broken(vq, req);
		atomic_thread_fence(memory_order_seq_cst);
		if (avail_pending(vq, &pending))
			return broken(vq, req);
	}
	if (!pending)
		return 0;
	/* Read the ring entry and descriptors only after seeing idx. */
	atomic_thread_fence(memory_order_acquire);
	if (load16(vq, vq->avail_gpa + AVAIL_RING(vq->last_avail % vq->size), &head))
		return broken(vq, req);
	if (head >= vq->size || walk_chain(vq, head, req))
		return broken(vq, req);
	vq->last_avail++;
	return 1;
}

int virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct virtq_used_elem e = { .id = htole32(head), .len = htole32(len) };

	if (!vq->ready || vq->broken || head >= vq->size)
		return -EIO;
	if (guest_mem_write(vq->mem, vq->used_gpa + USED_RING(vq->used_idx % vq->size), &e,
			    sizeof(e)))
		return broken(vq, NULL);
	/* §2.7.8.2: the element is visible before idx moves. */
	atomic_thread_fence(memory_order_release);
	vq->used_idx++;
	if (store16(vq, vq->used_gpa + USED_IDX, vq->used_idx))
		return broken(vq, NULL);
	return 0;
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t v, old = vq->signalled_used, now = vq->used_idx;

	if (!vq->ready || vq->broken)
		return false;
	/* The used idx store must be visible before we read the driver's wish. */
	atomic_thread_fence(memory_order_seq_cst);
	if (vq->event_idx) {
		if (load16(vq, vq->avail_gpa + AVAIL_RING(vq->size), &v))
			return true;
		vq->signalled_used = now;
		/* §2.7.7.2: notify when an entry went into slot used_event. */
		return (uint16_t)(now - v - 1) < (uint16_t)(now - old);
	}
	if (load16(vq, vq->avail_gpa + AVAIL_FLAGS, &v))
		return true;
	return !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

static int64_t req_copy(struct guest_mem *mem, const struct virtq_req *req, bool write_part,
			uint64_t off, uint8_t *buf, uint64_t len)
{
	unsigned first = write_part ? req->nread : 0;
	unsigned end = write_part ? req->nseg : req->nread;
	uint64_t done = 0;

	for (unsigned i = first; i < end && done < len; i++) {
		const struct virtq_seg *s = &req->seg[i];
		uint64_t n;
		int ret;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off;
		if (n > len - done)
			n = len - done;
		if (write_part)
			ret = guest_mem_write(mem, s->gpa + off, buf + done, n);
		else
			ret = guest_mem_read(mem, s->gpa + off, buf + done, n);
		if (ret)
			return -EFAULT;
		done += n;
		off = 0;
	}
	return (int64_t)done;
}

int64_t virtq_req_read(struct guest_mem *mem, const struct virtq_req *req, uint64_t off, void *buf,
		       uint64_t len)
{
	return req_copy(mem, req, false, off, buf, len);
}

int64_t virtq_req_write(struct guest_mem *mem, const struct virtq_req *req, uint64_t off,
			const void *buf, uint64_t len)
{
	return req_copy(mem, req, true, off, (uint8_t *)buf, len);
}
