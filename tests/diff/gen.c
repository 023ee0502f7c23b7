// SPDX-License-Identifier: MIT
/*
 * The sequence generator: random 64-bit ring-3 instructions, chosen form by
 * form and encoded by encode.c. Memory operands are [base + disp] with a base
 * register the sequence never writes (two "pointer" registers per sequence),
 * so every access stays inside the data and stack pages.
 *
 * Flags the SDM leaves undefined are tracked as the sequence grows: they
 * are masked in the final comparison, and an instruction that would read one
 * (adc, setcc, cmovcc, lahf, ...) is not emitted while it is undefined.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <Zydis/Zydis.h>

#include "diff.h"
#include "encode.h"
#include "gen.h"

#define NOREG ENC_NOREG
#define AH    ENC_AH

#define CF  DIFF_CF
#define PF  DIFF_PF
#define AF  DIFF_AF
#define ZF  DIFF_ZF
#define SF  DIFF_SF
#define OF  DIFF_OF
#define ALL DIFF_ARITH

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8 };

uint64_t diff_rand(uint64_t *rng)
{
	/* splitmix64 */
	uint64_t z = (*rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rnd(struct gen *g, unsigned n)
{
	return (unsigned)(diff_rand(g->rng) % n);
}

static bool coin(struct gen *g)
{
	return diff_rand(g->rng) & 1;
}

/* Values that hit flag edges more often than uniform ones. */
static uint64_t value(struct gen *g)
{
	static const uint64_t edge[] = {
		0,
		1,
		2,
		0x7f,
		0x80,
		0xff,
		0x7fff,
		0x8000,
		0xffff,
		0x7fffffff,
		0x80000000,
		0xffffffff,
		0x7fffffffffffffffull,
		0x8000000000000000ull,
		~0ull,
		~1ull,
	};

	switch (rnd(g, 4)) {
	case 0:
		return edge[rnd(g, sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return rnd(g, 64);
	default:
		return diff_rand(g->rng);
	}
}

/* Ends one instruction of the sequence. */
static void mark(struct gen *g)
{
	struct diff_seq *s = g->s;

	s->off[++s->n] = (uint16_t)s->len;
}

static void emit(struct gen *g, const struct enc_op *op)
{
	struct diff_seq *s = g->s;

	if (g->bad)
		return;
	if (!enc_encode(s->code, &s->len, op, diff_rand(g->rng)))
		g->bad = true;
	else
		mark(g);
}

/* --- operands --- */

static bool writable(const struct gen *g, unsigned r)
{
	if (r >= AH)
		r -= AH;
	return r != RSP && r != g->ptr[0] && r != g->ptr[1];
}

/* A register operand of size; written: the instruction writes it. */
static unsigned pick_reg(struct gen *g, unsigned size, bool written)
{
	for (;;) {
		unsigned r = size == 1 && rnd(g, 4) == 0 ? AH + rnd(g, 4) : rnd(g, 16);

		if (r == RSP || (written && !writable(g, r)))
			continue;
		return r;
	}
}

static struct enc_rm rm_reg(unsigned r)
{
	return (struct enc_rm){ .reg = (uint8_t)r, .base = NOREG, .index = NOREG };
}

/* [ptr + disp] for an access of size bytes in the data page (or just past it). */
static struct enc_rm rm_mem(struct gen *g, unsigned size)
{
	unsigned p = g->ptr[rnd(g, 2)];
	uint64_t target = DIFF_MEM + rnd(g, (unsigned)DIFF_DATA_SIZE + 0x100 - size + 1);

	return (struct enc_rm){ .mem = true,
				.base = (uint8_t)p,
				.index = NOREG,
				.disp = (int32_t)(target - g->s->init.gpr[p]) };
}

static struct enc_rm pick_rm(struct gen *g, unsigned size, bool written, bool allow_mem)
{
	if (allow_mem && rnd(g, 3) == 0)
		return rm_mem(g, size);
	return rm_reg(pick_reg(g, size, written));
}

static unsigned pick_size(struct gen *g, bool byte)
{
	static const unsigned sz[] = { 1, 2, 4, 8 };

	return byte ? sz[rnd(g, 4)] : sz[1 + rnd(g, 3)];
}

static unsigned imm_len(unsigned size)
{
	return size == 1 ? 1 : size == 2 ? 2 : 4;
}

/* --- flags --- */

static bool readable(const struct gen *g, uint64_t flags)
{
	return !(g->undef & flags);
}

static void flags(struct gen *g, uint64_t defined, uint64_t undefined)
{
	g->undef = (g->undef & ~defined) | undefined;
}

/* For gen_sse.c (gen.h). */
unsigned gen_rnd(struct gen *g, unsigned n)
{
	return rnd(g, n);
}

uint64_t gen_value(struct gen *g)
{
	return value(g);
}

void gen_emit(struct gen *g, const struct enc_op *op)
{
	emit(g, op);
}

unsigned gen_pick_reg(struct gen *g, unsigned size, bool written)
{
	return pick_reg(g, size, written);
}

void gen_flags(struct gen *g, uint64_t defined, uint64_t undefined)
{
	flags(g, defined, undefined);
}

struct enc_rm gen_rm_reg(unsigned r)
{
	return rm_reg(r);
}

/* What condition code cc reads (SDM Vol.1 Table B-1). */
static uint64_t cond_reads(unsigned cc)
{
	static const uint64_t r[8] = { OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF };

	return r[(cc >> 1) & 7];
}

/* --- the emitters --- */

/*
 * One ModRM instruction form, as a table row: opc is one byte or 0x0fXX for
 * 0F XX; W adds 1 to it for operands above a byte; ModRM.reg is a /digit,
 * or a register operand when digit < 0.
 */
enum { W = 1, NOW = 2, RM8 = 4 };

struct form {
	uint16_t opc;
	int8_t digit;
	uint8_t pfx, how; /* F2/F3 or 0; W, NOW (64-bit by default), RM8 (movzx/movsx r, r/m8) */
};

static void emit_form(struct gen *g, const struct form *f, unsigned size, unsigned reg,
		      const struct enc_rm *m, bool lock, uint64_t imm, unsigned nimm)
{
	unsigned opc = f->opc + ((f->how & W) && size > 1);
	bool two = opc > 0xff;

	emit(g, &(struct enc_op){ .size = size,
				  .now = f->how & NOW,
				  .pfx = f->pfx,
				  .rm8 = f->how & RM8,
				  .lock = lock,
				  .opc = { two ? 0x0f : opc, opc & 0xff },
				  .nopc = two ? 2 : 1,
				  .regf = f->digit >= 0 ? (unsigned)f->digit : reg,
				  .digit = f->digit >= 0,
				  .rm = m,
				  .oreg = NOREG,
				  .imm = imm,
				  .nimm = nimm });
}

/* An instruction without ModRM: opc (one byte or 0x0fXX), a register in its low bits or NOREG. */
static void emit_plain(struct gen *g, unsigned size, bool now, uint8_t pfx, unsigned opc,
		       unsigned oreg, uint64_t imm, unsigned nimm)
{
	bool two = opc > 0xff;

	emit(g, &(struct enc_op){ .size = size,
				  .now = now,
				  .pfx = pfx,
				  .opc = { two ? 0x0f : opc, opc & 0xff },
				  .nopc = two ? 2 : 1,
				  .oreg = oreg,
				  .imm = imm,
				  .nimm = nimm });
}

void gen_emit_plain(struct gen *g, unsigned size, unsigned opc, unsigned oreg, uint64_t imm,
		    unsigned nimm)
{
	emit_plain(g, size, false, 0, opc, oreg, imm, nimm);
}

/* mov r64, imm64 (B8+r), a setup instruction. */
static void mov_imm64(struct gen *g, unsigned r, uint64_t v)
{
	emit_plain(g, 8, false, 0, 0xb8, r, v, 8);
}

/* --- instruction forms; each returns false to let another be chosen --- */

static bool f_alu(struct gen *g)
{
	unsigned op = rnd(g, 9), size = pick_size(g, true);
	bool logic = op == 1 || op == 4 || op == 6 || op == 8, writes = op != 7 && op != 8;
	uint64_t reads = op == 2 || op == 3 ? CF : 0;
	struct enc_rm m;

	if (!readable(g, reads))
		return false;
	switch (rnd(g, 4)) {
	case 0: /* E, G */
		m = pick_rm(g, size, writes, true);
		emit_form(g, &(struct form){ op == 8 ? 0x84 : op * 8, -1, 0, W }, size,
			  pick_reg(g, size, false), &m, m.mem && writes && rnd(g, 4) == 0, 0, 0);
		break;
	case 1: /* G, E */
		if (op == 8)
			return false;
		m = pick_rm(g, size, false, true);
		emit_form(g, &(struct form){ op * 8 + 2, -1, 0, W }, size,
			  pick_reg(g, size, writes), &m, false, 0, 0);
		break;
	case 2: /* AL/eAX, imm */
		emit_plain(g, size, false, 0, (op == 8 ? 0xa8 : op * 8 + 4) + (size > 1), NOREG,
			   value(g), imm_len(size));
		break;
	default: { /* group 1 / F6-F7 /0 */
		bool ib = size > 1 && op != 8 && coin(g);
		unsigned opc = op == 8 ? 0xf6 + (size > 1) : size == 1 ? 0x80 : ib ? 0x83 : 0x81;

		m = pick_rm(g, size, writes, true);
		emit_form(g, &(struct form){ opc, (int8_t)(op == 8 ? 0 : op), 0, 0 }, size, 0, &m,
			  m.mem && writes && rnd(g, 4) == 0, value(g), ib ? 1 : imm_len(size));
	}
	}
	flags(g, logic ? ALL & ~AF : ALL, logic ? AF : 0);
	return true;
}

static bool f_unary(struct gen *g)
{
	/* inc, dec, not, neg */
	static const struct form f[] = {
		{ 0xfe, 0, 0, W }, { 0xfe, 1, 0, W }, { 0xf6, 2, 0, W }, { 0xf6, 3, 0, W }
	};
	unsigned size = pick_size(g, true), k = rnd(g, 4);
	struct enc_rm m = pick_rm(g, size, true, true);

	emit_form(g, &f[k], size, 0, &m, m.mem && rnd(g, 4) == 0, 0, 0);
	if (k < 2)
		flags(g, ALL & ~CF, 0);
	else if (k == 3)
		flags(g, ALL, 0);
	return true;
}

/* mov cl, imm8 (B1 ib): CL counts are set just before their shift. */
static void set_cl(struct gen *g, unsigned v)
{
	emit_plain(g, 1, false, 0, 0xb0, RCX, v, 1);
}

static bool f_shift(struct gen *g)
{
	unsigned op = rnd(g, 8), size = pick_size(g, true), how = rnd(g, 3), count;
	unsigned bits = size * 8, mc;
	struct enc_rm m = pick_rm(g, size, true, true);
	uint64_t def = 0, und = 0;

	if (m.reg == RCX && how == 2)
		return false; /* the count register is set just before */
	count = how == 0 ? 1 : rnd(g, 4) == 0 ? rnd(g, 256) : rnd(g, bits + 2);
	mc = count & (size == 8 ? 63 : 31);
	if ((op == 2 || op == 3) && mc && !readable(g, CF))
		return false;
	if (how == 2)
		set_cl(g, count);
	/* D0/D1 by 1, C0/C1 by imm8, D2/D3 by CL */
	emit_form(g,
		  &(struct form){ how == 0   ? 0xd0
				  : how == 1 ? 0xc0
					     : 0xd2,
				  (int8_t)op, 0, W },
		  size, 0, &m, false, count, how == 1);
	if (mc == 0)
		return true;
	/* SDM Vol.2 RCL/RCR/ROL/ROR, SAL/SAR/SHL/SHR "Flags Affected" */
	if (op < 2) {
		def = CF;
	} else if (op < 4) {
		unsigned tc = size == 1 ? mc % 9 : size == 2 ? mc % 17 : mc;

		if (tc)
			def = CF;
		else
			und = CF;
	} else {
		def = CF | SF | ZF | PF;
		und = AF;
		if (op != 7 && mc >= bits)
			def &= ~CF, und |= CF;
	}
	if (mc == 1)
		def |= OF;
	else
		und |= OF;
	flags(g, def, und);
	return true;
}

static bool f_shxd(struct gen *g)
{
	unsigned size = pick_size(g, false), cl = coin(g), right = coin(g), count, mc;
	struct enc_rm m = pick_rm(g, size, true, true);
	unsigned src = pick_reg(g, size, false);

	if (cl && !m.mem && m.reg == RCX)
		return false;
	count = rnd(g, 256);
	if (size == 2)
		count = (count & 0xe0) | rnd(g, 17); /* above 16 the result is undefined */
	mc = count & (size == 8 ? 63 : 31);
	if (cl)
		set_cl(g, count);
	emit_form(g, &(struct form){ (right ? 0x0fac : 0x0fa4) + cl, -1, 0, 0 }, size, src, &m,
		  false, count, !cl);
	if (mc)
		flags(g, CF | SF | ZF | PF | (mc == 1 ? OF : 0), AF | (mc == 1 ? 0 : OF));
	return true;
}

static bool f_mul(struct gen *g)
{
	/* F6/F7 /4 mul, /5 imul; imul r, r/m; imul r, r/m, imm8 / imm */
	static const struct form f[] = { { 0xf6, 4, 0, W },
					 { 0xf6, 5, 0, W },
					 { 0x0faf, -1, 0, 0 },
					 { 0x6b, -1, 0, 0 },
					 { 0x69, -1, 0, 0 } };
	unsigned size = pick_size(g, true), k = size == 1 ? rnd(g, 2) : rnd(g, 5);
	struct enc_rm m = pick_rm(g, size, false, true);

	emit_form(g, &f[k], size, pick_reg(g, size, true), &m, false, value(g),
		  k == 3   ? 1
		  : k == 4 ? imm_len(size)
			   : 0);
	flags(g, CF | OF, SF | ZF | AF | PF);
	return true;
}

/* div/idiv with a dividend and divisor chosen so that the host does not raise #DE. */
static bool f_div(struct gen *g)
{
	unsigned size = pick_size(g, true), sgn = coin(g), d;
	uint64_t mask = size == 8 ? ~0ull : (1ull << (size * 8)) - 1, v;
	struct enc_rm m;

	do {
		d = rnd(g, 16);
	} while (!writable(g, d) || d == RAX || d == RDX);
	do {
		v = value(g) & mask;
	} while (v == 0 || (sgn && v == mask));
	mov_imm64(g, d, v);
	if (sgn) /* cbw/cwd/cdq/cqo: the dividend is the sign-extended low half */
		emit_plain(g, size == 1 ? 2 : size, false, 0, size == 1 ? 0x98 : 0x99, NOREG, 0, 0);
	else if (size == 1) /* mov ah, imm8 below the divisor */
		emit_plain(g, 1, false, 0, 0xb0, AH, diff_rand(g->rng) % v, 1);
	else
		emit_plain(g, size, false, 0, 0xb8, RDX, diff_rand(g->rng) % v, size);
	m = rm_reg(d);
	if (rnd(g, 3) == 0) { /* through memory: mov [mem], d first */
		m = rm_mem(g, size);
		emit_form(g, &(struct form){ 0x88, -1, 0, W }, size, d, &m, false, 0, 0);
	}
	emit_form(g, &(struct form){ 0xf6, (int8_t)(6 + sgn), 0, W }, size, 0, &m, false, 0, 0);
	flags(g, 0, ALL);
	return true;
}

static bool f_bt(struct gen *g)
{
	unsigned size = pick_size(g, false), op = rnd(g, 4); /* bt, bts, btr, btc */
	struct enc_rm m;

	if (coin(g)) { /* 0F A3/AB/B3/BB r/m, r: register forms only */
		m = rm_reg(pick_reg(g, size, op != 0));
		emit_form(g, &(struct form){ 0x0fa3 + 8 * op, -1, 0, 0 }, size,
			  pick_reg(g, size, false), &m, false, 0, 0);
	} else { /* 0F BA /4-7 ib */
		m = pick_rm(g, size, op != 0, true);
		emit_form(g, &(struct form){ 0x0fba, (int8_t)(4 + op), 0, 0 }, size, 0, &m,
			  m.mem && op != 0 && rnd(g, 4) == 0, rnd(g, 256), 1);
	}
	flags(g, CF, OF | SF | AF | PF);
	return true;
}

static bool f_scan(struct gen *g)
{
	/* bsf, bsr, tzcnt, lzcnt, popcnt */
	static const struct form f[] = { { 0x0fbc, -1, 0, 0 },
					 { 0x0fbd, -1, 0, 0 },
					 { 0x0fbc, -1, 0xf3, 0 },
					 { 0x0fbd, -1, 0xf3, 0 },
					 { 0x0fb8, -1, 0xf3, 0 } };
	unsigned size = pick_size(g, false), k = rnd(g, 5);
	struct enc_rm m = pick_rm(g, size, false, true);

	if ((k == 2 && !g->o->has_tzcnt) || (k == 3 && !g->o->has_lzcnt) ||
	    (k == 4 && !g->o->has_popcnt))
		return false;
	emit_form(g, &f[k], size, pick_reg(g, size, true), &m, false, 0, 0);
	if (k < 2)
		flags(g, ZF, CF | OF | SF | AF | PF);
	else if (k < 4)
		flags(g, CF | ZF, OF | SF | AF | PF);
	else
		flags(g, ALL, 0);
	return true;
}

static bool f_bswap(struct gen *g)
{
	emit_plain(g, coin(g) ? 4 : 8, false, 0, 0x0fc8, pick_reg(g, 8, true), 0, 0);
	return true;
}

/* cmpxchg, xadd, xchg */
static bool f_xchg(struct gen *g)
{
	static const struct form f[] = { { 0x0fb0, -1, 0, W },
					 { 0x0fc0, -1, 0, W },
					 { 0x86, -1, 0, W } };
	unsigned size = pick_size(g, true), k = rnd(g, 4);
	struct enc_rm m = pick_rm(g, size, true, true);
	unsigned r = pick_reg(g, size, k != 0);

	if (k < 3) {
		emit_form(g, &f[k], size, r, &m, m.mem && rnd(g, 4) == 0, 0, 0);
		if (k < 2)
			flags(g, ALL, 0);
		return true;
	}
	/* 90+r: xchg eAX, r (not r = 0, which is nop) */
	if (size == 1 || r == RAX)
		return false;
	emit_plain(g, size, false, 0, 0x90, r, 0, 0);
	return true;
}

static bool f_cond(struct gen *g)
{
	unsigned cc = rnd(g, 16), size = coin(g) ? 1 : pick_size(g, false);
	struct enc_rm m;

	if (!readable(g, cond_reads(cc)))
		return false;
	m = pick_rm(g, size, size == 1, true);
	if (size == 1) /* setcc r/m8 */
		emit_form(g, &(struct form){ 0x0f90 + cc, 0, 0, 0 }, 1, 0, &m, false, 0, 0);
	else /* cmovcc r, r/m */
		emit_form(g, &(struct form){ 0x0f40 + cc, -1, 0, 0 }, size, pick_reg(g, size, true),
			  &m, false, 0, 0);
	return true;
}

static bool f_movx(struct gen *g)
{
	/* movzx/movsx r, r/m8; movzx/movsx r, r/m16 */
	static const struct form f[] = { { 0x0fb6, -1, 0, RM8 },
					 { 0x0fbe, -1, 0, RM8 },
					 { 0x0fb7, -1, 0, 0 },
					 { 0x0fbf, -1, 0, 0 } };
	unsigned k = rnd(g, 4), ssize = k < 2 ? 1 : 2;
	unsigned size = k < 2 ? pick_size(g, false) : coin(g) ? 4 : 8;
	struct enc_rm m = pick_rm(g, ssize, false, true);

	emit_form(g, &f[k], size, pick_reg(g, 8, true), &m, false, 0, 0);
	return true;
}

static bool f_movsxd(struct gen *g)
{
	struct enc_rm m = pick_rm(g, 4, false, true);

	emit_form(g, &(struct form){ 0x63, -1, 0, 0 }, 8, pick_reg(g, 8, true), &m, false, 0, 0);
	return true;
}

static bool f_lea(struct gen *g)
{
	unsigned size = pick_size(g, false);
	struct enc_rm m = { .mem = true, .index = NOREG };

	do {
		m.base = (uint8_t)rnd(g, 16);
	} while (m.base == RSP);
	if (coin(g)) {
		do {
			m.index = (uint8_t)rnd(g, 16);
		} while (m.index == RSP);
		m.scale = (uint8_t)rnd(g, 4);
	}
	m.disp = coin(g) ? (int8_t)rnd(g, 256) : (int32_t)diff_rand(g->rng);
	emit(g, &(struct enc_op){ .size = size,
				  .a32 = rnd(g, 4) == 0,
				  .opc = { 0x8d },
				  .nopc = 1,
				  .regf = pick_reg(g, size, true),
				  .rm = &m,
				  .oreg = NOREG });
	return true;
}

static bool f_mov(struct gen *g)
{
	/* mov r/m, r; mov r, r/m; mov r/m, imm */
	static const struct form f[] = { { 0x88, -1, 0, W },
					 { 0x8a, -1, 0, W },
					 { 0xc6, 0, 0, W } };
	unsigned size = pick_size(g, true), k = rnd(g, 5);
	struct enc_rm m;

	if (k < 3) {
		m = pick_rm(g, size, k != 1, true);
		emit_form(g, &f[k], size, pick_reg(g, size, k == 1), &m, false, value(g),
			  k == 2 ? imm_len(size) : 0);
	} else if (k == 3) { /* B0+r / B8+r, imm */
		emit_plain(g, size, false, 0, size == 1 ? 0xb0 : 0xb8, pick_reg(g, size, true),
			   value(g), size);
	} else { /* A0-A3: moffs64 */
		uint64_t at = DIFF_MEM + rnd(g, (unsigned)DIFF_DATA_SIZE - size + 1);

		emit_plain(g, size, false, 0, 0xa0 + (size > 1) + 2 * coin(g), NOREG, at, 8);
	}
	return true;
}

static bool f_misc(struct gen *g)
{
	/* cbw/cwde/cdqe, cwd/cdq/cqo, lahf, sahf, cmc, clc, stc: opcode, flags read and written */
	static const struct {
		uint8_t opc;
		uint64_t reads, writes;
	} f[] = {
		{ 0x98, 0, 0 },
		{ 0x99, 0, 0 },
		{ 0x9f, SF | ZF | AF | PF | CF, 0 },
		{ 0x9e, 0, SF | ZF | AF | PF | CF },
		{ 0xf5, CF, 0 },
		{ 0xf8, 0, CF },
		{ 0xf9, 0, CF },
	};
	static const unsigned sz[] = { 2, 4, 8 };
	unsigned k = rnd(g, 8);

	if (k == 7)
		k = 6; /* clc and stc as often as before */
	if ((f[k].opc == 0x9f || f[k].opc == 0x9e) && !g->o->has_lahf)
		return false;
	if (!readable(g, f[k].reads))
		return false;
	emit_plain(g, k < 2 ? sz[rnd(g, 3)] : 4, false, 0, f[k].opc, NOREG, 0, 0);
	flags(g, f[k].writes, 0);
	return true;
}

static bool f_string(struct gen *g)
{
	unsigned k = rnd(g, 5), size = pick_size(g, true), count = rnd(g, 16), rep = rnd(g, 3);
	bool down = rnd(g, 4) == 0, cmp = k == 3 || k == 4;
	/* movs, stos, lods, cmps, scas */
	static const uint8_t opc[] = { 0xa4, 0xaa, 0xac, 0xa6, 0xae };
	uint8_t pfx = rep == 0 ? 0 : rep == 1 || !cmp ? 0xf3 : 0xf2;

	if (down)
		emit_plain(g, 4, false, 0, 0xfd, NOREG, 0, 0); /* std */
	mov_imm64(g, RSI, DIFF_MEM + 0x100 + rnd(g, 0xd00));
	mov_imm64(g, RDI, DIFF_MEM + 0x100 + rnd(g, 0xd00));
	emit_plain(g, 4, false, 0, 0xb8, RCX, count, 4);
	emit_plain(g, size, false, pfx, opc[k] + (size > 1), NOREG, 0, 0);
	if (down)
		emit_plain(g, 4, false, 0, 0xfc, NOREG, 0, 0); /* cld */
	if (cmp && (!pfx || count))
		flags(g, ALL, 0);
	return true;
}

static bool f_stack(struct gen *g)
{
	/* push r, pop r, push imm, push m, pop m, push r/m with a register: opcode, /digit, push?
	 */
	static const struct {
		uint8_t opc, digit;
		bool push;
	} f[] = { { 0x50, 0, true }, { 0x58, 0, false }, { 0x68, 0, true },
		  { 0xff, 6, true }, { 0x8f, 0, false }, { 0xff, 6, true } };
	unsigned k = rnd(g, 6), size = rnd(g, 4) == 0 ? 2 : 8;
	struct enc_rm m;

	if (g->depth > 0x600 || g->depth < -0x600)
		return false;
	if (k < 2) {
		emit_plain(g, size, true, 0, f[k].opc, pick_reg(g, 8, k == 1), 0, 0);
	} else if (k == 2) { /* push imm8 / imm32 (imm16 with 66) */
		bool ib = coin(g);

		emit_plain(g, size, true, 0, ib ? 0x6a : 0x68, NOREG, value(g),
			   ib	       ? 1
			   : size == 2 ? 2
				       : 4);
	} else {
		m = k == 5 ? rm_reg(pick_reg(g, 8, false)) : rm_mem(g, size);
		emit_form(g, &(struct form){ f[k].opc, (int8_t)f[k].digit, 0, NOW }, size, 0, &m,
			  false, 0, 0);
	}
	g->depth += f[k].push ? (int)size : -(int)size;
	return true;
}

static bool f_nop(struct gen *g)
{
	struct enc_rm m = { .mem = true, .index = NOREG };
	unsigned k = rnd(g, 4);

	if (k < 3) { /* nop, 66 nop, pause */
		emit_plain(g, k == 1 ? 2 : 4, false, k == 2 ? 0xf3 : 0, 0x90, NOREG, 0, 0);
		return true;
	}
	/* 0F 1F /0 with any address: nothing is accessed */
	do {
		m.base = (uint8_t)rnd(g, 16);
	} while (m.base == RSP);
	m.disp = (int32_t)diff_rand(g->rng);
	emit_form(g, &(struct form){ 0x0f1f, 0, 0, 0 }, coin(g) ? 2 : 4, 0, &m, false, 0, 0);
	return true;
}

static bool (*const forms[])(struct gen *g) = {
	f_alu,	  f_alu,	f_alu,	 f_unary, f_shift,  f_shift, f_shxd, f_mul,
	f_div,	  f_bt,		f_scan,	 f_bswap, f_xchg,   f_cond,  f_cond, f_movx,
	f_movsxd, f_lea,	f_mov,	 f_misc,  f_string, f_stack, f_nop,  gen_sse,
	gen_sse,  gen_sse_move, gen_x87, gen_x87, gen_mmx,
};

/* --- disassembly and exclusions --- */

unsigned diff_disasm(const uint8_t *code, unsigned len, uint64_t rip, char *out, unsigned outlen,
		     const char **mnemonic)
{
	ZydisDisassembledInstruction in;

	if (!ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, rip, code, len, &in))) {
		snprintf(out, outlen, "(invalid)");
		return 0;
	}
	snprintf(out, outlen, "%s", in.text);
	if (mnemonic)
		*mnemonic = ZydisMnemonicGetString(in.info.mnemonic);
	return in.info.length;
}

/* Whether instructions [from, s->n) decode to what was encoded and are not excluded. */
static bool acceptable(struct gen *g, unsigned from)
{
	struct diff_seq *s = g->s;

	for (unsigned k = from; k < s->n; k++) {
		unsigned len = s->off[k + 1] - s->off[k];
		const char *mn = NULL;
		char text[96];

		if (diff_disasm(s->code + s->off[k], len, 0, text, sizeof(text), &mn) != len) {
			fprintf(stderr,
				"diff-test: generator bug: encoded %u bytes, decoded '%s'\n", len,
				text);
			return false;
		}
		for (unsigned e = 0; e < g->o->nexclude; e++)
			if (!strcasecmp(mn, g->o->exclude[e]))
				return false;
	}
	return true;
}

int diff_gen(struct diff_seq *s, uint64_t *rng, const struct diff_gen_opts *o)
{
	struct gen g = { .s = s, .rng = rng, .o = o };
	unsigned tries = 0;

	memset(&s->init, 0, sizeof(s->init));
	s->len = s->n = s->ngroups = 0;
	s->off[0] = 0;
	for (unsigned k = 0; k < DIFF_MEM_SIZE; k += 8) {
		uint64_t v = diff_rand(rng);
		memcpy(s->mem + k, &v, 8);
	}
	g.ptr[0] = coin(&g) ? RBX : RBP;
	g.ptr[1] = (uint8_t)(R8 + rnd(&g, 8));
	for (unsigned r = 0; r < 16; r++)
		s->init.gpr[r] = value(&g);
	for (unsigned p = 0; p < 2; p++)
		s->init.gpr[g.ptr[p]] = DIFF_MEM + 0x200 + rnd(&g, 0xc00);
	s->init.gpr[RSP] = DIFF_STACK_TOP;
	s->init.rflags = 0x202 | (diff_rand(rng) & DIFF_ARITH);
	gen_sse_init(&g);
	gen_mmx_init(&g);

	for (unsigned k = 0; k < o->seq_len;) {
		struct gen save = g;
		unsigned len = s->len, n = s->n;

		if (s->len + 64 > DIFF_SEQ_BYTES || s->n + 8 > DIFF_MAX_INSNS)
			break;
		g.bad = false;
		if (forms[rnd(&g, sizeof(forms) / sizeof(forms[0]))](&g) && !g.bad &&
		    acceptable(&g, n)) {
			s->group_end[s->ngroups] = (uint16_t)s->n;
			s->group_undef[s->ngroups++] = g.undef;
			k++;
			continue;
		}
		/* roll back and choose again */
		save.rng = g.rng;
		g = save;
		s->len = len;
		s->n = n;
		if (++tries > 100000)
			return -EAGAIN;
	}
	s->undef = g.undef;
	return 0;
}
