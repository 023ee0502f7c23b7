// SPDX-License-Identifier: MIT
/*
 * MMX instructions, and the SSE/SSE2 integer instructions on MMX registers
 * (legacy encodings): moves, packs and unpacks, lane arithmetic, compares,
 * logic, shifts, emms, pshufw, pinsrw/pextrw, pmovmskb, psadbw, maskmovq,
 * movntq, movq2dq/movdq2q in plain C; the conversions between MMX and XMM
 * registers (cvtpi2ps, cvtps2pi, ...) on sse.c's host SSE path. The host's
 * MMX/x87 state is never used.
 *
 * MM0-MM7 are the significands of the physical x87 registers R0-R7 (SDM
 * Vol.1 §9.5, Table 9-2). Every instruction here but emms and cvtpi2ps/pd
 * from memory sets TOP to 0 and tags all registers valid; one that writes
 * MMn also sets bits 79:64 of Rn to all 1s; emms sets TOP to 0 (what the
 * AMD host does) and all tags empty. The state changes only after the last
 * access that can fault.
 *
 * Checks (SDM Vol.2 "Exceptions" of the MMX instructions, Vol.3 §13.1.4):
 * #UD with CR0.EM = 1, and for the SSE/SSE2 additions but pshufw and movntq
 * with CR4.OSFXSR = 0; then #NM with CR0.TS = 1; then #MF for a pending
 * unmasked x87 exception (CR0.NE = 1), as a waiting x87 instruction.
 */
#include <Zydis/Mnemonic.h>
#include <string.h>

#include "exec.h"
#include "fpu.h"

/* How an instruction is done: the switch in soft_op_mmx. */
enum {
	K_LANE,	  /* MMreg = lane op (MMreg, MM/m) */
	K_PACK,	  /* pack with signed (w < 0: unsigned) saturation */
	K_UNPCKL, /* interleave the low halves */
	K_UNPCKH, /* interleave the high halves */
	K_SHIFT,  /* by MM/m64, or by imm8 with the register in r/m */
	K_MOV,	  /* movd/movq/movntq, loads and stores */
	K_PSHUFW,
	K_PINSRW,
	K_PEXTRW,
	K_PMOVMSKB,
	K_PSADBW,
	K_MASKMOVQ,
	K_MOVQ2DQ,
	K_MOVDQ2Q,
	K_EMMS,
	K_CVT, /* cvtpi2ps/pd xmm, mm/m64; cvt(t)ps2pi, cvt(t)pd2pi mm, xmm/m */
};

/* Lane operations of K_LANE, and the shifts of K_SHIFT. */
enum {
	L_ADD,
	L_ADDS,
	L_ADDUS,
	L_SUB,
	L_SUBS,
	L_SUBUS,
	L_CMPEQ,
	L_CMPGT,
	L_MULL,
	L_MULH,
	L_MULHU,
	L_MULUDQ,
	L_MADD,
	L_MINU,
	L_MAXU,
	L_MINS,
	L_MAXS,
	L_AVG,
	L_AND,
	L_ANDN,
	L_OR,
	L_XOR,
	L_SHL = 0,
	L_SHR,
	L_SAR,
	L_NONE = 0,
};

#define SSE 1 /* an SSE/SSE2 addition: #UD with CR4.OSFXSR = 0 */

/* mnemonic, kind, lane operation, lane width in bytes, SSE */
/* clang-format off */
#define MMX_OPS(X) \
	X(PADDB, LANE, ADD, 1, 0) X(PADDW, LANE, ADD, 2, 0) X(PADDD, LANE, ADD, 4, 0) \
	X(PADDQ, LANE, ADD, 8, SSE) X(PADDSB, LANE, ADDS, 1, 0) X(PADDSW, LANE, ADDS, 2, 0) \
	X(PADDUSB, LANE, ADDUS, 1, 0) X(PADDUSW, LANE, ADDUS, 2, 0) \
	X(PSUBB, LANE, SUB, 1, 0) X(PSUBW, LANE, SUB, 2, 0) X(PSUBD, LANE, SUB, 4, 0) \
	X(PSUBQ, LANE, SUB, 8, SSE) X(PSUBSB, LANE, SUBS, 1, 0) X(PSUBSW, LANE, SUBS, 2, 0) \
	X(PSUBUSB, LANE, SUBUS, 1, 0) X(PSUBUSW, LANE, SUBUS, 2, 0) \
	X(PCMPEQB, LANE, CMPEQ, 1, 0) X(PCMPEQW, LANE, CMPEQ, 2, 0) \
	X(PCMPEQD, LANE, CMPEQ, 4, 0) X(PCMPGTB, LANE, CMPGT, 1, 0) \
	X(PCMPGTW, LANE, CMPGT, 2, 0) X(PCMPGTD, LANE, CMPGT, 4, 0) \
	X(PMULLW, LANE, MULL, 2, 0) X(PMULHW, LANE, MULH, 2, 0) \
	X(PMULHUW, LANE, MULHU, 2, SSE) X(PMULUDQ, LANE, MULUDQ, 8, SSE) \
	X(PMADDWD, LANE, MADD, 4, 0) X(PMINUB, LANE, MINU, 1, SSE) \
	X(PMAXUB, LANE, MAXU, 1, SSE) X(PMINSW, LANE, MINS, 2, SSE) \
	X(PMAXSW, LANE, MAXS, 2, SSE) X(PAVGB, LANE, AVG, 1, SSE) X(PAVGW, LANE, AVG, 2, SSE) \
	X(PAND, LANE, AND, 8, 0) X(PANDN, LANE, ANDN, 8, 0) X(POR, LANE, OR, 8, 0) \
	X(PXOR, LANE, XOR, 8, 0) \
	X(PACKSSWB, PACK, NONE, 2, 0) X(PACKSSDW, PACK, NONE, 4, 0) \
	X(PACKUSWB, PACK, NONE, -2, 0) \
	X(PUNPCKLBW, UNPCKL, NONE, 1, 0) X(PUNPCKLWD, UNPCKL, NONE, 2, 0) \
	X(PUNPCKLDQ, UNPCKL, NONE, 4, 0) X(PUNPCKHBW, UNPCKH, NONE, 1, 0) \
	X(PUNPCKHWD, UNPCKH, NONE, 2, 0) X(PUNPCKHDQ, UNPCKH, NONE, 4, 0) \
	X(PSLLW, SHIFT, SHL, 2, 0) X(PSLLD, SHIFT, SHL, 4, 0) X(PSLLQ, SHIFT, SHL, 8, 0) \
	X(PSRLW, SHIFT, SHR, 2, 0) X(PSRLD, SHIFT, SHR, 4, 0) X(PSRLQ, SHIFT, SHR, 8, 0) \
	X(PSRAW, SHIFT, SAR, 2, 0) X(PSRAD, SHIFT, SAR, 4, 0) \
	X(MOVD, MOV, NONE, 4, 0) X(MOVQ, MOV, NONE, 8, 0) X(MOVNTQ, MOV, NONE, 8, 0) \
	X(PSHUFW, PSHUFW, NONE, 2, 0) X(PINSRW, PINSRW, NONE, 2, SSE) \
	X(PEXTRW, PEXTRW, NONE, 2, SSE) X(PMOVMSKB, PMOVMSKB, NONE, 1, SSE) \
	X(PSADBW, PSADBW, NONE, 1, SSE) X(MASKMOVQ, MASKMOVQ, NONE, 1, SSE) \
	X(MOVQ2DQ, MOVQ2DQ, NONE, 8, SSE) X(MOVDQ2Q, MOVDQ2Q, NONE, 8, SSE) \
	X(EMMS, EMMS, NONE, 0, 0) \
	X(CVTPI2PS, CVT, NONE, 8, SSE) X(CVTPI2PD, CVT, NONE, 8, SSE) \
	X(CVTPS2PI, CVT, NONE, 8, SSE) X(CVTTPS2PI, CVT, NONE, 8, SSE) \
	X(CVTPD2PI, CVT, NONE, 16, SSE) X(CVTTPD2PI, CVT, NONE, 16, SSE)
/* clang-format on */

static const struct mmx_op {
	uint8_t kind, lane, sse;
	int8_t w;
} ops[] = {
#define MMX_ROW(m, k, l, w, s) { K_##k, L_##l, s, w },
	MMX_OPS(MMX_ROW)
#undef MMX_ROW
};

enum {
#define MMX_ENUM(m, k, l, w, s) MO_##m,
	MMX_OPS(MMX_ENUM)
#undef MMX_ENUM
};

int soft_mmx_index(unsigned mnemonic)
{
	switch (mnemonic) {
#define MMX_CASE(m, k, l, w, s)                                                                    \
	case ZYDIS_MNEMONIC_##m:                                                                   \
		return MO_##m;
		MMX_OPS(MMX_CASE)
#undef MMX_CASE
	default:
		return -1;
	}
}

/* --- the registers --- */

static unsigned top_of(const struct soft_cpu *c)
{
	return (c->fpu.fx.fsw >> 11) & 7;
}

/* MMn is physical Rn; the FXSAVE image keeps ST(k) = R((TOP + k) & 7) at st[k]. */
static uint64_t mm_get(const struct soft_cpu *c, unsigned n)
{
	return c->fpu.fx.st[(n - top_of(c)) & 7].mant;
}

/* The x87 side of an MMX instruction (SDM Vol.1 Table 9-2), after its last fault. */
static void mmx_done(struct soft_cpu *c)
{
	soft_x87_set_top(&c->fpu, 0);
	c->fpu.fx.ftw = 0xff;
}

/* After mmx_done: TOP is 0, so MMn is st[n]. */
static void mm_set(struct soft_cpu *c, unsigned n, uint64_t v)
{
	c->fpu.fx.st[n & 7].mant = v;
	c->fpu.fx.st[n & 7].sexp = 0xffff;
}

/* The MM/m source: 8 bytes, or the memory operand's size (movd, punpckl*: 4). */
static uint64_t src_of(struct soft_cpu *c, const struct soft_insn *i)
{
	unsigned size = i->osz2 == 4 ? 4 : 8;

	if (!is_mem(i))
		return mm_get(c, i->rm);
	return soft_mem_read(c, i->seg, ea_of(c, i), size);
}

/* --- lanes --- */

static uint64_t lane_mask(unsigned bits)
{
	return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

static uint64_t sat_s(int64_t v, unsigned bits)
{
	int64_t hi = (int64_t)(lane_mask(bits) >> 1), lo = -hi - 1;

	return (uint64_t)(v > hi ? hi : v < lo ? lo : v);
}

static uint64_t sat_u(int64_t v, unsigned bits)
{
	int64_t hi = (int64_t)lane_mask(bits);

	return (uint64_t)(v > hi ? hi : v < 0 ? 0 : v);
}

/* One lane of a and b (zero-extended, bits wide); the result is cut to bits by the caller. */
static uint64_t lane(unsigned op, unsigned bits, uint64_t a, uint64_t b)
{
	int64_t sa = (int64_t)sext(a, bits / 8), sb = (int64_t)sext(b, bits / 8);

	switch (op) {
	case L_ADD:
		return a + b;
	case L_ADDS:
		return sat_s(sa + sb, bits);
	case L_ADDUS:
		return sat_u((int64_t)(a + b), bits);
	case L_SUB:
		return a - b;
	case L_SUBS:
		return sat_s(sa - sb, bits);
	case L_SUBUS:
		return sat_u((int64_t)a - (int64_t)b, bits);
	case L_CMPEQ:
		return a == b ? ~0ull : 0;
	case L_CMPGT:
		return sa > sb ? ~0ull : 0;
	case L_MULL:
		return a * b;
	case L_MULH:
		return (uint64_t)((sa * sb) >> bits);
	case L_MULHU:
		return (a * b) >> bits;
	case L_MULUDQ:
		return (a & 0xffffffff) * (b & 0xffffffff);
	case L_MADD: /* two signed 16-bit products, summed with wrap-around */
		return (uint64_t)((int64_t)(int16_t)a * (int16_t)b +
				  (int64_t)(int16_t)(a >> 16) * (int16_t)(b >> 16));
	case L_MINU:
		return a < b ? a : b;
	case L_MAXU:
		return a > b ? a : b;
	case L_MINS:
		return sa < sb ? a : b;
	case L_MAXS:
		return sa > sb ? a : b;
	case L_AVG:
		return (a + b + 1) >> 1;
	case L_AND:
		return a & b;
	case L_ANDN:
		return ~a & b;
	case L_OR:
		return a | b;
	default:
		return a ^ b;
	}
}

static uint64_t lanes(unsigned op, unsigned w, uint64_t d, uint64_t s)
{
	unsigned bits = 8 * w;
	uint64_t m = lane_mask(bits), r = 0;

	for (unsigned k = 0; k < 64; k += bits)
		r |= (lane(op, bits, (d >> k) & m, (s >> k) & m) & m) << k;
	return r;
}

static uint64_t shift(unsigned op, unsigned w, uint64_t d, uint64_t n)
{
	unsigned bits = 8 * w;
	uint64_t m = lane_mask(bits), r = 0;

	for (unsigned k = 0; k < 64; k += bits) {
		uint64_t v = (d >> k) & m;

		if (op == L_SAR)
			v = (uint64_t)((int64_t)sext(v, w) >> (n >= bits ? bits - 1 : n));
		else if (n >= bits)
			v = 0;
		else
			v = op == L_SHL ? v << n : v >> n;
		r |= (v & m) << k;
	}
	return r;
}

/* The lanes of d, then of s, each narrowed to half its width with saturation. */
static uint64_t pack(int w, uint64_t d, uint64_t s)
{
	unsigned bits = 8 * (unsigned)(w < 0 ? -w : w), half = bits / 2, n = 64 / bits;
	uint64_t r = 0;

	for (unsigned k = 0; k < 2 * n; k++) {
		uint64_t v = ((k < n ? d : s) >> (bits * (k % n))) & lane_mask(bits);
		int64_t sv = (int64_t)sext(v, bits / 8);

		v = w < 0 ? sat_u(sv, half) : sat_s(sv, half);
		r |= (v & lane_mask(half)) << (half * k);
	}
	return r;
}

/* d0 s0 d1 s1 ... from the low (or high) halves of d and s. */
static uint64_t unpack(unsigned w, bool high, uint64_t d, uint64_t s)
{
	unsigned bits = 8 * w, n = 32 / bits;
	uint64_t r = 0, m = lane_mask(bits);

	if (high)
		d >>= 32, s >>= 32;
	for (unsigned k = 0; k < n; k++) {
		r |= ((d >> (bits * k)) & m) << (2 * bits * k);
		r |= ((s >> (bits * k)) & m) << (2 * bits * k + bits);
	}
	return r;
}

/* --- the instructions --- */

/* movd/movq/movntq. i->imm2 bit 0: the r/m operand is the destination; bit 1: it is a GPR. */
static void mov(struct soft_cpu *c, const struct soft_insn *i, unsigned size)
{
	bool to_rm = i->imm2 & 1, gpr = i->imm2 & 2;
	uint64_t v;

	if (to_rm) {
		v = mm_get(c, i->reg);
		if (gpr)
			soft_reg_write(c, i->rm, size, v);
		else if (is_mem(i))
			soft_mem_write(c, i->seg, ea_of(c, i), size, v);
		mmx_done(c);
		if (!gpr && !is_mem(i))
			mm_set(c, i->rm, v);
		return;
	}
	if (gpr)
		v = soft_reg_read(c, i->rm, size);
	else if (is_mem(i))
		v = soft_mem_read(c, i->seg, ea_of(c, i), size);
	else
		v = mm_get(c, i->rm);
	if (size == 4)
		v &= 0xffffffff;
	mmx_done(c);
	mm_set(c, i->reg, v);
}

/* Writes mm1's bytes where mm2's byte has bit 7 set, to DS:rDI (SDM Vol.2 MASKMOVQ). */
static void maskmovq(struct soft_cpu *c, const struct soft_insn *i)
{
	uint64_t v = mm_get(c, i->reg), mask = mm_get(c, i->rm);
	uint64_t ea = c->gpr[R_DI] & soft_size_mask(i->asz);

	/* all selected bytes are checked first: a fault leaves memory as it was */
	for (unsigned pass = 0; pass < 2; pass++)
		for (unsigned k = 0; k < 8; k++) {
			uint64_t at = (ea + k) & soft_size_mask(i->asz);

			if (!((mask >> (8 * k + 7)) & 1))
				continue;
			if (pass == 0)
				soft_mem_check(c, i->seg, at, 1, SOFT_ACC_WRITE);
			else
				soft_mem_write(c, i->seg, at, 1, (v >> (8 * k)) & 0xff);
		}
	mmx_done(c);
}

/*
 * The conversions, as their xmm forms on two lanes (the other lanes zero,
 * which convert without a flag; sse.c raises #XM for an unmasked exception
 * before anything is written). cvtpi2ps/cvtpi2pd from memory touch no MMX
 * register and make no x87 transition (SDM Vol.2 CVTPI2PD; for cvtpi2ps the
 * SDM says it always does, the AMD host does as for cvtpi2pd).
 */
static void cvt(struct soft_cpu *c, const struct soft_insn *i)
{
	/* the instruction, its xmm form, how many bytes it converts (the source's size) */
	static const uint16_t form[][3] = {
		{ ZYDIS_MNEMONIC_CVTPI2PS, ZYDIS_MNEMONIC_CVTDQ2PS, 8 },
		{ ZYDIS_MNEMONIC_CVTPI2PD, ZYDIS_MNEMONIC_CVTDQ2PD, 8 },
		{ ZYDIS_MNEMONIC_CVTPS2PI, ZYDIS_MNEMONIC_CVTPS2DQ, 8 },
		{ ZYDIS_MNEMONIC_CVTTPS2PI, ZYDIS_MNEMONIC_CVTTPS2DQ, 8 },
		{ ZYDIS_MNEMONIC_CVTPD2PI, ZYDIS_MNEMONIC_CVTPD2DQ, 16 },
		{ ZYDIS_MNEMONIC_CVTTPD2PI, ZYDIS_MNEMONIC_CVTTPD2DQ, 16 },
	};
	unsigned k = 0;

	while (k < 5 && form[k][0] != i->mnemonic)
		k++;

	bool to_xmm = k < 2, pd = k == 1;
	uint8_t d[16], s[16] = { 0 }, *x = c->fpu.fx.xmm[(to_xmm ? i->reg : i->rm) & 15];
	uint64_t v;

	if (to_xmm) {
		v = src_of(c, i);
		memcpy(s, &v, 8);
	} else if (!is_mem(i)) {
		memcpy(s, x, form[k][2]);
	} else {
		uint64_t ea = ea_of(c, i);

		if (form[k][2] == 16)
			soft_fpu_check_align16(c, i, ea);
		for (unsigned off = 0; off < form[k][2]; off += 8) {
			v = soft_mem_read(c, i->seg, (ea + off) & soft_size_mask(i->asz), 8);
			memcpy(s + off, &v, 8);
		}
	}
	memcpy(d, to_xmm ? x : s, 16);
	soft_sse_run_arith(c, form[k][1], d, s);
	if (to_xmm) {
		memcpy(x, d, pd ? 16 : 8); /* cvtpi2ps keeps the high quadword */
		if (!is_mem(i))
			mmx_done(c);
		return;
	}
	memcpy(&v, d, 8);
	mmx_done(c);
	mm_set(c, i->reg, v);
}

SOFT_OP(mmx)
{
	const struct mmx_op *o = &ops[i->op < sizeof(ops) / sizeof(ops[0]) ? i->op : MO_EMMS];
	unsigned imm = (unsigned)i->imm & 0xff;
	uint64_t d, s, r;

	if ((c->cr0 & X86_CR0_EM) || (o->sse && !(c->cr4 & X86_CR4_OSFXSR)))
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	/* #NM with CR0.TS, then #MF (not for cvtpi2ps/pd from memory: SSE alone) */
	soft_x87_enter(c, !(is_mem(i) && (i->mnemonic == ZYDIS_MNEMONIC_CVTPI2PS ||
					  i->mnemonic == ZYDIS_MNEMONIC_CVTPI2PD)));

	switch (o->kind) {
	case K_MOV:
		mov(c, i, (unsigned)o->w);
		return;
	case K_MASKMOVQ:
		maskmovq(c, i);
		return;
	case K_CVT:
		cvt(c, i);
		return;
	case K_EMMS:
		soft_x87_set_top(&c->fpu, 0);
		c->fpu.fx.ftw = 0;
		return;
	case K_MOVQ2DQ:
		d = mm_get(c, i->rm);
		mmx_done(c);
		memset(c->fpu.fx.xmm[i->reg & 15], 0, 16);
		memcpy(c->fpu.fx.xmm[i->reg & 15], &d, 8);
		return;
	case K_MOVDQ2Q:
		memcpy(&d, c->fpu.fx.xmm[i->rm & 15], 8);
		mmx_done(c);
		mm_set(c, i->reg, d);
		return;
	case K_PEXTRW:
		r = (mm_get(c, i->rm) >> (16 * (imm & 3))) & 0xffff;
		mmx_done(c);
		soft_reg_write(c, i->reg, 4, r);
		return;
	case K_PMOVMSKB:
		s = mm_get(c, i->rm);
		r = 0;
		for (unsigned k = 0; k < 8; k++)
			r |= ((s >> (8 * k + 7)) & 1) << k;
		mmx_done(c);
		soft_reg_write(c, i->reg, 4, r);
		return;
	case K_PINSRW:
		s = is_mem(i) ? soft_mem_read(c, i->seg, ea_of(c, i), 2)
			      : soft_reg_read(c, i->rm, 4);
		d = mm_get(c, i->reg) & ~(0xffffull << (16 * (imm & 3)));
		r = d | (s & 0xffff) << (16 * (imm & 3));
		mmx_done(c);
		mm_set(c, i->reg, r);
		return;
	case K_SHIFT:
		if (i->imm2 & 1) { /* 0F 71-73 /digit ib: the register is in r/m */
			r = shift(o->lane, (unsigned)o->w, mm_get(c, i->rm), imm);
			mmx_done(c);
			mm_set(c, i->rm, r);
			return;
		}
		break;
	default:
		break;
	}

	/* MMreg, MM/m forms */
	s = src_of(c, i);
	d = mm_get(c, i->reg);
	switch (o->kind) {
	case K_LANE:
		r = lanes(o->lane, (unsigned)o->w, d, s);
		break;
	case K_PACK:
		r = pack(o->w, d, s);
		break;
	case K_UNPCKL:
	case K_UNPCKH:
		r = unpack((unsigned)o->w, o->kind == K_UNPCKH, d, s);
		break;
	case K_SHIFT:
		r = shift(o->lane, (unsigned)o->w, d, s);
		break;
	case K_PSHUFW:
		r = 0;
		for (unsigned k = 0; k < 4; k++)
			r |= ((s >> (16 * ((imm >> (2 * k)) & 3))) & 0xffff) << (16 * k);
		break;
	default: /* K_PSADBW: the sum of the bytes' absolute differences */
		r = 0;
		for (unsigned k = 0; k < 64; k += 8) {
			int a = (int)((d >> k) & 0xff), b = (int)((s >> k) & 0xff);

			r += (uint64_t)(a > b ? a - b : b - a);
		}
		break;
	}
	mmx_done(c);
	mm_set(c, i->reg, r);
}
