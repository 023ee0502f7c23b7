/* SPDX-License-Identifier: MIT */
/*
 * Block RAM between guest_mem and the accelerator (the VMM side of
 * --memory-file): each mapped block is its own accelerator memory slot, a
 * released block loses its slot before it is munmapped, and a guest touch of
 * a block without a slot comes here to be mapped:
 * - soft: accel_io_handler.ram_fault, from its MMU, frame builder and walks;
 * - KVM: an MMIO exit at a RAM address (completed from the block), or an
 *   emulation failure, when KVM could not fetch the instruction or walk the
 *   guest's page tables without a slot (vm_block_emulation_failed).
 * Only vm.c includes this.
 */
#ifndef COVE_VM_BLOCK_H
#define COVE_VM_BLOCK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vcpu/accel.h"

struct guest_mem;
struct vm_block;

struct vm_block_params {
	struct guest_mem *mem; /* created, no RAM added yet */
	const struct accel_ops *ops;
	struct accel *accel;
	const char *path;
	uint64_t size, block, resident;
	unsigned first_slot; /* accelerator slots first_slot.. are the blocks' */
};

/* Opens the file for mem; RAM regions added to mem afterwards live in it. */
int vm_block_create(const struct vm_block_params *p, struct vm_block **out, GError **err);
void vm_block_destroy(struct vm_block *b);

/* Maps gpa's block (and so its slot). 0, -ENOENT if gpa is not block RAM, or -errno. */
int vm_block_fault(struct vm_block *b, uint64_t gpa);
/* An MMIO exit: 1 when gpa was block RAM and the access is done, 0 if not, or -errno. */
int vm_block_mmio(struct vm_block *b, uint64_t gpa, void *data, unsigned len, bool write);
/*
 * KVM could not emulate (e, or NULL for a tick): walks the guest's page
 * tables for rip (and its next page), cr2, the stack, the GS and FS bases,
 * mapping the blocks on the way and marking the ones with page tables to be
 * released last, and maps the block of the failed access where e names
 * it. 1 when it mapped something (run again), 0 if not.
 */
int vm_block_emulation_failed(struct vm_block *b, struct accel_vcpu *v, const struct accel_exit *e);
/* A one-line reason for a -errno of the functions above. */
const char *vm_block_strerror(int err);
void vm_block_print_stats(struct vm_block *b, FILE *out);

#endif
