/* SPDX-License-Identifier: MIT */
/*
 * Firmware tables in the BIOS area [PC_BIOS_BASE, PC_BIOS_END): ACPI (RSDP,
 * RSDT, XSDT, FADT, FACS, DSDT, MADT) and an Intel MP table for guests that
 * do not read ACPI.
 */
#ifndef COVE_BOOT_ACPI_H
#define COVE_BOOT_ACPI_H

#include <glib.h>
#include <stdint.h>

#include "boot/boot.h"
#include "mmu/guest_mem.h"
#include "pc.h"

/* xAPIC IDs are 8 bits, 0xff is the broadcast ID, and the IOAPIC takes ID ncpus. */
#define ACPI_MAX_CPUS 254

/* Size of each virtio-mmio register window in the DSDT's _CRS. */
#define ACPI_VIRTIO_MMIO_LEN 0x200

struct acpi_virtio_dev {
	uint64_t base;
	uint32_t gsi;
};

struct acpi_config {
	unsigned ncpus;
	unsigned nvirtio;
	struct acpi_virtio_dev virtio[PC_VIRTIO_MAX];
};

/*
 * Writes all tables into guest RAM (which must cover the BIOS area) and sets
 * *rsdp_gpa to PC_BIOS_BASE, where the RSDP sits for Linux's scan of
 * 0xE0000-0xFFFFF. Returns 0 or -errno with *err set (domain BOOT_ERROR).
 */
int acpi_build(struct guest_mem *mem, const struct acpi_config *cfg, uint64_t *rsdp_gpa,
	       GError **err);

#endif
