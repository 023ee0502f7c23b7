// SPDX-License-Identifier: MIT
/*
 * Control and debug registers: mov to/from CR0/2/3/4/8 and DR0-7, lmsw,
 * smsw, clts, invlpg. The rules are SDM Vol.3 §2.5 (control registers,
 * reserved bits), §9.8.5 (IA-32e activation: CR0.PG with EFER.LME sets
 * EFER.LMA and needs CR4.PAE), §4.10.4 (which changes flush translations) and
 * §18.2 (debug registers).
 */
#include "mmu.h"
#include "sys_priv.h"

#define CR0_FIXED_ONE X86_CR0_ET
/* CR0 bits that exist; writes to the others are ignored (SDM Vol.3 §2.5). */
#define CR0_DEFINED                                                                            \
	(X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_ET | X86_CR0_NE |         \
	 X86_CR0_WP | X86_CR0_AM | X86_CR0_NW | X86_CR0_CD | X86_CR0_PG)
#define CR4_UMIP    (1ull << 11)
#define CR4_LA57    (1ull << 12)
#define CR4_PCIDE   (1ull << 17)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMEP    (1ull << 20)
#define CR4_SMAP    (1ull << 21)
#define CR4_PKE	    (1ull << 22)
#define CR3_NOFLUSH (1ull << 63)
#define DR6_FIXED   0xffff0ff0ull
#define DR6_BD	    (1ull << 13)
#define DR7_GD	    (1ull << 13)

static void need_cpl0(struct soft_cpu *c)
{
	if (c->cpl != 0)
		soft_raise(c, X86_EXC_GP, 0);
}

/* CR4 bits this vCPU accepts: the ones its CPUID advertises (SDM Vol.3 §2.5). */
static uint64_t cr4_allowed(struct soft_cpu *c)
{
	static const struct {
		uint64_t bit;
		uint32_t leaf;
		int reg; /* 1 EBX, 2 ECX, 3 EDX */
		unsigned feat;
	} map[] = {
		{ X86_CR4_VME, 1, 3, 1 },      { X86_CR4_PVI, 1, 3, 1 },
		{ X86_CR4_TSD, 1, 3, 4 },      { X86_CR4_DE, 1, 3, 2 },
		{ X86_CR4_PSE, 1, 3, 3 },      { X86_CR4_PAE, 1, 3, 6 },
		{ X86_CR4_MCE, 1, 3, 7 },      { X86_CR4_PGE, 1, 3, 13 },
		{ X86_CR4_OSFXSR, 1, 3, 24 },  { X86_CR4_OSXMMEXCPT, 1, 3, 25 },
		{ CR4_UMIP, 7, 2, 2 },	       { X86_CR4_FSGSBASE, 7, 1, 0 },
		{ CR4_PCIDE, 1, 2, 17 },       { CR4_OSXSAVE, 1, 2, 26 },
		{ CR4_SMEP, 7, 1, 7 },	       { CR4_SMAP, 7, 1, 20 },
		{ CR4_PKE, 7, 2, 3 },
	};
	uint64_t ok = X86_CR4_PCE;

	for (unsigned n = 0; n < sizeof(map) / sizeof(map[0]); n++)
		if (soft_cpuid_has(c, map[n].leaf, map[n].reg, map[n].feat))
			ok |= map[n].bit;
	/* 5-level paging is not implemented whatever CPUID says. */
	return ok & ~CR4_LA57;
}

static unsigned maxphyaddr(struct soft_cpu *c)
{
	uint32_t out[4];

	if (c->cpuid && soft_cpuid_value(c, 0x80000008, 0, out) == 0x80000008 &&
	    (out[0] & 0xff) >= 32 && (out[0] & 0xff) <= 52)
		return out[0] & 0xff;
	return 36;
}

static void set_cr0(struct soft_cpu *c, uint64_t v)
{
	uint64_t old = c->cr0;

	if (v >> 32)
		soft_raise(c, X86_EXC_GP, 0);
	v = (v & CR0_DEFINED) | CR0_FIXED_ONE;
	if (((v & X86_CR0_PG) && !(v & X86_CR0_PE)) ||
	    ((v & X86_CR0_NW) && !(v & X86_CR0_CD)))
		soft_raise(c, X86_EXC_GP, 0);
	uint64_t efer = c->efer;
	if (!(old & X86_CR0_PG) && (v & X86_CR0_PG) && (efer & X86_EFER_LME)) {
		/* IA-32e activation (SDM Vol.3 §9.8.5): needs PAE, not from a 64-bit CS. */
		if (!(c->cr4 & X86_CR4_PAE) || c->seg[S_CS].l)
			soft_raise(c, X86_EXC_GP, 0);
		efer |= X86_EFER_LMA;
	}
	if ((old & X86_CR0_PG) && !(v & X86_CR0_PG) && (efer & X86_EFER_LMA)) {
		/* Leaving IA-32e mode is only allowed from compatibility mode. */
		if (c->code64)
			soft_raise(c, X86_EXC_GP, 0);
		efer &= ~X86_EFER_LMA;
	}
	c->cr0 = v;
	c->efer = efer;
	if ((old ^ v) & (X86_CR0_PG | X86_CR0_PE | X86_CR0_WP | X86_CR0_CD))
		soft_mmu_flush(c, true);
	if ((old ^ v) & (X86_CR0_PG | X86_CR0_PE))
		soft_seg_flush(c);
	soft_mode_changed(c);
}

static void set_cr3(struct soft_cpu *c, uint64_t v)
{
	if (soft_long_mode(c)) {
		/*
		 * Bit 63 (PCIDE: keep this PCID's translations) is only a hint
		 * here: the translation cache is not tagged by PCID, so every
		 * switch drops the old address space's non-global entries.
		 */
		if (c->cr4 & CR4_PCIDE)
			v &= ~CR3_NOFLUSH;
		if (v >> maxphyaddr(c))
			soft_raise(c, X86_EXC_GP, 0);
	} else {
		v &= 0xffffffff;
	}
	c->cr3 = v;
	soft_mmu_flush(c, false);
	/* The descriptor tables may now be mapped elsewhere. */
	soft_seg_flush(c);
}

static void set_cr4(struct soft_cpu *c, uint64_t v)
{
	uint64_t old = c->cr4;

	if (v & ~cr4_allowed(c))
		soft_raise(c, X86_EXC_GP, 0);
	if (soft_long_mode(c) && !(v & X86_CR4_PAE))
		soft_raise(c, X86_EXC_GP, 0);
	if (!(old & CR4_PCIDE) && (v & CR4_PCIDE) && (!soft_long_mode(c) || (c->cr3 & 0xfff)))
		soft_raise(c, X86_EXC_GP, 0);
	c->cr4 = v;
	if ((old ^ v) & (X86_CR4_PGE | X86_CR4_PAE | X86_CR4_PSE | CR4_PCIDE | CR4_SMEP |
			 CR4_SMAP | CR4_PKE))
		soft_mmu_flush(c, true);
	if ((old ^ v) & (X86_CR4_PAE | X86_CR4_PSE))
		soft_seg_flush(c);
}

static void set_cr8(struct soft_cpu *c, uint64_t v)
{
	if (v >> 4)
		soft_raise(c, X86_EXC_GP, 0);
	c->cr8 = v;
	soft_apic_set_cr8(c, v);
}

SYS_HANDLER(mov_cr)
{
	unsigned cr = i->reg, size = c->code64 ? 8 : 4;
	bool to = i->op == SOFT_SYS_MOV_TO_CR;

	if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	if (cr == 8 && !c->code64)
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	need_cpl0(c);
	if (!to) {
		uint64_t v = 0;
		switch (cr) {
		case 0:
			v = c->cr0;
			break;
		case 2:
			v = c->cr2;
			break;
		case 3:
			v = c->cr3;
			break;
		case 4:
			v = c->cr4;
			break;
		case 8:
			v = soft_apic_get_cr8(c);
			break;
		}
		soft_reg_write(c, i->rm, size, v);
		return;
	}
	uint64_t v = soft_reg_read(c, i->rm, size);
	switch (cr) {
	case 0:
		set_cr0(c, v);
		break;
	case 2:
		c->cr2 = v;
		break;
	case 3:
		set_cr3(c, v);
		break;
	case 4:
		set_cr4(c, v);
		break;
	case 8:
		set_cr8(c, v);
		break;
	}
}

SYS_HANDLER(mov_dr)
{
	unsigned dr = i->reg, size = c->code64 ? 8 : 4;

	if (dr > 7)
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	if (dr == 4 || dr == 5) {
		/* Aliases of DR6/DR7 unless debug extensions are on (SDM Vol.3 §18.2.2). */
		if (c->cr4 & X86_CR4_DE)
			soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
		dr += 2;
	}
	need_cpl0(c);
	if (c->dr[7] & DR7_GD) {
		/* General detect: a fault before the access (SDM Vol.3 §18.2.4). */
		c->dr[6] |= DR6_BD;
		c->dr[7] &= ~DR7_GD;
		soft_raise(c, X86_EXC_DB, SOFT_NO_ERRCODE);
	}
	if (i->op == SOFT_SYS_MOV_FROM_DR) {
		soft_reg_write(c, i->rm, size, c->dr[dr]);
		return;
	}
	uint64_t v = soft_reg_read(c, i->rm, size);
	switch (dr) {
	case 6:
		if (v >> 32)
			soft_raise(c, X86_EXC_GP, 0);
		c->dr[6] = (v & 0xe00f) | DR6_FIXED;
		break;
	case 7:
		if (v >> 32)
			soft_raise(c, X86_EXC_GP, 0);
		c->dr[7] = (v & 0xffff23ffull) | 0x400;
		soft_dbg_update(c);
		break;
	default:
		c->dr[dr] = v;
	}
}

SYS_HANDLER(lmsw)
{
	need_cpl0(c);
	uint64_t v = soft_sys_rm_read(c, i, 2);
	/* Only PE, MP, EM and TS; PE can be set but not cleared (SDM Vol.2 LMSW). */
	set_cr0(c, (c->cr0 & ~0xeull) | (v & 0xf) | (c->cr0 & X86_CR0_PE));
}

SYS_HANDLER(smsw)
{
	if ((c->cr4 & CR4_UMIP) && c->cpl > 0)
		soft_raise(c, X86_EXC_GP, 0);
	if (i->flags & SOFT_I_MEM)
		soft_mem_write(c, i->seg, soft_sys_ea(c, i), 2, c->cr0 & 0xffff);
	else
		soft_reg_write(c, i->rm, i->osz, c->cr0);
}

SYS_HANDLER(clts)
{
	(void)i;
	need_cpl0(c);
	c->cr0 &= ~X86_CR0_TS;
}

SYS_HANDLER(invlpg)
{
	if (!(i->flags & SOFT_I_MEM))
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	need_cpl0(c);
	/* No limit or canonical check: an address that cannot be cached is a no-op. */
	uint64_t ea = soft_sys_ea(c, i), la;
	if (c->code64)
		la = ea + ((i->seg == S_FS || i->seg == S_GS) ? c->seg[i->seg].base : 0);
	else
		la = (c->seg[i->seg].base + ea) & 0xffffffff;
	soft_mmu_invlpg(c, la);
	soft_seg_invlpg(c, la);
}
