/* SPDX-License-Identifier: MIT */
/*
 * 64-bit exception entry (SDM Vol.3 §6.14.2: the CPU always pushes SS:RSP and aligns RSP to 16
 * bytes first). Same shape as trap32.S: per-vector stubs, trap_common building struct
 * trap_frame, trap_catch_call/trap_catch_unwind and user_enter.
 */
#define SEL_KDATA   0x10
#define SEL_UDATA   0x23
#define SEL_UCODE64 0x2b

	.altmacro
	.macro	stub n
	.balign	16
	.if (\n == 8) || (\n == 10) || (\n == 11) || (\n == 12) || (\n == 13) || (\n == 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	pushq	$0
	.endif
	pushq	$\n
	jmp	trap_common
	.endm

	.text
	.code64
	.balign	16
	.globl	trap_stubs
trap_stubs:
	.set	i, 0
	.rept	256
	stub	%i
	.set	i, i + 1
	.endr

trap_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	cld
	movq	%rsp, %rdi
	/* 15 registers + vector + error + 5-word frame = 22 words: RSP is still 16-byte aligned. */
	call	trap_dispatch
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp
	iretq

/* int trap_catch_call(void (*fn)(void *), void *arg) */
	.globl	trap_catch_call
trap_catch_call:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushfq
	movq	%rsp, catch_rsp(%rip)
	movq	%rdi, %rax
	movq	%rsi, %rdi
	subq	$8, %rsp		/* 7 pushes + return address: realign to 16 */
	call	*%rax
	addq	$8, %rsp
	xorl	%eax, %eax
catch_return:
	popfq
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret

	.globl	trap_catch_unwind
trap_catch_unwind:
	movw	$SEL_KDATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movq	catch_rsp(%rip), %rsp
	movl	$1, %eax
	jmp	catch_return

/* void user_enter(ulong (*fn)(void), void *stack_top): iretq to CPL 3. */
	.globl	user_enter
user_enter:
	movq	%rdi, %rax
	pushq	$SEL_UDATA
	pushq	%rsi
	pushfq
	andq	$~0x7500, (%rsp)	/* clear TF, DF, IOPL, NT */
	pushq	$SEL_UCODE64
	leaq	user_trampoline(%rip), %rcx
	pushq	%rcx
	iretq

	.globl	user_trampoline
user_trampoline:
	call	*%rax
	int	$0x30			/* VEC_USER_RET: rax is the return value */
	ud2

	.bss
	.balign	8
catch_rsp:
	.quad	0
	.section .note.GNU-stack, "", @progbits
