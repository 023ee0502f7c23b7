/* SPDX-License-Identifier: MIT */
/* PC platform helpers; see pc.h. */
#include "pc.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1
#define PIT_CH(n) (0x40 + (n))
#define PIT_CTRL  0x43
#define PORT_B	  0x61

#define IOAPIC_BASE 0xfec00000ul

void pic_set_mask(uint16_t mask)
{
	if ((mask & 0xff00) != 0xff00)
		mask &= (uint16_t)~(1u << 2);
	outb(PIC1_DATA, (uint8_t)mask);
	outb(PIC2_DATA, (uint8_t)(mask >> 8));
}

void pic_init(uint16_t mask)
{
	outb(PIC1_CMD, 0x11);	/* ICW1: edge, cascade, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, 0x20);	/* ICW2: vector base */
	outb(PIC2_DATA, 0x28);
	outb(PIC1_DATA, 0x04);	/* ICW3: slave on IR2 */
	outb(PIC2_DATA, 0x02);	/* ICW3: slave identity */
	outb(PIC1_DATA, 0x01);	/* ICW4: 8086 mode, normal EOI */
	outb(PIC2_DATA, 0x01);
	pic_set_mask(mask);
}

void pic_eoi(unsigned irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, 0x20);
	outb(PIC1_CMD, 0x20);
}

static uint16_t pic_read_reg(uint8_t ocw3)
{
	uint16_t v;

	outb(PIC1_CMD, ocw3);
	outb(PIC2_CMD, ocw3);
	v = (uint16_t)(inb(PIC1_CMD) | inb(PIC2_CMD) << 8);
	outb(PIC1_CMD, 0x0a);	/* back to reading IRR */
	outb(PIC2_CMD, 0x0a);
	return v;
}

uint16_t pic_read_irr(void)
{
	return pic_read_reg(0x0a);
}

uint16_t pic_read_isr(void)
{
	return pic_read_reg(0x0b);
}

void pit_program(unsigned ch, unsigned mode, uint16_t count)
{
	outb(PIT_CTRL, (uint8_t)((ch & 3) << 6 | 0x30 | (mode & 7) << 1));
	outb(PIT_CH(ch & 3), (uint8_t)count);
	outb(PIT_CH(ch & 3), (uint8_t)(count >> 8));
}

uint16_t pit_latch_count(unsigned ch)
{
	uint8_t lo, hi;

	outb(PIT_CTRL, (uint8_t)((ch & 3) << 6));
	lo = inb(PIT_CH(ch & 3));
	hi = inb(PIT_CH(ch & 3));
	return (uint16_t)(lo | hi << 8);
}

uint8_t pit_read_status(unsigned ch)
{
	/* Read-back: bits 7-6 = 11, COUNT# (bit 5) = 1, STATUS# (bit 4) = 0, counter select. */
	outb(PIT_CTRL, (uint8_t)(0xe0 | 2u << (ch & 3)));
	return inb(PIT_CH(ch & 3));
}

void pit_ch2_gate(bool on)
{
	uint8_t v = inb(PORT_B) & 0x0c;	/* keep the NMI enable bits, speaker data off */

	outb(PORT_B, (uint8_t)(v | (on ? 1 : 0)));
}

void lapic_virtual_wire(void)
{
	lapic_write(LAPIC_SVR, 0x1ff);
	lapic_write(LAPIC_LVT_LINT0, 0x700);	/* ExtINT */
	lapic_write(LAPIC_LVT_LINT1, 0x400);	/* NMI */
	lapic_write(LAPIC_TPR, 0);
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

static void ioapic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)IOAPIC_BASE = reg;
	*(volatile uint32_t *)(IOAPIC_BASE + 0x10) = v;
}

static uint32_t ioapic_read(unsigned reg)
{
	*(volatile uint32_t *)IOAPIC_BASE = reg;
	return *(volatile uint32_t *)(IOAPIC_BASE + 0x10);
}

void ioapic_mask_all(void)
{
	unsigned pins = ((ioapic_read(1) >> 16) & 0xff) + 1, i;

	if (pins > 240)		/* no IOAPIC answers: all-ones */
		return;
	for (i = 0; i < pins; i++) {
		ioapic_write(0x10 + 2 * i, 1u << 16);
		ioapic_write(0x11 + 2 * i, 0);
	}
}

void pc_init(void)
{
	pic_init(0xffff);
	/* Mode 0 with the shortest count: one terminal count, then OUT stays high and quiet. */
	pit_program(0, PIT_MODE_ONESHOT, 1);
}
