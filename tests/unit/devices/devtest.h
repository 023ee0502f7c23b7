/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the device tests: port accesses through a real struct bus, an
 * irq_sink that records line levels, and a guest clock the test moves.
 */
#ifndef COVE_TESTS_DEVTEST_H
#define COVE_TESTS_DEVTEST_H

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "devices/bus.h"

#define DEVTEST_GSIS 32

struct test_irq {
	struct irq_sink sink;
	int level[DEVTEST_GSIS];
	unsigned sets[DEVTEST_GSIS]; /* how many times set_level was called */
};

static inline void test_irq_set_level(struct irq_sink *s, uint32_t gsi, int level)
{
	struct test_irq *t = (struct test_irq *)s;

	ck_assert_uint_lt(gsi, DEVTEST_GSIS);
	t->level[gsi] = level;
	t->sets[gsi]++;
}

static inline void test_irq_init(struct test_irq *t)
{
	memset(t, 0, sizeof(*t));
	t->sink.set_level = test_irq_set_level;
}

struct test_clock {
	struct guest_clock gc;
	uint64_t now;
};

static inline uint64_t test_clock_now(struct guest_clock *c)
{
	return ((struct test_clock *)c)->now;
}

static inline void test_clock_init(struct test_clock *c, int64_t epoch, uint64_t now)
{
	c->gc.now_ns = test_clock_now;
	c->gc.epoch = epoch;
	c->now = now;
}

static inline uint32_t port_in(struct bus *b, uint16_t port, unsigned size)
{
	uint32_t v = 0;

	ck_assert_int_eq(bus_access(b, 0, port, &v, size, false), 0);
	return v;
}

static inline void port_out(struct bus *b, uint16_t port, uint32_t v, unsigned size)
{
	ck_assert_int_eq(bus_access(b, 0, port, &v, size, true), 0);
}

static inline uint8_t inb(struct bus *b, uint16_t port)
{
	return (uint8_t)port_in(b, port, 1);
}

static inline void outb(struct bus *b, uint16_t port, uint8_t v)
{
	port_out(b, port, v, 1);
}

/* Runs one Check suite; the exit status says whether every test passed. */
static inline int devtest_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif
