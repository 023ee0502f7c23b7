/* SPDX-License-Identifier: MIT */
/*
 * The generator's x86-64 encoder (encode.c): one instruction from its parts,
 * in the order of SDM Vol.2 §2.1: legacy prefixes, REX, opcode, ModRM, SIB,
 * displacement, immediate.
 */
#ifndef COVE_TESTS_DIFF_ENCODE_H
#define COVE_TESTS_DIFF_ENCODE_H

#include <stdbool.h>
#include <stdint.h>

#define ENC_NOREG 0xff
#define ENC_AH	  16 /* registers 16..19: AH, CH, DH, BH (only without REX) */

/* An r/m operand. */
struct enc_rm {
	bool mem;
	uint8_t reg;		    /* !mem: 0..15 or ENC_AH.. */
	uint8_t base, index, scale; /* ENC_NOREG: no index */
	int32_t disp;
};

/*
 * One instruction. size: operand size (1 means byte registers, 8 sets
 * REX.W unless now = true); pfx: a mandatory F2/F3 or 0; regf: the ModRM.reg
 * register or /digit (digit = true); rm: the r/m operand or NULL for none.
 */
struct enc_op {
	unsigned size;
	bool now;    /* 64-bit by default: no REX.W */
	uint8_t pfx; /* F2/F3, or 0 */
	bool p66;    /* SSE: a mandatory 66, and no 66 as noise (it would change the insn) */
	bool simd;   /* SSE: no 66 as noise */
	bool a32;    /* 67 */
	bool rm8;    /* the r/m operand is a byte register whatever size says */
	bool lock;   /* F0: only on a read-modify-write of memory */
	uint8_t opc[3];
	unsigned nopc;
	unsigned regf;
	bool digit;
	const struct enc_rm *rm;
	unsigned oreg; /* register in the opcode's low 3 bits (B8+r, 50+r), or ENC_NOREG */
	uint64_t imm;
	unsigned nimm;
};

/*
 * Appends op at code[*len]. noise: random bits that choose prefixes which
 * change nothing in 64-bit mode (a null segment override, 66 under REX.W, an
 * empty REX). False, with nothing written, when the registers cannot be
 * encoded together (AH..BH with a REX prefix).
 */
bool enc_encode(uint8_t *code, unsigned *len, const struct enc_op *op, uint64_t noise);

#endif
