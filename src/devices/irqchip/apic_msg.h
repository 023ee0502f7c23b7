/* SPDX-License-Identifier: MIT */
/*
 * An interrupt message between APICs: what an IOAPIC redirection entry or a
 * local APIC's ICR sends over the (virtual) system bus. The owner of the
 * models (irqchip.c) routes each message to the local APICs it addresses.
 */
#ifndef COVE_IRQCHIP_APIC_MSG_H
#define COVE_IRQCHIP_APIC_MSG_H

#include <stdbool.h>
#include <stdint.h>

/* Delivery modes (SDM Vol.3 Figure 10-12, 82093AA §3.2.4). */
enum apic_delivery {
	APIC_DM_FIXED = 0,
	APIC_DM_LOWEST = 1,
	APIC_DM_SMI = 2,
	APIC_DM_NMI = 4,
	APIC_DM_INIT = 5,
	APIC_DM_STARTUP = 6,
	APIC_DM_EXTINT = 7,
};

/* ICR destination shorthand (SDM Vol.3 §10.6.1). */
enum apic_shorthand {
	APIC_SH_NONE = 0,
	APIC_SH_SELF = 1,
	APIC_SH_ALL = 2,
	APIC_SH_ALL_BUT_SELF = 3,
};

#define APIC_BROADCAST_XAPIC  0xffu
#define APIC_BROADCAST_X2APIC 0xffffffffu

struct apic_msg {
	uint32_t dest;	   /* APIC ID or logical destination, per logical */
	uint8_t vector;
	uint8_t delivery;  /* enum apic_delivery */
	uint8_t shorthand; /* enum apic_shorthand; always NONE from the IOAPIC */
	bool logical;	   /* destination mode */
	bool level;	   /* trigger mode: level */
	bool assert;	   /* false only for an INIT level de-assert */
	bool x2apic;	   /* dest is a 32-bit x2APIC destination */
	int source;	   /* sending CPU index, or -1 for the IOAPIC */
};

#endif
