/* SPDX-License-Identifier: MIT */
/*
 * x87 and SSE state of the soft CPU and the parts of the insn library that
 * execute it: fpu.c (the state, its checks and the save/restore
 * instructions), x87.c (x87 arithmetic), sse.c (SSE/SSE2).
 *
 * The state's home is an FXSAVE image (SDM Vol.1 §10.5.1, Table 10-2), so
 * fxsave/fxrstor, get_fpu/set_fpu (struct kvm_fpu) and snapshots are copies.
 * The registers are kept as FXSAVE keeps them, ST(0)..ST(7) relative to TOP;
 * the abridged tag byte is per physical register (R0..R7).
 *
 * Arithmetic runs on the host's x87 and SSE units with the guest's control
 * word / MXCSR (rounding, precision, DAZ/FTZ), exceptions masked on the host:
 * the host is the reference hardware for the IEEE results and flags, and the
 * guest's unmasked-exception responses are applied here.
 */
#ifndef COVE_SOFT_FPU_H
#define COVE_SOFT_FPU_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

struct soft_cpu;

/* One x87 register as memory and FXSAVE hold it: significand, sign|exponent, 6 spare bytes. */
struct soft_f80 {
	uint64_t mant;
	uint16_t sexp;
	uint16_t rsvd[3];
};

struct soft_fxsave {
	uint16_t fcw, fsw;
	uint8_t ftw; /* abridged: bit n set = physical register n is not empty */
	uint8_t rsvd1;
	uint16_t fop;
	uint64_t fip, fdp; /* the 64-bit layout; fcs/fds below for the 32-bit ones */
	uint32_t mxcsr, mxcsr_mask;
	struct soft_f80 st[8];
	uint8_t xmm[16][16];
	uint8_t rsvd2[96];
};

_Static_assert(sizeof(struct soft_fxsave) == 512, "the FXSAVE image is 512 bytes");

struct soft_fpu {
	struct soft_fxsave fx __attribute__((aligned(16)));
	uint16_t fcs, fds; /* selectors of the last x87 instruction and operand */
};

/* x87 status word (SDM Vol.1 §8.1.3). */
#define FSW_IE	0x0001u
#define FSW_DE	0x0002u
#define FSW_ZE	0x0004u
#define FSW_OE	0x0008u
#define FSW_UE	0x0010u
#define FSW_PE	0x0020u
#define FSW_SF	0x0040u
#define FSW_ES	0x0080u
#define FSW_C0	0x0100u
#define FSW_C1	0x0200u
#define FSW_C2	0x0400u
#define FSW_TOP 0x3800u
#define FSW_C3	0x4000u
#define FSW_B	0x8000u
#define FSW_EXC 0x003fu /* IE..PE, the same bits as the masks in FCW and MXCSR >> 7 */

#define SOFT_MXCSR_MASK	 0xffffu /* FZ, the masks, DAZ, the flags */
#define SOFT_MXCSR_RESET 0x1f80u

/* Power-on / reset state: FCW 0x37f, empty stack, MXCSR 0x1f80 (what KVM's reset gives too). */
void soft_fpu_reset(struct soft_fpu *f);
/* struct kvm_fpu (get_fpu/set_fpu); MXCSR's reserved bits are dropped on the way in. */
void soft_fpu_get_kvm(const struct soft_fpu *f, struct kvm_fpu *k);
void soft_fpu_set_kvm(struct soft_fpu *f, const struct kvm_fpu *k);

/*
 * The checks before an x87 / SSE instruction (SDM Vol.3 §2.5 CR0.EM/TS/MP,
 * §13.1.3 CR4.OSFXSR, Vol.1 §8.6 pending x87 exceptions): raise #NM, #UD or
 * #MF. wait: the instruction checks for a pending unmasked x87 exception.
 */
void soft_x87_enter(struct soft_cpu *c, bool wait);
void soft_sse_enter(struct soft_cpu *c);

/* ES and B follow the unmasked exception flags (after a flag or mask change). */
void soft_x87_update_es(struct soft_fpu *f);

/* Within the insn part: helpers fpu.c, x87.c and sse.c share (exec.h has the handlers). */
struct soft_insn;
/* fninit: FCW 0x37f, FSW 0, every register empty, pointers 0 (SDM Vol.2 FINIT). */
void soft_x87_init(struct soft_fpu *f);
/* Moves TOP, the physical registers keeping their contents (fninit, fldenv). */
void soft_x87_set_top(struct soft_fpu *f, unsigned top);
void soft_x87_fnstenv(struct soft_cpu *c, const struct soft_insn *i);
void soft_x87_fldenv(struct soft_cpu *c, const struct soft_insn *i);
void soft_x87_fnsave(struct soft_cpu *c, const struct soft_insn *i);
void soft_x87_frstor(struct soft_cpu *c, const struct soft_insn *i);
/* #GP(0) unless the memory operand's linear address is 16-byte aligned. */
void soft_fpu_check_align16(struct soft_cpu *c, const struct soft_insn *i, uint64_t ea);

#endif
