// SPDX-License-Identifier: MIT
/*
 * The x87/SSE state (fpu.h): reset, struct kvm_fpu, the CR0/CR4 checks every
 * x87 and SSE instruction makes first, and the instructions that move the
 * whole state: fwait, fxsave/fxrstor (SDM Vol.2 FXSAVE, Table 3-43..3-46),
 * fnstenv/fldenv and fnsave/frstor (Vol.1 §8.1.10, Figures 8-9..8-12),
 * ldmxcsr/stmxcsr.
 */
#include <Zydis/Mnemonic.h>
#include <string.h>

#include "exec.h"
#include "fpu.h"

void soft_fpu_reset(struct soft_fpu *f)
{
	memset(f, 0, sizeof(*f));
	f->fx.fcw = 0x37f;
	f->fx.mxcsr = SOFT_MXCSR_RESET;
	f->fx.mxcsr_mask = SOFT_MXCSR_MASK;
}

void soft_fpu_get_kvm(const struct soft_fpu *f, struct kvm_fpu *k)
{
	memset(k, 0, sizeof(*k));
	for (unsigned n = 0; n < 8; n++)
		memcpy(k->fpr[n], &f->fx.st[n], 16);
	k->fcw = f->fx.fcw;
	k->fsw = f->fx.fsw;
	k->ftwx = f->fx.ftw;
	k->last_opcode = f->fx.fop;
	k->last_ip = f->fx.fip;
	k->last_dp = f->fx.fdp;
	memcpy(k->xmm, f->fx.xmm, sizeof(k->xmm));
	k->mxcsr = f->fx.mxcsr;
}

void soft_fpu_set_kvm(struct soft_fpu *f, const struct kvm_fpu *k)
{
	for (unsigned n = 0; n < 8; n++)
		memcpy(&f->fx.st[n], k->fpr[n], 16);
	f->fx.fcw = k->fcw;
	f->fx.fsw = k->fsw;
	f->fx.ftw = k->ftwx;
	f->fx.fop = k->last_opcode & 0x7ff;
	f->fx.fip = k->last_ip;
	f->fx.fdp = k->last_dp;
	memcpy(f->fx.xmm, k->xmm, sizeof(f->fx.xmm));
	f->fx.mxcsr = k->mxcsr & SOFT_MXCSR_MASK;
	f->fx.mxcsr_mask = SOFT_MXCSR_MASK;
	f->fcs = f->fds = 0;
	soft_x87_update_es(f);
}

void soft_x87_update_es(struct soft_fpu *f)
{
	if (f->fx.fsw & ~f->fx.fcw & FSW_EXC)
		f->fx.fsw |= FSW_ES | FSW_B;
	else
		f->fx.fsw &= ~(FSW_ES | FSW_B);
}

void soft_x87_enter(struct soft_cpu *c, bool wait)
{
	if (c->cr0 & (X86_CR0_EM | X86_CR0_TS))
		soft_raise(c, X86_EXC_NM, SOFT_NO_ERRCODE);
	/*
	 * A pending unmasked exception is reported at the next waiting x87
	 * instruction as #MF with CR0.NE = 1. With NE = 0 a PC raises FERR# on
	 * IRQ 13, which the soft CPU does not model: the exception stays pending.
	 */
	if (wait && (c->fpu.fx.fsw & FSW_ES) && (c->cr0 & X86_CR0_NE))
		soft_raise(c, X86_EXC_MF, SOFT_NO_ERRCODE);
}

void soft_sse_enter(struct soft_cpu *c)
{
	/* SDM Vol.3 §13.1.3 and §2.5 (CR0.EM, CR0.TS): #UD before #NM. */
	if ((c->cr0 & X86_CR0_EM) || !(c->cr4 & X86_CR4_OSFXSR))
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	if (c->cr0 & X86_CR0_TS)
		soft_raise(c, X86_EXC_NM, SOFT_NO_ERRCODE);
}

SOFT_OP(fwait)
{
	(void)i;
	if ((c->cr0 & (X86_CR0_MP | X86_CR0_TS)) == (X86_CR0_MP | X86_CR0_TS))
		soft_raise(c, X86_EXC_NM, SOFT_NO_ERRCODE);
	if ((c->fpu.fx.fsw & FSW_ES) && (c->cr0 & X86_CR0_NE))
		soft_raise(c, X86_EXC_MF, SOFT_NO_ERRCODE);
}

/* --- memory images --- */

static uint64_t at(const struct soft_insn *i, uint64_t ea, unsigned off)
{
	return (ea + off) & soft_size_mask(i->asz);
}

static void put_bytes(struct soft_cpu *c, const struct soft_insn *i, uint64_t ea, unsigned off,
		      const uint8_t *p, unsigned n)
{
	for (unsigned k = 0; k < n;) {
		unsigned sz = n - k >= 8 ? 8 : n - k >= 4 ? 4 : n - k >= 2 ? 2 : 1;
		uint64_t v = 0;

		memcpy(&v, p + k, sz);
		soft_mem_write(c, i->seg, at(i, ea, off + k), sz, v);
		k += sz;
	}
}

static void get_bytes(struct soft_cpu *c, const struct soft_insn *i, uint64_t ea, unsigned off,
		      uint8_t *p, unsigned n)
{
	for (unsigned k = 0; k < n;) {
		unsigned sz = n - k >= 8 ? 8 : n - k >= 4 ? 4 : n - k >= 2 ? 2 : 1;
		uint64_t v = soft_mem_read(c, i->seg, at(i, ea, off + k), sz);

		memcpy(p + k, &v, sz);
		k += sz;
	}
}

/* 16-byte alignment of the linear address (#GP(0), SDM Vol.2 FXSAVE, MOVAPS). */
void soft_fpu_check_align16(struct soft_cpu *c, const struct soft_insn *i, uint64_t ea)
{
	uint64_t base = c->seg[i->seg].base;

	if (c->code64 && i->seg != S_FS && i->seg != S_GS)
		base = 0;
	if ((base + ea) & 15)
		soft_raise(c, X86_EXC_GP, 0);
}

static unsigned fxsave_len(const struct soft_cpu *c)
{
	return c->code64 ? 160 + 16 * 16 : 160 + 8 * 16;
}

static void fxsave(struct soft_cpu *c, const struct soft_insn *i, bool wide)
{
	const struct soft_fpu *f = &c->fpu;
	uint8_t img[512];
	uint64_t ea = ea_of(c, i);
	unsigned len = fxsave_len(c);
	bool sse = c->cr4 & X86_CR4_OSFXSR;

	if (c->cr0 & (X86_CR0_EM | X86_CR0_TS))
		soft_raise(c, X86_EXC_NM, SOFT_NO_ERRCODE);
	soft_fpu_check_align16(c, i, ea);
	soft_mem_check(c, i->seg, ea, len, SOFT_ACC_WRITE);
	memcpy(img, &f->fx, sizeof(img));
	if (!wide) {
		/* the 32-bit layout: FIP, FCS, FDP, FDS (Table 3-46) */
		uint32_t fip = (uint32_t)f->fx.fip, fdp = (uint32_t)f->fx.fdp;

		memset(img + 8, 0, 16);
		memcpy(img + 8, &fip, 4);
		memcpy(img + 12, &f->fcs, 2);
		memcpy(img + 16, &fdp, 4);
		memcpy(img + 20, &f->fds, 2);
	}
	/* without CR4.OSFXSR, MXCSR and the XMM registers are not saved (as QEMU does) */
	put_bytes(c, i, ea, 0, img, 24);
	if (sse)
		put_bytes(c, i, ea, 24, img + 24, 8);
	put_bytes(c, i, ea, 32, img + 32, 128);
	if (sse)
		put_bytes(c, i, ea, 160, img + 160, len - 160);
}

static void fxrstor(struct soft_cpu *c, const struct soft_insn *i, bool wide)
{
	struct soft_fpu *f = &c->fpu;
	struct soft_fxsave img;
	uint64_t ea = ea_of(c, i);
	unsigned len = fxsave_len(c);
	bool sse = c->cr4 & X86_CR4_OSFXSR;

	if (c->cr0 & (X86_CR0_EM | X86_CR0_TS))
		soft_raise(c, X86_EXC_NM, SOFT_NO_ERRCODE);
	soft_fpu_check_align16(c, i, ea);
	memcpy(&img, &f->fx, sizeof(img));
	get_bytes(c, i, ea, 0, (uint8_t *)&img, 24);
	if (sse)
		get_bytes(c, i, ea, 24, (uint8_t *)&img + 24, 4);
	get_bytes(c, i, ea, 32, (uint8_t *)&img + 32, 128);
	if (sse)
		get_bytes(c, i, ea, 160, (uint8_t *)&img + 160, len - 160);
	if (sse && (img.mxcsr & ~SOFT_MXCSR_MASK))
		soft_raise(c, X86_EXC_GP, 0);
	uint16_t fcs = f->fcs, fds = f->fds;
	if (!wide) {
		const uint8_t *p = (const uint8_t *)&img;
		uint32_t fip, fdp;

		memcpy(&fip, p + 8, 4);
		memcpy(&fcs, p + 12, 2);
		memcpy(&fdp, p + 16, 4);
		memcpy(&fds, p + 20, 2);
		img.fip = fip;
		img.fdp = fdp;
	}
	img.fop &= 0x7ff;
	img.mxcsr_mask = SOFT_MXCSR_MASK;
	f->fx = img;
	f->fcs = fcs;
	f->fds = fds;
	soft_x87_update_es(f);
}

SOFT_OP(fxsave)
{
	fxsave(c, i, i->mnemonic == ZYDIS_MNEMONIC_FXSAVE64);
}

SOFT_OP(fxrstor)
{
	fxrstor(c, i, i->mnemonic == ZYDIS_MNEMONIC_FXRSTOR64);
}

SOFT_OP(ldmxcsr)
{
	soft_sse_enter(c);
	uint32_t v = (uint32_t)soft_mem_read(c, i->seg, ea_of(c, i), 4);
	if (v & ~SOFT_MXCSR_MASK)
		soft_raise(c, X86_EXC_GP, 0);
	c->fpu.fx.mxcsr = v;
}

SOFT_OP(stmxcsr)
{
	soft_sse_enter(c);
	soft_mem_write(c, i->seg, ea_of(c, i), 4, c->fpu.fx.mxcsr);
}

/* --- x87 environment and state images (fnstenv, fldenv, fnsave, frstor) --- */

/* The full tag word from the abridged one and the register contents (SDM Vol.1 §8.1.7). */
static uint16_t full_tag(const struct soft_fpu *f)
{
	unsigned top = (f->fx.fsw >> 11) & 7;
	uint16_t tw = 0;

	for (unsigned p = 0; p < 8; p++) {
		const struct soft_f80 *r = &f->fx.st[(p - top) & 7];
		unsigned e = r->sexp & 0x7fff, t;

		if (!(f->fx.ftw & (1u << p)))
			t = 3;
		else if (e == 0x7fff)
			t = 2;
		else if (e == 0)
			t = r->mant ? 2 : 1;
		else
			t = r->mant >> 63 ? 0 : 2;
		tw |= (uint16_t)(t << (2 * p));
	}
	return tw;
}

static uint8_t abridged_tag(uint16_t tw)
{
	uint8_t t = 0;

	for (unsigned p = 0; p < 8; p++)
		if (((tw >> (2 * p)) & 3) != 3)
			t |= 1u << p;
	return t;
}

/* Environment size: 28 bytes with a 32-bit operand size, 14 with 16-bit. */
static unsigned env_len(const struct soft_insn *i)
{
	return i->osz == 2 ? 14 : 28;
}

static void env_store(struct soft_cpu *c, const struct soft_insn *i, uint64_t ea)
{
	const struct soft_fpu *f = &c->fpu;
	bool real = !soft_protected(c) || (c->rflags & X86_VM);
	uint32_t w[7];
	uint32_t fip = (uint32_t)f->fx.fip, fdp = (uint32_t)f->fx.fdp;

	w[0] = f->fx.fcw;
	w[1] = f->fx.fsw;
	w[2] = full_tag(f);
	if (real) {
		/* Figures 8-10/8-12: 20-bit (16-bit format) or 32-bit linear pointers */
		w[3] = fip & 0xffff;
		w[4] = (f->fx.fop & 0x7ffu) | ((fip >> 16) << 12);
		w[5] = fdp & 0xffff;
		w[6] = (fdp >> 16) << 12;
	} else {
		w[3] = fip;
		w[4] = f->fcs | ((uint32_t)(f->fx.fop & 0x7ff) << 16);
		w[5] = fdp;
		w[6] = f->fds;
	}
	if (i->osz == 2) {
		for (unsigned k = 0; k < 7; k++) {
			uint32_t v = w[k];

			if (k == 4 && !real)
				v &= 0xffff; /* the 16-bit protected format has no FOP */
			soft_mem_write(c, i->seg, at(i, ea, 2 * k), 2, v & 0xffff);
		}
	} else {
		for (unsigned k = 0; k < 7; k++)
			soft_mem_write(c, i->seg, at(i, ea, 4 * k), 4, w[k]);
	}
}

struct env_img {
	uint16_t fcw, fsw, ftw, fop, fcs, fds;
	uint32_t fip, fdp;
};

static void env_load(struct soft_cpu *c, const struct soft_insn *i, uint64_t ea, struct env_img *e)
{
	bool real = !soft_protected(c) || (c->rflags & X86_VM);
	uint32_t w[7];

	for (unsigned k = 0; k < 7; k++)
		w[k] = i->osz == 2 ? (uint32_t)soft_mem_read(c, i->seg, at(i, ea, 2 * k), 2)
				   : (uint32_t)soft_mem_read(c, i->seg, at(i, ea, 4 * k), 4);
	e->fcw = (uint16_t)w[0];
	e->fsw = (uint16_t)w[1];
	e->ftw = (uint16_t)w[2];
	if (real) {
		unsigned sh = i->osz == 2 ? 0xf : 0xffff;

		e->fip = (w[3] & 0xffff) | (((w[4] >> 12) & sh) << 16);
		e->fop = w[4] & 0x7ff;
		e->fdp = (w[5] & 0xffff) | (((w[6] >> 12) & sh) << 16);
		e->fcs = e->fds = 0;
	} else {
		e->fip = i->osz == 2 ? w[3] & 0xffff : w[3];
		e->fcs = (uint16_t)w[4];
		e->fop = i->osz == 2 ? 0 : (w[4] >> 16) & 0x7ff;
		e->fdp = i->osz == 2 ? w[5] & 0xffff : w[5];
		e->fds = (uint16_t)w[6];
	}
}

/* keep: the physical registers keep their contents under the new TOP (fldenv, not frstor). */
static void env_apply(struct soft_fpu *f, const struct env_img *e, bool keep)
{
	if (keep)
		soft_x87_set_top(f, (e->fsw >> 11) & 7);
	f->fx.fcw = e->fcw;
	f->fx.fsw = e->fsw;
	f->fx.ftw = abridged_tag(e->ftw);
	f->fx.fop = e->fop;
	f->fx.fip = e->fip;
	f->fx.fdp = e->fdp;
	f->fcs = e->fcs;
	f->fds = e->fds;
	soft_x87_update_es(f);
}

void soft_x87_fnstenv(struct soft_cpu *c, const struct soft_insn *i)
{
	uint64_t ea = ea_of(c, i);

	soft_mem_check(c, i->seg, ea, env_len(i), SOFT_ACC_WRITE);
	env_store(c, i, ea);
	/* and then every exception is masked (SDM Vol.2 FSTENV) */
	c->fpu.fx.fcw |= FSW_EXC;
	soft_x87_update_es(&c->fpu);
}

void soft_x87_fldenv(struct soft_cpu *c, const struct soft_insn *i)
{
	struct env_img e;

	env_load(c, i, ea_of(c, i), &e);
	env_apply(&c->fpu, &e, true);
}

void soft_x87_fnsave(struct soft_cpu *c, const struct soft_insn *i)
{
	uint64_t ea = ea_of(c, i);
	unsigned n = env_len(i);

	soft_mem_check(c, i->seg, ea, n + 80, SOFT_ACC_WRITE);
	env_store(c, i, ea);
	for (unsigned k = 0; k < 8; k++)
		put_bytes(c, i, ea, n + 10 * k, (const uint8_t *)&c->fpu.fx.st[k], 10);
	soft_x87_init(&c->fpu);
}

void soft_x87_frstor(struct soft_cpu *c, const struct soft_insn *i)
{
	uint64_t ea = ea_of(c, i);
	unsigned n = env_len(i);
	struct soft_f80 st[8];
	struct env_img e;

	env_load(c, i, ea, &e);
	memset(st, 0, sizeof(st));
	for (unsigned k = 0; k < 8; k++)
		get_bytes(c, i, ea, n + 10 * k, (uint8_t *)&st[k], 10);
	memcpy(c->fpu.fx.st, st, sizeof(st));
	env_apply(&c->fpu, &e, false);
}
