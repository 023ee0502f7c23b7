/* SPDX-License-Identifier: MIT */
/*
 * One CPU's local APIC: the xAPIC register page at its IA32_APIC_BASE
 * (PC_LAPIC_BASE by default), the x2APIC MSRs 0x800-0x8ff, IA32_APIC_BASE
 * (0x1b) and IA32_TSC_DEADLINE (0x6e0). Version 0x14 with six LVT entries
 * (timer, thermal, performance, LINT0, LINT1, error), as KVM offers.
 *
 * The model never calls the CPU: the owner asks it what to do.
 *  - lapic_pending_vector() / lapic_acknowledge() for fixed interrupts;
 *  - lapic_pic_connected() / lapic_take_extint() for the 8259 behind LINT0
 *    (ExtINT), which the owner combines with the PIC's INTR output;
 *  - lapic_take_nmi(), lapic_take_init(), lapic_take_sipi() for the rest.
 * Every IPI the guest sends (ICR or SELF_IPI) leaves through ops->send_ipi;
 * the owner routes it, to this APIC too, with lapic_deliver(). An EOI of a
 * level-triggered vector is broadcast through ops->eoi.
 *
 * Time: the timer counts at 1 GHz / divide (a 1 ns bus cycle, as KVM's
 * does); the TSC is guest_ns * tsc_hz / 1e9 + tsc offset. Timer interrupts
 * are raised by lapic_advance(now) and by register accesses that observe
 * time (check on access), never from another thread.
 *
 * No locking: the owner serialises calls, including the callbacks.
 */
#ifndef COVE_IRQCHIP_LAPIC_H
#define COVE_IRQCHIP_LAPIC_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "devices/irqchip/apic_msg.h"

#define LAPIC_MMIO_SIZE	   0x1000
#define LAPIC_VERSION	   0x00050014u /* version 0x14, max LVT entry 5 */

#define MSR_IA32_APIC_BASE    0x1b
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_FIRST      0x800
#define MSR_X2APIC_LAST	      0x8ff

/* IA32_APIC_BASE bits (SDM Vol.3 §10.4.4, §10.12.1). */
#define APIC_BASE_BSP	 (1ull << 8)
#define APIC_BASE_EXTD	 (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)

struct lapic;

struct lapic_ops {
	/* Every IPI this APIC sends; msg->source is this CPU's index. */
	void (*send_ipi)(void *opaque, const struct apic_msg *msg);
	/* EOI of a level-triggered vector: broadcast to the I/O APIC(s). */
	void (*eoi)(void *opaque, uint8_t vector);
};

struct lapic_params {
	unsigned index;		   /* CPU index; also the initial APIC ID (< 255) */
	bool bsp;		   /* IA32_APIC_BASE.BSP, and LINT0 in virtual wire mode */
	struct guest_clock *clock; /* time for check-on-access; NULL is host time */
	uint64_t tsc_hz;	   /* guest TSC rate, for TSC-deadline mode */
	const struct lapic_ops *ops;
	void *opaque;
};

int lapic_create(const struct lapic_params *p, struct lapic **out);
void lapic_destroy(struct lapic *l);

/*
 * Power-on (power_on) or INIT reset (SDM Vol.3 §10.4.7.1, §10.4.7.3): the
 * latter keeps the APIC ID and IA32_APIC_BASE. Like KVM, the BSP's LINT0
 * comes out of reset as unmasked ExtINT (the virtual wire mode a BIOS would
 * leave), so a guest that never touches its APIC still gets PIC interrupts.
 */
void lapic_reset(struct lapic *l, bool power_on);

/* xAPIC page; off is relative to the APIC base. */
void lapic_mmio_read(struct lapic *l, uint32_t off, void *data, unsigned size);
void lapic_mmio_write(struct lapic *l, uint32_t off, const void *data, unsigned size);
/* Guest-physical base of the register page, or 0 when it is not mapped
 * (APIC disabled or in x2APIC mode). */
uint64_t lapic_mmio_base(const struct lapic *l);

/*
 * IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC MSRs. 0, -ENOENT for an
 * MSR that is not the APIC's, or -EINVAL where the CPU must raise #GP.
 */
int lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *val);
int lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val);
uint64_t lapic_get_base(const struct lapic *l);
int lapic_set_base(struct lapic *l, uint64_t val); /* -EINVAL: invalid transition */

/* TPR, for MOV CR8 (CR8 = TPR[7:4]). */
uint8_t lapic_get_tpr(const struct lapic *l);
void lapic_set_tpr(struct lapic *l, uint8_t tpr);
uint8_t lapic_get_ppr(const struct lapic *l);

/* The guest TSC is guest_ns * tsc_hz / 1e9 + offset. */
void lapic_set_tsc_offset(struct lapic *l, uint64_t offset);

/* Is this APIC hardware-enabled (IA32_APIC_BASE[11])? */
bool lapic_hw_enabled(const struct lapic *l);
bool lapic_x2apic_mode(const struct lapic *l);
uint32_t lapic_id(const struct lapic *l);
/* Does msg's destination (no shorthand) select this APIC? */
bool lapic_match_dest(const struct lapic *l, const struct apic_msg *msg);

/* A message for this APIC, already routed to it. */
void lapic_deliver(struct lapic *l, const struct apic_msg *msg);
/* A fixed interrupt; false if it was dropped (illegal vector, disabled). */
bool lapic_accept(struct lapic *l, uint8_t vector, bool trigger_level);
/* The LINT0/LINT1 pins, delivered per their LVT entries. */
void lapic_set_lint(struct lapic *l, unsigned pin, int level);

/* Highest IRR vector whose class beats the PPR, or -1. */
int lapic_pending_vector(const struct lapic *l);
/* INTA: moves that vector from IRR to ISR and returns it; the spurious
 * vector if nothing is deliverable any more, -1 if the APIC is disabled. */
int lapic_acknowledge(struct lapic *l);

/*
 * The 8259 reaches the CPU through this APIC: true when the APIC is
 * hardware-disabled (INTR is the PIC's) or LINT0 is unmasked ExtINT.
 */
bool lapic_pic_connected(const struct lapic *l);
/* An ExtINT message (from the I/O APIC) is waiting for the PIC's vector. */
bool lapic_extint_pending(const struct lapic *l);
void lapic_clear_extint(struct lapic *l);

bool lapic_nmi_pending(const struct lapic *l);
bool lapic_take_nmi(struct lapic *l);
bool lapic_init_pending(const struct lapic *l);
/* Takes a pending INIT: resets the APIC (INIT reset); an AP then waits for
 * a SIPI. True if there was one. */
bool lapic_take_init(struct lapic *l);
bool lapic_waiting_for_sipi(const struct lapic *l);
bool lapic_sipi_pending(const struct lapic *l);
/* The pending SIPI's vector (start at vector << 12), or -1. */
int lapic_take_sipi(struct lapic *l);

/* Next guest time the timer needs lapic_advance, or UINT64_MAX. */
uint64_t lapic_next_deadline(const struct lapic *l);
void lapic_advance(struct lapic *l, uint64_t now_ns);

/*
 * KVM_GET/SET_LAPIC: the 1 KiB register page, ID in bits 31:24 also in
 * x2APIC mode (KVM's format without KVM_CAP_X2APIC_API). TMCCT carries the
 * current count; set restarts the timer from it. IA32_APIC_BASE and
 * IA32_TSC_DEADLINE travel separately (sregs.apic_base, the MSR).
 */
void lapic_get_state(struct lapic *l, struct kvm_lapic_state *s);
int lapic_set_state(struct lapic *l, const struct kvm_lapic_state *s);

#endif
