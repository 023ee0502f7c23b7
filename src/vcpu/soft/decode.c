// SPDX-License-Identifier: MIT
/*
 * The decoder: Zydis turns guest bytes into its full form once per frame
 * build; this file compresses that into struct soft_insn and picks the
 * handler, so execution never looks at Zydis again.
 *
 * Operands are normalised to the shapes of SDM Vol.2 Appendix A.2: E (ModRM
 * r/m: register rm or the memory fields), G (ModRM reg: reg), I (imm). A
 * register encoded in the opcode (push 50+r, bswap, mov B8+r, ...) is an E
 * register (in rm, and in reg too); an accumulator-immediate form (add al,
 * imm8) becomes E,I with rm = rAX.
 */
#include "decode.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "exec.h"
#include "exec_sys.h"

/* --- decoder instances: one per code size, created once, read-only afterwards --- */

static pthread_once_t decoders_once = PTHREAD_ONCE_INIT;
static ZydisDecoder decoders[3]; /* 16, 32, 64-bit code */
static bool decoders_ok;

static void decoders_init(void)
{
	static const ZydisMachineMode mm[3] = { ZYDIS_MACHINE_MODE_LEGACY_16,
						ZYDIS_MACHINE_MODE_LEGACY_32,
						ZYDIS_MACHINE_MODE_LONG_64 };
	static const ZydisStackWidth sw[3] = { ZYDIS_STACK_WIDTH_16, ZYDIS_STACK_WIDTH_32,
					       ZYDIS_STACK_WIDTH_64 };

	for (int k = 0; k < 3; k++) {
		ZydisDecoder *d = &decoders[k];

		if (!ZYAN_SUCCESS(ZydisDecoderInit(d, mm[k], sw[k])))
			return;
		/* The soft CPU has neither MPX, CET nor CLDEMOTE: their opcodes are the hint
		   NOPs (0F 18-1F) they are on such a processor (SDM Vol.2 NOP). */
		ZydisDecoderEnableMode(d, ZYDIS_DECODER_MODE_MPX, ZYAN_FALSE);
		ZydisDecoderEnableMode(d, ZYDIS_DECODER_MODE_CET, ZYAN_FALSE);
		ZydisDecoderEnableMode(d, ZYDIS_DECODER_MODE_CLDEMOTE, ZYAN_FALSE);
	}
	decoders_ok = true;
}

static const ZydisDecoder *decoder_for(unsigned mode)
{
	pthread_once(&decoders_once, decoders_init);
	if (!decoders_ok)
		return NULL;
	switch (mode) {
	case 2:
		return &decoders[0];
	case 4:
		return &decoders[1];
	case 8:
		return &decoders[2];
	default:
		return NULL;
	}
}

/* --- registers --- */

enum { RC_GPR, RC_SEG, RC_CR, RC_DR, RC_X87, RC_XMM, RC_MMX, RC_OTHER };

static uint8_t map_reg(ZydisRegister r, int *cls)
{
	*cls = RC_GPR;
	if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_BL)
		return r - ZYDIS_REGISTER_AL;
	if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH)
		return SOFT_REG_AH + (r - ZYDIS_REGISTER_AH);
	if (r >= ZYDIS_REGISTER_SPL && r <= ZYDIS_REGISTER_R15B)
		return R_SP + (r - ZYDIS_REGISTER_SPL);
	if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_R15W)
		return r - ZYDIS_REGISTER_AX;
	if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_R15D)
		return r - ZYDIS_REGISTER_EAX;
	if (r >= ZYDIS_REGISTER_RAX && r <= ZYDIS_REGISTER_R15)
		return r - ZYDIS_REGISTER_RAX;
	if (r >= ZYDIS_REGISTER_ES && r <= ZYDIS_REGISTER_GS) {
		*cls = RC_SEG;
		return S_ES + (r - ZYDIS_REGISTER_ES);
	}
	if (r >= ZYDIS_REGISTER_CR0 && r <= ZYDIS_REGISTER_CR15) {
		*cls = RC_CR;
		return r - ZYDIS_REGISTER_CR0;
	}
	if (r >= ZYDIS_REGISTER_DR0 && r <= ZYDIS_REGISTER_DR15) {
		*cls = RC_DR;
		return r - ZYDIS_REGISTER_DR0;
	}
	if (r >= ZYDIS_REGISTER_ST0 && r <= ZYDIS_REGISTER_ST7) {
		*cls = RC_X87;
		return r - ZYDIS_REGISTER_ST0;
	}
	if (r >= ZYDIS_REGISTER_XMM0 && r <= ZYDIS_REGISTER_XMM15) {
		*cls = RC_XMM;
		return r - ZYDIS_REGISTER_XMM0;
	}
	if (r >= ZYDIS_REGISTER_MM0 && r <= ZYDIS_REGISTER_MM7) {
		*cls = RC_MMX;
		return r - ZYDIS_REGISTER_MM0;
	}
	*cls = RC_OTHER;
	return SOFT_NOREG;
}

/* --- operand summary handed to the handler choice --- */

enum { K_NONE, K_G, K_E, K_I, K_FIXED, K_V, K_PTR };

struct dops {
	unsigned n;	  /* visible operands looked at */
	uint8_t kind[4];  /* K_* */
	uint8_t size[4];  /* operand size in bytes */
	uint8_t fixed[4]; /* K_FIXED: the register */
	uint8_t cls[4];	  /* RC_* of a register operand (RC_GPR for others) */
	bool moffs;	  /* A0-A3 absolute offset (in imm) */
	bool sysreg;	  /* a segment, control or debug register operand */
	bool other;	  /* a register the soft CPU does not execute on (YMM, ...) */
	bool xmm;	  /* an XMM register operand */
	bool mmx;	  /* an MMX register operand */
	uint8_t msize;	  /* size of the memory operand in bytes (16 for m128) */
	unsigned nimm;
};

static unsigned size_bytes(unsigned bits, unsigned dflt)
{
	switch (bits) {
	case 8:
		return 1;
	case 16:
		return 2;
	case 32:
		return 4;
	case 64:
		return 8;
	default:
		return dflt;
	}
}

static void fill_operands(const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo,
			  uint64_t rip, struct soft_insn *i, struct dops *d)
{
	unsigned nvis = zi->operand_count_visible < 4 ? zi->operand_count_visible : 4;

	d->n = nvis;
	for (unsigned k = 0; k < nvis; k++) {
		const ZydisDecodedOperand *o = &zo[k];
		uint8_t r;
		int cls;

		d->size[k] = o->size / 8 > 255 ? 255 : (uint8_t)(o->size / 8);
		switch (o->type) {
		case ZYDIS_OPERAND_TYPE_REGISTER:
			r = map_reg(o->reg.value, &cls);
			d->cls[k] = (uint8_t)cls;
			if (cls == RC_SEG || cls == RC_CR || cls == RC_DR)
				d->sysreg = true;
			else if (cls == RC_OTHER)
				d->other = true;
			else if (cls == RC_XMM)
				d->xmm = true;
			else if (cls == RC_MMX)
				d->mmx = true;
			switch (o->encoding) {
			case ZYDIS_OPERAND_ENCODING_MODRM_REG:
				i->reg = r;
				d->kind[k] = K_G;
				break;
			case ZYDIS_OPERAND_ENCODING_MODRM_RM:
				i->rm = r;
				d->kind[k] = K_E;
				break;
			case ZYDIS_OPERAND_ENCODING_OPCODE:
				i->rm = r;
				i->reg = r;
				d->kind[k] = K_E;
				break;
			case ZYDIS_OPERAND_ENCODING_NDSNDD:
				i->vreg = r;
				d->kind[k] = K_V;
				break;
			default:
				d->fixed[k] = r;
				d->kind[k] = K_FIXED;
				if (cls == RC_SEG)
					i->reg = r;
				break;
			}
			break;
		case ZYDIS_OPERAND_TYPE_MEMORY: {
			const ZydisDecodedOperandMem *m = &o->mem;
			int scls;

			d->kind[k] = K_E;
			d->msize = d->size[k];
			i->flags |= SOFT_I_MEM;
			r = map_reg(m->segment, &scls);
			i->seg = scls == RC_SEG ? r : S_DS;
			if (m->base == ZYDIS_REGISTER_RIP || m->base == ZYDIS_REGISTER_EIP) {
				i->flags |= SOFT_I_RIPREL;
			} else if (m->base != ZYDIS_REGISTER_NONE) {
				i->base = map_reg(m->base, &scls);
			}
			if (m->index != ZYDIS_REGISTER_NONE) {
				i->index = map_reg(m->index, &scls);
				i->scale = m->scale ? (uint8_t)__builtin_ctz(m->scale) : 0;
			}
			if (o->encoding == ZYDIS_OPERAND_ENCODING_DISP16_32_64) {
				d->moffs = true;
				i->imm = (uint64_t)m->disp.value & soft_size_mask(i->asz);
			} else {
				i->disp = (int32_t)m->disp.value;
			}
			break;
		}
		case ZYDIS_OPERAND_TYPE_IMMEDIATE:
			d->kind[k] = K_I;
			if (o->imm.is_relative) {
				/* Direct branch: the absolute target, wrapped at the operand size.
				 */
				i->imm = (rip + zi->length + (uint64_t)o->imm.value.s) &
					 soft_size_mask(i->osz);
				i->flags |= SOFT_I_DIRECT;
			} else if (d->nimm == 0) {
				i->imm = o->imm.value.u;
			} else {
				i->imm2 = (uint16_t)o->imm.value.u;
			}
			d->nimm++;
			break;
		case ZYDIS_OPERAND_TYPE_POINTER:
			d->kind[k] = K_PTR;
			i->imm = o->ptr.offset;
			i->imm2 = o->ptr.segment;
			break;
		default:
			break;
		}
	}
}

/* --- handler choice --- */

/*
 * Unsafe instructions after which mode, CS and translations are certainly
 * unchanged: run.c keeps its stub links across them (SOFT_I_KEEPS_CHAINS).
 */
static bool keeps_chains(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_IN:
	case ZYDIS_MNEMONIC_OUT:
	case ZYDIS_MNEMONIC_INSB:
	case ZYDIS_MNEMONIC_INSW:
	case ZYDIS_MNEMONIC_INSD:
	case ZYDIS_MNEMONIC_OUTSB:
	case ZYDIS_MNEMONIC_OUTSW:
	case ZYDIS_MNEMONIC_OUTSD:
	case ZYDIS_MNEMONIC_CLI:
	case ZYDIS_MNEMONIC_STI:
	case ZYDIS_MNEMONIC_PUSHF:
	case ZYDIS_MNEMONIC_PUSHFD:
	case ZYDIS_MNEMONIC_PUSHFQ:
	case ZYDIS_MNEMONIC_POPF:
	case ZYDIS_MNEMONIC_POPFD:
	case ZYDIS_MNEMONIC_POPFQ:
	case ZYDIS_MNEMONIC_CPUID:
	case ZYDIS_MNEMONIC_RDTSC:
	case ZYDIS_MNEMONIC_RDTSCP:
	case ZYDIS_MNEMONIC_RDMSR:
	case ZYDIS_MNEMONIC_HLT:
		return true;
	default:
		return false;
	}
}

/* The system instructions run by the monitor that do not transfer control. */
static bool is_sys_plain(ZydisMnemonic m)
{
	if (keeps_chains(m))
		return true;
	switch (m) {
	case ZYDIS_MNEMONIC_LGDT:
	case ZYDIS_MNEMONIC_LIDT:
	case ZYDIS_MNEMONIC_SGDT:
	case ZYDIS_MNEMONIC_SIDT:
	case ZYDIS_MNEMONIC_LLDT:
	case ZYDIS_MNEMONIC_SLDT:
	case ZYDIS_MNEMONIC_LTR:
	case ZYDIS_MNEMONIC_STR:
	case ZYDIS_MNEMONIC_LMSW:
	case ZYDIS_MNEMONIC_SMSW:
	case ZYDIS_MNEMONIC_CLTS:
	case ZYDIS_MNEMONIC_INVLPG:
	case ZYDIS_MNEMONIC_INVD:
	case ZYDIS_MNEMONIC_WBINVD:
	case ZYDIS_MNEMONIC_WRMSR:
	case ZYDIS_MNEMONIC_RDPMC:
	case ZYDIS_MNEMONIC_SWAPGS:
	case ZYDIS_MNEMONIC_LDS:
	case ZYDIS_MNEMONIC_LES:
	case ZYDIS_MNEMONIC_LFS:
	case ZYDIS_MNEMONIC_LGS:
	case ZYDIS_MNEMONIC_LSS:
	case ZYDIS_MNEMONIC_LAR:
	case ZYDIS_MNEMONIC_LSL:
	case ZYDIS_MNEMONIC_VERR:
	case ZYDIS_MNEMONIC_VERW:
	case ZYDIS_MNEMONIC_ARPL:
	case ZYDIS_MNEMONIC_BOUND:
	case ZYDIS_MNEMONIC_UD0:
	case ZYDIS_MNEMONIC_UD1:
	case ZYDIS_MNEMONIC_UD2:
	case ZYDIS_MNEMONIC_RDFSBASE:
	case ZYDIS_MNEMONIC_RDGSBASE:
	case ZYDIS_MNEMONIC_WRFSBASE:
	case ZYDIS_MNEMONIC_WRGSBASE:
	case ZYDIS_MNEMONIC_XGETBV:
	case ZYDIS_MNEMONIC_XSETBV:
	case ZYDIS_MNEMONIC_CLAC:
	case ZYDIS_MNEMONIC_STAC:
	case ZYDIS_MNEMONIC_MONITOR:
	case ZYDIS_MNEMONIC_MWAIT:
	case ZYDIS_MNEMONIC_INVPCID:
	case ZYDIS_MNEMONIC_RDPID:
		return true;
	default:
		return false;
	}
}

static bool is_sys_branch(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_SYSCALL:
	case ZYDIS_MNEMONIC_SYSRET:
	case ZYDIS_MNEMONIC_SYSENTER:
	case ZYDIS_MNEMONIC_SYSEXIT:
	case ZYDIS_MNEMONIC_INT:
	case ZYDIS_MNEMONIC_INT1:
	case ZYDIS_MNEMONIC_INT3:
	case ZYDIS_MNEMONIC_INTO:
	case ZYDIS_MNEMONIC_IRET:
	case ZYDIS_MNEMONIC_IRETD:
	case ZYDIS_MNEMONIC_IRETQ:
	case ZYDIS_MNEMONIC_RSM:
		return true;
	default:
		return false;
	}
}

/*
 * Hint NOPs, prefetches, cache-line writebacks, and the fences that order
 * nothing the host's TSO does not (lfence, sfence: write-combining and
 * non-temporal stores are not emulated): nothing to do for the soft CPU.
 */
static bool is_nop(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_NOP:
	case ZYDIS_MNEMONIC_PAUSE:
	case ZYDIS_MNEMONIC_ENDBR32:
	case ZYDIS_MNEMONIC_ENDBR64:
	case ZYDIS_MNEMONIC_LFENCE:
	case ZYDIS_MNEMONIC_SFENCE:
	case ZYDIS_MNEMONIC_PREFETCH:
	case ZYDIS_MNEMONIC_PREFETCHW:
	case ZYDIS_MNEMONIC_PREFETCHNTA:
	case ZYDIS_MNEMONIC_PREFETCHT0:
	case ZYDIS_MNEMONIC_PREFETCHT1:
	case ZYDIS_MNEMONIC_PREFETCHT2:
	case ZYDIS_MNEMONIC_CLFLUSH:
	case ZYDIS_MNEMONIC_CLFLUSHOPT:
	case ZYDIS_MNEMONIC_CLWB:
		return true;
	default:
		return false;
	}
}

/* Segment of a string source operand: DS unless overridden. */
static uint8_t string_seg(const ZydisDecodedInstruction *zi)
{
	ZyanU64 a = zi->attributes;

	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_ES)
		return S_ES;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_CS)
		return S_CS;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_SS)
		return S_SS;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_FS)
		return S_FS;
	if (a & ZYDIS_ATTRIB_HAS_SEGMENT_GS)
		return S_GS;
	return S_DS;
}

/* movs/stos/lods (and ins/outs) repeat under F2 as under F3; cmps/scas tell them apart. */
static void string_prefixes(const ZydisDecodedInstruction *zi, struct soft_insn *i, bool cond)
{
	ZyanU64 a = zi->attributes;

	i->seg = string_seg(zi);
	i->flags &= ~SOFT_I_MEM;
	if (cond) {
		if (a & ZYDIS_ATTRIB_HAS_REPNE)
			i->flags |= SOFT_I_REPNE;
		else if (a & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE))
			i->flags |= SOFT_I_REP;
	} else if (a & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) {
		i->flags |= SOFT_I_REP;
	}
}

#define EXEC(fn) (i->exec = soft_op_##fn)

/* E,G / G,E / E,I (with the accumulator forms folded into E,I). */
static int pick_alu(struct soft_insn *i, const struct dops *d, soft_exec_fn eg, soft_exec_fn ge,
		    soft_exec_fn ei)
{
	if (d->kind[0] == K_E && d->kind[1] == K_G)
		i->exec = eg;
	else if (d->kind[0] == K_G && d->kind[1] == K_E)
		i->exec = ge;
	else if (d->kind[0] == K_E && d->kind[1] == K_I)
		i->exec = ei;
	else if (d->kind[0] == K_FIXED && d->kind[1] == K_I) {
		i->rm = d->fixed[0];
		i->exec = ei;
	} else
		return -EILSEQ;
	return 0;
}

static int pick_shift(struct soft_insn *i, const struct dops *d, unsigned op)
{
	i->op = op;
	if (d->kind[1] == K_I)
		EXEC(shift_EI);
	else
		EXEC(shift_ECL);
	return 0;
}

static int pick_general(const ZydisDecodedInstruction *zi, struct soft_insn *i,
			const struct dops *d)
{
	ZydisMnemonic m = zi->mnemonic;
	uint8_t opc = zi->opcode;

	switch (m) {
	case ZYDIS_MNEMONIC_ADD:
		return pick_alu(i, d, soft_op_add_EG, soft_op_add_GE, soft_op_add_EI);
	case ZYDIS_MNEMONIC_OR:
		return pick_alu(i, d, soft_op_or_EG, soft_op_or_GE, soft_op_or_EI);
	case ZYDIS_MNEMONIC_ADC:
		return pick_alu(i, d, soft_op_adc_EG, soft_op_adc_GE, soft_op_adc_EI);
	case ZYDIS_MNEMONIC_SBB:
		return pick_alu(i, d, soft_op_sbb_EG, soft_op_sbb_GE, soft_op_sbb_EI);
	case ZYDIS_MNEMONIC_AND:
		return pick_alu(i, d, soft_op_and_EG, soft_op_and_GE, soft_op_and_EI);
	case ZYDIS_MNEMONIC_SUB:
		return pick_alu(i, d, soft_op_sub_EG, soft_op_sub_GE, soft_op_sub_EI);
	case ZYDIS_MNEMONIC_XOR:
		return pick_alu(i, d, soft_op_xor_EG, soft_op_xor_GE, soft_op_xor_EI);
	case ZYDIS_MNEMONIC_CMP:
		return pick_alu(i, d, soft_op_cmp_EG, soft_op_cmp_GE, soft_op_cmp_EI);
	case ZYDIS_MNEMONIC_TEST:
		/* 84/85 encode test r/m, reg; Zydis lists the r/m first. */
		return pick_alu(i, d, soft_op_test_EG, soft_op_test_EG, soft_op_test_EI);
	case ZYDIS_MNEMONIC_INC:
		return EXEC(inc), 0;
	case ZYDIS_MNEMONIC_DEC:
		return EXEC(dec), 0;
	case ZYDIS_MNEMONIC_NEG:
		return EXEC(neg), 0;
	case ZYDIS_MNEMONIC_NOT:
		return EXEC(not ), 0;
	case ZYDIS_MNEMONIC_MUL:
		return EXEC(mul), 0;
	case ZYDIS_MNEMONIC_DIV:
		return EXEC(div), 0;
	case ZYDIS_MNEMONIC_IDIV:
		return EXEC(idiv), 0;
	case ZYDIS_MNEMONIC_IMUL:
		if (d->n == 1)
			EXEC(imul1);
		else if (d->n >= 3 && d->kind[2] == K_I)
			EXEC(imul_GEI);
		else
			EXEC(imul_GE);
		return 0;
	case ZYDIS_MNEMONIC_ADCX:
		return EXEC(adcx), 0;
	case ZYDIS_MNEMONIC_ADOX:
		return EXEC(adox), 0;
	case ZYDIS_MNEMONIC_ROL:
		return pick_shift(i, d, SH_ROL);
	case ZYDIS_MNEMONIC_ROR:
		return pick_shift(i, d, SH_ROR);
	case ZYDIS_MNEMONIC_RCL:
		return pick_shift(i, d, SH_RCL);
	case ZYDIS_MNEMONIC_RCR:
		return pick_shift(i, d, SH_RCR);
	case ZYDIS_MNEMONIC_SHL:
		return pick_shift(i, d, SH_SHL);
	case ZYDIS_MNEMONIC_SHR:
		return pick_shift(i, d, SH_SHR);
	case ZYDIS_MNEMONIC_SAR:
		return pick_shift(i, d, SH_SAR);
	case ZYDIS_MNEMONIC_SHLD:
		return (d->kind[2] == K_I ? EXEC(shld_EGI) : EXEC(shld_EGCL)), 0;
	case ZYDIS_MNEMONIC_SHRD:
		return (d->kind[2] == K_I ? EXEC(shrd_EGI) : EXEC(shrd_EGCL)), 0;
	case ZYDIS_MNEMONIC_BT:
	case ZYDIS_MNEMONIC_BTS:
	case ZYDIS_MNEMONIC_BTR:
	case ZYDIS_MNEMONIC_BTC:
		i->op = m == ZYDIS_MNEMONIC_BT	  ? 0
			: m == ZYDIS_MNEMONIC_BTS ? 1
			: m == ZYDIS_MNEMONIC_BTR ? 2
						  : 3;
		return (d->kind[1] == K_I ? EXEC(bt_EI) : EXEC(bt_EG)), 0;
	case ZYDIS_MNEMONIC_BSF:
		return EXEC(bsf), 0;
	case ZYDIS_MNEMONIC_BSR:
		return EXEC(bsr), 0;
	case ZYDIS_MNEMONIC_TZCNT:
		return EXEC(tzcnt), 0;
	case ZYDIS_MNEMONIC_LZCNT:
		return EXEC(lzcnt), 0;
	case ZYDIS_MNEMONIC_POPCNT:
		return EXEC(popcnt), 0;
	case ZYDIS_MNEMONIC_BSWAP:
		return EXEC(bswap), 0;
	case ZYDIS_MNEMONIC_ANDN:
		return EXEC(andn), 0;
	case ZYDIS_MNEMONIC_BEXTR:
		return EXEC(bextr), 0;
	case ZYDIS_MNEMONIC_BLSI:
		return EXEC(blsi), 0;
	case ZYDIS_MNEMONIC_BLSMSK:
		return EXEC(blsmsk), 0;
	case ZYDIS_MNEMONIC_BLSR:
		return EXEC(blsr), 0;
	case ZYDIS_MNEMONIC_BZHI:
		return EXEC(bzhi), 0;
	case ZYDIS_MNEMONIC_MULX:
		return EXEC(mulx), 0;
	case ZYDIS_MNEMONIC_PDEP:
		return EXEC(pdep), 0;
	case ZYDIS_MNEMONIC_PEXT:
		return EXEC(pext), 0;
	case ZYDIS_MNEMONIC_RORX:
		return EXEC(rorx), 0;
	case ZYDIS_MNEMONIC_SARX:
		return EXEC(sarx), 0;
	case ZYDIS_MNEMONIC_SHLX:
		return EXEC(shlx), 0;
	case ZYDIS_MNEMONIC_SHRX:
		return EXEC(shrx), 0;
	case ZYDIS_MNEMONIC_MOV:
		if (d->moffs) {
			if (d->kind[0] == K_FIXED)
				EXEC(mov_load_moffs);
			else
				EXEC(mov_store_moffs);
			return 0;
		}
		if (d->kind[0] == K_E && d->kind[1] == K_G)
			return EXEC(mov_EG), 0;
		if (d->kind[0] == K_G && d->kind[1] == K_E)
			return EXEC(mov_GE), 0;
		if (d->kind[0] == K_E && d->kind[1] == K_I)
			return EXEC(mov_EI), 0;
		return -EILSEQ;
	case ZYDIS_MNEMONIC_MOVNTI: /* SSE2, but a plain store for the soft CPU */
		return EXEC(mov_EG), 0;
	case ZYDIS_MNEMONIC_MOVZX:
		i->osz2 = d->size[1];
		return EXEC(movzx), 0;
	case ZYDIS_MNEMONIC_MOVSX:
	case ZYDIS_MNEMONIC_MOVSXD:
		i->osz2 = d->size[1];
		return EXEC(movsx), 0;
	case ZYDIS_MNEMONIC_LEA:
		return EXEC(lea), 0;
	case ZYDIS_MNEMONIC_XCHG:
		if (d->kind[1] == K_FIXED) /* 90+r: xchg r, rAX */
			i->reg = d->fixed[1];
		return EXEC(xchg), 0;
	case ZYDIS_MNEMONIC_XADD:
		return EXEC(xadd), 0;
	case ZYDIS_MNEMONIC_CMPXCHG:
		return EXEC(cmpxchg), 0;
	case ZYDIS_MNEMONIC_CMPXCHG8B:
		i->osz = 8;
		return EXEC(cmpxchg8b), 0;
	case ZYDIS_MNEMONIC_CMPXCHG16B:
		i->osz = 8;
		return EXEC(cmpxchg16b), 0;
	case ZYDIS_MNEMONIC_CBW:
	case ZYDIS_MNEMONIC_CWDE:
	case ZYDIS_MNEMONIC_CDQE:
		return EXEC(cbw), 0;
	case ZYDIS_MNEMONIC_CWD:
	case ZYDIS_MNEMONIC_CDQ:
	case ZYDIS_MNEMONIC_CQO:
		return EXEC(cwd), 0;
	case ZYDIS_MNEMONIC_SETO:
	case ZYDIS_MNEMONIC_SETNO:
	case ZYDIS_MNEMONIC_SETB:
	case ZYDIS_MNEMONIC_SETNB:
	case ZYDIS_MNEMONIC_SETZ:
	case ZYDIS_MNEMONIC_SETNZ:
	case ZYDIS_MNEMONIC_SETBE:
	case ZYDIS_MNEMONIC_SETNBE:
	case ZYDIS_MNEMONIC_SETS:
	case ZYDIS_MNEMONIC_SETNS:
	case ZYDIS_MNEMONIC_SETP:
	case ZYDIS_MNEMONIC_SETNP:
	case ZYDIS_MNEMONIC_SETL:
	case ZYDIS_MNEMONIC_SETNL:
	case ZYDIS_MNEMONIC_SETLE:
	case ZYDIS_MNEMONIC_SETNLE:
		i->op = opc & 0xf; /* 0F 90+cc */
		return EXEC(setcc), 0;
	case ZYDIS_MNEMONIC_CMOVO:
	case ZYDIS_MNEMONIC_CMOVNO:
	case ZYDIS_MNEMONIC_CMOVB:
	case ZYDIS_MNEMONIC_CMOVNB:
	case ZYDIS_MNEMONIC_CMOVZ:
	case ZYDIS_MNEMONIC_CMOVNZ:
	case ZYDIS_MNEMONIC_CMOVBE:
	case ZYDIS_MNEMONIC_CMOVNBE:
	case ZYDIS_MNEMONIC_CMOVS:
	case ZYDIS_MNEMONIC_CMOVNS:
	case ZYDIS_MNEMONIC_CMOVP:
	case ZYDIS_MNEMONIC_CMOVNP:
	case ZYDIS_MNEMONIC_CMOVL:
	case ZYDIS_MNEMONIC_CMOVNL:
	case ZYDIS_MNEMONIC_CMOVLE:
	case ZYDIS_MNEMONIC_CMOVNLE:
		i->op = opc & 0xf; /* 0F 40+cc */
		return EXEC(cmovcc), 0;
	case ZYDIS_MNEMONIC_LAHF:
		return EXEC(lahf), 0;
	case ZYDIS_MNEMONIC_SAHF:
		return EXEC(sahf), 0;
	case ZYDIS_MNEMONIC_CMC:
		return EXEC(cmc), 0;
	case ZYDIS_MNEMONIC_CLC:
		return EXEC(clc), 0;
	case ZYDIS_MNEMONIC_STC:
		return EXEC(stc), 0;
	case ZYDIS_MNEMONIC_CLD:
		return EXEC(cld), 0;
	case ZYDIS_MNEMONIC_STD:
		return EXEC(std), 0;
	case ZYDIS_MNEMONIC_XLAT:
		i->seg = string_seg(zi);
		i->flags &= ~SOFT_I_MEM;
		return EXEC(xlat), 0;
	case ZYDIS_MNEMONIC_MOVBE:
		return (d->kind[0] == K_G ? EXEC(movbe_load) : EXEC(movbe_store)), 0;
	case ZYDIS_MNEMONIC_AAA:
		return EXEC(aaa), 0;
	case ZYDIS_MNEMONIC_AAS:
		return EXEC(aas), 0;
	case ZYDIS_MNEMONIC_DAA:
		return EXEC(daa), 0;
	case ZYDIS_MNEMONIC_DAS:
		return EXEC(das), 0;
	case ZYDIS_MNEMONIC_AAM:
		return EXEC(aam), 0;
	case ZYDIS_MNEMONIC_AAD:
		return EXEC(aad), 0;
	case ZYDIS_MNEMONIC_SALC:
		return EXEC(salc), 0;
	case ZYDIS_MNEMONIC_PUSH:
		return (d->kind[0] == K_I ? EXEC(push_I) : EXEC(push_E)), 0;
	case ZYDIS_MNEMONIC_POP:
		return EXEC(pop_E), 0;
	case ZYDIS_MNEMONIC_PUSHA:
	case ZYDIS_MNEMONIC_PUSHAD:
		return EXEC(pusha), 0;
	case ZYDIS_MNEMONIC_POPA:
	case ZYDIS_MNEMONIC_POPAD:
		return EXEC(popa), 0;
	case ZYDIS_MNEMONIC_ENTER:
		return EXEC(enter), 0;
	case ZYDIS_MNEMONIC_LEAVE:
		return EXEC(leave), 0;
	default:
		break;
	}
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT) {
		switch (m) {
		case ZYDIS_MNEMONIC_MOVSB:
		case ZYDIS_MNEMONIC_MOVSW:
		case ZYDIS_MNEMONIC_MOVSD:
		case ZYDIS_MNEMONIC_MOVSQ:
			string_prefixes(zi, i, false);
			return EXEC(movs), 0;
		case ZYDIS_MNEMONIC_CMPSB:
		case ZYDIS_MNEMONIC_CMPSW:
		case ZYDIS_MNEMONIC_CMPSD:
		case ZYDIS_MNEMONIC_CMPSQ:
			string_prefixes(zi, i, true);
			return EXEC(cmps), 0;
		case ZYDIS_MNEMONIC_STOSB:
		case ZYDIS_MNEMONIC_STOSW:
		case ZYDIS_MNEMONIC_STOSD:
		case ZYDIS_MNEMONIC_STOSQ:
			string_prefixes(zi, i, false);
			return EXEC(stos), 0;
		case ZYDIS_MNEMONIC_LODSB:
		case ZYDIS_MNEMONIC_LODSW:
		case ZYDIS_MNEMONIC_LODSD:
		case ZYDIS_MNEMONIC_LODSQ:
			string_prefixes(zi, i, false);
			return EXEC(lods), 0;
		case ZYDIS_MNEMONIC_SCASB:
		case ZYDIS_MNEMONIC_SCASW:
		case ZYDIS_MNEMONIC_SCASD:
		case ZYDIS_MNEMONIC_SCASQ:
			string_prefixes(zi, i, true);
			return EXEC(scas), 0;
		default:
			break;
		}
	}
	return -ENOENT;
}

/* Near control transfers; far ones belong to sys. */
static int pick_branch(const ZydisDecodedInstruction *zi, struct soft_insn *i, const struct dops *d)
{
	ZydisMnemonic m = zi->mnemonic;
	uint8_t opc = zi->opcode;

	i->flags |= SOFT_I_BRANCH;
	switch (m) {
	case ZYDIS_MNEMONIC_JMP:
		if (d->kind[0] == K_I)
			return EXEC(jmp), 0;
		return EXEC(jmp_E), 0;
	case ZYDIS_MNEMONIC_CALL:
		if (d->kind[0] == K_I)
			return EXEC(call), 0;
		return EXEC(call_E), 0;
	case ZYDIS_MNEMONIC_RET:
		if (d->kind[0] != K_I)
			i->imm = 0;
		return EXEC(ret), 0;
	case ZYDIS_MNEMONIC_LOOP:
		i->flags |= SOFT_I_COND;
		return EXEC(loop), 0;
	case ZYDIS_MNEMONIC_LOOPE:
		i->flags |= SOFT_I_COND;
		return EXEC(loope), 0;
	case ZYDIS_MNEMONIC_LOOPNE:
		i->flags |= SOFT_I_COND;
		return EXEC(loopne), 0;
	case ZYDIS_MNEMONIC_JCXZ:
	case ZYDIS_MNEMONIC_JECXZ:
	case ZYDIS_MNEMONIC_JRCXZ:
		i->flags |= SOFT_I_COND;
		return EXEC(jcxz), 0;
	case ZYDIS_MNEMONIC_JO:
	case ZYDIS_MNEMONIC_JNO:
	case ZYDIS_MNEMONIC_JB:
	case ZYDIS_MNEMONIC_JNB:
	case ZYDIS_MNEMONIC_JZ:
	case ZYDIS_MNEMONIC_JNZ:
	case ZYDIS_MNEMONIC_JBE:
	case ZYDIS_MNEMONIC_JNBE:
	case ZYDIS_MNEMONIC_JS:
	case ZYDIS_MNEMONIC_JNS:
	case ZYDIS_MNEMONIC_JP:
	case ZYDIS_MNEMONIC_JNP:
	case ZYDIS_MNEMONIC_JL:
	case ZYDIS_MNEMONIC_JNL:
	case ZYDIS_MNEMONIC_JLE:
	case ZYDIS_MNEMONIC_JNLE:
		i->flags |= SOFT_I_COND;
		i->op = opc & 0xf;
		return EXEC(jcc), 0;
	default:
		i->flags &= ~SOFT_I_BRANCH;
		return -ENOENT;
	}
}

static bool is_far(const ZydisDecodedInstruction *zi)
{
	uint8_t opc = zi->opcode, r = zi->raw.modrm.reg;

	if (zi->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT)
		return false;
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_JMP:
		return opc == 0xea || (opc == 0xff && r == 5);
	case ZYDIS_MNEMONIC_CALL:
		return opc == 0x9a || (opc == 0xff && r == 3);
	case ZYDIS_MNEMONIC_RET:
		return opc == 0xca || opc == 0xcb;
	default:
		return false;
	}
}

/* mov to/from CR, DR or a segment register (exec_sys.h): which side is the special one. */
static uint8_t sys_mov_op(const struct dops *d)
{
	bool to = d->cls[0] != RC_GPR;
	int cls = to ? d->cls[0] : d->cls[1];

	switch (cls) {
	case RC_CR:
		return to ? SOFT_SYS_MOV_TO_CR : SOFT_SYS_MOV_FROM_CR;
	case RC_DR:
		return to ? SOFT_SYS_MOV_TO_DR : SOFT_SYS_MOV_FROM_DR;
	default:
		return to ? SOFT_SYS_MOV_TO_SREG : SOFT_SYS_MOV_FROM_SREG;
	}
}

/* The r/m operand of a movd/movq is a general register. */
static bool rm_is_gpr(const struct soft_insn *i, const struct dops *d)
{
	for (unsigned k = 0; k < d->n; k++)
		if (d->kind[k] == K_E && !(i->flags & SOFT_I_MEM) && d->cls[k] == RC_GPR)
			return true;
	return false;
}

/* x87 (fpu.c, x87.c) and SSE/SSE2 (sse.c), legacy encodings only. */
static int pick_fpu(const ZydisDecodedInstruction *zi, struct soft_insn *i, const struct dops *d)
{
	ZydisMnemonic m = zi->mnemonic;
	int k;

	if (zi->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
		return -ENOENT;
	if (m == ZYDIS_MNEMONIC_FWAIT)
		return EXEC(fwait), 0;
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && zi->opcode >= 0xd8 &&
	    zi->opcode <= 0xdf) {
		unsigned modrm = (unsigned)zi->raw.modrm.mod << 6 | zi->raw.modrm.reg << 3 |
				 zi->raw.modrm.rm;

		i->op = (uint8_t)((zi->opcode & 7) << 3 | zi->raw.modrm.reg);
		i->imm2 = (uint16_t)((zi->opcode & 7) << 8 | modrm);
		if (!(i->flags & SOFT_I_MEM))
			i->rm = zi->raw.modrm.rm;
		i->reg = SOFT_NOREG;
		return EXEC(x87), 0;
	}
	switch (m) {
	case ZYDIS_MNEMONIC_FXSAVE:
	case ZYDIS_MNEMONIC_FXSAVE64:
		return EXEC(fxsave), 0;
	case ZYDIS_MNEMONIC_FXRSTOR:
	case ZYDIS_MNEMONIC_FXRSTOR64:
		return EXEC(fxrstor), 0;
	case ZYDIS_MNEMONIC_LDMXCSR:
		return EXEC(ldmxcsr), 0;
	case ZYDIS_MNEMONIC_STMXCSR:
		return EXEC(stmxcsr), 0;
	default:
		break;
	}
	switch (m) {
	case ZYDIS_MNEMONIC_CVTSS2SI:
	case ZYDIS_MNEMONIC_CVTTSS2SI:
	case ZYDIS_MNEMONIC_CVTSD2SI:
	case ZYDIS_MNEMONIC_CVTTSD2SI:
		/* a general register destination, the source may be memory: no XMM operand */
		i->osz = d->size[0];
		return EXEC(sse_cvt_to_int), 0;
	default:
		break;
	}
	if (!d->xmm)
		return -ENOENT;
	i->osz2 = d->msize;
	k = soft_sse_arith_index(m);
	if (k >= 0 && d->nimm == 0) {
		i->op = (uint8_t)k;
		return EXEC(sse_arith), 0;
	}
	switch (m) {
	case ZYDIS_MNEMONIC_CMPPS:
	case ZYDIS_MNEMONIC_CMPSS:
	case ZYDIS_MNEMONIC_CMPPD:
	case ZYDIS_MNEMONIC_CMPSD:
		return EXEC(sse_cmp), 0;
	case ZYDIS_MNEMONIC_COMISS:
	case ZYDIS_MNEMONIC_UCOMISS:
	case ZYDIS_MNEMONIC_COMISD:
	case ZYDIS_MNEMONIC_UCOMISD:
		return EXEC(sse_comis), 0;
	case ZYDIS_MNEMONIC_CVTSI2SS:
	case ZYDIS_MNEMONIC_CVTSI2SD:
		i->osz2 = d->size[1];
		return EXEC(sse_cvt_from_int), 0;
	case ZYDIS_MNEMONIC_MOVAPS:
	case ZYDIS_MNEMONIC_MOVAPD:
	case ZYDIS_MNEMONIC_MOVDQA:
	case ZYDIS_MNEMONIC_MOVNTPS:
	case ZYDIS_MNEMONIC_MOVNTPD:
	case ZYDIS_MNEMONIC_MOVNTDQ:
	case ZYDIS_MNEMONIC_MOVUPS:
	case ZYDIS_MNEMONIC_MOVUPD:
	case ZYDIS_MNEMONIC_MOVDQU:
	case ZYDIS_MNEMONIC_LDDQU:
	case ZYDIS_MNEMONIC_MOVSS:
	case ZYDIS_MNEMONIC_MOVSD:
	case ZYDIS_MNEMONIC_MOVD:
	case ZYDIS_MNEMONIC_MOVQ:
	case ZYDIS_MNEMONIC_MOVLPS:
	case ZYDIS_MNEMONIC_MOVLPD:
	case ZYDIS_MNEMONIC_MOVHPS:
	case ZYDIS_MNEMONIC_MOVHPD:
	case ZYDIS_MNEMONIC_MOVHLPS:
	case ZYDIS_MNEMONIC_MOVLHPS:
		i->op = (uint8_t)((d->kind[0] == K_E ? 1 : 0) | (rm_is_gpr(i, d) ? 2 : 0));
		return EXEC(sse_mov), 0;
	case ZYDIS_MNEMONIC_PSHUFD:
	case ZYDIS_MNEMONIC_PSHUFLW:
	case ZYDIS_MNEMONIC_PSHUFHW:
	case ZYDIS_MNEMONIC_SHUFPS:
	case ZYDIS_MNEMONIC_SHUFPD:
	case ZYDIS_MNEMONIC_PEXTRW:
	case ZYDIS_MNEMONIC_PINSRW:
	case ZYDIS_MNEMONIC_PMOVMSKB:
	case ZYDIS_MNEMONIC_MOVMSKPS:
	case ZYDIS_MNEMONIC_MOVMSKPD:
	case ZYDIS_MNEMONIC_PSLLDQ:
	case ZYDIS_MNEMONIC_PSRLDQ:
	case ZYDIS_MNEMONIC_PSLLW:
	case ZYDIS_MNEMONIC_PSLLD:
	case ZYDIS_MNEMONIC_PSLLQ:
	case ZYDIS_MNEMONIC_PSRLW:
	case ZYDIS_MNEMONIC_PSRLD:
	case ZYDIS_MNEMONIC_PSRLQ:
	case ZYDIS_MNEMONIC_PSRAW:
	case ZYDIS_MNEMONIC_PSRAD:
		i->osz = d->size[0];
		return EXEC(sse_imm), 0;
	default:
		return -ENOENT;
	}
}

/* MMX and the SSE/SSE2 forms on MMX registers (mmx.c; op: its table index). */
static int pick_mmx(const ZydisDecodedInstruction *zi, struct soft_insn *i, const struct dops *d)
{
	int k = soft_mmx_index(zi->mnemonic);

	if (k < 0 || zi->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY)
		return EXEC(ud), 0;
	i->op = (uint8_t)k;
	i->osz2 = d->msize;
	i->imm2 = (uint16_t)((d->kind[0] == K_E ? 1 : 0) | (rm_is_gpr(i, d) ? 2 : 0));
	if (zi->mnemonic == ZYDIS_MNEMONIC_MASKMOVQ)
		i->seg = string_seg(zi);
	return EXEC(mmx), 0;
}

static int pick(const ZydisDecodedInstruction *zi, struct soft_insn *i, const struct dops *d)
{
	ZydisMnemonic m = zi->mnemonic;
	int ret;

	if (is_sys_plain(m) || d->sysreg || m == ZYDIS_MNEMONIC_INSB || m == ZYDIS_MNEMONIC_OUTSB) {
		i->exec = soft_exec_system;
		i->flags |= SOFT_I_UNSAFE;
		if (keeps_chains(m))
			i->flags |= SOFT_I_KEEPS_CHAINS;
		switch (m) {
		case ZYDIS_MNEMONIC_IN:
		case ZYDIS_MNEMONIC_OUT:
			i->op = d->nimm ? SOFT_SYS_IO_IMM : SOFT_SYS_NONE;
			break;
		case ZYDIS_MNEMONIC_MOV:
			i->op = sys_mov_op(d);
			break;
		case ZYDIS_MNEMONIC_INSB:
		case ZYDIS_MNEMONIC_INSW:
		case ZYDIS_MNEMONIC_INSD:
		case ZYDIS_MNEMONIC_OUTSB:
		case ZYDIS_MNEMONIC_OUTSW:
		case ZYDIS_MNEMONIC_OUTSD:
			string_prefixes(zi, i, false);
			break;
		default:
			break;
		}
		return 0;
	}
	if (is_sys_branch(m) || is_far(zi)) {
		i->exec = soft_exec_system;
		i->flags |= SOFT_I_UNSAFE | SOFT_I_BRANCH;
		if (m == ZYDIS_MNEMONIC_INTO)
			i->flags |= SOFT_I_COND;
		return 0;
	}
	if (is_nop(m)) {
		i->exec = soft_op_nop;
		return 0;
	}
	if (m == ZYDIS_MNEMONIC_MFENCE) {
		i->exec = soft_op_mfence;
		return 0;
	}
	if (d->mmx || m == ZYDIS_MNEMONIC_EMMS || m == ZYDIS_MNEMONIC_CVTPI2PS ||
	    m == ZYDIS_MNEMONIC_CVTPI2PD)
		return pick_mmx(zi, i, d);
	if (d->other) {
		i->exec = soft_op_ud;
		return 0;
	}
	ret = pick_fpu(zi, i, d);
	if (ret != -ENOENT)
		return ret;
	if (d->xmm) {
		i->exec = soft_op_ud; /* an SSE instruction sse.c does not have */
		return 0;
	}
	ret = pick_branch(zi, i, d);
	if (ret != -ENOENT)
		return ret;
	ret = pick_general(zi, i, d);
	if (ret != -ENOENT)
		return ret;
	/* SSSE3 and later, AVX and the rest: not executed by the soft CPU. */
	i->exec = soft_op_ud;
	return 0;
}

int soft_decode(const uint8_t *buf, unsigned len, unsigned mode, uint64_t rip, struct soft_insn *i)
{
	const ZydisDecoder *dec = decoder_for(mode);
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	struct dops d;
	ZyanStatus st;

	if (!dec)
		return -EINVAL;
	st = ZydisDecoderDecodeFull(dec, buf, len < SOFT_INSN_MAX_LEN ? len : SOFT_INSN_MAX_LEN,
				    &zi, zo);
	if (!ZYAN_SUCCESS(st)) {
		if (st == ZYDIS_STATUS_NO_MORE_DATA)
			return len < SOFT_INSN_MAX_LEN ? -EAGAIN : -E2BIG;
		if (st == ZYDIS_STATUS_INSTRUCTION_TOO_LONG)
			return -E2BIG;
		return -EILSEQ;
	}

	memset(i, 0, sizeof(*i));
	memset(&d, 0, sizeof(d));
	i->reg = i->rm = i->base = i->index = i->vreg = SOFT_NOREG;
	i->len = zi.length;
	i->mnemonic = (uint16_t)zi.mnemonic;
	i->osz = (uint8_t)size_bytes(zi.operand_width, mode);
	i->asz = (uint8_t)size_bytes(zi.address_width, mode);
	i->seg = S_DS;
	if (zi.attributes & ZYDIS_ATTRIB_HAS_LOCK)
		i->flags |= SOFT_I_LOCK;
	if (zi.attributes & ZYDIS_ATTRIB_HAS_SEGMENT)
		i->flags |= SOFT_I_SEG_OVERRIDE;
	/* VEX-encoded GPR instructions take their size from VEX.W, not from 66/CS.D. */
	if ((zi.attributes & ZYDIS_ATTRIB_HAS_VEX) && zi.operand_count_visible)
		i->osz = (uint8_t)size_bytes(zo[0].size, i->osz);
	fill_operands(&zi, zo, rip, i, &d);
	return pick(&zi, i, &d);
}
