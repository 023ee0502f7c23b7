// SPDX-License-Identifier: MIT
/*
 * Local APIC timer (SDM Vol.3 §10.5.4): one-shot, periodic and TSC-deadline
 * modes, driven by guest time. The count runs at 1 GHz divided by TDCR
 * (a 1 ns bus cycle), so tick k of a count started at t lands at
 * t + k * divisor ns, exactly.
 */
#include "devices/irqchip/lapic_regs.h"

#define NSEC_PER_SEC 1000000000ull

static uint64_t now_ns(struct lapic *l)
{
	return guest_clock_ns(l->clock);
}

unsigned lapic_timer_mode(const struct lapic *l)
{
	unsigned m = (reg(l, APIC_LVT_TIMER) >> 17) & 3;

	return m == 3 ? APIC_TIMER_ONESHOT : m; /* 11b is reserved */
}

/* Figure 10-10: TDCR bits 3,1:0 encode divide by 2..128 and 1 (1011b). */
static uint64_t tick_ns(const struct lapic *l)
{
	uint32_t d = reg(l, APIC_TDCR);
	unsigned v = (d & 3) | ((d >> 1) & 4);

	return 1ull << ((v + 1) & 7);
}

static uint64_t sat_add_mul(uint64_t base, uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b + base;

	return r > UINT64_MAX - 1 ? UINT64_MAX - 1 : (uint64_t)r;
}

static uint64_t count_expiry(const struct lapic *l)
{
	uint64_t ticks = l->timer.base_count;

	if (!l->timer.armed)
		return UINT64_MAX;
	if (l->timer.fired)
		ticks += l->timer.fired * (uint64_t)reg(l, APIC_TMICT);
	return sat_add_mul(l->timer.base_ns, ticks, tick_ns(l));
}

/* The first guest ns at which the guest TSC reaches the deadline. */
static uint64_t tsc_expiry(const struct lapic *l)
{
	uint64_t raw;
	unsigned __int128 ns;

	if (!l->tsc_deadline || !l->tsc_hz || lapic_timer_mode(l) != APIC_TIMER_TSC_DEADLINE)
		return UINT64_MAX;
	raw = l->tsc_deadline - l->tsc_offset;
	if ((int64_t)raw <= 0)
		return 0;
	ns = ((unsigned __int128)raw * NSEC_PER_SEC + l->tsc_hz - 1) / l->tsc_hz;
	return ns > UINT64_MAX - 1 ? UINT64_MAX - 1 : (uint64_t)ns;
}

static void fire(struct lapic *l)
{
	uint32_t lvt = reg(l, APIC_LVT_TIMER);

	if (!(lvt & APIC_LVT_MASKED))
		lapic_accept(l, lvt & 0xff, false);
}

uint64_t lapic_next_deadline(const struct lapic *l)
{
	if (!lapic_hw_enabled(l))
		return UINT64_MAX;
	if (lapic_timer_mode(l) == APIC_TIMER_TSC_DEADLINE)
		return tsc_expiry(l);
	return count_expiry(l);
}

void lapic_advance(struct lapic *l, uint64_t now)
{
	uint64_t ticks, tmict;

	if (lapic_timer_mode(l) == APIC_TIMER_TSC_DEADLINE) {
		if (l->tsc_deadline && now >= tsc_expiry(l)) {
			l->tsc_deadline = 0;
			fire(l);
		}
		return;
	}
	if (!l->timer.armed || now < count_expiry(l))
		return;
	/* Expirations missed since the last call coalesce into one IRR bit. */
	fire(l);
	tmict = reg(l, APIC_TMICT);
	if (lapic_timer_mode(l) != APIC_TIMER_PERIODIC || !tmict) {
		l->timer.armed = false;
		return;
	}
	ticks = (now - l->timer.base_ns) / tick_ns(l);
	l->timer.fired = (ticks - l->timer.base_count) / tmict + 1;
}

void lapic_timer_check(struct lapic *l)
{
	lapic_advance(l, now_ns(l));
}

static uint32_t current_at(const struct lapic *l, uint64_t now)
{
	uint64_t ticks, tmict = reg(l, APIC_TMICT);

	if (!l->timer.armed || lapic_timer_mode(l) == APIC_TIMER_TSC_DEADLINE)
		return 0;
	ticks = now > l->timer.base_ns ? (now - l->timer.base_ns) / tick_ns(l) : 0;
	if (ticks < l->timer.base_count)
		return (uint32_t)(l->timer.base_count - ticks);
	if (lapic_timer_mode(l) != APIC_TIMER_PERIODIC || !tmict)
		return 0;
	return (uint32_t)(tmict - (ticks - l->timer.base_count) % tmict);
}

uint32_t lapic_timer_current(struct lapic *l)
{
	uint64_t now = now_ns(l);

	lapic_advance(l, now);
	return current_at(l, now);
}

/* Keep the count where it is but restart its bookkeeping from now. */
static void rebase(struct lapic *l, uint64_t now)
{
	uint32_t c = current_at(l, now);

	if (!l->timer.armed)
		return;
	if (!c) {
		l->timer.armed = false;
		return;
	}
	l->timer.base_ns = now;
	l->timer.base_count = c;
	l->timer.fired = 0;
}

void lapic_timer_lvt_write(struct lapic *l, uint32_t val)
{
	uint64_t now = now_ns(l);
	unsigned old_mode = lapic_timer_mode(l), new_mode = (val >> 17) & 3;

	if (new_mode == 3)
		new_mode = APIC_TIMER_ONESHOT;
	lapic_advance(l, now);
	if ((old_mode == APIC_TIMER_TSC_DEADLINE) != (new_mode == APIC_TIMER_TSC_DEADLINE)) {
		/* §10.5.4.1: switching to or from TSC-deadline disarms the timer. */
		l->timer.armed = false;
		set_reg(l, APIC_TMICT, 0);
		l->tsc_deadline = 0;
	} else if (old_mode != new_mode) {
		rebase(l, now);
	}
	set_reg(l, APIC_LVT_TIMER, val);
}

void lapic_timer_set_initial(struct lapic *l, uint32_t val)
{
	uint64_t now = now_ns(l);

	lapic_advance(l, now);
	/* In TSC-deadline mode writes to the initial count are ignored. */
	if (lapic_timer_mode(l) == APIC_TIMER_TSC_DEADLINE)
		return;
	set_reg(l, APIC_TMICT, val);
	l->timer.armed = val != 0;
	l->timer.base_ns = now;
	l->timer.base_count = val;
	l->timer.fired = 0;
}

void lapic_timer_set_divide(struct lapic *l, uint32_t val)
{
	uint64_t now = now_ns(l);

	lapic_advance(l, now);
	rebase(l, now);
	set_reg(l, APIC_TDCR, val & 0xb);
}

void lapic_timer_set_tsc_deadline(struct lapic *l, uint64_t val)
{
	uint64_t now = now_ns(l);

	lapic_advance(l, now);
	/* Writes are ignored outside TSC-deadline mode (§10.5.4.1). */
	if (lapic_timer_mode(l) != APIC_TIMER_TSC_DEADLINE)
		return;
	l->tsc_deadline = val;
	lapic_advance(l, now); /* a deadline already passed fires at once */
}

void lapic_set_tsc_offset(struct lapic *l, uint64_t offset)
{
	l->tsc_offset = offset;
}

void lapic_timer_restore(struct lapic *l, uint32_t current)
{
	uint32_t tmict = reg(l, APIC_TMICT);

	l->timer.armed = false;
	if (lapic_timer_mode(l) == APIC_TIMER_TSC_DEADLINE || !tmict)
		return;
	if (current > tmict)
		current = tmict;
	if (!current) {
		if (lapic_timer_mode(l) != APIC_TIMER_PERIODIC)
			return; /* a one-shot that already expired */
		current = tmict;
	}
	l->timer.armed = true;
	l->timer.base_ns = now_ns(l);
	l->timer.base_count = current;
	l->timer.fired = 0;
}
