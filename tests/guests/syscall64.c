/* SPDX-License-Identifier: MIT */
/*
 * syscall64: long mode privilege transitions. IRETQ to ring 3 in 64-bit mode and in
 * compatibility mode; SYSCALL from ring 3 (RCX = next RIP, R11 = RFLAGS, RFLAGS masked by
 * SFMASK, CS/SS from STAR[47:32], RSP untouched) and back with SYSRETQ (CS/SS from STAR[63:48],
 * RFLAGS from R11) and SYSRETL (to compatibility mode); INT 0x80 through a DPL 3 interrupt gate
 * (stack switch to TSS.RSP0, the 64-bit frame with SS:RSP, 16-byte alignment), the same through
 * a DPL 0 gate (#GP), an IST stack; SWAPGS; and #UD/#GP for SYSCALL with EFER.SCE = 0, SYSRET
 * at CPL 3 and SWAPGS at CPL 3.
 *
 * Relies on: SDM Vol.2B SYSCALL, SYSRET, SWAPGS, IRET/IRETQ, INT n; Vol.3 §5.8.8 (fast system
 * calls in 64-bit mode: STAR, LSTAR, SFMASK), §6.14 (64-bit mode exception and interrupt
 * handling: §6.14.2 stack frame, §6.14.4 stack switching, §6.14.5 IST), §5.12 (privilege checks
 * of INT n against the gate DPL), §3.4.5 (code segment L and D bits, compatibility mode), Vol.1
 * §3.4.1.1 (REX prefixes are INC/DEC outside 64-bit mode), Vol.3 §6.13 (error code: the
 * index field holds the vector when the IDT bit is set).
 * Known deviations of QEMU TCG 7.2 accepted only on QEMU TCG (guest.h, tcg_quirk): SYSCALL
 * clears the arithmetic flags as well as those in SFMASK, and the #GP error code for a gate
 * privilege violation in long mode has vector * 16 + 2 instead of vector * 8 + 2.
 */
#include "guest.h"
#include "desc.h"
#include "trap.h"

#define SFMASK_BITS (EFL_TF | EFL_IF | EFL_DF | EFL_NT | EFL_AC)
#define STAR_VALUE  ((uint64_t)0x18 << 48 | (uint64_t)SEL_KCODE << 32)
#define ARITH_FLAGS (EFL_CF | 0x4 | 0x10 | EFL_ZF | 0x80 | EFL_OF) /* CF PF AF ZF SF OF */
#define R11_OUT	    (EFL_FIXED | EFL_ZF | EFL_OF | EFL_CF) /* what the kernel returns with */

/* Filled by the syscall entry (kernel side) and by the user probes. */
volatile uint64_t sc_rcx, sc_r11, sc_rsp, sc_flags, sc_rax, sc_mode;
volatile uint16_t sc_cs, sc_ss;
volatile uint64_t u_rsp, u_flags, u_flags_after, u_rcx_after, u_r11_after;
volatile uint16_t u_cs_after, u_ss_after;

/* LSTAR: runs at CPL 0 on the user's stack (SYSCALL does not switch stacks). sc_mode 0 returns
 * with SYSRETQ to RCX, 1 with SYSRETL to compat_probe. Returns RAX + 0x100. */
PROBE(syscall_entry, "movq %rcx, sc_rcx(%rip)\n\t"
		     "movq %r11, sc_r11(%rip)\n\t"
		     "movq %rsp, sc_rsp(%rip)\n\t"
		     "movq %rax, sc_rax(%rip)\n\t"
		     "pushfq\n\t"
		     "popq sc_flags(%rip)\n\t"
		     "movw %cs, sc_cs(%rip)\n\t"
		     "movw %ss, sc_ss(%rip)\n\t"
		     "addq $0x100, %rax\n\t"
		     "movl $0x843, %r11d\n\t" /* R11_OUT */
		     "cmpq $1, sc_mode(%rip)\n\t"
		     "je 1f\n\t"
		     "sysretq\n"
		     "1:\tleaq compat_probe(%rip), %rcx\n\t"
		     "sysretl");

/* 64-bit user code: CF and DF set, then SYSCALL with RAX = 0x1234. */
PROBE(u_syscall, "movq $0x1234, %rax\n\t"
		 "stc\n\t"
		 "std\n\t"
		 "pushfq\n\t"
		 "popq u_flags(%rip)\n\t"
		 "movq %rsp, u_rsp(%rip)\n\t"
		 "syscall\n"
		 ".globl u_syscall_ret\nu_syscall_ret: pushfq\n\t"
		 "popq u_flags_after(%rip)\n\t"
		 "movq %rcx, u_rcx_after(%rip)\n\t"
		 "movq %r11, u_r11_after(%rip)\n\t"
		 "movw %cs, u_cs_after(%rip)\n\t"
		 "movw %ss, u_ss_after(%rip)\n\t"
		 "cld\n\t"
		 "ret");
extern char u_syscall_ret[];

/* 64-bit user code: INT 0x80 with RAX = 21 (the handler doubles it). */
PROBE(u_int80, "movq %rsp, u_rsp(%rip)\n\t"
	       "movq $21, %rax\n\t"
	       ".globl u_int80_insn\nu_int80_insn: int $0x80\n"
	       ".globl u_int80_ret\nu_int80_ret: ret");
extern char u_int80_insn[], u_int80_ret[];

PROBE(u_int81, ".globl u_int81_insn\nu_int81_insn: int $0x81\n\tret");
extern char u_int81_insn[];
PROBE(u_syscall_plain, ".globl u_syscall_plain_insn\nu_syscall_plain_insn: syscall\n\tret");
extern char u_syscall_plain_insn[];
PROBE(u_sysret, ".globl u_sysret_insn\nu_sysret_insn: sysretq\n\tret");
extern char u_sysret_insn[];
PROBE(u_swapgs, ".globl u_swapgs_insn\nu_swapgs_insn: swapgs\n\tret");
extern char u_swapgs_insn[];

/* Compatibility-mode code (CS = SEL_UCODE32): EAX = CS << 16 | (push size) << 8 | result of
 * 0x40 (INC EAX here, a REX prefix in 64-bit mode), then back through int $0x30. */
asm(".text\n\t.code32\n\t.globl compat_probe\ncompat_probe:\n\t"
    "movl %esp, %ecx\n\t"
    "pushl $0\n\t"
    "subl %esp, %ecx\n\t"
    "popl %edx\n\t"
    "xorl %eax, %eax\n\t"
    ".byte 0x40\n\t"
    "shll $8, %ecx\n\t"
    "orl %ecx, %eax\n\t"
    "movw %cs, %dx\n\t"
    "movzwl %dx, %edx\n\t"
    "shll $16, %edx\n\t"
    "orl %edx, %eax\n\t"
    "int $0x30\n\t"
    "ud2\n\t"
    ".code64\n\t.previous");
extern char compat_probe[];

/* k_iret_compat(void *unused): IRETQ to compat_probe at CPL 3 on the user stack. */
PROBE(k_iret_compat, "pushq $0x23\n\t"
		     "leaq user_stack_top(%rip), %rax\n\t"
		     "pushq %rax\n\t"
		     "pushq $2\n\t"
		     "pushq $0x1b\n\t"
		     "leaq compat_probe(%rip), %rax\n\t"
		     "pushq %rax\n\t"
		     "iretq");

/* k_int81(void *): INT 0x81 at CPL 0 (an IST gate), remembering RSP just before. */
volatile uint64_t k_rsp;
PROBE(k_int81, "movq %rsp, k_rsp(%rip)\n\t"
	       ".globl k_int81_insn\nk_int81_insn: int $0x81\n"
	       ".globl k_int81_ret\nk_int81_ret: ret");
extern char k_int81_insn[], k_int81_ret[];

static struct trap_frame seen80, seen81;
static ulong seen80_top, seen81_top;
static uint8_t ist_stack[4096] __attribute__((aligned(16)));

static void h80(struct trap_frame *f)
{
	seen80 = *f;
	seen80_top = (ulong)(&f->ss + 1);
	f->rax *= 2;
}

static void h81(struct trap_frame *f)
{
	seen81 = *f;
	seen81_top = (ulong)(&f->ss + 1);
}

static void modes(void)
{
	check(rdmsr(MSR_EFER) & EFER_LMA, "EFER.LMA set");
	check_eq("CS is the 64-bit code selector", read_cs(), SEL_KCODE);
}

static void iret_compat(void)
{
	struct trap_info ti;
	int c;

	c = trap_catch((void (*)(void *))(void *)k_iret_compat, NULL, &ti);
	check(c && ti.vector == VEC_USER_RET, "IRETQ to compatibility mode at CPL 3 and back");
	check_eq("  compat mode: CS in the int frame", ti.cs, SEL_UCODE32);
	check_eq("  compat mode: push is 4 bytes, 0x40 is INC EAX", ti.ax & 0xffff, 0x0401);
	check_eq("  compat mode: MOV from CS reads the selector", (ti.ax >> 16) & 0xffff,
		 SEL_UCODE32);
	check_eq("  compat mode: ESP in the int frame", ti.sp, (ulong)user_stack_top);
}

static void syscall_sysret(void)
{
	struct trap_info ti;
	ulong want_flags;
	int c;

	wrmsr(MSR_STAR, STAR_VALUE);
	wrmsr(MSR_LSTAR, (ulong)syscall_entry);
	wrmsr(MSR_SFMASK, SFMASK_BITS);

	/* EFER.SCE = 0: SYSCALL is #UD. */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~(uint64_t)EFER_SCE);
	c = user_run((ulong(*)(void))u_syscall_plain, &ti);
	check_trap("SYSCALL with EFER.SCE=0: #UD", c, &ti, VEC_UD, 0, (ulong)u_syscall_plain_insn);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);

	sc_mode = 0;
	c = user_run((ulong(*)(void))u_syscall, &ti);
	check(!c, "SYSCALL from CPL 3, SYSRETQ back");
	check_eq("  RAX seen by the kernel", sc_rax, 0x1234);
	check_eq("  RCX: the instruction after SYSCALL", sc_rcx, (ulong)u_syscall_ret);
	check_eq("  R11: RFLAGS at the SYSCALL", sc_r11, u_flags);
	check(u_flags & EFL_CF && u_flags & EFL_DF, "  user RFLAGS had CF and DF");
	want_flags = u_flags & ~(ulong)SFMASK_BITS & ~(ulong)EFL_RF;
	/* QEMU TCG (7.2) also clears the arithmetic flags. */
	if (tcg_quirk(sc_flags == (want_flags & ~(ulong)ARITH_FLAGS)))
		check(true, "  kernel RFLAGS: user RFLAGS less SFMASK");
	else
		check_eq("  kernel RFLAGS: user RFLAGS less SFMASK", sc_flags, want_flags);
	check_eq("  kernel CS: STAR[47:32]", sc_cs, SEL_KCODE);
	check_eq("  kernel SS: STAR[47:32] + 8", sc_ss, SEL_KDATA);
	check_eq("  RSP unchanged by SYSCALL", sc_rsp, u_rsp);
	check_eq("  return value in RAX", ti.ax, 0x1334);
	check_eq("  after SYSRETQ: CS = STAR[63:48] + 16 | 3", u_cs_after, SEL_UCODE64);
	check_eq("  after SYSRETQ: SS = STAR[63:48] + 8 | 3", u_ss_after, SEL_UDATA);
	check_eq("  after SYSRETQ: RFLAGS from R11", u_flags_after, R11_OUT);
	check_eq("  after SYSRETQ: RCX is the return RIP", u_rcx_after, (ulong)u_syscall_ret);
	check_eq("  after SYSRETQ: R11 as the kernel left it", u_r11_after, R11_OUT);

	/* SYSRETL to compatibility mode. */
	sc_mode = 1;
	c = user_run((ulong(*)(void))u_syscall, &ti);
	sc_mode = 0;
	check(ti.vector == VEC_USER_RET, "SYSCALL, SYSRETL to compatibility mode");
	check_eq("  after SYSRETL: CS = STAR[63:48] | 3", ti.cs, SEL_UCODE32);
	check_eq("  compat mode: push is 4 bytes, 0x40 is INC EAX", ti.ax & 0xffff, 0x0401);
	check_eq("  compat mode: MOV from CS reads the selector", (ti.ax >> 16) & 0xffff,
		 SEL_UCODE32);

	c = user_run((ulong(*)(void))u_sysret, &ti);
	check_trap("SYSRETQ at CPL 3: #GP(0)", c, &ti, VEC_GP, 0, (ulong)u_sysret_insn);
}

static void int80(void)
{
	struct trap_info ti;
	int c;

	trap_set_handler(0x80, h80);
	idt_set_stub(0x80, SYS_INT_GATE, 3, 0);
	c = user_run((ulong(*)(void))u_int80, &ti);
	check(!c, "INT 0x80 through a DPL 3 gate from CPL 3");
	check_eq("  return value in RAX", ti.ax, 42);
	check_eq("  frame RIP: after the INT", seen80.ip, (ulong)u_int80_ret);
	check_eq("  frame CS", seen80.cs, SEL_UCODE64);
	check_eq("  frame SS", seen80.ss, SEL_UDATA);
	check_eq("  frame RSP: the user RSP", seen80.sp, u_rsp);
	check_eq("  frame at the top of TSS.RSP0's stack", seen80_top,
		 (ulong)kernel_trap_stack_top);
	check(!(seen80.flags & EFL_IF) == !(read_flags() & EFL_IF), "  frame RFLAGS.IF as in user");

	idt_set_stub(0x80, SYS_INT_GATE, 0, 0);
	c = user_run((ulong(*)(void))u_int80, &ti);
	/* QEMU TCG (7.2) puts vector * 16 (the gate's offset) in the error code's index field. */
	if (tcg_quirk(c && ti.vector == VEC_GP && ti.error == (0x80 << 4 | ERR_IDT)))
		check(true, "INT 0x80 through a DPL 0 gate from CPL 3: #GP(0x80 << 3 | IDT)");
	else
		check_trap("INT 0x80 through a DPL 0 gate from CPL 3: #GP(0x80 << 3 | IDT)", c,
			   &ti, VEC_GP, 0x80 << 3 | ERR_IDT, (ulong)u_int80_insn);
	trap_set_handler(0x80, NULL);

	/* IST: a DPL 3 gate with IST 1; the frame goes at IST1's top whatever the CPL. */
	tss.ist[0] = (ulong)(ist_stack + sizeof(ist_stack));
	trap_set_handler(0x81, h81);
	idt_set_stub(0x81, SYS_INT_GATE, 3, 1);
	c = trap_catch((void (*)(void *))(void *)k_int81, NULL, &ti);
	check(!c, "INT 0x81 at CPL 0 through an IST gate");
	check_eq("  frame at the top of the IST stack", seen81_top,
		 (ulong)(ist_stack + sizeof(ist_stack)));
	check_eq("  frame RIP", seen81.ip, (ulong)k_int81_ret);
	check_eq("  frame SS:RSP pushed without a privilege change: RSP", seen81.sp, k_rsp);
	check_eq("  frame SS:RSP pushed without a privilege change: SS", seen81.ss, SEL_KDATA);
	c = user_run((ulong(*)(void))u_int81, &ti);
	check(!c, "INT 0x81 at CPL 3 through an IST gate");
	check_eq("  frame at the top of the IST stack", seen81_top,
		 (ulong)(ist_stack + sizeof(ist_stack)));
	check_eq("  frame CS", seen81.cs, SEL_UCODE64);
	trap_set_handler(0x81, NULL);
	idt_set_stub(0x81, SYS_INT_GATE, 0, 0);
	tss.ist[0] = 0;
}

static void swapgs(void)
{
	struct trap_info ti;
	int c;

	wrmsr(MSR_GS_BASE, 0x1111000);
	wrmsr(MSR_KERNEL_GS_BASE, 0x2222000);
	asm volatile("swapgs" ::: "memory");
	check_eq("SWAPGS: GS_BASE takes KERNEL_GS_BASE", rdmsr(MSR_GS_BASE), 0x2222000);
	check_eq("SWAPGS: KERNEL_GS_BASE takes GS_BASE", rdmsr(MSR_KERNEL_GS_BASE), 0x1111000);
	asm volatile("swapgs" ::: "memory");
	check_eq("SWAPGS twice: GS_BASE back", rdmsr(MSR_GS_BASE), 0x1111000);
	wrmsr(MSR_GS_BASE, 0);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
	c = user_run((ulong(*)(void))u_swapgs, &ti);
	check_trap("SWAPGS at CPL 3: #GP(0)", c, &ti, VEC_GP, 0, (ulong)u_swapgs_insn);
}

void guest_main(void)
{
	printf("syscall64: ring 3 in long mode: IRETQ, SYSCALL/SYSRET, INT 0x80, IST, SWAPGS\n");
	modes();
	iret_compat();
	syscall_sysret();
	int80();
	swapgs();
}
