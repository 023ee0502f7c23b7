/* SPDX-License-Identifier: MIT */
#include "vdriver.h"

#include <check.h>
#include <endian.h>
#include <string.h>
#include <time.h>

#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtqueue.h"

static void test_irq_set(struct irq_sink *s, uint32_t gsi, int level)
{
	struct test_irq *t = (struct test_irq *)s;

	pthread_mutex_lock(&t->lock);
	if (level && !t->level)
		t->raised++;
	t->level = level;
	t->last_gsi = gsi;
	pthread_mutex_unlock(&t->lock);
}

void test_irq_init(struct test_irq *t)
{
	memset(t, 0, sizeof(*t));
	t->sink.set_level = test_irq_set;
	pthread_mutex_init(&t->lock, NULL);
}

int test_irq_level(struct test_irq *t)
{
	int v;

	pthread_mutex_lock(&t->lock);
	v = t->level;
	pthread_mutex_unlock(&t->lock);
	return v;
}

unsigned test_irq_raised(struct test_irq *t)
{
	unsigned v;

	pthread_mutex_lock(&t->lock);
	v = t->raised;
	pthread_mutex_unlock(&t->lock);
	return v;
}

void gm_write(struct guest_mem *m, uint64_t gpa, const void *buf, uint64_t len)
{
	ck_assert_int_eq(guest_mem_write(m, gpa, buf, len), 0);
}

void gm_read(struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len)
{
	ck_assert_int_eq(guest_mem_read(m, gpa, buf, len), 0);
}

void gm_put16(struct guest_mem *m, uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	gm_write(m, gpa, &v, 2);
}

uint16_t gm_get16(struct guest_mem *m, uint64_t gpa)
{
	uint16_t v;

	gm_read(m, gpa, &v, 2);
	return le16toh(v);
}

uint32_t vd_read(struct vdrv *d, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	ck_assert_int_eq(bus_access(d->bus, 0, d->base + off, &v, 4, false), 0);
	return le32toh(v);
}

void vd_write(struct vdrv *d, uint64_t off, uint32_t v)
{
	v = htole32(v);
	ck_assert_int_eq(bus_access(d->bus, 0, d->base + off, &v, 4, true), 0);
}

uint64_t vd_device_features(struct vdrv *d)
{
	uint64_t f;

	vd_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = vd_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	vd_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f |= (uint64_t)vd_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	return f;
}

uint32_t vd_negotiate(struct vdrv *d, uint64_t features)
{
	uint32_t s;

	vd_write(d, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(vd_read(d, VIRTIO_MMIO_STATUS), 0);
	s = VIRTIO_STATUS_ACKNOWLEDGE;
	vd_write(d, VIRTIO_MMIO_STATUS, s);
	s |= VIRTIO_STATUS_DRIVER;
	vd_write(d, VIRTIO_MMIO_STATUS, s);
	vd_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	vd_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	vd_write(d, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	return vd_read(d, VIRTIO_MMIO_STATUS);
}

void vd_setup_queue(struct vdrv *d, unsigned q, uint16_t size, uint64_t ring_base)
{
	struct vd_queue *vq = &d->q[q];
	uint8_t zero[0x3000] = { 0 };

	ck_assert_uint_lt(q, VD_MAX_QUEUES);
	*vq = (struct vd_queue){
		.size = size,
		.desc = ring_base,
		.avail = ring_base + 0x1000,
		.used = ring_base + 0x2000,
	};
	gm_write(d->mem, ring_base, zero, sizeof(zero));
	vd_write(d, VIRTIO_MMIO_QUEUE_SEL, q);
	ck_assert_uint_eq(vd_read(d, VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_ge(vd_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX), size);
	vd_write(d, VIRTIO_MMIO_QUEUE_NUM, size);
	vd_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)vq->desc);
	vd_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(vq->desc >> 32));
	vd_write(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)vq->avail);
	vd_write(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(vq->avail >> 32));
	vd_write(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)vq->used);
	vd_write(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(vq->used >> 32));
	vd_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(vd_read(d, VIRTIO_MMIO_QUEUE_READY), 1);
}

void vd_driver_ok(struct vdrv *d)
{
	uint32_t s = vd_read(d, VIRTIO_MMIO_STATUS);

	vd_write(d, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
}

void vd_bring_up(struct vdrv *d, unsigned nq, uint64_t ring_area)
{
	uint32_t s = vd_negotiate(d, vd_device_features(d));

	ck_assert_uint_eq(s & VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < nq; q++)
		vd_setup_queue(d, q, 16, ring_area + q * 0x4000);
	vd_driver_ok(d);
}

static void put_desc(struct guest_mem *m, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t d[16];
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(d, &a, 8);
	memcpy(d + 8, &l, 4);
	memcpy(d + 12, &f, 2);
	memcpy(d + 14, &n, 2);
	gm_write(m, table + 16 * (uint64_t)i, d, 16);
}

static void publish(struct vdrv *d, struct vd_queue *vq, uint16_t head)
{
	gm_put16(d->mem, vq->avail + 4 + 2 * (vq->avail_idx % vq->size), head);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->avail_idx++;
	gm_put16(d->mem, vq->avail + 2, vq->avail_idx);
}

uint16_t vd_add_chain(struct vdrv *d, unsigned q, const struct vd_buf *b, unsigned n)
{
	struct vd_queue *vq = &d->q[q];
	uint16_t head = vq->next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (head + i) % vq->size;
		uint16_t next = (idx + 1) % vq->size;
		uint16_t flags =
			(b[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);

		put_desc(d->mem, vq->desc, idx, b[i].gpa, b[i].len, flags, next);
	}
	vq->next_desc = (head + n) % vq->size;
	publish(d, vq, head);
	return head;
}

uint16_t vd_add_indirect(struct vdrv *d, unsigned q, const struct vd_buf *b, unsigned n,
			 uint64_t table_gpa)
{
	struct vd_queue *vq = &d->q[q];
	uint16_t head = vq->next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t flags =
			(b[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);

		put_desc(d->mem, table_gpa, i, b[i].gpa, b[i].len, flags, i + 1);
	}
	put_desc(d->mem, vq->desc, head, table_gpa, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
	vq->next_desc = (head + 1) % vq->size;
	publish(d, vq, head);
	return head;
}

void vd_kick(struct vdrv *d, unsigned q)
{
	vd_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

bool vd_poll_used(struct vdrv *d, unsigned q, uint32_t *id, uint32_t *len)
{
	struct vd_queue *vq = &d->q[q];
	uint32_t e[2];

	if (gm_get16(d->mem, vq->used + 2) == vq->used_seen)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	gm_read(d->mem, vq->used + 4 + 8 * (vq->used_seen % vq->size), e, sizeof(e));
	vq->used_seen++;
	if (id)
		*id = le32toh(e[0]);
	if (len)
		*len = le32toh(e[1]);
	return true;
}

bool vd_wait_used(struct vdrv *d, unsigned q, uint32_t *id, uint32_t *len)
{
	/* A hang guard only: 20 s, far beyond any real completion. */
	for (int i = 0; i < 20000; i++) {
		struct timespec ts = { 0, 1000000 };

		if (vd_poll_used(d, q, id, len)) {
			/*
			 * The device pushes and raises its interrupt under its
			 * mutex; a register read takes the mutex, so after it
			 * that whole step is visible.
			 */
			vd_read(d, VIRTIO_MMIO_STATUS);
			return true;
		}
		nanosleep(&ts, NULL);
	}
	return false;
}
