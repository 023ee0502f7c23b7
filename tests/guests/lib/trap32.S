/* SPDX-License-Identifier: MIT */
/*
 * 32-bit exception entry (SDM Vol.3 §6.12.1): one 16-byte stub per vector pushes a dummy error
 * code where the CPU pushes none (so every frame looks alike), then the vector, then joins
 * trap_common, which saves the registers as struct trap_frame and calls trap_dispatch().
 * Also trap_catch_call/trap_catch_unwind (a setjmp/longjmp pair) and user_enter.
 */
#define SEL_KDATA   0x10
#define SEL_UCODE32 0x1b
#define SEL_UDATA   0x23

	.altmacro
	.macro	stub n
	.balign	16
	/* Vectors with a CPU error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX. */
	.if (\n == 8) || (\n == 10) || (\n == 11) || (\n == 12) || (\n == 13) || (\n == 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	pushl	$0
	.endif
	pushl	$\n
	jmp	trap_common
	.endm

	.text
	.code32
	.balign	16
	.globl	trap_stubs
trap_stubs:
	.set	i, 0
	.rept	256
	stub	%i
	.set	i, i + 1
	.endr

trap_common:
	pusha
	pushl	%ds
	pushl	%es
	pushl	%fs
	pushl	%gs
	mov	$SEL_KDATA, %ax
	mov	%ax, %ds
	mov	%ax, %es
	cld
	pushl	%esp
	call	trap_dispatch
	addl	$4, %esp
	popl	%gs
	popl	%fs
	popl	%es
	popl	%ds
	popa
	addl	$8, %esp		/* vector and error code */
	iret

/* int trap_catch_call(void (*fn)(void *), void *arg) */
	.globl	trap_catch_call
trap_catch_call:
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	pushf
	movl	%esp, catch_esp
	movl	24(%esp), %eax		/* fn */
	pushl	28(%esp)		/* arg */
	call	*%eax
	addl	$4, %esp
	xorl	%eax, %eax
catch_return:
	popf
	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	ret

/* Back into trap_catch_call's frame, returning 1; runs on whatever stack the trap used. */
	.globl	trap_catch_unwind
trap_catch_unwind:
	movw	$SEL_KDATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss
	movl	catch_esp, %esp		/* mov ss blocks interrupts until after this */
	movl	$1, %eax
	jmp	catch_return

/* void user_enter(ulong (*fn)(void), void *stack_top): iret to CPL 3 (SDM Vol.3 §6.12.1). */
	.globl	user_enter
user_enter:
	movl	4(%esp), %eax
	movl	8(%esp), %ecx
	movw	$SEL_UDATA, %dx
	movw	%dx, %ds
	movw	%dx, %es
	movw	%dx, %fs
	movw	%dx, %gs
	pushl	$SEL_UDATA
	pushl	%ecx
	pushf
	andl	$~0x7500, (%esp)	/* clear TF, DF, IOPL, NT */
	pushl	$SEL_UCODE32
	pushl	$user_trampoline
	iret

	.globl	user_trampoline
user_trampoline:
	call	*%eax
	int	$0x30			/* VEC_USER_RET: eax is the return value */
	ud2

	.bss
	.balign	4
catch_esp:
	.long	0
	.section .note.GNU-stack, "", @progbits
