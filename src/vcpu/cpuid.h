/* SPDX-License-Identifier: MIT */
/*
 * The CPUID baseline: the features cove offers a guest on either accelerator
 * (the list and the reasons are in cpuid.c). kvm.c filters what KVM supports
 * down to it; the soft CPU offers exactly it.
 */
#ifndef COVE_VCPU_CPUID_H
#define COVE_VCPU_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>

/* Masks c (from KVM_GET_SUPPORTED_CPUID) to the baseline, in place. */
void cpuid_filter(struct kvm_cpuid2 *c);
/* Fills c with the soft CPU's table; returns 0 or -E2BIG. */
int cpuid_soft_table(struct kvm_cpuid2 *c, unsigned max_entries);
/* Per-vCPU fields: APIC IDs in leaves 1 and 0xB, logical processor counts. */
void cpuid_set_topology(struct kvm_cpuid2 *c, unsigned index, unsigned ncpus);
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned function, unsigned index);

#endif
