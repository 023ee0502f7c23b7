// SPDX-License-Identifier: MIT
/*
 * The block table of block_ram.h. Mapped blocks sit on one LRU list (head:
 * most recently used); a release takes the unpinned block nearest the tail.
 * A block's slot number comes from a free stack, so the accelerator can keep
 * one memory slot per mapped block (window mode).
 *
 * Copy-in mode keeps the same table over one block_uffd range: "mapped"
 * means the block's pages are filled from the file, "release" writes a dirty
 * block back and drops its pages. A block is filled write-protected, so its
 * first write is a fault that marks it dirty; a block released while a
 * thread writes it is write-protected before it is written back, so no store
 * can land between the write-back and the drop.
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

#include "block_uffd.h"

#define NONE UINT32_MAX

struct block {
	uint8_t *hva; /* NULL: unmapped */
	uint64_t stamp;
	uint32_t pins;
	uint32_t slot;
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
	/* copy-in mode (uffd != NULL) */
	struct block_uffd *uffd;
	uint8_t *base;		/* the range: file offset off lives at base + off */
	uint8_t *bounce;	/* chunks on their way in, RUN of them */
	uint32_t chunk_words;	/* bitmap words per block */
	uint64_t *filled, *dirty; /* chunk bitmaps, chunk_words per slot */
	uint32_t *next_fill;	  /* per slot: the chunk after the block's last fill */
	bool failed;		/* the file failed us once: faults get zero pages now */
};

/*
 * Copy-in reads and writes back the file in chunks: a block counts against
 * the cap whole, but only the chunks touched come in, and only the chunks
 * written go back (a guest that scatters 4K pages over many blocks, as an
 * OS does, would otherwise move a whole block per page). 64K is what the
 * kernel's fault-around maps of a file at once.
 */
#define CHUNK	   (64ull << 10)
#define CHUNK_SHIFT 16
/*
 * A fault on the chunk after the last one filled (or beside a dirty one,
 * for a write) takes up to RUN chunks at once: a sequential sweep then pays
 * one fault per 512K, not per 64K.
 */
#define RUN 8u

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

static void on_fault(void *opaque, uint64_t off, bool write);

int block_ram_probe_copy_in(uint64_t size, char *why, size_t whylen)
{
	return block_uffd_probe(size, why, whylen);
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
	if (p->copy_in) {
		int ret;

		b->chunk_words = (uint32_t)((p->block / CHUNK + 63) / 64);
		b->bounce = malloc(RUN * CHUNK);
		b->filled = calloc(maxm * b->chunk_words, sizeof(uint64_t));
		b->dirty = calloc(maxm * b->chunk_words, sizeof(uint64_t));
		b->next_fill = calloc(maxm, sizeof(uint32_t));
		if (!b->bounce || !b->filled || !b->dirty || !b->next_fill) {
			snprintf(why, whylen, "out of memory for the block table");
			ret = -ENOMEM;
		} else {
			ret = block_uffd_open(p->size, on_fault, b, &b->uffd, why, whylen);
		}
		if (ret) {
			b->uffd = NULL;
			block_ram_close(b);
			return ret;
		}
		b->base = block_uffd_base(b->uffd);
	}
	*out = b;
	return 0;
}

void block_ram_close(struct block_ram *b)
{
	if (!b)
		return;
	if (b->uffd) {
		block_ram_sync(b); /* a failure was told through the hook */
		block_uffd_close(b->uffd);
	} else {
		for (uint32_t i = 0; i < b->nblocks; i++)
			if (b->blk[i].hva)
				munmap(b->blk[i].hva, b->block);
	}
	free(b->bounce);
	free(b->filled);
	free(b->dirty);
	free(b->next_fill);
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

/* ---- copy-in mode: the file <-> the range ---- */

/* Whole-buffer pread/pwrite: 0, or -errno (-EIO for a file that got shorter). */
static int file_io(int fd, uint8_t *buf, uint64_t len, uint64_t off, bool write)
{
	while (len) {
		ssize_t n = write ? pwrite(fd, buf, len, (off_t)off) : pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EIO;
		buf += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static uint64_t *chunk_map(const struct block_ram *b, uint64_t *map, uint32_t i)
{
	return map + (uint64_t)b->blk[i].slot * b->chunk_words;
}

static bool chunk_test(const uint64_t *m, uint32_t c)
{
	return m[c / 64] >> (c % 64) & 1;
}

static uint32_t chunks_per_block(const struct block_ram *b)
{
	return (uint32_t)(b->block >> CHUNK_SHIFT);
}

/* Bit c of map is set for chunks [c, c+n). */
static void chunk_set(uint64_t *m, uint32_t c, uint32_t n)
{
	for (; n; c++, n--)
		m[c / 64] |= 1ull << (c % 64);
}

/*
 * Block i's chunk c (mapped, not filled) from the file, write-protected,
 * and the unfilled ones after it up to RUN when c follows the last fill of
 * the block; wakes their waiters.
 */
static int fill_chunk(struct block_ram *b, uint32_t i, uint32_t c)
{
	uint64_t off = ((uint64_t)i << b->shift) + ((uint64_t)c << CHUNK_SHIFT);
	uint64_t *f = chunk_map(b, b->filled, i);
	uint32_t *next = &b->next_fill[b->blk[i].slot];
	bool wp = block_uffd_can_protect(b->uffd);
	uint32_t n = 1, end = chunks_per_block(b);
	int ret;

	if (c == *next)
		while (n < RUN && c + n < end && !chunk_test(f, c + n))
			n++;
	ret = file_io(b->fd, b->bounce, (uint64_t)n << CHUNK_SHIFT, off, false);
	if (!ret)
		ret = block_uffd_copy(b->uffd, off, b->bounce, (uint64_t)n << CHUNK_SHIFT, wp);
	if (ret)
		return ret;
	chunk_set(f, c, n);
	if (!wp) /* without write protection every chunk in may be written */
		chunk_set(chunk_map(b, b->dirty, i), c, n);
	*next = c + n;
	b->st.filled_bytes += (uint64_t)n << CHUNK_SHIFT;
	return block_uffd_wake(b->uffd, off, (uint64_t)n << CHUNK_SHIFT);
}

/*
 * A write to chunk c of block i (filled) is coming: dirty from now on, and
 * when the chunk before is dirty too (a sequential write), the clean filled
 * chunks after it up to RUN.
 */
static void make_dirty(struct block_ram *b, uint32_t i, uint32_t c)
{
	uint64_t *d = chunk_map(b, b->dirty, i), *f = chunk_map(b, b->filled, i);
	uint32_t n = 1, end = chunks_per_block(b);

	if (chunk_test(d, c))
		return;
	if (c && chunk_test(d, c - 1))
		while (n < RUN && c + n < end && chunk_test(f, c + n) && !chunk_test(d, c + n))
			n++;
	chunk_set(d, c, n);
	/* clearing wakes the writers that faulted on the protection */
	block_uffd_protect(b->uffd, ((uint64_t)i << b->shift) + ((uint64_t)c << CHUNK_SHIFT),
			   (uint64_t)n << CHUNK_SHIFT, false);
}

/* Writes block i's dirty chunks back; they are write-protected (clean) afterwards. */
static int write_back(struct block_ram *b, uint32_t i)
{
	uint64_t *d = chunk_map(b, b->dirty, i);
	bool wp = block_uffd_can_protect(b->uffd);
	uint32_t n = chunks_per_block(b);

	for (uint32_t c = 0; c < n;) {
		uint64_t off, len;
		uint32_t e;
		int ret;

		if (!chunk_test(d, c)) {
			c++;
			continue;
		}
		for (e = c + 1; e < n && chunk_test(d, e); e++)
			;
		off = ((uint64_t)i << b->shift) + ((uint64_t)c << CHUNK_SHIFT);
		len = (uint64_t)(e - c) << CHUNK_SHIFT;
		/* protected first: a store now waits until the drop, and faults in again */
		if (wp && (ret = block_uffd_protect(b->uffd, off, len, true)))
			return ret;
		ret = file_io(b->fd, b->base + off, len, off, true);
		if (ret) {
			if (wp)
				block_uffd_protect(b->uffd, off, len, false);
			return ret;
		}
		b->st.written_bytes += len;
		for (; wp && c < e; c++)
			d[c / 64] &= ~(1ull << (c % 64));
		c = e;
	}
	return 0;
}

/* Drops block i's pages once written back; its waiters fault again as missing. */
static int drop_block(struct block_ram *b, uint32_t i)
{
	uint64_t off = (uint64_t)i << b->shift;
	int ret = write_back(b, i);

	if (ret)
		return ret;
	ret = block_uffd_zap(b->uffd, off, b->block);
	block_uffd_wake(b->uffd, off, b->block);
	memset(chunk_map(b, b->filled, i), 0, b->chunk_words * sizeof(uint64_t));
	memset(chunk_map(b, b->dirty, i), 0, b->chunk_words * sizeof(uint64_t));
	b->next_fill[b->blk[i].slot] = 0;
	return ret;
}

static void fail(struct block_ram *b, int err, const char *what, uint64_t off)
{
	char why[160];

	if (b->failed)
		return;
	b->failed = true;
	snprintf(why, sizeof(why), "block RAM: cannot %s --memory-file at offset %llu: %s", what,
		 (unsigned long long)off, strerror(-err));
	if (b->hooks.failed)
		b->hooks.failed(b->hooks.opaque, why);
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

static int release(struct block_ram *b, uint32_t i)
{
	struct block *x = &b->blk[i];

	if (b->uffd) {
		int ret = drop_block(b, i);

		if (ret)
			return ret;
	} else {
		if (b->hooks.releasing)
			b->hooks.releasing(b->hooks.opaque, x->slot, (uint64_t)i << b->shift,
					   b->block, x->hva);
		munmap(x->hva, b->block);
	}
	lru_unlink(b, i);
	x->hva = NULL;
	b->free_slots[b->nfree++] = x->slot;
	x->slot = NONE;
	b->st.mapped--;
	b->st.releases++;
	b->st.released_bytes += b->block;
	return 0;
}

/* Maps block i (unmapped), releasing the LRU unpinned block when at the cap. */
static int map_block(struct block_ram *b, uint32_t i)
{
	struct block *x = &b->blk[i];
	void *hva;
	int ret;

	if (!b->nfree) {
		uint32_t v = b->tail;

		while (v != NONE && b->blk[v].pins)
			v = b->blk[v].prev;
		if (v == NONE)
			return -EBUSY;
		ret = release(b, v);
		if (ret) {
			fail(b, ret, "write back a block to", (uint64_t)v << b->shift);
			return ret;
		}
	}
	if (b->uffd) {
		hva = b->base + ((uint64_t)i << b->shift); /* its chunks come in as touched */
	} else {
		hva = mmap(NULL, b->block, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd,
			   (off_t)((uint64_t)i << b->shift));
		if (hva == MAP_FAILED)
			return -ENOMEM;
	}
	x->hva = hva;
	x->slot = b->free_slots[--b->nfree];
	if (b->hooks.mapped && !b->uffd) {
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

/*
 * Copy-in: the fault thread (block_uffd.h). A missing page of an unmapped
 * block maps it (a fault, as in window mode); a write to a protected page
 * makes its block dirty; anything else was resolved meanwhile and is woken.
 */
static void on_fault(void *opaque, uint64_t off, bool write)
{
	struct block_ram *b = opaque;
	uint32_t i = (uint32_t)(off >> b->shift);
	uint32_t c = (uint32_t)((off & (b->block - 1)) >> CHUNK_SHIFT);
	int ret = 0;

	pthread_mutex_lock(&b->lock);
	if (!b->failed) {
		ret = get_block(b, i, true);
		if (!ret && !chunk_test(chunk_map(b, b->filled, i), c))
			ret = fill_chunk(b, i, c); /* a write faults once more, on the protection */
		else if (!ret && write)
			make_dirty(b, i, c);
		if (ret)
			fail(b, ret, b->blk[i].hva ? "read" : "map a block of", off);
	}
	if (b->failed && (!b->blk[i].hva || !chunk_test(chunk_map(b, b->filled, i), c))) {
		/*
		 * The file failed us and fail() told the owner, who stops
		 * the VM: a zero page lets the thread run on to see that.
		 * Its chunk is not filled, so it is never written back.
		 */
		block_uffd_zeropage(b->uffd, off, 4096);
	}
	/* resolved meanwhile (or just now): a wake is harmless if nobody waits */
	block_uffd_wake(b->uffd, off, 4096);
	pthread_mutex_unlock(&b->lock);
}

int block_ram_sync(struct block_ram *b)
{
	int ret = 0;

	if (!b->uffd)
		return 0;
	pthread_mutex_lock(&b->lock);
	for (uint32_t i = 0; i < b->nblocks; i++) {
		int r = b->blk[i].hva ? write_back(b, i) : 0;

		if (r && !ret) {
			fail(b, r, "write back a block to", (uint64_t)i << b->shift);
			ret = r;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return ret;
}

void *block_ram_base(const struct block_ram *b)
{
	return b->base;
}


void *block_ram_pin(struct block_ram *b, uint64_t off, int *err)
{
	uint32_t i;
	void *p = NULL;
	int ret;

	if (b->uffd || off >= b->size) {
		*err = b->uffd ? -EINVAL : -EFAULT;
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

	if (b->uffd)
		return -EINVAL; /* copy-in: touches are faults, counted by on_fault() */
	if (off >= b->size)
		return -EFAULT;
	pthread_mutex_lock(&b->lock);
	ret = get_block(b, (uint32_t)(off >> b->shift), true);
	pthread_mutex_unlock(&b->lock);
	return ret;
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

	if (b->uffd)
		return -EINVAL; /* copy-in: the range at block_ram_base() is plain memory */
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
