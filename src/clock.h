/* SPDX-License-Identifier: MIT */
/*
 * Guest time. Devices that tell time (PM timer, RTC, the soft irqchip's PIT
 * and LAPIC timer) read it here rather than from the host, so that the soft
 * accelerator's deterministic mode can drive all of them from retired
 * instructions. By default it is the host's CLOCK_MONOTONIC.
 */
#ifndef COVE_CLOCK_H
#define COVE_CLOCK_H

#include <stdint.h>
#include <time.h>

struct guest_clock {
	/* nanoseconds of guest time since an arbitrary origin; never decreases */
	uint64_t (*now_ns)(struct guest_clock *c);
	/* the guest's wall-clock time (Unix seconds) at now_ns() == 0 */
	int64_t epoch;
};

static inline uint64_t clock_host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* NULL means host monotonic time. */
static inline uint64_t guest_clock_ns(struct guest_clock *c)
{
	return c ? c->now_ns(c) : clock_host_ns();
}

#endif
