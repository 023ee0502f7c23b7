// SPDX-License-Identifier: MIT
/*
 * soft_exec_system(): the one handler the decoder gives every system
 * instruction (exec_sys.h), and the small ones that need no file of their
 * own: interrupt flag and RFLAGS (cli, sti, pushf, popf), hlt, cpuid, the
 * time-stamp counter, swapgs, the FS/GS base instructions, bound, ud*, and
 * the cache/SMAP instructions. The families live in exec_io.c (I/O), exec_cr.c
 * (control and debug registers), msr.c, exec_dt.c (descriptor tables and
 * segment registers), exec_far.c (far transfers) and exec_int.c (int, iret,
 * syscall, sysenter).
 */
#include <Zydis/Mnemonic.h>
#include <stddef.h>

#include "sys_priv.h"

/* SDM Vol.2 POPF and IRET: which RFLAGS bits the instruction may change. */
void soft_sys_load_flags(struct soft_cpu *c, uint64_t v, unsigned osz, unsigned cpl, int how)
{
	uint64_t old = soft_flags_get(c);
	uint64_t mask = X86_ARITH_FLAGS | X86_TF | X86_DF | X86_NT | X86_AC | X86_ID;
	bool real = !soft_protected(c);
	unsigned iopl = (old & X86_IOPL) >> 12;

	if (real || cpl <= iopl)
		mask |= X86_IF;
	if (real || cpl == 0)
		mask |= X86_IOPL;
	if (how == SOFT_FLAGS_IRET) {
		mask |= X86_RF;
		if (!real && cpl == 0)
			mask |= X86_VM | X86_VIF | X86_VIP;
	}
	if (osz == 2)
		mask &= 0xffff;
	uint64_t nf = (old & ~mask) | (v & mask);
	if (how == SOFT_FLAGS_POPF)
		nf &= ~X86_RF;
	soft_flags_set(c, nf);
	if (!(old & X86_IF) && (nf & X86_IF))
		soft_irq_recheck(c);
}

static bool iopl_denied(const struct soft_cpu *c)
{
	return soft_protected(c) && c->cpl > ((c->rflags & X86_IOPL) >> 12);
}

static void sys_cli(struct soft_cpu *c)
{
	/* CR4.PVI's virtual interrupt flag is not offered (CPUID has no VME). */
	if (iopl_denied(c))
		soft_raise(c, X86_EXC_GP, 0);
	soft_flags_set(c, soft_flags_get(c) & ~X86_IF);
}

static void sys_sti(struct soft_cpu *c)
{
	if (iopl_denied(c))
		soft_raise(c, X86_EXC_GP, 0);
	uint64_t f = soft_flags_get(c);
	if (f & X86_IF)
		return;
	soft_flags_set(c, f | X86_IF);
	/* Interrupts stay blocked until after the next instruction (SDM Vol.2 STI). */
	c->intr_shadow = 1;
	soft_irq_recheck(c);
}

static void sys_pushf(struct soft_cpu *c, const struct soft_insn *i)
{
	struct soft_stack st;

	soft_stack_current(c, &st);
	/* VM and RF are cleared in the image (SDM Vol.2 PUSHF). */
	soft_stack_push(c, &st, i->osz, soft_flags_get(c) & ~(X86_VM | X86_RF));
	soft_stack_commit_sp(c, &st);
}

static void sys_popf(struct soft_cpu *c, const struct soft_insn *i)
{
	struct soft_stack st;

	soft_stack_current(c, &st);
	uint64_t v = soft_stack_pop(c, &st, i->osz);
	soft_stack_commit_sp(c, &st);
	soft_sys_load_flags(c, v, i->osz, c->cpl, SOFT_FLAGS_POPF);
}

static void need_cpl0(struct soft_cpu *c)
{
	if (c->cpl != 0)
		soft_raise(c, X86_EXC_GP, 0);
}

/* --- cpuid --- */

static const struct kvm_cpuid_entry2 *cpuid_find(const struct soft_cpu *c, uint32_t leaf,
						 uint32_t sub)
{
	const struct kvm_cpuid2 *t = c->cpuid;

	if (!t)
		return NULL;
	for (uint32_t n = 0; n < t->nent; n++) {
		const struct kvm_cpuid_entry2 *e = &t->entries[n];
		if (e->function == leaf &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == sub))
			return e;
	}
	return NULL;
}

uint64_t soft_cpuid_value(struct soft_cpu *c, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	const struct kvm_cpuid_entry2 *e0 = cpuid_find(c, 0, 0);
	const struct kvm_cpuid_entry2 *x0 = cpuid_find(c, 0x80000000, 0);
	uint32_t max_basic = e0 ? e0->eax : 0;
	uint32_t max_ext = x0 ? x0->eax : 0;

	/*
	 * SDM Vol.2 CPUID: an input above the maximum basic or extended leaf
	 * returns the highest basic leaf's data. The hypervisor range is
	 * answered when the VMM defined it.
	 */
	bool in_range = leaf <= max_basic || (leaf >= 0x80000000 && leaf <= max_ext) ||
			(leaf >= 0x40000000 && leaf < 0x50000000 && cpuid_find(c, leaf, sub));
	if (!in_range)
		leaf = max_basic;
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, leaf, sub);
	out[0] = e ? e->eax : 0;
	out[1] = e ? e->ebx : 0;
	out[2] = e ? e->ecx : 0;
	out[3] = e ? e->edx : 0;

	switch (leaf) {
	case 1:
		if (!(out[1] >> 24))
			out[1] |= (c->index & 0xff) << 24;
		/* OSXSAVE mirrors CR4.OSXSAVE. */
		out[2] = (out[2] & ~(1u << 27)) | ((c->cr4 & (1ull << 18)) ? 1u << 27 : 0);
		break;
	case 0xb:
	case 0x1f:
		if (!out[3])
			out[3] = c->index;
		break;
	}
	return leaf;
}

bool soft_cpuid_has(struct soft_cpu *c, uint32_t leaf, int reg, unsigned bit)
{
	uint32_t out[4];

	if (!c->cpuid)
		return true; /* no table yet: do not refuse what the VMM never restricted */
	if (soft_cpuid_value(c, leaf, 0, out) != leaf)
		return false;
	return out[reg] & (1u << bit);
}

static void sys_cpuid(struct soft_cpu *c)
{
	uint32_t out[4];

	soft_cpuid_value(c, (uint32_t)c->gpr[R_AX], (uint32_t)c->gpr[R_CX], out);
	soft_reg_write(c, R_AX, 4, out[0]);
	soft_reg_write(c, R_BX, 4, out[1]);
	soft_reg_write(c, R_CX, 4, out[2]);
	soft_reg_write(c, R_DX, 4, out[3]);
}

/* --- time-stamp counter --- */

static void sys_rdtsc(struct soft_cpu *c, bool aux)
{
	if ((c->cr4 & X86_CR4_TSD) && c->cpl != 0)
		soft_raise(c, X86_EXC_GP, 0);
	if (aux && !soft_cpuid_has(c, 0x80000001, 3, 27))
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	uint64_t tsc = soft_tsc(c) + c->msr.tsc_offset;
	soft_reg_write(c, R_AX, 4, tsc & 0xffffffff);
	soft_reg_write(c, R_DX, 4, tsc >> 32);
	if (aux)
		soft_reg_write(c, R_CX, 4, c->msr.tsc_aux & 0xffffffff);
}

static void sys_rdpid(struct soft_cpu *c, const struct soft_insn *i)
{
	if (!soft_cpuid_has(c, 7, 2, 22))
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	soft_reg_write(c, i->rm, c->code64 ? 8 : 4, c->msr.tsc_aux & 0xffffffff);
}

/* --- 64-bit segment bases --- */

static void sys_swapgs(struct soft_cpu *c)
{
	if (!c->code64)
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	need_cpl0(c);
	uint64_t t = c->seg[S_GS].base;
	c->seg[S_GS].base = c->msr.kernel_gs_base;
	c->msr.kernel_gs_base = t;
}

static void sys_fsgsbase(struct soft_cpu *c, const struct soft_insn *i, int sreg, bool write)
{
	/* SDM Vol.2 RDFSBASE/WRFSBASE: 64-bit mode with CR4.FSGSBASE, any CPL. */
	if (!c->code64 || !(c->cr4 & X86_CR4_FSGSBASE))
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	unsigned size = i->osz == 8 ? 8 : 4;
	if (!write) {
		soft_reg_write(c, i->rm, size, c->seg[sreg].base);
		return;
	}
	uint64_t v = soft_reg_read(c, i->rm, size);
	if (!soft_canonical(v))
		soft_raise(c, X86_EXC_GP, 0);
	c->seg[sreg].base = v;
}

/* --- the rest --- */

static void sys_bound(struct soft_cpu *c, const struct soft_insn *i)
{
	if (c->code64 || !(i->flags & SOFT_I_MEM))
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	unsigned sz = i->osz == 2 ? 2 : 4;
	uint64_t ea = soft_sys_ea(c, i);
	int64_t lo = (int64_t)soft_mem_read(c, i->seg, ea, sz);
	int64_t hi = (int64_t)soft_mem_read(c, i->seg, (ea + sz) & soft_size_mask(i->asz), sz);
	int64_t idx = (int64_t)soft_reg_read(c, i->reg, sz);
	unsigned sh = 64 - sz * 8;

	lo = (lo << sh) >> sh;
	hi = (hi << sh) >> sh;
	idx = (idx << sh) >> sh;
	if (idx < lo || idx > hi)
		soft_raise(c, X86_EXC_BR, SOFT_NO_ERRCODE);
}

static void sys_smap_ac(struct soft_cpu *c, bool set)
{
	/* SDM Vol.2 CLAC/STAC: #UD unless CPUID.7.EBX.SMAP and CPL 0. */
	if (c->cpl != 0 || !soft_cpuid_has(c, 7, 1, 20))
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	uint64_t f = soft_flags_get(c);
	soft_flags_set(c, set ? f | X86_AC : f & ~X86_AC);
}

void soft_exec_system(struct soft_cpu *c, const struct soft_insn *i)
{
	switch (i->mnemonic) {
	case ZYDIS_MNEMONIC_IN:
		soft_sys_in(c, i);
		break;
	case ZYDIS_MNEMONIC_OUT:
		soft_sys_out(c, i);
		break;
	case ZYDIS_MNEMONIC_INSB:
	case ZYDIS_MNEMONIC_INSW:
	case ZYDIS_MNEMONIC_INSD:
		soft_sys_ins(c, i);
		break;
	case ZYDIS_MNEMONIC_OUTSB:
	case ZYDIS_MNEMONIC_OUTSW:
	case ZYDIS_MNEMONIC_OUTSD:
		soft_sys_outs(c, i);
		break;
	case ZYDIS_MNEMONIC_CLI:
		sys_cli(c);
		break;
	case ZYDIS_MNEMONIC_STI:
		sys_sti(c);
		break;
	case ZYDIS_MNEMONIC_PUSHF:
	case ZYDIS_MNEMONIC_PUSHFD:
	case ZYDIS_MNEMONIC_PUSHFQ:
		sys_pushf(c, i);
		break;
	case ZYDIS_MNEMONIC_POPF:
	case ZYDIS_MNEMONIC_POPFD:
	case ZYDIS_MNEMONIC_POPFQ:
		sys_popf(c, i);
		break;
	case ZYDIS_MNEMONIC_HLT:
		need_cpl0(c);
		c->halted = 1;
		break;
	case ZYDIS_MNEMONIC_LGDT:
	case ZYDIS_MNEMONIC_LIDT:
		soft_sys_lgdt_lidt(c, i);
		break;
	case ZYDIS_MNEMONIC_SGDT:
	case ZYDIS_MNEMONIC_SIDT:
		soft_sys_sgdt_sidt(c, i);
		break;
	case ZYDIS_MNEMONIC_LLDT:
		soft_sys_lldt(c, i);
		break;
	case ZYDIS_MNEMONIC_LTR:
		soft_sys_ltr(c, i);
		break;
	case ZYDIS_MNEMONIC_SLDT:
	case ZYDIS_MNEMONIC_STR:
		soft_sys_sldt_str(c, i);
		break;
	case ZYDIS_MNEMONIC_LMSW:
		soft_sys_lmsw(c, i);
		break;
	case ZYDIS_MNEMONIC_SMSW:
		soft_sys_smsw(c, i);
		break;
	case ZYDIS_MNEMONIC_CLTS:
		soft_sys_clts(c, i);
		break;
	case ZYDIS_MNEMONIC_MOV:
		switch (i->op) {
		case SOFT_SYS_MOV_TO_CR:
		case SOFT_SYS_MOV_FROM_CR:
			soft_sys_mov_cr(c, i);
			break;
		case SOFT_SYS_MOV_TO_DR:
		case SOFT_SYS_MOV_FROM_DR:
			soft_sys_mov_dr(c, i);
			break;
		case SOFT_SYS_MOV_TO_SREG:
		case SOFT_SYS_MOV_FROM_SREG:
			soft_sys_mov_sreg(c, i);
			break;
		default:
			soft_internal_error(c, "system mov at %#llx without a form (op %u)",
					    (unsigned long long)c->rip, i->op);
		}
		break;
	case ZYDIS_MNEMONIC_INVLPG:
		soft_sys_invlpg(c, i);
		break;
	case ZYDIS_MNEMONIC_INVD:
	case ZYDIS_MNEMONIC_WBINVD:
		/* No caches to write back: the privilege check is all that is left. */
		need_cpl0(c);
		break;
	case ZYDIS_MNEMONIC_RDMSR:
		soft_sys_rdmsr(c, i);
		break;
	case ZYDIS_MNEMONIC_WRMSR:
		soft_sys_wrmsr(c, i);
		break;
	case ZYDIS_MNEMONIC_CPUID:
		sys_cpuid(c);
		break;
	case ZYDIS_MNEMONIC_RDTSC:
		sys_rdtsc(c, false);
		break;
	case ZYDIS_MNEMONIC_RDTSCP:
		sys_rdtsc(c, true);
		break;
	case ZYDIS_MNEMONIC_RDPID:
		sys_rdpid(c, i);
		break;
	case ZYDIS_MNEMONIC_RDPMC:
		/* No performance counters are offered (SDM Vol.2 RDPMC: invalid ECX). */
		soft_raise(c, X86_EXC_GP, 0);
	case ZYDIS_MNEMONIC_SYSCALL:
		soft_sys_syscall(c, i);
		break;
	case ZYDIS_MNEMONIC_SYSRET:
		soft_sys_sysret(c, i);
		break;
	case ZYDIS_MNEMONIC_SYSENTER:
		soft_sys_sysenter(c, i);
		break;
	case ZYDIS_MNEMONIC_SYSEXIT:
		soft_sys_sysexit(c, i);
		break;
	case ZYDIS_MNEMONIC_SWAPGS:
		sys_swapgs(c);
		break;
	case ZYDIS_MNEMONIC_RDFSBASE:
		sys_fsgsbase(c, i, S_FS, false);
		break;
	case ZYDIS_MNEMONIC_RDGSBASE:
		sys_fsgsbase(c, i, S_GS, false);
		break;
	case ZYDIS_MNEMONIC_WRFSBASE:
		sys_fsgsbase(c, i, S_FS, true);
		break;
	case ZYDIS_MNEMONIC_WRGSBASE:
		sys_fsgsbase(c, i, S_GS, true);
		break;
	case ZYDIS_MNEMONIC_INT:
	case ZYDIS_MNEMONIC_INT3:
	case ZYDIS_MNEMONIC_INTO:
	case ZYDIS_MNEMONIC_INT1:
		soft_sys_int(c, i);
		break;
	case ZYDIS_MNEMONIC_IRET:
	case ZYDIS_MNEMONIC_IRETD:
	case ZYDIS_MNEMONIC_IRETQ:
		soft_sys_iret(c, i);
		break;
	case ZYDIS_MNEMONIC_JMP:
		soft_sys_jmp_far(c, i);
		break;
	case ZYDIS_MNEMONIC_CALL:
		soft_sys_call_far(c, i);
		break;
	case ZYDIS_MNEMONIC_RET:
		soft_sys_ret_far(c, i);
		break;
	case ZYDIS_MNEMONIC_PUSH:
		soft_sys_push_sreg(c, i);
		break;
	case ZYDIS_MNEMONIC_POP:
		soft_sys_pop_sreg(c, i);
		break;
	case ZYDIS_MNEMONIC_LDS:
	case ZYDIS_MNEMONIC_LES:
	case ZYDIS_MNEMONIC_LFS:
	case ZYDIS_MNEMONIC_LGS:
	case ZYDIS_MNEMONIC_LSS:
		soft_sys_load_far_ptr(c, i);
		break;
	case ZYDIS_MNEMONIC_LAR:
	case ZYDIS_MNEMONIC_LSL:
		soft_sys_lar_lsl(c, i);
		break;
	case ZYDIS_MNEMONIC_VERR:
	case ZYDIS_MNEMONIC_VERW:
		soft_sys_verr_verw(c, i);
		break;
	case ZYDIS_MNEMONIC_ARPL:
		soft_sys_arpl(c, i);
		break;
	case ZYDIS_MNEMONIC_BOUND:
		sys_bound(c, i);
		break;
	case ZYDIS_MNEMONIC_CLAC:
		sys_smap_ac(c, false);
		break;
	case ZYDIS_MNEMONIC_STAC:
		sys_smap_ac(c, true);
		break;
	case ZYDIS_MNEMONIC_UD0:
	case ZYDIS_MNEMONIC_UD1:
	case ZYDIS_MNEMONIC_UD2:
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	default:
		soft_internal_error(c, "no system handler for mnemonic %u at %#llx", i->mnemonic,
				    (unsigned long long)c->rip);
	}
}
