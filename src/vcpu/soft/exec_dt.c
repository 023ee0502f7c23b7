// SPDX-License-Identifier: MIT
/*
 * Descriptor tables and segment registers: lgdt/lidt/sgdt/sidt, lldt/ltr,
 * sldt/str, lar/lsl, verr/verw, arpl, mov to/from a segment register,
 * push/pop of one, and the far-pointer loads lds/les/lfs/lgs/lss (SDM Vol.2
 * per instruction; checks of Vol.3 §5.5-5.6 through seg.c's loads). Every
 * read that can fault is done before a register, a table or a segment
 * changes.
 */
#include <Zydis/Mnemonic.h>

#include "sys_priv.h"

#define CR4_UMIP (1ull << 11)

static void need_cpl0(struct soft_cpu *c)
{
	if (c->cpl != 0)
		soft_raise(c, X86_EXC_GP, 0);
}

static _Noreturn void raise_ud(struct soft_cpu *c)
{
	soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
}

/* Real-address or virtual-8086 mode: where lldt, ltr, lar, ... are not recognised. */
static bool real_or_v86(const struct soft_cpu *c)
{
	return !soft_protected(c) || (c->rflags & X86_VM);
}

/* SDM Vol.3 §2.5 CR4.UMIP: sgdt, sidt, sldt, str and smsw are #GP(0) above CPL 0. */
static void umip_check(struct soft_cpu *c)
{
	if ((c->cr4 & CR4_UMIP) && c->cpl > 0)
		soft_raise(c, X86_EXC_GP, 0);
}

static uint64_t ea_plus(const struct soft_insn *i, uint64_t ea, unsigned n)
{
	return (ea + n) & soft_size_mask(i->asz);
}

static void set_zf(struct soft_cpu *c, bool zf)
{
	soft_flags_put(c, X86_ZF, zf ? X86_ZF : 0);
}

/* A data/stack segment register load: real mode and v8086 take the selector as a paragraph. */
static void load_sreg(struct soft_cpu *c, int sreg, uint16_t sel)
{
	if (real_or_v86(c))
		soft_seg_load_real(c, sreg, sel);
	else
		soft_seg_load(c, sreg, sel); /* SDM Vol.2 MOV "Operation", Vol.3 §5.5-5.6 */
}

/* --- GDTR and IDTR --- */

SYS_HANDLER(lgdt_lidt)
{
	bool gdt = i->mnemonic == ZYDIS_MNEMONIC_LGDT;

	if (!(i->flags & SOFT_I_MEM))
		raise_ud(c);
	need_cpl0(c);
	uint64_t ea = soft_sys_ea(c, i);
	uint16_t limit = (uint16_t)soft_mem_read(c, i->seg, ea, 2);
	uint64_t base;
	if (c->code64) {
		/* 64-bit mode: 8-byte base whatever the operand size (SDM Vol.2 LGDT). */
		base = soft_mem_read(c, i->seg, ea_plus(i, ea, 2), 8);
		if (!soft_canonical(base))
			soft_raise(c, X86_EXC_GP, 0);
	} else {
		base = soft_mem_read(c, i->seg, ea_plus(i, ea, 2), 4);
		if (i->osz == 2)
			base &= 0xffffff; /* 16-bit operand: 24-bit base */
	}
	struct kvm_dtable *t = gdt ? &c->gdtr : &c->idtr;
	/* seg.c keys its shadow on the GDT's base and limit, so a new GDT is not yet mapped. */
	t->base = base;
	t->limit = limit;
}

SYS_HANDLER(sgdt_sidt)
{
	const struct kvm_dtable *t = i->mnemonic == ZYDIS_MNEMONIC_SGDT ? &c->gdtr : &c->idtr;

	if (!(i->flags & SOFT_I_MEM))
		raise_ud(c);
	umip_check(c);
	/* 16- and 32-bit operands store the full 32-bit base; 64-bit mode 8 bytes (SDM SGDT). */
	unsigned bsz = c->code64 ? 8 : 4;
	uint64_t ea = soft_sys_ea(c, i), ea2 = ea_plus(i, ea, 2);
	soft_mem_check(c, i->seg, ea, 2, SOFT_ACC_WRITE);
	soft_mem_check(c, i->seg, ea2, bsz, SOFT_ACC_WRITE);
	soft_mem_write(c, i->seg, ea, 2, t->limit);
	soft_mem_write(c, i->seg, ea2, bsz, bsz == 8 ? t->base : t->base & 0xffffffff);
}

/* --- LDTR and TR --- */

/*
 * Reads the GDT descriptor a lldt/ltr selector names: not in the LDT, within
 * the GDT limit (16 bytes in IA-32e mode) and, in IA-32e mode, with a
 * canonical base (SDM Vol.2 LLDT, LTR).
 */
static void system_desc(struct soft_cpu *c, uint16_t sel, struct soft_desc *d)
{
	uint32_t err = sel & 0xfffc;

	if ((sel & 4) || soft_desc_read(c, sel, d) != SOFT_DESC_OK)
		soft_raise(c, X86_EXC_GP, err);
	if (soft_long_mode(c) && !soft_canonical(d->seg.base))
		soft_raise(c, X86_EXC_GP, err);
}

SYS_HANDLER(lldt)
{
	struct soft_desc d;

	if (real_or_v86(c))
		raise_ud(c);
	need_cpl0(c);
	uint16_t sel = (uint16_t)soft_sys_rm_read(c, i, 2);
	if ((sel & 0xfffc) == 0) {
		/* A null selector leaves LDTR invalid; later LDT references #GP. */
		soft_seg_set_null(&c->seg[S_LDTR], sel);
		return;
	}
	system_desc(c, sel, &d);
	if (d.seg.s || d.seg.type != SYS_LDT)
		soft_raise(c, X86_EXC_GP, sel & 0xfffc);
	if (!d.seg.present)
		soft_raise(c, X86_EXC_NP, sel & 0xfffc);
	/* seg.c keys the LDT shadow on LDTR's base and limit: a new LDT is not yet mapped. */
	c->seg[S_LDTR] = d.seg;
	c->seg[S_LDTR].selector = sel;
}

SYS_HANDLER(ltr)
{
	struct soft_desc d;

	if (real_or_v86(c))
		raise_ud(c);
	need_cpl0(c);
	uint16_t sel = (uint16_t)soft_sys_rm_read(c, i, 2);
	if ((sel & 0xfffc) == 0)
		soft_raise(c, X86_EXC_GP, 0);
	system_desc(c, sel, &d);
	/* An available TSS: 32-bit (64-bit in IA-32e mode), or 16-bit outside IA-32e mode. */
	bool ok = !d.seg.s && (d.seg.type == SYS_TSS_AVAIL ||
			       (d.seg.type == SYS_TSS16_AVAIL && !soft_long_mode(c)));
	if (!ok)
		soft_raise(c, X86_EXC_GP, sel & 0xfffc);
	if (!d.seg.present)
		soft_raise(c, X86_EXC_NP, sel & 0xfffc);
	/* The busy bit goes to the GDT first: a fault there leaves TR as it was. */
	soft_desc_set_type_bits(c, sel, &d, DESC_BUSY_BIT);
	c->seg[S_TR] = d.seg;
	c->seg[S_TR].selector = sel;
}

SYS_HANDLER(sldt_str)
{
	int sreg = i->mnemonic == ZYDIS_MNEMONIC_SLDT ? S_LDTR : S_TR;

	if (real_or_v86(c))
		raise_ud(c);
	umip_check(c);
	uint16_t sel = c->seg[sreg].selector;
	if (i->flags & SOFT_I_MEM)
		soft_mem_write(c, i->seg, soft_sys_ea(c, i), 2, sel);
	else
		soft_reg_write(c, i->rm, i->osz, sel); /* zero-extended to the operand size */
}

/* --- lar, lsl, verr, verw --- */

static bool conforming_code(const struct soft_desc *d)
{
	return d->seg.s &&
	       (d->seg.type & (SEG_CODE | SEG_CONFORMING)) == (SEG_CODE | SEG_CONFORMING);
}

/* The visibility rule of lar, lsl, verr and verw: DPL >= CPL and DPL >= RPL, except conforming
 * code. */
static bool desc_visible(const struct soft_cpu *c, uint16_t sel, const struct soft_desc *d)
{
	if (conforming_code(d))
		return true;
	return d->seg.dpl >= c->cpl && d->seg.dpl >= soft_sel_rpl(sel);
}

/* System descriptor types lar (or lsl, which takes no gates) accepts (SDM Vol.2 LAR/LSL tables). */
static bool sys_type_ok(const struct soft_cpu *c, unsigned type, bool lar)
{
	if (soft_long_mode(c)) {
		switch (type) {
		case SYS_LDT:
		case SYS_TSS_AVAIL:
		case SYS_TSS_BUSY:
			return true;
		case SYS_CALL:
			return lar;
		}
		return false;
	}
	switch (type) {
	case SYS_TSS16_AVAIL:
	case SYS_LDT:
	case SYS_TSS16_BUSY:
	case SYS_TSS_AVAIL:
	case SYS_TSS_BUSY:
		return true;
	case SYS_CALL16:
	case SYS_TASK:
	case SYS_CALL:
		return lar;
	}
	return false;
}

SYS_HANDLER(lar_lsl)
{
	bool lar = i->mnemonic == ZYDIS_MNEMONIC_LAR;
	struct soft_desc d;

	if (real_or_v86(c))
		raise_ud(c);
	uint16_t sel = (uint16_t)soft_sys_rm_read(c, i, 2);
	bool ok = soft_desc_read(c, sel, &d) == SOFT_DESC_OK;
	if (ok && !d.seg.s)
		ok = sys_type_ok(c, d.seg.type, lar);
	if (ok)
		ok = desc_visible(c, sel, &d);
	if (ok) {
		uint64_t v;
		if (lar)
			/* Bytes 4..7 masked by 00FxFF00H (FF00H for 16 bits); x reads as 0. */
			v = (d.raw >> 32) & (i->osz == 2 ? 0xff00u : 0x00f0ff00u);
		else
			v = d.seg.limit; /* scaled by G */
		soft_reg_write(c, i->reg, i->osz, v);
	}
	/* ZF = 0 leaves the destination unchanged. */
	set_zf(c, ok);
}

SYS_HANDLER(verr_verw)
{
	bool write = i->mnemonic == ZYDIS_MNEMONIC_VERW;
	struct soft_desc d;

	if (real_or_v86(c))
		raise_ud(c);
	uint16_t sel = (uint16_t)soft_sys_rm_read(c, i, 2);
	bool ok = soft_desc_read(c, sel, &d) == SOFT_DESC_OK && d.seg.s && desc_visible(c, sel, &d);
	if (ok) {
		unsigned type = d.seg.type;
		if (write)
			ok = !(type & SEG_CODE) && (type & SEG_WRITABLE);
		else
			ok = !(type & SEG_CODE) || (type & SEG_READABLE);
	}
	set_zf(c, ok);
}

SYS_HANDLER(arpl)
{
	/* 0x63 is movsxd in 64-bit mode; arpl is not recognised in real mode or v8086. */
	if (c->code64 || real_or_v86(c))
		raise_ud(c);
	uint64_t ea = 0;
	uint16_t dst;
	if (i->flags & SOFT_I_MEM) {
		ea = soft_sys_ea(c, i);
		dst = (uint16_t)soft_mem_read_rmw(c, i->seg, ea, 2);
	} else {
		dst = (uint16_t)soft_reg_read(c, i->rm, 2);
	}
	uint16_t src = (uint16_t)soft_reg_read(c, i->reg, 2);
	bool adjust = soft_sel_rpl(dst) < soft_sel_rpl(src);
	if (adjust) {
		dst = (dst & ~3) | soft_sel_rpl(src);
		if (i->flags & SOFT_I_MEM)
			soft_mem_write(c, i->seg, ea, 2, dst);
		else
			soft_reg_write(c, i->rm, 2, dst);
	}
	set_zf(c, adjust);
}

/* --- segment registers --- */

SYS_HANDLER(mov_sreg)
{
	int sreg = i->reg;

	if (sreg > S_GS)
		raise_ud(c);
	if (i->op == SOFT_SYS_MOV_FROM_SREG) {
		uint16_t sel = c->seg[sreg].selector;
		if (i->flags & SOFT_I_MEM)
			soft_mem_write(c, i->seg, soft_sys_ea(c, i), 2, sel);
		else
			soft_reg_write(c, i->rm, i->osz, sel); /* zero-extended (SDM Vol.2 MOV) */
		return;
	}
	/* mov cs is invalid: far transfers load CS. */
	if (sreg == S_CS)
		raise_ud(c);
	uint16_t sel = (uint16_t)soft_sys_rm_read(c, i, 2);
	load_sreg(c, sreg, sel);
	if (sreg == S_SS)
		c->intr_shadow =
			1; /* SDM Vol.3 §6.8.3: no event until after the next instruction */
}

SYS_HANDLER(push_sreg)
{
	int sreg = i->reg;
	struct soft_stack st;

	/* 64-bit mode has push fs/gs only (06, 0E, 16, 1E are invalid there). */
	if (sreg > S_GS || (c->code64 && sreg != S_FS && sreg != S_GS))
		raise_ud(c);
	/* A wider slot gets the selector zero-extended (one of the SDM's two choices). */
	soft_stack_current(c, &st);
	soft_stack_push(c, &st, i->osz, c->seg[sreg].selector);
	soft_stack_commit_sp(c, &st);
}

SYS_HANDLER(pop_sreg)
{
	int sreg = i->reg;
	struct soft_stack st;

	/* pop cs does not exist; 64-bit mode has pop fs/gs only. */
	if (sreg == S_CS || sreg > S_GS || (c->code64 && sreg != S_FS && sreg != S_GS))
		raise_ud(c);
	/* The stack is read first, the segment loaded (may fault), then rSP moves. */
	soft_stack_current(c, &st);
	uint16_t sel = (uint16_t)soft_stack_pop(c, &st, i->osz);
	load_sreg(c, sreg, sel);
	soft_stack_commit_sp(c, &st);
	if (sreg == S_SS)
		c->intr_shadow = 1; /* SDM Vol.3 §6.8.3 */
}

SYS_HANDLER(load_far_ptr)
{
	int sreg;

	switch (i->mnemonic) {
	case ZYDIS_MNEMONIC_LDS:
		sreg = S_DS;
		break;
	case ZYDIS_MNEMONIC_LES:
		sreg = S_ES;
		break;
	case ZYDIS_MNEMONIC_LFS:
		sreg = S_FS;
		break;
	case ZYDIS_MNEMONIC_LGS:
		sreg = S_GS;
		break;
	default:
		sreg = S_SS;
		break;
	}
	/* lds/les are not encodable in 64-bit mode (C4/C5 are VEX there); no register form. */
	if (!(i->flags & SOFT_I_MEM) || (c->code64 && (sreg == S_DS || sreg == S_ES)))
		raise_ud(c);
	/* m16:16, m16:32 or m16:64: the offset, then the selector (SDM Vol.2 LDS/LES/...). */
	unsigned osz = i->osz;
	uint64_t ea = soft_sys_ea(c, i);
	uint64_t off = soft_mem_read(c, i->seg, ea, osz);
	uint16_t sel = (uint16_t)soft_mem_read(c, i->seg, ea_plus(i, ea, osz), 2);
	load_sreg(c, sreg, sel);
	soft_reg_write(c, i->reg, osz, off);
}
