/* SPDX-License-Identifier: MIT */
/*
 * sysenter: 32-bit fast system calls. IA32_SYSENTER_CS/ESP/EIP set, IRET to ring 3, SYSENTER
 * back to ring 0 (CS = SYSENTER_CS, SS = SYSENTER_CS + 8, ESP = SYSENTER_ESP, EIP =
 * SYSENTER_EIP, IF cleared, general registers kept), SYSEXIT to ring 3 (CS = SYSENTER_CS + 16
 * | 3, SS = SYSENTER_CS + 24 | 3, ESP = ECX, EIP = EDX, EFLAGS untouched); #GP(0) for SYSENTER
 * with SYSENTER_CS = 0, for SYSEXIT with SYSENTER_CS = 0 and for SYSEXIT at CPL 3.
 *
 * Relies on: SDM Vol.2B SYSENTER and SYSEXIT (operation and protected-mode exceptions), Vol.3
 * §5.8.7 (performing fast calls to system procedures with SYSENTER/SYSEXIT), Vol.2A CPUID
 * (leaf 1 EDX.SEP).
 */
#include "guest.h"
#include "desc.h"
#include "trap.h"

/* Written by the ring 0 entry and by the ring 3 probes. */
volatile uint32_t k_entered, k_esp, k_flags, k_eax, k_ebx, k_esi, k_edi, k_ebp, k_exit_flags;
volatile uint16_t k_cs, k_ss, k_ds;
volatile uint32_t u_esp, u_flags, u_esp_after, u_flags_after, u_ecx_after, u_edx_after;
volatile uint16_t u_cs_before, u_cs_after, u_ss_after, u_ds_after;

static uint8_t sysenter_stack[4096] __attribute__((aligned(16)));

/* SYSENTER_EIP: records what SYSENTER set up, then SYSEXIT back to the instruction after the
 * user's SYSENTER (EDX) on the user's stack (ECX), with CF set and EAX + 0x100. */
PROBE(sysenter_entry, "movl %esp, k_esp\n\t"
		      "movl %eax, k_eax\n\t"
		      "movl %ebx, k_ebx\n\t"
		      "movl %esi, k_esi\n\t"
		      "movl %edi, k_edi\n\t"
		      "movl %ebp, k_ebp\n\t"
		      "pushfl\n\t"
		      "popl k_flags\n\t"
		      "incl k_entered\n\t"
		      "movw %cs, k_cs\n\t"
		      "movw %ss, k_ss\n\t"
		      "movw %ds, k_ds\n\t"
		      "addl $0x100, %eax\n\t"
		      "movl u_esp, %ecx\n\t"
		      "movl $u_sysenter_ret, %edx\n\t"
		      "stc\n\t"
		      "pushfl\n\t"
		      "popl k_exit_flags\n\t"
		      "sysexit");

/* Ring 3: known values in EAX, EBX, ESI, EDI, EBP; SYSENTER; then what SYSEXIT left. */
PROBE(u_sysenter, "pushl %ebx\n\t"
		  "pushl %esi\n\t"
		  "pushl %edi\n\t"
		  "pushl %ebp\n\t"
		  "movw %cs, u_cs_before\n\t"
		  "movl $0x1234, %eax\n\t"
		  "movl $0x11111111, %ebx\n\t"
		  "movl $0x22222222, %esi\n\t"
		  "movl $0x33333333, %edi\n\t"
		  "movl $0x44444444, %ebp\n\t"
		  "clc\n\t"
		  "pushfl\n\t"
		  "popl u_flags\n\t"
		  "movl %esp, u_esp\n\t"
		  "sysenter\n"
		  ".globl u_sysenter_ret\nu_sysenter_ret: pushfl\n\t"
		  "popl u_flags_after\n\t"
		  "movl %esp, u_esp_after\n\t"
		  "movl %ecx, u_ecx_after\n\t"
		  "movl %edx, u_edx_after\n\t"
		  "movw %cs, u_cs_after\n\t"
		  "movw %ss, u_ss_after\n\t"
		  "movw %ds, u_ds_after\n\t"
		  "popl %ebp\n\t"
		  "popl %edi\n\t"
		  "popl %esi\n\t"
		  "popl %ebx\n\t"
		  "ret");
extern char u_sysenter_ret[];

PROBE(u_sysenter_plain, ".globl u_sysenter_plain_insn\nu_sysenter_plain_insn: sysenter\n\tret");
extern char u_sysenter_plain_insn[];
PROBE(u_sysexit, ".globl u_sysexit_insn\nu_sysexit_insn: sysexit\n\tret");
extern char u_sysexit_insn[];
/* k_sysexit(void *): SYSEXIT at CPL 0 (with SYSENTER_CS = 0 it faults). */
PROBE(k_sysexit, "movl %esp, %ecx\n\t"
		 "movl $k_sysexit_ret, %edx\n\t"
		 ".globl k_sysexit_insn\nk_sysexit_insn: sysexit\n"
		 "k_sysexit_ret: ret");
extern char k_sysexit_insn[];

static void msrs(void)
{
	wrmsr(MSR_SYSENTER_CS, SEL_KCODE);
	wrmsr(MSR_SYSENTER_ESP, (ulong)(sysenter_stack + sizeof(sysenter_stack)));
	wrmsr(MSR_SYSENTER_EIP, (ulong)sysenter_entry);
	check_eq("IA32_SYSENTER_CS reads back", rdmsr(MSR_SYSENTER_CS), SEL_KCODE);
	check_eq("IA32_SYSENTER_ESP reads back", rdmsr(MSR_SYSENTER_ESP),
		 (ulong)(sysenter_stack + sizeof(sysenter_stack)));
	check_eq("IA32_SYSENTER_EIP reads back", rdmsr(MSR_SYSENTER_EIP), (ulong)sysenter_entry);
}

static void round_trip(bool with_if)
{
	const char *tag = with_if ? "IF=1" : "IF=0";
	struct trap_info ti;
	int c;

	k_entered = 0;
	if (with_if)
		sti();
	c = user_run((ulong(*)(void))u_sysenter, &ti);
	cli();
	check(!c, "%s: IRET to CPL 3, SYSENTER to CPL 0, SYSEXIT back", tag);
	check_eq("  user code ran at CPL 3", u_cs_before, SEL_UCODE32);
	check(!(u_flags & EFL_IF) == !with_if, "  %s: user EFLAGS.IF as the caller left it", tag);
	check_eq("  SYSENTER: CS = SYSENTER_CS", k_cs, SEL_KCODE);
	check_eq("  SYSENTER: SS = SYSENTER_CS + 8", k_ss, SEL_KDATA);
	check_eq("  SYSENTER: ESP = SYSENTER_ESP", k_esp,
		 (ulong)(sysenter_stack + sizeof(sysenter_stack)));
	check_eq("  SYSENTER: EIP = SYSENTER_EIP (the entry ran once)", k_entered, 1);
	check_eq("  SYSENTER: EFLAGS = user EFLAGS less IF (and VM, RF)", k_flags,
		 u_flags & ~(uint32_t)(EFL_IF | EFL_RF | (1u << 17)));
	check_eq("  SYSENTER: DS unchanged", k_ds, SEL_UDATA);
	check_eq("  SYSENTER: EAX kept", k_eax, 0x1234);
	check(k_ebx == 0x11111111 && k_esi == 0x22222222 && k_edi == 0x33333333 &&
		      k_ebp == 0x44444444,
	      "  SYSENTER: EBX, ESI, EDI, EBP kept");
	check_eq("  SYSEXIT: CS = SYSENTER_CS + 16 | 3", u_cs_after, SEL_UCODE32);
	check_eq("  SYSEXIT: SS = SYSENTER_CS + 24 | 3", u_ss_after, SEL_UDATA);
	check_eq("  SYSEXIT: ESP = ECX", u_esp_after, u_esp);
	check_eq("  SYSEXIT: EIP = EDX", u_edx_after, (ulong)u_sysenter_ret);
	check_eq("  SYSEXIT: ECX kept", u_ecx_after, u_esp);
	check_eq("  SYSEXIT: EFLAGS as the kernel left them", u_flags_after, k_exit_flags);
	check(u_flags_after & EFL_CF, "  SYSEXIT: CF set by the kernel survives");
	check_eq("  SYSEXIT: DS unchanged", u_ds_after, SEL_UDATA);
	check_eq("  return value in EAX", ti.ax, 0x1334);
}

static void faults(void)
{
	struct trap_info ti;
	int c;

	c = user_run((ulong(*)(void))u_sysexit, &ti);
	check_trap("SYSEXIT at CPL 3: #GP(0)", c, &ti, VEC_GP, 0, (ulong)u_sysexit_insn);
	check_eq("  the #GP came from CPL 3", ti.cs, SEL_UCODE32);

	wrmsr(MSR_SYSENTER_CS, 0);
	c = user_run((ulong(*)(void))u_sysenter_plain, &ti);
	check_trap("SYSENTER with SYSENTER_CS = 0: #GP(0)", c, &ti, VEC_GP, 0,
		   (ulong)u_sysenter_plain_insn);
	check_eq("  the #GP came from CPL 3", ti.cs, SEL_UCODE32);
	c = trap_catch((void (*)(void *))(void *)k_sysexit, NULL, &ti);
	check_trap("SYSEXIT with SYSENTER_CS = 0: #GP(0)", c, &ti, VEC_GP, 0,
		   (ulong)k_sysexit_insn);
	wrmsr(MSR_SYSENTER_CS, SEL_KCODE);

	/* SYSENTER works again once SYSENTER_CS is back. */
	c = user_run((ulong(*)(void))u_sysenter, &ti);
	check(!c && ti.ax == 0x1334, "SYSENTER_CS restored: SYSENTER/SYSEXIT work again");
}

void guest_main(void)
{
	printf("sysenter: 32-bit SYSENTER/SYSEXIT between CPL 3 and CPL 0\n");
	if (!check(cpu_has_sep(), "CPUID.1:EDX.SEP"))
		return;
	msrs();
	round_trip(false);
	round_trip(true);
	faults();
	wrmsr(MSR_SYSENTER_CS, 0);
	wrmsr(MSR_SYSENTER_ESP, 0);
	wrmsr(MSR_SYSENTER_EIP, 0);
}
