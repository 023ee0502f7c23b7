/* SPDX-License-Identifier: MIT */
/*
 * Guest bytes -> struct soft_insn (decode.c, Zydis 4). Called when a frame
 * is built (a cache miss), never per execution. The decoder picks each
 * instruction's handler here; see insn.h for the decoded form.
 */
#ifndef COVE_SOFT_DECODE_H
#define COVE_SOFT_DECODE_H

#include <stdint.h>

#include "insn.h"

#define SOFT_INSN_MAX_LEN 15

/*
 * Decodes the instruction in buf[0..len). len may be short at a page end.
 * mode: the CPU's code size (2, 4, or 8 = 64-bit). rip: the instruction's
 * address (direct branch targets are stored absolute in i->imm).
 * Returns 0; -EAGAIN if more bytes are needed; -EILSEQ for an invalid
 * encoding (the caller raises #UD); -E2BIG for an instruction longer than
 * 15 bytes (#GP(0), SDM Vol.2 §2.3.11); -EINVAL for a bad mode.
 *
 * Handlers: general instructions get their own; the system instructions of
 * the soft-CPU split (in/out, cli/sti, pushf/popf, hlt, descriptor tables,
 * CR/DR/MSR, cpuid, rdtsc, syscall/sysret/sysenter/sysexit, swapgs,
 * int/int3/into/int1/iret, far jmp/call/ret, segment loads and stores,
 * lar/lsl/verr/verw/arpl/bound, ud0/ud1/ud2, ...) get soft_exec_system with
 * SOFT_I_UNSAFE (and SOFT_I_BRANCH when they transfer control). Instructions
 * the soft CPU does not implement (SSSE3 and later, AVX, ...) get soft_op_ud.
 *
 * Fields for system instructions: reg holds the ModRM.reg register (a CR/DR
 * number, a segment register S_*, or a GPR); rm or the memory fields the r/m
 * operand; imm/imm2 the immediates or a far pointer (offset, selector);
 * in/out: osz is the data size and op = 1 when the port is in DX, 0 for imm8;
 * push/pop Sreg: reg = S_*; ins/outs: SOFT_I_REP for either F2 or F3.
 */
int soft_decode(const uint8_t *buf, unsigned len, unsigned mode, uint64_t rip,
		struct soft_insn *i);

#endif
