/* SPDX-License-Identifier: MIT */
/*
 * Kernel loaders: put a bzImage (Linux 64-bit boot protocol) or a multiboot v1
 * image into guest RAM and describe the boot vCPU's register state.
 * The VMM creates the RAM regions first and, for ACPI, calls acpi_build()
 * before boot_load() so the RSDP address can be handed to the kernel.
 */
#ifndef COVE_BOOT_BOOT_H
#define COVE_BOOT_BOOT_H

#include <glib.h>
#include <linux/kvm.h>
#include <stdint.h>

#include "mmu/guest_mem.h"

/*
 * GError domain of boot_load() and acpi_build(). The code is a positive errno:
 *   ENOENT, EACCES, ... the file cannot be opened or read
 *   ENOEXEC     neither a bzImage nor a multiboot image, or a malformed one
 *   EBADMSG     a multiboot header whose checksum is wrong
 *   ENOTSUP     a format cove does not boot (protocol < 2.10, no 64-bit entry,
 *               multiboot feature flags it cannot honour)
 *   ENODATA     the file is shorter than its headers say
 *   E2BIG       the command line is longer than the kernel accepts
 *   ENOSPC      guest RAM is too small for what has to be loaded
 *   ERANGE      a segment lies outside guest RAM
 *   EADDRINUSE  a segment overlaps the boot structures or the BIOS area
 *   EINVAL      a bad acpi_config
 */
#define BOOT_ERROR boot_error_quark()
GQuark boot_error_quark(void);

struct boot_cpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

enum boot_kind { BOOT_BZIMAGE, BOOT_MULTIBOOT };

/* A Linux kernel's console is COM1 unless the user says otherwise. */
#define BOOT_DEFAULT_CMDLINE "console=ttyS0"

struct boot_request {
	const char *kernel_path;
	const char *initrd_path; /* may be NULL; for multiboot it becomes module 0 */
	const char *cmdline;	 /* NULL: BOOT_DEFAULT_CMDLINE for a bzImage, empty for multiboot */
	uint64_t rsdp_gpa;	 /* from acpi_build(), 0 if none */
};

/*
 * Loads req->kernel_path into mem; the kind is detected from the file.
 * Fills *bsp completely (every segment register's hidden part, control
 * registers, EFER, apic_base), ready for KVM_SET_REGS/KVM_SET_SREGS.
 * Returns 0, or -errno with *err set to a one-line message naming the file.
 */
int boot_load(struct guest_mem *mem, const struct boot_request *req, enum boot_kind *kind,
	      struct boot_cpu_state *bsp, GError **err);

#endif
