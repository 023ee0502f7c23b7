/* SPDX-License-Identifier: MIT */
/* A guest_clock the test sets by hand, so timer results are exact. */
#ifndef COVE_TEST_FAKE_CLOCK_H
#define COVE_TEST_FAKE_CLOCK_H

#include "clock.h"

struct fake_clock {
	struct guest_clock gc;
	uint64_t now;
};

static inline uint64_t fake_clock_now(struct guest_clock *c)
{
	return ((struct fake_clock *)c)->now;
}

static inline void fake_clock_init(struct fake_clock *fc, uint64_t now)
{
	fc->gc.now_ns = fake_clock_now;
	fc->gc.epoch = 0;
	fc->now = now;
}

#endif
