/* SPDX-License-Identifier: MIT */
/*
 * PC platform helpers for test guests: 8259A PIC pair, 8254 PIT, local APIC (xAPIC MMIO) and
 * IOAPIC. Datasheets: Intel 8259A, Intel 8254; SDM Vol.3 §11 (APIC); 82093AA IOAPIC.
 */
#ifndef GUEST_PC_H
#define GUEST_PC_H

#include "guest.h"

/* Remaps the PICs to vectors 0x20/0x28, masks every line and stops PIT channel 0's periodic
 * output, whatever firmware ran before. Called by the runtime before guest_main(). */
void pc_init(void);

/* Full 8259A initialisation (ICW1-ICW4), which also forgets edges latched in IRR. mask bit n
 * masks IRQ n; the cascade line (IRQ2) is opened when a slave line is. */
void pic_init(uint16_t mask);
void pic_set_mask(uint16_t mask);
void pic_eoi(unsigned irq);
uint16_t pic_read_irr(void);
uint16_t pic_read_isr(void);

#define PIT_HZ		  1193182u
#define PIT_MODE_ONESHOT  0 /* interrupt on terminal count */
#define PIT_MODE_RATE	  2 /* rate generator */
#define PIT_MODE_SQUARE	  3
/* Binary counting, low byte then high byte. */
void pit_program(unsigned ch, unsigned mode, uint16_t count);
/* Counter latch command, then the latched value. */
uint16_t pit_latch_count(unsigned ch);
/* Read-back command, status only: bit 7 OUT, bit 6 null count, bits 5-0 the control word. */
uint8_t pit_read_status(unsigned ch);
/* Port 0x61 bit 0: channel 2's GATE input (speaker data bit 1 stays off). */
void pit_ch2_gate(bool on);

#define LAPIC_BASE	 0xfee00000ul
#define LAPIC_ID	 0x020
#define LAPIC_VER	 0x030
#define LAPIC_TPR	 0x080
#define LAPIC_PPR	 0x0a0
#define LAPIC_EOI	 0x0b0
#define LAPIC_SVR	 0x0f0
#define LAPIC_ISR	 0x100
#define LAPIC_IRR	 0x200
#define LAPIC_ESR	 0x280
#define LAPIC_LVT_TIMER	 0x320
#define LAPIC_LVT_LINT0	 0x350
#define LAPIC_LVT_LINT1	 0x360
#define LAPIC_LVT_ERROR	 0x370
#define LAPIC_TIMER_ICR	 0x380
#define LAPIC_TIMER_CCR	 0x390
#define LAPIC_TIMER_DCR	 0x3e0
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_TIMER_PERIODIC (1u << 17)

static inline uint32_t lapic_read(unsigned reg)
{
	return *(volatile uint32_t *)(LAPIC_BASE + reg);
}

static inline void lapic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC_BASE + reg) = v;
}

/* Software-enables the local APIC (spurious vector 0xff) in virtual-wire mode: LINT0 = ExtINT so
 * the 8259's INTR reaches the CPU, LINT1 = NMI (MP spec §3.6.2.2). Firmware usually does this;
 * guests do not rely on it. */
void lapic_virtual_wire(void);
void lapic_eoi(void);

/* Masks every IOAPIC redirection entry so that only the 8259 delivers ISA interrupts. */
void ioapic_mask_all(void);

#endif
