// SPDX-License-Identifier: MIT
/*
 * The x86-64 encoder of the generator (encode.h). REX.R/X/B extend ModRM.reg,
 * SIB.index and ModRM.rm/SIB.base/opcode register; a byte register 4..7 means
 * SPL..DIL with any REX and AH..BH without one (SDM Vol.2 §2.2.1).
 */
#include "encode.h"

struct out {
	uint8_t *code;
	unsigned *len;
};

static void put(struct out *g, uint64_t v, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		g->code[(*g->len)++] = (uint8_t)(v >> (8 * k));
}

static unsigned low3(unsigned r)
{
	return (r >= ENC_AH ? r - ENC_AH + 4 : r) & 7;
}

bool enc_encode(uint8_t *code, unsigned *len, const struct enc_op *op, uint64_t noise)
{
	struct out o = { code, len }, *g = &o;
	unsigned rex = 0;
	bool need_rex = false, high = false;

	if (op->size == 8 && !op->now)
		rex |= 8;
	if (!op->digit && op->rm) {
		if (op->regf >= ENC_AH)
			high = true;
		else if (op->regf & 8)
			rex |= 4;
		if (op->size == 1 && op->regf >= 4 && op->regf < 8)
			need_rex = true;
	}
	if (op->rm && !op->rm->mem) {
		unsigned r = op->rm->reg;

		if (r >= ENC_AH)
			high = true;
		else if (r & 8)
			rex |= 1;
		if ((op->size == 1 || op->rm8) && r >= 4 && r < 8)
			need_rex = true;
	}
	if (op->rm && op->rm->mem) {
		if (op->rm->base != ENC_NOREG && (op->rm->base & 8))
			rex |= 1;
		if (op->rm->index != ENC_NOREG && (op->rm->index & 8))
			rex |= 2;
	}
	if (op->oreg != ENC_NOREG) {
		if (op->oreg >= ENC_AH)
			high = true;
		else if (op->oreg & 8)
			rex |= 1;
		if (op->size == 1 && op->oreg >= 4 && op->oreg < 8)
			need_rex = true;
	}
	if (high && (rex || need_rex))
		return false;
	if (op->lock)
		put(g, 0xf0, 1);
	/* prefixes that change nothing in 64-bit mode, now and then */
	if (op->rm && op->rm->mem && (noise & 7) == 0) {
		static const uint8_t null_seg[] = { 0x26, 0x2e, 0x36, 0x3e };

		put(g, null_seg[(noise >> 3) & 3], 1);
	}
	if (op->size == 2 || op->p66 ||
	    (op->size == 8 && !op->now && !op->simd && !op->p66 && ((noise >> 5) & 7) == 0))
		put(g, 0x66, 1); /* REX.W wins over 66 (SDM Vol.2 §2.2.1.2) */
	if (op->a32)
		put(g, 0x67, 1);
	if (op->pfx)
		put(g, op->pfx, 1);
	if (!rex && !need_rex && !high && op->size != 1 && !op->rm8 && ((noise >> 8) & 7) == 0)
		put(g, 0x40, 1);
	if (rex || need_rex)
		put(g, 0x40 | rex, 1);
	for (unsigned k = 0; k < op->nopc; k++) {
		uint8_t b = op->opc[k];

		if (k == op->nopc - 1 && op->oreg != ENC_NOREG)
			b |= low3(op->oreg);
		put(g, b, 1);
	}
	if (op->rm) {
		const struct enc_rm *m = op->rm;
		unsigned reg = op->digit ? op->regf : low3(op->regf);

		if (!m->mem) {
			put(g, 0xc0 | (reg & 7) << 3 | low3(m->reg), 1);
		} else {
			unsigned b = m->base & 7, mod;
			bool sib = b == 4 || m->index != ENC_NOREG;

			if (m->disp == 0 && b != 5)
				mod = 0;
			else if (m->disp >= -128 && m->disp <= 127)
				mod = 1;
			else
				mod = 2;
			put(g, mod << 6 | (reg & 7) << 3 | (sib ? 4 : b), 1);
			if (sib)
				put(g,
				    (unsigned)m->scale << 6 |
					    (m->index == ENC_NOREG ? 4 : m->index & 7) << 3 | b,
				    1);
			put(g, (uint32_t)m->disp, mod == 1 ? 1 : mod == 2 ? 4 : 0);
		}
	}
	put(g, op->imm, op->nimm);
	return true;
}
