// SPDX-License-Identifier: MIT
/*
 * Model-specific registers: rdmsr/wrmsr (SDM Vol.2) over the MSRs the soft
 * CPU offers (SDM Vol.4 "Architectural MSRs"): EFER and the SYSCALL/SYSENTER
 * and segment-base MSRs, the TSC and TSC_AUX, PAT and the MTRRs (plain
 * stores: the soft CPU does not model memory types), MISC_ENABLE and a few
 * read-only identification MSRs. The local APIC's MSRs go to platform.h.
 * Everything else is #GP(0), as on a CPU that lacks it.
 */
#include "mmu.h"
#include "sys_priv.h"

enum {
	MSR_TSC = 0x10,
	MSR_APIC_BASE = 0x1b,
	MSR_FEATURE_CONTROL = 0x3a,
	MSR_BIOS_SIGN_ID = 0x8b,
	MSR_PLATFORM_INFO = 0xce,
	MSR_MTRRCAP = 0xfe,
	MSR_SYSENTER_CS = 0x174,
	MSR_SYSENTER_ESP = 0x175,
	MSR_SYSENTER_EIP = 0x176,
	MSR_MCG_CAP = 0x179,
	MSR_MCG_STATUS = 0x17a,
	MSR_MISC_ENABLE = 0x1a0,
	MSR_DEBUGCTL = 0x1d9,
	MSR_MTRR_PHYS_BASE0 = 0x200,
	MSR_MTRR_FIX64K = 0x250,
	MSR_MTRR_FIX16K_80000 = 0x258,
	MSR_MTRR_FIX16K_A0000 = 0x259,
	MSR_MTRR_FIX4K_C0000 = 0x268, /* ..0x26f */
	MSR_PAT = 0x277,
	MSR_MTRR_DEF_TYPE = 0x2ff,
	MSR_TSC_DEADLINE = 0x6e0,
	MSR_X2APIC_FIRST = 0x800,
	MSR_X2APIC_LAST = 0x8ff,
	MSR_EFER = 0xc0000080,
	MSR_STAR = 0xc0000081,
	MSR_LSTAR = 0xc0000082,
	MSR_CSTAR = 0xc0000083,
	MSR_SFMASK = 0xc0000084,
	MSR_FS_BASE = 0xc0000100,
	MSR_GS_BASE = 0xc0000101,
	MSR_KERNEL_GS_BASE = 0xc0000102,
	MSR_TSC_AUX = 0xc0000103,
};

#define MTRR_VAR_PAIRS 8
/* MTRRcap: 8 variable ranges, fixed ranges, write-combining (SDM Vol.3 §12.11.2.1). */
#define MTRRCAP_VALUE ((1u << 10) | (1u << 8) | MTRR_VAR_PAIRS)
#define PAT_RESET     0x0007040600070406ull
/* MISC_ENABLE: fast strings; BTS and PEBS unavailable (SDM Vol.4 Table 2-2). */
#define MISC_ENABLE_RESET ((1ull << 0) | (1ull << 11) | (1ull << 12))

void soft_sys_reset(struct soft_cpu *c)
{
	struct soft_msrs *m = &c->msr;

	m->pat = PAT_RESET;
	m->misc_enable = MISC_ENABLE_RESET;
	m->mtrr_def_type = 0;
	for (unsigned n = 0; n < 11; n++)
		m->mtrr_fixed[n] = 0;
	for (unsigned n = 0; n < 16; n++)
		m->mtrr_var[n] = 0;
	c->dr[6] = 0xffff0ff0;
	c->dr[7] = 0x400;
	soft_dbg_update(c);
	soft_seg_flush(c);
	soft_excp_reset(c);
}

/* Memory types valid in PAT entries and MTRRs (SDM Vol.3 Table 12-8, 12-10). */
static bool mtype_ok(unsigned t, bool pat)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || (pat && t == 7);
}

static int mtrr_fixed_index(uint32_t idx)
{
	if (idx == MSR_MTRR_FIX64K)
		return 0;
	if (idx == MSR_MTRR_FIX16K_80000)
		return 1;
	if (idx == MSR_MTRR_FIX16K_A0000)
		return 2;
	if (idx >= MSR_MTRR_FIX4K_C0000 && idx <= MSR_MTRR_FIX4K_C0000 + 7)
		return 3 + (int)(idx - MSR_MTRR_FIX4K_C0000);
	return -1;
}

static uint64_t phys_mask(struct soft_cpu *c)
{
	uint32_t out[4];
	unsigned bits = 36;

	if (c->cpuid && soft_cpuid_value(c, 0x80000008, 0, out) == 0x80000008 &&
	    (out[0] & 0xff) >= 32 && (out[0] & 0xff) <= 52)
		bits = out[0] & 0xff;
	return (1ull << bits) - 1;
}

bool soft_msr_get(struct soft_cpu *c, uint32_t idx, uint64_t *v)
{
	struct soft_msrs *m = &c->msr;
	int fx;

	switch (idx) {
	case MSR_TSC:
		*v = soft_tsc(c) + m->tsc_offset;
		return true;
	case MSR_FEATURE_CONTROL:
		*v = 1; /* locked, VMX and SMX off */
		return true;
	case MSR_BIOS_SIGN_ID:
		*v = 0; /* no microcode loaded */
		return true;
	case MSR_PLATFORM_INFO:
		/* Maximum non-turbo ratio in 100 MHz units (SDM Vol.4, MSR_PLATFORM_INFO[15:8]). */
		*v = ((soft_tsc_hz(c) / 100000000) & 0xff) << 8;
		return true;
	case MSR_MTRRCAP:
		*v = MTRRCAP_VALUE;
		return true;
	case MSR_SYSENTER_CS:
		*v = m->sysenter_cs;
		return true;
	case MSR_SYSENTER_ESP:
		*v = m->sysenter_esp;
		return true;
	case MSR_SYSENTER_EIP:
		*v = m->sysenter_eip;
		return true;
	case MSR_MCG_CAP:
	case MSR_MCG_STATUS:
	case MSR_DEBUGCTL:
		*v = 0; /* no machine-check banks, no branch tracing */
		return true;
	case MSR_MISC_ENABLE:
		*v = m->misc_enable;
		return true;
	case MSR_PAT:
		*v = m->pat;
		return true;
	case MSR_MTRR_DEF_TYPE:
		*v = m->mtrr_def_type;
		return true;
	case MSR_EFER:
		*v = c->efer;
		return true;
	case MSR_STAR:
		*v = m->star;
		return true;
	case MSR_LSTAR:
		*v = m->lstar;
		return true;
	case MSR_CSTAR:
		*v = m->cstar;
		return true;
	case MSR_SFMASK:
		*v = m->sfmask;
		return true;
	case MSR_FS_BASE:
		*v = c->seg[S_FS].base;
		return true;
	case MSR_GS_BASE:
		*v = c->seg[S_GS].base;
		return true;
	case MSR_KERNEL_GS_BASE:
		*v = m->kernel_gs_base;
		return true;
	case MSR_TSC_AUX:
		*v = m->tsc_aux;
		return true;
	}
	if (idx >= MSR_MTRR_PHYS_BASE0 && idx < MSR_MTRR_PHYS_BASE0 + 2 * MTRR_VAR_PAIRS) {
		*v = m->mtrr_var[idx - MSR_MTRR_PHYS_BASE0];
		return true;
	}
	if ((fx = mtrr_fixed_index(idx)) >= 0) {
		*v = m->mtrr_fixed[fx];
		return true;
	}
	if (idx == MSR_APIC_BASE || idx == MSR_TSC_DEADLINE ||
	    (idx >= MSR_X2APIC_FIRST && idx <= MSR_X2APIC_LAST))
		return soft_apic_msr_read(c, idx, v);
	return false;
}

static bool set_efer(struct soft_cpu *c, uint64_t v, bool host)
{
	uint64_t ok = 0;

	if (soft_cpuid_has(c, 0x80000001, 3, 11))
		ok |= X86_EFER_SCE;
	if (soft_cpuid_has(c, 0x80000001, 3, 29))
		ok |= X86_EFER_LME | X86_EFER_LMA;
	if (soft_cpuid_has(c, 0x80000001, 3, 20))
		ok |= X86_EFER_NXE;
	if (v & ~ok)
		return false;
	if (!host) {
		/* LMA is the CPU's to set; LME cannot change while paging is on (SDM Vol.3 §9.8.5). */
		v = (v & ~X86_EFER_LMA) | (c->efer & X86_EFER_LMA);
		if ((c->cr0 & X86_CR0_PG) && ((v ^ c->efer) & X86_EFER_LME))
			return false;
	}
	uint64_t old = c->efer;
	c->efer = v;
	if ((old ^ v) & (X86_EFER_NXE | X86_EFER_LMA))
		soft_mmu_flush(c, true);
	if ((old ^ v) & X86_EFER_LMA) {
		soft_seg_flush(c);
		soft_mode_changed(c);
	}
	return true;
}

bool soft_msr_set(struct soft_cpu *c, uint32_t idx, uint64_t v, bool host)
{
	struct soft_msrs *m = &c->msr;
	int fx;

	switch (idx) {
	case MSR_TSC:
		m->tsc_offset = v - soft_tsc(c);
		return true;
	case MSR_BIOS_SIGN_ID:
		return true; /* the microcode-revision probe writes 0 first */
	case MSR_SYSENTER_CS:
		m->sysenter_cs = v & 0xffffffff;
		return true;
	case MSR_SYSENTER_ESP:
	case MSR_SYSENTER_EIP:
		if (!soft_canonical(v))
			return false;
		if (idx == MSR_SYSENTER_ESP)
			m->sysenter_esp = v;
		else
			m->sysenter_eip = v;
		return true;
	case MSR_MCG_STATUS:
	case MSR_DEBUGCTL:
		return v == 0;
	case MSR_MISC_ENABLE:
		m->misc_enable = v;
		return true;
	case MSR_PAT:
		for (unsigned n = 0; n < 8; n++)
			if (((v >> (n * 8)) & 0xf8) || !mtype_ok((v >> (n * 8)) & 7, true))
				return false;
		m->pat = v;
		return true;
	case MSR_MTRR_DEF_TYPE:
		/* type[7:0], FE bit 10, E bit 11; the rest reserved. */
		if ((v & ~0xcffull) || !mtype_ok(v & 0xff, false))
			return false;
		m->mtrr_def_type = v;
		return true;
	case MSR_EFER:
		return set_efer(c, v, host);
	case MSR_STAR:
		m->star = v;
		return true;
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
		if (!soft_canonical(v))
			return false;
		if (idx == MSR_LSTAR)
			m->lstar = v;
		else if (idx == MSR_CSTAR)
			m->cstar = v;
		else if (idx == MSR_FS_BASE)
			c->seg[S_FS].base = v;
		else if (idx == MSR_GS_BASE)
			c->seg[S_GS].base = v;
		else
			m->kernel_gs_base = v;
		return true;
	case MSR_SFMASK:
		m->sfmask = v & 0xffffffff;
		return true;
	case MSR_TSC_AUX:
		if (v >> 32)
			return false;
		m->tsc_aux = v;
		return true;
	}
	if (idx >= MSR_MTRR_PHYS_BASE0 && idx < MSR_MTRR_PHYS_BASE0 + 2 * MTRR_VAR_PAIRS) {
		unsigned n = idx - MSR_MTRR_PHYS_BASE0;
		/* Base: type[7:0], address bits; mask: valid bit 11, address bits. */
		uint64_t okbits = (n & 1) ? (phys_mask(c) & ~0xfffull) | (1ull << 11)
					  : (phys_mask(c) & ~0xfffull) | 0xff;
		if ((v & ~okbits) || (!(n & 1) && !mtype_ok(v & 0xff, false)))
			return false;
		m->mtrr_var[n] = v;
		return true;
	}
	if ((fx = mtrr_fixed_index(idx)) >= 0) {
		for (unsigned n = 0; n < 8; n++)
			if (!mtype_ok((v >> (n * 8)) & 0xff, false))
				return false;
		m->mtrr_fixed[fx] = v;
		return true;
	}
	if (idx == MSR_APIC_BASE || idx == MSR_TSC_DEADLINE ||
	    (idx >= MSR_X2APIC_FIRST && idx <= MSR_X2APIC_LAST))
		return soft_apic_msr_write(c, idx, v);
	return false;
}

SYS_HANDLER(rdmsr)
{
	uint64_t v;

	(void)i;
	if (c->cpl != 0)
		soft_raise(c, X86_EXC_GP, 0);
	if (!soft_msr_get(c, (uint32_t)c->gpr[R_CX], &v))
		soft_raise(c, X86_EXC_GP, 0);
	soft_reg_write(c, R_AX, 4, v & 0xffffffff);
	soft_reg_write(c, R_DX, 4, v >> 32);
}

SYS_HANDLER(wrmsr)
{
	(void)i;
	if (c->cpl != 0)
		soft_raise(c, X86_EXC_GP, 0);
	uint64_t v = (c->gpr[R_DX] << 32) | (c->gpr[R_AX] & 0xffffffff);
	if (!soft_msr_set(c, (uint32_t)c->gpr[R_CX], v, false))
		soft_raise(c, X86_EXC_GP, 0);
}
