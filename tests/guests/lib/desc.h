/* SPDX-License-Identifier: MIT */
/*
 * GDT, IDT and TSS helpers (SDM Vol.3 §3.4.5 segment descriptors, §6.11 and §6.14.1 IDT gates,
 * §7.2.1 / §7.7 TSS formats).
 */
#ifndef GUEST_DESC_H
#define GUEST_DESC_H

#include "guest.h"

/* Access byte and flags of a segment descriptor, as one 16-bit value: bits 0-7 are descriptor
 * bits 40-47, bits 12-15 are descriptor bits 52-55. */
#define SEG_A	   0x0001 /* accessed */
#define SEG_RW	   0x0002 /* readable code / writable data */
#define SEG_EXPDN  0x0004 /* data: expand-down; code: conforming */
#define SEG_CODE   0x0008
#define SEG_S	   0x0010 /* code or data (not system) */
#define SEG_DPL(n) ((n) << 5)
#define SEG_P	   0x0080
#define SEG_AVL	   0x1000
#define SEG_L	   0x2000 /* 64-bit code */
#define SEG_DB	   0x4000 /* 32-bit default size / big */
#define SEG_G	   0x8000 /* limit in 4K units */

#define SEG_CODE32(dpl) (SEG_P | SEG_DPL(dpl) | SEG_S | SEG_CODE | SEG_RW | SEG_DB | SEG_G)
#define SEG_CODE64(dpl) (SEG_P | SEG_DPL(dpl) | SEG_S | SEG_CODE | SEG_RW | SEG_L | SEG_G)
#define SEG_DATA32(dpl) (SEG_P | SEG_DPL(dpl) | SEG_S | SEG_RW | SEG_DB | SEG_G)

/* System descriptor and gate types (SDM Vol.3 Table 3-2). */
#define SYS_TSS_AVAIL 0x9
#define SYS_TSS_BUSY  0xb
#define SYS_CALL_GATE 0xc
#define SYS_INT_GATE  0xe
#define SYS_TRAP_GATE 0xf
#define SYS_TASK_GATE 0x5

uint64_t seg_desc(uint32_t base, uint32_t limit, uint16_t attr);
void gdt_set(unsigned idx, uint64_t desc);
uint64_t gdt_get(unsigned idx);
/* A 16-byte system descriptor (long mode TSS) in slots idx and idx+1. */
void gdt_set_sys64(unsigned idx, uint64_t base, uint32_t limit, unsigned type);
void *gdt_base(void);
/* Loads the runtime's GDT and reloads every segment register with the flat selectors. */
void gdt_init(void);

static inline uint16_t sel(unsigned idx, unsigned rpl)
{
	return (uint16_t)(idx << 3 | rpl);
}

#define DEFINE_SEG(r)                                                                              \
	static inline uint16_t read_##r(void)                                                      \
	{                                                                                          \
		uint16_t v;                                                                        \
		asm volatile("mov %%" #r ", %0" : "=rm"(v));                                       \
		return v;                                                                          \
	}                                                                                          \
	static inline void load_##r(uint16_t v)                                                    \
	{                                                                                          \
		asm volatile("mov %0, %%" #r : : "rm"(v) : "memory");                              \
	}
DEFINE_SEG(ds)
DEFINE_SEG(es)
DEFINE_SEG(fs)
DEFINE_SEG(gs)
DEFINE_SEG(ss)
#undef DEFINE_SEG
static inline uint16_t read_cs(void)
{
	uint16_t v;
	asm volatile("mov %%cs, %0" : "=rm"(v));
	return v;
}

/* IDT: every vector starts as a DPL0 interrupt gate to the runtime's stub (lib/trap*.S). */
void idt_init(void);
void idt_set_gate(unsigned vec, ulong handler, uint16_t selector, unsigned type, unsigned dpl,
		  unsigned ist);
/* Back to the runtime stub, with the given type/DPL/IST. */
void idt_set_stub(unsigned vec, unsigned type, unsigned dpl, unsigned ist);
void idt_set_present(unsigned vec, bool present);
void *idt_base(void);
ulong trap_stub_addr(unsigned vec);

/* TSS (SDM Vol.3 Figure 7-2 and Figure 7-11). */
struct tss32 {
	uint16_t link, r0;
	uint32_t esp0;
	uint16_t ss0, r1;
	uint32_t esp1;
	uint16_t ss1, r2;
	uint32_t esp2;
	uint16_t ss2, r3;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
	uint16_t trap, iomap;
} __attribute__((packed));

struct tss64 {
	uint32_t r0;
	uint64_t rsp[3];
	uint64_t r1;
	uint64_t ist[7]; /* ist[0] is IST1 (offset 0x24) */
	uint64_t r2;
	uint16_t r3, iomap;
} __attribute__((packed));

#ifdef __x86_64__
extern struct tss64 tss;
#else
extern struct tss32 tss;
#endif
/* Top of the stack the CPU switches to on entry to ring 0 (TSS ESP0/RSP0). */
extern uint8_t kernel_trap_stack_top[];
/* Installs the TSS in SEL_TSS and loads TR. */
void tss_init(void);

#endif
