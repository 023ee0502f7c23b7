/* SPDX-License-Identifier: MIT */
#include "guest_mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "block_ram.h"

struct guest_mem {
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned nregions;
	guest_mem_write_hook hook;
	void *hook_opaque;
	struct block_ram *br; /* NULL: anonymous RAM */
	uint64_t file_next;   /* the file offset the next region starts at */
	struct guest_mem_block_hooks bhooks;
};

int guest_mem_create(struct guest_mem **out)
{
	struct guest_mem *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	*out = m;
	return 0;
}

void guest_mem_destroy(struct guest_mem *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->nregions; i++)
		if (m->regions[i].hva && !m->br)
			munmap(m->regions[i].hva, m->regions[i].size);
	block_ram_close(m->br); /* copy-in: the regions' memory was its range */
	free(m);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int guest_mem_add_ram(struct guest_mem *m, uint64_t gpa, uint64_t size)
{
	void *hva;

	if (m->nregions == GUEST_MEM_MAX_REGIONS)
		return -ENOSPC;
	if (!size || (gpa | size) & 0xfff || gpa + size < gpa)
		return -EINVAL;
	for (unsigned i = 0; i < m->nregions; i++)
		if (ranges_overlap(gpa, size, m->regions[i].gpa, m->regions[i].size))
			return -EEXIST;
	if (m->br) {
		if (size % block_ram_block_size(m->br) ||
		    size > block_ram_size(m->br) - m->file_next)
			return -EINVAL;
		uint8_t *base = block_ram_base(m->br); /* copy-in: plain RAM to everyone */

		m->regions[m->nregions++] = (struct guest_mem_region){
			.gpa = gpa,
			.size = size,
			.hva = base ? base + m->file_next : NULL,
			.file_off = m->file_next,
		};
		m->file_next += size;
		return 0;
	}
	hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (hva == MAP_FAILED)
		return -ENOMEM;
	madvise(hva, size, MADV_MERGEABLE);
	m->regions[m->nregions++] =
		(struct guest_mem_region){ .gpa = gpa, .size = size, .hva = hva };
	return 0;
}

/* ---- block RAM ---- */

int guest_mem_use_file(struct guest_mem *m, const struct block_ram_params *p, char *why,
		       size_t whylen)
{
	if (m->br || m->nregions) {
		snprintf(why, whylen, "guest RAM is already set up");
		return -EBUSY;
	}
	return block_ram_open(p, &m->br, why, whylen);
}

struct block_ram *guest_mem_block_ram(struct guest_mem *m)
{
	return m->br;
}

/* The gpa of file offset off, for the hooks. */
static uint64_t off_to_gpa(struct guest_mem *m, uint64_t off)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct guest_mem_region *r = &m->regions[i];

		if (!r->hva && off >= r->file_off && off - r->file_off < r->size)
			return r->gpa + (off - r->file_off);
	}
	return ~0ull; /* not reached: regions cover the file */
}

static int block_mapped(void *opaque, unsigned slot, uint64_t off, uint64_t len, void *hva)
{
	struct guest_mem *m = opaque;

	return m->bhooks.mapped
		       ? m->bhooks.mapped(m->bhooks.opaque, slot, off_to_gpa(m, off), len, hva)
		       : 0;
}

static void block_releasing(void *opaque, unsigned slot, uint64_t off, uint64_t len, void *hva)
{
	struct guest_mem *m = opaque;

	if (m->bhooks.releasing)
		m->bhooks.releasing(m->bhooks.opaque, slot, off_to_gpa(m, off), len, hva);
}

static void block_failed(void *opaque, const char *why)
{
	struct guest_mem *m = opaque;

	if (m->bhooks.failed)
		m->bhooks.failed(m->bhooks.opaque, why);
}

void guest_mem_set_block_hooks(struct guest_mem *m, const struct guest_mem_block_hooks *h)
{
	struct block_ram_hooks bh = { .mapped = block_mapped,
				      .releasing = block_releasing,
				      .failed = block_failed,
				      .opaque = m };

	if (!m->br)
		return;
	m->bhooks = *h;
	block_ram_set_hooks(m->br, &bh);
}

unsigned guest_mem_nregions(const struct guest_mem *m)
{
	return m->nregions;
}

const struct guest_mem_region *guest_mem_region(const struct guest_mem *m, unsigned i)
{
	return i < m->nregions ? &m->regions[i] : NULL;
}

uint64_t guest_mem_ram_size(const struct guest_mem *m)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < m->nregions; i++)
		total += m->regions[i].size;
	return total;
}

/* The region holding gpa, or NULL. */
static const struct guest_mem_region *find_region(const struct guest_mem *m, uint64_t gpa)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct guest_mem_region *r = &m->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

/* [gpa, gpa+len) inside r, written so that no sum can wrap. */
static bool region_holds(const struct guest_mem_region *r, uint64_t gpa, uint64_t len)
{
	return gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa);
}

bool guest_mem_is_block_ram(const struct guest_mem *m, uint64_t gpa)
{
	const struct guest_mem_region *r = find_region(m, gpa);

	return r && !r->hva;
}

int guest_mem_touch(struct guest_mem *m, uint64_t gpa)
{
	const struct guest_mem_region *r = find_region(m, gpa);

	if (!r || r->hva)
		return -ENOENT;
	return block_ram_touch(m->br, r->file_off + (gpa - r->gpa));
}

bool guest_mem_is_ram(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	while (len) {
		const struct guest_mem_region *r = find_region(m, gpa);
		uint64_t chunk;

		if (!r)
			return false;
		chunk = r->size - (gpa - r->gpa);
		if (chunk >= len)
			return true;
		gpa += chunk;
		len -= chunk;
	}
	return false;
}

void *guest_mem_map(struct guest_mem *m, uint64_t gpa, uint64_t len, bool write)
{
	const struct guest_mem_region *r = find_region(m, gpa);

	(void)write;
	if (!r || !len || !region_holds(r, gpa, len))
		return NULL;
	if (!r->hva) {
		uint64_t off = r->file_off + (gpa - r->gpa), bs = block_ram_block_size(m->br);
		int err;

		/* one block: the next one is mapped elsewhere */
		if ((off & (bs - 1)) + len > bs)
			return NULL;
		return block_ram_pin(m->br, off, &err);
	}
	return r->hva + (gpa - r->gpa);
}

void guest_mem_unmap(struct guest_mem *m, void *hva, uint64_t gpa, uint64_t len, bool write)
{
	const struct guest_mem_region *r = find_region(m, gpa);

	(void)hva;
	if (r && !r->hva)
		block_ram_unpin(m->br, r->file_off + (gpa - r->gpa));
	if (write && m->hook)
		m->hook(m->hook_opaque, gpa, len);
}

/* Walks [gpa, gpa+len) region by region; fn copies one piece. */
static int copy_range(struct guest_mem *m, uint64_t gpa, uint8_t *buf, uint64_t len, bool write)
{
	uint64_t start = gpa, total = len;

	if (!len)
		return 0;
	if (!guest_mem_is_ram(m, gpa, len))
		return -EFAULT;
	while (len) {
		const struct guest_mem_region *r = find_region(m, gpa);
		uint64_t off = gpa - r->gpa;
		uint64_t chunk = r->size - off < len ? r->size - off : len;

		if (!r->hva) {
			int ret = write ? block_ram_write(m->br, r->file_off + off, buf, chunk)
					: block_ram_read(m->br, r->file_off + off, buf, chunk);

			if (ret)
				return -EFAULT;
		} else if (write) {
			memcpy(r->hva + off, buf, chunk);
		} else {
			memcpy(buf, r->hva + off, chunk);
		}
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	if (write && m->hook)
		m->hook(m->hook_opaque, start, total);
	return 0;
}

int guest_mem_read(struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len)
{
	return copy_range(m, gpa, buf, len, false);
}

int guest_mem_write(struct guest_mem *m, uint64_t gpa, const void *buf, uint64_t len)
{
	return copy_range(m, gpa, (uint8_t *)buf, len, true);
}

void guest_mem_set_write_hook(struct guest_mem *m, guest_mem_write_hook fn, void *opaque)
{
	m->hook = fn;
	m->hook_opaque = opaque;
}
