/* SPDX-License-Identifier: MIT */
/*
 * What the soft CPU's instruction handlers may ask of the machine around
 * them (implemented in soft.c, which owns the irqchip models and the VMM's
 * in-line I/O handler). Handlers never include a device header.
 */
#ifndef COVE_SOFT_PLATFORM_H
#define COVE_SOFT_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

struct soft_cpu;

/* Port I/O from an in/out/ins/outs: irqchip ports, else the VMM; unclaimed reads are all ones. */
void soft_port_io(struct soft_cpu *c, uint16_t port, void *data, unsigned size, bool write);

/* Guest time-stamp counter before IA32_TSC adjustments (c->msr.tsc_offset is added by rdtsc). */
uint64_t soft_tsc(struct soft_cpu *c);
/* TSC ticks per second the guest sees (CPUID leaf 0x15/0x16 and kvmclock agree with it). */
uint64_t soft_tsc_hz(struct soft_cpu *c);

/* Local APIC: IA32_APIC_BASE, x2APIC MSRs 0x800-0x8ff, TSC_DEADLINE and CR8 (TPR[7:4]). */
bool soft_apic_msr_read(struct soft_cpu *c, uint32_t msr, uint64_t *v);
bool soft_apic_msr_write(struct soft_cpu *c, uint32_t msr, uint64_t v); /* false: #GP */
uint64_t soft_apic_get_cr8(struct soft_cpu *c);
void soft_apic_set_cr8(struct soft_cpu *c, uint64_t v);

/* A CPU finished an iret that unblocks NMIs, an sti, ...: re-check pending interrupts. */
void soft_irq_recheck(struct soft_cpu *c);

#endif
