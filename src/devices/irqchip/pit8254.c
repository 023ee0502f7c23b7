// SPDX-License-Identifier: MIT
/*
 * 8254 PIT. Reference: Intel 8254 datasheet (control word, counter latch
 * and read-back commands, read/write operations, modes 0-5, gate) and the
 * IBM PC/AT system control port B at 0x61.
 */
#include "devices/irqchip/pit8254.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NSEC_PER_SEC 1000000000ull

/* Read/write states, in KVM's encoding (struct kvm_pit_channel_state). */
enum { RW_NONE = 0, RW_LSB = 1, RW_MSB = 2, RW_WORD0 = 3, RW_WORD1 = 4 };
#define MODE_NONE 0xff /* never programmed since reset */

struct pit_chan {
	uint32_t count; /* N: 1..65536 (binary) or 1..10000 (BCD) */
	uint16_t latched_count;
	uint8_t count_latched; /* RW_* left to read from the latch, 0 if none */
	uint8_t status_latched;
	uint8_t status;
	uint8_t read_state, write_state, write_latch;
	uint8_t rw_mode, mode, bcd, gate;
	uint8_t loaded;	  /* a count was written since the control word */
	uint8_t counting; /* decrementing since load_ns (modes 1/5: triggered) */
	uint8_t frozen;	  /* modes 0/4 with gate low: stopped at frozen_ticks */
	uint8_t null_count;
	uint64_t frozen_ticks;
	uint64_t load_ns;
	uint64_t seen_ticks; /* channel 0: edges up to this tick are reported */
};

struct pit_regs {
	struct pit_chan ch[3];
	uint8_t port61; /* bits 3:0 as written */
};

struct pit {
	struct pit_regs r;
	struct pit_params p;
};

_Static_assert(sizeof(struct pit_regs) <= PIT_STATE_SIZE, "PIT_STATE_SIZE too small");

int pit_create(const struct pit_params *p, struct pit **out)
{
	struct pit *pit;

	if (!p || !p->irq)
		return -EINVAL;
	pit = calloc(1, sizeof(*pit));
	if (!pit)
		return -ENOMEM;
	pit->p = *p;
	pit_reset(pit);
	*out = pit;
	return 0;
}

void pit_destroy(struct pit *pit)
{
	free(pit);
}

void pit_reset(struct pit *pit)
{
	memset(&pit->r, 0, sizeof(pit->r));
	for (unsigned i = 0; i < 3; i++) {
		pit->r.ch[i].mode = MODE_NONE;
		pit->r.ch[i].count = 0x10000;
		pit->r.ch[i].gate = i != 2;
	}
}

bool pit_owns_port(uint16_t port)
{
	return (port >= PIT_PORT_CH0 && port <= PIT_PORT_CONTROL) || port == PIT_PORT_SYSCTL;
}

static uint64_t now_ns(const struct pit *pit)
{
	return guest_clock_ns(pit->p.clock);
}

/* ---- time <-> ticks ---- */

static uint64_t ticks_since(uint64_t from, uint64_t now)
{
	if (now <= from)
		return 0;
	return (uint64_t)((unsigned __int128)(now - from) * PIT_HZ / NSEC_PER_SEC);
}

/* The shortest time after which ticks_since() reaches k. */
static uint64_t ns_for_ticks(uint64_t k)
{
	unsigned __int128 ns = ((unsigned __int128)k * NSEC_PER_SEC + PIT_HZ - 1) / PIT_HZ;

	return ns > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)ns;
}

static uint64_t elapsed(const struct pit_chan *c, uint64_t now)
{
	return c->frozen ? c->frozen_ticks : ticks_since(c->load_ns, now);
}

/* ---- the counter as a function of elapsed ticks d ---- */

static bool out_at(const struct pit_chan *c, uint64_t now)
{
	uint64_t d, n = c->count;

	if (c->mode == MODE_NONE)
		return false;
	if (!c->loaded)
		return c->mode != 0; /* mode 0 OUT goes low on the control word */
	if (!c->counting)
		return true; /* 1/5 not triggered yet, 2/3 held by a low gate */
	d = elapsed(c, now);
	switch (c->mode) {
	case 0:
	case 1:
		return d >= n;
	case 2: /* low for the one CLK when the count is 1 */
		return n < 2 || d % n != n - 1;
	case 3: /* high for ceil(N/2), low for floor(N/2) */
		return n < 2 || d % n < (n + 1) / 2;
	default: /* 4, 5: a one-CLK low strobe at terminal count */
		return d != n;
	}
}

static uint32_t mode3_count(uint64_t n, uint64_t d)
{
	uint64_t p = d % n, h = (n + 1) / 2;

	/* Counts down by two; an odd count first loses one (or three when low). */
	if (n % 2 == 0)
		return (uint32_t)(n - 2 * (p % (n / 2)));
	if (p < h)
		return (uint32_t)(p ? n + 1 - 2 * p : n);
	p -= h;
	return (uint32_t)(p ? n - 1 - 2 * p : n);
}

/* The counting element, 1..65536 (or 10000 in BCD). */
static uint32_t count_at(const struct pit_chan *c, uint64_t now)
{
	uint64_t d, n = c->count, m = c->bcd ? 10000 : 0x10000;

	if (!c->loaded || !c->counting || c->mode == MODE_NONE)
		return (uint32_t)n;
	d = elapsed(c, now);
	switch (c->mode) {
	case 2:
		return (uint32_t)(n - d % n);
	case 3:
		return mode3_count(n, d);
	default: /* 0, 1, 4, 5 wrap around after terminal count */
		return (uint32_t)((n + m - d % m) % m);
	}
}

/* The first rising edge of OUT after tick d, or UINT64_MAX. */
static uint64_t next_rise(const struct pit_chan *c, uint64_t d)
{
	uint64_t n = c->count;

	switch (c->mode) {
	case 0:
	case 1:
		return d < n ? n : UINT64_MAX;
	case 2:
	case 3:
		return n < 2 ? UINT64_MAX : (d / n + 1) * n;
	case 4:
	case 5:
		return d < n + 1 ? n + 1 : UINT64_MAX;
	default:
		return UINT64_MAX;
	}
}

static bool ch0_live(const struct pit_chan *c)
{
	return c->mode != MODE_NONE && c->loaded && c->counting && !c->frozen;
}

uint64_t pit_next_deadline(const struct pit *pit)
{
	const struct pit_chan *c = &pit->r.ch[0];
	uint64_t r;

	if (!ch0_live(c))
		return UINT64_MAX;
	r = next_rise(c, c->seen_ticks);
	if (r == UINT64_MAX)
		return UINT64_MAX;
	return c->load_ns + ns_for_ticks(r);
}

void pit_advance(struct pit *pit, uint64_t now)
{
	struct pit_chan *c = &pit->r.ch[0];
	uint64_t d, r;

	if (!ch0_live(c))
		return;
	d = ticks_since(c->load_ns, now);
	if (d <= c->seen_ticks)
		return;
	r = next_rise(c, c->seen_ticks);
	c->seen_ticks = d;
	if (r <= d) {
		pit->p.irq(pit->p.opaque, 1);
		pit->p.irq(pit->p.opaque, 0);
	}
}

/* ---- programming ---- */

static uint32_t from_bcd(uint32_t v)
{
	return ((v >> 12) & 0xf) * 1000 + ((v >> 8) & 0xf) * 100 + ((v >> 4) & 0xf) * 10 +
	       (v & 0xf);
}

static uint16_t to_bcd(uint32_t v)
{
	v %= 10000;
	return (uint16_t)(((v / 1000) << 12) | ((v / 100 % 10) << 8) | ((v / 10 % 10) << 4) |
			  (v % 10));
}

static uint16_t read_value(const struct pit_chan *c, uint64_t now)
{
	uint32_t v = count_at(c, now);

	return c->bcd ? to_bcd(v) : (uint16_t)v;
}

static void start(struct pit_chan *c, uint64_t now)
{
	c->counting = 1;
	c->frozen = 0;
	c->load_ns = now;
	c->seen_ticks = 0;
	c->null_count = 0;
}

/* A complete count arrived (8254 "Write Operations"). */
static void load_count(struct pit_chan *c, uint32_t raw, uint64_t now)
{
	uint32_t n = c->bcd ? from_bcd(raw) : raw;

	c->count = n ? n : (c->bcd ? 10000 : 0x10000);
	c->loaded = 1;
	c->counting = 0;
	c->frozen = 0;
	c->null_count = 1;
	switch (c->mode) {
	case 0:
	case 4:
		start(c, now);
		if (!c->gate) { /* gate low: loaded, but not decrementing */
			c->frozen = 1;
			c->frozen_ticks = 0;
		}
		break;
	case 2:
	case 3:
		if (c->gate)
			start(c, now);
		break;
	default: /* 1, 5: wait for a trigger on the gate */
		break;
	}
}

static void set_gate(struct pit_chan *c, uint8_t gate, uint64_t now)
{
	if (c->gate == gate)
		return;
	c->gate = gate;
	if (!c->loaded || c->mode == MODE_NONE)
		return;
	switch (c->mode) {
	case 0:
	case 4: /* gate low suspends counting, high resumes it */
		if (!gate && !c->frozen) {
			c->frozen_ticks = ticks_since(c->load_ns, now);
			c->frozen = 1;
		} else if (gate && c->frozen) {
			uint64_t back = ns_for_ticks(c->frozen_ticks);

			c->load_ns = now > back ? now - back : 0;
			c->frozen = 0;
		}
		break;
	case 2:
	case 3: /* low stops and forces OUT high; the rising edge reloads */
		if (gate)
			start(c, now);
		else
			c->counting = 0;
		break;
	default: /* 1, 5: a rising edge (re)triggers */
		if (gate)
			start(c, now);
		break;
	}
}

static uint8_t status_byte(const struct pit_chan *c, uint64_t now)
{
	uint8_t mode = c->mode == MODE_NONE ? 0 : c->mode;

	return (uint8_t)(out_at(c, now) << 7 | c->null_count << 6 | c->rw_mode << 4 | mode << 1 |
			 c->bcd);
}

static void latch_count(struct pit_chan *c, uint64_t now)
{
	/* A second latch before the first is read is ignored. */
	if (c->count_latched)
		return;
	c->latched_count = read_value(c, now);
	c->count_latched = c->rw_mode ? c->rw_mode : RW_WORD0;
}

static void latch_status(struct pit_chan *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status = status_byte(c, now);
	c->status_latched = 1;
}

static void write_control(struct pit *pit, uint8_t val, uint64_t now)
{
	unsigned sc = val >> 6, rw = (val >> 4) & 3, mode = (val >> 1) & 7;
	struct pit_chan *c;

	if (sc == 3) {
		/* Read-back: bit 5 clear latches counts, bit 4 clear status. */
		for (unsigned i = 0; i < 3; i++) {
			if (!(val & (2u << i)))
				continue;
			if (!(val & 0x20))
				latch_count(&pit->r.ch[i], now);
			if (!(val & 0x10))
				latch_status(&pit->r.ch[i], now);
		}
		return;
	}
	c = &pit->r.ch[sc];
	if (rw == 0) {
		latch_count(c, now);
		return;
	}
	c->rw_mode = (uint8_t)rw;
	c->read_state = c->write_state = (uint8_t)rw;
	c->mode = (uint8_t)(mode > 5 ? mode - 4 : mode); /* 6, 7 are 2, 3 */
	c->bcd = val & 1;
	c->loaded = 0;
	c->counting = 0;
	c->frozen = 0;
	c->null_count = 1;
	c->count_latched = 0;
	c->status_latched = 0;
}

static void write_counter(struct pit_chan *c, uint8_t val, uint64_t now)
{
	switch (c->write_state) {
	case RW_LSB:
		load_count(c, val, now);
		break;
	case RW_MSB:
		load_count(c, (uint32_t)val << 8, now);
		break;
	case RW_WORD0:
		c->write_latch = val;
		c->write_state = RW_WORD1;
		/* Mode 0: writing the first byte stops the count (OUT stays low). */
		if (c->mode == 0)
			c->loaded = 0;
		break;
	case RW_WORD1:
		load_count(c, c->write_latch | (uint32_t)val << 8, now);
		c->write_state = RW_WORD0;
		break;
	default: /* no control word yet */
		break;
	}
}

static uint8_t read_counter(struct pit_chan *c, uint64_t now)
{
	uint16_t v;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	switch (c->count_latched) {
	case RW_LSB:
		c->count_latched = 0;
		return c->latched_count & 0xff;
	case RW_MSB:
		c->count_latched = 0;
		return c->latched_count >> 8;
	case RW_WORD0:
		c->count_latched = RW_MSB;
		return c->latched_count & 0xff;
	}
	v = read_value(c, now);
	switch (c->read_state) {
	case RW_MSB:
		return v >> 8;
	case RW_WORD0:
		c->read_state = RW_WORD1;
		return v & 0xff;
	case RW_WORD1:
		c->read_state = RW_WORD0;
		return v >> 8;
	default:
		return v & 0xff;
	}
}

int pit_io_write(struct pit *pit, uint16_t port, uint8_t val)
{
	uint64_t now;

	if (!pit_owns_port(port))
		return -ENOENT;
	now = now_ns(pit);
	pit_advance(pit, now); /* edges before this access happened first */
	if (port == PIT_PORT_SYSCTL) {
		pit->r.port61 = val & 0x0f;
		set_gate(&pit->r.ch[2], val & 1, now);
	} else if (port == PIT_PORT_CONTROL) {
		write_control(pit, val, now);
	} else {
		write_counter(&pit->r.ch[port - PIT_PORT_CH0], val, now);
	}
	return 0;
}

int pit_io_read(struct pit *pit, uint16_t port, uint8_t *val)
{
	uint64_t now;

	if (!pit_owns_port(port))
		return -ENOENT;
	now = now_ns(pit);
	pit_advance(pit, now);
	if (port == PIT_PORT_SYSCTL) {
		/* Bit 4 toggles with each DRAM refresh request (channel 1's
		 * 15.08 us at the PC's count of 18); bit 5 is OUT2. */
		uint8_t refresh = (ticks_since(0, now) / 18) & 1;

		*val = (uint8_t)(pit->r.port61 | refresh << 4 | out_at(&pit->r.ch[2], now) << 5);
	} else if (port == PIT_PORT_CONTROL) {
		*val = 0xff; /* the control word register cannot be read */
	} else {
		*val = read_counter(&pit->r.ch[port - PIT_PORT_CH0], now);
	}
	return 0;
}

/* ---- state ---- */

void pit_get_state(struct pit *pit, struct kvm_pit_state2 *s)
{
	uint64_t now = now_ns(pit);

	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < 3; i++) {
		const struct pit_chan *c = &pit->r.ch[i];
		struct kvm_pit_channel_state *k = &s->channels[i];
		uint64_t load = c->load_ns;

		if (c->frozen) {
			uint64_t back = ns_for_ticks(c->frozen_ticks);

			load = now > back ? now - back : 0;
		}
		k->count = c->count;
		k->latched_count = c->latched_count;
		k->count_latched = c->count_latched;
		k->status_latched = c->status_latched;
		k->status = c->status;
		k->read_state = c->read_state;
		k->write_state = c->write_state;
		k->write_latch = c->write_latch;
		k->rw_mode = c->rw_mode;
		k->mode = c->mode;
		k->bcd = c->bcd;
		k->gate = c->gate;
		k->count_load_time = (int64_t)(load > INT64_MAX ? INT64_MAX : load);
	}
	if (pit->r.port61 & 2)
		s->flags |= KVM_PIT_FLAGS_SPEAKER_DATA_ON;
}

void pit_set_state(struct pit *pit, const struct kvm_pit_state2 *s)
{
	uint64_t now = now_ns(pit);

	for (unsigned i = 0; i < 3; i++) {
		struct pit_chan *c = &pit->r.ch[i];
		const struct kvm_pit_channel_state *k = &s->channels[i];

		/* Untrusted input: every field is clamped to a state we can be in. */
		memset(c, 0, sizeof(*c));
		c->mode = k->mode <= 5 ? k->mode : MODE_NONE;
		c->count = k->count && k->count <= 0x10000 ? k->count : 0x10000;
		c->bcd = k->bcd & 1;
		if (c->bcd && c->count > 10000)
			c->count = 10000;
		c->latched_count = k->latched_count;
		c->count_latched = k->count_latched <= RW_WORD0 ? k->count_latched : 0;
		c->status_latched = !!k->status_latched;
		c->status = k->status;
		c->rw_mode = k->rw_mode <= RW_WORD0 ? k->rw_mode : RW_NONE;
		c->read_state = k->read_state <= RW_WORD1 ? k->read_state : c->rw_mode;
		c->write_state = k->write_state <= RW_WORD1 ? k->write_state : c->rw_mode;
		c->write_latch = k->write_latch;
		c->gate = i == 2 ? k->gate & 1 : 1;
		c->loaded = c->mode != MODE_NONE;
		c->counting = c->loaded && (c->gate || (c->mode != 2 && c->mode != 3));
		c->frozen = c->counting && !c->gate && (c->mode == 0 || c->mode == 4);
		c->load_ns = k->count_load_time < 0 ? 0 : (uint64_t)k->count_load_time;
		if (c->load_ns > now)
			c->load_ns = now;
		if (c->frozen)
			c->frozen_ticks = ticks_since(c->load_ns, now);
		/* Edges before the snapshot were delivered there. */
		c->seen_ticks = ticks_since(c->load_ns, now);
	}
	pit->r.port61 = (uint8_t)((s->flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON ? 2 : 0) |
				  pit->r.ch[2].gate);
}

void pit_save(void *dev, void *state)
{
	memcpy(state, &((struct pit *)dev)->r, sizeof(struct pit_regs));
}

void pit_load(void *dev, const void *state)
{
	memcpy(&((struct pit *)dev)->r, state, sizeof(struct pit_regs));
}
