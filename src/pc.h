/* SPDX-License-Identifier: MIT */
/*
 * The machine cove builds: where RAM, MMIO, ports and interrupt lines are.
 * One place, so the e820 map, the ACPI tables, the devices and the tests agree.
 */
#ifndef COVE_PC_H
#define COVE_PC_H

/* Guest-physical memory map. */
#define PC_EBDA_BASE	    0x9fc00ULL	/* reserved from here to 640K */
#define PC_LOW_RAM_END	    0xa0000ULL	/* 640K: VGA/BIOS hole follows */
#define PC_BIOS_BASE	    0xe0000ULL	/* ACPI tables live here, reserved in e820 */
#define PC_BIOS_END	    0x100000ULL
#define PC_HIGH_RAM_BASE    0x100000ULL	 /* 1M: where the kernel goes */
#define PC_MMIO_HOLE_BASE   0xc0000000ULL /* RAM below 4G stops here at the latest */
#define PC_MMIO_HOLE_END    0x100000000ULL
#define PC_RAM_ABOVE_4G	    0x100000000ULL

#define PC_VIRTIO_MMIO_BASE 0xd0000000ULL
#define PC_VIRTIO_MMIO_SIZE 0x1000ULL	/* stride between devices */
#define PC_VIRTIO_MAX	    8
#define PC_IOAPIC_BASE	    0xfec00000ULL
#define PC_LAPIC_BASE	    0xfee00000ULL

/* Port I/O. */
#define PC_PORT_PIC_MASTER  0x20
#define PC_PORT_PIT	    0x40
#define PC_PORT_I8042_DATA  0x60
#define PC_PORT_I8042_CMD   0x64
#define PC_PORT_RTC	    0x70
#define PC_PORT_PIC_SLAVE   0xa0
#define PC_PORT_DEBUG_EXIT  0xf4 /* QEMU isa-debug-exit compatible */
#define PC_PORT_COM1	    0x3f8
#define PC_PORT_ACPI_PM	    0x600 /* PM1a_EVT (4), PM1a_CNT (2), PM_TMR (4) */
#define PC_PORT_ACPI_PM1_EVT (PC_PORT_ACPI_PM + 0)
#define PC_PORT_ACPI_PM1_CNT (PC_PORT_ACPI_PM + 4)
#define PC_PORT_ACPI_PM_TMR  (PC_PORT_ACPI_PM + 8)
#define PC_ACPI_PM_LEN	     12

/* Interrupt lines (GSIs). ISA IRQ n is GSI n, except IRQ0 which is GSI 2. */
#define PC_GSI_TIMER	    2
#define PC_IRQ_COM1	    4
#define PC_IRQ_RTC	    8
#define PC_IRQ_SCI	    9
#define PC_GSI_VIRTIO_BASE  16 /* level, active high, IOAPIC only */
#define PC_IOAPIC_PINS	    24

/* ACPI sleep type cove's DSDT gives \_S5 (written to PM1a_CNT.SLP_TYP). */
#define PC_ACPI_S5_TYPE	    5

#endif
