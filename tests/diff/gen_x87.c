// SPDX-License-Identifier: MIT
/*
 * x87 forms of the generator: loads and stores of every format, arithmetic
 * with register and memory operands, compares (into C0-C3 or EFLAGS), fcmov,
 * the operations on ST(0), stack management, fnstsw/fnstcw, fldcw (after a
 * mov of a control word with every exception masked and a random precision
 * and rounding control) and fnclex/fninit. The stack starts empty, so
 * underflows and overflows (masked: the indefinite) come up too. The
 * comparison covers ST(0)-ST(7), FCW, FSW and the abridged tag word; FIP,
 * FDP and FOP are left out (AMD's fxsave stores them only with ES set).
 */
#include "gen.h"

/* esc with a register ModRM byte */
static void reg_form(struct gen *g, unsigned esc, unsigned modrm)
{
	gen_emit(g, &(struct enc_op){ .size = 4,
				      .simd = true,
				      .opc = { esc, modrm },
				      .nopc = 2,
				      .oreg = ENC_NOREG });
}

static void mem_form(struct gen *g, unsigned esc, unsigned digit, unsigned size)
{
	struct enc_rm m = gen_mem_rm(g, size);

	gen_emit(g, &(struct enc_op){ .size = 4,
				      .simd = true,
				      .opc = { esc },
				      .nopc = 1,
				      .regf = digit,
				      .digit = true,
				      .rm = &m,
				      .oreg = ENC_NOREG });
}

/* mov word [mem], cw; fldcw [mem]: masks all set, PC 0/2/3, RC random */
static void set_cw(struct gen *g)
{
	static const unsigned pc[] = { 0, 2, 3, 3 };
	unsigned cw = 0x7f | pc[gen_rnd(g, 4)] << 8 | gen_rnd(g, 4) << 10;
	struct enc_rm m = gen_mem_rm(g, 2);

	gen_emit(g, &(struct enc_op){ .size = 2,
				      .opc = { 0xc7 },
				      .nopc = 1,
				      .digit = true,
				      .rm = &m,
				      .oreg = ENC_NOREG,
				      .imm = cw,
				      .nimm = 2 });
	gen_emit(g, &(struct enc_op){ .size = 4,
				      .simd = true,
				      .opc = { 0xd9 },
				      .nopc = 1,
				      .regf = 5,
				      .digit = true,
				      .rm = &m,
				      .oreg = ENC_NOREG });
}

bool gen_x87(struct gen *g)
{
	unsigned i = gen_rnd(g, 8), k = gen_rnd(g, 16);

	switch (k) {
	case 0: /* fld m32 / m64 / m80, fild m16 / m32 / m64 */
	case 1:
	case 2: {
		static const uint8_t f[][3] = { { 0xd9, 0, 4 }, { 0xdd, 0, 8 }, { 0xdb, 5, 10 },
						{ 0xdf, 0, 2 }, { 0xdb, 0, 4 }, { 0xdf, 5, 8 } };
		const uint8_t *e = f[gen_rnd(g, 6)];

		mem_form(g, e[0], e[1], e[2]);
		return true;
	}
	case 3: /* fld st(i), constants */
		if (gen_rnd(g, 2))
			reg_form(g, 0xd9, 0xc0 + i);
		else
			reg_form(g, 0xd9, 0xe8 + gen_rnd(g, 7));
		return true;
	case 4: { /* stores: fst(p) m32/m64, fstp m80, fist(p) m16/m32, fistp m64, fisttp, fbstp */
		static const uint8_t f[][3] = {
			{ 0xd9, 2, 4 },	 { 0xd9, 3, 4 },  { 0xdd, 2, 8 }, { 0xdd, 3, 8 },
			{ 0xdb, 7, 10 }, { 0xdf, 2, 2 },  { 0xdf, 3, 2 }, { 0xdb, 2, 4 },
			{ 0xdb, 3, 4 },	 { 0xdf, 7, 8 },  { 0xdf, 1, 2 }, { 0xdb, 1, 4 },
			{ 0xdd, 1, 8 },	 { 0xdf, 6, 10 },
		};
		const uint8_t *e = f[gen_rnd(g, 14)];

		mem_form(g, e[0], e[1], e[2]);
		return true;
	}
	case 5: /* fst / fstp st(i) */
		reg_form(g, 0xdd, (gen_rnd(g, 2) ? 0xd0 : 0xd8) + i);
		return true;
	case 6:
	case 7: { /* arithmetic and fcom(p) on registers: D8 all, DC and DE C0-CF, E0-FF */
		static const uint8_t escs[] = { 0xd8, 0xdc, 0xde };
		unsigned esc = escs[gen_rnd(g, 3)], op = gen_rnd(g, 8);

		if (esc != 0xd8 && (op == 2 || op == 3)) {
			if (esc == 0xde && op == 3)
				reg_form(g, 0xde, 0xd9); /* fcompp */
			else
				reg_form(g, 0xd8, 0xc0 | op << 3 | i);
			return true;
		}
		reg_form(g, esc, 0xc0 | op << 3 | i);
		return true;
	}
	case 8: { /* arithmetic with memory: m32, m64, m32int, m16int */
		static const uint8_t f[][2] = {
			{ 0xd8, 4 }, { 0xdc, 8 }, { 0xda, 4 }, { 0xde, 2 }
		};
		const uint8_t *e = f[gen_rnd(g, 4)];

		mem_form(g, e[0], gen_rnd(g, 8), e[1]);
		return true;
	}
	case 9: /* fucom(p), fucompp */
		switch (gen_rnd(g, 3)) {
		case 0:
			reg_form(g, 0xdd, 0xe0 + i);
			break;
		case 1:
			reg_form(g, 0xdd, 0xe8 + i);
			break;
		default:
			reg_form(g, 0xda, 0xe9);
			break;
		}
		return true;
	case 10: { /* fcomi, fucomi, fcomip, fucomip: ZF PF CF, OF SF AF cleared */
		static const uint8_t f[][2] = {
			{ 0xdb, 0xf0 }, { 0xdb, 0xe8 }, { 0xdf, 0xf0 }, { 0xdf, 0xe8 }
		};
		const uint8_t *e = f[gen_rnd(g, 4)];

		reg_form(g, e[0], e[1] + i);
		gen_flags(g, DIFF_ARITH, 0);
		return true;
	}
	case 11: { /* fcmovcc: reads CF, ZF or PF */
		static const uint64_t reads[] = { DIFF_CF, DIFF_ZF, DIFF_CF | DIFF_ZF, DIFF_PF };
		unsigned cc = gen_rnd(g, 4);

		if (g->undef & reads[cc])
			return false;
		reg_form(g, gen_rnd(g, 2) ? 0xda : 0xdb, 0xc0 | cc << 3 | i);
		return true;
	}
	case 12:
	case 13: { /* D9 E0-FF on ST(0): fchs fabs ftst fxam f2xm1 ... fcos */
		static const uint8_t f[] = { 0xe0, 0xe1, 0xe4, 0xe5, 0xf0, 0xf1, 0xf2,
					     0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
					     0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff };

		reg_form(g, 0xd9, f[gen_rnd(g, sizeof(f))]);
		return true;
	}
	case 14: /* fxch, ffree, ffreep */
		switch (gen_rnd(g, 3)) {
		case 0:
			reg_form(g, 0xd9, 0xc8 + i);
			break;
		case 1:
			reg_form(g, 0xdd, 0xc0 + i);
			break;
		default:
			reg_form(g, 0xdf, 0xc0 + i);
			break;
		}
		return true;
	default: /* control: fnstsw ax / m16, fnstcw, fldcw, fnclex, fninit */
		switch (gen_rnd(g, 6)) {
		case 0:
			reg_form(g, 0xdf, 0xe0); /* writes AX, which is never a pointer */
			break;
		case 1:
			mem_form(g, 0xdd, 7, 2);
			break;
		case 2:
			mem_form(g, 0xd9, 7, 2);
			break;
		case 3:
			set_cw(g);
			break;
		case 4:
			reg_form(g, 0xdb, 0xe2);
			break;
		default:
			if (gen_rnd(g, 4) == 0)
				reg_form(g, 0xdb, 0xe3);
			else
				set_cw(g);
			break;
		}
		return true;
	}
}
