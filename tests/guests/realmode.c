/* SPDX-License-Identifier: MIT */
/*
 * realmode: from 32-bit protected mode back to real mode and back again. A far jump to a 16-bit
 * code segment, 16-bit data segments loaded, CR0.PE cleared, a far jump to a real-mode CS;
 * real-mode addressing (linear = segment * 16 + offset); an IVT entry (IDTR base 0, limit
 * 0x3ff) and INT n through it: the handler sees FLAGS, CS and IP pushed, runs with IF and TF
 * clear, and IRET brings both back, so the instruction after the return is single-stepped (one
 * #DB through the IVT, with the IP of the next instruction); then LGDT, CR0.PE set and a far
 * jump to the 32-bit code segment.
 *
 * Relies on: SDM Vol.3 §9.9.2 (switching back to real-address mode), §9.9.1 (switching to
 * protected mode), §20.1.1 (real-mode address translation), §20.1.4 (interrupt and exception
 * handling in real-address mode: the IVT, the pushes, IF/TF/AC cleared), §17.3.1.4 (single-step
 * trap); Vol.2A INT n, Vol.2A IRET (real-address mode), Vol.2A LIDT/LGDT.
 */
#include "guest.h"
#include "desc.h"
#include "trap.h"

#define RM_SEG	  0x6000
#define RM_BASE	  (RM_SEG * 16ul) /* where the real-mode blob is copied */
#define SEL_CODE16 sel(GDT_FIRST_FREE, 0)
#define SEL_DATA16 sel(GDT_FIRST_FREE + 1, 0)
#define MARK_SEG  0x7000
#define MARK_OFF  0x0010
#define INT_VEC	  0x50

/*
 * The blob runs at RM_BASE: first as 16-bit protected-mode code (CS = SEL_CODE16, base RM_BASE)
 * at offset 0, then in real mode with CS = DS = SS = RM_SEG. Its data area follows the code.
 */
asm(".section .rodata.rmblob, \"a\"\n\t"
    ".code16\n\t"
    ".globl rm_blob\n"
    "rm_blob:\n\t"
    "movw $0x48, %ax\n\t" /* SEL_DATA16 */
    "movw %ax, %ds\n\t"
    "movw %ax, %es\n\t"
    "movw %ax, %fs\n\t"
    "movw %ax, %gs\n\t"
    "movw %ax, %ss\n\t"
    "movl %cr0, %eax\n\t"
    "andl $~1, %eax\n\t"
    "movl %eax, %cr0\n\t"
    "ljmp $0x6000, $(rm_entry - rm_blob)\n"
    "rm_entry:\n\t"
    "movw %cs, %ax\n\t"
    "movw %ax, %ds\n\t"
    "movw %ax, %es\n\t"
    "movw %ax, %ss\n\t"
    "movw $0xfff0, %sp\n\t"
    "lidt (rm_idt_pd - rm_blob)\n\t"
    "movl %cr0, %eax\n\t"
    "movl %eax, (r_cr0 - rm_blob)\n\t"
    "movw %cs, (r_cs - rm_blob)\n\t"
    /* Real-mode addressing: a byte at 0x7000:0x0010 is linear 0x70010. */
    "movw $0x7000, %ax\n\t"
    "movw %ax, %es\n\t"
    "movb $0x5a, %es:0x10\n\t"
    /* IVT entries: INT_VEC and #DB. */
    "xorw %ax, %ax\n\t"
    "movw %ax, %es\n\t"
    "movw $(rm_h50 - rm_blob), %es:0x140\n\t"
    "movw $0x6000, %es:0x142\n\t"
    "movw $(rm_hdb - rm_blob), %es:0x4\n\t"
    "movw $0x6000, %es:0x6\n\t"
    "movw %ds, %ax\n\t"
    "movw %ax, %es\n\t"
    "movw %sp, (r_sp_before - rm_blob)\n\t"
    "pushfw\n\t"
    "popw %bx\n\t"
    "orw $0x0300, %bx\n\t" /* TF | IF */
    "pushw %bx\n\t"
    "popfw\n\t"
    "int $0x50\n"
    "rm_int_ret:\n\t"
    "nop\n"
    "rm_after_nop:\n\t"
    "pushfw\n\t"
    "popw (r_flags_after - rm_blob)\n\t"
    "cli\n\t"
    "lgdtl (rm_gdt_pd - rm_blob)\n\t"
    "movl %cr0, %eax\n\t"
    "orl $1, %eax\n\t"
    "movl %eax, %cr0\n\t"
    "ljmpl $0x08, $rm_pm_return\n"
    "rm_h50:\n\t"
    "pushfw\n\t"
    "popw (r_h_flags - rm_blob)\n\t"
    "movw %sp, (r_h_sp - rm_blob)\n\t"
    "movw %sp, %bp\n\t"
    "movw (%bp), %ax\n\t"
    "movw %ax, (r_h_ip - rm_blob)\n\t"
    "movw 2(%bp), %ax\n\t"
    "movw %ax, (r_h_cs - rm_blob)\n\t"
    "movw 4(%bp), %ax\n\t"
    "movw %ax, (r_h_pflags - rm_blob)\n\t"
    "incw (r_h_count - rm_blob)\n\t"
    "iret\n"
    "rm_hdb:\n\t"
    "pushw %bp\n\t"
    "movw %sp, %bp\n\t"
    "incw (r_db_count - rm_blob)\n\t"
    "pushw %ax\n\t"
    "movw 2(%bp), %ax\n\t"
    "movw %ax, (r_db_ip - rm_blob)\n\t"
    "popw %ax\n\t"
    "andw $~0x100, 6(%bp)\n\t"
    "popw %bp\n\t"
    "iret\n\t"
    ".balign 16\n"
    ".globl rm_idt_pd, rm_gdt_pd, r_cr0, r_cs, r_sp_before, r_flags_after, r_h_flags, r_h_sp\n"
    ".globl r_h_ip, r_h_cs, r_h_pflags, r_h_count, r_db_count, r_db_ip, rm_int_ret\n"
    ".globl rm_after_nop, rm_blob_end\n"
    "rm_idt_pd: .word 0x3ff\n\t.long 0\n\t.balign 4\n"
    "rm_gdt_pd: .word 0\n\t.long 0\n\t.balign 4\n"
    "r_cr0: .long 0\n"
    "r_cs: .word 0\n"
    "r_sp_before: .word 0\n"
    "r_flags_after: .word 0\n"
    "r_h_flags: .word 0\n"
    "r_h_sp: .word 0\n"
    "r_h_ip: .word 0\n"
    "r_h_cs: .word 0\n"
    "r_h_pflags: .word 0\n"
    "r_h_count: .word 0\n"
    "r_db_count: .word 0\n"
    "r_db_ip: .word 0\n"
    "rm_blob_end:\n\t"
    ".code32\n\t"
    ".previous");

/* rm_call(): saves the callee-saved registers, EFLAGS, ESP and IDTR, jumps to the blob through
 * SEL_CODE16; the blob comes back at rm_pm_return with CS = SEL_KCODE. */
volatile uint32_t rm_saved_esp;
volatile uint8_t rm_saved_idtr[8];
asm(".text\n\t"
    ".globl rm_call\n"
    "rm_call:\n\t"
    "pushl %ebp\n\t"
    "pushl %ebx\n\t"
    "pushl %esi\n\t"
    "pushl %edi\n\t"
    "pushfl\n\t"
    "cli\n\t"
    "movl %esp, rm_saved_esp\n\t"
    "sidt rm_saved_idtr\n\t"
    "ljmp $0x40, $0\n" /* SEL_CODE16 */
    ".globl rm_pm_return\n"
    "rm_pm_return:\n\t"
    "movw $0x10, %ax\n\t"
    "movw %ax, %ds\n\t"
    "movw %ax, %es\n\t"
    "movw %ax, %fs\n\t"
    "movw %ax, %gs\n\t"
    "movw %ax, %ss\n\t"
    "movl rm_saved_esp, %esp\n\t"
    "lidt rm_saved_idtr\n\t"
    "popfl\n\t"
    "popl %edi\n\t"
    "popl %esi\n\t"
    "popl %ebx\n\t"
    "popl %ebp\n\t"
    "ret\n\t"
    ".previous");

extern char rm_blob[], rm_blob_end[], rm_idt_pd[], rm_gdt_pd[], r_cr0[], r_cs[], r_sp_before[],
	r_flags_after[], r_h_flags[], r_h_sp[], r_h_ip[], r_h_cs[], r_h_pflags[], r_h_count[],
	r_db_count[], r_db_ip[], rm_int_ret[], rm_after_nop[];
void rm_call(void);

static ulong off(const char *label)
{
	return (ulong)(label - rm_blob);
}

static uint16_t rd16(const char *label)
{
	return *(volatile uint16_t *)(RM_BASE + off(label));
}

static uint32_t rd32(const char *label)
{
	return *(volatile uint32_t *)(RM_BASE + off(label));
}

void guest_main(void)
{
	uint16_t sp0;

	printf("realmode: protected mode to real mode, INT n through the IVT, and back\n");
	gdt_set(GDT_FIRST_FREE, seg_desc(RM_BASE, 0xffff, SEG_P | SEG_S | SEG_CODE | SEG_RW | SEG_A));
	gdt_set(GDT_FIRST_FREE + 1, seg_desc(RM_BASE, 0xffff, SEG_P | SEG_S | SEG_RW | SEG_A));
	if (SEL_CODE16 != 0x40 || SEL_DATA16 != 0x48)
		fail("16-bit selectors as the blob expects");
	memcpy((void *)RM_BASE, rm_blob, (size_t)(rm_blob_end - rm_blob));
	asm volatile("sgdt %0" : "=m"(*(volatile uint8_t(*)[6])(RM_BASE + off(rm_gdt_pd))));
	*(volatile uint8_t *)((MARK_SEG << 4) + MARK_OFF) = 0;

	rm_call();

	check_eq("back in protected mode: CS", read_cs(), SEL_KCODE);
	check(read_cr0() & CR0_PE, "back in protected mode: CR0.PE set");
	check_eq("real mode: CR0.PE clear", rd32(r_cr0) & CR0_PE, 0);
	check_eq("real mode: CS after the far jump", rd16(r_cs), RM_SEG);
	check_eq("real mode: 0x7000:0x0010 is linear 0x70010",
		 *(volatile uint8_t *)((MARK_SEG << 4) + MARK_OFF), 0x5a);
	check_eq("INT 0x50: the IVT handler ran once", rd16(r_h_count), 1);
	sp0 = rd16(r_sp_before);
	check_eq("  SP in the handler: FLAGS, CS, IP pushed (6 bytes)", rd16(r_h_sp),
		 (uint16_t)(sp0 - 6));
	check_eq("  pushed IP: the instruction after INT", rd16(r_h_ip), off(rm_int_ret));
	check_eq("  pushed CS", rd16(r_h_cs), RM_SEG);
	check_eq("  pushed FLAGS: IF and TF set", rd16(r_h_pflags) & (EFL_IF | EFL_TF),
		 EFL_IF | EFL_TF);
	check_eq("  handler FLAGS: IF and TF clear", rd16(r_h_flags) & (EFL_IF | EFL_TF), 0);
	check_eq("IRET restores TF: one single-step #DB", rd16(r_db_count), 1);
	check_eq("  #DB pushed IP: after the single-stepped instruction", rd16(r_db_ip),
		 off(rm_after_nop));
	check_eq("  FLAGS after: IF set, TF cleared by the #DB handler",
		 rd16(r_flags_after) & (EFL_IF | EFL_TF), EFL_IF);
}
