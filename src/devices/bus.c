/* SPDX-License-Identifier: MIT */
#include "bus.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define BUS_MAX_RANGES	  64
#define BUS_MAX_CKPT_DEVS 8
#define BUS_CKPT_STATE_MAX 4096 /* largest device state a checkpoint holds */

struct bus_range {
	uint64_t base, len;
	const struct bus_ops *ops;
	void *dev;
	pthread_mutex_t *lock;
};

/* One vCPU's open checkpoint: the devices it touched and their old state. */
struct bus_ckpt {
	bool armed;
	unsigned n;
	struct bus_range *ranges[BUS_MAX_CKPT_DEVS];
	void *state[BUS_MAX_CKPT_DEVS];
};

struct bus {
	enum bus_kind kind;
	struct bus_range ranges[BUS_MAX_RANGES]; /* sorted by base */
	unsigned nranges;
	unsigned ncpus;
	struct bus_ckpt *ckpt; /* [ncpus] */
	_Atomic uint64_t unclaimed;
};

int bus_create(enum bus_kind kind, unsigned ncpus, struct bus **out)
{
	struct bus *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->kind = kind;
	b->ncpus = ncpus;
	b->ckpt = calloc(ncpus ? ncpus : 1, sizeof(*b->ckpt));
	if (!b->ckpt) {
		free(b);
		return -ENOMEM;
	}
	*out = b;
	return 0;
}

void bus_destroy(struct bus *b)
{
	if (!b)
		return;
	for (unsigned c = 0; c < b->ncpus; c++)
		for (unsigned i = 0; i < BUS_MAX_CKPT_DEVS; i++)
			free(b->ckpt[c].state[i]);
	free(b->ckpt);
	free(b);
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops, void *dev,
		 pthread_mutex_t *lock)
{
	unsigned pos = 0;

	if (!len || base + len < base || !ops || !ops->read || !ops->write)
		return -EINVAL;
	if (ops->save && (!ops->load || ops->state_size > BUS_CKPT_STATE_MAX))
		return -EINVAL;
	if (b->nranges == BUS_MAX_RANGES)
		return -ENOSPC;
	for (unsigned i = 0; i < b->nranges; i++) {
		struct bus_range *r = &b->ranges[i];

		if (base < r->base + r->len && r->base < base + len)
			return -EEXIST;
		if (r->base < base)
			pos = i + 1;
	}
	memmove(&b->ranges[pos + 1], &b->ranges[pos], (b->nranges - pos) * sizeof(b->ranges[0]));
	b->ranges[pos] = (struct bus_range){ base, len, ops, dev, lock };
	b->nranges++;
	return 0;
}

static struct bus_range *find_range(struct bus *b, uint64_t addr)
{
	unsigned lo = 0, hi = b->nranges;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		struct bus_range *r = &b->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

/* Under a checkpoint: first touch saves state and keeps the lock. */
static int ckpt_enter(struct bus_ckpt *ck, struct bus_range *r)
{
	for (unsigned i = 0; i < ck->n; i++)
		if (ck->ranges[i]->dev == r->dev)
			return 0;
	if (!r->ops->save || ck->n == BUS_MAX_CKPT_DEVS)
		return -EAGAIN;
	if (!ck->state[ck->n]) {
		ck->state[ck->n] = malloc(BUS_CKPT_STATE_MAX);
		if (!ck->state[ck->n])
			return -EAGAIN;
	}
	if (r->lock)
		pthread_mutex_lock(r->lock);
	r->ops->save(r->dev, ck->state[ck->n]);
	ck->ranges[ck->n++] = r;
	return 0;
}

int bus_access(struct bus *b, int cpu, uint64_t addr, void *data, unsigned size, bool write)
{
	struct bus_range *r = find_range(b, addr);
	struct bus_ckpt *ck = cpu >= 0 && (unsigned)cpu < b->ncpus ? &b->ckpt[cpu] : NULL;
	bool locked_here = false;
	int ret;

	if (!r || size > r->len - (addr - r->base)) {
		atomic_fetch_add_explicit(&b->unclaimed, 1, memory_order_relaxed);
		if (!write)
			memset(data, 0xff, size);
		return -ENOENT;
	}
	if (ck && ck->armed) {
		ret = ckpt_enter(ck, r);
		if (ret)
			return ret;
	} else if (r->lock) {
		pthread_mutex_lock(r->lock);
		locked_here = true;
	}
	if (write)
		r->ops->write(r->dev, addr - r->base, data, size);
	else
		r->ops->read(r->dev, addr - r->base, data, size);
	if (locked_here)
		pthread_mutex_unlock(r->lock);
	return 0;
}

int bus_checkpoint(struct bus *b, int cpu)
{
	if (cpu < 0 || (unsigned)cpu >= b->ncpus || b->ckpt[cpu].armed)
		return -EINVAL;
	b->ckpt[cpu].armed = true;
	b->ckpt[cpu].n = 0;
	return 0;
}

static void ckpt_close(struct bus *b, int cpu, bool restore)
{
	struct bus_ckpt *ck;

	if (cpu < 0 || (unsigned)cpu >= b->ncpus)
		return;
	ck = &b->ckpt[cpu];
	/* release in reverse order of acquisition */
	for (unsigned i = ck->n; i-- > 0;) {
		struct bus_range *r = ck->ranges[i];

		if (restore)
			r->ops->load(r->dev, ck->state[i]);
		if (r->lock)
			pthread_mutex_unlock(r->lock);
	}
	ck->n = 0;
	ck->armed = false;
}

void bus_rollback(struct bus *b, int cpu)
{
	ckpt_close(b, cpu, true);
}

void bus_commit(struct bus *b, int cpu)
{
	ckpt_close(b, cpu, false);
}

uint64_t bus_unclaimed_accesses(const struct bus *b)
{
	return atomic_load_explicit(&((struct bus *)b)->unclaimed, memory_order_relaxed);
}
