// SPDX-License-Identifier: MIT
/*
 * MMX forms of the generator, with the SSE/SSE2 integer instructions on MMX
 * registers: lane arithmetic, compares, logic, packs and unpacks (mm, mm/m),
 * shifts by a register, memory or imm8, movd/movq to and from general
 * registers and memory, movntq, pshufw, pinsrw/pextrw, pmovmskb, maskmovq
 * (at a fresh rDI in the data page), movq2dq/movdq2q, emms, and the
 * conversions cvtpi2ps/cvtpi2pd/cvt(t)ps2pi/cvt(t)pd2pi.
 *
 * MM0-MM7 alias the x87 registers: the sequence starts with random contents
 * in R0-R7 (all empty, TOP 0), so the first MMX instructions read them, and
 * x87 forms in the same sequence meet a stack an MMX instruction has filled
 * (TOP 0, every tag valid, exponents all 1s). Register numbers 8-15 are
 * chosen too: REX.R/REX.B are ignored for MMX registers.
 */
#include <string.h>

#include "gen.h"

/* mm, mm/m: 0F opc; m32 for the low unpacks, m64 else. */
static const struct gen_simd arith[] = {
	{ 0, 0, 0x60, 4 }, { 0, 0, 0x61, 4 }, { 0, 0, 0x62, 4 }, { 0, 0, 0x63, 8 },
	{ 0, 0, 0x64, 8 }, { 0, 0, 0x65, 8 }, { 0, 0, 0x66, 8 }, { 0, 0, 0x67, 8 },
	{ 0, 0, 0x68, 8 }, { 0, 0, 0x69, 8 }, { 0, 0, 0x6a, 8 }, { 0, 0, 0x6b, 8 },
	{ 0, 0, 0x74, 8 }, { 0, 0, 0x75, 8 }, { 0, 0, 0x76, 8 }, { 0, 0, 0xd4, 8 },
	{ 0, 0, 0xd5, 8 }, { 0, 0, 0xd8, 8 }, { 0, 0, 0xd9, 8 }, { 0, 0, 0xda, 8 },
	{ 0, 0, 0xdb, 8 }, { 0, 0, 0xdc, 8 }, { 0, 0, 0xdd, 8 }, { 0, 0, 0xde, 8 },
	{ 0, 0, 0xdf, 8 }, { 0, 0, 0xe0, 8 }, { 0, 0, 0xe3, 8 }, { 0, 0, 0xe4, 8 },
	{ 0, 0, 0xe5, 8 }, { 0, 0, 0xe8, 8 }, { 0, 0, 0xe9, 8 }, { 0, 0, 0xea, 8 },
	{ 0, 0, 0xeb, 8 }, { 0, 0, 0xec, 8 }, { 0, 0, 0xed, 8 }, { 0, 0, 0xee, 8 },
	{ 0, 0, 0xef, 8 }, { 0, 0, 0xf4, 8 }, { 0, 0, 0xf5, 8 }, { 0, 0, 0xf6, 8 },
	{ 0, 0, 0xf8, 8 }, { 0, 0, 0xf9, 8 }, { 0, 0, 0xfa, 8 }, { 0, 0, 0xfb, 8 },
	{ 0, 0, 0xfc, 8 }, { 0, 0, 0xfd, 8 }, { 0, 0, 0xfe, 8 },
};

/* shifts by mm/m64: psrlw/d/q, psraw/d, psllw/d/q */
static const uint8_t shift_opc[] = { 0xd1, 0xd2, 0xd3, 0xe1, 0xe2, 0xf1, 0xf2, 0xf3 };

static unsigned mm(struct gen *g)
{
	return gen_rnd(g, 4) == 0 ? 8 + gen_rnd(g, 8) : gen_rnd(g, 8);
}

static struct enc_rm mm_or_mem(struct gen *g, unsigned msize)
{
	return gen_rnd(g, 3) == 0 ? gen_mem_rm(g, msize) : gen_rm_reg(mm(g));
}

static void emit(struct gen *g, uint8_t pfx, uint8_t opc, unsigned regf, bool digit,
		 const struct enc_rm *rm, unsigned size, uint64_t imm, unsigned nimm)
{
	const struct gen_simd o = { 0, pfx, opc, 0 };

	gen_simd_emit(g, &o, regf, digit, rm, size, imm, nimm);
}

/* A small shift count: mov r32, imm32; movd mm, r32 (as a setup before the shift). */
static unsigned small_count(struct gen *g)
{
	unsigned r = gen_pick_reg(g, 4, true), m = mm(g);
	struct enc_rm rm = gen_rm_reg(r);

	gen_emit_plain(g, 4, 0xb8, r, gen_rnd(g, 70), 4);
	emit(g, 0, 0x6e, m, false, &rm, 4, 0, 0);
	return m;
}

bool gen_mmx(struct gen *g)
{
	struct enc_rm m;
	unsigned k = gen_rnd(g, 16);

	switch (k) {
	case 0: { /* shifts by mm/m64, the count mostly small */
		uint8_t opc = shift_opc[gen_rnd(g, sizeof(shift_opc))];

		m = gen_rnd(g, 4) ? gen_rm_reg(small_count(g)) : mm_or_mem(g, 8);
		emit(g, 0, opc, mm(g), false, &m, 4, 0, 0);
		return true;
	}
	case 1: { /* shifts by imm8: 0F 71-73 /digit (no psrldq/pslldq on mm) */
		static const uint8_t op_dig[][2] = { { 0x71, 2 }, { 0x71, 4 }, { 0x71, 6 },
						     { 0x72, 2 }, { 0x72, 4 }, { 0x72, 6 },
						     { 0x73, 2 }, { 0x73, 6 } };
		const uint8_t *od = op_dig[gen_rnd(g, 8)];
		unsigned count = gen_rnd(g, 4) == 0 ? gen_rnd(g, 256) : gen_rnd(g, 70);

		m = gen_rm_reg(mm(g));
		emit(g, 0, od[0], od[1], true, &m, 4, count, 1);
		return true;
	}
	case 2: { /* movd/movq mm <-> r/m32|64: 0F 6E / 7E (REX.W for 64) */
		bool to_mm = gen_rnd(g, 2);
		unsigned size = gen_rnd(g, 2) ? 8 : 4;

		m = gen_rnd(g, 3) == 0 ? gen_mem_rm(g, size)
				       : gen_rm_reg(gen_pick_reg(g, size, !to_mm));
		emit(g, 0, to_mm ? 0x6e : 0x7e, mm(g), false, &m, size, 0, 0);
		return true;
	}
	case 3: /* movq mm, mm/m64 (0F 6F); movq mm/m64, mm (0F 7F); movntq m64, mm (0F E7) */
		switch (gen_rnd(g, 3)) {
		case 0:
			m = mm_or_mem(g, 8);
			emit(g, 0, 0x6f, mm(g), false, &m, 4, 0, 0);
			break;
		case 1:
			m = mm_or_mem(g, 8);
			emit(g, 0, 0x7f, mm(g), false, &m, 4, 0, 0);
			break;
		default:
			m = gen_mem_rm(g, 8);
			emit(g, 0, 0xe7, mm(g), false, &m, 4, 0, 0);
		}
		return true;
	case 4: /* pshufw mm, mm/m64, imm8 */
		m = mm_or_mem(g, 8);
		emit(g, 0, 0x70, mm(g), false, &m, 4, gen_rnd(g, 256), 1);
		return true;
	case 5: /* pinsrw mm, r32/m16, imm8; pextrw r32, mm, imm8; pmovmskb r32, mm */
		switch (gen_rnd(g, 3)) {
		case 0:
			m = gen_rnd(g, 3) == 0 ? gen_mem_rm(g, 2)
					       : gen_rm_reg(gen_pick_reg(g, 4, false));
			emit(g, 0, 0xc4, mm(g), false, &m, 4, gen_rnd(g, 256), 1);
			break;
		case 1:
			m = gen_rm_reg(mm(g));
			emit(g, 0, 0xc5, gen_pick_reg(g, 4, true), false, &m, gen_rnd(g, 2) ? 8 : 4,
			     gen_rnd(g, 256), 1);
			break;
		default:
			m = gen_rm_reg(mm(g));
			emit(g, 0, 0xd7, gen_pick_reg(g, 4, true), false, &m, gen_rnd(g, 2) ? 8 : 4,
			     0, 0);
		}
		return true;
	case 6: /* maskmovq mm, mm at DS:rDI (never a pointer register): mov rdi, imm64 first */
		gen_emit_plain(g, 8, 0xb8, 7, DIFF_MEM + gen_rnd(g, (unsigned)DIFF_DATA_SIZE - 8),
			       8);
		m = gen_rm_reg(mm(g));
		emit(g, 0, 0xf7, mm(g), false, &m, 4, 0, 0);
		return true;
	case 7: /* movq2dq xmm, mm (F3 0F D6); movdq2q mm, xmm (F2 0F D6); emms */
		switch (gen_rnd(g, 3)) {
		case 0:
			m = gen_rm_reg(mm(g));
			emit(g, 0xf3, 0xd6, gen_rnd(g, 16), false, &m, 4, 0, 0);
			break;
		case 1:
			m = gen_rm_reg(gen_rnd(g, 16));
			emit(g, 0xf2, 0xd6, mm(g), false, &m, 4, 0, 0);
			break;
		default:
			emit(g, 0, 0x77, 0, false, NULL, 4, 0, 0);
		}
		return true;
	case 8: { /* cvtpi2ps/pd xmm, mm/m64; cvt(t)ps2pi mm, xmm/m64; cvt(t)pd2pi mm, xmm/m128 */
		static const struct gen_simd cv[] = { { 0, 0, 0x2a, 8 },  { 1, 0, 0x2a, 8 },
						      { 0, 0, 0x2d, 8 },  { 0, 0, 0x2c, 8 },
						      { 1, 0, 0x2d, 16 }, { 1, 0, 0x2c, 16 } };
		const struct gen_simd *o = &cv[gen_rnd(g, 6)];
		bool to_xmm = o->opc == 0x2a;

		if (gen_rnd(g, 3) == 0)
			m = gen_mem_rm(g, o->msize);
		else
			m = gen_rm_reg(to_xmm ? mm(g) : gen_rnd(g, 16));
		gen_simd_emit(g, o, to_xmm ? gen_rnd(g, 16) : mm(g), false, &m, 4, 0, 0);
		return true;
	}
	default: {
		const struct gen_simd *o = &arith[gen_rnd(g, sizeof(arith) / sizeof(arith[0]))];

		m = mm_or_mem(g, o->msize);
		gen_simd_emit(g, o, mm(g), false, &m, 4, 0, 0);
		return true;
	}
	}
}

/* R0-R7: random significands, exponents random, all 1s (an MMX write) or 0; all empty. */
void gen_mmx_init(struct gen *g)
{
	for (unsigned k = 0; k < 8; k++) {
		uint64_t mant = gen_value(g);
		unsigned how = gen_rnd(g, 3);
		uint16_t sexp = how == 0 ? 0xffff : how == 1 ? 0 : (uint16_t)gen_value(g);

		memcpy(g->s->init.st[k], &mant, 8);
		memcpy(g->s->init.st[k] + 8, &sexp, 2);
	}
}
