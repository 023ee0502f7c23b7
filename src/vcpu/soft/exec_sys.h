/* SPDX-License-Identifier: MIT */
/*
 * System instructions (the "sys" part: exec_sys.c and neighbours). The decoder
 * gives every instruction listed in the soft CPU brief exec = soft_exec_system
 * and sets SOFT_I_UNSAFE (plus SOFT_I_BRANCH when it transfers control); the
 * handler switches on i->mnemonic (a ZydisMnemonic).
 *
 * Operand conventions the decoder follows for these instructions (fields of
 * struct soft_insn, insn.h):
 *
 *   mov cr/dr/sreg     ZYDIS_MNEMONIC_MOV is shared by all forms, so i->op says
 *                      which one (enum soft_sys_op). reg = CR/DR number (with
 *                      REX.R: CR8) or the S_* segment register (ModRM.reg, 0..7;
 *                      6/7 raise #UD here); rm = the general register, or the
 *                      memory fields with SOFT_I_MEM for mov sreg forms.
 *   in/out             op = SOFT_SYS_IO_IMM with the port in imm, else the port is
 *                      DX; osz = 1, 2 or 4 (the AL/AX/EAX size).
 *   ins/outs           osz = element size, asz, seg (outs source: default DS or
 *                      the override), SOFT_I_REP for the F3 prefix.
 *   push/pop sreg      ZYDIS_MNEMONIC_PUSH/POP reach soft_exec_system only for
 *                      segment registers: reg = S_*; osz = the stack slot size.
 *   jmp/call far       ZYDIS_MNEMONIC_JMP/CALL reach it only in their far forms.
 *                      Direct (ptr16:16/32, no SOFT_I_MEM): imm = offset,
 *                      imm2 = selector. Indirect (m16:16/32/64, SOFT_I_MEM):
 *                      the offset (osz bytes) then the selector in memory.
 *   ret far            ZYDIS_MNEMONIC_RET, imm = bytes to release (0 without).
 *   int n              imm = vector.
 *   lgdt/lidt/sgdt/    memory operand; osz as decoded (the 16-bit form keeps a
 *   sidt               24-bit base on lgdt/lidt; 64-bit mode always 8-byte base).
 *   lldt/ltr/verr/     r/m16 source (rm or memory fields).
 *   verw/lmsw
 *   sldt/str/smsw      r/m destination: memory stores 16 bits, a register gets osz.
 *   lar/lsl            reg = destination (osz), r/m16 = selector.
 *   lds/les/lfs/       reg = destination, memory = offset (osz bytes) then selector.
 *   lgs/lss
 *   arpl               r/m16 destination, reg = source (not in 64-bit mode, where
 *                      0x63 is movsxd and belongs to insn).
 *   bound              reg = index register, memory = the bounds pair (osz each).
 *   invlpg             memory operand (its linear address is flushed).
 *   pushf/popf/        osz = operand size (2, 4 or 8).
 *   iret/sysret/
 *   sysexit
 *
 * Faults follow cpu.h: every check and guest access that can fault happens
 * before architectural state changes.
 */
#ifndef COVE_SOFT_EXEC_SYS_H
#define COVE_SOFT_EXEC_SYS_H

#include <stdbool.h>
#include <stdint.h>

struct soft_cpu;
struct soft_insn;

/* soft_insn.op for the system instructions whose mnemonic alone is ambiguous. */
enum soft_sys_op {
	SOFT_SYS_NONE = 0,
	SOFT_SYS_MOV_TO_CR,    /* mov crN, r */
	SOFT_SYS_MOV_FROM_CR,  /* mov r, crN */
	SOFT_SYS_MOV_TO_DR,    /* mov drN, r */
	SOFT_SYS_MOV_FROM_DR,  /* mov r, drN */
	SOFT_SYS_MOV_TO_SREG,  /* mov sreg, r/m16 */
	SOFT_SYS_MOV_FROM_SREG, /* mov r/m, sreg */
	SOFT_SYS_IO_IMM,       /* in/out with an imm8 port (otherwise DX) */
};

void soft_exec_system(struct soft_cpu *c, const struct soft_insn *i);

/*
 * The MSRs the soft CPU implements (msr.c), for rdmsr/wrmsr and for the VMM's
 * get_msrs/set_msrs. false: not implemented, or a value the guest would get
 * #GP(0) for. host = true is a VMM write (set_msrs, snapshot restore): it may
 * set EFER.LMA, which a guest write only keeps.
 */
bool soft_msr_get(struct soft_cpu *c, uint32_t idx, uint64_t *v);
bool soft_msr_set(struct soft_cpu *c, uint32_t idx, uint64_t v, bool host);

/*
 * Power-on values of the state the sys part keeps (SDM Vol.3 §10.1.1,
 * Table 10-1): PAT, MISC_ENABLE, MTRRs, DR6/DR7, the shadow descriptor table
 * and the exception bookkeeping. Registers, segments and CRs are the VMM's
 * (set_regs/set_sregs).
 */
void soft_sys_reset(struct soft_cpu *c);

/*
 * Data breakpoints (dbreg.c). soft_dbg_update() recomputes c->dbg_data after a
 * DR7 change; soft_dbg_data() sets DR6.Bn for each enabled data breakpoint an
 * access of size bytes at linear la matches (reads match R/W = 11 only).
 */
void soft_dbg_update(struct soft_cpu *c);
void soft_dbg_data(struct soft_cpu *c, uint64_t la, unsigned size, bool write);

#endif
