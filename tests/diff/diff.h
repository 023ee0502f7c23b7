/* SPDX-License-Identifier: MIT */
/*
 * The instruction differential test (tests/diff/): random ring-3 sequences
 * (gen.c, encoded by encode.c) run on the host CPU (native.c) and in the soft CPU (soft_run.c),
 * compared by diff.c. Both runs see the same guest addresses: code, data and
 * stack live at fixed addresses below 2 GiB.
 */
#ifndef COVE_TESTS_DIFF_H
#define COVE_TESTS_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#define DIFF_CODE      0x10000000ull /* prologue, then the sequence, then the epilogue */
#define DIFF_CODE_SIZE 0x10000ull
#define DIFF_MEM       0x10100000ull /* data page, then stack page */
#define DIFF_DATA_SIZE 0x1000ull
#define DIFF_MEM_SIZE  0x2000ull
#define DIFF_STACK_TOP (DIFF_MEM + DIFF_DATA_SIZE + 0x800)
#define DIFF_STATE     0x10200000ull /* native only: the register block */

#define DIFF_MAX_INSNS 1024
#define DIFF_SEQ_BYTES (DIFF_MAX_INSNS * 16)

/* Arithmetic flags and DF: what the comparison looks at. */
#define DIFF_CF	   0x001ull
#define DIFF_PF	   0x004ull
#define DIFF_AF	   0x010ull
#define DIFF_ZF	   0x040ull
#define DIFF_SF	   0x080ull
#define DIFF_DF	   0x400ull
#define DIFF_OF	   0x800ull
#define DIFF_ARITH (DIFF_CF | DIFF_PF | DIFF_AF | DIFF_ZF | DIFF_SF | DIFF_OF)

struct diff_regs {
	uint64_t gpr[16];
	uint64_t rflags;
	uint8_t xmm[16][16];
	uint32_t mxcsr; /* exceptions stay masked: a sequence never faults */
	/* x87: ST(0)-ST(7) (initially R0-R7 of an empty stack, MM0-MM7), FCW, FSW, tags */
	uint8_t st[8][10];
	uint16_t fcw, fsw;
	uint8_t ftw;
};

struct diff_seq {
	struct diff_regs init;
	uint8_t mem[DIFF_MEM_SIZE]; /* initial data and stack pages */
	uint8_t code[DIFF_SEQ_BYTES];
	unsigned len; /* code bytes */
	unsigned n;   /* instructions */
	uint16_t off[DIFF_MAX_INSNS + 1];
	uint64_t undef; /* arithmetic flags the SDM leaves undefined at the end */
	/* Groups: a tested instruction with its setup (mov cl before a shift, ...). */
	unsigned ngroups;
	uint16_t group_end[DIFF_MAX_INSNS];   /* instructions up to the group's end */
	uint64_t group_undef[DIFF_MAX_INSNS]; /* undef after it */
};

struct diff_gen_opts {
	unsigned seq_len; /* tested instructions (setup instructions come on top) */
	bool has_tzcnt, has_lzcnt, has_popcnt, has_lahf;
	char **exclude; /* Zydis mnemonic names never to emit */
	unsigned nexclude;
};

/* gen.c: fills s from the generator state *rng; -EAGAIN if the exclusions leave nothing. */
int diff_gen(struct diff_seq *s, uint64_t *rng, const struct diff_gen_opts *o);
uint64_t diff_rand(uint64_t *rng);
/* Intel-syntax text of the instruction at code[0..len) at address rip; its length or 0. */
unsigned diff_disasm(const uint8_t *code, unsigned len, uint64_t rip, char *out, unsigned outlen,
		     const char **mnemonic);

/* native.c */
int diff_native_init(void);
/* Runs s on the host; 0, or the signal number it died of. */
int diff_native_run(const struct diff_seq *s, struct diff_regs *out, uint8_t *mem);
/* Where the sequence starts in both runs (after the native prologue). */
uint64_t diff_native_seq_rip(void);

/* soft_run.c */
struct diff_soft;
struct diff_soft *diff_soft_new(void);
void diff_soft_free(struct diff_soft *d);
/*
 * Runs s at rip in the soft CPU, one instruction at a time as run.c does.
 * 0, or -1 with why[] saying what went wrong (a fault, an undecodable
 * instruction, an access outside the mapped pages) and *where the index of
 * the instruction.
 */
int diff_soft_run(struct diff_soft *d, const struct diff_seq *s, uint64_t rip,
		  struct diff_regs *out, uint8_t *mem, unsigned *where, char *why, unsigned whylen);

#endif
