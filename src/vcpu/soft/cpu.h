/* SPDX-License-Identifier: MIT */
/*
 * The soft CPU's architectural state. One struct per vCPU; every part of the
 * soft accelerator works on it:
 *
 *   decode.c            guest bytes -> struct soft_insn (Zydis, on a cache miss only)
 *   exec_*.c            instruction semantics, one file per family
 *   flags.c             lazy arithmetic flags
 *   seg.c               segmentation and the lazily filled shadow descriptor table
 *   excp.c              exception and interrupt delivery
 *   mmu.c / tlb         paging and the translation cache (mem.h is its interface)
 *   frame.c             code frames, blocks and control-transfer stubs
 *   pattern.c           unsafe-instruction patterns emulated as units
 *   run.c               the execution loop (blocks, stubs, interrupts, halt)
 *   soft.c              the accel_ops glue: VM, memory slots, irqchip, threads
 *
 * Conventions every handler follows:
 * - c->rip is the address of the instruction being executed until it
 *   completes; handlers set c->next_rip for a control transfer, and run.c
 *   commits c->rip = c->next_rip afterwards.
 * - A fault is raised with soft_raise() (excp.h), which longjmps back to the
 *   loop: a handler must finish every access that can fault before it changes
 *   any architectural state, so that a fault leaves the instruction undone.
 */
#ifndef COVE_SOFT_CPU_H
#define COVE_SOFT_CPU_H

#include <linux/kvm.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "flags.h"
#include "fpu.h"
#include "mmu.h"
#include "seg.h"

struct soft_vm;
struct soft_frame;

/* General registers, in x86 encoding order. */
enum {
	R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI,
	R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15,
};
/* Decoded register numbers 16..19 are AH, CH, DH, BH (legacy 8-bit, no REX). */
#define SOFT_REG_AH 16
#define SOFT_NOREG  0xff

/* Segment registers in x86 encoding order, then the system segments. */
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_LDTR, S_TR, S_NSEG };

/* RFLAGS bits. */
#define X86_CF	 (1ull << 0)
#define X86_PF	 (1ull << 2)
#define X86_AF	 (1ull << 4)
#define X86_ZF	 (1ull << 6)
#define X86_SF	 (1ull << 7)
#define X86_TF	 (1ull << 8)
#define X86_IF	 (1ull << 9)
#define X86_DF	 (1ull << 10)
#define X86_OF	 (1ull << 11)
#define X86_IOPL (3ull << 12)
#define X86_NT	 (1ull << 14)
#define X86_RF	 (1ull << 16)
#define X86_VM	 (1ull << 17)
#define X86_AC	 (1ull << 18)
#define X86_VIF	 (1ull << 19)
#define X86_VIP	 (1ull << 20)
#define X86_ID	 (1ull << 21)
#define X86_ARITH_FLAGS (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)

/* Control register and EFER bits the soft CPU acts on. */
#define X86_CR0_PE (1ull << 0)
#define X86_CR0_MP (1ull << 1)
#define X86_CR0_EM (1ull << 2)
#define X86_CR0_TS (1ull << 3)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_NE (1ull << 5)
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_AM (1ull << 18)
#define X86_CR0_NW (1ull << 29)
#define X86_CR0_CD (1ull << 30)
#define X86_CR0_PG (1ull << 31)
#define X86_CR4_VME	   (1ull << 0)
#define X86_CR4_PVI	   (1ull << 1)
#define X86_CR4_TSD	   (1ull << 2)
#define X86_CR4_DE	   (1ull << 3)
#define X86_CR4_PSE	   (1ull << 4)
#define X86_CR4_PAE	   (1ull << 5)
#define X86_CR4_MCE	   (1ull << 6)
#define X86_CR4_PGE	   (1ull << 7)
#define X86_CR4_PCE	   (1ull << 8)
#define X86_CR4_OSFXSR	   (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_CR4_FSGSBASE   (1ull << 16)
#define X86_EFER_SCE (1ull << 0)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)

/* Exception vectors. */
enum {
	X86_EXC_DE = 0, X86_EXC_DB = 1, X86_EXC_NMI = 2, X86_EXC_BP = 3, X86_EXC_OF = 4, X86_EXC_BR = 5, X86_EXC_UD = 6,
	X86_EXC_NM = 7, X86_EXC_DF = 8, X86_EXC_TS = 10, X86_EXC_NP = 11, X86_EXC_SS = 12, X86_EXC_GP = 13, X86_EXC_PF = 14,
	X86_EXC_MF = 16, X86_EXC_AC = 17, X86_EXC_MC = 18, X86_EXC_XM = 19,
};

/* MSRs the soft CPU keeps (msr.c). */
struct soft_msrs {
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t pat, tsc_aux, misc_enable, mtrr_def_type;
	uint64_t mtrr_fixed[11], mtrr_var[16]; /* base/mask pairs */
	uint64_t tsc_offset;		       /* guest TSC = soft_tsc(c) + offset */
};

/* Why run.c must look before the next block (bits in soft_cpu.events). */
enum {
	SOFT_EV_KICK = 1u << 0,	 /* vcpu_kick: return to the VMM */
	SOFT_EV_IRQ = 1u << 1,	 /* the irqchip may have an interrupt for us */
	SOFT_EV_FLUSH = 1u << 2, /* frames or translations went stale */
};

struct soft_cpu {
	/* --- architectural state --- */
	uint64_t gpr[16];
	uint64_t rip;
	uint64_t next_rip;
	uint64_t rflags;	     /* all bits; arithmetic ones may be stale, see lf */
	struct soft_lazy_flags lf;   /* flags.h: owner of the arithmetic flags */
	struct kvm_segment seg[S_NSEG];
	struct kvm_dtable gdtr, idtr;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t dr[8];
	bool dbg_data;		     /* DR7 enables a data breakpoint: mmu.c checks accesses */
	uint64_t efer;
	struct soft_msrs msr;
	struct soft_fpu fpu;	     /* fpu.h: x87/SSE state, an FXSAVE image */
	struct kvm_cpuid2 *cpuid;    /* set_cpuid; NULL until the VMM sets one */

	/* --- derived mode, recomputed by soft_mode_changed() (seg.c) --- */
	uint8_t cpl;
	uint8_t code64;	     /* long mode with CS.L = 1 */
	uint8_t csize;	     /* default operand/address size of CS: 2, 4 or 8 */
	uint8_t ssize;	     /* stack pointer size from SS.B (or 8 in 64-bit mode) */

	/* --- interrupt state --- */
	uint8_t intr_shadow; /* after sti / mov ss / pop ss: no interrupt for one instruction */
	uint8_t halted;
	uint8_t nmi_blocked; /* between NMI delivery and iret */
	int8_t exc_depth;    /* nested exception delivery, for #DF and triple fault */

	/* --- execution --- */
	jmp_buf fault_jmp;	/* soft_raise() lands here (run.c) */
	uint64_t icount;	/* instructions retired */
	_Atomic uint32_t events; /* SOFT_EV_* */
	unsigned index;		/* vCPU number */
	struct soft_vm *vm;
	struct soft_seg_state segs; /* seg.h: shadow descriptor table */
	struct soft_mmu_state mmu;  /* mmu.h: translation cache */
	struct soft_frame *cur_frame; /* frame.c: the frame being executed, for invalidation */
	bool smc;		    /* the current block's page was written: leave the block */
};

/* Read/write a register with x86 width semantics: 8/16-bit writes merge,
 * 32-bit writes zero the upper half, reg 16..19 are AH..BH. */
static inline uint64_t soft_reg_read(const struct soft_cpu *c, unsigned reg, unsigned size)
{
	if (reg >= SOFT_REG_AH)
		return (c->gpr[reg - SOFT_REG_AH] >> 8) & 0xff;
	switch (size) {
	case 1:
		return c->gpr[reg] & 0xff;
	case 2:
		return c->gpr[reg] & 0xffff;
	case 4:
		return c->gpr[reg] & 0xffffffff;
	default:
		return c->gpr[reg];
	}
}

static inline void soft_reg_write(struct soft_cpu *c, unsigned reg, unsigned size, uint64_t v)
{
	if (reg >= SOFT_REG_AH) {
		uint64_t *r = &c->gpr[reg - SOFT_REG_AH];
		*r = (*r & ~0xff00ull) | ((v & 0xff) << 8);
		return;
	}
	switch (size) {
	case 1:
		c->gpr[reg] = (c->gpr[reg] & ~0xffull) | (v & 0xff);
		break;
	case 2:
		c->gpr[reg] = (c->gpr[reg] & ~0xffffull) | (v & 0xffff);
		break;
	case 4:
		c->gpr[reg] = v & 0xffffffff;
		break;
	default:
		c->gpr[reg] = v;
	}
}

static inline uint64_t soft_size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline bool soft_long_mode(const struct soft_cpu *c)
{
	return c->efer & X86_EFER_LMA;
}

static inline bool soft_protected(const struct soft_cpu *c)
{
	return c->cr0 & X86_CR0_PE;
}

#endif
