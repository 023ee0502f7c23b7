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
	uint8_t *hva;
};

struct guest_mem;

/* Called after the VMM wrote guest RAM (loaders, DMA): [gpa, gpa+len). */
typedef void (*guest_mem_write_hook)(void *opaque, uint64_t gpa, uint64_t len);

int guest_mem_create(struct guest_mem **out);
void guest_mem_destroy(struct guest_mem *m);

/*
 * Adds anonymous RAM at [gpa, gpa+size); page aligned, no overlap.
 * Returns 0 or -errno (-ENOMEM when the host refuses the mapping).
 */
int guest_mem_add_ram(struct guest_mem *m, uint64_t gpa, uint64_t size);

unsigned guest_mem_nregions(const struct guest_mem *m);
const struct guest_mem_region *guest_mem_region(const struct guest_mem *m, unsigned i);
uint64_t guest_mem_ram_size(const struct guest_mem *m);

/* True when all of [gpa, gpa+len) is RAM (len 0 is never RAM). */
bool guest_mem_is_ram(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/*
 * Host pointer to [gpa, gpa+len), which must lie inside one region, else
 * NULL. Pair every map with guest_mem_unmap(): block RAM pins the blocks
 * behind the pointer until then, and an unmap of a writable mapping tells
 * the write hook.
 */
void *guest_mem_map(struct guest_mem *m, uint64_t gpa, uint64_t len, bool write);
void guest_mem_unmap(struct guest_mem *m, void *hva, uint64_t gpa, uint64_t len, bool write);

/* Copying accessors; ranges may span regions. 0 or -EFAULT. */
int guest_mem_read(struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len);
int guest_mem_write(struct guest_mem *m, uint64_t gpa, const void *buf, uint64_t len);

void guest_mem_set_write_hook(struct guest_mem *m, guest_mem_write_hook fn, void *opaque);

#endif
