/* SPDX-License-Identifier: MIT */
/* CPUID feature tests (SDM Vol.2A CPUID, Tables 3-8 to 3-10). */
#include "guest.h"

static uint32_t max_ext_leaf(void)
{
	return cpuid(0x80000000, 0).eax;
}

static uint32_t leaf1_edx(void)
{
	return cpuid(1, 0).edx;
}

static uint32_t ext1_edx(void)
{
	return max_ext_leaf() >= 0x80000001 ? cpuid(0x80000001, 0).edx : 0;
}

bool cpu_has_pse(void)
{
	return leaf1_edx() & (1u << 3);
}

bool cpu_has_pae(void)
{
	return leaf1_edx() & (1u << 6);
}

bool cpu_has_apic(void)
{
	return leaf1_edx() & (1u << 9);
}

bool cpu_has_sep(void)
{
	return leaf1_edx() & (1u << 11);
}

bool cpu_has_fxsr_sse(void)
{
	uint32_t d = leaf1_edx();

	return (d & (1u << 24)) && (d & (1u << 25));
}

bool cpu_has_nx(void)
{
	return ext1_edx() & (1u << 20);
}

bool cpu_has_syscall(void)
{
	return ext1_edx() & (1u << 11);
}

bool cpu_has_lm(void)
{
	return ext1_edx() & (1u << 29);
}

bool cpu_has_1g_pages(void)
{
	return ext1_edx() & (1u << 26);
}

bool on_qemu_tcg(void)
{
	static int cached = -1;
	struct cpuid_regs r;

	if (cached < 0) {
		cached = 0;
		/* "strict=1" on the command line holds QEMU TCG to the SDM too (shows its deviations). */
		if (mb_param("strict", 0))
			return 0;
		/* "tcg=1": TCG runs this vCPU without CPUID saying so (KVM on TCG's SVM, nested) */
		if (mb_param("tcg", 0))
			return (cached = 1);
		if (cpuid(1, 0).ecx & (1u << 31)) { /* hypervisor bit */
			r = cpuid(0x40000000, 0);
			cached = r.ebx == 0x54474354 && r.ecx == 0x43544743 && r.edx == 0x47435447;
		}
	}
	return cached;
}

bool tcg_quirk(bool observed)
{
	return observed && on_qemu_tcg();
}

void paging32_identity(uint32_t *pd, uint32_t (*pt)[1024], unsigned ntables, uint32_t flags)
{
	for (unsigned t = 0; t < ntables; t++) {
		for (unsigned i = 0; i < 1024; i++)
			pt[t][i] = (t * 1024 + i) * PAGE_SIZE | flags;
		pd[t] = (uint32_t)(ulong)pt[t] | flags;
	}
}
