/* SPDX-License-Identifier: MIT */
/*
 * An 82093AA-style I/O APIC with 24 pins, at PC_IOAPIC_BASE: IOREGSEL at
 * +0x00, IOWIN at +0x10 and (version 0x20) the EOI register at +0x40.
 *
 * Lines come in as logical assertion levels (1 = asserted), as they do
 * through KVM's irq_line: the polarity bit is kept for the guest to read
 * but does not invert the input. Messages leave through the deliver
 * callback, which the owner routes to the addressed local APICs; local APIC
 * EOIs of level-triggered vectors come back through ioapic_eoi().
 *
 * No locking: the owner serialises calls, including the callback.
 */
#ifndef COVE_IRQCHIP_IOAPIC_H
#define COVE_IRQCHIP_IOAPIC_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/irqchip/apic_msg.h"

#define IOAPIC_PINS	  24
#define IOAPIC_VERSION	  0x20
#define IOAPIC_MMIO_SIZE  0x1000
#define IOAPIC_STATE_SIZE 512 /* upper bound of ioapic_save()'s buffer */

struct ioapic;

struct ioapic_params {
	/* One message for one pin; called from inside set_irq/eoi/mmio. */
	void (*deliver)(void *opaque, const struct apic_msg *msg);
	void *opaque;
};

int ioapic_create(const struct ioapic_params *p, struct ioapic **out);
void ioapic_destroy(struct ioapic *io);
/* All entries masked, ID 0, lines low. */
void ioapic_reset(struct ioapic *io);

/* off is relative to the base; size 1, 2, 4 or 8. */
void ioapic_mmio_read(struct ioapic *io, uint64_t off, void *data, unsigned size);
void ioapic_mmio_write(struct ioapic *io, uint64_t off, const void *data, unsigned size);

void ioapic_set_irq(struct ioapic *io, unsigned pin, int level);
/* A broadcast EOI for vector from a local APIC. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* KVM_GET/SET_IRQCHIP (KVM_IRQCHIP_IOAPIC) format; irr holds the line levels. */
void ioapic_get_state(const struct ioapic *io, struct kvm_ioapic_state *s);
void ioapic_set_state(struct ioapic *io, const struct kvm_ioapic_state *s);

/* bus_ops-compatible flat copies of the guest-visible state. */
void ioapic_save(void *dev, void *state);
void ioapic_load(void *dev, const void *state);

#endif
