/* SPDX-License-Identifier: MIT */
/*
 * The soft accelerator's in-VMM irqchip, the counterpart of KVM's
 * KVM_CREATE_IRQCHIP + KVM_CREATE_PIT2: an 8259 pair, an I/O APIC, one
 * local APIC per CPU and an 8254, wired as a PC.
 *  - GSI n < 16 drives PIC pin n and I/O APIC pin n, except GSI 0 (ISA
 *    IRQ0) which reaches I/O APIC pin 2 (the MADT's override) and GSI 2,
 *    which is I/O APIC pin 2 only (the PIC's IR2 is the cascade).
 *    GSI 16-23 are I/O APIC only. The PIT drives ISA IRQ0.
 *  - The PIC's INTR reaches a CPU through its LAPIC's LINT0 (ExtINT) or
 *    directly when that LAPIC is hardware-disabled.
 *
 * Locking: one mutex for the whole bundle; every function here takes it, so
 * any thread may raise a line while vCPU threads run. The kick callback runs
 * with that mutex held: it must only signal the vCPU (it must not call back
 * into this API).
 *
 * Time: guest time from the guest_clock given at create. Nothing here sleeps
 * or starts threads; the accelerator asks irqchip_next_deadline() and calls
 * irqchip_advance() when it has passed. Register accesses also check time.
 */
#ifndef COVE_IRQCHIP_IRQCHIP_H
#define COVE_IRQCHIP_IRQCHIP_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "devices/irqchip/pic8259.h"
#include "devices/irqchip/pit8254.h"

#define IRQCHIP_MAX_CPUS 254 /* xAPIC IDs 0..253; 0xff is the broadcast */
#define IRQCHIP_GSIS	 24

struct irqchip;

struct irqchip_params {
	unsigned ncpus;		   /* 1..IRQCHIP_MAX_CPUS; CPU 0 is the BSP */
	struct guest_clock *clock; /* NULL is host monotonic time */
	uint64_t tsc_hz;	   /* guest TSC rate, for TSC-deadline timers */
	/* A CPU gained a pending interrupt, NMI, INIT or SIPI. Lock held. */
	void (*kick)(void *opaque, unsigned cpu);
	void *opaque;
};

int irqchip_create(const struct irqchip_params *p, struct irqchip **out);
void irqchip_destroy(struct irqchip *ic);
/* Power-on reset of every chip. */
void irqchip_reset(struct irqchip *ic);

/* Raise or lower a GSI (0..23); -EINVAL for others. Any thread. */
int irqchip_set_gsi(struct irqchip *ic, uint32_t gsi, int level);

/*
 * Port I/O for PIC, ELCR, PIT and port 0x61 (size 1, 2 or 4, split into
 * bytes). -ENOENT for a port the irqchip does not own: the caller passes it
 * on to the VMM's bus.
 */
int irqchip_pio(struct irqchip *ic, unsigned cpu, uint16_t port, void *data, unsigned size,
		bool write);
/* MMIO for the I/O APIC and the accessing CPU's local APIC; -ENOENT otherwise. */
int irqchip_mmio(struct irqchip *ic, unsigned cpu, uint64_t gpa, void *data, unsigned size,
		 bool write);
/*
 * IA32_APIC_BASE, IA32_TSC_DEADLINE and x2APIC MSRs of one CPU: 0, -ENOENT
 * for MSRs that are not the APIC's, -EINVAL where the CPU raises #GP.
 */
int irqchip_msr_read(struct irqchip *ic, unsigned cpu, uint32_t msr, uint64_t *val);
int irqchip_msr_write(struct irqchip *ic, unsigned cpu, uint32_t msr, uint64_t val);
/* MOV from/to CR8: TPR[7:4]. */
uint64_t irqchip_get_cr8(struct irqchip *ic, unsigned cpu);
void irqchip_set_cr8(struct irqchip *ic, unsigned cpu, uint64_t cr8);
/* IA32_APIC_BASE as the host sets it (KVM_SET_SREGS.apic_base). */
uint64_t irqchip_get_apic_base(struct irqchip *ic, unsigned cpu);
int irqchip_set_apic_base(struct irqchip *ic, unsigned cpu, uint64_t val);
/* The CPU's IA32_TSC offset: guest TSC = guest_ns * tsc_hz / 1e9 + offset. */
void irqchip_set_tsc_offset(struct irqchip *ic, unsigned cpu, uint64_t offset);

/* Is there a maskable interrupt for this CPU to take when IF allows? */
bool irqchip_cpu_pending(struct irqchip *ic, unsigned cpu);
/* The INTA cycle: the vector to deliver (maybe a spurious one), or -1. */
int irqchip_cpu_ack(struct irqchip *ic, unsigned cpu);
bool irqchip_cpu_nmi_pending(struct irqchip *ic, unsigned cpu);
bool irqchip_cpu_take_nmi(struct irqchip *ic, unsigned cpu);
bool irqchip_cpu_init_pending(struct irqchip *ic, unsigned cpu);
/* Takes a pending INIT (resetting the LAPIC); the CPU resets its core. */
bool irqchip_cpu_take_init(struct irqchip *ic, unsigned cpu);
bool irqchip_cpu_waiting_for_sipi(struct irqchip *ic, unsigned cpu);
/* A SIPI's vector for a CPU in wait-for-SIPI (start at CS = vector << 8), or -1. */
int irqchip_cpu_take_sipi(struct irqchip *ic, unsigned cpu);

/* Earliest guest ns at which a timer needs irqchip_advance, or UINT64_MAX. */
uint64_t irqchip_next_deadline(struct irqchip *ic);
void irqchip_advance(struct irqchip *ic, uint64_t now_ns);

/* Snapshots in linux/kvm.h structs, so they move between KVM and soft. */
int irqchip_get_chip(struct irqchip *ic, struct kvm_irqchip *chip); /* chip_id in */
int irqchip_set_chip(struct irqchip *ic, const struct kvm_irqchip *chip);
void irqchip_get_pit(struct irqchip *ic, struct kvm_pit_state2 *s);
void irqchip_set_pit(struct irqchip *ic, const struct kvm_pit_state2 *s);
int irqchip_get_lapic(struct irqchip *ic, unsigned cpu, struct kvm_lapic_state *s);
int irqchip_set_lapic(struct irqchip *ic, unsigned cpu, const struct kvm_lapic_state *s);

/*
 * bus_ops-compatible save/load (dev is the irqchip) of the port-I/O chips,
 * PIC and PIT with port 0x61, for the soft CPU's pattern rollback. They
 * take the irqchip's mutex themselves.
 */
#define IRQCHIP_LEGACY_STATE_SIZE (PIC_STATE_SIZE + PIT_STATE_SIZE)
void irqchip_legacy_save(void *dev, void *state);
void irqchip_legacy_load(void *dev, const void *state);

#endif
