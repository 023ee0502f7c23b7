/* SPDX-License-Identifier: MIT */
/*
 * Private to the insn part of the soft CPU (decode.c, operand.c, exec_*.c):
 * helpers shared by the instruction handlers and the handlers the decoder
 * assigns. Nothing outside src/vcpu/soft/ includes this; other soft parts use
 * insn.h and flags.h.
 */
#ifndef COVE_SOFT_EXEC_H
#define COVE_SOFT_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "excp.h"
#include "flags.h"
#include "fpu.h"
#include "insn.h"
#include "mem.h"

#define SOFT_OP(name) void soft_op_##name(struct soft_cpu *c, const struct soft_insn *i)

/* ALU sub-operations (soft_insn.op for the 80/81/83 group and friends), in ModRM.reg order. */
enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP, ALU_TEST };
/* Shift group 2 sub-operations, in ModRM.reg order (6 is SAL, an alias of SHL). */
enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

static inline uint64_t sext(uint64_t v, unsigned size)
{
	unsigned sh = 64 - size * 8;

	return (uint64_t)((int64_t)(v << sh) >> sh);
}

static inline uint64_t sign_bit(unsigned size)
{
	return 1ull << (size * 8 - 1);
}

static inline void lf_record(struct soft_cpu *c, unsigned op, unsigned size, uint64_t a,
			     uint64_t b, uint64_t r)
{
	c->lf.op = op;
	c->lf.size = size;
	c->lf.src1 = a;
	c->lf.src2 = b;
	c->lf.res = r;
}

/* SF/ZF/PF from r, CF/OF/AF given explicitly. */
static inline void lf_result(struct soft_cpu *c, unsigned size, uint64_t r, uint64_t cf_of_af)
{
	lf_record(c, SOFT_LF_RES, size, 0, cf_of_af, r);
}

static inline uint64_t ea_of(struct soft_cpu *c, const struct soft_insn *i)
{
	uint64_t ea = (uint64_t)(int64_t)i->disp;

	if (i->base != SOFT_NOREG)
		ea += c->gpr[i->base];
	if (i->index != SOFT_NOREG)
		ea += c->gpr[i->index] << i->scale;
	if (i->flags & SOFT_I_RIPREL)
		ea += c->rip + i->len;
	return ea & soft_size_mask(i->asz);
}

static inline bool is_mem(const struct soft_insn *i)
{
	return i->flags & SOFT_I_MEM;
}

/* Reads the r/m operand; for memory, *ea receives the effective address. */
static inline uint64_t rm_load(struct soft_cpu *c, const struct soft_insn *i, unsigned size,
			       uint64_t *ea)
{
	if (!is_mem(i))
		return soft_reg_read(c, i->rm, size);
	*ea = ea_of(c, i);
	return soft_mem_read(c, i->seg, *ea, size);
}

/* Like rm_load, for an operand that will be written back. */
static inline uint64_t rm_load_rmw(struct soft_cpu *c, const struct soft_insn *i, unsigned size,
				   uint64_t *ea)
{
	if (!is_mem(i))
		return soft_reg_read(c, i->rm, size);
	*ea = ea_of(c, i);
	return soft_mem_read_rmw(c, i->seg, *ea, size);
}

static inline void rm_store(struct soft_cpu *c, const struct soft_insn *i, unsigned size,
			    uint64_t ea, uint64_t v)
{
	if (!is_mem(i))
		soft_reg_write(c, i->rm, size, v);
	else
		soft_mem_write(c, i->seg, ea, size, v);
}

/* Near branch target: truncated to the operand size, checked against CS (SDM Vol.2 JMP). */
void soft_branch(struct soft_cpu *c, unsigned osz, uint64_t target);

/* Handlers, by file. E: ModRM r/m, G: ModRM reg, I: immediate (SDM Vol.2 Appendix A.2). */
/* exec_alu.c */
#define ALU_FORMS(n) SOFT_OP(n##_EG); SOFT_OP(n##_GE); SOFT_OP(n##_EI)
ALU_FORMS(add);
ALU_FORMS(or);
ALU_FORMS(adc);
ALU_FORMS(sbb);
ALU_FORMS(and);
ALU_FORMS(sub);
ALU_FORMS(xor);
ALU_FORMS(cmp);
#undef ALU_FORMS
SOFT_OP(test_EG);
SOFT_OP(test_EI);
SOFT_OP(inc);
SOFT_OP(dec);
SOFT_OP(neg);
SOFT_OP(not );
SOFT_OP(mul);
SOFT_OP(imul1);
SOFT_OP(imul_GE);
SOFT_OP(imul_GEI);
SOFT_OP(div);
SOFT_OP(idiv);
SOFT_OP(adcx);
SOFT_OP(adox);
/* exec_shift.c */
SOFT_OP(shift_EI);
SOFT_OP(shift_ECL);
SOFT_OP(shld_EGI);
SOFT_OP(shld_EGCL);
SOFT_OP(shrd_EGI);
SOFT_OP(shrd_EGCL);
/* exec_bit.c */
SOFT_OP(bt_EG);
SOFT_OP(bt_EI);
SOFT_OP(bsf);
SOFT_OP(bsr);
SOFT_OP(tzcnt);
SOFT_OP(lzcnt);
SOFT_OP(popcnt);
SOFT_OP(bswap);
SOFT_OP(andn);
SOFT_OP(bextr);
SOFT_OP(blsi);
SOFT_OP(blsmsk);
SOFT_OP(blsr);
SOFT_OP(bzhi);
SOFT_OP(mulx);
SOFT_OP(pdep);
SOFT_OP(pext);
SOFT_OP(rorx);
SOFT_OP(sarx);
SOFT_OP(shlx);
SOFT_OP(shrx);
/* exec_data.c */
SOFT_OP(mov_EG);
SOFT_OP(mov_GE);
SOFT_OP(mov_EI);
SOFT_OP(mov_load_moffs);
SOFT_OP(mov_store_moffs);
SOFT_OP(movzx);
SOFT_OP(movsx);
SOFT_OP(lea);
SOFT_OP(xchg);
SOFT_OP(xadd);
SOFT_OP(cmpxchg);
SOFT_OP(cmpxchg8b);
SOFT_OP(cmpxchg16b);
SOFT_OP(setcc);
SOFT_OP(cmovcc);
SOFT_OP(cbw);
SOFT_OP(cwd);
SOFT_OP(lahf);
SOFT_OP(sahf);
SOFT_OP(cmc);
SOFT_OP(clc);
SOFT_OP(stc);
SOFT_OP(cld);
SOFT_OP(std);
SOFT_OP(xlat);
SOFT_OP(movbe_load);
SOFT_OP(movbe_store);
SOFT_OP(nop);
SOFT_OP(mfence);
/* exec_bcd.c */
SOFT_OP(aaa);
SOFT_OP(aas);
SOFT_OP(daa);
SOFT_OP(das);
SOFT_OP(aam);
SOFT_OP(aad);
SOFT_OP(salc);
/* exec_stack.c */
SOFT_OP(push_E);
SOFT_OP(push_I);
SOFT_OP(pop_E);
SOFT_OP(pusha);
SOFT_OP(popa);
SOFT_OP(enter);
SOFT_OP(leave);
/* exec_string.c */
SOFT_OP(movs);
SOFT_OP(cmps);
SOFT_OP(stos);
SOFT_OP(lods);
SOFT_OP(scas);
/* exec_ctrl.c */
SOFT_OP(jmp);
SOFT_OP(jmp_E);
SOFT_OP(jcc);
SOFT_OP(call);
SOFT_OP(call_E);
SOFT_OP(ret);
SOFT_OP(loop);
SOFT_OP(loope);
SOFT_OP(loopne);
SOFT_OP(jcxz);
/* fpu.c */
SOFT_OP(fwait);
SOFT_OP(fxsave);
SOFT_OP(fxrstor);
SOFT_OP(ldmxcsr);
SOFT_OP(stmxcsr);
/* x87.c: every D8-DF escape; op = (opcode & 7) << 3 | ModRM.reg, imm2 = the FOP */
SOFT_OP(x87);
/* sse.c */
int soft_sse_arith_index(unsigned mnemonic); /* op of sse_arith, or -1 */
SOFT_OP(sse_arith);
SOFT_OP(sse_cmp);
SOFT_OP(sse_comis);
SOFT_OP(sse_cvt_from_int);
SOFT_OP(sse_cvt_to_int);
SOFT_OP(sse_mov);
SOFT_OP(sse_imm);
void soft_sse_run_arith(struct soft_cpu *c, unsigned mnemonic, uint8_t *d, const uint8_t *s);
/* mmx.c: op is the index soft_mmx_index gives (or -1) */
int soft_mmx_index(unsigned mnemonic);
SOFT_OP(mmx);

#endif
