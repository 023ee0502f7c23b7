/* SPDX-License-Identifier: MIT */
/* Layouts from the Intel MultiProcessor Specification 1.4, chapter 4. */
#include "boot/mptable.h"

#include <string.h>

#include "boot/boot_priv.h"
#include "pc.h"

#define MP_FLOAT_LEN	  16
#define MP_CONFIG_HDR_LEN 44
#define MP_PROC_LEN	  20
#define MP_ENTRY_LEN	  8

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_IO_INTERRUPT, MP_LOCAL_INTERRUPT };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

#define MP_LAPIC_VERSION  0x14
#define MP_IOAPIC_VERSION 0x11 /* 82093AA */
#define MP_CPU_EN	  0x01
#define MP_CPU_BP	  0x02
/* Table 4-8 INTI flags: polarity bits 1:0, trigger bits 3:2 (01 high/edge, 11 low/level). */
#define MP_IRQ_LEVEL_HIGH 0x0d

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

static uint8_t *io_interrupt(uint8_t *e, uint8_t type, uint16_t flags, uint8_t irq, uint8_t ioapic,
			     uint8_t pin)
{
	e[0] = MP_IO_INTERRUPT;
	e[1] = type;
	boot_wr16(e + 2, flags);
	e[4] = 0; /* source bus: ISA, bus ID 0 */
	e[5] = irq;
	e[6] = ioapic;
	e[7] = pin;
	return e + MP_ENTRY_LEN;
}

static uint8_t *local_interrupt(uint8_t *e, uint8_t type, uint8_t lint)
{
	e[0] = MP_LOCAL_INTERRUPT;
	e[1] = type;
	boot_wr16(e + 2, 0);
	e[4] = 0;
	e[5] = 0;
	e[6] = 0xff; /* every local APIC */
	e[7] = lint;
	return e + MP_ENTRY_LEN;
}

size_t mptable_build(uint8_t *buf, size_t cap, uint64_t gpa, unsigned ncpus)
{
	/* ExtINT on pin 0, 15 ISA IRQs (IRQ2 is the cascade), ExtINT and NMI on LINT0/1. */
	unsigned nio = 1 + 15, nlocal = 2;
	size_t cfg_len =
		MP_CONFIG_HDR_LEN + ncpus * MP_PROC_LEN + (1 + 1 + nio + nlocal) * MP_ENTRY_LEN;
	uint8_t *fp = buf, *cfg = buf + MP_FLOAT_LEN, *e;
	uint8_t ioapic_id = (uint8_t)ncpus;

	if (cap < MP_FLOAT_LEN + cfg_len || ncpus == 0 || ncpus > 254)
		return 0;
	memset(buf, 0, MP_FLOAT_LEN + cfg_len);

	/* §4.1 floating pointer: feature bytes zero = a config table is present, virtual wire mode.
	 */
	memcpy(fp, "_MP_", 4);
	boot_wr32(fp + 4, (uint32_t)(gpa + MP_FLOAT_LEN));
	fp[8] = 1; /* length in 16-byte units */
	fp[9] = 4; /* spec revision 1.4 */

	/* §4.2 configuration table header. */
	memcpy(cfg, "PCMP", 4);
	boot_wr16(cfg + 4, (uint16_t)cfg_len);
	cfg[6] = 4;
	memcpy(cfg + 8, "COVE    ", 8);
	memcpy(cfg + 16, "COVE VM     ", 12);
	boot_wr16(cfg + 34, (uint16_t)(ncpus + 1 + 1 + nio + nlocal));
	boot_wr32(cfg + 36, (uint32_t)PC_LAPIC_BASE);

	e = cfg + MP_CONFIG_HDR_LEN;
	for (unsigned i = 0; i < ncpus; i++) {
		e[0] = MP_PROCESSOR;
		e[1] = (uint8_t)i; /* local APIC ID */
		e[2] = MP_LAPIC_VERSION;
		e[3] = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0);
		boot_wr32(e + 4, 0x600);	     /* signature: family 6 */
		boot_wr32(e + 8, 1u << 0 | 1u << 9); /* CPUID.1:EDX FPU, APIC */
		e += MP_PROC_LEN;
	}

	e[0] = MP_BUS;
	e[1] = 0;
	memcpy(e + 2, "ISA   ", 6);
	e += MP_ENTRY_LEN;

	e[0] = MP_IOAPIC;
	e[1] = ioapic_id;
	e[2] = MP_IOAPIC_VERSION;
	e[3] = 0x01; /* enabled */
	boot_wr32(e + 4, (uint32_t)PC_IOAPIC_BASE);
	e += MP_ENTRY_LEN;

	e = io_interrupt(e, MP_EXTINT, 0, 0, ioapic_id, 0);
	e = io_interrupt(e, MP_INT, 0, 0, ioapic_id, PC_GSI_TIMER);
	for (uint8_t irq = 1; irq < 16; irq++) {
		if (irq == 2)
			continue;
		e = io_interrupt(e, MP_INT, irq == PC_IRQ_SCI ? MP_IRQ_LEVEL_HIGH : 0, irq,
				 ioapic_id, irq);
	}
	e = local_interrupt(e, MP_EXTINT, 0);
	e = local_interrupt(e, MP_NMI, 1);

	cfg[7] = checksum(cfg, cfg_len);
	fp[10] = checksum(fp, MP_FLOAT_LEN);
	return MP_FLOAT_LEN + cfg_len;
}
