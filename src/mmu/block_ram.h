/* SPDX-License-Identifier: MIT */
/*
 * block_ram: guest RAM that lives in an image file, mapped into cove block by
 * block, on first touch, and released least-recently-used when mapping
 * another would exceed the resident cap. A pinned block (an access in
 * progress, a DMA mapping) is never released. Two modes:
 * - window: each mapped block is a MAP_SHARED window of the file, its own
 *   block-sized mapping (release: munmap; the data stays in the file, the
 *   kernel writes it back as it pages). Only the resident blocks take
 *   address space, so RAM may exceed RLIMIT_AS. The owner must catch every
 *   touch of an unmapped block (soft's MMU does; KVM cannot: its own walks
 *   of guest page tables give the guest a #PF, no exit).
 * - copy-in: the RAM is one anonymous range (block_uffd.h) as big as the
 *   file; a block's 64K chunks are read in from the file when any thread
 *   (KVM included) first touches them, and the written ones go back when the
 *   block is released and at block_ram_sync()/close. Nothing is missed, but the
 *   range takes address space for all of the RAM, and what was resident is
 *   lost if cove is killed.
 *
 * Offsets are file offsets; guest_mem maps guest-physical addresses to them.
 * Every function is thread safe (vCPU threads and the I/O thread): one mutex
 * guards the table, and the hooks run with it held, in the thread that maps
 * or releases.
 */
#ifndef COVE_MMU_BLOCK_RAM_H
#define COVE_MMU_BLOCK_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLOCK_RAM_MIN_BLOCK	(64ull << 10)
#define BLOCK_RAM_MAX_BLOCK	(1ull << 30)
#define BLOCK_RAM_DEFAULT_BLOCK (2ull << 20)

struct block_ram;

struct block_ram_params {
	const char *path;  /* created and sized if missing; else must be `size` bytes */
	uint64_t size;	   /* a multiple of block */
	uint64_t block;	   /* a power of two in [BLOCK_RAM_MIN_BLOCK, BLOCK_RAM_MAX_BLOCK] */
	uint64_t resident; /* most bytes mapped at once; >= block; > size means all */
	bool copy_in;	   /* copy-in mode, else window mode */
};

/*
 * Told about every mapping change, with the table lock held. `slot` is in
 * [0, block_ram_max_mapped()) and unique among the blocks mapped at a time.
 * mapped() runs after mmap and before anyone uses the block; a non-zero
 * return fails the map (the block is unmapped again). releasing() runs
 * before munmap: after it returns nothing may use hva any more. Window mode
 * only: copy-in has no per-block mappings. failed(): copy-in could not read
 * or write the file (a one-line reason); the owner should stop the guest,
 * whose touches of unmapped blocks get zero pages from then on (they are
 * never written back). Told once, maybe from the fault thread.
 */
struct block_ram_hooks {
	int (*mapped)(void *opaque, unsigned slot, uint64_t off, uint64_t len, void *hva);
	void (*releasing)(void *opaque, unsigned slot, uint64_t off, uint64_t len, void *hva);
	void (*failed)(void *opaque, const char *why);
	void *opaque;
};

/*
 * Counters. faults: touches that found their block unmapped; maps: mmaps
 * (a fault, a pin or a copy); releases: LRU munmaps under the cap.
 * released_bytes: bytes of released blocks handed back to the page cache --
 * a guest writes RAM without cove seeing it, so every released block counts
 * whole as possibly dirty; the kernel writes the dirty pages to the file.
 * Copy-in moves 64K chunks: filled_bytes were read in from the file,
 * written_bytes written back to it -- only chunks written since they came
 * in, where the kernel has write protection for userfaultfd (else every
 * chunk in counts as written).
 */
struct block_ram_stats {
	uint64_t faults, maps, releases, released_bytes, filled_bytes, written_bytes;
	unsigned mapped, pinned, max_mapped;
};

/* 0, or -errno with a one-line reason in why (size mismatch, open, ftruncate). */
int block_ram_open(const struct block_ram_params *p, struct block_ram **out, char *why,
		   size_t whylen);
/* Unmaps every block (hooks are not called, but failed()); the file keeps the data. */
void block_ram_close(struct block_ram *b);
/* 0 when copy-in mode can open `size` bytes on this host, else -errno and why. */
int block_ram_probe_copy_in(uint64_t size, char *why, size_t whylen);
/* Copy-in: writes back every written block now. 0 or the first -errno (told to failed()). */
int block_ram_sync(struct block_ram *b);
/* Copy-in: the host address of file offset 0, for as long as b lives; NULL in window mode. */
void *block_ram_base(const struct block_ram *b);

void block_ram_set_hooks(struct block_ram *b, const struct block_ram_hooks *h);
uint64_t block_ram_block_size(const struct block_ram *b);
uint64_t block_ram_size(const struct block_ram *b);
/* How many blocks may be mapped at once (resident / block, at most all). */
unsigned block_ram_max_mapped(const struct block_ram *b);

/*
 * Window mode only (copy-in gives -EINVAL: its RAM is plain memory at
 * block_ram_base(), where any touch faults its chunk in), pin, touch, read
 * and write below.
 *
 * Host address of offset off with its block pinned: valid up to the end of
 * that block until block_ram_unpin(b, off). NULL with -errno in *err:
 * -EFAULT outside the file, -EBUSY when every mapped block is pinned,
 * -ENOMEM when mmap fails, or what the mapped hook returned.
 */
void *block_ram_pin(struct block_ram *b, uint64_t off, int *err);
void block_ram_unpin(struct block_ram *b, uint64_t off);

/* A guest touch: maps off's block if it is not (a fault), marks it used. 0 or -errno. */
int block_ram_touch(struct block_ram *b, uint64_t off);
/* True when off's block is mapped now (for tests and diagnostics). */
bool block_ram_is_mapped(struct block_ram *b, uint64_t off);
/* The last-use stamp of off's block: larger is more recent, 0 never used. */
uint64_t block_ram_stamp(struct block_ram *b, uint64_t off);

/* Copies [off, off+len), across block boundaries. 0 or -errno. */
int block_ram_read(struct block_ram *b, uint64_t off, void *buf, uint64_t len);
int block_ram_write(struct block_ram *b, uint64_t off, const void *buf, uint64_t len);

void block_ram_get_stats(struct block_ram *b, struct block_ram_stats *st);

#endif
