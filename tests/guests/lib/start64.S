/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 header and the way into long mode for 64-bit test guests (SDM Vol.3 §9.8.5
 * initializing IA-32e mode): identity-map the first 4 GiB with 2 MiB pages (4-level paging,
 * §4.5), set CR4.PAE, EFER.LME, then CR0.PG, and far-jump to a 64-bit code segment.
 * EFER is sampled before and after CR0.PG (lm_efer_before/after) for the longmode guest.
 * All page-table entries have U/S = 1 so user_run() works without remapping.
 */
#define MB_HEADER_MAGIC 0x1badb002
#define MB_HEADER_FLAGS 0x00000003
#define MSR_EFER	0xc0000080

	.section .multiboot, "a"
	.balign	4
	.long	MB_HEADER_MAGIC
	.long	MB_HEADER_FLAGS
	.long	-(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

	.section .text.start, "ax"
	.code32
	.globl	_start
_start:
	cli
	cld
	movl	%eax, %esi		/* boot magic */
	movl	%ebx, %ebp		/* multiboot info */
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb
	movl	$boot_stack_top, %esp

	/* CPUID.80000001H:EDX.LM[bit 29] */
	movl	$0x80000000, %eax
	cpuid
	cmpl	$0x80000001, %eax
	jb	no_long_mode
	movl	$0x80000001, %eax
	cpuid
	btl	$29, %edx
	jnc	no_long_mode

	movl	$lm_pdpt, %eax
	orl	$7, %eax		/* P, R/W, U/S */
	movl	%eax, lm_pml4
	xorl	%ecx, %ecx
	movl	$lm_pd, %eax
	orl	$7, %eax
1:	movl	%eax, lm_pdpt(, %ecx, 8)
	addl	$4096, %eax
	incl	%ecx
	cmpl	$4, %ecx
	jne	1b
	xorl	%ecx, %ecx
	movl	$0x87, %eax		/* P, R/W, U/S, PS */
2:	movl	%eax, lm_pd(, %ecx, 8)
	addl	$0x200000, %eax
	incl	%ecx
	cmpl	$2048, %ecx
	jne	2b

	movl	$lm_pml4, %eax
	movl	%eax, %cr3
	movl	%cr4, %eax
	orl	$0x20, %eax		/* PAE */
	movl	%eax, %cr4
	movl	$MSR_EFER, %ecx
	rdmsr
	movl	%eax, lm_efer_before
	orl	$0x100, %eax		/* LME */
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000001, %eax	/* PG, PE */
	movl	%eax, %cr0
	rdmsr
	movl	%eax, lm_efer_after
	lgdt	boot_gdtr
	ljmp	$0x08, $long_entry

no_long_mode:
	movb	$0x11, %al
	outb	%al, $0xf4
3:	hlt
	jmp	3b

	.code64
long_entry:
	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorl	%eax, %eax
	movw	%ax, %fs
	movw	%ax, %gs
	movl	$boot_stack_top, %esp	/* zero-extends into RSP */
	movl	%esi, %edi		/* guest_entry(magic, mbi) */
	movl	%ebp, %esi
	call	guest_entry
4:	cli
	hlt
	jmp	4b

	.section .rodata
	.balign	8
boot_gdt:
	.quad	0
	.quad	0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad	0x00cf92000000ffff	/* 0x10: data */
boot_gdtr:
	.word	boot_gdtr - boot_gdt - 1
	.long	boot_gdt

	.bss
	.balign	4096
	.globl	lm_pml4, lm_pdpt, lm_pd
lm_pml4:
	.space	4096
lm_pdpt:
	.space	4096
lm_pd:
	.space	4 * 4096
	.balign	16
	.globl	lm_efer_before, lm_efer_after
lm_efer_before:
	.long	0
lm_efer_after:
	.long	0
	.balign	16
	.space	16384
	.globl	boot_stack_top
boot_stack_top:
	.space	8192
	.globl	kernel_trap_stack_top
kernel_trap_stack_top:
	.space	8192
	.globl	user_stack_top
user_stack_top:
	.section .note.GNU-stack, "", @progbits
