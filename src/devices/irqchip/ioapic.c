// SPDX-License-Identifier: MIT
/*
 * I/O APIC. Reference: Intel 82093AA datasheet §3 (IOREGSEL/IOWIN, ID,
 * VER, ARB, IOREDTBL) with the version-0x20 EOI register of later chipset
 * I/O APICs (e.g. Intel 6 Series chipset datasheet §13.5).
 */
#include "devices/irqchip/ioapic.h"

#include "pc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define REG_ID	0x00
#define REG_VER 0x01
#define REG_ARB 0x02
#define REG_RTE 0x10 /* 0x10 + 2 * pin: low dword, then high */

#define OFF_IOREGSEL 0x00
#define OFF_IOWIN    0x10
#define OFF_EOI	     0x40

/* Redirection entry bits (82093AA §3.2.4). */
#define RTE_VECTOR	 0xffull
#define RTE_DM_SHIFT	 8
#define RTE_DM_MASK	 (7ull << RTE_DM_SHIFT)
#define RTE_DEST_LOGICAL (1ull << 11)
#define RTE_DELIVS	 (1ull << 12)
#define RTE_POLARITY	 (1ull << 13)
#define RTE_REMOTE_IRR	 (1ull << 14)
#define RTE_LEVEL	 (1ull << 15)
#define RTE_MASKED	 (1ull << 16)
#define RTE_DEST_SHIFT	 56
/* What a guest may write: everything but delivery status and remote IRR. */
#define RTE_WRITABLE                                                                              \
	(RTE_VECTOR | RTE_DM_MASK | RTE_DEST_LOGICAL | RTE_POLARITY | RTE_LEVEL | RTE_MASKED |   \
	 (0xffull << RTE_DEST_SHIFT))

struct ioapic_regs {
	uint32_t ioregsel;
	uint32_t id; /* bits 27:24 */
	uint32_t lines; /* input levels, one bit per pin */
	uint64_t rte[IOAPIC_PINS];
};

struct ioapic {
	struct ioapic_regs r;
	struct ioapic_params p;
};

_Static_assert(sizeof(struct ioapic_regs) <= IOAPIC_STATE_SIZE, "IOAPIC_STATE_SIZE too small");
_Static_assert(IOAPIC_PINS == KVM_IOAPIC_NUM_PINS, "pin count differs from KVM's");

int ioapic_create(const struct ioapic_params *p, struct ioapic **out)
{
	struct ioapic *io;

	if (!p || !p->deliver)
		return -EINVAL;
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->p = *p;
	ioapic_reset(io);
	*out = io;
	return 0;
}

void ioapic_destroy(struct ioapic *io)
{
	free(io);
}

void ioapic_reset(struct ioapic *io)
{
	memset(&io->r, 0, sizeof(io->r));
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		io->r.rte[i] = RTE_MASKED;
}

static void send(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->r.rte[pin];
	struct apic_msg m = {
		.dest = (uint32_t)(e >> RTE_DEST_SHIFT),
		.vector = (uint8_t)(e & RTE_VECTOR),
		.delivery = (uint8_t)((e & RTE_DM_MASK) >> RTE_DM_SHIFT),
		.shorthand = APIC_SH_NONE,
		.logical = !!(e & RTE_DEST_LOGICAL),
		.level = !!(e & RTE_LEVEL),
		.assert = true,
		.source = -1,
	};

	/*
	 * Remote IRR only means something for a level-triggered entry with a
	 * vector a local APIC will EOI (82093AA §3.2.4 bit 14).
	 */
	if (m.level && (m.delivery == APIC_DM_FIXED || m.delivery == APIC_DM_LOWEST))
		io->r.rte[pin] |= RTE_REMOTE_IRR;
	else
		m.level = false;
	io->p.deliver(io->p.opaque, &m);
}

/* A level entry keeps interrupting while its line is high, one EOI at a time. */
static void service_level(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->r.rte[pin];

	if ((e & RTE_LEVEL) && !(e & (RTE_MASKED | RTE_REMOTE_IRR)) && (io->r.lines & (1u << pin)))
		send(io, pin);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, int level)
{
	uint32_t bit;
	bool was;
	uint64_t e;

	if (pin >= IOAPIC_PINS)
		return;
	bit = 1u << pin;
	was = io->r.lines & bit;
	if (level)
		io->r.lines |= bit;
	else
		io->r.lines &= ~bit;
	e = io->r.rte[pin];
	if (e & RTE_LEVEL)
		service_level(io, pin);
	else if (level && !was && !(e & RTE_MASKED))
		send(io, pin); /* an edge on a masked pin is dropped, not held */
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t e = io->r.rte[pin];

		if ((e & RTE_VECTOR) != vector || !(e & RTE_REMOTE_IRR))
			continue;
		io->r.rte[pin] &= ~RTE_REMOTE_IRR;
		service_level(io, pin);
	}
}

static uint32_t reg_read(const struct ioapic *io, uint32_t reg)
{
	unsigned pin;

	switch (reg) {
	case REG_ID:
		return io->r.id;
	case REG_VER:
		return ((IOAPIC_PINS - 1u) << 16) | IOAPIC_VERSION;
	case REG_ARB:
		return io->r.id; /* arbitration ID follows the ID */
	}
	if (reg < REG_RTE || reg >= REG_RTE + 2 * IOAPIC_PINS)
		return 0;
	pin = (reg - REG_RTE) / 2;
	if (reg & 1)
		return (uint32_t)(io->r.rte[pin] >> 32);
	return (uint32_t)io->r.rte[pin];
}

static void reg_write(struct ioapic *io, uint32_t reg, uint32_t val)
{
	unsigned pin;
	uint64_t old, e;

	if (reg == REG_ID) {
		io->r.id = val & 0x0f000000;
		return;
	}
	if (reg < REG_RTE || reg >= REG_RTE + 2 * IOAPIC_PINS)
		return; /* VER, ARB and the rest are read-only or reserved */
	pin = (reg - REG_RTE) / 2;
	old = io->r.rte[pin];
	if (reg & 1)
		e = (old & 0xffffffffull) | ((uint64_t)val << 32);
	else
		e = (old & ~0xffffffffull) | val;
	e = (old & ~RTE_WRITABLE) | (e & RTE_WRITABLE);
	/* Remote IRR is undefined for edge entries; keep it clear there. */
	if (!(e & RTE_LEVEL))
		e &= ~RTE_REMOTE_IRR;
	io->r.rte[pin] = e;
	/* Unmasking a level pin whose line is still high delivers it now. */
	service_level(io, pin);
}

void ioapic_mmio_read(struct ioapic *io, uint64_t off, void *data, unsigned size)
{
	uint32_t v = 0;
	unsigned shift;

	if (off < OFF_IOREGSEL + 4)
		v = io->r.ioregsel;
	else if (off >= OFF_IOWIN && off < OFF_IOWIN + 4)
		v = reg_read(io, io->r.ioregsel);
	shift = (unsigned)(off & 3) * 8;
	v >>= shift;
	memset(data, 0, size);
	memcpy(data, &v, size < 4 - (off & 3) ? size : 4 - (off & 3));
}

void ioapic_mmio_write(struct ioapic *io, uint64_t off, const void *data, unsigned size)
{
	uint32_t v = 0, cur, mask;
	unsigned n = size < 4 - (off & 3) ? size : 4 - (unsigned)(off & 3);
	unsigned shift = (unsigned)(off & 3) * 8;

	memcpy(&v, data, n);
	mask = n == 4 ? 0xffffffffu : ((1u << (n * 8)) - 1) << shift;
	v <<= shift;
	if (off < OFF_IOREGSEL + 4) {
		io->r.ioregsel = ((io->r.ioregsel & ~mask) | (v & mask)) & 0xff;
	} else if (off >= OFF_IOWIN && off < OFF_IOWIN + 4) {
		cur = reg_read(io, io->r.ioregsel);
		reg_write(io, io->r.ioregsel, (cur & ~mask) | (v & mask));
	} else if (off >= OFF_EOI && off < OFF_EOI + 4 && shift == 0) {
		ioapic_eoi(io, (uint8_t)v);
	}
}

void ioapic_get_state(const struct ioapic *io, struct kvm_ioapic_state *s)
{
	memset(s, 0, sizeof(*s));
	s->base_address = PC_IOAPIC_BASE;
	s->ioregsel = io->r.ioregsel;
	s->id = io->r.id >> 24;
	s->irr = io->r.lines;
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		s->redirtbl[i].bits = io->r.rte[i];
}

void ioapic_set_state(struct ioapic *io, const struct kvm_ioapic_state *s)
{
	io->r.ioregsel = s->ioregsel & 0xff;
	io->r.id = (s->id & 0xf) << 24;
	io->r.lines = s->irr & ((1u << IOAPIC_PINS) - 1);
	for (unsigned i = 0; i < IOAPIC_PINS; i++) {
		uint64_t e = s->redirtbl[i].bits & (RTE_WRITABLE | RTE_REMOTE_IRR);

		if (!(e & RTE_LEVEL))
			e &= ~RTE_REMOTE_IRR;
		io->r.rte[i] = e;
	}
	/* Held level lines that were not yet accepted interrupt again. */
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		service_level(io, i);
}

void ioapic_save(void *dev, void *state)
{
	memcpy(state, &((struct ioapic *)dev)->r, sizeof(struct ioapic_regs));
}

void ioapic_load(void *dev, const void *state)
{
	memcpy(&((struct ioapic *)dev)->r, state, sizeof(struct ioapic_regs));
}
