// SPDX-License-Identifier: MIT
/*
 * Exceptions and interrupts: raising faults (longjmp to run.c, excp.h has the
 * protocol) and delivering events through the real-mode IVT (SDM Vol.3
 * §20.1.4) or the IDT (§6.10-6.14): interrupt and trap gates, privilege change
 * with the TSS stack switch (§7.2.1, §8.7 for the 64-bit TSS), IST (§6.14.5),
 * and the double-fault rules of §6.15 Table 6-5.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sys_priv.h"

/* Table 6-5 classes. */
enum { CLS_BENIGN, CLS_CONTRIB, CLS_PF, CLS_DF };

static unsigned exc_class(int vector)
{
	switch (vector) {
	case X86_EXC_DE:
	case X86_EXC_TS:
	case X86_EXC_NP:
	case X86_EXC_SS:
	case X86_EXC_GP:
		return CLS_CONTRIB;
	case X86_EXC_PF:
		return CLS_PF;
	case X86_EXC_DF:
		return CLS_DF;
	}
	return CLS_BENIGN;
}

/* Vectors that push an error code when the CPU raises them (§6.15; 21 #CP, 29 #VC, 30 #SX). */
static bool has_errcode(int vector)
{
	switch (vector) {
	case X86_EXC_DF:
	case X86_EXC_TS:
	case X86_EXC_NP:
	case X86_EXC_SS:
	case X86_EXC_GP:
	case X86_EXC_PF:
	case X86_EXC_AC:
	case 21:
	case 29:
	case 30:
		return true;
	}
	return false;
}

_Noreturn void soft_raise(struct soft_cpu *c, int vector, uint32_t errcode)
{
	c->segs.excp.vector = vector;
	c->segs.excp.errcode = errcode;
	longjmp(c->fault_jmp, SOFT_JMP_FAULT);
}

_Noreturn void soft_raise_pf(struct soft_cpu *c, uint64_t la, uint32_t errcode)
{
	c->cr2 = la;
	soft_raise(c, X86_EXC_PF, errcode);
}

_Noreturn void soft_internal_error(struct soft_cpu *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->segs.excp.why, sizeof(c->segs.excp.why), fmt, ap);
	va_end(ap);
	c->segs.excp.internal = true;
	c->exc_depth = 0;
	longjmp(c->fault_jmp, SOFT_JMP_INTERNAL);
}

const char *soft_internal_why(const struct soft_cpu *c)
{
	return c->segs.excp.internal ? c->segs.excp.why : "";
}

void soft_cpu_shutdown(struct soft_cpu *c)
{
	c->segs.excp.shutdown = true;
	c->exc_depth = 0;
	c->halted = 0;
}

void soft_excp_reset(struct soft_cpu *c)
{
	struct soft_excp_state *x = &c->segs.excp;

	x->vector = 0;
	x->errcode = SOFT_NO_ERRCODE;
	x->delivering = 0;
	x->delivering_class = CLS_BENIGN;
	x->shutdown = false;
	x->internal = false;
	x->why[0] = 0;
	c->exc_depth = 0;
}

void soft_deliver_pending(struct soft_cpu *c)
{
	soft_deliver(c, c->segs.excp.vector, SOFT_EVENT_EXCEPTION, c->segs.excp.errcode, c->rip);
}

void soft_debug_trap(struct soft_cpu *c, uint64_t dr6_bits, uint64_t ret_rip)
{
	c->dr[6] |= dr6_bits;
	soft_deliver(c, X86_EXC_DB, SOFT_EVENT_EXCEPTION, SOFT_NO_ERRCODE, ret_rip);
}

/* What one delivery needs besides the IDT: the event and its EXT bit (§6.13). */
struct event {
	int vector;
	enum soft_event_kind kind;
	uint32_t errcode; /* SOFT_NO_ERRCODE: none pushed */
	uint32_t ext;	  /* 1 unless a software interrupt (INT n, INT3, INTO) */
	uint64_t ret_rip;
};

static uint32_t idt_err(const struct event *ev)
{
	return (uint32_t)ev->vector * 8 + 2 + ev->ext;
}

/* Real mode: the IVT (SDM Vol.3 §20.1.4). */
static void deliver_real(struct soft_cpu *c, const struct event *ev)
{
	uint64_t off = (uint64_t)ev->vector * 4;
	struct soft_stack st;

	if (off + 3 > c->idtr.limit)
		soft_raise(c, X86_EXC_GP, idt_err(ev));
	uint32_t vec = (uint32_t)soft_lin_read(c, (c->idtr.base + off) & 0xffffffff, 4,
					       SOFT_ACC_IMPLICIT);
	uint64_t flags = soft_flags_get(c);

	soft_stack_current(c, &st);
	soft_stack_push(c, &st, 2, flags);
	soft_stack_push(c, &st, 2, c->seg[S_CS].selector);
	soft_stack_push(c, &st, 2, ev->ret_rip);
	soft_stack_commit_sp(c, &st);
	soft_flags_set(c, flags & ~(X86_IF | X86_TF | X86_AC | X86_RF));
	soft_seg_load_real(c, S_CS, vec >> 16);
	c->rip = vec & 0xffff;
}

/* Reads and checks the gate's target code segment (common to both IDT forms). */
static void gate_target(struct soft_cpu *c, const struct event *ev, uint16_t sel,
			struct soft_desc *cs, bool need64)
{
	if ((sel & 0xfffc) == 0)
		soft_raise(c, X86_EXC_GP, ev->ext);
	if (soft_desc_read(c, sel, cs) != SOFT_DESC_OK)
		soft_raise(c, X86_EXC_GP, soft_sel_err(sel, ev->ext));
	if (!cs->seg.s || !(cs->seg.type & SEG_CODE) || cs->seg.dpl > c->cpl)
		soft_raise(c, X86_EXC_GP, soft_sel_err(sel, ev->ext));
	/* IA-32e handlers run in 64-bit code: CS.L = 1, CS.D = 0 (§6.14.1). */
	if (need64 && (!cs->seg.l || cs->seg.db))
		soft_raise(c, X86_EXC_GP, soft_sel_err(sel, ev->ext));
	if (!cs->seg.present)
		soft_raise(c, X86_EXC_NP, soft_sel_err(sel, ev->ext));
}

/* Reads a TSS field for a stack switch, with the TSS limit check (#TS(TR)). */
static uint64_t tss_read(struct soft_cpu *c, const struct event *ev, uint32_t off, unsigned size)
{
	const struct kvm_segment *tr = &c->seg[S_TR];

	if (tr->unusable || !tr->present || (uint64_t)off + size - 1 > tr->limit)
		soft_raise(c, X86_EXC_TS, soft_sel_err(tr->selector, ev->ext));
	uint64_t la = tr->base + off;
	if (!soft_long_mode(c))
		la &= 0xffffffff;
	return soft_lin_read(c, la, size, SOFT_ACC_IMPLICIT);
}

static void push_errcode(struct soft_cpu *c, struct soft_stack *st, const struct event *ev,
			 unsigned size)
{
	if (ev->kind == SOFT_EVENT_EXCEPTION && has_errcode(ev->vector))
		soft_stack_push(c, st, size,
				ev->errcode == SOFT_NO_ERRCODE ? 0 : ev->errcode);
}

static uint64_t flags_after(uint64_t flags, bool intgate)
{
	flags &= ~(X86_TF | X86_NT | X86_RF | X86_VM);
	if (intgate)
		flags &= ~X86_IF;
	return flags;
}

/* Protected mode, not IA-32e: 16- and 32-bit interrupt and trap gates (SDM Vol.2 INT n). */
static void deliver_prot(struct soft_cpu *c, const struct event *ev)
{
	uint64_t off = (uint64_t)ev->vector * 8;
	struct soft_desc cs, ss;
	struct soft_stack st;

	if (off + 7 > c->idtr.limit)
		soft_raise(c, X86_EXC_GP, idt_err(ev));
	uint64_t gate = soft_lin_read(c, (c->idtr.base + off) & 0xffffffff, 8, SOFT_ACC_IMPLICIT);
	unsigned type = DESC_TYPE(gate);
	if (DESC_S(gate))
		soft_raise(c, X86_EXC_GP, idt_err(ev));
	if (type == SYS_TASK)
		soft_internal_error(c, "IDT vector %d is a task gate: hardware task switching is "
				       "not supported", ev->vector);
	if (type != SYS_INT16 && type != SYS_TRAP16 && type != SYS_INT && type != SYS_TRAP)
		soft_raise(c, X86_EXC_GP, idt_err(ev));
	if ((ev->kind == SOFT_EVENT_SOFTINT || ev->kind == SOFT_EVENT_SOFTEXC) &&
	    DESC_DPL(gate) < c->cpl)
		soft_raise(c, X86_EXC_GP, idt_err(ev));
	if (!DESC_P(gate))
		soft_raise(c, X86_EXC_NP, idt_err(ev));

	bool g32 = type & 8, intgate = !(type & 1);
	unsigned gsz = g32 ? 4 : 2;
	uint16_t sel = GATE_SEL(gate);
	uint64_t eip = g32 ? GATE_OFF(gate) : GATE_OFF(gate) & 0xffff;
	gate_target(c, ev, sel, &cs, false);

	unsigned new_cpl = c->cpl;
	bool outer = !(cs.seg.type & SEG_CONFORMING) && cs.seg.dpl < c->cpl;
	uint64_t flags = soft_flags_get(c);
	if (flags & X86_VM)
		soft_internal_error(c, "interrupt from virtual-8086 mode: not supported");
	uint16_t ss_sel = 0;
	if (outer) {
		new_cpl = cs.seg.dpl;
		/* SDM Vol.3 §7.2.1 Figure 7-2 (32-bit TSS), Figure 7-11 (16-bit TSS). */
		bool tss32 = c->seg[S_TR].type == SYS_TSS_AVAIL || c->seg[S_TR].type == SYS_TSS_BUSY;
		uint32_t sp_off = tss32 ? 4 + new_cpl * 8 : 2 + new_cpl * 4;
		uint64_t new_sp = tss_read(c, ev, sp_off, tss32 ? 4 : 2);
		ss_sel = (uint16_t)tss_read(c, ev, sp_off + (tss32 ? 4 : 2), 2);
		if ((ss_sel & 0xfffc) == 0)
			soft_raise(c, X86_EXC_TS, ev->ext);
		soft_seg_check_ss(c, ss_sel, new_cpl, &ss, X86_EXC_TS, ev->ext);
		st.ss = ss.seg;
		st.size = ss.seg.db ? 4 : 2;
		st.sp = new_sp & soft_size_mask(st.size);
		st.acc = SOFT_ACC_IMPLICIT;
		st.vec = X86_EXC_SS;
		st.err = soft_sel_err(ss_sel, ev->ext);
		st.cur = false;
	} else {
		soft_stack_current(c, &st);
		st.err = ev->ext;
		st.cur = false;
	}
	if (eip > cs.seg.limit)
		soft_raise(c, X86_EXC_GP, ev->ext);

	if (outer) {
		soft_stack_push(c, &st, gsz, c->seg[S_SS].selector);
		soft_stack_push(c, &st, gsz, c->gpr[R_SP]);
	}
	soft_stack_push(c, &st, gsz, flags);
	soft_stack_push(c, &st, gsz, c->seg[S_CS].selector);
	soft_stack_push(c, &st, gsz, ev->ret_rip);
	push_errcode(c, &st, ev, gsz);

	/* Everything that can fault is done: commit. */
	soft_desc_set_type_bits(c, sel, &cs, DESC_A_BIT);
	if (outer) {
		soft_desc_set_type_bits(c, ss_sel, &ss, DESC_A_BIT);
		c->seg[S_SS] = ss.seg;
		c->seg[S_SS].selector = ss_sel;
	}
	soft_seg_load_cs(c, sel, &cs, new_cpl);
	soft_stack_commit_sp(c, &st);
	soft_flags_set(c, flags_after(flags, intgate));
	soft_mode_changed(c);
	c->rip = eip;
}

/* IA-32e mode: 16-byte gates, 64-bit targets, RSPn/IST from the 64-bit TSS (§6.14). */
static void deliver_long(struct soft_cpu *c, const struct event *ev)
{
	uint64_t off = (uint64_t)ev->vector * 16;
	struct soft_desc cs;
	struct soft_stack st;

	if (off + 15 > c->idtr.limit)
		soft_raise(c, X86_EXC_GP, idt_err(ev));
	uint64_t gate = soft_lin_read(c, c->idtr.base + off, 8, SOFT_ACC_IMPLICIT);
	uint64_t gate_hi = soft_lin_read(c, c->idtr.base + off + 8, 8, SOFT_ACC_IMPLICIT);
	unsigned type = DESC_TYPE(gate);
	/* Only 64-bit interrupt and trap gates exist in IA-32e mode (task gates neither). */
	if (DESC_S(gate) || (type != SYS_INT && type != SYS_TRAP))
		soft_raise(c, X86_EXC_GP, idt_err(ev));
	if ((ev->kind == SOFT_EVENT_SOFTINT || ev->kind == SOFT_EVENT_SOFTEXC) &&
	    DESC_DPL(gate) < c->cpl)
		soft_raise(c, X86_EXC_GP, idt_err(ev));
	if (!DESC_P(gate))
		soft_raise(c, X86_EXC_NP, idt_err(ev));

	uint16_t sel = GATE_SEL(gate);
	uint64_t rip = GATE_OFF(gate) | (gate_hi << 32);
	gate_target(c, ev, sel, &cs, true);

	bool outer = !(cs.seg.type & SEG_CONFORMING) && cs.seg.dpl < c->cpl;
	unsigned new_cpl = outer ? cs.seg.dpl : c->cpl;
	unsigned ist = GATE_IST(gate);
	uint64_t rsp = c->gpr[R_SP];
	uint64_t flags = soft_flags_get(c);
	if (ist)
		rsp = tss_read(c, ev, 36 + (ist - 1) * 8, 8);
	else if (outer)
		rsp = tss_read(c, ev, 4 + new_cpl * 8, 8);
	st.size = 8;
	st.sp = rsp & ~0xfull; /* §6.14.2: aligned to 16 bytes */
	st.acc = new_cpl < 3 ? SOFT_ACC_IMPLICIT : 0;
	st.vec = X86_EXC_SS;
	st.err = ev->ext;
	st.cur = false;
	if (!soft_canonical(rip))
		soft_raise(c, X86_EXC_GP, ev->ext);

	soft_stack_push(c, &st, 8, c->seg[S_SS].selector);
	soft_stack_push(c, &st, 8, c->gpr[R_SP]);
	soft_stack_push(c, &st, 8, flags);
	soft_stack_push(c, &st, 8, c->seg[S_CS].selector);
	soft_stack_push(c, &st, 8, ev->ret_rip);
	push_errcode(c, &st, ev, 8);

	soft_desc_set_type_bits(c, sel, &cs, DESC_A_BIT);
	if (outer) {
		/* The new SS is null with RPL = the new CPL (§6.14.4). */
		soft_seg_set_null(&c->seg[S_SS], new_cpl);
		c->seg[S_SS].dpl = new_cpl;
	}
	soft_seg_load_cs(c, sel, &cs, new_cpl);
	c->gpr[R_SP] = st.sp;
	soft_flags_set(c, flags_after(flags, type == SYS_INT));
	soft_mode_changed(c);
	c->rip = rip;
}

void soft_deliver(struct soft_cpu *c, int vector, enum soft_event_kind kind, uint32_t errcode,
		  uint64_t ret_rip)
{
	struct soft_excp_state *x = &c->segs.excp;
	struct event ev = {
		.vector = vector & 0xff,
		.kind = kind,
		.errcode = errcode,
		.ext = (kind == SOFT_EVENT_SOFTINT || kind == SOFT_EVENT_SOFTEXC) ? 0 : 1,
		.ret_rip = ret_rip,
	};

	if (c->exc_depth > 0 && kind == SOFT_EVENT_EXCEPTION) {
		/* The previous delivery faulted: SDM Vol.3 §6.15 Table 6-5. */
		unsigned first = x->delivering_class, second = exc_class(ev.vector);
		if (first == CLS_DF) {
			soft_cpu_shutdown(c);
			longjmp(c->fault_jmp, SOFT_JMP_SHUTDOWN);
		}
		if ((first == CLS_CONTRIB && second == CLS_CONTRIB) ||
		    (first == CLS_PF && (second == CLS_CONTRIB || second == CLS_PF))) {
			ev.vector = X86_EXC_DF;
			ev.errcode = 0;
			ev.ret_rip = c->rip;
		}
	}
	c->exc_depth = ev.vector == X86_EXC_DF && kind == SOFT_EVENT_EXCEPTION ? 2 : 1;
	x->delivering = ev.vector;
	x->delivering_class = kind == SOFT_EVENT_EXCEPTION ? exc_class(ev.vector) : CLS_BENIGN;
	if (kind == SOFT_EVENT_NMI)
		c->nmi_blocked = 1;

	if (!soft_protected(c))
		deliver_real(c, &ev);
	else if (soft_long_mode(c))
		deliver_long(c, &ev);
	else
		deliver_prot(c, &ev);

	c->next_rip = c->rip;
	c->exc_depth = 0;
	c->halted = 0;
	c->intr_shadow = 0;
	if (kind == SOFT_EVENT_EXCEPTION)
		x->delivered[ev.vector & 31]++;
	else if (kind == SOFT_EVENT_EXTINT || kind == SOFT_EVENT_NMI)
		x->interrupts++;
}
