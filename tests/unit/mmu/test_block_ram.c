/* SPDX-License-Identifier: MIT */
/*
 * block_ram: the block table behind file-backed guest RAM. Real files in a
 * temporary directory, real mmap; the hooks record what an accelerator would
 * be told, so the tests can check the resident set at every change.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mmu/block_ram.h"
#include "mmu/guest_mem.h"
#include "../check_main.h"

#define BS (64ull << 10)

struct rec {
	pthread_mutex_t lock;
	unsigned live, peak, cap;
	bool slot_used[64];
	bool bad; /* a slot reused while mapped, or out of range */
	uint64_t released[64];
	unsigned nreleased;
};

static int rec_mapped(void *opaque, unsigned slot, uint64_t off, uint64_t len, void *hva)
{
	struct rec *r = opaque;

	(void)off;
	(void)hva;
	pthread_mutex_lock(&r->lock);
	if (slot >= r->cap || r->slot_used[slot] || len != BS)
		r->bad = true;
	else
		r->slot_used[slot] = true;
	if (++r->live > r->peak)
		r->peak = r->live;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void rec_releasing(void *opaque, unsigned slot, uint64_t off, uint64_t len, void *hva)
{
	struct rec *r = opaque;

	(void)len;
	(void)hva;
	pthread_mutex_lock(&r->lock);
	if (slot >= r->cap || !r->slot_used[slot])
		r->bad = true;
	else
		r->slot_used[slot] = false;
	r->live--;
	if (r->nreleased < 64)
		r->released[r->nreleased++] = off;
	pthread_mutex_unlock(&r->lock);
}

static char dir[64];
static char path[128];

static void setup(void)
{
	strcpy(dir, "/tmp/cove-blockram-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ram.img", dir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

static struct block_ram *open_br(uint64_t nblocks, uint64_t cap_blocks, struct rec *r)
{
	struct block_ram_params p = {
		.path = path, .size = nblocks * BS, .block = BS, .resident = cap_blocks * BS
	};
	struct block_ram *b;
	char why[200] = "";

	ck_assert_msg(block_ram_open(&p, &b, why, sizeof(why)) == 0, "%s", why);
	if (r) {
		struct block_ram_hooks h = { .mapped = rec_mapped,
					     .releasing = rec_releasing,
					     .opaque = r };

		memset(r, 0, sizeof(*r));
		pthread_mutex_init(&r->lock, NULL);
		r->cap = (unsigned)cap_blocks;
		block_ram_set_hooks(b, &h);
	}
	return b;
}

START_TEST(test_block_ram_releases_least_recently_used)
{
	struct rec r;
	struct block_ram *b = open_br(8, 3, &r);

	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(block_ram_touch(b, i * BS), 0);
	ck_assert_int_eq(block_ram_touch(b, 0), 0); /* 0 is now the most recent */
	ck_assert_uint_gt(block_ram_stamp(b, 0), block_ram_stamp(b, 2 * BS));
	ck_assert_int_eq(block_ram_touch(b, 3 * BS), 0);
	ck_assert(!block_ram_is_mapped(b, 1 * BS)); /* 1 was least recently used */
	ck_assert(block_ram_is_mapped(b, 0) && block_ram_is_mapped(b, 2 * BS));
	ck_assert_int_eq(block_ram_touch(b, 4 * BS + 5), 0);
	ck_assert(!block_ram_is_mapped(b, 2 * BS)); /* then 2 */
	ck_assert_uint_eq(r.nreleased, 2);
	ck_assert_uint_eq(r.released[0], 1 * BS);
	ck_assert_uint_eq(r.released[1], 2 * BS);

	struct block_ram_stats st;
	block_ram_get_stats(b, &st);
	ck_assert_uint_eq(st.faults, 5); /* 0, 1, 2, 3, 4: the second touch of 0 is a hit */
	ck_assert_uint_eq(st.maps, 5);
	ck_assert_uint_eq(st.releases, 2);
	ck_assert_uint_eq(st.released_bytes, 2 * BS);
	ck_assert_uint_eq(st.mapped, 3);
	ck_assert(!r.bad);
	block_ram_close(b);
}
END_TEST

START_TEST(test_block_ram_never_exceeds_cap)
{
	struct rec r;
	struct block_ram *b = open_br(32, 5, &r);
	unsigned seed = 1;
	uint8_t buf[3 * BS];

	for (unsigned k = 0; k < 2000; k++) {
		uint64_t off = (uint64_t)(rand_r(&seed) % 32) * BS + (unsigned)rand_r(&seed) % BS;
		struct block_ram_stats st;

		switch (rand_r(&seed) % 3) {
		case 0:
			ck_assert_int_eq(block_ram_touch(b, off), 0);
			break;
		case 1: {
			uint64_t len = (unsigned)rand_r(&seed) % sizeof(buf);
			if (off + len > 32 * BS)
				len = 32 * BS - off;
			ck_assert_int_eq(block_ram_read(b, off, buf, len), 0);
			break;
		}
		default: {
			int err;
			void *p = block_ram_pin(b, off, &err);
			ck_assert_ptr_nonnull(p);
			block_ram_unpin(b, off);
		}
		}
		block_ram_get_stats(b, &st);
		ck_assert_uint_le(st.mapped, 5);
		ck_assert_uint_eq(st.pinned, 0);
	}
	ck_assert_uint_le(r.peak, 5);
	ck_assert_uint_eq(r.peak, 5);
	ck_assert(!r.bad);
	block_ram_close(b);
}
END_TEST

START_TEST(test_block_ram_never_releases_pinned_block)
{
	struct rec r;
	struct block_ram *b = open_br(16, 2, &r);
	int err;
	uint8_t *p = block_ram_pin(b, 3 * BS + 16, &err);
	uint8_t *q;

	ck_assert_ptr_nonnull(p);
	memset(p, 0x5a, 64);
	for (unsigned round = 0; round < 3; round++)
		for (unsigned i = 0; i < 16; i++)
			ck_assert_int_eq(block_ram_touch(b, i * BS), 0);
	ck_assert(block_ram_is_mapped(b, 3 * BS));
	ck_assert_uint_eq(p[63], 0x5a); /* still the same mapping */
	/* with the other one pinned too, nothing can be mapped */
	q = block_ram_pin(b, 15 * BS, &err);
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(block_ram_touch(b, 7 * BS), -EBUSY);
	ck_assert_ptr_eq(block_ram_pin(b, 8 * BS, &err), NULL);
	ck_assert_int_eq(err, -EBUSY);
	block_ram_unpin(b, 15 * BS);
	ck_assert_int_eq(block_ram_touch(b, 7 * BS), 0);
	ck_assert(block_ram_is_mapped(b, 3 * BS));
	ck_assert(!block_ram_is_mapped(b, 15 * BS));
	block_ram_unpin(b, 3 * BS + 16);
	ck_assert_int_eq(block_ram_touch(b, 8 * BS), 0);
	ck_assert_int_eq(block_ram_touch(b, 9 * BS), 0);
	ck_assert(!block_ram_is_mapped(b, 3 * BS)); /* unpinned: released like any other */
	ck_assert(!r.bad);
	block_ram_close(b);
}
END_TEST

struct worker {
	struct block_ram *b;
	unsigned first, nblocks, id;
	atomic_int *errors;
};

/* Writes then checks a pattern over its own blocks, in pieces that straddle blocks. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint64_t base = (uint64_t)w->first * BS, len = (uint64_t)w->nblocks * BS;
	uint8_t buf[5000];

	for (unsigned pass = 0; pass < 3; pass++) {
		for (uint64_t o = 0; o < len; o += sizeof(buf)) {
			uint64_t n = len - o < sizeof(buf) ? len - o : sizeof(buf);
			for (uint64_t k = 0; k < n; k++)
				buf[k] = (uint8_t)((base + o + k) * 7 + w->id + pass);
			if (block_ram_write(w->b, base + o, buf, n))
				atomic_fetch_add(w->errors, 1);
		}
		for (uint64_t o = 0; o < len; o += sizeof(buf)) {
			uint64_t n = len - o < sizeof(buf) ? len - o : sizeof(buf);
			int err;
			uint8_t *p;

			if (block_ram_read(w->b, base + o, buf, n))
				atomic_fetch_add(w->errors, 1);
			for (uint64_t k = 0; k < n; k++)
				if (buf[k] != (uint8_t)((base + o + k) * 7 + w->id + pass))
					atomic_fetch_add(w->errors, 1);
			/* a pin in between, as DMA does */
			p = block_ram_pin(w->b, base + o, &err);
			if (!p || *p != (uint8_t)((base + o) * 7 + w->id + pass))
				atomic_fetch_add(w->errors, 1);
			if (p)
				block_ram_unpin(w->b, base + o);
		}
	}
	return NULL;
}

/* Runs fn on two workers (an array of two, each `size` bytes) at once. */
static void run_pair(void *(*fn)(void *), void *w, size_t size)
{
	pthread_t t[2];

	for (unsigned i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, fn, (char *)w + i * size), 0);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}

START_TEST(test_block_ram_concurrent_map_and_release)
{
	struct rec r;
	struct block_ram *b = open_br(24, 4, &r);
	atomic_int errors = 0;
	struct worker w[2] = {
		{ .b = b, .first = 0, .nblocks = 12, .id = 1, .errors = &errors },
		{ .b = b, .first = 12, .nblocks = 12, .id = 2, .errors = &errors },
	};
	struct block_ram_stats st;

	run_pair(worker_run, w, sizeof(w[0]));
	ck_assert_int_eq(atomic_load(&errors), 0);
	block_ram_get_stats(b, &st);
	ck_assert_uint_gt(st.releases, 24); /* the cap made them take turns */
	ck_assert_uint_le(r.peak, 4);
	ck_assert(!r.bad);
	block_ram_close(b);
}
END_TEST

START_TEST(test_block_ram_straddling_access)
{
	struct block_ram *b = open_br(4, 1, NULL);
	uint64_t v = 0x1122334455667788ull, got = 0;
	struct block_ram_stats st;

	/* one block resident: the two halves are mapped in turn */
	ck_assert_int_eq(block_ram_write(b, BS - 3, &v, 8), 0);
	ck_assert_int_eq(block_ram_read(b, BS - 3, &got, 8), 0);
	ck_assert_uint_eq(got, v);
	ck_assert_int_eq(block_ram_read(b, BS - 3, &got, 3), 0);
	ck_assert_uint_eq(got & 0xffffff, 0x667788);
	block_ram_get_stats(b, &st);
	ck_assert_uint_le(st.mapped, 1);
	ck_assert_int_eq(block_ram_read(b, 4 * BS - 4, &got, 8), -EFAULT);
	block_ram_close(b);

	/* through guest_mem, whose regions and blocks both split the access */
	struct guest_mem *m;
	struct block_ram_params p = { .path = path, .size = 4 * BS, .block = BS, .resident = BS };
	char why[200];
	ck_assert_int_eq(guest_mem_create(&m), 0);
	ck_assert_int_eq(guest_mem_use_file(m, &p, why, sizeof(why)), 0);
	ck_assert_int_eq(guest_mem_add_ram(m, 0, 2 * BS), 0);
	ck_assert_int_eq(guest_mem_add_ram(m, 1ull << 32, 2 * BS), 0);
	ck_assert(guest_mem_is_block_ram(m, 0x100));
	got = 0;
	ck_assert_int_eq(guest_mem_read(m, BS - 3, &got, 8), 0);
	ck_assert_uint_eq(got, v); /* the file kept what the first table wrote */
	ck_assert_ptr_eq(guest_mem_map(m, BS - 4, 8, false), NULL); /* two blocks */
	uint32_t *q = guest_mem_map(m, (1ull << 32) + 8, 4, true);
	ck_assert_ptr_nonnull(q);
	*q = 0xcafef00d;
	guest_mem_unmap(m, q, (1ull << 32) + 8, 4, true);
	uint32_t x = 0;
	ck_assert_int_eq(guest_mem_read(m, BS - 4, &x, 4), 0); /* releases the other block */
	ck_assert_int_eq(guest_mem_read(m, (1ull << 32) + 8, &x, 4), 0);
	ck_assert_uint_eq(x, 0xcafef00d);
	ck_assert_int_eq(guest_mem_touch(m, 3ull << 30), -ENOENT);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_block_ram_rejects_file_of_wrong_size)
{
	struct block_ram_params p = { .path = path, .size = 8 * BS, .block = BS, .resident = BS };
	struct block_ram *b;
	char why[200] = "";
	struct stat st;
	int fd;

	ck_assert_int_eq(block_ram_open(&p, &b, why, sizeof(why)), 0); /* created and sized */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)(8 * BS));
	block_ram_close(b);
	ck_assert_int_eq(block_ram_open(&p, &b, why, sizeof(why)), 0); /* reused */
	block_ram_close(b);
	p.size = 16 * BS;
	ck_assert_int_eq(block_ram_open(&p, &b, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, "is 524288 bytes") != NULL, "%s", why);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(block_ram_open(&p, &b, why, sizeof(why)),
			 -EINVAL); /* empty is wrong too */
	p.block = 3 * BS;
	ck_assert_int_eq(block_ram_open(&p, &b, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, "power of two") != NULL, "%s", why);
	p.block = BS;
	p.resident = BS / 2;
	ck_assert_int_eq(block_ram_open(&p, &b, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, "smaller than one block") != NULL, "%s", why);
}
END_TEST


/* ---- copy-in mode: one userfaultfd range, filled from the file ---- */

/* Copy-in over nblocks blocks of bs bytes, cap_blocks of them resident. */
static struct block_ram *open_copy_in_bs(uint64_t nblocks, uint64_t bs, uint64_t cap_blocks)
{
	struct block_ram_params p = { .path = path,
				      .size = nblocks * bs,
				      .block = bs,
				      .resident = cap_blocks * bs,
				      .copy_in = true };
	struct block_ram *b;
	char why[200] = "";

	ck_assert_msg(block_ram_open(&p, &b, why, sizeof(why)) == 0, "%s", why);
	ck_assert_ptr_nonnull(block_ram_base(b));
	return b;
}

static struct block_ram *open_copy_in(uint64_t nblocks, uint64_t cap_blocks)
{
	return open_copy_in_bs(nblocks, BS, cap_blocks);
}

/* The file, written before block_ram opens it: each 8 bytes hold their own offset ^ salt. */
static void prefill(uint64_t size, uint64_t salt)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	uint64_t buf[512];

	ck_assert_int_ge(fd, 0);
	for (uint64_t o = 0; o < size; o += sizeof(buf)) {
		for (unsigned k = 0; k < 512; k++)
			buf[k] = (o + k * 8) ^ salt;
		ck_assert_int_eq(pwrite(fd, buf, sizeof(buf), (off_t)o), (ssize_t)sizeof(buf));
	}
	close(fd);
}

static uint64_t file_word(uint64_t off);

START_TEST(test_block_ram_copy_in_moves_only_touched_chunks)
{
	struct block_ram *b;
	struct block_ram_stats st;
	volatile uint64_t *ram;

	prefill(8 * 4 * BS, 0x99);
	b = open_copy_in_bs(8, 4 * BS, 1); /* 256K blocks: four 64K chunks each */
	ram = block_ram_base(b);
	ram[(4 * BS + 2 * BS + 8) / 8] = 0xc0ffee; /* block 1, chunk 2 */
	ck_assert_uint_eq(ram[(4 * BS + 3 * BS) / 8], (4 * BS + 3 * BS) ^ 0x99); /* chunk 3 */
	(void)ram[(8 * BS + BS) / 8]; /* block 2, chunk 1 (no run: not after a fill): releases 1 */
	block_ram_get_stats(b, &st);
	ck_assert_uint_eq(st.releases, 1);
	ck_assert_uint_eq(st.filled_bytes, 3 * BS); /* three chunks, not three blocks */
	ck_assert_uint_eq(st.written_bytes, BS);    /* the one written chunk */
	ck_assert_uint_eq(file_word(4 * BS + 2 * BS + 8), 0xc0ffee);
	ck_assert_uint_eq(file_word(4 * BS + 2 * BS), (4 * BS + 2 * BS) ^ 0x99);
	block_ram_close(b);
}
END_TEST

START_TEST(test_block_ram_copy_in_takes_runs_when_sequential)
{
	struct block_ram *b;
	struct block_ram_stats st;
	volatile uint64_t *ram;

	prefill(4 * 16 * BS, 0x42);
	b = open_copy_in_bs(4, 16 * BS, 1); /* 1M blocks: sixteen 64K chunks, runs of eight */
	ram = block_ram_base(b);
	ck_assert_uint_eq(ram[(5 * BS) / 8], (5 * BS) ^ 0x42); /* chunk 5: one chunk */
	block_ram_get_stats(b, &st);
	ck_assert_uint_eq(st.filled_bytes, BS);
	(void)ram[(6 * BS) / 8]; /* the next one: a run of eight, 6..13 */
	block_ram_get_stats(b, &st);
	ck_assert_uint_eq(st.filled_bytes, 9 * BS);
	ck_assert_uint_eq(ram[(13 * BS + 8) / 8], (13 * BS + 8) ^ 0x42);
	block_ram_get_stats(b, &st);
	ck_assert_uint_eq(st.filled_bytes, 9 * BS); /* no fault: it came with the run */
	/* a write to 6, then to 7 beside it: 7..13 go dirty as a run; 5 stays clean */
	ram[(6 * BS) / 8] = 1;
	ram[(7 * BS) / 8] = 2;
	(void)ram[(16 * BS + 3 * BS) / 8]; /* block 1: releases block 0 */
	block_ram_get_stats(b, &st);
	ck_assert_uint_eq(st.releases, 1);
	ck_assert_uint_eq(st.written_bytes, 8 * BS);
	ck_assert_uint_eq(file_word(7 * BS), 2);
	ck_assert_uint_eq(file_word(13 * BS + 8), (13 * BS + 8) ^ 0x42); /* written back unchanged */
	block_ram_close(b);
}
END_TEST

static uint64_t file_word(uint64_t off)
{
	int fd = open(path, O_RDONLY);
	uint64_t v = 0;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &v, 8, (off_t)off), 8);
	close(fd);
	return v;
}

/* Pages of [p, p+len) resident in this process (mincore). */
static unsigned resident_pages(void *p, uint64_t len)
{
	unsigned char vec[4096];
	unsigned n = 0;

	ck_assert_uint_le(len / 4096, sizeof(vec));
	ck_assert_int_eq(mincore(p, len, vec), 0);
	for (uint64_t k = 0; k < len / 4096; k++)
		n += vec[k] & 1;
	return n;
}

START_TEST(test_block_ram_copy_in_reads_file_on_touch)
{
	struct block_ram *b;
	struct block_ram_stats st;
	volatile uint64_t *ram;

	prefill(8 * BS, 0x5a5a);
	b = open_copy_in(8, 8);
	ram = block_ram_base(b);
	block_ram_get_stats(b, &st);
	ck_assert_uint_eq(st.maps, 0);
	/* a plain load by this thread: the fault thread fills the block first */
	ck_assert_uint_eq(ram[(3 * BS + 512) / 8], (3 * BS + 512) ^ 0x5a5a);
	ck_assert_uint_eq(ram[(3 * BS + BS - 8) / 8], (3 * BS + BS - 8) ^ 0x5a5a);
	block_ram_get_stats(b, &st);
	ck_assert_uint_eq(st.faults, 1);
	ck_assert_uint_eq(st.maps, 1);
	ck_assert(block_ram_is_mapped(b, 3 * BS));
	ck_assert(!block_ram_is_mapped(b, 2 * BS));
	/* the window-mode accessors refuse: copy-in RAM is plain memory */
	uint64_t v;
	int err;
	ck_assert_int_eq(block_ram_read(b, 0, &v, 8), -EINVAL);
	ck_assert_ptr_null(block_ram_pin(b, 0, &err));
	ck_assert_int_eq(err, -EINVAL);
	block_ram_close(b);
}
END_TEST

START_TEST(test_block_ram_copy_in_never_exceeds_cap)
{
	struct block_ram *b;
	struct block_ram_stats st;
	volatile uint64_t *ram;
	uint64_t sum = 0;

	prefill(32 * BS, 0);
	b = open_copy_in(32, 4);
	ram = block_ram_base(b);
	for (unsigned pass = 0; pass < 2; pass++)
		for (uint64_t blk = 0; blk < 32; blk++) {
			for (uint64_t o = 0; o < BS; o += 4096)
				sum += ram[(blk * BS + o) / 8];
			/* what the kernel has resident, not only what the table says */
			ck_assert_uint_le(resident_pages((void *)ram, 32 * BS), 4 * BS / 4096);
		}
	ck_assert_uint_ne(sum, 0);
	block_ram_get_stats(b, &st);
	ck_assert_uint_eq(st.maps, 64);
	ck_assert_uint_eq(st.releases, 60);
	ck_assert_uint_le(st.mapped, 4);
	ck_assert_uint_eq(st.written_bytes, 0); /* read only: nothing went back */
	block_ram_close(b);
}
END_TEST

START_TEST(test_block_ram_copy_in_writes_back_written_blocks)
{
	struct block_ram *b;
	struct block_ram_stats st;
	volatile uint64_t *ram;

	prefill(8 * BS, 0x77);
	b = open_copy_in(8, 2);
	ram = block_ram_base(b);
	ram[(1 * BS + 16) / 8] = 0xdead0001; /* a store into a block never read */
	(void)ram[(2 * BS) / 8];	     /* a read-only block */
	ram[(3 * BS + 8) / 8] = 0xdead0003;
	(void)ram[(4 * BS) / 8]; /* releases 2 (clean) */
	(void)ram[(5 * BS) / 8]; /* releases 3 (written) */
	block_ram_get_stats(b, &st);
	ck_assert_uint_eq(st.releases, 3);
	ck_assert_uint_eq(st.written_bytes, 2 * BS); /* blocks 1 and 3, not 2 */
	ck_assert_uint_eq(file_word(1 * BS + 16), 0xdead0001);
	ck_assert_uint_eq(file_word(3 * BS + 8), 0xdead0003);
	ck_assert_uint_eq(file_word(3 * BS), (3 * BS) ^ 0x77);
	/* read in again from the file */
	ck_assert_uint_eq(ram[(1 * BS + 16) / 8], 0xdead0001);
	ram[(5 * BS + 24) / 8] = 0xdead0005;
	ck_assert_int_eq(block_ram_sync(b), 0);
	ck_assert_uint_eq(file_word(5 * BS + 24), 0xdead0005);
	/* written back, so clean and protected again: the next store must be seen too */
	ram[(5 * BS + 32) / 8] = 0xdead0006;
	block_ram_close(b); /* resident at exit: close writes it */
	ck_assert_uint_eq(file_word(5 * BS + 32), 0xdead0006);
}
END_TEST

struct direct_worker {
	volatile uint64_t *ram;
	uint64_t first, nblocks, id;
	atomic_int *errors;
};

/* Stores and loads straight into the range while the other thread's faults release blocks. */
static void *direct_run(void *arg)
{
	struct direct_worker *w = arg;

	for (uint64_t pass = 1; pass <= 3; pass++) {
		for (uint64_t o = w->first * BS; o < (w->first + w->nblocks) * BS; o += 512)
			w->ram[o / 8] = o * 3 + w->id * pass;
		for (uint64_t o = w->first * BS; o < (w->first + w->nblocks) * BS; o += 512)
			if (w->ram[o / 8] != o * 3 + w->id * pass)
				atomic_fetch_add(w->errors, 1);
	}
	return NULL;
}

START_TEST(test_block_ram_copy_in_concurrent_stores_survive_release)
{
	struct block_ram *b = open_copy_in(24, 4);
	atomic_int errors = 0;
	struct direct_worker w[2] = {
		{ .ram = block_ram_base(b), .first = 0, .nblocks = 12, .id = 1, .errors = &errors },
		{ .ram = block_ram_base(b), .first = 12, .nblocks = 12, .id = 2, .errors = &errors },
	};
	struct block_ram_stats st;

	run_pair(direct_run, w, sizeof(w[0]));
	ck_assert_int_eq(atomic_load(&errors), 0);
	block_ram_get_stats(b, &st);
	ck_assert_uint_gt(st.releases, 24);
	block_ram_close(b);
	/* every last store reached the file */
	for (uint64_t o = 0; o < 24 * BS; o += 512)
		if (file_word(o) != o * 3 + (o < 12 * BS ? 1 : 2) * 3)
			ck_abort_msg("offset %llu lost its store", (unsigned long long)o);
}
END_TEST

static char failed_why[200];

static void note_failed(void *opaque, const char *why)
{
	(void)opaque;
	snprintf(failed_why, sizeof(failed_why), "%s", why);
}

START_TEST(test_block_ram_copy_in_reports_short_file)
{
	struct block_ram_hooks h = { .failed = note_failed };
	struct block_ram *b = open_copy_in(8, 8);
	volatile uint64_t *ram = block_ram_base(b);

	block_ram_set_hooks(b, &h);
	failed_why[0] = 0;
	ck_assert_int_eq(truncate(path, 4 * BS), 0); /* behind cove's back */
	ck_assert_uint_eq(ram[(6 * BS) / 8], 0);     /* a zero page, not a hang */
	ck_assert_msg(strstr(failed_why, "cannot read --memory-file") != NULL, "%s", failed_why);
	ram[(6 * BS) / 8 + 1] = 1; /* lands in the zero page's copy, never in the file */
	block_ram_close(b);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 4 * BS); /* nothing was written back past the end */
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("block_ram");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_block_ram_releases_least_recently_used);
	tcase_add_test(tc, test_block_ram_never_exceeds_cap);
	tcase_add_test(tc, test_block_ram_never_releases_pinned_block);
	tcase_add_test(tc, test_block_ram_concurrent_map_and_release);
	tcase_add_test(tc, test_block_ram_straddling_access);
	tcase_add_test(tc, test_block_ram_rejects_file_of_wrong_size);
	suite_add_tcase(s, tc);
	/* not under helgrind (CK_RUN_CASE=core): valgrind does not run userfaultfd */
	tc = tcase_create("copy_in");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_block_ram_copy_in_reads_file_on_touch);
	tcase_add_test(tc, test_block_ram_copy_in_never_exceeds_cap);
	tcase_add_test(tc, test_block_ram_copy_in_writes_back_written_blocks);
	tcase_add_test(tc, test_block_ram_copy_in_moves_only_touched_chunks);
	tcase_add_test(tc, test_block_ram_copy_in_takes_runs_when_sequential);
	tcase_add_test(tc, test_block_ram_copy_in_concurrent_stores_survive_release);
	tcase_add_test(tc, test_block_ram_copy_in_reports_short_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return cove_check_run(suite());
}
