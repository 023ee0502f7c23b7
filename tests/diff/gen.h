/* SPDX-License-Identifier: MIT */
/*
 * The generator's state and the helpers gen.c lends its other form files
 * (gen_sse.c, gen_x87.c, gen_mmx.c): one struct gen per sequence being generated.
 */
#ifndef COVE_TESTS_DIFF_GEN_H
#define COVE_TESTS_DIFF_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "diff.h"
#include "encode.h"

struct gen {
	struct diff_seq *s;
	uint64_t *rng;
	const struct diff_gen_opts *o;
	uint8_t ptr[2]; /* base registers of memory operands, never written */
	uint64_t undef; /* flags undefined now */
	int depth;	/* bytes pushed */
	bool bad;	/* the current instruction cannot be encoded as chosen */
};

unsigned gen_rnd(struct gen *g, unsigned n);
uint64_t gen_value(struct gen *g);
/* Appends one instruction (or marks the form bad when it cannot be encoded). */
void gen_emit(struct gen *g, const struct enc_op *op);
/* A general register for an operand of size bytes; written: not RSP or a pointer. */
unsigned gen_pick_reg(struct gen *g, unsigned size, bool written);
void gen_flags(struct gen *g, uint64_t defined, uint64_t undefined);

/* Without ModRM: opc is one byte or 0x0fXX; oreg the register in its low 3 bits, or ENC_NOREG. */
void gen_emit_plain(struct gen *g, unsigned size, unsigned opc, unsigned oreg, uint64_t imm,
		    unsigned nimm);
/* A register r/m operand. */
struct enc_rm gen_rm_reg(unsigned r);

/* gen_sse.c: the SSE/SSE2 forms, and the initial XMM registers and MXCSR. */
/* [pointer + disp] in the data page for size bytes; 16 means aligned, 17 unaligned. */
struct enc_rm gen_mem_rm(struct gen *g, unsigned size);
/* 0F opc with a mandatory 66 or F2/F3 prefix; msize: the memory operand's size. */
struct gen_simd {
	uint8_t p66, pfx, opc, msize;
};
void gen_simd_emit(struct gen *g, const struct gen_simd *o, unsigned regf, bool digit,
		   const struct enc_rm *rm, unsigned size, uint64_t imm, unsigned nimm);
bool gen_sse(struct gen *g);
bool gen_sse_move(struct gen *g);
void gen_sse_init(struct gen *g);
/* gen_x87.c: the x87 forms (the stack starts empty, FCW 0x37f). */
bool gen_x87(struct gen *g);
/* gen_mmx.c: the MMX forms (and SSE's on MMX registers), the initial x87 register contents. */
bool gen_mmx(struct gen *g);
void gen_mmx_init(struct gen *g);

#endif
