// SPDX-License-Identifier: MIT
/*
 * 8259A PIC pair. References: Intel 8259A datasheet (ICW1-4, OCW1-3,
 * priority resolution, poll command, special mask and special fully nested
 * modes) and the PIIX4 datasheet for the ELCR registers.
 */
#include "devices/irqchip/pic8259.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Initialisation sequence position: which ICW the data port takes next. */
enum { PIC_READY = 0, PIC_WANT_ICW2 = 1, PIC_WANT_ICW3 = 2, PIC_WANT_ICW4 = 3 };

struct pic_chip {
	uint8_t irr, imr, isr;
	uint8_t lines;	      /* input levels as last set */
	uint8_t priority_add; /* the IR with the highest priority */
	uint8_t irq_base;     /* ICW2 T7-T3 */
	uint8_t read_isr;     /* OCW3 RIS: command-port reads give ISR */
	uint8_t poll;	      /* OCW3 P: next command-port read is a poll */
	uint8_t special_mask;
	uint8_t init_state;
	uint8_t auto_eoi;
	uint8_t rotate_on_aeoi;
	uint8_t sfnm; /* special fully nested mode (ICW4 bit 4) */
	uint8_t init4;
	uint8_t single; /* ICW1 SNGL: no ICW3, no cascade */
	uint8_t icw3;
	uint8_t elcr, elcr_mask;
};

struct pic {
	struct pic_chip c[2];
};

_Static_assert(sizeof(struct pic) <= PIC_STATE_SIZE, "PIC_STATE_SIZE too small");

/* PIIX4: IRQ0, 1, 2 (master) and 8, 13 (slave) are always edge-triggered. */
#define ELCR_MASK_MASTER 0xf8
#define ELCR_MASK_SLAVE	 0xde

int pic_create(struct pic **out)
{
	struct pic *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	pic_reset(p);
	*out = p;
	return 0;
}

void pic_destroy(struct pic *p)
{
	free(p);
}

void pic_reset(struct pic *p)
{
	memset(p, 0, sizeof(*p));
	p->c[0].elcr_mask = ELCR_MASK_MASTER;
	p->c[1].elcr_mask = ELCR_MASK_SLAVE;
}

bool pic_owns_port(uint16_t port)
{
	switch (port) {
	case PIC_PORT_MASTER:
	case PIC_PORT_MASTER + 1:
	case PIC_PORT_SLAVE:
	case PIC_PORT_SLAVE + 1:
	case PIC_PORT_ELCR:
	case PIC_PORT_ELCR + 1:
		return true;
	default:
		return false;
	}
}

/* 0 is the highest priority; rotation moves priority_add to the top. */
static unsigned prio(const struct pic_chip *c, unsigned irq)
{
	return (irq - c->priority_add) & 7;
}

/* The highest-priority IR among bits, or -1. */
static int highest(const struct pic_chip *c, uint8_t bits)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned irq = (c->priority_add + i) & 7;

		if (bits & (1u << irq))
			return (int)irq;
	}
	return -1;
}

/*
 * Priority resolution (8259A "Fully Nested Mode"): the best unmasked request
 * wins if no IR of higher or equal priority is in service. In special mask
 * mode the ISR inhibits nothing ("enables interrupts from all other levels
 * that are not masked"); in special fully nested mode a slave in service on
 * the master does not lock out further requests from that slave.
 */
static int chip_get_irq(const struct pic_chip *c, bool master)
{
	int irq, in_service;

	if (c->init_state != PIC_READY)
		return -1;
	irq = highest(c, c->irr & ~c->imr);
	if (irq < 0 || c->special_mask)
		return irq;
	in_service = highest(c, c->isr);
	if (in_service < 0 || prio(c, (unsigned)irq) < prio(c, (unsigned)in_service))
		return irq;
	if (master && c->sfnm && irq == PIC_IRQ_CASCADE && in_service == PIC_IRQ_CASCADE)
		return irq;
	return -1;
}

/*
 * The slave's INT output drives master IR2, an edge-triggered input: while
 * the slave requests, IR2 is latched in the master's IRR and stays there
 * until INTA even if the slave's request goes away, which then yields the
 * slave's spurious IR7 (IRQ15), as on a PC. Latching again whenever the
 * slave still requests after an INTA keeps auto-EOI slaves going.
 */
static void update_cascade(struct pic *p)
{
	struct pic_chip *m = &p->c[0];

	if (!m->single && chip_get_irq(&p->c[1], false) >= 0)
		m->irr |= 1u << PIC_IRQ_CASCADE;
}

static void chip_set_line(struct pic_chip *c, unsigned pin, int level)
{
	uint8_t bit = 1u << pin;

	if (level) {
		/* Edge: latch on the rising edge only (edge lockout). */
		if ((c->elcr & bit) || !(c->lines & bit))
			c->irr |= bit;
		c->lines |= bit;
	} else {
		if (c->elcr & bit)
			c->irr &= ~bit;
		c->lines &= ~bit;
	}
}

void pic_set_irq(struct pic *p, unsigned irq, int level)
{
	if (irq >= 16 || irq == PIC_IRQ_CASCADE)
		return;
	chip_set_line(&p->c[irq >> 3], irq & 7, level);
	update_cascade(p);
}

bool pic_has_interrupt(const struct pic *p)
{
	return chip_get_irq(&p->c[0], true) >= 0;
}

/* What one chip does on INTA (or a poll read) once it has chosen irq. */
static void chip_ack(struct pic_chip *c, unsigned irq)
{
	uint8_t bit = 1u << irq;

	if (c->auto_eoi) {
		if (c->rotate_on_aeoi)
			c->priority_add = (irq + 1) & 7;
	} else {
		c->isr |= bit;
	}
	if (!(c->elcr & bit))
		c->irr &= ~bit;
}

uint8_t pic_acknowledge(struct pic *p)
{
	struct pic_chip *m = &p->c[0], *s = &p->c[1];
	int irq, irq2;
	uint8_t vector;

	irq = chip_get_irq(m, true);
	if (irq < 0) {
		/* The request went away before INTA: default IR7, ISR untouched. */
		vector = m->irq_base + 7;
	} else if (irq == PIC_IRQ_CASCADE && !m->single) {
		chip_ack(m, (unsigned)irq);
		irq2 = chip_get_irq(s, false);
		if (irq2 < 0) {
			vector = s->irq_base + 7;
		} else {
			chip_ack(s, (unsigned)irq2);
			vector = s->irq_base + (uint8_t)irq2;
		}
	} else {
		chip_ack(m, (unsigned)irq);
		vector = m->irq_base + (uint8_t)irq;
	}
	update_cascade(p);
	return vector;
}

/* Poll command (OCW3 P=1): the next read is the poll word and acts as INTA. */
static uint8_t chip_poll(struct pic *p, unsigned n)
{
	struct pic_chip *c = &p->c[n];
	int irq = chip_get_irq(c, n == 0);

	c->poll = 0;
	if (irq < 0)
		return 0;
	chip_ack(c, (unsigned)irq);
	update_cascade(p);
	return 0x80 | (uint8_t)irq;
}

static void write_icw1(struct pic_chip *c, uint8_t val)
{
	/*
	 * 8259A "Initialization Command Words": edge sense reset, IMR cleared,
	 * IR7 lowest priority, special mask mode cleared, status read set to
	 * IRR, and with IC4 = 0 every ICW4 function cleared. Level requests
	 * whose line is still high stay requested.
	 */
	c->init_state = PIC_WANT_ICW2;
	c->init4 = val & 1;
	c->single = (val >> 1) & 1;
	c->imr = 0;
	c->isr = 0;
	c->irr &= c->elcr & c->lines;
	c->priority_add = 0;
	c->special_mask = 0;
	c->read_isr = 0;
	c->poll = 0;
	c->rotate_on_aeoi = 0;
	if (!c->init4) {
		c->auto_eoi = 0;
		c->sfnm = 0;
	}
}

static void write_ocw2(struct pic_chip *c, uint8_t val)
{
	unsigned level = val & 7;
	int irq;

	switch (val >> 5) {
	case 0: /* rotate in automatic EOI mode: clear */
		c->rotate_on_aeoi = 0;
		break;
	case 4: /* rotate in automatic EOI mode: set */
		c->rotate_on_aeoi = 1;
		break;
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		irq = highest(c, c->isr);
		if (irq < 0)
			break;
		c->isr &= ~(1u << irq);
		if (val >> 5 == 5)
			c->priority_add = (irq + 1) & 7;
		break;
	case 3: /* specific EOI */
		c->isr &= ~(1u << level);
		break;
	case 7: /* rotate on specific EOI */
		c->isr &= ~(1u << level);
		c->priority_add = (level + 1) & 7;
		break;
	case 6: /* set priority: level becomes the lowest */
		c->priority_add = (level + 1) & 7;
		break;
	default: /* 2: no operation */
		break;
	}
}

static void write_ocw3(struct pic_chip *c, uint8_t val)
{
	if (val & 0x04)
		c->poll = 1;
	if (val & 0x02)
		c->read_isr = val & 1;
	if (val & 0x40)
		c->special_mask = (val >> 5) & 1;
}

static void write_data(struct pic_chip *c, uint8_t val)
{
	switch (c->init_state) {
	case PIC_WANT_ICW2:
		c->irq_base = val & 0xf8;
		if (!c->single)
			c->init_state = PIC_WANT_ICW3;
		else
			c->init_state = c->init4 ? PIC_WANT_ICW4 : PIC_READY;
		break;
	case PIC_WANT_ICW3:
		c->icw3 = val;
		c->init_state = c->init4 ? PIC_WANT_ICW4 : PIC_READY;
		break;
	case PIC_WANT_ICW4:
		/* uPM, BUF and M/S do not matter to a virtual 8086-mode pair. */
		c->auto_eoi = (val >> 1) & 1;
		c->sfnm = (val >> 4) & 1;
		c->init_state = PIC_READY;
		break;
	default: /* OCW1 */
		c->imr = val;
		break;
	}
}

int pic_io_write(struct pic *p, uint16_t port, uint8_t val)
{
	struct pic_chip *c;

	if (!pic_owns_port(port))
		return -ENOENT;
	if ((port & ~1) == PIC_PORT_ELCR) {
		c = &p->c[port & 1];
		c->elcr = val & c->elcr_mask;
		/* A line now level-triggered requests exactly while it is high. */
		c->irr = (c->irr & ~c->elcr) | (c->lines & c->elcr);
		update_cascade(p);
		return 0;
	}
	c = &p->c[port == PIC_PORT_SLAVE || port == PIC_PORT_SLAVE + 1];
	if (port & 1)
		write_data(c, val);
	else if (val & 0x10)
		write_icw1(c, val);
	else if (val & 0x08)
		write_ocw3(c, val);
	else
		write_ocw2(c, val);
	update_cascade(p);
	return 0;
}

int pic_io_read(struct pic *p, uint16_t port, uint8_t *val)
{
	unsigned n;
	struct pic_chip *c;

	if (!pic_owns_port(port))
		return -ENOENT;
	if ((port & ~1) == PIC_PORT_ELCR) {
		*val = p->c[port & 1].elcr;
		return 0;
	}
	n = port == PIC_PORT_SLAVE || port == PIC_PORT_SLAVE + 1;
	c = &p->c[n];
	if (c->poll)
		*val = chip_poll(p, n);
	else if (port & 1)
		*val = c->imr;
	else
		*val = c->read_isr ? c->isr : c->irr;
	return 0;
}

int pic_get_state(const struct pic *p, unsigned chip, struct kvm_pic_state *s)
{
	const struct pic_chip *c;

	if (chip > KVM_IRQCHIP_PIC_SLAVE)
		return -EINVAL;
	c = &p->c[chip];
	memset(s, 0, sizeof(*s));
	s->last_irr = c->lines;
	s->irr = c->irr;
	s->imr = c->imr;
	s->isr = c->isr;
	s->priority_add = c->priority_add;
	s->irq_base = c->irq_base;
	s->read_reg_select = c->read_isr;
	s->poll = c->poll;
	s->special_mask = c->special_mask;
	s->init_state = c->init_state;
	s->auto_eoi = c->auto_eoi;
	s->rotate_on_auto_eoi = c->rotate_on_aeoi;
	s->special_fully_nested_mode = c->sfnm;
	s->init4 = c->init4;
	s->elcr = c->elcr;
	s->elcr_mask = c->elcr_mask;
	return 0;
}

int pic_set_state(struct pic *p, unsigned chip, const struct kvm_pic_state *s)
{
	struct pic_chip *c;

	if (chip > KVM_IRQCHIP_PIC_SLAVE)
		return -EINVAL;
	c = &p->c[chip];
	/* Snapshot files are untrusted: clamp every field to what it can be. */
	c->lines = s->last_irr;
	c->irr = s->irr;
	c->imr = s->imr;
	c->isr = s->isr;
	c->priority_add = s->priority_add & 7;
	c->irq_base = s->irq_base & 0xf8;
	c->read_isr = !!s->read_reg_select;
	c->poll = !!s->poll;
	c->special_mask = !!s->special_mask;
	c->init_state = s->init_state <= PIC_WANT_ICW4 ? s->init_state : PIC_READY;
	c->auto_eoi = !!s->auto_eoi;
	c->rotate_on_aeoi = !!s->rotate_on_auto_eoi;
	c->sfnm = !!s->special_fully_nested_mode;
	c->init4 = !!s->init4;
	c->single = 0;
	c->elcr_mask = chip == KVM_IRQCHIP_PIC_MASTER ? ELCR_MASK_MASTER : ELCR_MASK_SLAVE;
	c->elcr = s->elcr & c->elcr_mask;
	update_cascade(p);
	return 0;
}

void pic_save(void *dev, void *state)
{
	memcpy(state, dev, sizeof(struct pic));
}

void pic_load(void *dev, const void *state)
{
	memcpy(dev, state, sizeof(struct pic));
}
