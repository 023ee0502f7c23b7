/* SPDX-License-Identifier: MIT */
#include "cpuid.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/*
 * The baseline (SDM Vol.2A CPUID). What a guest may see, on both accelerators:
 *
 * leaf 1 EDX  FPU DE PSE TSC MSR PAE CX8 APIC SEP MTRR PGE CMOV PAT CLFSH MMX FXSR SSE SSE2
 *             (no VME: virtual-8086 extensions are not implemented by soft; no MCE/MCA)
 * leaf 1 ECX  SSE3 CX16 X2APIC POPCNT TSC-DEADLINE HYPERVISOR
 * leaf 7      nothing (no FSGSBASE, BMI, SMEP/SMAP ...: soft does not implement them yet)
 * 0x80000001  EDX SYSCALL NX PAGE1GB RDTSCP LM; ECX LAHF_LM ABM(LZCNT)
 * leaves 0, 1 (signature), 4/0xB (topology), 0x80000000, 0x80000002-4 (brand),
 * 0x80000008 (address sizes) pass through; every other leaf reads as zeros.
 * On KVM, the paravirtual leaves 0x40000000-0x400000ff (kvmclock ...) pass too:
 * soft has no paravirtual interface, which a guest detects by their absence.
 */
#define L1_EDX                                                                                   \
	((1u << 0) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) |     \
	 (1u << 9) | (1u << 11) | (1u << 12) | (1u << 13) | (1u << 15) | (1u << 16) | (1u << 19) | \
	 (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26))
#define L1_ECX	    ((1u << 0) | (1u << 13) | (1u << 21) | (1u << 23) | (1u << 24) | (1u << 31))
#define E1_EDX	    ((1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29))
#define E1_ECX	    ((1u << 0) | (1u << 5))
#define L1_ECX_HV   (1u << 31)

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned function, unsigned index)
{
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index))
			return e;
	}
	return NULL;
}

static bool leaf_passes(unsigned f)
{
	switch (f) {
	case 0:
	case 1:
	case 4:
	case 7:
	case 0xb:
	case 0x80000000:
	case 0x80000001:
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
	case 0x80000008:
		return true;
	default:
		return f >= 0x40000000 && f <= 0x400000ff;
	}
}

void cpuid_filter(struct kvm_cpuid2 *c)
{
	unsigned w = 0;

	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 e = c->entries[i];

		if (!leaf_passes(e.function))
			continue;
		switch (e.function) {
		case 0:
			if (e.eax > 0xb)
				e.eax = 0xb;
			break;
		case 1:
			e.edx &= L1_EDX;
			e.ecx = (e.ecx & L1_ECX) | L1_ECX_HV;
			break;
		case 7:
			e.eax = e.ebx = e.ecx = e.edx = 0;
			break;
		case 0x80000000:
			if (e.eax > 0x80000008)
				e.eax = 0x80000008;
			break;
		case 0x80000001:
			e.edx &= E1_EDX;
			e.ecx &= E1_ECX;
			break;
		}
		c->entries[w++] = e;
	}
	c->nent = w;
}

static void put(struct kvm_cpuid2 *c, unsigned f, unsigned idx, unsigned flags, uint32_t a,
		uint32_t b, uint32_t cx, uint32_t d)
{
	c->entries[c->nent++] = (struct kvm_cpuid_entry2){
		.function = f, .index = idx, .flags = flags, .eax = a, .ebx = b, .ecx = cx, .edx = d
	};
}

static uint32_t str4(const char *s)
{
	uint32_t v;

	memcpy(&v, s, 4);
	return v;
}

int cpuid_soft_table(struct kvm_cpuid2 *c, unsigned max_entries)
{
	static const char brand[49] = "cove soft x86-64 CPU                            ";
	const unsigned sig = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;

	if (max_entries < 14)
		return -E2BIG;
	c->nent = 0;
	/* "GenuineIntel": soft follows Intel where vendors differ (sysret, ...) */
	put(c, 0, 0, 0, 0xb, str4("Genu"), str4("ntel"), str4("ineI"));
	/* family 6, model 0x0f, stepping 1; CLFLUSH line 64 bytes */
	put(c, 1, 0, 0, 0x000006f1, 8u << 8, L1_ECX, L1_EDX);
	put(c, 4, 0, sig, 0x121, 0x01c0003f, 0x3f, 0); /* one L1 data cache level */
	put(c, 4, 1, sig, 0, 0, 0, 0);
	put(c, 7, 0, sig, 0, 0, 0, 0);
	put(c, 0xb, 0, sig, 0, 1, 0x100, 0); /* SMT level: one thread per core */
	put(c, 0xb, 1, sig, 0, 1, 0x201, 0); /* core level; EBX fixed per vCPU count */
	put(c, 0xb, 2, sig, 0, 0, 2, 0);
	put(c, 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
	put(c, 0x80000001, 0, 0, 0, 0, E1_ECX, E1_EDX);
	for (unsigned i = 0; i < 3; i++) {
		const char *p = brand + 16 * i;

		put(c, 0x80000002 + i, 0, 0, str4(p), str4(p + 4), str4(p + 8), str4(p + 12));
	}
	put(c, 0x80000008, 0, 0, 0x3028, 0, 0, 0); /* 40-bit physical, 48-bit linear */
	return 0;
}

void cpuid_set_topology(struct kvm_cpuid2 *c, unsigned index, unsigned ncpus)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 1, 0);
	unsigned shift = 0;

	while ((1u << shift) < ncpus)
		shift++;
	if (e) {
		e->ebx = (e->ebx & 0x0000ffff) | (index << 24) | ((ncpus > 1 ? ncpus : 1) << 16);
		if (ncpus > 1)
			e->edx |= 1u << 28; /* HTT: EBX[23:16] is meaningful */
	}
	for (unsigned lvl = 0; lvl < 3; lvl++) {
		e = cpuid_find(c, 0xb, lvl);
		if (!e)
			continue;
		e->edx = index;
		if (lvl == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = 0x100;
		} else if (lvl == 1) {
			e->eax = shift;
			e->ebx = ncpus;
			e->ecx = 0x201;
		} else {
			e->eax = e->ebx = 0;
			e->ecx = 2;
		}
	}
	e = cpuid_find(c, 4, 0);
	if (e) /* EAX[31:26]: cores per package - 1 */
		e->eax = (e->eax & 0x03ffffff) | ((ncpus - 1) << 26);
}
