/* SPDX-License-Identifier: MIT */
/*
 * MC146818A real-time clock (Motorola datasheet). The time registers are not
 * stored while the clock runs: a read formats the current time in the
 * format register B asks for, so the clock never drifts from guest time.
 * They are latched into CMOS bytes while the guest holds SET or the divider
 * in reset, and parsed back when it lets go.
 *
 * Modelling choices:
 * - The update cycle is instantaneous at each second boundary; UIP reads 1
 *   in the 244 us before it (datasheet: "UIP ... 244 us before the update").
 * - The day of week follows the date; a written value is not kept.
 * - DSE (daylight saving) is ignored.
 * - A time write that does not parse (bad BCD, hour 25, 31 February, a year
 *   outside 1900-2199) leaves the time as it was.
 */
#include "devices/rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "devices/bus.h"
#include "pc.h"

enum {
	RTC_SEC = 0x00,
	RTC_SEC_ALARM = 0x01,
	RTC_MIN = 0x02,
	RTC_MIN_ALARM = 0x03,
	RTC_HOUR = 0x04,
	RTC_HOUR_ALARM = 0x05,
	RTC_DOW = 0x06,
	RTC_DAY = 0x07,
	RTC_MONTH = 0x08,
	RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a,
	RTC_REG_B = 0x0b,
	RTC_REG_C = 0x0c,
	RTC_REG_D = 0x0d,
	RTC_CENTURY = 0x32, /* IBM PC convention; ACPI FADT CENTURY names it */
	RTC_CMOS_LEN = 128,
};

#define A_UIP	   0x80
#define A_DV_MASK  0x70
#define A_DV_RESET 0x60 /* DV2 = DV1 = 1: divider chain held in reset */
#define A_RS_MASK  0x0f

#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM  0x04 /* binary, not BCD */
#define B_24H 0x02

#define C_IRQF 0x80
#define C_PF   0x40
#define C_AF   0x20
#define C_UF   0x10

#define D_VRT 0x80

#define NS_PER_SEC   1000000000LL
#define UIP_LEAD_NS  244000LL
#define SECS_PER_DAY 86400
#define TIMEBASE_HZ  32768

struct rtc_state {
	uint8_t cmos[RTC_CMOS_LEN]; /* time bytes valid only while frozen */
	uint8_t index;
	uint8_t nmi_masked; /* index bit 7; cove has no NMI source to mask */
	int64_t offset_ns;  /* RTC time (Unix ns) minus the clock's wall time */
	uint64_t last_ns;   /* guest_clock_ns() the flags are up to date with */
};
_Static_assert(sizeof(struct rtc_state) <= 4096, "bus checkpoint limit");

struct rtc {
	pthread_mutex_t lock;
	struct rtc_state st;
	struct irq_sink *irq;
	struct guest_clock *clock;
	int64_t epoch_ns; /* wall time (Unix ns) at guest_clock_ns() == 0 */
	int irq_level;
};

struct rtc_tm {
	int64_t year;
	int month, day, hour, min, sec, wday; /* month 1-12, wday 0 = Sunday */
};

static const uint8_t days_in_month[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	return days_in_month[m - 1] + (m == 2 && is_leap(y));
}

/* Leap years in [1, y], for y >= 0. */
static int64_t leaps_through(int64_t y)
{
	return y / 4 - y / 100 + y / 400;
}

/* Days from 1970-01-01 to y-m-d (Gregorian, y >= 1). */
static int64_t days_from_date(int64_t y, int m, int d)
{
	int64_t days = 365 * (y - 1970) + leaps_through(y - 1) - leaps_through(1969);

	for (int i = 1; i < m; i++)
		days += month_days(y, i);
	return days + d - 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static void tm_from_secs(int64_t secs, struct rtc_tm *tm)
{
	int64_t days = floor_div(secs, SECS_PER_DAY);
	int64_t sod = secs - days * SECS_PER_DAY;
	int64_t y = 1970 + floor_div(days, 365);
	int m = 1;

	/* The estimate is off by a year or two at most (leap days). */
	while (days_from_date(y, 1, 1) > days)
		y--;
	while (days_from_date(y + 1, 1, 1) <= days)
		y++;
	days -= days_from_date(y, 1, 1);
	while (days >= month_days(y, m))
		days -= month_days(y, m++);
	tm->year = y;
	tm->month = m;
	tm->day = (int)days + 1;
	tm->hour = (int)(sod / 3600);
	tm->min = (int)(sod / 60 % 60);
	tm->sec = (int)(sod % 60);
	/* 1970-01-01 was a Thursday */
	tm->wday = (int)((floor_div(secs, SECS_PER_DAY) % 7 + 11) % 7);
}

static uint8_t to_reg(const struct rtc_state *st, int v)
{
	v = (v % 100 + 100) % 100;
	if (st->cmos[RTC_REG_B] & B_DM)
		return (uint8_t)v;
	return (uint8_t)(v / 10 << 4 | v % 10);
}

/* -1 when v is not a valid register value in the current mode. */
static int from_reg(const struct rtc_state *st, uint8_t v)
{
	if (st->cmos[RTC_REG_B] & B_DM)
		return v;
	if ((v >> 4) > 9 || (v & 0xf) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0xf);
}

static uint8_t hour_to_reg(const struct rtc_state *st, int h)
{
	if (st->cmos[RTC_REG_B] & B_24H)
		return to_reg(st, h);
	/* 12-hour mode: 12, 1, ..., 11 with bit 7 for PM */
	return to_reg(st, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0);
}

static int hour_from_reg(const struct rtc_state *st, uint8_t v)
{
	int h;

	if (st->cmos[RTC_REG_B] & B_24H) {
		h = from_reg(st, v);
		return h >= 0 && h < 24 ? h : -1;
	}
	h = from_reg(st, v & 0x7f);
	if (h < 1 || h > 12)
		return -1;
	return h % 12 + (v & 0x80 ? 12 : 0);
}

static void format_time(struct rtc_state *st, uint8_t *cmos, int64_t secs)
{
	struct rtc_tm tm;

	tm_from_secs(secs, &tm);
	cmos[RTC_SEC] = to_reg(st, tm.sec);
	cmos[RTC_MIN] = to_reg(st, tm.min);
	cmos[RTC_HOUR] = hour_to_reg(st, tm.hour);
	cmos[RTC_DOW] = to_reg(st, tm.wday + 1);
	cmos[RTC_DAY] = to_reg(st, tm.day);
	cmos[RTC_MONTH] = to_reg(st, tm.month);
	cmos[RTC_YEAR] = to_reg(st, (int)(tm.year % 100));
	cmos[RTC_CENTURY] = to_reg(st, (int)(tm.year / 100));
}

/* Parses the latched time bytes; false if any field is out of range. */
static bool parse_time(const struct rtc_state *st, int64_t *secs)
{
	const uint8_t *c = st->cmos;
	int sec = from_reg(st, c[RTC_SEC]), min = from_reg(st, c[RTC_MIN]);
	int hour = hour_from_reg(st, c[RTC_HOUR]), day = from_reg(st, c[RTC_DAY]);
	int month = from_reg(st, c[RTC_MONTH]), year = from_reg(st, c[RTC_YEAR]);
	int century = from_reg(st, c[RTC_CENTURY]);
	int64_t y;

	if (sec < 0 || sec > 59 || min < 0 || min > 59 || hour < 0 || year < 0 || year > 99)
		return false;
	if (century < 19 || century > 21 || month < 1 || month > 12)
		return false;
	y = century * 100 + year;
	if (day < 1 || day > month_days(y, month))
		return false;
	*secs = days_from_date(y, month, day) * SECS_PER_DAY + hour * 3600 + min * 60 + sec;
	return true;
}

static bool divider_reset(const struct rtc_state *st)
{
	return (st->cmos[RTC_REG_A] & A_DV_RESET) == A_DV_RESET;
}

/* The time registers stand still: SET held, or the divider chain in reset. */
static bool frozen(const struct rtc_state *st)
{
	return (st->cmos[RTC_REG_B] & B_SET) || divider_reset(st);
}

static bool is_time_reg(unsigned idx)
{
	switch (idx) {
	case RTC_SEC:
	case RTC_MIN:
	case RTC_HOUR:
	case RTC_DOW:
	case RTC_DAY:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return true;
	default:
		return false;
	}
}

/* RTC time in Unix ns at guest time now; wraps rather than overflows. */
static int64_t rtc_ns(const struct rtc *r, uint64_t now)
{
	return (int64_t)((uint64_t)r->epoch_ns + now + (uint64_t)r->st.offset_ns);
}

/* Periodic interrupt: 32.768 kHz divider taps selected by RS (datasheet Table 5). */
static unsigned ticks_per_period(uint8_t a)
{
	unsigned rs = a & A_RS_MASK;

	if (rs == 0)
		return 0;
	if (rs <= 2)
		return 64u << rs; /* 256 Hz and 128 Hz */
	return 1u << (rs - 1);
}

static __int128 period_index(int64_t t_ns, unsigned tpp)
{
	__int128 num = (__int128)t_ns * TIMEBASE_HZ, den = (__int128)NS_PER_SEC * tpp;

	return num / den - (num % den < 0);
}

/* Whether the alarm bytes match any second in (s0, s1]; 0xc0-0xff match anything. */
static bool alarm_in(struct rtc_state *st, int64_t s0, int64_t s1)
{
	const uint8_t *c = st->cmos;

	/* The alarm only looks at the time of day: one day covers every case. */
	if (s1 - s0 > SECS_PER_DAY)
		s1 = s0 + SECS_PER_DAY;
	for (int64_t t = s0 + 1; t <= s1; t++) {
		int64_t sod = t - floor_div(t, SECS_PER_DAY) * SECS_PER_DAY;

		if (c[RTC_SEC_ALARM] < 0xc0 && c[RTC_SEC_ALARM] != to_reg(st, (int)(sod % 60)))
			continue;
		if (c[RTC_MIN_ALARM] < 0xc0 && c[RTC_MIN_ALARM] != to_reg(st, (int)(sod / 60 % 60)))
			continue;
		if (c[RTC_HOUR_ALARM] < 0xc0 &&
		    c[RTC_HOUR_ALARM] != hour_to_reg(st, (int)(sod / 3600)))
			continue;
		return true;
	}
	return false;
}

/* IRQF = PF.PIE + AF.AIE + UF.UIE, and the IRQ line follows it. */
static void update_irq(struct rtc *r, bool force)
{
	uint8_t *c = r->st.cmos;
	int level;

	c[RTC_REG_C] &= ~C_IRQF;
	if (c[RTC_REG_C] & c[RTC_REG_B] & (C_PF | C_AF | C_UF))
		c[RTC_REG_C] |= C_IRQF;
	level = !!(c[RTC_REG_C] & C_IRQF);
	if (level != r->irq_level || force) {
		r->irq_level = level;
		irq_sink_set(r->irq, PC_IRQ_RTC, level);
	}
}

/* Sets the flags for every periodic tick, update and alarm since last_ns. */
static void advance(struct rtc *r, uint64_t now)
{
	struct rtc_state *st = &r->st;
	uint8_t *c = st->cmos;
	int64_t from, to;
	unsigned tpp;

	if (now <= st->last_ns)
		return;
	from = rtc_ns(r, st->last_ns);
	to = rtc_ns(r, now);
	st->last_ns = now;
	if (to <= from)
		return;
	tpp = ticks_per_period(c[RTC_REG_A]);
	if (!divider_reset(st) && tpp && period_index(from, tpp) != period_index(to, tpp))
		c[RTC_REG_C] |= C_PF;
	if (!frozen(st)) {
		int64_t s0 = floor_div(from, NS_PER_SEC), s1 = floor_div(to, NS_PER_SEC);

		if (s1 > s0) {
			c[RTC_REG_C] |= C_UF;
			if (alarm_in(st, s0, s1))
				c[RTC_REG_C] |= C_AF;
		}
	}
}

/* Makes the RTC read secs now, the next update phase_ns into the second. */
static void set_time(struct rtc *r, uint64_t now, int64_t secs, int64_t phase_ns)
{
	r->st.offset_ns = (int64_t)((uint64_t)secs * NS_PER_SEC + (uint64_t)phase_ns -
				    (uint64_t)r->epoch_ns - now);
}

static int64_t phase_of(int64_t t_ns)
{
	return t_ns - floor_div(t_ns, NS_PER_SEC) * NS_PER_SEC;
}

static void latch_time(struct rtc *r, uint64_t now)
{
	format_time(&r->st, r->st.cmos, floor_div(rtc_ns(r, now), NS_PER_SEC));
}

/* Starts counting from the latched bytes, if they parse. */
static void unlatch_time(struct rtc *r, uint64_t now, int64_t phase_ns)
{
	int64_t secs;

	if (parse_time(&r->st, &secs))
		set_time(r, now, secs, phase_ns);
}

static uint8_t reg_read(struct rtc *r, unsigned idx, uint64_t now)
{
	uint8_t *c = r->st.cmos, v, cur[RTC_CMOS_LEN];
	int64_t t;

	switch (idx) {
	case RTC_REG_A:
		t = rtc_ns(r, now);
		v = c[RTC_REG_A] & ~A_UIP;
		if (!frozen(&r->st) && phase_of(t) >= NS_PER_SEC - UIP_LEAD_NS)
			v |= A_UIP;
		return v;
	case RTC_REG_C:
		/* Reading C clears every flag and releases the IRQ line. */
		v = c[RTC_REG_C];
		c[RTC_REG_C] = 0;
		return v;
	case RTC_REG_D:
		return D_VRT;
	default:
		if (!is_time_reg(idx) || frozen(&r->st))
			return c[idx];
		format_time(&r->st, cur, floor_div(rtc_ns(r, now), NS_PER_SEC));
		return cur[idx];
	}
}

static void reg_write(struct rtc *r, unsigned idx, uint8_t v, uint64_t now)
{
	struct rtc_state *st = &r->st;
	uint8_t *c = st->cmos;
	bool was_frozen = frozen(st), was_reset = divider_reset(st);

	switch (idx) {
	case RTC_REG_A:
		if (!was_frozen)
			latch_time(r, now); /* in case the divider stops */
		c[RTC_REG_A] = v & ~A_UIP;
		/* Leaving divider reset: the first update comes 500 ms later. */
		if (was_reset && !frozen(st))
			unlatch_time(r, now, NS_PER_SEC / 2);
		break;
	case RTC_REG_B:
		if (!was_frozen)
			latch_time(r, now); /* in the old format, as the chip holds them */
		/* Setting SET clears UIE (datasheet, register B bit 7). */
		c[RTC_REG_B] = v & B_SET ? v & ~B_UIE : v;
		if (was_frozen && !frozen(st))
			unlatch_time(r, now, phase_of(rtc_ns(r, now)));
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	default:
		if (!is_time_reg(idx) || was_frozen) {
			c[idx] = v;
			break;
		}
		/* A running clock takes the new field and counts on from it. */
		latch_time(r, now);
		c[idx] = v;
		unlatch_time(r, now, phase_of(rtc_ns(r, now)));
		break;
	}
}

static void rtc_read(void *dev, uint64_t off, void *data, unsigned size)
{
	struct rtc *r = dev;
	uint64_t now = guest_clock_ns(r->clock);
	uint8_t *p = data;

	advance(r, now);
	/* A wide access reaches consecutive byte ports, as on the ISA bus. */
	for (unsigned i = 0; i < size; i++)
		p[i] = off + i == 1 ? reg_read(r, r->st.index, now) : 0xff; /* 0x70 is write-only */
	update_irq(r, false);
}

static void rtc_write(void *dev, uint64_t off, const void *data, unsigned size)
{
	struct rtc *r = dev;
	uint64_t now = guest_clock_ns(r->clock);
	const uint8_t *p = data;

	advance(r, now);
	for (unsigned i = 0; i < size; i++) {
		if (off + i == 0) {
			r->st.index = p[i] & 0x7f;
			r->st.nmi_masked = p[i] >> 7;
		} else if (off + i == 1) {
			reg_write(r, r->st.index, p[i], now);
		}
	}
	update_irq(r, false);
}

static void rtc_save(void *dev, void *state)
{
	struct rtc *r = dev;

	memcpy(state, &r->st, sizeof(r->st));
}

static void rtc_load(void *dev, const void *state)
{
	struct rtc *r = dev;

	memcpy(&r->st, state, sizeof(r->st));
	r->st.index &= 0x7f;
	r->st.nmi_masked = !!r->st.nmi_masked;
	update_irq(r, true);
}

static const struct bus_ops rtc_ops = {
	.read = rtc_read,
	.write = rtc_write,
	.state_size = sizeof(struct rtc_state),
	.save = rtc_save,
	.load = rtc_load,
};

static __int128 ceil_div128(__int128 a, __int128 b)
{
	return a / b + (a % b > 0);
}

uint64_t rtc_poll(struct rtc *r)
{
	uint64_t now, next = UINT64_MAX;
	const uint8_t *c = r->st.cmos;
	unsigned tpp;
	int64_t t;

	pthread_mutex_lock(&r->lock);
	now = guest_clock_ns(r->clock);
	advance(r, now);
	update_irq(r, false);
	t = rtc_ns(r, now);
	tpp = ticks_per_period(c[RTC_REG_A]);
	/* While IRQF is set the line is up; nothing new can be signalled. */
	if (c[RTC_REG_C] & C_IRQF)
		goto out;
	if ((c[RTC_REG_B] & B_PIE) && tpp && !divider_reset(&r->st)) {
		__int128 den = (__int128)tpp * NS_PER_SEC;
		__int128 edge = ceil_div128((period_index(t, tpp) + 1) * den, TIMEBASE_HZ);

		next = now + (uint64_t)(edge - t);
	}
	if ((c[RTC_REG_B] & (B_UIE | B_AIE)) && !frozen(&r->st)) {
		uint64_t d = (uint64_t)(NS_PER_SEC - phase_of(t));

		if (now + d < next)
			next = now + d;
	}
out:
	pthread_mutex_unlock(&r->lock);
	return next;
}

int rtc_create(struct bus *pio, struct irq_sink *irq, struct guest_clock *clock, struct rtc **out)
{
	struct rtc *r;
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	ret = -pthread_mutex_init(&r->lock, NULL);
	if (ret)
		goto out_free;
	r->irq = irq;
	r->clock = clock;
	if (clock) {
		r->epoch_ns = clock->epoch * NS_PER_SEC;
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		r->epoch_ns = ts.tv_sec * NS_PER_SEC + ts.tv_nsec - (int64_t)clock_host_ns();
	}
	r->st.last_ns = guest_clock_ns(clock);
	/* As firmware leaves it: 32.768 kHz time base, 1024 Hz rate, BCD, 24 hours. */
	r->st.cmos[RTC_REG_A] = 0x26;
	r->st.cmos[RTC_REG_B] = B_24H;
	ret = bus_register(pio, PC_PORT_RTC, 2, &rtc_ops, r, &r->lock);
	if (ret)
		goto out_mutex;
	*out = r;
	return 0;

out_mutex:
	pthread_mutex_destroy(&r->lock);
out_free:
	free(r);
	return ret;
}

void rtc_destroy(struct rtc *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}
