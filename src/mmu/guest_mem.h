/* SPDX-License-Identifier: MIT */
/*
 * guest_mem: the guest-physical map (RAM regions) and the only way the VMM
 * touches guest RAM. Every accessor checks the whole range against the map,
 * overflow included, so a guest-controlled address or length can at worst
 * earn an error, never a host access outside guest RAM.
 */
#ifndef COVE_MMU_GUEST_MEM_H
#define COVE_MMU_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 8

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	/*
	 * NULL: window-mode block RAM (guest_mem_use_file), mapped per block.
	 * Copy-in block RAM has an hva like anonymous RAM: its pages come
	 * and go under everyone's feet (block_ram.h).
	 */
	uint8_t *hva;
	uint64_t file_off; /* block RAM: where the region starts in the file */
};

struct guest_mem;
struct block_ram;
struct block_ram_params;

/*
 * Block RAM (block_ram.h) as guest_mem tells its owner: a block of guest RAM
 * at [gpa, gpa+len) was mapped at hva as `slot` / is about to be released.
 * Called with the block table's lock held.
 */
struct guest_mem_block_hooks {
	int (*mapped)(void *opaque, unsigned slot, uint64_t gpa, uint64_t len, void *hva);
	void (*releasing)(void *opaque, unsigned slot, uint64_t gpa, uint64_t len, void *hva);
	void (*failed)(void *opaque, const char *why); /* block_ram_hooks.failed */
	void *opaque;
};

/* Called after the VMM wrote guest RAM (loaders, DMA): [gpa, gpa+len). */
typedef void (*guest_mem_write_hook)(void *opaque, uint64_t gpa, uint64_t len);

int guest_mem_create(struct guest_mem **out);
void guest_mem_destroy(struct guest_mem *m);

/*
 * Adds anonymous RAM at [gpa, gpa+size); page aligned, no overlap.
 * Returns 0 or -errno (-ENOMEM when the host refuses the mapping).
 */
int guest_mem_add_ram(struct guest_mem *m, uint64_t gpa, uint64_t size);

/*
 * RAM added from now on lives in the file of p (block_ram_open), the regions
 * one after another from offset 0; each must be a multiple of the block size
 * and all of them together exactly p->size. 0 or -errno with a reason in why.
 */
int guest_mem_use_file(struct guest_mem *m, const struct block_ram_params *p, char *why,
		       size_t whylen);
/* The block table, or NULL for anonymous RAM. */
struct block_ram *guest_mem_block_ram(struct guest_mem *m);
void guest_mem_set_block_hooks(struct guest_mem *m, const struct guest_mem_block_hooks *h);
/* True when gpa is window-mode block RAM (with no host address of its own). */
bool guest_mem_is_block_ram(const struct guest_mem *m, uint64_t gpa);
/*
 * A guest touched gpa: maps its block (the mapped hook runs) if it is block
 * RAM. 0, -ENOENT for a gpa that is not block RAM, or block_ram's -errno.
 */
int guest_mem_touch(struct guest_mem *m, uint64_t gpa);

unsigned guest_mem_nregions(const struct guest_mem *m);
const struct guest_mem_region *guest_mem_region(const struct guest_mem *m, unsigned i);
uint64_t guest_mem_ram_size(const struct guest_mem *m);

/* True when all of [gpa, gpa+len) is RAM (len 0 is never RAM). */
bool guest_mem_is_ram(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/*
 * Host pointer to [gpa, gpa+len), which must lie inside one region (for
 * block RAM: inside one block), else NULL. Pair every map with guest_mem_unmap(): block RAM pins
 * the blocks behind the pointer until then, and an unmap of a writable mapping tells the write
 * hook.
 */
void *guest_mem_map(struct guest_mem *m, uint64_t gpa, uint64_t len, bool write);
void guest_mem_unmap(struct guest_mem *m, void *hva, uint64_t gpa, uint64_t len, bool write);

/* Copying accessors; ranges may span regions and blocks. 0 or -EFAULT. */
int guest_mem_read(struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len);
int guest_mem_write(struct guest_mem *m, uint64_t gpa, const void *buf, uint64_t len);

void guest_mem_set_write_hook(struct guest_mem *m, guest_mem_write_hook fn, void *opaque);

#endif
