// SPDX-License-Identifier: MIT
/*
 * Far control transfers: jmp far, call far, ret far (SDM Vol.2 JMP, CALL,
 * RET "Operation"; Vol.3 §5.8 privilege-level checks and call gates, §5.8.5
 * stack switching, §5.8.6 returns to outer levels). Real and virtual-8086
 * mode load CS as sel << 4. Protected and IA-32e mode go to a code segment
 * (conforming or not) or through a call gate (16/32-bit gates; 16-byte
 * 64-bit gates in IA-32e mode). Task gates and TSS targets would switch
 * tasks, which the soft CPU does not implement: like excp.c's IDT task
 * gates, they end in soft_internal_error() once the privilege checks passed.
 *
 * Every read and check comes first; stack writes go below the stack
 * pointer; registers change only after everything that can fault is done.
 */
#include <string.h>

#include "sys_priv.h"

static bool virtual_8086(const struct soft_cpu *c)
{
	return soft_protected(c) && (c->rflags & X86_VM);
}

/* Real mode keeps CS's limit and attributes; virtual-8086 mode has fixed ones (SDM Vol.3 §20.1). */
static void load_cs_real(struct soft_cpu *c, uint16_t sel)
{
	soft_seg_load_real(c, S_CS, sel);
	if (virtual_8086(c)) {
		struct kvm_segment *s = &c->seg[S_CS];
		s->limit = 0xffff;
		s->type = 0xb;
		s->s = 1;
		s->dpl = 3;
		s->db = 0;
		s->g = 0;
		s->l = 0;
		soft_mode_changed(c);
	}
}

/*
 * The far pointer: from the instruction (ptr16:16/32) or memory
 * (m16:16/32/64, offset first). The direct forms do not exist in 64-bit
 * mode, and the indirect forms take no register operand.
 */
static void far_pointer(struct soft_cpu *c, const struct soft_insn *i, uint64_t *off, uint16_t *sel)
{
	if (!(i->flags & SOFT_I_MEM)) {
		if (c->code64 || i->rm != SOFT_NOREG)
			soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
		*off = i->imm & soft_size_mask(i->osz);
		*sel = i->imm2;
		return;
	}
	uint64_t ea = soft_sys_ea(c, i);
	*off = soft_mem_read(c, i->seg, ea, i->osz);
	*sel = (uint16_t)soft_mem_read(c, i->seg, (ea + i->osz) & soft_size_mask(i->asz), 2);
}

static uint32_t sel_err(uint16_t sel)
{
	return soft_sel_err(sel, 0);
}

static bool is_code(const struct soft_desc *d)
{
	return d->seg.s && (d->seg.type & SEG_CODE);
}

static bool is_conforming(const struct soft_desc *d)
{
	return d->seg.type & SEG_CONFORMING;
}

/* A 64-bit target: IA-32e mode and CS.L = 1. */
static bool target64(const struct soft_cpu *c, const struct soft_desc *cs)
{
	return soft_long_mode(c) && cs->seg.l;
}

/* L = 1 with D = 1 is reserved in IA-32e mode (SDM Vol.2 JMP/CALL/RET, Vol.3 §5.2.1). */
static bool bad_ld(const struct soft_cpu *c, const struct soft_desc *cs)
{
	return soft_long_mode(c) && cs->seg.l && cs->seg.db;
}

/* tempEIP: the code-segment limit unless the target is 64-bit code, which must be canonical. */
static void check_target(struct soft_cpu *c, const struct soft_desc *cs, uint64_t eip)
{
	if (target64(c, cs) ? !soft_canonical(eip) : eip > cs->seg.limit)
		soft_raise(c, X86_EXC_GP, 0);
}

/* Reads a far target's descriptor: a null selector is #GP(0), one outside its table #GP(sel). */
static void read_target(struct soft_cpu *c, uint16_t sel, struct soft_desc *d)
{
	if ((sel & 0xfffc) == 0)
		soft_raise(c, X86_EXC_GP, 0);
	if (soft_desc_read(c, sel, d) != SOFT_DESC_OK)
		soft_raise(c, X86_EXC_GP, sel_err(sel));
}

/* Direct transfer to a code segment (SDM Vol.3 §5.8.1, §5.8.2). */
static void check_code_direct(struct soft_cpu *c, uint16_t sel, const struct soft_desc *d)
{
	if (bad_ld(c, d))
		soft_raise(c, X86_EXC_GP, sel_err(sel));
	if (is_conforming(d) ? d->seg.dpl > c->cpl
			     : soft_sel_rpl(sel) > c->cpl || d->seg.dpl != c->cpl)
		soft_raise(c, X86_EXC_GP, sel_err(sel));
	if (!d->seg.present)
		soft_raise(c, X86_EXC_NP, sel_err(sel));
}

/*
 * A task gate or TSS as a jmp/call target outside IA-32e mode: the checks
 * of SDM Vol.2 JMP/CALL "TASK-GATE" and "TASK-STATE-SEGMENT", then the task
 * switch the soft CPU does not implement (Vol.3 §7.3).
 */
static _Noreturn void task_target(struct soft_cpu *c, uint16_t sel, const struct soft_desc *d,
				  const char *insn)
{
	unsigned type = DESC_TYPE(d->raw);

	if (DESC_DPL(d->raw) < c->cpl || DESC_DPL(d->raw) < soft_sel_rpl(sel))
		soft_raise(c, X86_EXC_GP, sel_err(sel));
	if (!DESC_P(d->raw))
		soft_raise(c, X86_EXC_NP, sel_err(sel));
	soft_internal_error(c, "%s far to %s %#x: hardware task switching is not supported", insn,
			    type == SYS_TASK ? "task gate" : "TSS", sel);
}

/* A call gate resolved to its target (SDM Vol.3 §5.8.4, Figures 5-8 and 5-9). */
struct gate {
	uint16_t sel;	     /* the gate's code-segment selector */
	struct soft_desc cs; /* its descriptor */
	uint64_t eip;	     /* the entry point */
	unsigned size;	     /* gate size: 2, 4 or 8 (the pushes) */
	unsigned params;     /* 32/16-bit gates: stack entries to copy on a stack switch */
};

static void call_gate(struct soft_cpu *c, uint16_t gsel, const struct soft_desc *g, bool call,
		      struct gate *t)
{
	unsigned dpl = DESC_DPL(g->raw);

	if (dpl < c->cpl || dpl < soft_sel_rpl(gsel))
		soft_raise(c, X86_EXC_GP, sel_err(gsel));
	if (!DESC_P(g->raw))
		soft_raise(c, X86_EXC_NP, sel_err(gsel));
	/* The upper half of a 64-bit gate has type 0 where a descriptor's type would be. */
	if (soft_long_mode(c) && ((g->raw_hi >> 40) & 0x1f) != 0)
		soft_raise(c, X86_EXC_GP, sel_err(gsel));

	t->sel = GATE_SEL(g->raw);
	if ((t->sel & 0xfffc) == 0)
		soft_raise(c, X86_EXC_GP, 0);
	if (soft_desc_read(c, t->sel, &t->cs) != SOFT_DESC_OK)
		soft_raise(c, X86_EXC_GP, sel_err(t->sel));
	const struct soft_desc *cs = &t->cs;
	if (!is_code(cs) || cs->seg.dpl > c->cpl)
		soft_raise(c, X86_EXC_GP, sel_err(t->sel));
	/* jmp never changes privilege: a non-conforming target must be at CPL. */
	if (!call && !is_conforming(cs) && cs->seg.dpl != c->cpl)
		soft_raise(c, X86_EXC_GP, sel_err(t->sel));
	/* IA-32e call gates lead to 64-bit code only. */
	if (soft_long_mode(c) && (!cs->seg.l || cs->seg.db))
		soft_raise(c, X86_EXC_GP, sel_err(t->sel));
	if (!cs->seg.present)
		soft_raise(c, X86_EXC_NP, sel_err(t->sel));

	if (soft_long_mode(c)) {
		t->size = 8;
		t->params = 0;
		t->eip = GATE_OFF(g->raw) | ((g->raw_hi & 0xffffffff) << 32);
	} else if (DESC_TYPE(g->raw) == SYS_CALL16) {
		t->size = 2;
		t->params = GATE_PARAMS(g->raw);
		t->eip = GATE_OFF(g->raw) & 0xffff;
	} else {
		t->size = 4;
		t->params = GATE_PARAMS(g->raw);
		t->eip = GATE_OFF(g->raw);
	}
}

/*
 * The descriptor types a far jmp/call accepts (SDM Vol.2 CALL): code, call
 * gates, and outside IA-32e mode task gates and available TSSs. Returns the
 * system type, or 0 for a code segment.
 */
static unsigned target_kind(struct soft_cpu *c, uint16_t sel, const struct soft_desc *d)
{
	if (is_code(d))
		return 0;
	if (!d->seg.s) {
		unsigned type = DESC_TYPE(d->raw);
		if (type == SYS_CALL)
			return type;
		if (!soft_long_mode(c) && (type == SYS_CALL16 || type == SYS_TASK ||
					   type == SYS_TSS16_AVAIL || type == SYS_TSS_AVAIL))
			return type;
	}
	soft_raise(c, X86_EXC_GP, sel_err(sel));
}

/* Commits a transfer at the current privilege level: CS (RPL = CPL) and rIP. */
static void commit_cs(struct soft_cpu *c, uint16_t sel, struct soft_desc *d, unsigned cpl,
		      uint64_t eip)
{
	soft_seg_load_cs(c, sel, d, cpl);
	soft_mode_changed(c);
	c->next_rip = eip;
}

SYS_HANDLER(jmp_far)
{
	uint64_t off;
	uint16_t sel;
	struct soft_desc d;

	far_pointer(c, i, &off, &sel);
	if (!soft_protected(c) || virtual_8086(c)) {
		/* Real-address and virtual-8086 mode: the limit is the one CS keeps. */
		if (off > c->seg[S_CS].limit)
			soft_raise(c, X86_EXC_GP, 0);
		load_cs_real(c, sel);
		c->next_rip = off;
		return;
	}
	read_target(c, sel, &d);
	unsigned kind = target_kind(c, sel, &d);
	if (kind == 0) {
		check_code_direct(c, sel, &d);
		check_target(c, &d, off);
		soft_desc_set_type_bits(c, sel, &d, DESC_A_BIT);
		commit_cs(c, sel, &d, c->cpl, off);
		return;
	}
	if (kind != SYS_CALL && kind != SYS_CALL16)
		task_target(c, sel, &d, "jmp");

	struct gate g;
	call_gate(c, sel, &d, false, &g);
	check_target(c, &g.cs, g.eip);
	soft_desc_set_type_bits(c, g.sel, &g.cs, DESC_A_BIT);
	commit_cs(c, g.sel, &g.cs, c->cpl, g.eip);
}

/* Reads a TSS field for a call gate's stack switch, with the TSS limit check (#TS(TR)). */
static uint64_t tss_read(struct soft_cpu *c, uint32_t off, unsigned size)
{
	const struct kvm_segment *tr = &c->seg[S_TR];

	if (tr->unusable || !tr->present || (uint64_t)off + size - 1 > tr->limit)
		soft_raise(c, X86_EXC_TS, sel_err(tr->selector));
	uint64_t la = tr->base + off;
	if (!soft_long_mode(c))
		la &= 0xffffffff;
	return soft_lin_read(c, la, size, SOFT_ACC_IMPLICIT);
}

/*
 * call through a gate to a more privileged non-conforming segment (SDM
 * Vol.2 CALL "MORE-PRIVILEGE", Vol.3 §5.8.5 and Figure 5-13): the new stack
 * from the TSS, the caller's SS:rSP and parameters on it, then CS:rIP.
 */
static void call_gate_inner(struct soft_cpu *c, const struct soft_insn *i, struct gate *g)
{
	unsigned new_cpl = g->cs.seg.dpl, sz = g->size;
	struct soft_desc ss;
	struct soft_stack st;
	uint16_t ss_sel = 0;
	uint64_t tss_sp;

	memset(&ss, 0, sizeof(ss));
	memset(&st, 0, sizeof(st));

	if (soft_long_mode(c)) {
		/* 64-bit TSS: RSPn; the new SS is null (§5.8.5.1 / §6.14.4). */
		tss_sp = tss_read(c, 4 + new_cpl * 8, 8);
		st.size = 8;
		st.sp = tss_sp;
		st.err = 0;
	} else {
		/* SDM Vol.3 Figure 7-2 (32-bit TSS) and Figure 7-11 (16-bit TSS). */
		unsigned trt = c->seg[S_TR].type;
		bool tss32 = trt == SYS_TSS_AVAIL || trt == SYS_TSS_BUSY;
		uint32_t sp_off = tss32 ? 4 + new_cpl * 8 : 2 + new_cpl * 4;
		tss_sp = tss_read(c, sp_off, tss32 ? 4 : 2);
		ss_sel = (uint16_t)tss_read(c, sp_off + (tss32 ? 4 : 2), 2);
		if ((ss_sel & 0xfffc) == 0)
			soft_raise(c, X86_EXC_TS, sel_err(ss_sel));
		soft_seg_check_ss(c, ss_sel, new_cpl, &ss, X86_EXC_TS, 0);
		st.ss = ss.seg;
		st.size = ss.seg.db ? 4 : 2;
		st.sp = tss_sp & soft_size_mask(st.size);
		st.err = sel_err(ss_sel);
	}
	st.acc = SOFT_ACC_IMPLICIT;
	st.vec = X86_EXC_SS;
	st.cur = false;

	/* The caller's parameters, read before anything is written (GATE_PARAMS <= 31). */
	uint64_t param[32];
	struct soft_stack old;
	soft_stack_current(c, &old);
	for (unsigned n = 0; n < g->params; n++)
		param[n] = soft_stack_pop(c, &old, sz);

	soft_stack_push(c, &st, sz, c->seg[S_SS].selector);
	soft_stack_push(c, &st, sz, c->gpr[R_SP]);
	for (unsigned n = g->params; n-- > 0;)
		soft_stack_push(c, &st, sz, param[n]);
	soft_stack_push(c, &st, sz, c->seg[S_CS].selector);
	soft_stack_push(c, &st, sz, c->rip + i->len);
	check_target(c, &g->cs, g->eip);

	/* Everything that can fault is done: commit. */
	soft_desc_set_type_bits(c, g->sel, &g->cs, DESC_A_BIT);
	if (soft_long_mode(c)) {
		soft_seg_set_null(&c->seg[S_SS], new_cpl);
		c->seg[S_SS].dpl = new_cpl;
		c->gpr[R_SP] = st.sp;
	} else {
		soft_desc_set_type_bits(c, ss_sel, &ss, DESC_A_BIT);
		c->seg[S_SS] = ss.seg;
		c->seg[S_SS].selector = ss_sel;
		/* ESP is loaded from the TSS; a 16-bit stack moved only its low half since. */
		uint64_t m = soft_size_mask(st.size);
		soft_reg_write(c, R_SP, 4, (tss_sp & ~m) | st.sp);
	}
	commit_cs(c, g->sel, &g->cs, new_cpl, g->eip);
}

SYS_HANDLER(call_far)
{
	uint64_t off, ret = c->rip + i->len;
	uint16_t sel;
	struct soft_desc d;
	struct soft_stack st;

	far_pointer(c, i, &off, &sel);
	if (!soft_protected(c) || virtual_8086(c)) {
		if (off > c->seg[S_CS].limit)
			soft_raise(c, X86_EXC_GP, 0);
		soft_stack_current(c, &st);
		soft_stack_push(c, &st, i->osz, c->seg[S_CS].selector);
		soft_stack_push(c, &st, i->osz, ret);
		soft_stack_commit_sp(c, &st);
		load_cs_real(c, sel);
		c->next_rip = off;
		return;
	}
	read_target(c, sel, &d);
	unsigned kind = target_kind(c, sel, &d);
	if (kind == 0) {
		check_code_direct(c, sel, &d);
		soft_stack_current(c, &st);
		soft_stack_push(c, &st, i->osz, c->seg[S_CS].selector);
		soft_stack_push(c, &st, i->osz, ret);
		check_target(c, &d, off);
		soft_desc_set_type_bits(c, sel, &d, DESC_A_BIT);
		soft_stack_commit_sp(c, &st);
		commit_cs(c, sel, &d, c->cpl, off);
		return;
	}
	if (kind != SYS_CALL && kind != SYS_CALL16)
		task_target(c, sel, &d, "call");

	struct gate g;
	call_gate(c, sel, &d, true, &g);
	if (!is_conforming(&g.cs) && g.cs.seg.dpl < c->cpl) {
		call_gate_inner(c, i, &g);
		return;
	}
	/* Same privilege (SDM Vol.2 CALL "SAME-PRIVILEGE"): the gate size sets the pushes. */
	soft_stack_current(c, &st);
	soft_stack_push(c, &st, g.size, c->seg[S_CS].selector);
	soft_stack_push(c, &st, g.size, ret);
	check_target(c, &g.cs, g.eip);
	soft_desc_set_type_bits(c, g.sel, &g.cs, DESC_A_BIT);
	soft_stack_commit_sp(c, &st);
	commit_cs(c, g.sel, &g.cs, c->cpl, g.eip);
}

/* Checks of SDM Vol.2 RET on the return code segment (protected and IA-32e mode). */
static void check_return_cs(struct soft_cpu *c, uint16_t sel, struct soft_desc *d)
{
	unsigned rpl = soft_sel_rpl(sel);

	read_target(c, sel, d);
	if (!is_code(d) || rpl < c->cpl || bad_ld(c, d))
		soft_raise(c, X86_EXC_GP, sel_err(sel));
	if (is_conforming(d) ? d->seg.dpl > rpl : d->seg.dpl != rpl)
		soft_raise(c, X86_EXC_GP, sel_err(sel));
	if (!d->seg.present)
		soft_raise(c, X86_EXC_NP, sel_err(sel));
}

SYS_HANDLER(ret_far)
{
	unsigned osz = i->osz;
	uint64_t imm = i->imm & 0xffff;
	struct soft_stack st;
	struct soft_desc cs, ss;

	soft_stack_current(c, &st);
	uint64_t eip = soft_stack_pop(c, &st, osz);
	uint16_t sel = (uint16_t)soft_stack_pop(c, &st, osz);
	uint64_t spm = soft_size_mask(st.size);

	if (!soft_protected(c) || virtual_8086(c)) {
		if (eip > c->seg[S_CS].limit)
			soft_raise(c, X86_EXC_GP, 0);
		st.sp = (st.sp + imm) & spm;
		soft_stack_commit_sp(c, &st);
		load_cs_real(c, sel);
		c->next_rip = eip;
		return;
	}
	check_return_cs(c, sel, &cs);
	unsigned rpl = soft_sel_rpl(sel);
	if (rpl == c->cpl) {
		check_target(c, &cs, eip);
		soft_desc_set_type_bits(c, sel, &cs, DESC_A_BIT);
		st.sp = (st.sp + imm) & spm;
		soft_stack_commit_sp(c, &st);
		commit_cs(c, sel, &cs, rpl, eip);
		return;
	}

	/* Return to an outer level (SDM Vol.3 §5.8.6): the caller's SS:rSP is above the parameters.
	 */
	st.sp = (st.sp + imm) & spm;
	uint64_t sp = soft_stack_pop(c, &st, osz);
	uint16_t ss_sel = (uint16_t)soft_stack_pop(c, &st, osz);
	bool null_ss = (ss_sel & 0xfffc) == 0;
	if (null_ss) {
		/* IA-32e mode lets a return to 64-bit code below ring 3 load a null SS. */
		if (!target64(c, &cs) || rpl == 3 || soft_sel_rpl(ss_sel) == 3)
			soft_raise(c, X86_EXC_GP, 0);
	} else {
		soft_seg_check_ss(c, ss_sel, rpl, &ss, X86_EXC_GP, 0);
	}
	check_target(c, &cs, eip);

	soft_desc_set_type_bits(c, sel, &cs, DESC_A_BIT);
	if (!null_ss)
		soft_desc_set_type_bits(c, ss_sel, &ss, DESC_A_BIT);
	if (null_ss) {
		soft_seg_set_null(&c->seg[S_SS], ss_sel);
		c->seg[S_SS].dpl = rpl;
	} else {
		c->seg[S_SS] = ss.seg;
		c->seg[S_SS].selector = ss_sel;
	}
	commit_cs(c, sel, &cs, rpl, eip);
	/* rSP from the popped value, then release the parameters on the caller's stack. */
	soft_reg_write(c, R_SP, osz, sp);
	soft_reg_write(c, R_SP, c->ssize, c->gpr[R_SP] + imm);
	soft_seg_drop_inner(c, rpl);
}
