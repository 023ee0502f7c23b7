/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART (NS PC16550D datasheet). Register numbers, bits and interrupt
 * rules follow the datasheet; what a VMM cannot model literally:
 * - Transmit is immediate: a THR write goes to the chardev at once, so THR and
 *   the shift register are always empty again (LSR.THRE = LSR.TEMT = 1).
 * - There is no character clock. The receive "character timeout" (four idle
 *   character times, datasheet "FIFO Interrupt Mode Operation") is deemed to
 *   have elapsed as soon as the guest can look, because host input arrives in
 *   whole bursts under the device lock: in FIFO mode, data below the trigger
 *   level is reported as a timeout interrupt.
 * - The modem inputs outside loopback read CTS, DSR and DCD asserted: the
 *   host side is always ready.
 * - INTR is not gated by MCR.OUT2 (that gate is PC board wiring, not part of
 *   the UART); a guest that never sets OUT2 still gets interrupts.
 */
#include "devices/serial8250.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chardev.h"
#include "devices/bus.h"

/* Register offsets (DLAB = LCR bit 7 selects DLL/DLM at 0/1). */
enum {
	UART_RBR = 0, /* read, DLAB=0 */
	UART_THR = 0, /* write, DLAB=0 */
	UART_DLL = 0, /* DLAB=1 */
	UART_IER = 1, /* DLAB=0 */
	UART_DLM = 1, /* DLAB=1 */
	UART_IIR = 2, /* read */
	UART_FCR = 2, /* write */
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
	UART_NREGS = 8,
};

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBI  0x02 /* THR empty */
#define IER_ELSI  0x04 /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK  0x0f /* bits 7:4 are always 0 on a 16550A */

#define IIR_NONE    0x01
#define IIR_MSI	    0x00
#define IIR_THRI    0x02
#define IIR_RDI	    0x04
#define IIR_RLSI    0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ON 0xc0 /* both bits set when FCR0 = 1 (16550A) */

#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define FCR_CLEAR_TX	0x04
#define FCR_DMA		0x08
#define FCR_TRIG_SHIFT	6
#define FCR_STORED_BITS (FCR_ENABLE | FCR_DMA | 0xc0) /* 1, 2 self-clear; 4, 5 reserved */

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f /* bits 7:5 are always 0 */

#define LSR_DR	 0x01
#define LSR_OE	 0x02
#define LSR_PE	 0x04
#define LSR_FE	 0x08
#define LSR_BI	 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERR	 (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS   0x01
#define MSR_DDSR   0x02
#define MSR_TERI   0x04
#define MSR_DDCD   0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS	   0x10
#define MSR_DSR	   0x20
#define MSR_RI	   0x40
#define MSR_DCD	   0x80

#define RX_FIFO_LEN 16

/* Guest-visible state: what save/load copy, and nothing else. */
struct serial8250_state {
	uint8_t rx[RX_FIFO_LEN]; /* ring buffer */
	uint8_t rx_head;	 /* index of the oldest byte */
	uint8_t rx_count;
	uint8_t rbr; /* last byte read, returned again when empty */
	uint8_t ier, fcr, lcr, mcr, msr, scr, dll, dlm;
	uint8_t lsr_err;   /* LSR error bits latched until LSR is read */
	uint8_t thr_ipend; /* THRE interrupt condition (before IER masking) */
};
_Static_assert(sizeof(struct serial8250_state) <= 4096, "bus checkpoint limit");

struct serial8250 {
	pthread_mutex_t lock;
	struct serial8250_state st;
	struct irq_sink *irq;
	uint32_t gsi;
	struct chardev *chr;
	int irq_level;	 /* what the line was last set to */
	bool rx_blocked; /* receive() turned input away; wake the chardev later */
};

static const uint8_t rx_trigger_levels[4] = { 1, 4, 8, 14 };

static bool fifo_on(const struct serial8250_state *st)
{
	return st->fcr & FCR_ENABLE;
}

/* Non-FIFO (16450) mode has a single receiver buffer register. */
static unsigned rx_capacity(const struct serial8250_state *st)
{
	return fifo_on(st) ? RX_FIFO_LEN : 1;
}

static uint8_t iir_id(const struct serial8250_state *st)
{
	if ((st->ier & IER_ELSI) && (st->lsr_err & LSR_ERR))
		return IIR_RLSI;
	if ((st->ier & IER_ERBFI) && st->rx_count) {
		if (!fifo_on(st))
			return IIR_RDI;
		if (st->rx_count >= rx_trigger_levels[st->fcr >> FCR_TRIG_SHIFT])
			return IIR_RDI;
		return IIR_TIMEOUT;
	}
	if ((st->ier & IER_ETBI) && st->thr_ipend)
		return IIR_THRI;
	if ((st->ier & IER_EDSSI) && (st->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NONE;
}

static void update_irq(struct serial8250 *s, bool force)
{
	int level = !(iir_id(&s->st) & IIR_NONE);

	if (level != s->irq_level || force) {
		s->irq_level = level;
		irq_sink_set(s->irq, s->gsi, level);
	}
}

/* Flow control: once the guest has emptied the FIFO, ask the host for more. */
static void rx_maybe_wakeup(struct serial8250 *s)
{
	if (!s->rx_blocked || s->st.rx_count || (s->st.mcr & MCR_LOOP))
		return;
	s->rx_blocked = false;
	if (s->chr)
		chardev_rx_wakeup(s->chr);
}

static void rx_clear(struct serial8250_state *st)
{
	st->rx_head = 0;
	st->rx_count = 0;
}

/*
 * A character arrives from the shift register. On a full FIFO it is lost
 * and OE is set; in 16450 mode it overwrites the unread RBR (datasheet, LSR
 * bit 1).
 */
static void rx_push(struct serial8250_state *st, uint8_t c)
{
	if (st->rx_count < rx_capacity(st)) {
		st->rx[(st->rx_head + st->rx_count) % RX_FIFO_LEN] = c;
		st->rx_count++;
		return;
	}
	st->lsr_err |= LSR_OE;
	if (!fifo_on(st))
		st->rx[st->rx_head] = c;
}

static uint8_t rx_pop(struct serial8250_state *st)
{
	if (st->rx_count) {
		st->rbr = st->rx[st->rx_head];
		st->rx_head = (st->rx_head + 1) % RX_FIFO_LEN;
		st->rx_count--;
	}
	return st->rbr;
}

/* Modem inputs: in loopback they are the MCR outputs (datasheet, MCR bit 4). */
static void update_msr(struct serial8250_state *st)
{
	uint8_t in, old = st->msr, d = 0;

	if (st->mcr & MCR_LOOP) {
		in = (st->mcr & MCR_RTS ? MSR_CTS : 0) | (st->mcr & MCR_DTR ? MSR_DSR : 0) |
		     (st->mcr & MCR_OUT1 ? MSR_RI : 0) | (st->mcr & MCR_OUT2 ? MSR_DCD : 0);
	} else {
		in = MSR_CTS | MSR_DSR | MSR_DCD;
	}
	if ((in ^ old) & MSR_CTS)
		d |= MSR_DCTS;
	if ((in ^ old) & MSR_DSR)
		d |= MSR_DDSR;
	if ((old & MSR_RI) && !(in & MSR_RI))
		d |= MSR_TERI; /* trailing edge only */
	if ((in ^ old) & MSR_DCD)
		d |= MSR_DDCD;
	st->msr = in | (old & MSR_DELTAS) | d;
}

static void write_fcr(struct serial8250 *s, uint8_t v)
{
	struct serial8250_state *st = &s->st;

	/* Changing FCR0 empties both FIFOs. */
	if ((v ^ st->fcr) & FCR_ENABLE)
		rx_clear(st);
	/* "FCR0 must be 1 when other FCR bits are written to or they will not be programmed." */
	if (!(v & FCR_ENABLE)) {
		st->fcr = 0;
		return;
	}
	st->fcr = v & FCR_STORED_BITS;
	if (v & FCR_CLEAR_RX)
		rx_clear(st);
	/* FCR_CLEAR_TX: the transmit FIFO is always empty here. */
}

static uint8_t reg_read(struct serial8250 *s, unsigned reg)
{
	struct serial8250_state *st = &s->st;
	uint8_t v;

	switch (reg) {
	case UART_RBR:
		if (st->lcr & LCR_DLAB)
			return st->dll;
		return rx_pop(st);
	case UART_IER:
		if (st->lcr & LCR_DLAB)
			return st->dlm;
		return st->ier;
	case UART_IIR:
		v = iir_id(st);
		/* Reading IIR clears a THRE interrupt, if that is what it reports. */
		if (v == IIR_THRI)
			st->thr_ipend = 0;
		return v | (fifo_on(st) ? IIR_FIFO_ON : 0);
	case UART_LCR:
		return st->lcr;
	case UART_MCR:
		return st->mcr;
	case UART_LSR:
		v = st->lsr_err | LSR_THRE | LSR_TEMT | (st->rx_count ? LSR_DR : 0);
		st->lsr_err = 0;
		return v;
	case UART_MSR:
		v = st->msr;
		st->msr &= ~MSR_DELTAS;
		return v;
	default:
		return st->scr;
	}
}

static void reg_write(struct serial8250 *s, unsigned reg, uint8_t v)
{
	struct serial8250_state *st = &s->st;

	switch (reg) {
	case UART_THR:
		if (st->lcr & LCR_DLAB) {
			st->dll = v;
		} else {
			if (st->mcr & MCR_LOOP)
				rx_push(st, v);
			else
				chardev_write(s->chr, &v, 1);
			/* The byte left THR at once: THR is empty again. */
			st->thr_ipend = 1;
		}
		break;
	case UART_IER:
		if (st->lcr & LCR_DLAB) {
			st->dlm = v;
			break;
		}
		v &= IER_MASK;
		/* Enabling ETBI while THR is empty raises THRE again. */
		if ((v & IER_ETBI) && !(st->ier & IER_ETBI))
			st->thr_ipend = 1;
		st->ier = v;
		break;
	case UART_FCR:
		write_fcr(s, v);
		break;
	case UART_LCR:
		st->lcr = v;
		break;
	case UART_MCR:
		st->mcr = v & MCR_MASK;
		update_msr(st);
		break;
	case UART_LSR:
	case UART_MSR:
		break; /* factory test registers: writes ignored */
	default:
		st->scr = v;
		break;
	}
}

static void serial_read(void *dev, uint64_t off, void *data, unsigned size)
{
	struct serial8250 *s = dev;
	uint8_t *p = data;

	/* A wide access reaches consecutive byte registers, as on the ISA bus. */
	for (unsigned i = 0; i < size; i++)
		p[i] = off + i < UART_NREGS ? reg_read(s, off + i) : 0xff;
	rx_maybe_wakeup(s);
	update_irq(s, false);
}

static void serial_write(void *dev, uint64_t off, const void *data, unsigned size)
{
	struct serial8250 *s = dev;
	const uint8_t *p = data;

	for (unsigned i = 0; i < size; i++)
		if (off + i < UART_NREGS)
			reg_write(s, off + i, p[i]);
	rx_maybe_wakeup(s);
	update_irq(s, false);
}

static void serial_save(void *dev, void *state)
{
	struct serial8250 *s = dev;

	memcpy(state, &s->st, sizeof(s->st));
}

static void serial_load(void *dev, const void *state)
{
	struct serial8250 *s = dev;
	struct serial8250_state *st = &s->st;

	memcpy(st, state, sizeof(*st));
	/* The state may come from a file: keep every field inside its range. */
	st->rx_head %= RX_FIFO_LEN;
	if (st->fcr & FCR_ENABLE)
		st->fcr &= FCR_STORED_BITS;
	else
		st->fcr = 0;
	if (st->rx_count > rx_capacity(st))
		st->rx_count = rx_capacity(st);
	st->ier &= IER_MASK;
	st->mcr &= MCR_MASK;
	st->lsr_err &= LSR_ERR;
	st->thr_ipend = !!st->thr_ipend;
	rx_maybe_wakeup(s);
	update_irq(s, true);
}

static const struct bus_ops serial8250_ops = {
	.read = serial_read,
	.write = serial_write,
	.state_size = sizeof(struct serial8250_state),
	.save = serial_save,
	.load = serial_load,
};

static size_t serial_rx_cb(void *opaque, const uint8_t *buf, size_t len)
{
	return serial8250_receive(opaque, buf, len);
}

size_t serial8250_receive(struct serial8250 *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	/* In loopback the serial input is cut off: hold host input back. */
	if (!(s->st.mcr & MCR_LOOP))
		for (; n < len && s->st.rx_count < rx_capacity(&s->st); n++)
			rx_push(&s->st, buf[n]);
	if (n < len)
		s->rx_blocked = true;
	update_irq(s, false);
	pthread_mutex_unlock(&s->lock);
	return n;
}

int serial8250_create(struct bus *pio, uint16_t base, struct irq_sink *irq, uint32_t gsi,
		      struct chardev *chr, struct serial8250 **out)
{
	struct serial8250 *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	ret = -pthread_mutex_init(&s->lock, NULL);
	if (ret)
		goto out_free;
	s->irq = irq;
	s->gsi = gsi;
	s->chr = chr;
	/* Reset values (datasheet Table IV); divisor 1 is 115200 baud. */
	s->st.dll = 1;
	update_msr(&s->st);
	s->st.msr &= ~MSR_DELTAS;
	ret = bus_register(pio, base, UART_NREGS, &serial8250_ops, s, &s->lock);
	if (ret)
		goto out_mutex;
	if (chr)
		chardev_set_rx(chr, serial_rx_cb, s);
	*out = s;
	return 0;

out_mutex:
	pthread_mutex_destroy(&s->lock);
out_free:
	free(s);
	return ret;
}

void serial8250_destroy(struct serial8250 *s)
{
	if (!s)
		return;
	if (s->chr)
		chardev_set_rx(s->chr, NULL, NULL);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
