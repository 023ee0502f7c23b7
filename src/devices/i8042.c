/* SPDX-License-Identifier: MIT */
/*
 * i8042 keyboard controller ("8042"-compatible, as described in the IBM
 * PC/AT Technical Reference, keyboard controller section). The controller
 * answers its own commands and stands in for an idle MF2 keyboard that
 * acknowledges commands but never sends a key. There is no aux port: the aux
 * interface test reports a stuck clock line and the aux loopback answers as
 * keyboard data, so drivers conclude "no mouse" at once instead of waiting
 * for a time-out.
 */
#include "devices/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "pc.h"

/* Status register (read 0x64). */
#define STS_OBF	   0x01 /* output buffer full */
#define STS_SYS	   0x04 /* system flag, mirrors command byte bit 2 */
#define STS_CMD	   0x08 /* last write went to 0x64 */
#define STS_UNLOCK 0x10 /* keyboard not inhibited by the key lock */

/* Command byte (controller RAM byte 0). */
#define CCB_KBDINT 0x01
#define CCB_SYS	   0x04
#define CCB_KBDDIS 0x10
#define CCB_AUXDIS 0x20
#define CCB_XLATE  0x40

/* Output port: bit 0 is the CPU reset line (active low), bit 1 the A20 gate. */
#define OUTP_RESET 0x01
#define OUTP_A20   0x02

#define OUTQ_LEN 8
#define RAM_LEN	 32

struct i8042_state {
	uint8_t ram[RAM_LEN]; /* ram[0] is the command byte */
	uint8_t outq[OUTQ_LEN];
	uint8_t outq_head, outq_count;
	uint8_t last_out;   /* data port read with nothing pending */
	uint8_t status_cmd; /* STS_CMD */
	uint8_t outport;
	uint8_t ctl_pending; /* controller command waiting for its data byte, or 0 */
	uint8_t kbd_pending; /* keyboard command waiting for its parameter, or 0 */
	uint8_t kbd_scanning, kbd_scanset;
};
_Static_assert(sizeof(struct i8042_state) <= 4096, "bus checkpoint limit");

struct i8042 {
	pthread_mutex_t lock;
	struct i8042_state st;
	void (*reset)(void *opaque);
	void *opaque;
	struct irq_sink *irq;
	uint32_t gsi;
	int irq_level;
};

static void outq_push(struct i8042_state *st, uint8_t v)
{
	/* The guest reads replies one by one; a full queue drops the newest. */
	if (st->outq_count == OUTQ_LEN)
		return;
	st->outq[(st->outq_head + st->outq_count) % OUTQ_LEN] = v;
	st->outq_count++;
}

static uint8_t outq_pop(struct i8042_state *st)
{
	if (st->outq_count) {
		st->last_out = st->outq[st->outq_head];
		st->outq_head = (st->outq_head + 1) % OUTQ_LEN;
		st->outq_count--;
	}
	return st->last_out;
}

static void update_irq(struct i8042 *k, bool force)
{
	int level = k->st.outq_count && (k->st.ram[0] & CCB_KBDINT);

	if (level != k->irq_level || force) {
		k->irq_level = level;
		irq_sink_set(k->irq, k->gsi, level);
	}
}

static void pulse_reset(struct i8042 *k)
{
	if (k->reset)
		k->reset(k->opaque);
}

/* A byte for the keyboard itself (PS/2 keyboard command set). */
static void kbd_write(struct i8042_state *st, uint8_t v)
{
	uint8_t cmd = st->kbd_pending;

	if (cmd) {
		st->kbd_pending = 0;
		outq_push(st, 0xfa);
		if (cmd == 0xf0) {
			if (v == 0)
				outq_push(st, st->kbd_scanset);
			else if (v <= 3)
				st->kbd_scanset = v;
		}
		return;
	}
	switch (v) {
	case 0xed: /* set LEDs */
	case 0xf0: /* get/set scan code set */
	case 0xf3: /* set typematic rate */
		st->kbd_pending = v;
		outq_push(st, 0xfa);
		break;
	case 0xee: /* echo */
		outq_push(st, 0xee);
		break;
	case 0xf2: /* identify: MF2 keyboard */
		outq_push(st, 0xfa);
		outq_push(st, 0xab);
		outq_push(st, 0x83);
		break;
	case 0xf4:
	case 0xf5:
	case 0xf6:
		st->kbd_scanning = v == 0xf4;
		outq_push(st, 0xfa);
		break;
	case 0xff: /* reset and self-test: passed */
		st->kbd_scanning = 1;
		st->kbd_scanset = 2;
		outq_push(st, 0xfa);
		outq_push(st, 0xaa);
		break;
	default:
		if (v >= 0xf7)
			outq_push(st, 0xfa);
		else
			outq_push(st, 0xfe); /* resend: not a command */
		break;
	}
}

static void data_write(struct i8042 *k, uint8_t v)
{
	struct i8042_state *st = &k->st;
	uint8_t cmd = st->ctl_pending;

	st->status_cmd = 0;
	st->ctl_pending = 0;
	if (!cmd) {
		kbd_write(st, v);
		return;
	}
	if (cmd >= 0x60 && cmd < 0x60 + RAM_LEN) {
		st->ram[cmd - 0x60] = v;
		return;
	}
	switch (cmd) {
	case 0xd1: /* write output port */
		st->outport = v;
		if (!(v & OUTP_RESET))
			pulse_reset(k);
		break;
	case 0xd2: /* write keyboard output buffer */
	case 0xd3: /* write aux output buffer: no aux port, it loops back as keyboard data */
		outq_push(st, v);
		break;
	default: /* 0xd4, write to aux device: nothing is attached */
		break;
	}
}

static void command_write(struct i8042 *k, uint8_t v)
{
	struct i8042_state *st = &k->st;

	st->status_cmd = STS_CMD;
	st->ctl_pending = 0;
	if (v >= 0x20 && v < 0x20 + RAM_LEN) {
		outq_push(st, st->ram[v - 0x20]);
		return;
	}
	if ((v >= 0x60 && v < 0x60 + RAM_LEN) || (v >= 0xd1 && v <= 0xd4)) {
		st->ctl_pending = v;
		return;
	}
	/* 0xf0-0xff pulse the output-port lines whose bit in the low nibble is 0. */
	if (v >= 0xf0) {
		if (!(v & OUTP_RESET))
			pulse_reset(k);
		return;
	}
	switch (v) {
	case 0xa7:
		st->ram[0] |= CCB_AUXDIS;
		break;
	case 0xa8:
		st->ram[0] &= ~CCB_AUXDIS;
		break;
	case 0xa9: /* aux interface test: 0x02, clock line stuck low */
		outq_push(st, 0x02);
		break;
	case 0xaa: /* controller self-test: passed */
		outq_push(st, 0x55);
		break;
	case 0xab: /* keyboard interface test: no error */
		outq_push(st, 0x00);
		break;
	case 0xad:
		st->ram[0] |= CCB_KBDDIS;
		break;
	case 0xae:
		st->ram[0] &= ~CCB_KBDDIS;
		break;
	case 0xc0: /* input port: key lock open */
		outq_push(st, 0x80);
		break;
	case 0xd0:
		outq_push(st, st->outport);
		break;
	case 0xe0: /* test inputs */
		outq_push(st, 0x00);
		break;
	default:
		break; /* unknown commands are ignored */
	}
}

static uint8_t status_read(const struct i8042_state *st)
{
	return (st->outq_count ? STS_OBF : 0) | (st->ram[0] & CCB_SYS ? STS_SYS : 0) |
	       st->status_cmd | STS_UNLOCK;
}

/* Each range is one byte long, so size is 1 and off is 0. */
static void data_port_read(void *dev, uint64_t off, void *data, unsigned size)
{
	struct i8042 *k = dev;

	(void)off;
	memset(data, 0, size);
	*(uint8_t *)data = outq_pop(&k->st);
	update_irq(k, false);
}

static void data_port_write(void *dev, uint64_t off, const void *data, unsigned size)
{
	struct i8042 *k = dev;

	(void)off;
	(void)size;
	data_write(k, *(const uint8_t *)data);
	update_irq(k, false);
}

static void cmd_port_read(void *dev, uint64_t off, void *data, unsigned size)
{
	struct i8042 *k = dev;

	(void)off;
	memset(data, 0, size);
	*(uint8_t *)data = status_read(&k->st);
}

static void cmd_port_write(void *dev, uint64_t off, const void *data, unsigned size)
{
	struct i8042 *k = dev;

	(void)off;
	(void)size;
	command_write(k, *(const uint8_t *)data);
	update_irq(k, false);
}

static void i8042_save(void *dev, void *state)
{
	struct i8042 *k = dev;

	memcpy(state, &k->st, sizeof(k->st));
}

static void i8042_load(void *dev, const void *state)
{
	struct i8042 *k = dev;

	memcpy(&k->st, state, sizeof(k->st));
	k->st.outq_head %= OUTQ_LEN;
	if (k->st.outq_count > OUTQ_LEN)
		k->st.outq_count = OUTQ_LEN;
	k->st.status_cmd &= STS_CMD;
	update_irq(k, true);
}

/* Two one-byte ranges, so 0x61 (port B) stays free for the PIT's speaker gate. */
static const struct bus_ops i8042_data_ops = {
	.read = data_port_read,
	.write = data_port_write,
	.state_size = sizeof(struct i8042_state),
	.save = i8042_save,
	.load = i8042_load,
};

static const struct bus_ops i8042_cmd_ops = {
	.read = cmd_port_read,
	.write = cmd_port_write,
	.state_size = sizeof(struct i8042_state),
	.save = i8042_save,
	.load = i8042_load,
};

int i8042_create(struct bus *pio, void (*reset)(void *opaque), void *opaque, struct i8042 **out)
{
	struct i8042 *k;
	int ret;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	ret = -pthread_mutex_init(&k->lock, NULL);
	if (ret)
		goto out_free;
	k->reset = reset;
	k->opaque = opaque;
	/* As firmware leaves it: keyboard interrupt on, POST passed, translation on. */
	k->st.ram[0] = CCB_KBDINT | CCB_SYS | CCB_XLATE | CCB_AUXDIS;
	k->st.outport = OUTP_RESET | OUTP_A20;
	k->st.kbd_scanning = 1;
	k->st.kbd_scanset = 2;
	ret = bus_register(pio, PC_PORT_I8042_DATA, 1, &i8042_data_ops, k, &k->lock);
	if (ret)
		goto out_mutex;
	ret = bus_register(pio, PC_PORT_I8042_CMD, 1, &i8042_cmd_ops, k, &k->lock);
	if (ret)
		goto out_mutex;
	*out = k;
	return 0;

out_mutex:
	pthread_mutex_destroy(&k->lock);
out_free:
	free(k);
	return ret;
}

void i8042_set_irq(struct i8042 *k, struct irq_sink *irq, uint32_t gsi)
{
	pthread_mutex_lock(&k->lock);
	k->irq = irq;
	k->gsi = gsi;
	update_irq(k, true);
	pthread_mutex_unlock(&k->lock);
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}
