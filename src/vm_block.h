/* SPDX-License-Identifier: MIT */
/*
 * Block RAM between guest_mem and the accelerator (the VMM side of
 * --memory-file), in one of block_ram.h's modes:
 * - KVM: copy-in. The RAM is one slot per region like anonymous RAM, its
 *   pages come in on userfaultfd faults, and only failures come here.
 *   Window mode cannot work there: KVM walks guest page tables itself, and
 *   a walk into a block without a slot gets the guest a #PF, no exit.
 * - soft: window. Each mapped block is its own accelerator memory slot, a
 *   released block loses its slot before it is munmapped, and soft's MMU,
 *   frame builder and walks report a touch of a block without a slot
 *   through accel_io_handler.ram_fault (vm_block_fault).
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
	unsigned first_slot; /* window mode: accelerator slots first_slot.. are the blocks' */
	bool copy_in;	     /* block_ram's copy-in mode (vm_block_can_copy_in) */
	/* copy-in could not read or write the file: stop the guest (any thread) */
	void (*failed)(void *opaque, const char *why);
	void *opaque;
};

/* 0 when copy-in mode can hold `size` bytes of RAM here, else -errno and a reason in why. */
int vm_block_can_copy_in(uint64_t size, char *why, size_t whylen);

/* Opens the file for mem; RAM regions added to mem afterwards live in it. */
int vm_block_create(const struct vm_block_params *p, struct vm_block **out, GError **err);
void vm_block_destroy(struct vm_block *b);

/* Maps gpa's block (and so its slot). 0, -ENOENT if gpa is not block RAM, or -errno. */
int vm_block_fault(struct vm_block *b, uint64_t gpa);
/* Copy-in: writes the RAM back to the file. 0, or -errno with a reason in why. */
int vm_block_sync(struct vm_block *b, char *why, size_t whylen);
/* A one-line reason for a -errno of the functions above. */
const char *vm_block_strerror(int err);
void vm_block_print_stats(struct vm_block *b, FILE *out);

#endif
