/* SPDX-License-Identifier: MIT */
/*
 * ACPI fixed hardware for a non-reduced FADT (ACPI 6.5 §4.8): PM1a event
 * block (PM1_STS, PM1_EN), PM1a control block and the PM timer, in one
 * 12-byte range at PC_PORT_ACPI_PM. A write of SLP_EN with SLP_TYP ==
 * PC_ACPI_S5_TYPE powers the machine off. SCI_EN always reads 1: cove's FADT
 * has SMI_CMD = 0, so the machine is in ACPI mode from the start.
 */
#ifndef COVE_DEVICES_ACPI_PM_H
#define COVE_DEVICES_ACPI_PM_H

#include <stdint.h>

struct bus;
struct guest_clock;
struct irq_sink;
struct acpi_pm;

/*
 * poweroff(opaque) runs on the vCPU thread with the device lock held; it must
 * not access this device. clock NULL means host monotonic time.
 */
int acpi_pm_create(struct bus *pio, struct guest_clock *clock, void (*poweroff)(void *opaque),
		   void *opaque, struct acpi_pm **out);
void acpi_pm_destroy(struct acpi_pm *p);

/* Optional: drive the SCI (FADT SCI_INT, level) from PM1_STS & PM1_EN. */
void acpi_pm_set_irq(struct acpi_pm *p, struct irq_sink *irq, uint32_t gsi);

/* The power button was pressed (sets PWRBTN_STS), e.g. for "virsh shutdown". Any thread. */
void acpi_pm_power_button(struct acpi_pm *p);

#endif
