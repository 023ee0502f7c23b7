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

START_TEST(test_block_ram_releases_page_table_blocks_last)
{
	struct block_ram *b = open_br(8, 2, NULL);

	ck_assert_int_eq(block_ram_touch(b, 0), 0);
	block_ram_mark_table(b, 0);
	ck_assert_int_eq(block_ram_touch(b, 1 * BS), 0);
	ck_assert_int_eq(block_ram_touch(b, 2 * BS), 0);
	ck_assert(block_ram_is_mapped(b, 0)); /* LRU, but a page table: 1 went instead */
	ck_assert(!block_ram_is_mapped(b, 1 * BS));
	block_ram_mark_table(b, 2 * BS);
	ck_assert_int_eq(block_ram_touch(b, 3 * BS), 0);
	ck_assert(!block_ram_is_mapped(b, 0)); /* only tables left: the LRU one goes */
	ck_assert(block_ram_is_mapped(b, 2 * BS));
	ck_assert_int_eq(block_ram_touch(b, 0), 0); /* mapped again: no longer marked */
	ck_assert_int_eq(block_ram_touch(b, 4 * BS), 0);
	ck_assert(block_ram_is_mapped(b, 2 * BS) && !block_ram_is_mapped(b, 3 * BS));
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

START_TEST(test_block_ram_concurrent_map_and_release)
{
	struct rec r;
	struct block_ram *b = open_br(24, 4, &r);
	atomic_int errors = 0;
	struct worker w[2] = {
		{ .b = b, .first = 0, .nblocks = 12, .id = 1, .errors = &errors },
		{ .b = b, .first = 12, .nblocks = 12, .id = 2, .errors = &errors },
	};
	pthread_t t[2];
	struct block_ram_stats st;

	for (unsigned i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
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

static Suite *suite(void)
{
	Suite *s = suite_create("block_ram");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_block_ram_releases_least_recently_used);
	tcase_add_test(tc, test_block_ram_never_exceeds_cap);
	tcase_add_test(tc, test_block_ram_never_releases_pinned_block);
	tcase_add_test(tc, test_block_ram_releases_page_table_blocks_last);
	tcase_add_test(tc, test_block_ram_concurrent_map_and_release);
	tcase_add_test(tc, test_block_ram_straddling_access);
	tcase_add_test(tc, test_block_ram_rejects_file_of_wrong_size);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return cove_check_run(suite());
}
