/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 header and 32-bit entry (Multiboot Specification 0.6.96 §3.1.1 header, §3.2
 * machine state: EAX = 0x2BADB002, EBX = info address, flat CS/DS/ES/SS, CR0.PE = 1, PG = 0,
 * IF = 0; ESP, GDTR and IDTR undefined). The load address comes from the ELF program headers
 * (flag bit 16 clear), so QEMU's loader and cove's take the same path.
 */
#define MB_HEADER_MAGIC 0x1badb002
#define MB_HEADER_FLAGS 0x00000003	/* page-aligned modules, memory info */

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
	/* Clear .bss ourselves: a loader need not (and our stacks live there). */
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb
	movl	$boot_stack_top, %esp
	pushl	%ebp
	pushl	%esi
	call	guest_entry
1:	cli
	hlt
	jmp	1b

	.bss
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
