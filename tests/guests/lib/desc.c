/* SPDX-License-Identifier: MIT */
/* The runtime's GDT, IDT and TSS; see desc.h. */
#include "desc.h"
#include "trap.h"

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
#ifdef __x86_64__
static uint64_t idt[256 * 2] __attribute__((aligned(16)));
struct tss64 tss __attribute__((aligned(16)));
#else
static uint64_t idt[256] __attribute__((aligned(16)));
struct tss32 tss __attribute__((aligned(16)));
#endif

extern char trap_stubs[];

struct __attribute__((packed)) pseudo_desc {
	uint16_t limit;
	ulong base;
};

uint64_t seg_desc(uint32_t base, uint32_t limit, uint16_t attr)
{
	uint64_t d = limit & 0xffff;

	d |= (uint64_t)(base & 0xffffff) << 16;
	d |= (uint64_t)(attr & 0xff) << 40;
	d |= (uint64_t)((limit >> 16) & 0xf) << 48;
	d |= (uint64_t)((attr >> 12) & 0xf) << 52;
	d |= (uint64_t)(base >> 24) << 56;
	return d;
}

void gdt_set(unsigned idx, uint64_t desc)
{
	if (idx < GDT_ENTRIES)
		gdt[idx] = desc;
}

uint64_t gdt_get(unsigned idx)
{
	return idx < GDT_ENTRIES ? gdt[idx] : 0;
}

void *gdt_base(void)
{
	return gdt;
}

void gdt_set_sys64(unsigned idx, uint64_t base, uint32_t limit, unsigned type)
{
	if (idx + 1 >= GDT_ENTRIES)
		return;
	gdt[idx] = seg_desc((uint32_t)base, limit, (uint16_t)(SEG_P | type));
	gdt[idx + 1] = base >> 32;
}

void gdt_init(void)
{
	struct pseudo_desc gdtr = { sizeof(gdt) - 1, (ulong)gdt };

	/* Accessed bits preset, so descriptor contents never depend on which loads happened. */
	gdt[0] = 0;
#ifdef __x86_64__
	gdt[SEL_KCODE >> 3] = seg_desc(0, 0xfffff, SEG_CODE64(0) | SEG_A);
#else
	gdt[SEL_KCODE >> 3] = seg_desc(0, 0xfffff, SEG_CODE32(0) | SEG_A);
#endif
	gdt[SEL_KDATA >> 3] = seg_desc(0, 0xfffff, SEG_DATA32(0) | SEG_A);
	gdt[SEL_UCODE32 >> 3] = seg_desc(0, 0xfffff, SEG_CODE32(3) | SEG_A);
	gdt[SEL_UDATA >> 3] = seg_desc(0, 0xfffff, SEG_DATA32(3) | SEG_A);
#ifdef __x86_64__
	gdt[SEL_UCODE64 >> 3] = seg_desc(0, 0xfffff, SEG_CODE64(3) | SEG_A);
#endif
	asm volatile("lgdt %0" : : "m"(gdtr));
	/* A null LDTR: after reset it is a present LDT at linear 0 with limit 0xffff (SDM Vol.3
	 * Table 9-1), and firmware may have left anything there. */
	asm volatile("lldt %w0" : : "r"(0));
#ifdef __x86_64__
	asm volatile("pushq %[cs]\n\t"
		     "leaq 1f(%%rip), %%rax\n\t"
		     "pushq %%rax\n\t"
		     "lretq\n"
		     "1:\n\t"
		     "movw %[ds], %%ax\n\t"
		     "movw %%ax, %%ds\n\t"
		     "movw %%ax, %%es\n\t"
		     "movw %%ax, %%ss\n\t"
		     "xorl %%eax, %%eax\n\t"
		     "movw %%ax, %%fs\n\t"
		     "movw %%ax, %%gs\n\t"
		     :
		     : [cs] "i"(SEL_KCODE), [ds] "i"(SEL_KDATA)
		     : "rax", "memory");
#else
	asm volatile("ljmp %[cs], $1f\n"
		     "1:\n\t"
		     "movw %[ds], %%ax\n\t"
		     "movw %%ax, %%ds\n\t"
		     "movw %%ax, %%es\n\t"
		     "movw %%ax, %%fs\n\t"
		     "movw %%ax, %%gs\n\t"
		     "movw %%ax, %%ss\n\t"
		     :
		     : [cs] "i"(SEL_KCODE), [ds] "i"(SEL_KDATA)
		     : "eax", "memory");
#endif
}

ulong trap_stub_addr(unsigned vec)
{
	return (ulong)trap_stubs + 16 * (vec & 0xff);
}

void idt_set_gate(unsigned vec, ulong handler, uint16_t selector, unsigned type, unsigned dpl,
		  unsigned ist)
{
	uint64_t lo = (handler & 0xffff) | ((uint64_t)selector << 16) |
		      ((uint64_t)(ist & 7) << 32) | ((uint64_t)(0x80 | (dpl & 3) << 5 | (type & 0xf)) << 40) |
		      ((uint64_t)((handler >> 16) & 0xffff) << 48);

	vec &= 0xff;
#ifdef __x86_64__
	idt[2 * vec] = lo;
	idt[2 * vec + 1] = (uint64_t)handler >> 32;
#else
	(void)ist;
	idt[vec] = lo & ~(0xffull << 32);
#endif
}

void idt_set_stub(unsigned vec, unsigned type, unsigned dpl, unsigned ist)
{
	idt_set_gate(vec, trap_stub_addr(vec), SEL_KCODE, type, dpl, ist);
}

void idt_set_present(unsigned vec, bool present)
{
	uint64_t p = 1ull << 47;
#ifdef __x86_64__
	uint64_t *g = &idt[2 * (vec & 0xff)];
#else
	uint64_t *g = &idt[vec & 0xff];
#endif
	*g = present ? (*g | p) : (*g & ~p);
}

void *idt_base(void)
{
	return idt;
}

void idt_init(void)
{
	struct pseudo_desc idtr = { sizeof(idt) - 1, (ulong)idt };
	unsigned v;

	for (v = 0; v < 256; v++)
		idt_set_stub(v, SYS_INT_GATE, 0, 0);
	/* The gate user_run()'s user code comes back through must be reachable from CPL 3. */
	idt_set_stub(VEC_USER_RET, SYS_INT_GATE, 3, 0);
	asm volatile("lidt %0" : : "m"(idtr));
}

void tss_init(void)
{
	memset(&tss, 0, sizeof(tss));
#ifdef __x86_64__
	tss.rsp[0] = (ulong)kernel_trap_stack_top;
	tss.iomap = sizeof(tss);
	gdt_set_sys64(SEL_TSS >> 3, (ulong)&tss, sizeof(tss) - 1, SYS_TSS_AVAIL);
#else
	tss.esp0 = (ulong)kernel_trap_stack_top;
	tss.ss0 = SEL_KDATA;
	tss.iomap = sizeof(tss);
	gdt_set(SEL_TSS >> 3, seg_desc((ulong)&tss, sizeof(tss) - 1, SEG_P | SYS_TSS_AVAIL));
#endif
	asm volatile("ltr %w0" : : "r"(SEL_TSS));
}
