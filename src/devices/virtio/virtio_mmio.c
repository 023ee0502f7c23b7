/* SPDX-License-Identifier: MIT */
#include "virtio_mmio.h"

#include <errno.h>
#include <string.h>

#include "devices/bus.h"

/* What every cove virtio device offers besides its own bits. */
#define TRANSPORT_FEATURES                                                                         \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_INDIRECT_DESC) |                         \
	 (1ULL << VIRTIO_F_EVENT_IDX))

_Static_assert(sizeof(struct virtio_mmio_regs) <= 4096, "bus checkpoints hold 4096 bytes");

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_mmio_params *p)
{
	if (!p->ops || !p->ops->notify || !p->nqueues || p->nqueues > VIRTIO_MMIO_MAX_QUEUES ||
	    p->config_size > VIRTIO_MMIO_CONFIG_MAX || (p->config_size && !p->config))
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->p = *p;
	/* Device bits 0-23 only (§6): the rest are the transport's to offer. */
	t->device_features = (p->features & 0xffffffULL) | TRANSPORT_FEATURES;
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		virtq_init(&t->regs.vq[i], p->mem);
	return -pthread_mutex_init(&t->lock, NULL);
}

void virtio_mmio_fini(struct virtio_mmio *t)
{
	pthread_mutex_destroy(&t->lock);
}

static void update_irq(struct virtio_mmio *t)
{
	bool level = t->regs.isr != 0;

	if (level != t->regs.irq_level) {
		t->regs.irq_level = level;
		irq_sink_set(t->p.irq, t->p.gsi, level);
	}
}

bool virtio_mmio_live(const struct virtio_mmio *t)
{
	uint32_t s = t->regs.status;

	return (s & VIRTIO_STATUS_DRIVER_OK) && (s & VIRTIO_STATUS_FEATURES_OK) &&
	       !(s & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

void virtio_mmio_needs_reset(struct virtio_mmio *t)
{
	if (t->regs.status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	t->regs.status |= VIRTIO_STATUS_NEEDS_RESET;
	/* §2.1.2.1: once DRIVER_OK is set, tell the driver by a config change. */
	if (t->regs.status & VIRTIO_STATUS_DRIVER_OK) {
		t->regs.isr |= VIRTIO_MMIO_INT_CONFIG;
		update_irq(t);
	}
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	t->regs.config_generation++;
	if (t->regs.status & VIRTIO_STATUS_DRIVER_OK) {
		t->regs.isr |= VIRTIO_MMIO_INT_CONFIG;
		update_irq(t);
	}
}

int virtio_mmio_pop(struct virtio_mmio *t, unsigned q, struct virtq_req *req)
{
	int ret;

	/* §3.1.2: no buffers are used before DRIVER_OK. */
	if (q >= t->p.nqueues || !virtio_mmio_live(t))
		return 0;
	ret = virtq_pop(&t->regs.vq[q], req);
	if (ret < 0)
		virtio_mmio_needs_reset(t);
	return ret;
}

void virtio_mmio_push(struct virtio_mmio *t, unsigned q, uint16_t head, uint32_t len)
{
	struct virtq *vq;

	if (q >= t->p.nqueues || !virtio_mmio_live(t))
		return;
	vq = &t->regs.vq[q];
	if (virtq_push(vq, head, len)) {
		virtio_mmio_needs_reset(t);
		return;
	}
	if (virtq_should_notify(vq)) {
		t->regs.isr |= VIRTIO_MMIO_INT_VRING;
		update_irq(t);
	}
}

static void device_reset(struct virtio_mmio *t)
{
	struct virtio_mmio_regs *r = &t->regs;

	r->status = 0;
	r->device_features_sel = 0;
	r->driver_features_sel = 0;
	r->driver_features = 0;
	r->queue_sel = 0;
	r->shm_sel = 0;
	/* §4.2.2.1: InterruptStatus and every QueueReady go to zero. */
	r->isr = 0;
	update_irq(t);
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		virtq_reset(&r->vq[i]);
	r->reset_count++;
	if (t->p.ops->reset)
		t->p.ops->reset(t->p.dev);
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	struct virtio_mmio_regs *r = &t->regs;
	uint32_t old = r->status;

	if (v == 0) {
		device_reset(t);
		return;
	}
	v &= 0xff;
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/*
		 * §2.2.2: accept only offered bits; cove has no legacy
		 * interface, so VERSION_1 is required (§7.1).
		 */
		if ((r->driver_features & ~t->device_features) ||
		    !(r->driver_features & (1ULL << VIRTIO_F_VERSION_1)))
			v &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	/* The driver cannot clear bits but by a reset; NEEDS_RESET is ours. */
	r->status = old | (v & ~VIRTIO_STATUS_NEEDS_RESET);
	if (!(old & VIRTIO_STATUS_DRIVER_OK) && virtio_mmio_live(t))
		for (unsigned q = 0; q < t->p.nqueues; q++)
			t->p.ops->notify(t->p.dev, q);
}

static struct virtq *selected_queue(struct virtio_mmio *t)
{
	return t->regs.queue_sel < t->p.nqueues ? &t->regs.vq[t->regs.queue_sel] : NULL;
}

static uint32_t read_reg(struct virtio_mmio *t, uint64_t off)
{
	struct virtio_mmio_regs *r = &t->regs;
	struct virtq *vq = selected_queue(t);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION_REG:
		return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->p.device_id;
	case VIRTIO_MMIO_VENDOR_ID_REG:
		return VIRTIO_MMIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (r->device_features_sel > 1)
			return 0;
		return (uint32_t)(t->device_features >> (32 * r->device_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? VIRTQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_NUM:
		return vq ? vq->size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return r->isr;
	case VIRTIO_MMIO_STATUS:
		return r->status;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return vq ? (uint32_t)vq->desc_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		return vq ? (uint32_t)(vq->desc_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
		return vq ? (uint32_t)vq->avail_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		return vq ? (uint32_t)(vq->avail_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
		return vq ? (uint32_t)vq->used_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		return vq ? (uint32_t)(vq->used_gpa >> 32) : 0;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		/* No shared memory regions: length and base read as -1. */
		return 0xffffffff;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return r->config_generation;
	default:
		return 0;
	}
}

/* Sets the low or high half of a queue address. */
static void set_half(uint64_t *addr, bool high, uint32_t v)
{
	if (high)
		*addr = (*addr & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*addr = (*addr & ~0xffffffffULL) | v;
}

static void write_queue_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtq *vq = selected_queue(t);

	if (!vq)
		return;
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		if (!v) {
			/* The driver reads 0 back before it frees the rings. */
			vq->ready = false;
		} else if (!vq->ready && virtq_enable(vq, t->regs.driver_features)) {
			virtio_mmio_needs_reset(t);
		}
		return;
	}
	/* §4.2.2.3: the layout is fixed while the queue is ready. */
	if (vq->ready)
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		vq->size = v;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_half(&vq->desc_gpa, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		set_half(&vq->avail_gpa, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		set_half(&vq->used_gpa, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, v);
		break;
	}
}

static void write_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtio_mmio_regs *r = &t->regs;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		r->device_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Features are fixed once FEATURES_OK is set (§3.1.1). */
		if (r->driver_features_sel > 1 || (r->status & VIRTIO_STATUS_FEATURES_OK))
			break;
		set_half(&r->driver_features, r->driver_features_sel == 1, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		r->driver_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		r->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		write_queue_reg(t, off, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Without NOTIFICATION_DATA the value is the queue index. */
		if (v < t->p.nqueues && virtio_mmio_live(t))
			t->p.ops->notify(t->p.dev, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		r->isr &= ~v;
		update_irq(t);
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(t, v);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		r->shm_sel = v;
		break;
	default:
		break; /* read-only or unknown: ignored */
	}
}

static void put_le(void *data, uint64_t v, unsigned size)
{
	uint8_t *d = data;

	for (unsigned i = 0; i < size; i++)
		d[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const void *data, unsigned size)
{
	const uint8_t *d = data;
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return v;
}

static void mmio_read(void *dev, uint64_t off, void *data, unsigned size)
{
	struct virtio_mmio *t = dev;

	memset(data, 0, size);
	if (off >= VIRTIO_MMIO_CONFIG) {
		/* §4.2.2: config space takes any width; past its end reads 0. */
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		if (c < t->p.config_size && size <= t->p.config_size - c)
			memcpy(data, (const uint8_t *)t->p.config + c, size);
		return;
	}
	/* §4.2.2.2: registers are 32 bits wide and aligned. */
	if (size != 4 || (off & 3))
		return;
	put_le(data, read_reg(t, off), 4);
}

static void mmio_write(void *dev, uint64_t off, const void *data, unsigned size)
{
	struct virtio_mmio *t = dev;

	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		if (t->p.ops->config_write && c < t->p.config_size && size <= t->p.config_size - c)
			t->p.ops->config_write(t->p.dev, (uint32_t)c, data, size);
		return;
	}
	if (size != 4 || (off & 3))
		return;
	write_reg(t, off, (uint32_t)get_le(data, 4));
}

/*
 * Checkpoints (bus.h) hold the mutex from the save to the commit or
 * rollback, so neither the workers nor the I/O thread can change the queues
 * in between, and restoring regs undoes every register effect. What a
 * rollback cannot undo is harmless: a worker woken for nothing, or a short
 * pulse on the interrupt line, which the driver sees as a spurious interrupt.
 */
static void mmio_save(void *dev, void *state)
{
	struct virtio_mmio *t = dev;

	memcpy(state, &t->regs, sizeof(t->regs));
}

static void mmio_load(void *dev, const void *state)
{
	struct virtio_mmio *t = dev;

	memcpy(&t->regs, state, sizeof(t->regs));
	irq_sink_set(t->p.irq, t->p.gsi, t->regs.irq_level);
}

static const struct bus_ops virtio_mmio_bus_ops = {
	.read = mmio_read,
	.write = mmio_write,
	.state_size = sizeof(struct virtio_mmio_regs),
	.save = mmio_save,
	.load = mmio_load,
};

int virtio_mmio_register(struct virtio_mmio *t, struct bus *mmio, uint64_t base)
{
	return bus_register(mmio, base, VIRTIO_MMIO_WINDOW, &virtio_mmio_bus_ops, t, &t->lock);
}
