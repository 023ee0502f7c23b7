// SPDX-License-Identifier: MIT
/*
 * Software interrupts and the fast system calls: int n, int3, into, int1
 * (delivered by excp.c with the SOFT_EVENT_* kind that gives each its DPL
 * check and EXT bit), iret (SDM Vol.2 IRET; Vol.3 §6.14.3 for IA-32e mode),
 * syscall/sysret (AMD APM Vol.3 SYSCALL/SYSRET, SDM Vol.2; legacy-mode forms
 * as AMD defines them) and sysenter/sysexit (SDM Vol.2 SYSENTER/SYSEXIT).
 *
 * As everywhere in the sys part, every read and check comes before the first
 * change of architectural state.
 */
#include <Zydis/Mnemonic.h>
#include <string.h>

#include "sys_priv.h"

/* --- int n, int3, into, int1 --- */

SYS_HANDLER(int)
{
	/* Software interrupts are traps: they return to the next instruction. */
	uint64_t next = (c->rip + i->len) & soft_size_mask(c->csize);

	switch (i->mnemonic) {
	case ZYDIS_MNEMONIC_INT3:
		soft_deliver(c, X86_EXC_BP, SOFT_EVENT_SOFTEXC, SOFT_NO_ERRCODE, next);
		return;
	case ZYDIS_MNEMONIC_INTO:
		if (c->code64)
			soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
		if (soft_flags_get(c) & X86_OF)
			soft_deliver(c, X86_EXC_OF, SOFT_EVENT_SOFTEXC, SOFT_NO_ERRCODE, next);
		return;
	case ZYDIS_MNEMONIC_INT1:
		/* ICEBP: a #DB trap delivered like a hardware event: no DPL check, EXT = 1. */
		soft_deliver(c, X86_EXC_DB, SOFT_EVENT_ICEBP, SOFT_NO_ERRCODE, next);
		return;
	default:
		break;
	}
	/* int n is IOPL-sensitive in virtual-8086 mode (no CR4.VME here: SDM Vol.3 §20.3.1). */
	if (soft_protected(c) && (c->rflags & X86_VM) && (c->rflags & X86_IOPL) != X86_IOPL)
		soft_raise(c, X86_EXC_GP, 0);
	soft_deliver(c, (int)(i->imm & 0xff), SOFT_EVENT_SOFTINT, SOFT_NO_ERRCODE, next);
}

/* --- iret --- */

/* Segment registers as virtual-8086 mode has them (SDM Vol.3 §20.1.1). */
static void vm86_seg(struct kvm_segment *s, uint16_t sel, bool code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	s->limit = 0xffff;
	s->type = code ? 0xb : 0x3;
	s->s = 1;
	s->dpl = 3;
	s->present = 1;
}

/*
 * Real-address mode, and virtual-8086 mode with IOPL = 3: pop IP, CS,
 * FLAGS; soft_sys_load_flags keeps what the mode may not change (VM, VIF,
 * VIP; in virtual-8086 mode also IOPL).
 */
static void iret_real(struct soft_cpu *c, unsigned osz, bool vm86)
{
	struct soft_stack st;

	soft_stack_current(c, &st);
	uint64_t eip = soft_stack_pop(c, &st, osz);
	uint16_t cs = (uint16_t)soft_stack_pop(c, &st, osz);
	uint64_t fl = soft_stack_pop(c, &st, osz);
	if (eip > (vm86 ? 0xffff : c->seg[S_CS].limit))
		soft_raise(c, X86_EXC_GP, 0);

	soft_stack_commit_sp(c, &st);
	if (vm86) {
		vm86_seg(&c->seg[S_CS], cs, true);
		soft_mode_changed(c);
	} else {
		soft_seg_load_real(c, S_CS, cs);
	}
	soft_sys_load_flags(c, fl, osz, c->cpl, SOFT_FLAGS_IRET);
	c->next_rip = eip;
}

/* Protected mode, CPL 0, a 32-bit frame with VM = 1 (SDM Vol.2 IRET "RETURN-TO-VIRTUAL-8086-MODE").
 */
static void iret_to_vm86(struct soft_cpu *c, struct soft_stack *st, uint64_t eip, uint16_t cs,
			 uint64_t fl)
{
	static const int regs[] = { S_ES, S_DS, S_FS, S_GS };
	uint16_t sel[4];

	uint64_t esp = soft_stack_pop(c, st, 4);
	uint16_t ss = (uint16_t)soft_stack_pop(c, st, 4);
	for (unsigned n = 0; n < 4; n++)
		sel[n] = (uint16_t)soft_stack_pop(c, st, 4);
	if (eip > 0xffff)
		soft_raise(c, X86_EXC_GP, 0);

	soft_flags_set(c, fl);
	vm86_seg(&c->seg[S_CS], cs, true);
	vm86_seg(&c->seg[S_SS], ss, false);
	for (unsigned n = 0; n < 4; n++)
		vm86_seg(&c->seg[regs[n]], sel[n], false);
	soft_mode_changed(c); /* CPL 3 */
	soft_reg_write(c, R_SP, 4, esp);
	c->next_rip = eip;
}

/* Checks of SDM Vol.2 IRET on the return code segment. */
static void iret_check_cs(struct soft_cpu *c, uint16_t sel, struct soft_desc *d)
{
	uint32_t err = soft_sel_err(sel, 0);
	unsigned rpl = soft_sel_rpl(sel);

	if ((sel & 0xfffc) == 0)
		soft_raise(c, X86_EXC_GP, 0);
	if (soft_desc_read(c, sel, d) != SOFT_DESC_OK)
		soft_raise(c, X86_EXC_GP, err);
	if (!d->seg.s || !(d->seg.type & SEG_CODE) || rpl < c->cpl)
		soft_raise(c, X86_EXC_GP, err);
	if (soft_long_mode(c) && d->seg.l && d->seg.db)
		soft_raise(c, X86_EXC_GP, err);
	if ((d->seg.type & SEG_CONFORMING) ? d->seg.dpl > rpl : d->seg.dpl != rpl)
		soft_raise(c, X86_EXC_GP, err);
	if (!d->seg.present)
		soft_raise(c, X86_EXC_NP, err);
}

/* Protected and IA-32e mode, NT = 0. */
static void iret_prot(struct soft_cpu *c, unsigned osz)
{
	struct soft_stack st;
	struct soft_desc cs, ss;

	memset(&ss, 0, sizeof(ss));
	soft_stack_current(c, &st);
	uint64_t eip = soft_stack_pop(c, &st, osz);
	uint16_t cs_sel = (uint16_t)soft_stack_pop(c, &st, osz);
	uint64_t fl = soft_stack_pop(c, &st, osz);

	if (!soft_long_mode(c) && osz == 4 && (fl & X86_VM) && c->cpl == 0) {
		iret_to_vm86(c, &st, eip, cs_sel, fl);
		return;
	}
	iret_check_cs(c, cs_sel, &cs);
	unsigned rpl = soft_sel_rpl(cs_sel), old_cpl = c->cpl;
	bool to64 = soft_long_mode(c) && cs.seg.l;
	/* 64-bit mode pops SS:RSP even at the same level (SDM Vol.3 §6.14.3). */
	bool pop_ss = rpl > old_cpl || c->code64;
	uint64_t sp = 0;
	uint16_t ss_sel = 0;
	bool null_ss = false;

	if (pop_ss) {
		sp = soft_stack_pop(c, &st, osz);
		ss_sel = (uint16_t)soft_stack_pop(c, &st, osz);
		if ((ss_sel & 0xfffc) == 0) {
			/* IA-32e mode: a null SS is fine for 64-bit code below ring 3 (§6.14.3). */
			if (!to64 || rpl == 3)
				soft_raise(c, X86_EXC_GP, 0);
			null_ss = true;
		} else {
			soft_seg_check_ss(c, ss_sel, rpl, &ss, X86_EXC_GP, 0);
		}
	}
	if (to64 ? !soft_canonical(eip) : eip > cs.seg.limit)
		soft_raise(c, X86_EXC_GP, 0);
	soft_desc_set_type_bits(c, cs_sel, &cs, DESC_A_BIT);
	if (pop_ss && !null_ss)
		soft_desc_set_type_bits(c, ss_sel, &ss, DESC_A_BIT);

	/* Everything that can fault is done. The flags rules use the CPL before the return. */
	soft_sys_load_flags(c, fl & ~X86_VM, osz, old_cpl, SOFT_FLAGS_IRET);
	soft_seg_load_cs(c, cs_sel, &cs, rpl);
	if (!pop_ss) {
		soft_stack_commit_sp(c, &st);
		soft_mode_changed(c);
		c->next_rip = eip;
		return;
	}
	if (null_ss) {
		soft_seg_set_null(&c->seg[S_SS], ss_sel);
		c->seg[S_SS].dpl = rpl;
	} else {
		c->seg[S_SS] = ss.seg;
		c->seg[S_SS].selector = ss_sel;
	}
	soft_mode_changed(c);
	/* A 16-bit stack outside 64-bit mode gets SP only; the upper half of ESP stays. */
	unsigned spsz = osz;
	if (!to64 && c->ssize < spsz)
		spsz = c->ssize;
	soft_reg_write(c, R_SP, spsz, sp);
	if (rpl > old_cpl)
		soft_seg_drop_inner(c, rpl);
	c->next_rip = eip;
}

/*
 * EFLAGS.NT = 1 outside IA-32e mode: SDM Vol.2 IRET "TASK-RETURN" checks the
 * back link of the current TSS (a busy TSS in the GDT, present), then
 * switches tasks, which the soft CPU does not implement (like excp.c's task
 * gates).
 */
static _Noreturn void iret_task_return(struct soft_cpu *c)
{
	const struct kvm_segment *tr = &c->seg[S_TR];
	struct soft_desc d;

	if (tr->unusable || !tr->present || tr->limit < 1)
		soft_raise(c, X86_EXC_TS, soft_sel_err(tr->selector, 0));
	uint16_t link = (uint16_t)soft_lin_read(c, tr->base & 0xffffffff, 2, SOFT_ACC_IMPLICIT);
	uint32_t err = soft_sel_err(link, 0);
	if ((link & 4) || soft_desc_read(c, link, &d) != SOFT_DESC_OK)
		soft_raise(c, X86_EXC_TS, err);
	unsigned type = DESC_TYPE(d.raw);
	if (DESC_S(d.raw) || (type != SYS_TSS16_BUSY && type != SYS_TSS_BUSY))
		soft_raise(c, X86_EXC_TS, err);
	if (!DESC_P(d.raw))
		soft_raise(c, X86_EXC_NP, err);
	soft_internal_error(c,
			    "iret with EFLAGS.NT = 1 (return to task %#x): hardware task "
			    "switching is not supported",
			    link);
}

SYS_HANDLER(iret)
{
	uint64_t fl = soft_flags_get(c);

	if (!soft_protected(c)) {
		iret_real(c, i->osz, false);
	} else if (fl & X86_VM) {
		/* Without CR4.VME, iret in virtual-8086 mode needs IOPL = 3 (SDM Vol.3 §20.2.7). */
		if ((fl & X86_IOPL) != X86_IOPL)
			soft_raise(c, X86_EXC_GP, 0);
		iret_real(c, i->osz, true);
	} else if (fl & X86_NT) {
		/* A nested-task return: IA-32e mode has no task switches (SDM Vol.2 IRET). */
		if (soft_long_mode(c))
			soft_raise(c, X86_EXC_GP, 0);
		iret_task_return(c);
	} else {
		iret_prot(c, i->osz);
	}
	/* iret ends NMI blocking (SDM Vol.3 §6.7.1); IF may have come back on. */
	c->nmi_blocked = 0;
	soft_irq_recheck(c);
}

/* --- syscall / sysret, sysenter / sysexit --- */

/* The fixed hidden parts the fast system calls load (flat, 4 GiB, accessed). */
static void flat_seg(struct kvm_segment *s, uint16_t sel, bool code, unsigned dpl, bool l)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = code ? 0xb : 0x3;
	s->s = 1;
	s->dpl = dpl;
	s->present = 1;
	s->l = l;
	s->db = !l;
	s->g = 1;
}

#define STAR_CALL_SEL(star) ((uint16_t)((star) >> 32))
#define STAR_RET_SEL(star)  ((uint16_t)((star) >> 48))

SYS_HANDLER(syscall)
{
	uint64_t next = c->rip + i->len, fl = soft_flags_get(c);
	uint16_t sel = STAR_CALL_SEL(c->msr.star);

	/* AMD APM Vol.3 SYSCALL: #UD without EFER.SCE; real mode is refused as on Intel. */
	if (!(c->efer & X86_EFER_SCE) || !soft_protected(c))
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	if (soft_long_mode(c)) {
		/* 64-bit mode enters at LSTAR, compatibility mode at CSTAR (AMD). */
		uint64_t target = c->code64 ? c->msr.lstar : c->msr.cstar;
		c->gpr[R_CX] = c->code64 ? next : next & 0xffffffff;
		c->gpr[R_R11] = fl & ~X86_RF;
		flat_seg(&c->seg[S_CS], sel & 0xfffc, true, 0, true);
		soft_flags_set(c, fl & ~c->msr.sfmask & ~X86_RF);
		c->next_rip = target;
	} else {
		/* Legacy mode: EIP from STAR[31:0]; VM, IF and RF cleared. */
		soft_reg_write(c, R_CX, 4, next);
		flat_seg(&c->seg[S_CS], sel & 0xfffc, true, 0, false);
		soft_flags_set(c, fl & ~(X86_VM | X86_IF | X86_RF));
		c->next_rip = c->msr.star & 0xffffffff;
	}
	flat_seg(&c->seg[S_SS], sel + 8, false, 0, false);
	soft_mode_changed(c);
}

SYS_HANDLER(sysret)
{
	uint64_t fl = soft_flags_get(c);
	uint16_t sel = STAR_RET_SEL(c->msr.star);

	if (!(c->efer & X86_EFER_SCE))
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	if (!soft_protected(c) || (fl & X86_VM) || c->cpl != 0)
		soft_raise(c, X86_EXC_GP, 0);
	if (soft_long_mode(c)) {
		bool to64 = i->osz == 8;
		/* SDM Vol.2 SYSRET: a non-canonical RCX faults here, at CPL 0. */
		if (to64 && !soft_canonical(c->gpr[R_CX]))
			soft_raise(c, X86_EXC_GP, 0);
		if (to64)
			flat_seg(&c->seg[S_CS], (uint16_t)(sel + 16) | 3, true, 3, true);
		else
			flat_seg(&c->seg[S_CS], sel | 3, true, 3, false);
		soft_flags_set(c, (c->gpr[R_R11] & 0x3c7fd7) | 2);
		c->next_rip = to64 ? c->gpr[R_CX] : c->gpr[R_CX] & 0xffffffff;
	} else {
		/* Legacy mode (AMD): back to flat 32-bit code with IF set. */
		flat_seg(&c->seg[S_CS], sel | 3, true, 3, false);
		soft_flags_set(c, fl | X86_IF);
		c->next_rip = c->gpr[R_CX] & 0xffffffff;
	}
	flat_seg(&c->seg[S_SS], (uint16_t)(sel + 8) | 3, false, 3, false);
	soft_mode_changed(c);
	if (!(fl & X86_IF) && (soft_flags_get(c) & X86_IF))
		soft_irq_recheck(c);
}

SYS_HANDLER(sysenter)
{
	uint16_t sel = (uint16_t)c->msr.sysenter_cs & 0xfffc;
	bool lm = soft_long_mode(c);

	(void)i;
	if (!soft_protected(c) || sel == 0)
		soft_raise(c, X86_EXC_GP, 0);
	soft_flags_set(c, soft_flags_get(c) & ~(X86_VM | X86_IF | X86_RF));
	flat_seg(&c->seg[S_CS], sel, true, 0, lm);
	flat_seg(&c->seg[S_SS], sel + 8, false, 0, false);
	if (lm) {
		c->gpr[R_SP] = c->msr.sysenter_esp;
		c->next_rip = c->msr.sysenter_eip;
	} else {
		soft_reg_write(c, R_SP, 4, c->msr.sysenter_esp);
		c->next_rip = c->msr.sysenter_eip & 0xffffffff;
	}
	soft_mode_changed(c);
}

SYS_HANDLER(sysexit)
{
	uint16_t base = (uint16_t)c->msr.sysenter_cs;
	bool to64 = i->osz == 8;

	if (!soft_protected(c) || (base & 0xfffc) == 0 || c->cpl != 0)
		soft_raise(c, X86_EXC_GP, 0);
	if (to64 && (!soft_canonical(c->gpr[R_DX]) || !soft_canonical(c->gpr[R_CX])))
		soft_raise(c, X86_EXC_GP, 0);
	uint16_t cs = (uint16_t)(base + (to64 ? 32 : 16)) | 3;
	flat_seg(&c->seg[S_CS], cs, true, 3, to64);
	flat_seg(&c->seg[S_SS], (uint16_t)(cs + 8), false, 3, false);
	if (to64) {
		c->gpr[R_SP] = c->gpr[R_CX];
		c->next_rip = c->gpr[R_DX];
	} else {
		soft_reg_write(c, R_SP, 4, c->gpr[R_CX]);
		c->next_rip = c->gpr[R_DX] & 0xffffffff;
	}
	soft_mode_changed(c);
}
