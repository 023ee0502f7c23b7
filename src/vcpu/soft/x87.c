// SPDX-License-Identifier: MIT
/*
 * x87 instructions (escape opcodes D8-DF, SDM Vol.2 and Vol.1 §8), one
 * handler: the decoder puts (opcode & 7) << 3 | ModRM.reg in i->op, ModRM.rm
 * in i->rm for the register forms and the FOP (11 bits) in i->imm2.
 *
 * Results and flags come from the host's x87 unit, run with the guest's
 * control word (precision and rounding control) and the invalid, denormal
 * and zero-divide exceptions masked; overflow and underflow keep the guest's
 * masks, so an unmasked one leaves the host's biased result, as the SDM
 * specifies for a register destination (Vol.1 §8.5.4/§8.5.5). The responses
 * to unmasked exceptions follow Vol.1 §8.6: a pre-computation exception (IE,
 * DE, ZE) leaves the operands and TOP alone, and no memory destination is
 * written when an exception other than PE is unmasked. Stack faults are this
 * file's (IE|SF with C1 = 1 for overflow, 0 for underflow, Vol.1 §8.5.1.1).
 */
#include <string.h>

#include "exec.h"
#include "fpu.h"
#include "x87_host.h"

#define FCW_PC_RC 0x0f00u

static const struct soft_f80 indefinite = { .mant = 0xc000000000000000ull, .sexp = 0xffff };

/* --- the register stack --- */

static unsigned top_of(const struct soft_fpu *f)
{
	return (f->fx.fsw >> 11) & 7;
}

static void set_top(struct soft_fpu *f, unsigned t)
{
	f->fx.fsw = (uint16_t)((f->fx.fsw & ~FSW_TOP) | ((t & 7) << 11));
}

static bool valid(const struct soft_fpu *f, unsigned k)
{
	return f->fx.ftw & (1u << ((top_of(f) + k) & 7));
}

static void set_valid(struct soft_fpu *f, unsigned k, bool on)
{
	unsigned bit = 1u << ((top_of(f) + k) & 7);

	f->fx.ftw = on ? f->fx.ftw | bit : f->fx.ftw & ~bit;
}

/* TOP - 1: the registers keep their contents, ST(0) is the old ST(7). */
static void rotate_down(struct soft_fpu *f)
{
	struct soft_f80 t = f->fx.st[7];

	memmove(&f->fx.st[1], &f->fx.st[0], 7 * sizeof(t));
	f->fx.st[0] = t;
	set_top(f, top_of(f) - 1);
}

static void rotate_up(struct soft_fpu *f)
{
	struct soft_f80 t = f->fx.st[0];

	memmove(&f->fx.st[0], &f->fx.st[1], 7 * sizeof(t));
	f->fx.st[7] = t;
	set_top(f, top_of(f) + 1);
}

static void put(struct soft_fpu *f, unsigned k, const struct soft_f80 *v)
{
	f->fx.st[k].mant = v->mant;
	f->fx.st[k].sexp = v->sexp;
	set_valid(f, k, true);
}

static void push(struct soft_fpu *f, const struct soft_f80 *v)
{
	rotate_down(f);
	put(f, 0, v);
}

static void pop(struct soft_fpu *f)
{
	set_valid(f, 0, false);
	rotate_up(f);
}

static void set_c1(struct soft_fpu *f, bool on)
{
	f->fx.fsw = on ? f->fx.fsw | FSW_C1 : f->fx.fsw & ~FSW_C1;
}

/* ORs exception flags into FSW; ES and B when one of them is unmasked. */
static void flag(struct soft_fpu *f, unsigned flags)
{
	f->fx.fsw |= flags & (FSW_EXC | FSW_SF);
	soft_x87_update_es(f);
}

static bool unmasked(const struct soft_fpu *f, unsigned flags)
{
	return flags & ~f->fx.fcw & FSW_EXC;
}

static bool is_nan(const struct soft_f80 *v)
{
	return (v->sexp & 0x7fff) == 0x7fff && (v->mant << 1);
}

/* ST(k) as a source; an empty one is a stack underflow: *fl gets IE|SF, the value is the
 * indefinite. */
static struct soft_f80 src(const struct soft_fpu *f, unsigned k, unsigned *fl)
{
	if (!valid(f, k)) {
		*fl |= FSW_IE | FSW_SF;
		return indefinite;
	}
	return f->fx.st[k];
}

/* Runs fn on the host with the guest's precision and rounding; returns IE..PE (and SF from fl). */
static unsigned host(const struct soft_fpu *f, unsigned fn, struct x87_io *io)
{
	io->cw = (uint16_t)((f->fx.fcw & (FCW_PC_RC | FSW_OE | FSW_UE | FSW_PE)) | 0x40 | FSW_IE |
			    FSW_DE | FSW_ZE);
	soft_x87_host[fn](io);
	return io->sw & FSW_EXC;
}

/*
 * A result for ST(k): written unless an unmasked pre-computation exception
 * (or an unmasked stack underflow) forbids it; then popped if pop. C1 from
 * the host (rounded up) or 0 after a stack underflow.
 */
static void result(struct soft_fpu *f, unsigned k, const struct x87_io *io, unsigned fl,
		   bool pop_after)
{
	if (unmasked(f, fl & (FSW_IE | FSW_DE | FSW_ZE))) {
		if (fl & FSW_SF)
			set_c1(f, false);
		flag(f, fl);
		return;
	}
	/* the masked response to a stack underflow is the indefinite, whatever the operation */
	put(f, k, (fl & FSW_SF) ? &indefinite : &io->out[0]);
	set_c1(f, !(fl & FSW_SF) && (io->sw & FSW_C1));
	flag(f, fl);
	if (pop_after)
		pop(f);
}

/* A push: stack overflow when ST(7) is in use (IE|SF, C1 = 1; masked: push the indefinite). */
static bool push_room(struct soft_fpu *f)
{
	if (valid(f, 7)) {
		set_c1(f, true);
		flag(f, FSW_IE | FSW_SF);
		if (unmasked(f, FSW_IE))
			return false;
		push(f, &indefinite);
		return false;
	}
	return true;
}

/* --- memory operands --- */

static uint64_t x87_ea(struct soft_cpu *c, const struct soft_insn *i)
{
	return ea_of(c, i);
}

static void load_m80(struct soft_cpu *c, const struct soft_insn *i, uint64_t ea, struct soft_f80 *v)
{
	v->mant = soft_mem_read(c, i->seg, ea, 8);
	v->sexp = (uint16_t)soft_mem_read(c, i->seg, (ea + 8) & soft_size_mask(i->asz), 2);
}

static void store_m80(struct soft_cpu *c, const struct soft_insn *i, uint64_t ea,
		      const struct soft_f80 *v)
{
	soft_mem_check(c, i->seg, ea, 10, SOFT_ACC_WRITE);
	soft_mem_write(c, i->seg, ea, 8, v->mant);
	soft_mem_write(c, i->seg, (ea + 8) & soft_size_mask(i->asz), 2, v->sexp);
}

/* --- instruction groups --- */

enum { OP_ADD, OP_MUL, OP_COM, OP_COMP, OP_SUB, OP_SUBR, OP_DIV, OP_DIVR };

static const uint8_t arith_mem[4][8] = {
	{ XH_add_m32, XH_mul_m32, XH_com_m32, XH_com_m32, XH_sub_m32, XH_subr_m32, XH_div_m32,
	  XH_divr_m32 },
	{ XH_add_i32, XH_mul_i32, XH_com_i32, XH_com_i32, XH_sub_i32, XH_subr_i32, XH_div_i32,
	  XH_divr_i32 },
	{ XH_add_m64, XH_mul_m64, XH_com_m64, XH_com_m64, XH_sub_m64, XH_subr_m64, XH_div_m64,
	  XH_divr_m64 },
	{ XH_add_i16, XH_mul_i16, XH_com_i16, XH_com_i16, XH_sub_i16, XH_subr_i16, XH_div_i16,
	  XH_divr_i16 },
};

/* C3 C2 C0 of a comparison, or the condition codes of a failed one (all set: unordered). */
static void compare_done(struct soft_fpu *f, const struct x87_io *io, unsigned fl, unsigned pops)
{
	if (unmasked(f, fl & (FSW_IE | FSW_DE))) {
		flag(f, fl);
		return;
	}
	uint16_t cc =
		(fl & FSW_SF) ? FSW_C0 | FSW_C2 | FSW_C3 : io->sw & (FSW_C0 | FSW_C2 | FSW_C3);
	f->fx.fsw = (uint16_t)((f->fx.fsw & ~(FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)) | cc);
	flag(f, fl);
	while (pops--)
		pop(f);
}

/* D8/DA/DC/DE with a memory operand: m32 real, m32 int, m64 real, m16 int. */
static void arith_memory(struct soft_cpu *c, const struct soft_insn *i, unsigned kind, unsigned op)
{
	static const unsigned size[4] = { 4, 4, 8, 2 };
	struct soft_fpu *f = &c->fpu;
	struct x87_io io;
	unsigned fl = 0;
	uint64_t ea = x87_ea(c, i);

	io.m.u64 = soft_mem_read(c, i->seg, ea, size[kind]);
	io.in[0] = src(f, 0, &fl);
	io.in[1] = io.in[0];
	fl |= host(f, arith_mem[kind][op], &io);
	if (op == OP_COM || op == OP_COMP)
		compare_done(f, &io, fl, op == OP_COMP);
	else
		result(f, 0, &io, fl, false);
}

/*
 * Register forms: D8 (ST(0) = ST(0) op ST(i)), DC and DE (ST(i) = ST(i) op
 * ST(0); sub/subr and div/divr swap places in the encoding; DE pops).
 */
static void arith_reg(struct soft_cpu *c, unsigned esc, unsigned op, unsigned k)
{
	static const uint8_t fn[8] = { XH_add, XH_mul, XH_com, XH_com,
				       XH_sub, XH_sub, XH_div, XH_div };
	struct soft_fpu *f = &c->fpu;
	struct x87_io io;
	unsigned fl = 0, dst = 0, other = k;

	if (esc != 0 && op >= OP_SUB)
		op ^= 1;
	if (esc != 0) {
		dst = k;
		other = 0;
	}
	struct soft_f80 x = src(f, dst, &fl), y = src(f, other, &fl);
	bool rev = op == OP_SUBR || op == OP_DIVR;
	io.in[0] = rev ? y : x;
	io.in[1] = rev ? x : y;
	io.m.u64 = 0;
	fl |= host(f, fn[op], &io);
	if (op == OP_COM || op == OP_COMP)
		compare_done(f, &io, fl, op == OP_COMP);
	else
		result(f, dst, &io, fl, esc == 6);
}

static void load_value(struct soft_fpu *f, unsigned fn, struct x87_io *io)
{
	unsigned fl = 0;

	io->in[0] = io->in[1] = indefinite;
	if (!push_room(f))
		return;
	fl = host(f, fn, io);
	if (unmasked(f, fl & (FSW_IE | FSW_DE))) {
		flag(f, fl);
		return;
	}
	push(f, &io->out[0]);
	set_c1(f, io->sw & FSW_C1);
	flag(f, fl);
}

/* fst/fist/fisttp/fbstp to memory of size bytes; pop for the p forms. */
static void store_value(struct soft_cpu *c, const struct soft_insn *i, unsigned fn, unsigned size,
			bool pop_after)
{
	struct soft_fpu *f = &c->fpu;
	struct x87_io io;
	unsigned fl = 0;
	uint64_t ea = x87_ea(c, i);

	io.in[0] = src(f, 0, &fl);
	io.in[1] = io.in[0];
	io.m.f80 = (struct soft_f80){ 0 };
	soft_mem_check(c, i->seg, ea, size, SOFT_ACC_WRITE);
	fl |= host(f, fn, &io);
	if (unmasked(f, fl & ~FSW_PE)) {
		set_c1(f, false);
		flag(f, fl);
		return;
	}
	if (size == 10) {
		store_m80(c, i, ea, &io.m.f80);
	} else {
		soft_mem_write(c, i->seg, ea, size, io.m.u64);
	}
	set_c1(f, !(fl & FSW_SF) && (io.sw & FSW_C1));
	flag(f, fl);
	if (pop_after)
		pop(f);
}

/* fld m32/m64/m80, fild, fbld */
static void load_memory(struct soft_cpu *c, const struct soft_insn *i, unsigned fn, unsigned size)
{
	struct soft_fpu *f = &c->fpu;
	struct x87_io io;
	uint64_t ea = x87_ea(c, i);

	io.m.f80 = (struct soft_f80){ 0 };
	if (size == 10) {
		load_m80(c, i, ea, &io.m.f80);
	} else {
		io.m.u64 = soft_mem_read(c, i->seg, ea, size);
	}
	if (fn == XH_COUNT) {
		/* fld m80: the bits as they are, no conversion and no exception */
		if (!push_room(f))
			return;
		push(f, &io.m.f80);
		set_c1(f, false);
		return;
	}
	load_value(f, fn, &io);
}

/*
 * One operation on ST(0) (and ST(1) for the two-operand ones): the result
 * replaces ST(0), replaces ST(1) and pops, or replaces ST(0) and pushes a
 * second one. U_CC: the condition codes are the result (fprem); U_RANGE: C2 = 1
 * says the operand was out of range and nothing changed (fsin, fcos, fptan,
 * fsincos with |x| >= 2^63).
 */
enum { U_REPLACE, U_POP, U_PUSH };
#define U_CC	1
#define U_RANGE 2

static void on_stack(struct soft_fpu *f, unsigned fn, unsigned nin, int kind, unsigned how)
{
	bool cc = how & U_CC;

	struct x87_io io;
	unsigned fl = 0;

	io.in[0] = src(f, 0, &fl);
	io.in[1] = nin > 1 ? src(f, 1, &fl) : indefinite;
	io.m.u64 = 0;
	if (fl & FSW_SF) {
		/* an empty operand: underflow (before any overflow), the results are the indefinite
		 */
		set_c1(f, false);
		if (how & (U_RANGE | U_CC))
			f->fx.fsw &= ~FSW_C2;
		flag(f, fl);
		if (unmasked(f, FSW_IE))
			return;
		if (kind == U_POP) {
			put(f, 1, &indefinite);
			pop(f);
			return;
		}
		put(f, 0, &indefinite);
		if (kind == U_PUSH)
			push(f, &indefinite);
		return;
	}
	if (kind == U_PUSH && valid(f, 7)) {
		/* fptan/fsincos/fxtract into a full stack: overflow; masked, both results
		 * indefinite */
		set_c1(f, true);
		if (how & U_RANGE)
			f->fx.fsw &= ~FSW_C2;
		flag(f, FSW_IE | FSW_SF);
		if (unmasked(f, FSW_IE))
			return;
		put(f, 0, &indefinite);
		push(f, &indefinite);
		return;
	}
	fl |= host(f, fn, &io);
	if (unmasked(f, fl & (FSW_IE | FSW_DE | FSW_ZE))) {
		flag(f, fl);
		return;
	}
	if ((how & U_RANGE) && (io.sw & FSW_C2)) {
		f->fx.fsw |= FSW_C2;
		set_c1(f, false);
		flag(f, fl);
		return;
	}
	if (how & U_RANGE)
		f->fx.fsw &= ~FSW_C2;
	if (fl & FSW_SF) /* underflow: the results are the indefinite */
		io.out[0] = io.out[1] = indefinite;
	switch (kind) {
	case U_REPLACE:
		put(f, 0, &io.out[0]);
		break;
	case U_POP:
		put(f, 1, &io.out[0]);
		pop(f);
		break;
	case U_PUSH:
		put(f, 0, &io.out[1]);
		push(f, &io.out[0]);
		break;
	}
	if (cc && !(fl & FSW_SF) && !is_nan(&io.out[0]))
		f->fx.fsw = (uint16_t)((f->fx.fsw & ~(FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)) |
				       (io.sw & (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)));
	else if (cc)
		f->fx.fsw &=
			~(FSW_C1 | FSW_C2); /* a NaN or empty operand: "complete", C0/C3 kept */
	else
		set_c1(f, !(fl & FSW_SF) && (io.sw & FSW_C1));
	flag(f, fl);
}

/* fcomi/fucomi (DB/DF E8-F7): ZF PF CF from the comparison, OF SF AF cleared. */
static void comi(struct soft_cpu *c, unsigned k, bool unordered_ok, bool pop_after)
{
	struct soft_fpu *f = &c->fpu;
	struct x87_io io;
	unsigned fl = 0;

	io.in[0] = src(f, 0, &fl);
	io.in[1] = src(f, k, &fl);
	io.m.u64 = 0;
	fl |= host(f, unordered_ok ? XH_ucom : XH_com, &io);
	if (unmasked(f, fl & (FSW_IE | FSW_DE))) {
		flag(f, fl);
		return;
	}
	uint16_t sw = (fl & FSW_SF) ? FSW_C0 | FSW_C2 | FSW_C3 : io.sw;
	uint64_t r = ((sw & FSW_C3) ? X86_ZF : 0) | ((sw & FSW_C2) ? X86_PF : 0) |
		     ((sw & FSW_C0) ? X86_CF : 0);
	soft_flags_put(c, X86_ARITH_FLAGS, r);
	/* C1 = 0 after a stack underflow, else left alone as AMD's fcomi does (the SDM clears it)
	 */
	if (fl & FSW_SF)
		set_c1(f, false);
	flag(f, fl);
	if (pop_after)
		pop(f);
}

static void fcmov(struct soft_cpu *c, unsigned esc, unsigned reg, unsigned k)
{
	/* DA: b e be u; DB: nb ne nbe nu (the Jcc condition codes 2 4 6 A and their negations) */
	static const uint8_t cc[4] = { 0x2, 0x4, 0x6, 0xa };
	struct soft_fpu *f = &c->fpu;
	unsigned fl = 0;
	struct soft_f80 v = src(f, k, &fl);

	src(f, 0, &fl);
	if (fl) {
		set_c1(f, false);
		flag(f, fl);
		if (unmasked(f, FSW_IE))
			return;
		put(f, 0, &indefinite);
		return;
	}
	if (soft_cond(c, cc[reg & 3] | (esc == 3 ? 1 : 0)))
		put(f, 0, &v);
}

void soft_x87_set_top(struct soft_fpu *f, unsigned top)
{
	struct soft_f80 st[8];
	unsigned old = top_of(f);

	/* the registers are kept ST-relative: R(p) stays where it is */
	for (unsigned k = 0; k < 8; k++)
		st[k] = f->fx.st[(top + k - old) & 7];
	memcpy(f->fx.st, st, sizeof(st));
	set_top(f, top);
}

void soft_x87_init(struct soft_fpu *f)
{
	soft_x87_set_top(f, 0);
	f->fx.fcw = 0x37f;
	f->fx.fsw = 0;
	f->fx.ftw = 0;
	f->fx.fop = 0;
	f->fx.fip = f->fx.fdp = 0;
	f->fcs = f->fds = 0;
}

static void fxam(struct soft_fpu *f)
{
	unsigned sign = f->fx.st[0].sexp >> 15;

	f->fx.fsw &= ~(FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3);
	if (!valid(f, 0)) {
		f->fx.fsw |= FSW_C3 | FSW_C0 | (sign ? FSW_C1 : 0);
		return;
	}
	struct x87_io io;
	io.in[0] = io.in[1] = f->fx.st[0];
	io.m.u64 = 0;
	host(f, XH_xam, &io);
	f->fx.fsw |= io.sw & (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3);
}

/* D9 E0-FF: the operations on ST(0) with no operand. */
static void d9_misc(struct soft_cpu *c, unsigned reg, unsigned rm)
{
	static const uint8_t consts[8] = { XH_ld1,   XH_ldl2t, XH_ldl2e, XH_ldpi,
					   XH_ldlg2, XH_ldln2, XH_ldz,	 XH_COUNT };
	struct soft_fpu *f = &c->fpu;
	unsigned fl = 0;
	struct x87_io io;

	if (reg == 5) {
		if (consts[rm] == XH_COUNT)
			soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
		io.m.u64 = 0;
		load_value(f, consts[rm], &io);
		return;
	}
	if (reg == 4) {
		switch (rm) {
		case 0: /* fchs */
		case 1: /* fabs */
			src(f, 0, &fl);
			if (fl) {
				set_c1(f, false);
				flag(f, fl);
				if (!unmasked(f, FSW_IE))
					put(f, 0, &indefinite);
				return;
			}
			if (rm == 0)
				f->fx.st[0].sexp ^= 0x8000;
			else
				f->fx.st[0].sexp &= 0x7fff;
			set_c1(f, false);
			return;
		case 4: /* ftst */
			io.in[0] = src(f, 0, &fl);
			io.in[1] = io.in[0];
			io.m.u64 = 0;
			fl |= host(f, XH_tst, &io);
			compare_done(f, &io, fl, 0);
			return;
		case 5:
			fxam(f);
			return;
		default:
			soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
		}
	}
	/* reg 6 and 7 */
	switch ((reg & 1) << 3 | rm) {
	case 0x0:
		return on_stack(f, XH_f2xm1, 1, U_REPLACE, 0);
	case 0x1:
		return on_stack(f, XH_yl2x, 2, U_POP, 0);
	case 0x2:
		return on_stack(f, XH_ptan, 1, U_PUSH, U_RANGE);
	case 0x3:
		return on_stack(f, XH_patan, 2, U_POP, 0);
	case 0x4:
		return on_stack(f, XH_xtract, 1, U_PUSH, 0);
	case 0x5:
		return on_stack(f, XH_prem1, 2, U_REPLACE, U_CC);
	case 0x6: /* fdecstp */
	case 0x7: /* fincstp */
		if (rm == 6)
			rotate_down(f);
		else
			rotate_up(f);
		set_c1(f, false);
		return;
	case 0x8:
		return on_stack(f, XH_prem, 2, U_REPLACE, U_CC);
	case 0x9:
		return on_stack(f, XH_yl2xp1, 2, U_POP, 0);
	case 0xa:
		return on_stack(f, XH_sqrt, 1, U_REPLACE, 0);
	case 0xb:
		return on_stack(f, XH_sincos, 1, U_PUSH, U_RANGE);
	case 0xc:
		return on_stack(f, XH_rndint, 1, U_REPLACE, 0);
	case 0xd:
		return on_stack(f, XH_scale, 2, U_REPLACE, 0);
	case 0xe:
		return on_stack(f, XH_sin, 1, U_REPLACE, U_RANGE);
	case 0xf:
		return on_stack(f, XH_cos, 1, U_REPLACE, U_RANGE);
	}
}

static void fxch(struct soft_fpu *f, unsigned k)
{
	unsigned fl = 0;
	struct soft_f80 a = src(f, 0, &fl), b = src(f, k, &fl);

	if (fl) {
		flag(f, fl);
		if (unmasked(f, FSW_IE)) {
			set_c1(f, false);
			return;
		}
	}
	put(f, 0, &b);
	put(f, k, &a);
	set_c1(f, false);
}

/* fst/fstp ST(i) (DD D0-DF) */
static void fst_reg(struct soft_fpu *f, unsigned k, bool pop_after)
{
	unsigned fl = 0;
	struct soft_f80 v = src(f, 0, &fl);

	set_c1(f, false);
	if (fl) {
		flag(f, fl);
		if (unmasked(f, FSW_IE))
			return;
	}
	put(f, k, &v);
	if (pop_after)
		pop(f);
}

/* Control instructions do not record FIP/FOP (SDM Vol.1 §8.1.8). */
static void record_ip(struct soft_cpu *c, const struct soft_insn *i)
{
	c->fpu.fx.fop = i->imm2 & 0x7ff;
	c->fpu.fx.fip = soft_protected(c) && !(c->rflags & X86_VM)
				? c->rip
				: (c->seg[S_CS].base + c->rip) & 0xffffffff;
	c->fpu.fcs = c->seg[S_CS].selector;
}

static void x87_memory(struct soft_cpu *c, const struct soft_insn *i, unsigned esc, unsigned reg)
{
	struct soft_fpu *f = &c->fpu;
	uint64_t ea;

	switch (esc) {
	case 0:
		return arith_memory(c, i, 0, reg);
	case 2:
		return arith_memory(c, i, 1, reg);
	case 4:
		return arith_memory(c, i, 2, reg);
	case 6:
		return arith_memory(c, i, 3, reg);
	case 1:
		switch (reg) {
		case 0:
			return load_memory(c, i, XH_ld_m32, 4);
		case 2:
		case 3:
			return store_value(c, i, XH_st_m32, 4, reg == 3);
		case 4:
			return soft_x87_fldenv(c, i);
		case 5:
			f->fx.fcw = (uint16_t)soft_mem_read(c, i->seg, ea_of(c, i), 2);
			soft_x87_update_es(f);
			return;
		case 6:
			return soft_x87_fnstenv(c, i);
		case 7:
			soft_mem_write(c, i->seg, ea_of(c, i), 2, f->fx.fcw);
			return;
		}
		break;
	case 3:
		switch (reg) {
		case 0:
			return load_memory(c, i, XH_ild_32, 4);
		case 1:
			return store_value(c, i, XH_istt_32, 4, true);
		case 2:
		case 3:
			return store_value(c, i, XH_ist_32, 4, reg == 3);
		case 5:
			return load_memory(c, i, XH_COUNT, 10);
		case 7:
			ea = x87_ea(c, i);
			unsigned fl = 0;
			struct soft_f80 v = src(f, 0, &fl);
			if (fl) {
				set_c1(f, false);
				flag(f, fl);
				if (unmasked(f, FSW_IE))
					return;
			}
			store_m80(c, i, ea, &v);
			if (!fl)
				set_c1(f, false);
			pop(f);
			return;
		}
		break;
	case 5:
		switch (reg) {
		case 0:
			return load_memory(c, i, XH_ld_m64, 8);
		case 1:
			return store_value(c, i, XH_istt_64, 8, true);
		case 2:
		case 3:
			return store_value(c, i, XH_st_m64, 8, reg == 3);
		case 4:
			return soft_x87_frstor(c, i);
		case 6:
			return soft_x87_fnsave(c, i);
		case 7:
			soft_mem_write(c, i->seg, ea_of(c, i), 2, f->fx.fsw);
			return;
		}
		break;
	case 7:
		switch (reg) {
		case 0:
			return load_memory(c, i, XH_ild_16, 2);
		case 1:
			return store_value(c, i, XH_istt_16, 2, true);
		case 2:
		case 3:
			return store_value(c, i, XH_ist_16, 2, reg == 3);
		case 4: {
			struct x87_io io;
			ea = x87_ea(c, i);
			load_m80(c, i, ea, &io.m.f80);
			return load_value(f, XH_bld, &io);
		}
		case 5:
			return load_memory(c, i, XH_ild_64, 8);
		case 6:
			return store_value(c, i, XH_bstp, 10, true);
		case 7:
			return store_value(c, i, XH_ist_64, 8, true);
		}
		break;
	}
	soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
}

static void x87_register(struct soft_cpu *c, unsigned esc, unsigned reg, unsigned k)
{
	struct soft_fpu *f = &c->fpu;

	switch (esc) {
	case 0:
		return arith_reg(c, 0, reg, k);
	case 4:
		if (reg == 2 || reg == 3) /* DC D0-DF: aliases of D8's fcom/fcomp */
			return arith_reg(c, 0, reg, k);
		return arith_reg(c, 4, reg, k);
	case 6:
		if (reg == 3 && k == 1) /* fcompp */ {
			struct x87_io io;
			unsigned fl = 0;
			io.in[0] = src(f, 0, &fl);
			io.in[1] = src(f, 1, &fl);
			io.m.u64 = 0;
			fl |= host(f, XH_com, &io);
			return compare_done(f, &io, fl, 2);
		}
		if (reg == 2 || reg == 3)
			break;
		return arith_reg(c, 6, reg, k);
	case 1:
		switch (reg) {
		case 0: { /* fld ST(i) */
			unsigned fl = 0;
			struct soft_f80 v = src(f, k, &fl);
			if (fl) {
				/* an empty source is an underflow before any overflow */
				set_c1(f, false);
				flag(f, fl);
				if (!unmasked(f, FSW_IE))
					push(f, &indefinite);
				return;
			}
			if (!push_room(f))
				return;
			push(f, &v);
			set_c1(f, false);
			return;
		}
		case 1:
			return fxch(f, k);
		case 2:
			if (k == 0) /* fnop */
				return;
			break;
		case 3: /* fstp1, an alias (D9 D8+i) */
			return fst_reg(f, k, true);
		default:
			return d9_misc(c, reg, k);
		}
		break;
	case 2:
		if (reg < 4)
			return fcmov(c, 2, reg, k);
		if (reg == 5 && k == 1) { /* fucompp */
			struct x87_io io;
			unsigned fl = 0;
			io.in[0] = src(f, 0, &fl);
			io.in[1] = src(f, 1, &fl);
			io.m.u64 = 0;
			fl |= host(f, XH_ucom, &io);
			return compare_done(f, &io, fl, 2);
		}
		break;
	case 3:
		if (reg < 4)
			return fcmov(c, 3, reg, k);
		if (reg == 4) {
			switch (k) {
			case 0: /* fneni, fndisi, fnsetpm: no-ops since the 287 */
			case 1:
			case 4:
				return;
			case 2: /* fnclex */
				f->fx.fsw &= ~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
				return;
			case 3:
				return soft_x87_init(f);
			}
			break;
		}
		if (reg == 5)
			return comi(c, k, true, false);
		if (reg == 6)
			return comi(c, k, false, false);
		break;
	case 5:
		switch (reg) {
		case 0: /* ffree (C1 cleared, as AMD does; the SDM leaves C0-C3 undefined) */
			set_valid(f, k, false);
			set_c1(f, false);
			return;
		case 1: /* fxch4 alias */
			return fxch(f, k);
		case 2:
		case 3:
			return fst_reg(f, k, reg == 3);
		case 4:
		case 5: {
			struct x87_io io;
			unsigned fl = 0;
			io.in[0] = src(f, 0, &fl);
			io.in[1] = src(f, k, &fl);
			io.m.u64 = 0;
			fl |= host(f, XH_ucom, &io);
			return compare_done(f, &io, fl, reg == 5);
		}
		}
		break;
	case 7:
		switch (reg) {
		case 0: /* ffreep (undocumented, but every CPU has it) */
			set_valid(f, k, false);
			set_c1(f, false);
			pop(f);
			return;
		case 1:
			return fxch(f, k);
		case 2:
		case 3:
			return fst_reg(f, k, true);
		case 4:
			if (k == 0) { /* fnstsw ax */
				soft_reg_write(c, R_AX, 2, f->fx.fsw);
				return;
			}
			break;
		case 5:
			return comi(c, k, true, true);
		case 6:
			return comi(c, k, false, true);
		}
		break;
	}
	soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
}

/* The non-waiting instructions (SDM Vol.1 §8.3.11) and the other control instructions. */
static bool is_control(unsigned esc, unsigned reg, bool mem, unsigned k, bool *wait)
{
	*wait = true;
	if (mem) {
		if (esc == 1 && reg >= 4) {
			*wait = reg == 4 ||
				reg == 5; /* fldenv, fldcw wait; fnstenv, fnstcw do not */
			return true;
		}
		if (esc == 5 && (reg == 4 || reg == 6 || reg == 7)) {
			*wait = reg == 4; /* frstor waits; fnsave, fnstsw do not */
			return true;
		}
		return false;
	}
	if (esc == 3 && reg == 4 && (k == 2 || k == 3)) {
		*wait = false; /* fnclex, fninit */
		return true;
	}
	if (esc == 7 && reg == 4 && k == 0) {
		*wait = false; /* fnstsw ax */
		return true;
	}
	return false;
}

SOFT_OP(x87)
{
	unsigned esc = i->op >> 3, reg = i->op & 7;
	bool mem = is_mem(i), wait;
	bool control = is_control(esc, reg, mem, i->rm, &wait);

	soft_x87_enter(c, wait);
	if (mem)
		x87_memory(c, i, esc, reg);
	else
		x87_register(c, esc, reg, i->rm);
	if (!control) {
		record_ip(c, i);
		if (mem) {
			c->fpu.fx.fdp = ea_of(c, i);
			c->fpu.fds = c->seg[i->seg].selector;
		}
	}
}
