/* SPDX-License-Identifier: MIT */
/*
 * Private to the sys part of the soft CPU (seg.c, excp.c, exec_*.c of the
 * system instructions, msr.c): descriptors, the shadow lookups, stacks on an
 * arbitrary SS, and the handlers soft_exec_system() dispatches to. Nothing
 * outside the sys part includes this.
 */
#ifndef COVE_SOFT_SYS_PRIV_H
#define COVE_SOFT_SYS_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "excp.h"
#include "exec_sys.h"
#include "flags.h"
#include "insn.h"
#include "mem.h"
#include "platform.h"
#include "seg.h"

#define SYS_HANDLER(name) void soft_sys_##name(struct soft_cpu *c, const struct soft_insn *i)

/* Descriptor fields (SDM Vol.3 §3.4.5, Figure 3-8; gates Figure 5-8, 6-2, 6-8). */
#define DESC_TYPE(raw)	 ((unsigned)((raw) >> 40) & 0xf)
#define DESC_S(raw)	 ((unsigned)((raw) >> 44) & 1)
#define DESC_DPL(raw)	 ((unsigned)((raw) >> 45) & 3)
#define DESC_P(raw)	 ((unsigned)((raw) >> 47) & 1)
#define DESC_A_BIT	 (1ull << 40)
#define DESC_BUSY_BIT	 (1ull << 41)
#define GATE_SEL(raw)	 ((uint16_t)((raw) >> 16))
#define GATE_OFF(raw)	 ((uint32_t)(((raw) & 0xffff) | (((raw) >> 32) & 0xffff0000)))
#define GATE_PARAMS(raw) ((unsigned)((raw) >> 32) & 0x1f)
#define GATE_IST(raw)	 ((unsigned)((raw) >> 32) & 7)

/* Segment types (S = 1: bit 3 code, bit 2 E/C, bit 1 W/R, bit 0 accessed). */
#define SEG_CODE	 8u
#define SEG_CONFORMING	 4u
#define SEG_READABLE	 2u
#define SEG_EXPAND_DOWN	 4u
#define SEG_WRITABLE	 2u
/* System types (S = 0). */
enum {
	SYS_TSS16_AVAIL = 1, SYS_LDT = 2, SYS_TSS16_BUSY = 3, SYS_CALL16 = 4, SYS_TASK = 5,
	SYS_INT16 = 6, SYS_TRAP16 = 7, SYS_TSS_AVAIL = 9, SYS_TSS_BUSY = 11, SYS_CALL = 12,
	SYS_INT = 14, SYS_TRAP = 15,
};

/* One guest descriptor: raw bytes and, for segments, their translation. */
struct soft_desc {
	uint64_t raw;	 /* bytes 0..7 */
	uint64_t raw_hi; /* bytes 8..15 of a 16-byte long-mode system descriptor, else 0 */
	struct kvm_segment seg; /* base (with raw_hi's), scaled limit, attributes; selector 0 */
};

enum soft_desc_status {
	SOFT_DESC_OK,
	SOFT_DESC_NULL, /* index 0 of the GDT */
	SOFT_DESC_BAD,	/* beyond the table limit, or TI = 1 with no usable LDT */
};

/* seg.c */
/* Reads (through the shadow) the descriptor sel names; 16 bytes for long-mode system ones. */
enum soft_desc_status soft_desc_read(struct soft_cpu *c, uint16_t sel, struct soft_desc *d);
/* Sets bits in the descriptor's type byte in guest memory (accessed, busy), keeping the shadow. */
void soft_desc_set_type_bits(struct soft_cpu *c, uint16_t sel, struct soft_desc *d, uint64_t bits);
/* Translation of raw descriptor bytes (also used for gates' targets and tests). */
void soft_desc_translate(uint64_t raw, uint64_t raw_hi, bool wide, struct kvm_segment *s);
/* Marks a segment register null (unusable) with selector sel (SDM: Intel clears the base). */
void soft_seg_set_null(struct kvm_segment *s, uint16_t sel);
/* Real-mode load: base = sel << 4, limit and attributes kept ("unreal" mode works). */
void soft_seg_load_real(struct soft_cpu *c, int sreg, uint16_t sel);
/* Loads CS from a checked descriptor with RPL = cpl; the caller calls soft_mode_changed(). */
void soft_seg_load_cs(struct soft_cpu *c, uint16_t sel, const struct soft_desc *d, unsigned cpl);
/* Checks a new SS for privilege level cpl (iret, far ret, call gates, int); fault vector/ext given. */
void soft_seg_check_ss(struct soft_cpu *c, uint16_t sel, unsigned cpl, struct soft_desc *d,
		       int vec_bad, uint32_t ext);
/* After a return to an outer level: null DS/ES/FS/GS the new CPL may not use (SDM RET/IRET). */
void soft_seg_drop_inner(struct soft_cpu *c, unsigned new_cpl);
/* invlpg of la: drops a shadow table whose pages la hits. */
void soft_seg_invlpg(struct soft_cpu *c, uint64_t la);

static inline bool soft_canonical(uint64_t la)
{
	/* 48-bit linear addresses (CPUID.80000008H:EAX[15:8] = 48; no LA57). */
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

static inline uint16_t soft_sel_rpl(uint16_t sel)
{
	return sel & 3;
}

/*
 * A stack on an arbitrary SS (the current one, or a new one during a
 * privilege change), for pushes and pops that must not touch rSP until the
 * instruction completes.
 */
struct soft_stack {
	struct kvm_segment ss; /* limits and base to apply (ignored when size == 8) */
	uint64_t sp;	       /* stack pointer, kept to the stack address size */
	unsigned size;	       /* stack address size: 2, 4 or 8 */
	unsigned acc;	       /* SOFT_ACC_IMPLICIT for a more privileged stack, else 0 */
	int vec;	       /* fault for limit/canonical violations (X86_EXC_SS) */
	uint32_t err;	       /* its error code */
	bool cur;	       /* the current SS: accesses go through soft_mem_* (all checks) */
};

/* The current stack (SS, rSP, c->ssize). */
void soft_stack_current(struct soft_cpu *c, struct soft_stack *st);
void soft_stack_push(struct soft_cpu *c, struct soft_stack *st, unsigned size, uint64_t v);
uint64_t soft_stack_pop(struct soft_cpu *c, struct soft_stack *st, unsigned size);
/* Writes rSP back with the stack's size (a 16-bit stack changes SP only). */
void soft_stack_commit_sp(struct soft_cpu *c, const struct soft_stack *st);

/* The memory operand's effective address (SDM Vol.1 §3.7.5), wrapped to the address size. */
static inline uint64_t soft_sys_ea(const struct soft_cpu *c, const struct soft_insn *i)
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

/* r/m operand of a system instruction: a register (size bytes) or memory at i->seg. */
static inline uint64_t soft_sys_rm_read(struct soft_cpu *c, const struct soft_insn *i,
					unsigned size)
{
	if (!(i->flags & SOFT_I_MEM))
		return soft_reg_read(c, i->rm, size);
	return soft_mem_read(c, i->seg, soft_sys_ea(c, i), size);
}

/* excp.c */
/* Error code for a selector-related fault during delivery: index|TI plus EXT. */
static inline uint32_t soft_sel_err(uint16_t sel, uint32_t ext)
{
	return (sel & 0xfffc) | ext;
}

/* exec_sys.c */
/* RFLAGS load with the privilege rules of popf and iret (SDM Vol.2 POPF, IRET). */
enum { SOFT_FLAGS_POPF, SOFT_FLAGS_IRET };
void soft_sys_load_flags(struct soft_cpu *c, uint64_t v, unsigned osz, unsigned cpl, int how);
uint64_t soft_cpuid_value(struct soft_cpu *c, uint32_t leaf, uint32_t sub, uint32_t out[4]);
bool soft_cpuid_has(struct soft_cpu *c, uint32_t leaf, int reg, unsigned bit);

/* Handlers (soft_exec_system dispatches by mnemonic). */
/* exec_io.c */
SYS_HANDLER(in);
SYS_HANDLER(out);
SYS_HANDLER(ins);
SYS_HANDLER(outs);
/* exec_cr.c */
SYS_HANDLER(mov_cr);
SYS_HANDLER(mov_dr);
SYS_HANDLER(lmsw);
SYS_HANDLER(smsw);
SYS_HANDLER(clts);
SYS_HANDLER(invlpg);
/* msr.c */
SYS_HANDLER(rdmsr);
SYS_HANDLER(wrmsr);
/* exec_dt.c: descriptor tables and segment instructions */
SYS_HANDLER(lgdt_lidt);
SYS_HANDLER(sgdt_sidt);
SYS_HANDLER(lldt);
SYS_HANDLER(ltr);
SYS_HANDLER(sldt_str);
SYS_HANDLER(lar_lsl);
SYS_HANDLER(verr_verw);
SYS_HANDLER(arpl);
SYS_HANDLER(mov_sreg);
SYS_HANDLER(push_sreg);
SYS_HANDLER(pop_sreg);
SYS_HANDLER(load_far_ptr);
/* exec_far.c */
SYS_HANDLER(jmp_far);
SYS_HANDLER(call_far);
SYS_HANDLER(ret_far);
/* exec_int.c */
SYS_HANDLER(int);
SYS_HANDLER(iret);
SYS_HANDLER(syscall);
SYS_HANDLER(sysret);
SYS_HANDLER(sysenter);
SYS_HANDLER(sysexit);

#endif
