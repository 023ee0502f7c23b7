/* SPDX-License-Identifier: MIT */
/*
 * The machine around the soft CPUs, as the core parts see it (soft.c owns
 * struct soft_vm; mmu.c, frame.c, run.c and platform.c use these functions).
 */
#ifndef COVE_SOFT_VM_H
#define COVE_SOFT_VM_H

#include <stdbool.h>
#include <stdint.h>

struct soft_cpu;
struct soft_vm;

/*
 * Host address of guest-physical [gpa, gpa + len) when all of it lies in one
 * RAM slot, else NULL (MMIO, a hole, or a range that straddles two slots:
 * callers split accesses at page boundaries, and slots are page aligned).
 * *writable is false for a read-only slot (KVM_MEM_READONLY: writes are MMIO).
 */
uint8_t *soft_vm_ram(struct soft_vm *vm, uint64_t gpa, uint64_t len, bool *writable);

/*
 * soft_vm_ram, and on a miss asks the VMM to map RAM there (block RAM,
 * accel_io_handler.ram_fault) and looks again. The VMM may delete other
 * slots meanwhile: a caller must not use an hva it got before this call.
 */
uint8_t *soft_vm_ram_fault(struct soft_cpu *c, uint64_t gpa, uint64_t len, bool *writable);

/*
 * An access outside RAM: the irqchip's LAPIC and IOAPIC windows, else the
 * VMM's in-line MMIO handler (accel_io_handler.mmio); unclaimed reads see all
 * ones. size is 1, 2, 4 or 8 and the access does not cross a page.
 */
void soft_vm_mmio(struct soft_cpu *c, uint64_t gpa, void *data, unsigned size, bool write);

/* Bumped whenever the slot map changes: translations cached before are stale. */
uint64_t soft_vm_mem_generation(struct soft_vm *vm);

/* Sets SOFT_EV_FLUSH on every other vCPU of c's VM. */
void soft_vm_flush_others(struct soft_cpu *c);

/*
 * The per-VM lock of locked instructions whose operand host atomics cannot
 * cover (misaligned, across a page: mem.h). Held only around a compare and
 * a copy of at most 16 bytes; nothing that can fault or wait runs under it.
 */
void soft_vm_split_lock(struct soft_vm *vm);
void soft_vm_split_unlock(struct soft_vm *vm);

/* How many vCPUs the VM was created with. */
unsigned soft_vm_ncpus(struct soft_vm *vm);

#endif
