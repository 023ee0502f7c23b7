// SPDX-License-Identifier: MIT
/*
 * The block table of block_ram.h. Mapped blocks sit on one LRU list (head:
 * most recently used); a release takes the unpinned block nearest the tail.
 * A block's slot number comes from a free stack, so the accelerator can keep
 * one memory slot per mapped block.
 */
#include "block_ram.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NONE UINT32_MAX

struct block {
	uint8_t *hva; /* NULL: unmapped */
	uint64_t stamp;
	uint32_t pins;
	uint32_t slot;
	bool table;	     /* holds a guest page table: released last */
	uint32_t prev, next; /* LRU list links while mapped */
};

struct block_ram {
	int fd;
	uint64_t size, block;
	unsigned shift;
	uint32_t nblocks, max_mapped;
	struct block *blk;
	uint32_t head, tail; /* LRU list: head most recent */
	uint32_t *free_slots, nfree;
	uint64_t clock; /* last stamp handed out */
	struct block_ram_hooks hooks;
	struct block_ram_stats st;
	pthread_mutex_t lock;
};

static bool pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static int open_file(const struct block_ram_params *p, char *why, size_t whylen)
{
	struct stat st;
	int fd, ret;

	fd = open(p->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (ftruncate(fd, (off_t)p->size)) {
			ret = -errno;
			snprintf(why, whylen, "cannot size it to %llu bytes: %s",
				 (unsigned long long)p->size, strerror(-ret));
			close(fd);
			unlink(p->path);
			return ret;
		}
		return fd;
	}
	if (errno != EEXIST) {
		ret = -errno;
		snprintf(why, whylen, "cannot create it: %s", strerror(-ret));
		return ret;
	}
	fd = open(p->path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(why, whylen, "cannot open it: %s", strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size != p->size) {
		snprintf(why, whylen, "is %llu bytes, but the guest RAM is %llu (--memory)",
			 (unsigned long long)st.st_size, (unsigned long long)p->size);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int block_ram_open(const struct block_ram_params *p, struct block_ram **out, char *why,
		   size_t whylen)
{
	struct block_ram *b;
	uint64_t nblocks, maxm;
	int fd;

	if (!pow2(p->block) || p->block < BLOCK_RAM_MIN_BLOCK || p->block > BLOCK_RAM_MAX_BLOCK) {
		snprintf(why, whylen, "block size %llu is not a power of two in 64K..1G",
			 (unsigned long long)p->block);
		return -EINVAL;
	}
	if (!p->size || p->size % p->block) {
		snprintf(why, whylen, "RAM size %llu is not a multiple of the block size %llu",
			 (unsigned long long)p->size, (unsigned long long)p->block);
		return -EINVAL;
	}
	if (p->resident < p->block) {
		snprintf(why, whylen, "resident cap %llu is smaller than one block (%llu)",
			 (unsigned long long)p->resident, (unsigned long long)p->block);
		return -EINVAL;
	}
	nblocks = p->size / p->block;
	if (nblocks >= NONE) {
		snprintf(why, whylen, "too many blocks (%llu)", (unsigned long long)nblocks);
		return -EINVAL;
	}
	maxm = p->resident / p->block;
	if (maxm > nblocks)
		maxm = nblocks;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->blk = calloc(nblocks, sizeof(b->blk[0]));
	b->free_slots = calloc(maxm, sizeof(b->free_slots[0]));
	if (!b->blk || !b->free_slots) {
		free(b->blk);
		free(b->free_slots);
		free(b);
		snprintf(why, whylen, "out of memory for the block table");
		return -ENOMEM;
	}
	fd = open_file(p, why, whylen);
	if (fd < 0) {
		free(b->blk);
		free(b->free_slots);
		free(b);
		return fd;
	}
	b->fd = fd;
	b->size = p->size;
	b->block = p->block;
	b->shift = (unsigned)__builtin_ctzll(p->block);
	b->nblocks = (uint32_t)nblocks;
	b->max_mapped = (uint32_t)maxm;
	b->head = b->tail = NONE;
	/* pop order 0, 1, 2, ...: slot numbers stay small */
	for (uint32_t i = 0; i < maxm; i++)
		b->free_slots[i] = (uint32_t)(maxm - 1 - i);
	b->nfree = (uint32_t)maxm;
	b->st.max_mapped = (unsigned)maxm;
	pthread_mutex_init(&b->lock, NULL);
	*out = b;
	return 0;
}

void block_ram_close(struct block_ram *b)
{
	if (!b)
		return;
	for (uint32_t i = 0; i < b->nblocks; i++)
		if (b->blk[i].hva)
			munmap(b->blk[i].hva, b->block);
	close(b->fd);
	pthread_mutex_destroy(&b->lock);
	free(b->free_slots);
	free(b->blk);
	free(b);
}

void block_ram_set_hooks(struct block_ram *b, const struct block_ram_hooks *h)
{
	pthread_mutex_lock(&b->lock);
	b->hooks = *h;
	pthread_mutex_unlock(&b->lock);
}

uint64_t block_ram_block_size(const struct block_ram *b)
{
	return b->block;
}

uint64_t block_ram_size(const struct block_ram *b)
{
	return b->size;
}

unsigned block_ram_max_mapped(const struct block_ram *b)
{
	return b->max_mapped;
}

/* ---- the LRU list (lock held) ---- */

static void lru_unlink(struct block_ram *b, uint32_t i)
{
	struct block *x = &b->blk[i];

	if (x->prev != NONE)
		b->blk[x->prev].next = x->next;
	else
		b->head = x->next;
	if (x->next != NONE)
		b->blk[x->next].prev = x->prev;
	else
		b->tail = x->prev;
	x->prev = x->next = NONE;
}

static void lru_push_head(struct block_ram *b, uint32_t i)
{
	struct block *x = &b->blk[i];

	x->prev = NONE;
	x->next = b->head;
	if (b->head != NONE)
		b->blk[b->head].prev = i;
	else
		b->tail = i;
	b->head = i;
}

static void mark_used(struct block_ram *b, uint32_t i)
{
	b->blk[i].stamp = ++b->clock;
	if (b->head != i) {
		lru_unlink(b, i);
		lru_push_head(b, i);
	}
}

static void release(struct block_ram *b, uint32_t i)
{
	struct block *x = &b->blk[i];

	if (b->hooks.releasing)
		b->hooks.releasing(b->hooks.opaque, x->slot, (uint64_t)i << b->shift, b->block,
				   x->hva);
	lru_unlink(b, i);
	munmap(x->hva, b->block);
	x->hva = NULL;
	x->table = false;
	b->free_slots[b->nfree++] = x->slot;
	x->slot = NONE;
	b->st.mapped--;
	b->st.releases++;
	b->st.released_bytes += b->block;
}

/* Maps block i (unmapped), releasing the LRU unpinned block when at the cap. */
static int map_block(struct block_ram *b, uint32_t i)
{
	struct block *x = &b->blk[i];
	void *hva;
	int ret;

	if (!b->nfree) {
		uint32_t v = b->tail;

		while (v != NONE && (b->blk[v].pins || b->blk[v].table))
			v = b->blk[v].prev;
		for (v = v == NONE ? b->tail : v; v != NONE && b->blk[v].pins;)
			v = b->blk[v].prev; /* only page tables left: take the LRU one */
		if (v == NONE)
			return -EBUSY;
		release(b, v);
	}
	hva = mmap(NULL, b->block, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd,
		   (off_t)((uint64_t)i << b->shift));
	if (hva == MAP_FAILED)
		return -ENOMEM;
	x->hva = hva;
	x->slot = b->free_slots[--b->nfree];
	if (b->hooks.mapped) {
		ret = b->hooks.mapped(b->hooks.opaque, x->slot, (uint64_t)i << b->shift, b->block,
				      hva);
		if (ret) {
			munmap(hva, b->block);
			x->hva = NULL;
			b->free_slots[b->nfree++] = x->slot;
			x->slot = NONE;
			return ret;
		}
	}
	lru_push_head(b, i);
	b->st.mapped++;
	b->st.maps++;
	return 0;
}

/* Block i mapped and marked used (lock held). */
static int get_block(struct block_ram *b, uint32_t i, bool count_fault)
{
	int ret;

	if (!b->blk[i].hva) {
		if (count_fault)
			b->st.faults++;
		ret = map_block(b, i);
		if (ret)
			return ret;
	}
	mark_used(b, i);
	return 0;
}

/* ---- the API ---- */

void *block_ram_pin(struct block_ram *b, uint64_t off, int *err)
{
	uint32_t i;
	void *p = NULL;
	int ret;

	if (off >= b->size) {
		*err = -EFAULT;
		return NULL;
	}
	i = (uint32_t)(off >> b->shift);
	pthread_mutex_lock(&b->lock);
	ret = get_block(b, i, false);
	if (!ret) {
		if (!b->blk[i].pins++)
			b->st.pinned++;
		p = b->blk[i].hva + (off & (b->block - 1));
	}
	pthread_mutex_unlock(&b->lock);
	*err = ret;
	return p;
}

void block_ram_unpin(struct block_ram *b, uint64_t off)
{
	uint32_t i;

	if (off >= b->size)
		return;
	i = (uint32_t)(off >> b->shift);
	pthread_mutex_lock(&b->lock);
	if (b->blk[i].hva && b->blk[i].pins && !--b->blk[i].pins)
		b->st.pinned--;
	pthread_mutex_unlock(&b->lock);
}

int block_ram_touch(struct block_ram *b, uint64_t off)
{
	int ret;

	if (off >= b->size)
		return -EFAULT;
	pthread_mutex_lock(&b->lock);
	ret = get_block(b, (uint32_t)(off >> b->shift), true);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

void block_ram_mark_table(struct block_ram *b, uint64_t off)
{
	if (off >= b->size)
		return;
	pthread_mutex_lock(&b->lock);
	if (b->blk[off >> b->shift].hva)
		b->blk[off >> b->shift].table = true;
	pthread_mutex_unlock(&b->lock);
}

bool block_ram_is_mapped(struct block_ram *b, uint64_t off)
{
	bool m;

	if (off >= b->size)
		return false;
	pthread_mutex_lock(&b->lock);
	m = b->blk[off >> b->shift].hva != NULL;
	pthread_mutex_unlock(&b->lock);
	return m;
}

uint64_t block_ram_stamp(struct block_ram *b, uint64_t off)
{
	uint64_t s;

	if (off >= b->size)
		return 0;
	pthread_mutex_lock(&b->lock);
	s = b->blk[off >> b->shift].stamp;
	pthread_mutex_unlock(&b->lock);
	return s;
}

/* One piece per block; the lock is held across each memcpy, so no pin is needed. */
static int copy(struct block_ram *b, uint64_t off, uint8_t *buf, uint64_t len, bool write)
{
	int ret = 0;

	if (off > b->size || len > b->size - off)
		return -EFAULT;
	pthread_mutex_lock(&b->lock);
	while (len) {
		uint32_t i = (uint32_t)(off >> b->shift);
		uint64_t in = off & (b->block - 1);
		uint64_t n = b->block - in < len ? b->block - in : len;

		ret = get_block(b, i, false);
		if (ret)
			break;
		if (write)
			memcpy(b->blk[i].hva + in, buf, n);
		else
			memcpy(buf, b->blk[i].hva + in, n);
		off += n;
		buf += n;
		len -= n;
	}
	pthread_mutex_unlock(&b->lock);
	return ret;
}

int block_ram_read(struct block_ram *b, uint64_t off, void *buf, uint64_t len)
{
	return copy(b, off, buf, len, false);
}

int block_ram_write(struct block_ram *b, uint64_t off, const void *buf, uint64_t len)
{
	return copy(b, off, (uint8_t *)buf, len, true);
}

void block_ram_get_stats(struct block_ram *b, struct block_ram_stats *st)
{
	pthread_mutex_lock(&b->lock);
	*st = b->st;
	pthread_mutex_unlock(&b->lock);
}
