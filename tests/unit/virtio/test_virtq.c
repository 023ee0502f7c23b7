/* SPDX-License-Identifier: MIT */
/*
 * The split-virtqueue walker against hand-written rings in real guest RAM.
 * Guest RAM is two regions, A = [0, 64K) and B = [128K, 192K), so there is a
 * hole between them and nothing above B. A rejected chain must leave no
 * segment behind, break the queue, and write nothing: every VMM write to
 * guest RAM passes the write hook, and all of RAM is compared byte for byte
 * around the pop.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"
#include "mmu/guest_mem.h"
#include "vdriver.h"

#define RAM_A	 0x0ULL
#define RAM_B	 0x20000ULL
#define RAM_SIZE 0x10000ULL
#define HOLE	 0x10000ULL
#define DESC	 0x1000ULL
#define AVAIL	 0x2000ULL
#define USED	 0x3000ULL
#define QSIZE	 8
#define TABLE	 (RAM_B + 0x1000) /* indirect tables */
#define BUF(i)	 (0x4000ULL + 0x1000ULL * (i))

static struct guest_mem *mem;
static struct virtq vq;
static struct virtq_req req;
static unsigned hook_writes;
static uint8_t *before_a, *before_b;

static void count_writes(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	(void)gpa;
	(void)len;
	hook_writes++;
}

static void setup(void)
{
	void *fill = malloc(RAM_SIZE);

	ck_assert_int_eq(guest_mem_create(&mem), 0);
	ck_assert_int_eq(guest_mem_add_ram(mem, RAM_A, RAM_SIZE), 0);
	ck_assert_int_eq(guest_mem_add_ram(mem, RAM_B, RAM_SIZE), 0);
	/* Canary everywhere, then zeroed rings. */
	memset(fill, 0xa5, RAM_SIZE);
	gm_write(mem, RAM_A, fill, RAM_SIZE);
	gm_write(mem, RAM_B, fill, RAM_SIZE);
	memset(fill, 0, 0x3000);
	gm_write(mem, DESC, fill, 0x3000);
	free(fill);
	virtq_init(&vq, mem);
	vq.size = QSIZE;
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	hook_writes = 0;
	guest_mem_set_write_hook(mem, count_writes, NULL);
	before_a = malloc(RAM_SIZE);
	before_b = malloc(RAM_SIZE);
}

static void teardown(void)
{
	free(before_a);
	free(before_b);
	guest_mem_destroy(mem);
}

static void enable(uint64_t features)
{
	ck_assert_int_eq(virtq_enable(&vq, features | (1ULL << VIRTIO_F_VERSION_1)), 0);
}

static void desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
	} d = { htole64(addr), htole32(len), htole16(flags), htole16(next) };

	gm_write(mem, table + 16 * (uint64_t)i, &d, 16);
}

/* Makes `count` chains available, heads as given. */
static void offer(const uint16_t *heads, unsigned count)
{
	uint16_t idx = gm_get16(mem, AVAIL + 2);

	for (unsigned i = 0; i < count; i++, idx++)
		gm_put16(mem, AVAIL + 4 + 2 * (idx % QSIZE), heads[i]);
	gm_put16(mem, AVAIL + 2, idx);
}

static void offer1(uint16_t head)
{
	offer(&head, 1);
}

static void snapshot(void)
{
	gm_read(mem, RAM_A, before_a, RAM_SIZE);
	gm_read(mem, RAM_B, before_b, RAM_SIZE);
	hook_writes = 0;
}

/* The walker rejected the chain and touched nothing. */
static void assert_rejected_untouched(int ret)
{
	uint8_t *now = malloc(RAM_SIZE);

	ck_assert_int_eq(ret, -EIO);
	ck_assert(vq.broken);
	ck_assert_uint_eq(req.nseg, 0);
	ck_assert_uint_eq(hook_writes, 0);
	gm_read(mem, RAM_A, now, RAM_SIZE);
	ck_assert(memcmp(now, before_a, RAM_SIZE) == 0);
	gm_read(mem, RAM_B, now, RAM_SIZE);
	ck_assert(memcmp(now, before_b, RAM_SIZE) == 0);
	free(now);
	/* A broken queue stays broken until reset. */
	ck_assert_int_eq(virtq_pop(&vq, &req), -EIO);
}

static int pop_rejected(void)
{
	snapshot();
	req.nseg = 99;
	return virtq_pop(&vq, &req);
}

START_TEST(test_virtq_pops_direct_chain)
{
	enable(0);
	desc(DESC, 3, BUF(0), 16, VIRTQ_DESC_F_NEXT, 5);
	desc(DESC, 5, BUF(1), 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(DESC, 1, BUF(2), 1, VIRTQ_DESC_F_WRITE, 0);
	offer1(3);
	ck_assert_int_eq(virtq_pop(&vq, &req), 1);
	ck_assert_uint_eq(req.head, 3);
	ck_assert_uint_eq(req.nseg, 3);
	ck_assert_uint_eq(req.nread, 1);
	ck_assert_uint_eq(req.read_len, 16);
	ck_assert_uint_eq(req.write_len, 513);
	ck_assert_uint_eq(req.seg[0].gpa, BUF(0));
	ck_assert(!req.seg[0].write);
	ck_assert_uint_eq(req.seg[1].gpa, BUF(1));
	ck_assert_uint_eq(req.seg[1].len, 512);
	ck_assert(req.seg[2].write);
	ck_assert_int_eq(virtq_pop(&vq, &req), 0);
}
END_TEST

START_TEST(test_virtq_pops_direct_then_indirect_chain)
{
	enable(1ULL << VIRTIO_F_INDIRECT_DESC);
	/* §2.7.5.3.2: direct descriptors, then one indirect table. */
	desc(DESC, 0, BUF(0), 16, VIRTQ_DESC_F_NEXT, 1);
	desc(DESC, 1, TABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	desc(TABLE, 0, BUF(1), 8, VIRTQ_DESC_F_NEXT, 2);
	desc(TABLE, 2, RAM_B + 0x8000, 4096, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(TABLE, 1, BUF(2), 1, VIRTQ_DESC_F_WRITE, 0);
	offer1(0);
	ck_assert_int_eq(virtq_pop(&vq, &req), 1);
	ck_assert_uint_eq(req.nseg, 4);
	ck_assert_uint_eq(req.nread, 2);
	ck_assert_uint_eq(req.read_len, 24);
	ck_assert_uint_eq(req.write_len, 4097);
	ck_assert_uint_eq(req.seg[2].gpa, RAM_B + 0x8000);
	ck_assert(req.seg[3].write);
}
END_TEST

START_TEST(test_virtq_skips_zero_length_descriptor)
{
	enable(0);
	desc(DESC, 0, HOLE, 0, VIRTQ_DESC_F_NEXT, 1);
	desc(DESC, 1, BUF(0), 4, 0, 0);
	offer1(0);
	ck_assert_int_eq(virtq_pop(&vq, &req), 1);
	ck_assert_uint_eq(req.nseg, 1);
	ck_assert_uint_eq(req.seg[0].gpa, BUF(0));
}
END_TEST

START_TEST(test_virtq_rejects_descriptor_loop)
{
	enable(0);
	desc(DESC, 0, BUF(0), 16, VIRTQ_DESC_F_NEXT, 1);
	desc(DESC, 1, BUF(1), 16, VIRTQ_DESC_F_NEXT, 0);
	offer1(0);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_rejects_self_loop)
{
	enable(0);
	desc(DESC, 2, BUF(0), 16, VIRTQ_DESC_F_NEXT, 2);
	offer1(2);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_accepts_chain_as_long_as_queue)
{
	enable(0);
	for (unsigned i = 0; i < QSIZE; i++)
		desc(DESC, i, BUF(i), 8, i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	offer1(0);
	ck_assert_int_eq(virtq_pop(&vq, &req), 1);
	ck_assert_uint_eq(req.nseg, QSIZE);
}
END_TEST

START_TEST(test_virtq_rejects_chain_longer_than_queue)
{
	enable(1ULL << VIRTIO_F_INDIRECT_DESC);
	/* An indirect table can hold more descriptors than the queue has. */
	for (unsigned i = 0; i < QSIZE + 1; i++)
		desc(TABLE, i, BUF(0), 8, i < QSIZE ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	desc(DESC, 0, TABLE, 16 * (QSIZE + 1), VIRTQ_DESC_F_INDIRECT, 0);
	offer1(0);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_rejects_loop_inside_indirect_table)
{
	enable(1ULL << VIRTIO_F_INDIRECT_DESC);
	desc(TABLE, 0, BUF(0), 8, VIRTQ_DESC_F_NEXT, 1);
	desc(TABLE, 1, BUF(1), 8, VIRTQ_DESC_F_NEXT, 0);
	desc(DESC, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer1(0);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_rejects_address_outside_ram)
{
	/* The hole, across the end of A, past all RAM, and the top of B's end. */
	static const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{ HOLE, 16 },
		{ RAM_A + RAM_SIZE - 8, 16 },
		{ 0x100000000ULL, 4096 },
		{ RAM_B + RAM_SIZE - 1, 2 },
		{ RAM_B - 1, 2 },
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		teardown();
		setup();
		enable(0);
		desc(DESC, 0, BUF(0), 16, VIRTQ_DESC_F_NEXT, 1);
		desc(DESC, 1, bad[i].addr, bad[i].len, VIRTQ_DESC_F_WRITE, 0);
		offer1(0);
		assert_rejected_untouched(pop_rejected());
	}
}
END_TEST

START_TEST(test_virtq_rejects_length_overflow)
{
	enable(0);
	/* gpa + len wraps past 2^64 and would land in RAM A. */
	desc(DESC, 0, 0xfffffffffffff000ULL, 0x2000, 0, 0);
	offer1(0);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_rejects_indirect_table_overflow)
{
	enable(1ULL << VIRTIO_F_INDIRECT_DESC);
	desc(DESC, 0, 0xfffffffffffffff0ULL, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer1(0);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_rejects_nested_indirect)
{
	enable(1ULL << VIRTIO_F_INDIRECT_DESC);
	desc(TABLE, 0, BUF(0), 8, VIRTQ_DESC_F_NEXT, 1);
	desc(TABLE, 1, TABLE + 0x100, 32, VIRTQ_DESC_F_INDIRECT, 0);
	desc(TABLE + 0x100, 0, BUF(1), 8, 0, 0);
	desc(DESC, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer1(0);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_rejects_bad_indirect_length)
{
	static const uint32_t lens[] = { 0, 24, 17 };

	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		teardown();
		setup();
		enable(1ULL << VIRTIO_F_INDIRECT_DESC);
		desc(TABLE, 0, BUF(0), 8, 0, 0);
		desc(DESC, 0, TABLE, lens[i], VIRTQ_DESC_F_INDIRECT, 0);
		offer1(0);
		assert_rejected_untouched(pop_rejected());
	}
}
END_TEST

START_TEST(test_virtq_rejects_indirect_without_feature)
{
	enable(0);
	desc(TABLE, 0, BUF(0), 8, 0, 0);
	desc(DESC, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer1(0);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_rejects_indirect_with_next)
{
	enable(1ULL << VIRTIO_F_INDIRECT_DESC);
	desc(TABLE, 0, BUF(0), 8, 0, 0);
	desc(DESC, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	desc(DESC, 1, BUF(1), 8, 0, 0);
	offer1(0);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_rejects_readable_after_writable)
{
	enable(0);
	desc(DESC, 0, BUF(0), 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(DESC, 1, BUF(1), 8, 0, 0);
	offer1(0);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_rejects_head_out_of_range)
{
	enable(0);
	offer1(QSIZE);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_rejects_next_out_of_range)
{
	enable(0);
	desc(DESC, 0, BUF(0), 8, VIRTQ_DESC_F_NEXT, QSIZE);
	offer1(0);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_rejects_next_beyond_indirect_table)
{
	enable(1ULL << VIRTIO_F_INDIRECT_DESC);
	/* Entry 2 exists in memory but not in a two-entry table. */
	desc(TABLE, 0, BUF(0), 8, VIRTQ_DESC_F_NEXT, 2);
	desc(TABLE, 2, BUF(1), 8, 0, 0);
	desc(DESC, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer1(0);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_rejects_avail_idx_running_ahead)
{
	enable(0);
	desc(DESC, 0, BUF(0), 8, 0, 0);
	gm_put16(mem, AVAIL + 2, QSIZE + 1);
	assert_rejected_untouched(pop_rejected());
}
END_TEST

START_TEST(test_virtq_accepts_full_ring_across_wrap)
{
	uint16_t heads[QSIZE];

	enable(0);
	for (unsigned i = 0; i < QSIZE; i++) {
		desc(DESC, i, BUF(i), 8, 0, 0);
		heads[i] = (uint16_t)i;
	}
	/* Start near the 16-bit wrap: idx 65532 .. 65535, 0 .. 3. */
	vq.last_avail = 65532;
	gm_put16(mem, AVAIL + 2, 65532);
	offer(heads, QSIZE);
	for (unsigned i = 0; i < QSIZE; i++) {
		ck_assert_int_eq(virtq_pop(&vq, &req), 1);
		ck_assert_uint_eq(req.head, i);
	}
	ck_assert_int_eq(virtq_pop(&vq, &req), 0);
}
END_TEST

START_TEST(test_virtq_push_fills_used_ring)
{
	uint32_t e[2];

	enable(0);
	desc(DESC, 4, BUF(0), 8, VIRTQ_DESC_F_WRITE, 0);
	offer1(4);
	ck_assert_int_eq(virtq_pop(&vq, &req), 1);
	ck_assert_int_eq(virtq_push(&vq, req.head, 7), 0);
	ck_assert_uint_eq(gm_get16(mem, USED + 2), 1);
	gm_read(mem, USED + 4, e, sizeof(e));
	ck_assert_uint_eq(le32toh(e[0]), 4);
	ck_assert_uint_eq(le32toh(e[1]), 7);
	/* The device never returns a head it could not have been given. */
	ck_assert_int_eq(virtq_push(&vq, QSIZE, 0), -EIO);
}
END_TEST

START_TEST(test_virtq_event_idx_suppresses_notification)
{
	enable(1ULL << VIRTIO_F_EVENT_IDX);
	/* used_event = 2: notify when the entry at used index 2 is written. */
	gm_put16(mem, AVAIL + 4 + 2 * QSIZE, 2);
	ck_assert_int_eq(virtq_push(&vq, 0, 0), 0); /* used idx -> 1 */
	ck_assert(!virtq_should_notify(&vq));
	ck_assert_int_eq(virtq_push(&vq, 1, 0), 0); /* -> 2 */
	ck_assert(!virtq_should_notify(&vq));
	ck_assert_int_eq(virtq_push(&vq, 2, 0), 0); /* -> 3: slot 2 filled */
	ck_assert(virtq_should_notify(&vq));
	ck_assert_int_eq(virtq_push(&vq, 3, 0), 0); /* -> 4 */
	ck_assert(!virtq_should_notify(&vq));
	/* Two pushes that jump past used_event still notify once. */
	gm_put16(mem, AVAIL + 4 + 2 * QSIZE, 4);
	ck_assert_int_eq(virtq_push(&vq, 4, 0), 0);
	ck_assert_int_eq(virtq_push(&vq, 5, 0), 0);
	ck_assert(virtq_should_notify(&vq));
	/* EVENT_IDX makes the flags field meaningless (§2.7.7.2). */
	gm_put16(mem, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	gm_put16(mem, AVAIL + 4 + 2 * QSIZE, 6);
	ck_assert_int_eq(virtq_push(&vq, 6, 0), 0);
	ck_assert(virtq_should_notify(&vq));
}
END_TEST

START_TEST(test_virtq_no_interrupt_flag_suppresses_notification)
{
	enable(0);
	gm_put16(mem, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	ck_assert_int_eq(virtq_push(&vq, 0, 0), 0);
	ck_assert(!virtq_should_notify(&vq));
	gm_put16(mem, AVAIL, 0);
	ck_assert_int_eq(virtq_push(&vq, 1, 0), 0);
	ck_assert(virtq_should_notify(&vq));
}
END_TEST

START_TEST(test_virtq_publishes_avail_event_when_empty)
{
	uint16_t heads[] = { 0, 1 };

	enable(1ULL << VIRTIO_F_EVENT_IDX);
	desc(DESC, 0, BUF(0), 8, 0, 0);
	desc(DESC, 1, BUF(1), 8, 0, 0);
	offer(heads, 2);
	ck_assert_int_eq(virtq_pop(&vq, &req), 1);
	ck_assert_int_eq(virtq_pop(&vq, &req), 1);
	ck_assert_uint_eq(gm_get16(mem, USED + 4 + 8 * QSIZE), 0);
	ck_assert_int_eq(virtq_pop(&vq, &req), 0);
	/* The driver is asked to notify when it fills avail slot 2. */
	ck_assert_uint_eq(gm_get16(mem, USED + 4 + 8 * QSIZE), 2);
}
END_TEST

START_TEST(test_virtq_enable_rejects_bad_rings)
{
	ck_assert_int_eq(virtq_enable(&vq, 0), 0);
	vq.size = 6; /* not a power of two */
	ck_assert_int_eq(virtq_enable(&vq, 0), -EINVAL);
	ck_assert(vq.broken);
	vq.size = VIRTQ_MAX_SIZE * 2;
	ck_assert_int_eq(virtq_enable(&vq, 0), -EINVAL);
	vq.size = QSIZE;
	vq.desc_gpa = DESC + 8; /* not 16-aligned */
	ck_assert_int_eq(virtq_enable(&vq, 0), -EINVAL);
	vq.desc_gpa = DESC;
	vq.used_gpa = RAM_A + RAM_SIZE - 8; /* runs into the hole */
	ck_assert_int_eq(virtq_enable(&vq, 0), -EINVAL);
	vq.used_gpa = USED;
	ck_assert_int_eq(virtq_enable(&vq, 0), 0);
	ck_assert(!vq.broken);
}
END_TEST

START_TEST(test_virtq_req_copy_spans_segments)
{
	uint8_t out[12], in[12];

	enable(0);
	/* Readable: 4 bytes in A, 8 in B; writable: 5 + 7. */
	desc(DESC, 0, BUF(0), 4, VIRTQ_DESC_F_NEXT, 1);
	desc(DESC, 1, RAM_B + 0x100, 8, VIRTQ_DESC_F_NEXT, 2);
	desc(DESC, 2, BUF(1), 5, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
	desc(DESC, 3, RAM_B + 0x200, 7, VIRTQ_DESC_F_WRITE, 0);
	gm_write(mem, BUF(0), "abcd", 4);
	gm_write(mem, RAM_B + 0x100, "efghijkl", 8);
	offer1(0);
	ck_assert_int_eq(virtq_pop(&vq, &req), 1);
	ck_assert_int_eq(virtq_req_read(mem, &req, 2, out, sizeof(out)), 10);
	ck_assert(memcmp(out, "cdefghijkl", 10) == 0);
	memcpy(in, "0123456789AB", 12);
	ck_assert_int_eq(virtq_req_write(mem, &req, 3, in, 12), 9);
	gm_read(mem, BUF(1) + 3, out, 2);
	ck_assert(memcmp(out, "01", 2) == 0);
	gm_read(mem, RAM_B + 0x200, out, 7);
	ck_assert(memcmp(out, "2345678", 7) == 0);
}
END_TEST

static Suite *virtq_suite(void)
{
	Suite *s = suite_create("virtq");
	TCase *tc = tcase_create("walker");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_virtq_pops_direct_chain);
	tcase_add_test(tc, test_virtq_pops_direct_then_indirect_chain);
	tcase_add_test(tc, test_virtq_skips_zero_length_descriptor);
	tcase_add_test(tc, test_virtq_rejects_descriptor_loop);
	tcase_add_test(tc, test_virtq_rejects_self_loop);
	tcase_add_test(tc, test_virtq_accepts_chain_as_long_as_queue);
	tcase_add_test(tc, test_virtq_rejects_chain_longer_than_queue);
	tcase_add_test(tc, test_virtq_rejects_loop_inside_indirect_table);
	tcase_add_test(tc, test_virtq_rejects_address_outside_ram);
	tcase_add_test(tc, test_virtq_rejects_length_overflow);
	tcase_add_test(tc, test_virtq_rejects_indirect_table_overflow);
	tcase_add_test(tc, test_virtq_rejects_nested_indirect);
	tcase_add_test(tc, test_virtq_rejects_bad_indirect_length);
	tcase_add_test(tc, test_virtq_rejects_indirect_without_feature);
	tcase_add_test(tc, test_virtq_rejects_indirect_with_next);
	tcase_add_test(tc, test_virtq_rejects_readable_after_writable);
	tcase_add_test(tc, test_virtq_rejects_head_out_of_range);
	tcase_add_test(tc, test_virtq_rejects_next_out_of_range);
	tcase_add_test(tc, test_virtq_rejects_next_beyond_indirect_table);
	tcase_add_test(tc, test_virtq_rejects_avail_idx_running_ahead);
	tcase_add_test(tc, test_virtq_accepts_full_ring_across_wrap);
	tcase_add_test(tc, test_virtq_push_fills_used_ring);
	tcase_add_test(tc, test_virtq_event_idx_suppresses_notification);
	tcase_add_test(tc, test_virtq_no_interrupt_flag_suppresses_notification);
	tcase_add_test(tc, test_virtq_publishes_avail_event_when_empty);
	tcase_add_test(tc, test_virtq_enable_rejects_bad_rings);
	tcase_add_test(tc, test_virtq_req_copy_spans_segments);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(virtq_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
