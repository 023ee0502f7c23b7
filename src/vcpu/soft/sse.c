// SPDX-License-Identifier: MIT
/*
 * SSE and SSE2 instructions on XMM registers (legacy encodings, no VEX).
 *
 * Arithmetic, conversions, comparisons and the integer operations without an
 * immediate run on the host's SSE unit, with the guest's MXCSR (rounding, DAZ,
 * FTZ) and every exception masked; the host MXCSR is put back in the same asm
 * statement. An exception the guest has unmasked (SDM Vol.1 §11.5) leaves the
 * destination alone, sets its flag and raises #XM, or #UD with
 * CR4.OSXMMEXCPT = 0 (Vol.3 §13.1.3). Moves, shuffles and shifts by an
 * immediate are done here. A 16-byte memory operand must be 16-byte aligned
 * (#GP(0)) except for the unaligned moves.
 */
#include <Zydis/Mnemonic.h>
#include <string.h>

#include "exec.h"
#include "fpu.h"

struct sse_io {
	uint8_t d[16] __attribute__((aligned(16))); /* destination and first source */
	uint8_t s[16] __attribute__((aligned(16))); /* second source (register or memory) */
	uint64_t g;				    /* a general register operand */
	uint32_t mx;
	uint8_t zf, pf, cf;
};

typedef void (*sse_fn)(struct sse_io *io);

#define SSE_FN(name, text)                                                                         \
	static void name(struct sse_io *io)                                                        \
	{                                                                                          \
		uint32_t host;                                                                     \
		asm volatile(                                                                      \
			"stmxcsr %[h]\n\t"                                                         \
			"ldmxcsr %[mx]\n\t"                                                        \
			"movdqa %[d], %%xmm0\n\t" text "\n\t"                                      \
			"movdqa %%xmm0, %[d]\n\t"                                                  \
			"stmxcsr %[mx]\n\t"                                                        \
			"ldmxcsr %[h]"                                                             \
			: [d] "+m"(io->d), [mx] "+m"(io->mx), [h] "=m"(host), [g] "+m"(io->g),     \
			  [zf] "=m"(io->zf), [pf] "=m"(io->pf), [cf] "=m"(io->cf)                  \
			: [s] "m"(io->s)                                                           \
			: "xmm0", "rax", "cc");                                                    \
	}

/* xmm, xmm/m: the destination is also the first source. */
/* clang-format off */
#define SSE_ARITH(X) \
	X(ADDPS, addps) X(ADDSS, addss) X(ADDPD, addpd) X(ADDSD, addsd) X(SUBPS, subps) \
	X(SUBSS, subss) X(SUBPD, subpd) X(SUBSD, subsd) X(MULPS, mulps) X(MULSS, mulss) \
	X(MULPD, mulpd) X(MULSD, mulsd) X(DIVPS, divps) X(DIVSS, divss) X(DIVPD, divpd) \
	X(DIVSD, divsd) X(SQRTPS, sqrtps) X(SQRTSS, sqrtss) X(SQRTPD, sqrtpd) \
	X(SQRTSD, sqrtsd) X(MINPS, minps) X(MINSS, minss) X(MINPD, minpd) X(MINSD, minsd) \
	X(MAXPS, maxps) X(MAXSS, maxss) X(MAXPD, maxpd) X(MAXSD, maxsd) X(RCPPS, rcpps) \
	X(RCPSS, rcpss) X(RSQRTPS, rsqrtps) X(RSQRTSS, rsqrtss) X(ANDPS, andps) \
	X(ANDPD, andpd) X(ANDNPS, andnps) X(ANDNPD, andnpd) X(ORPS, orps) X(ORPD, orpd) \
	X(XORPS, xorps) X(XORPD, xorpd) X(UNPCKLPS, unpcklps) X(UNPCKHPS, unpckhps) \
	X(UNPCKLPD, unpcklpd) X(UNPCKHPD, unpckhpd) X(CVTSS2SD, cvtss2sd) \
	X(CVTSD2SS, cvtsd2ss) X(CVTPS2PD, cvtps2pd) X(CVTPD2PS, cvtpd2ps) \
	X(CVTDQ2PS, cvtdq2ps) X(CVTPS2DQ, cvtps2dq) X(CVTTPS2DQ, cvttps2dq) \
	X(CVTDQ2PD, cvtdq2pd) X(CVTPD2DQ, cvtpd2dq) X(CVTTPD2DQ, cvttpd2dq) X(PAND, pand) \
	X(PANDN, pandn) X(POR, por) X(PXOR, pxor) X(PADDB, paddb) X(PADDW, paddw) \
	X(PADDD, paddd) X(PADDQ, paddq) X(PSUBB, psubb) X(PSUBW, psubw) X(PSUBD, psubd) \
	X(PSUBQ, psubq) X(PADDSB, paddsb) X(PADDSW, paddsw) X(PADDUSB, paddusb) \
	X(PADDUSW, paddusw) X(PSUBSB, psubsb) X(PSUBSW, psubsw) X(PSUBUSB, psubusb) \
	X(PSUBUSW, psubusw) X(PCMPEQB, pcmpeqb) X(PCMPEQW, pcmpeqw) X(PCMPEQD, pcmpeqd) \
	X(PCMPGTB, pcmpgtb) X(PCMPGTW, pcmpgtw) X(PCMPGTD, pcmpgtd) X(PMULLW, pmullw) \
	X(PMULHW, pmulhw) X(PMULHUW, pmulhuw) X(PMULUDQ, pmuludq) X(PMADDWD, pmaddwd) \
	X(PMAXUB, pmaxub) X(PMINUB, pminub) X(PMAXSW, pmaxsw) X(PMINSW, pminsw) \
	X(PAVGB, pavgb) X(PAVGW, pavgw) X(PSADBW, psadbw) X(PUNPCKLBW, punpcklbw) \
	X(PUNPCKLWD, punpcklwd) X(PUNPCKLDQ, punpckldq) X(PUNPCKLQDQ, punpcklqdq) \
	X(PUNPCKHBW, punpckhbw) X(PUNPCKHWD, punpckhwd) X(PUNPCKHDQ, punpckhdq) \
	X(PUNPCKHQDQ, punpckhqdq) X(PACKSSWB, packsswb) X(PACKSSDW, packssdw) \
	X(PACKUSWB, packuswb) X(PSLLW, psllw) X(PSLLD, pslld) X(PSLLQ, psllq) \
	X(PSRLW, psrlw) X(PSRLD, psrld) X(PSRLQ, psrlq) X(PSRAW, psraw) X(PSRAD, psrad) \
	X(ADDSUBPS, addsubps) X(ADDSUBPD, addsubpd) X(HADDPS, haddps) X(HADDPD, haddpd) \
	X(HSUBPS, hsubps) X(HSUBPD, hsubpd) X(MOVSHDUP, movshdup) X(MOVSLDUP, movsldup) \
	X(MOVDDUP, movddup)
/* clang-format on */

#define SSE_DEF(m, t) SSE_FN(h_##t, #t " %[s], %%xmm0")
SSE_ARITH(SSE_DEF)
#undef SSE_DEF

enum {
#define SSE_ENUM(m, t) SA_##m,
	SSE_ARITH(SSE_ENUM)
#undef SSE_ENUM
		SA_COUNT
};

static const sse_fn arith_fn[SA_COUNT] = {
#define SSE_PTR(m, t) h_##t,
	SSE_ARITH(SSE_PTR)
#undef SSE_PTR
};

int soft_sse_arith_index(unsigned mnemonic)
{
	switch (mnemonic) {
#define SSE_CASE(m, t)                                                                             \
	case ZYDIS_MNEMONIC_##m:                                                                   \
		return SA_##m;
		SSE_ARITH(SSE_CASE)
#undef SSE_CASE
	default:
		return -1;
	}
}

/* cmpps/cmpss/cmppd/cmpsd: the predicate is an immediate, so one function for each. */
#define CMP8(t)                                                                                    \
	SSE_FN(h_cmp##t##0, "cmp" #t " $0, %[s], %%xmm0")                                          \
	SSE_FN(h_cmp##t##1, "cmp" #t " $1, %[s], %%xmm0")                                          \
	SSE_FN(h_cmp##t##2, "cmp" #t " $2, %[s], %%xmm0")                                          \
	SSE_FN(h_cmp##t##3, "cmp" #t " $3, %[s], %%xmm0")                                          \
	SSE_FN(h_cmp##t##4, "cmp" #t " $4, %[s], %%xmm0")                                          \
	SSE_FN(h_cmp##t##5, "cmp" #t " $5, %[s], %%xmm0")                                          \
	SSE_FN(h_cmp##t##6, "cmp" #t " $6, %[s], %%xmm0")                                          \
	SSE_FN(h_cmp##t##7, "cmp" #t " $7, %[s], %%xmm0")
CMP8(ps)
CMP8(ss)
CMP8(pd)
CMP8(sd)
#define CMP8_PTR(t)                                                                                \
	{                                                                                          \
		h_cmp##t##0, h_cmp##t##1, h_cmp##t##2, h_cmp##t##3, h_cmp##t##4, h_cmp##t##5,      \
			h_cmp##t##6, h_cmp##t##7                                                   \
	}
static const sse_fn cmp_fn[4][8] = { CMP8_PTR(ps), CMP8_PTR(ss), CMP8_PTR(pd), CMP8_PTR(sd) };

/* comparisons into ZF PF CF */
SSE_FN(h_comiss, "comiss %[s], %%xmm0\n\tsetz %[zf]\n\tsetp %[pf]\n\tsetc %[cf]")
SSE_FN(h_ucomiss, "ucomiss %[s], %%xmm0\n\tsetz %[zf]\n\tsetp %[pf]\n\tsetc %[cf]")
SSE_FN(h_comisd, "comisd %[s], %%xmm0\n\tsetz %[zf]\n\tsetp %[pf]\n\tsetc %[cf]")
SSE_FN(h_ucomisd, "ucomisd %[s], %%xmm0\n\tsetz %[zf]\n\tsetp %[pf]\n\tsetc %[cf]")
/* general register <-> scalar */
SSE_FN(h_cvtsi2ss_32, "cvtsi2ssl %[g], %%xmm0")
SSE_FN(h_cvtsi2ss_64, "cvtsi2ssq %[g], %%xmm0")
SSE_FN(h_cvtsi2sd_32, "cvtsi2sdl %[g], %%xmm0")
SSE_FN(h_cvtsi2sd_64, "cvtsi2sdq %[g], %%xmm0")
SSE_FN(h_cvtss2si_32, "cvtss2si %[s], %%eax\n\tmov %%rax, %[g]")
SSE_FN(h_cvtss2si_64, "cvtss2si %[s], %%rax\n\tmov %%rax, %[g]")
SSE_FN(h_cvttss2si_32, "cvttss2si %[s], %%eax\n\tmov %%rax, %[g]")
SSE_FN(h_cvttss2si_64, "cvttss2si %[s], %%rax\n\tmov %%rax, %[g]")
SSE_FN(h_cvtsd2si_32, "cvtsd2si %[s], %%eax\n\tmov %%rax, %[g]")
SSE_FN(h_cvtsd2si_64, "cvtsd2si %[s], %%rax\n\tmov %%rax, %[g]")
SSE_FN(h_cvttsd2si_32, "cvttsd2si %[s], %%eax\n\tmov %%rax, %[g]")
SSE_FN(h_cvttsd2si_64, "cvttsd2si %[s], %%rax\n\tmov %%rax, %[g]")

static uint8_t *xmm(struct soft_cpu *c, unsigned n)
{
	return c->fpu.fx.xmm[n & 15];
}

/* The r/m source: an XMM register, or size bytes of memory (16: aligned unless !align). */
static void load_src(struct soft_cpu *c, const struct soft_insn *i, unsigned size, bool align,
		     uint8_t *buf)
{
	if (!is_mem(i)) {
		memcpy(buf, xmm(c, i->rm), 16);
		return;
	}
	uint64_t ea = ea_of(c, i);
	memset(buf, 0, 16);
	if (size == 16 && align)
		soft_fpu_check_align16(c, i, ea);
	if (size == 16) {
		uint64_t lo = soft_mem_read(c, i->seg, ea, 8);
		uint64_t hi = soft_mem_read(c, i->seg, (ea + 8) & soft_size_mask(i->asz), 8);
		memcpy(buf, &lo, 8);
		memcpy(buf + 8, &hi, 8);
	} else {
		uint64_t v = soft_mem_read(c, i->seg, ea, size);
		memcpy(buf, &v, size);
	}
}

static void store_dst(struct soft_cpu *c, const struct soft_insn *i, unsigned size, bool align,
		      const uint8_t *buf)
{
	uint64_t ea = ea_of(c, i), v = 0;

	if (size == 16) {
		uint64_t hi;

		if (align)
			soft_fpu_check_align16(c, i, ea);
		soft_mem_check(c, i->seg, ea, 16, SOFT_ACC_WRITE);
		memcpy(&v, buf, 8);
		memcpy(&hi, buf + 8, 8);
		soft_mem_write(c, i->seg, ea, 8, v);
		soft_mem_write(c, i->seg, (ea + 8) & soft_size_mask(i->asz), 8, hi);
		return;
	}
	memcpy(&v, buf, size);
	soft_mem_write(c, i->seg, ea, size, v);
}

/* Runs fn with the guest's MXCSR; raises #XM/#UD for an unmasked exception, else ORs the flags. */
static void run_host(struct soft_cpu *c, sse_fn fn, struct sse_io *io)
{
	uint32_t g = c->fpu.fx.mxcsr;

	io->mx = (g & ~0x3fu) | 0x1f80u;
	fn(io);
	uint32_t fl = io->mx & 0x3f;
	if (fl & ~(g >> 7) & 0x3f) {
		c->fpu.fx.mxcsr = g | fl;
		soft_raise(c, (c->cr4 & X86_CR4_OSXMMEXCPT) ? X86_EXC_XM : X86_EXC_UD,
			   SOFT_NO_ERRCODE);
	}
	c->fpu.fx.mxcsr = g | fl;
}

/* mmx.c's cvt*pi*: the xmm form of a conversion on d (16 bytes) and s, as sse_arith runs it. */
void soft_sse_run_arith(struct soft_cpu *c, unsigned mnemonic, uint8_t *d, const uint8_t *s)
{
	struct sse_io io;

	memcpy(io.d, d, 16);
	memcpy(io.s, s, 16);
	io.g = 0;
	run_host(c, arith_fn[soft_sse_arith_index(mnemonic)], &io);
	memcpy(d, io.d, 16);
}

SOFT_OP(sse_arith)
{
	struct sse_io io;

	soft_sse_enter(c);
	load_src(c, i, i->osz2, true, io.s);
	memcpy(io.d, xmm(c, i->reg), 16);
	io.g = 0;
	run_host(c, arith_fn[i->op], &io);
	memcpy(xmm(c, i->reg), io.d, 16);
}

SOFT_OP(sse_cmp)
{
	struct sse_io io;
	unsigned t;

	switch (i->mnemonic) {
	case ZYDIS_MNEMONIC_CMPPS:
		t = 0;
		break;
	case ZYDIS_MNEMONIC_CMPSS:
		t = 1;
		break;
	case ZYDIS_MNEMONIC_CMPPD:
		t = 2;
		break;
	default:
		t = 3;
		break;
	}
	soft_sse_enter(c);
	load_src(c, i, i->osz2, true, io.s);
	memcpy(io.d, xmm(c, i->reg), 16);
	io.g = 0;
	run_host(c, cmp_fn[t][i->imm & 7], &io);
	memcpy(xmm(c, i->reg), io.d, 16);
}

SOFT_OP(sse_comis)
{
	struct sse_io io;
	sse_fn fn;

	switch (i->mnemonic) {
	case ZYDIS_MNEMONIC_COMISS:
		fn = h_comiss;
		break;
	case ZYDIS_MNEMONIC_UCOMISS:
		fn = h_ucomiss;
		break;
	case ZYDIS_MNEMONIC_COMISD:
		fn = h_comisd;
		break;
	default:
		fn = h_ucomisd;
		break;
	}
	soft_sse_enter(c);
	load_src(c, i, i->osz2, true, io.s);
	memcpy(io.d, xmm(c, i->reg), 16);
	io.g = 0;
	run_host(c, fn, &io);
	soft_flags_put(c, X86_ARITH_FLAGS,
		       (io.zf ? X86_ZF : 0) | (io.pf ? X86_PF : 0) | (io.cf ? X86_CF : 0));
}

/* cvtsi2ss/cvtsi2sd xmm, r/m32|64 (i->osz2: the integer's size) */
SOFT_OP(sse_cvt_from_int)
{
	bool sd = i->mnemonic == ZYDIS_MNEMONIC_CVTSI2SD;
	bool q = i->osz2 == 8;
	struct sse_io io;

	soft_sse_enter(c);
	io.g = is_mem(i) ? soft_mem_read(c, i->seg, ea_of(c, i), q ? 8 : 4)
			 : soft_reg_read(c, i->rm, q ? 8 : 4);
	memcpy(io.d, xmm(c, i->reg), 16);
	memset(io.s, 0, 16);
	run_host(c, sd ? (q ? h_cvtsi2sd_64 : h_cvtsi2sd_32) : (q ? h_cvtsi2ss_64 : h_cvtsi2ss_32),
		 &io);
	memcpy(xmm(c, i->reg), io.d, 16);
}

/* cvt(t)ss2si/cvt(t)sd2si r32|64, xmm/m (i->osz: the destination's size) */
SOFT_OP(sse_cvt_to_int)
{
	static const sse_fn fn[4][2] = {
		{ h_cvtss2si_32, h_cvtss2si_64 },
		{ h_cvttss2si_32, h_cvttss2si_64 },
		{ h_cvtsd2si_32, h_cvtsd2si_64 },
		{ h_cvttsd2si_32, h_cvttsd2si_64 },
	};
	unsigned k;
	struct sse_io io;
	bool q = i->osz == 8;

	switch (i->mnemonic) {
	case ZYDIS_MNEMONIC_CVTSS2SI:
		k = 0;
		break;
	case ZYDIS_MNEMONIC_CVTTSS2SI:
		k = 1;
		break;
	case ZYDIS_MNEMONIC_CVTSD2SI:
		k = 2;
		break;
	default:
		k = 3;
		break;
	}
	soft_sse_enter(c);
	load_src(c, i, k < 2 ? 4 : 8, false, io.s);
	memset(io.d, 0, 16);
	io.g = 0;
	run_host(c, fn[k][q], &io);
	soft_reg_write(c, i->reg, q ? 8 : 4, io.g);
}

/*
 * Moves. i->op bit 0: the r/m operand is the destination (a store, or the
 * reversed register form); bit 1: the r/m operand is a general register
 * (movd/movq with r32/r64).
 */
SOFT_OP(sse_mov)
{
	bool to_rm = i->op & 1, gpr = i->op & 2;
	uint8_t buf[16], *r = xmm(c, i->reg);
	bool align = false;
	unsigned size = 16;

	soft_sse_enter(c);
	switch (i->mnemonic) {
	case ZYDIS_MNEMONIC_MOVAPS:
	case ZYDIS_MNEMONIC_MOVAPD:
	case ZYDIS_MNEMONIC_MOVDQA:
	case ZYDIS_MNEMONIC_MOVNTPS:
	case ZYDIS_MNEMONIC_MOVNTPD:
	case ZYDIS_MNEMONIC_MOVNTDQ:
		align = true;
		/* fall through */
	case ZYDIS_MNEMONIC_MOVUPS:
	case ZYDIS_MNEMONIC_MOVUPD:
	case ZYDIS_MNEMONIC_MOVDQU:
	case ZYDIS_MNEMONIC_LDDQU:
		if (to_rm) {
			if (is_mem(i))
				store_dst(c, i, 16, align, r);
			else
				memcpy(xmm(c, i->rm), r, 16);
		} else {
			load_src(c, i, 16, align, buf);
			memcpy(r, buf, 16);
		}
		return;
	case ZYDIS_MNEMONIC_MOVSS:
	case ZYDIS_MNEMONIC_MOVSD:
		size = i->mnemonic == ZYDIS_MNEMONIC_MOVSS ? 4 : 8;
		if (to_rm && is_mem(i)) {
			store_dst(c, i, size, false, r);
		} else if (is_mem(i)) {
			/* a load zeroes the rest of the register */
			load_src(c, i, size, false, buf);
			memcpy(r, buf, 16);
		} else if (to_rm) {
			memcpy(xmm(c, i->rm), r, size);
		} else {
			memcpy(r, xmm(c, i->rm), size);
		}
		return;
	case ZYDIS_MNEMONIC_MOVD:
	case ZYDIS_MNEMONIC_MOVQ:
		size = i->mnemonic == ZYDIS_MNEMONIC_MOVD ? 4 : 8;
		if (to_rm) {
			uint64_t v = 0;

			memcpy(&v, r, size);
			if (gpr)
				soft_reg_write(c, i->rm, size, v);
			else if (is_mem(i))
				store_dst(c, i, size, false, r);
			else {
				memset(buf, 0, 16);
				memcpy(buf, r, size);
				memcpy(xmm(c, i->rm), buf, 16);
			}
		} else {
			memset(buf, 0, 16);
			if (gpr) {
				uint64_t v = soft_reg_read(c, i->rm, size);

				memcpy(buf, &v, size);
			} else if (is_mem(i)) {
				load_src(c, i, size, false, buf);
			} else {
				memcpy(buf, xmm(c, i->rm), size);
			}
			memcpy(r, buf, 16);
		}
		return;
	case ZYDIS_MNEMONIC_MOVLPS:
	case ZYDIS_MNEMONIC_MOVLPD:
	case ZYDIS_MNEMONIC_MOVHPS:
	case ZYDIS_MNEMONIC_MOVHPD: {
		unsigned half = (i->mnemonic == ZYDIS_MNEMONIC_MOVHPS ||
				 i->mnemonic == ZYDIS_MNEMONIC_MOVHPD)
					? 8
					: 0;

		if (!is_mem(i))
			soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
		if (to_rm) {
			store_dst(c, i, 8, false, r + half);
		} else {
			load_src(c, i, 8, false, buf);
			memcpy(r + half, buf, 8);
		}
		return;
	}
	case ZYDIS_MNEMONIC_MOVHLPS:
		memcpy(r, xmm(c, i->rm) + 8, 8);
		return;
	case ZYDIS_MNEMONIC_MOVLHPS:
		memcpy(r + 8, xmm(c, i->rm), 8);
		return;
	default:
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	}
}

/* Shuffles with an immediate, shifts by an immediate, and the mask extractions. */
SOFT_OP(sse_imm)
{
	uint8_t s[16], d[16], o[16], *r = xmm(c, i->reg);
	unsigned imm = (unsigned)i->imm & 0xff;
	uint32_t s32[4], d32[4], o32[4];
	uint16_t s16[8], o16[8];

	soft_sse_enter(c);
	switch (i->mnemonic) {
	case ZYDIS_MNEMONIC_PSHUFD:
		load_src(c, i, 16, true, s);
		memcpy(s32, s, 16);
		for (unsigned k = 0; k < 4; k++)
			o32[k] = s32[(imm >> (2 * k)) & 3];
		memcpy(r, o32, 16);
		return;
	case ZYDIS_MNEMONIC_PSHUFLW:
	case ZYDIS_MNEMONIC_PSHUFHW: {
		unsigned base = i->mnemonic == ZYDIS_MNEMONIC_PSHUFHW ? 4 : 0;

		load_src(c, i, 16, true, s);
		memcpy(s16, s, 16);
		memcpy(o16, s16, 16);
		for (unsigned k = 0; k < 4; k++)
			o16[base + k] = s16[base + ((imm >> (2 * k)) & 3)];
		memcpy(r, o16, 16);
		return;
	}
	case ZYDIS_MNEMONIC_SHUFPS:
		load_src(c, i, 16, true, s);
		memcpy(s32, s, 16);
		memcpy(d32, r, 16);
		o32[0] = d32[imm & 3];
		o32[1] = d32[(imm >> 2) & 3];
		o32[2] = s32[(imm >> 4) & 3];
		o32[3] = s32[(imm >> 6) & 3];
		memcpy(r, o32, 16);
		return;
	case ZYDIS_MNEMONIC_SHUFPD:
		load_src(c, i, 16, true, s);
		memcpy(d, r, 16);
		memcpy(o, d + ((imm & 1) ? 8 : 0), 8);
		memcpy(o + 8, s + ((imm & 2) ? 8 : 0), 8);
		memcpy(r, o, 16);
		return;
	case ZYDIS_MNEMONIC_PEXTRW:
		memcpy(s16, xmm(c, i->rm), 16);
		soft_reg_write(c, i->reg, 4, s16[imm & 7]);
		return;
	case ZYDIS_MNEMONIC_PINSRW: {
		uint16_t v = (uint16_t)(is_mem(i) ? soft_mem_read(c, i->seg, ea_of(c, i), 2)
						  : soft_reg_read(c, i->rm, 4));

		memcpy(r + 2 * (imm & 7), &v, 2);
		return;
	}
	case ZYDIS_MNEMONIC_PMOVMSKB: {
		uint32_t m = 0;

		memcpy(s, xmm(c, i->rm), 16);
		for (unsigned k = 0; k < 16; k++)
			m |= (uint32_t)(s[k] >> 7) << k;
		soft_reg_write(c, i->reg, i->osz == 8 ? 8 : 4, m);
		return;
	}
	case ZYDIS_MNEMONIC_MOVMSKPS:
	case ZYDIS_MNEMONIC_MOVMSKPD: {
		bool pd = i->mnemonic == ZYDIS_MNEMONIC_MOVMSKPD;
		uint32_t m = 0;

		memcpy(s, xmm(c, i->rm), 16);
		for (unsigned k = 0; k < (pd ? 2u : 4u); k++)
			m |= (uint32_t)(s[(pd ? 8 : 4) * k + (pd ? 7 : 3)] >> 7) << k;
		soft_reg_write(c, i->reg, i->osz == 8 ? 8 : 4, m);
		return;
	}
	default:
		break;
	}

	/* shifts by imm8 of the register in rm (66 0F 71-73) */
	uint8_t *x = xmm(c, i->rm);
	unsigned w;
	bool left, arith = false;

	switch (i->mnemonic) {
	case ZYDIS_MNEMONIC_PSLLDQ:
	case ZYDIS_MNEMONIC_PSRLDQ: {
		unsigned n = imm > 16 ? 16 : imm;

		memset(o, 0, 16);
		if (i->mnemonic == ZYDIS_MNEMONIC_PSLLDQ)
			memcpy(o + n, x, 16 - n);
		else
			memcpy(o, x + n, 16 - n);
		memcpy(x, o, 16);
		return;
	}
	case ZYDIS_MNEMONIC_PSLLW:
		w = 2, left = true;
		break;
	case ZYDIS_MNEMONIC_PSLLD:
		w = 4, left = true;
		break;
	case ZYDIS_MNEMONIC_PSLLQ:
		w = 8, left = true;
		break;
	case ZYDIS_MNEMONIC_PSRLW:
		w = 2, left = false;
		break;
	case ZYDIS_MNEMONIC_PSRLD:
		w = 4, left = false;
		break;
	case ZYDIS_MNEMONIC_PSRLQ:
		w = 8, left = false;
		break;
	case ZYDIS_MNEMONIC_PSRAW:
		w = 2, left = false, arith = true;
		break;
	case ZYDIS_MNEMONIC_PSRAD:
		w = 4, left = false, arith = true;
		break;
	default:
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	}
	for (unsigned k = 0; k < 16; k += w) {
		uint64_t v = 0;
		unsigned bits = w * 8;

		memcpy(&v, x + k, w);
		if (arith) {
			int64_t sv = (int64_t)(v << (64 - bits)) >> (64 - bits);
			v = (uint64_t)(sv >> (imm >= bits ? bits - 1 : imm));
		} else if (imm >= bits) {
			v = 0;
		} else {
			v = left ? v << imm : v >> imm;
		}
		memcpy(x + k, &v, w);
	}
}
