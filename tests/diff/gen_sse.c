// SPDX-License-Identifier: MIT
/*
 * SSE/SSE2 forms of the generator: arithmetic, conversions, comparisons,
 * integer operations, shuffles, shifts and moves on XMM registers, legacy
 * encodings, register or memory sources. Memory operands of 16 bytes are
 * 16-byte aligned where the instruction demands it (a misaligned one would
 * fault on both sides, which the harness counts as a generator bug).
 *
 * The initial XMM registers hold lanes of "interesting" floats and doubles
 * (zeros, infinities, NaNs, denormals, values near the integer limits) or
 * random bits; MXCSR gets a random rounding mode, sometimes FTZ and DAZ, and
 * random sticky flags, with every exception masked.
 */
#include <string.h>

#include "gen.h"

enum { M4 = 4, M8 = 8, M16 = 16, M16U = 17 /* 16 bytes, no alignment needed */ };

/* xmm, xmm/m: 0F opc with 66/F3/F2. */
static const struct gen_simd arith[] = {
	/* add mul sub min div max, ps ss pd sd */
	{ 0, 0, 0x58, M16 },
	{ 0, 0xf3, 0x58, M4 },
	{ 1, 0, 0x58, M16 },
	{ 0, 0xf2, 0x58, M8 },
	{ 0, 0, 0x59, M16 },
	{ 0, 0xf3, 0x59, M4 },
	{ 1, 0, 0x59, M16 },
	{ 0, 0xf2, 0x59, M8 },
	{ 0, 0, 0x5c, M16 },
	{ 0, 0xf3, 0x5c, M4 },
	{ 1, 0, 0x5c, M16 },
	{ 0, 0xf2, 0x5c, M8 },
	{ 0, 0, 0x5d, M16 },
	{ 0, 0xf3, 0x5d, M4 },
	{ 1, 0, 0x5d, M16 },
	{ 0, 0xf2, 0x5d, M8 },
	{ 0, 0, 0x5e, M16 },
	{ 0, 0xf3, 0x5e, M4 },
	{ 1, 0, 0x5e, M16 },
	{ 0, 0xf2, 0x5e, M8 },
	{ 0, 0, 0x5f, M16 },
	{ 0, 0xf3, 0x5f, M4 },
	{ 1, 0, 0x5f, M16 },
	{ 0, 0xf2, 0x5f, M8 },
	/* sqrt, rsqrt, rcp */
	{ 0, 0, 0x51, M16 },
	{ 0, 0xf3, 0x51, M4 },
	{ 1, 0, 0x51, M16 },
	{ 0, 0xf2, 0x51, M8 },
	{ 0, 0, 0x52, M16 },
	{ 0, 0xf3, 0x52, M4 },
	{ 0, 0, 0x53, M16 },
	{ 0, 0xf3, 0x53, M4 },
	/* and andn or xor, ps pd; unpcklps/hps/lpd/hpd */
	{ 0, 0, 0x54, M16 },
	{ 1, 0, 0x54, M16 },
	{ 0, 0, 0x55, M16 },
	{ 1, 0, 0x55, M16 },
	{ 0, 0, 0x56, M16 },
	{ 1, 0, 0x56, M16 },
	{ 0, 0, 0x57, M16 },
	{ 1, 0, 0x57, M16 },
	{ 0, 0, 0x14, M16 },
	{ 0, 0, 0x15, M16 },
	{ 1, 0, 0x14, M16 },
	{ 1, 0, 0x15, M16 },
	/* cvtps2pd cvtpd2ps cvtss2sd cvtsd2ss; cvtdq2ps cvtps2dq cvttps2dq;
	   cvttpd2dq cvtdq2pd cvtpd2dq */
	{ 0, 0, 0x5a, M8 },
	{ 1, 0, 0x5a, M16 },
	{ 0, 0xf3, 0x5a, M4 },
	{ 0, 0xf2, 0x5a, M8 },
	{ 0, 0, 0x5b, M16 },
	{ 1, 0, 0x5b, M16 },
	{ 0, 0xf3, 0x5b, M16 },
	{ 1, 0, 0xe6, M16 },
	{ 0, 0xf3, 0xe6, M8 },
	{ 0, 0xf2, 0xe6, M16 },
	/* 66 0F: the integer operations */
	{ 1, 0, 0xdb, M16 },
	{ 1, 0, 0xdf, M16 },
	{ 1, 0, 0xeb, M16 },
	{ 1, 0, 0xef, M16 },
	{ 1, 0, 0xfc, M16 },
	{ 1, 0, 0xfd, M16 },
	{ 1, 0, 0xfe, M16 },
	{ 1, 0, 0xd4, M16 },
	{ 1, 0, 0xf8, M16 },
	{ 1, 0, 0xf9, M16 },
	{ 1, 0, 0xfa, M16 },
	{ 1, 0, 0xfb, M16 },
	{ 1, 0, 0xec, M16 },
	{ 1, 0, 0xed, M16 },
	{ 1, 0, 0xdc, M16 },
	{ 1, 0, 0xdd, M16 },
	{ 1, 0, 0xe8, M16 },
	{ 1, 0, 0xe9, M16 },
	{ 1, 0, 0xd8, M16 },
	{ 1, 0, 0xd9, M16 },
	{ 1, 0, 0x74, M16 },
	{ 1, 0, 0x75, M16 },
	{ 1, 0, 0x76, M16 },
	{ 1, 0, 0x64, M16 },
	{ 1, 0, 0x65, M16 },
	{ 1, 0, 0x66, M16 },
	{ 1, 0, 0xd5, M16 },
	{ 1, 0, 0xe5, M16 },
	{ 1, 0, 0xe4, M16 },
	{ 1, 0, 0xf4, M16 },
	{ 1, 0, 0xf5, M16 },
	{ 1, 0, 0xde, M16 },
	{ 1, 0, 0xda, M16 },
	{ 1, 0, 0xee, M16 },
	{ 1, 0, 0xea, M16 },
	{ 1, 0, 0xe0, M16 },
	{ 1, 0, 0xe3, M16 },
	{ 1, 0, 0xf6, M16 },
	{ 1, 0, 0x60, M16 },
	{ 1, 0, 0x61, M16 },
	{ 1, 0, 0x62, M16 },
	{ 1, 0, 0x6c, M16 },
	{ 1, 0, 0x68, M16 },
	{ 1, 0, 0x69, M16 },
	{ 1, 0, 0x6a, M16 },
	{ 1, 0, 0x6d, M16 },
	{ 1, 0, 0x63, M16 },
	{ 1, 0, 0x6b, M16 },
	{ 1, 0, 0x67, M16 },
	{ 1, 0, 0xf1, M16 },
	{ 1, 0, 0xf2, M16 },
	{ 1, 0, 0xf3, M16 },
	{ 1, 0, 0xd1, M16 },
	{ 1, 0, 0xd2, M16 },
	{ 1, 0, 0xd3, M16 },
	{ 1, 0, 0xe1, M16 },
	{ 1, 0, 0xe2, M16 },
	/* SSE3: addsubps/pd, haddps/pd, hsubps/pd, movshdup, movsldup, movddup */
	{ 0, 0xf2, 0xd0, M16 },
	{ 1, 0, 0xd0, M16 },
	{ 0, 0xf2, 0x7c, M16 },
	{ 1, 0, 0x7c, M16 },
	{ 0, 0xf2, 0x7d, M16 },
	{ 1, 0, 0x7d, M16 },
	{ 0, 0xf3, 0x16, M16 },
	{ 0, 0xf3, 0x12, M16 },
	{ 0, 0xf2, 0x12, M8 },
};

/* [ptr + disp] for size bytes in the data page; aligned to 16 for an aligned 16-byte operand. */
struct enc_rm gen_mem_rm(struct gen *g, unsigned msize)
{
	unsigned p = g->ptr[gen_rnd(g, 2)], size = msize == M16U ? 16 : msize;
	uint64_t target = DIFF_MEM + gen_rnd(g, (unsigned)DIFF_DATA_SIZE - size + 1);

	if (msize == M16)
		target &= ~15ull;
	return (struct enc_rm){ .mem = true,
				.base = (uint8_t)p,
				.index = ENC_NOREG,
				.disp = (int32_t)(target - g->s->init.gpr[p]) };
}

static struct enc_rm src_rm(struct gen *g, unsigned msize)
{
	return gen_rnd(g, 3) == 0 ? gen_mem_rm(g, msize) : gen_rm_reg(gen_rnd(g, 16));
}

void gen_simd_emit(struct gen *g, const struct gen_simd *o, unsigned regf, bool digit,
		   const struct enc_rm *rm, unsigned size, uint64_t imm, unsigned nimm)
{
	gen_emit(g, &(struct enc_op){ .size = size,
				      .p66 = o->p66,
				      .simd = true,
				      .pfx = o->pfx,
				      .opc = { 0x0f, o->opc },
				      .nopc = 2,
				      .regf = regf,
				      .digit = digit,
				      .rm = rm,
				      .oreg = ENC_NOREG,
				      .imm = imm,
				      .nimm = nimm });
}

bool gen_sse(struct gen *g)
{
	struct enc_rm m;
	unsigned k = gen_rnd(g, 8);

	switch (k) {
	case 0: { /* cmpps/cmpss/cmppd/cmpsd with a predicate 0..7 */
		static const struct gen_simd cmp[] = { { 0, 0, 0xc2, M16 },
						       { 0, 0xf3, 0xc2, M4 },
						       { 1, 0, 0xc2, M16 },
						       { 0, 0xf2, 0xc2, M8 } };
		const struct gen_simd *o = &cmp[gen_rnd(g, 4)];

		m = src_rm(g, o->msize);
		gen_simd_emit(g, o, gen_rnd(g, 16), false, &m, 4, gen_rnd(g, 8), 1);
		return true;
	}
	case 1: { /* comiss ucomiss comisd ucomisd: ZF PF CF, OF SF AF cleared */
		static const struct gen_simd cmp[] = { { 0, 0, 0x2f, M4 },
						       { 0, 0, 0x2e, M4 },
						       { 1, 0, 0x2f, M8 },
						       { 1, 0, 0x2e, M8 } };
		const struct gen_simd *o = &cmp[gen_rnd(g, 4)];

		m = src_rm(g, o->msize);
		gen_simd_emit(g, o, gen_rnd(g, 16), false, &m, 4, 0, 0);
		gen_flags(g, DIFF_ARITH, 0);
		return true;
	}
	case 2: { /* cvtsi2ss/sd xmm, r/m32|64 */
		struct gen_simd o = { 0, gen_rnd(g, 2) ? 0xf3 : 0xf2, 0x2a, M4 };
		unsigned size = gen_rnd(g, 2) ? 8 : 4;

		m = gen_rnd(g, 3) == 0 ? gen_mem_rm(g, size)
				       : gen_rm_reg(gen_pick_reg(g, size, false));
		gen_simd_emit(g, &o, gen_rnd(g, 16), false, &m, size, 0, 0);
		return true;
	}
	case 3: { /* cvt(t)ss2si, cvt(t)sd2si r32|64, xmm/m */
		bool sd = gen_rnd(g, 2);
		struct gen_simd o = { 0, sd ? 0xf2 : 0xf3, gen_rnd(g, 2) ? 0x2c : 0x2d,
				      sd ? M8 : M4 };
		unsigned size = gen_rnd(g, 2) ? 8 : 4;

		m = src_rm(g, o.msize);
		gen_simd_emit(g, &o, gen_pick_reg(g, size, true), false, &m, size, 0, 0);
		return true;
	}
	case 4: { /* shuffles with imm8 */
		static const struct gen_simd sh[] = { { 1, 0, 0x70, M16 },
						      { 0, 0xf2, 0x70, M16 },
						      { 0, 0xf3, 0x70, M16 },
						      { 0, 0, 0xc6, M16 },
						      { 1, 0, 0xc6, M16 } };
		const struct gen_simd *o = &sh[gen_rnd(g, 5)];

		m = src_rm(g, o->msize);
		gen_simd_emit(g, o, gen_rnd(g, 16), false, &m, 4, gen_rnd(g, 256), 1);
		return true;
	}
	case 5: { /* shifts by imm8: 66 0F 71-73 /digit */
		static const uint8_t op_dig[][2] = { { 0x71, 2 }, { 0x71, 4 }, { 0x71, 6 },
						     { 0x72, 2 }, { 0x72, 4 }, { 0x72, 6 },
						     { 0x73, 2 }, { 0x73, 3 }, { 0x73, 6 },
						     { 0x73, 7 } };
		const uint8_t *od = op_dig[gen_rnd(g, 10)];
		struct gen_simd o = { 1, 0, od[0], M16 };
		unsigned count = gen_rnd(g, 4) == 0 ? gen_rnd(g, 256) : gen_rnd(g, 70);

		m = gen_rm_reg(gen_rnd(g, 16));
		gen_simd_emit(g, &o, od[1], true, &m, 4, count, 1);
		return true;
	}
	case 6: { /* pextrw, pinsrw, pmovmskb, movmskps/pd: general registers */
		unsigned w = gen_rnd(g, 5);

		if (w == 0) {
			struct gen_simd o = { 1, 0, 0xc5, M16 };
			m = gen_rm_reg(gen_rnd(g, 16));
			gen_simd_emit(g, &o, gen_pick_reg(g, 4, true), false, &m, 4,
				      gen_rnd(g, 256), 1);
		} else if (w == 1) {
			struct gen_simd o = { 1, 0, 0xc4, M4 };
			m = gen_rnd(g, 3) == 0 ? gen_mem_rm(g, 2)
					       : gen_rm_reg(gen_pick_reg(g, 4, false));
			gen_simd_emit(g, &o, gen_rnd(g, 16), false, &m, 4, gen_rnd(g, 256), 1);
		} else {
			static const struct gen_simd mk[] = { { 1, 0, 0xd7, M16 },
							      { 0, 0, 0x50, M16 },
							      { 1, 0, 0x50, M16 } };
			m = gen_rm_reg(gen_rnd(g, 16));
			gen_simd_emit(g, &mk[w - 2], gen_pick_reg(g, 4, true), false, &m, 4, 0, 0);
		}
		return true;
	}
	default: {
		const struct gen_simd *o = &arith[gen_rnd(g, sizeof(arith) / sizeof(arith[0]))];

		m = src_rm(g, o->msize);
		gen_simd_emit(g, o, gen_rnd(g, 16), false, &m, 4, 0, 0);
		return true;
	}
	}
}

bool gen_sse_move(struct gen *g)
{
	/* load form (xmm <- r/m) opcode, store form (r/m <- xmm) opcode, memory size */
	static const struct {
		uint8_t p66, pfx, load, store, msize;
	} mv[] = {
		{ 0, 0, 0x28, 0x29, M16 },     /* movaps */
		{ 1, 0, 0x28, 0x29, M16 },     /* movapd */
		{ 0, 0, 0x10, 0x11, M16U },    /* movups */
		{ 1, 0, 0x10, 0x11, M16U },    /* movupd */
		{ 0, 0xf3, 0x10, 0x11, M4 },   /* movss */
		{ 0, 0xf2, 0x10, 0x11, M8 },   /* movsd */
		{ 1, 0, 0x6f, 0x7f, M16 },     /* movdqa */
		{ 0, 0xf3, 0x6f, 0x7f, M16U }, /* movdqu */
		{ 0, 0xf3, 0x7e, 0, M8 },      /* movq xmm, xmm/m64 */
		{ 1, 0, 0, 0xd6, M8 },	       /* movq xmm/m64, xmm */
		{ 0, 0, 0x12, 0x13, M8 },      /* movlps (reg form of 12: movhlps) */
		{ 0, 0, 0x16, 0x17, M8 },      /* movhps (reg form of 16: movlhps) */
		{ 1, 0, 0x12, 0x13, M8 },      /* movlpd */
		{ 1, 0, 0x16, 0x17, M8 },      /* movhpd */
		{ 0, 0, 0, 0x2b, M16 },	       /* movntps */
		{ 1, 0, 0, 0xe7, M16 },	       /* movntdq */
		{ 0, 0xf2, 0xf0, 0, M16U },    /* lddqu */
	};
	unsigned k = gen_rnd(g, sizeof(mv) / sizeof(mv[0]) + 2);
	struct enc_rm m;

	if (k >= sizeof(mv) / sizeof(mv[0])) {
		/* movd/movq between an XMM register and r/m32|64: 66 (REX.W) 0F 6E / 7E */
		bool to_xmm = k == sizeof(mv) / sizeof(mv[0]);
		unsigned size = gen_rnd(g, 2) ? 8 : 4;
		struct gen_simd o = { 1, 0, to_xmm ? 0x6e : 0x7e, M4 };

		m = gen_rnd(g, 3) == 0 ? gen_mem_rm(g, size)
				       : gen_rm_reg(gen_pick_reg(g, size, !to_xmm));
		gen_simd_emit(g, &o, gen_rnd(g, 16), false, &m, size, 0, 0);
		return true;
	}
	bool store = mv[k].load == 0 || (mv[k].store && gen_rnd(g, 2));
	/*
	 * Memory only: the movlps/movhps/movlpd/movhpd stores and 66 loads, the
	 * non-temporal stores and lddqu. 0F 12/16 with a register source are
	 * movhlps/movlhps.
	 */
	bool mem_only = (k >= 10 && k <= 13 && (store || mv[k].p66)) || k >= 14;
	struct gen_simd o = { mv[k].p66, mv[k].pfx, store ? mv[k].store : mv[k].load, mv[k].msize };

	m = mem_only || gen_rnd(g, 3) == 0 ? gen_mem_rm(g, mv[k].msize)
					   : gen_rm_reg(gen_rnd(g, 16));
	gen_simd_emit(g, &o, gen_rnd(g, 16), false, &m, 4, 0, 0);
	return true;
}

/* A lane value: edges of float and double, or random bits. */
static void lane(struct gen *g, uint8_t *p, bool dbl)
{
	static const uint32_t f[] = { 0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000,
				      0xff800000, 0x7fc00000, 0xffc00000, 0x7fa00000, 0x00000001,
				      0x807fffff, 0x00800000, 0x7f7fffff, 0x4f000000, 0xcf000000,
				      0x5f000000, 0x3f000000, 0x40490fdb };
	static const uint64_t d[] = {
		0x0000000000000000ull, 0x8000000000000000ull, 0x3ff0000000000000ull,
		0xbff0000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
		0x7ff8000000000000ull, 0x7ff4000000000000ull, 0x0000000000000001ull,
		0x000fffffffffffffull, 0x0010000000000000ull, 0x7fefffffffffffffull,
		0x41e0000000000000ull, 0xc1e0000000000000ull, 0x43e0000000000000ull,
		0x3fe0000000000000ull, 0x400921fb54442d18ull, 0x3810000000000000ull,
	};
	unsigned how = gen_rnd(g, 4);

	if (dbl) {
		uint64_t v = how == 0 ? gen_value(g) : d[gen_rnd(g, sizeof(d) / sizeof(d[0]))];
		double x = (double)(int32_t)gen_value(g); /* an integer, for the conversions */

		if (how == 1)
			memcpy(&v, &x, 8);
		memcpy(p, &v, 8);
	} else {
		uint32_t v =
			how == 0 ? (uint32_t)gen_value(g) : f[gen_rnd(g, sizeof(f) / sizeof(f[0]))];
		memcpy(p, &v, 4);
	}
}

void gen_sse_init(struct gen *g)
{
	struct diff_regs *r = &g->s->init;

	for (unsigned x = 0; x < 16; x++) {
		bool dbl = gen_rnd(g, 2);

		for (unsigned k = 0; k < 16; k += dbl ? 8 : 4)
			lane(g, &r->xmm[x][k], dbl);
	}
	/* all exceptions masked; rounding, FTZ, DAZ and the sticky flags random */
	r->mxcsr = 0x1f80 | gen_rnd(g, 4) << 13 | gen_rnd(g, 64);
	if (gen_rnd(g, 4) == 0)
		r->mxcsr |= 1u << 15;
	if (gen_rnd(g, 4) == 0)
		r->mxcsr |= 1u << 6;
}
