/* SPDX-License-Identifier: MIT */
/*
 * hello: the smallest guest, for bringing up a new accelerator. Prints a line, checks that the
 * runtime's GDT/IDT/TSS are loaded and that a caught exception (ud2) comes back through
 * trap_catch(), then prints PASS.
 * Relies on: Multiboot 0.6.96 §3.2 (machine state), SDM Vol.3 §3.5.1 (GDTR), §6.10 (IDTR),
 * Vol.2B UD2.
 */
#include "guest.h"
#include "desc.h"
#include "trap.h"

extern char hello_ud2[];
static void do_ud2(void *arg)
{
	(void)arg;
	asm volatile(".globl hello_ud2\nhello_ud2: ud2");
}

void guest_main(void)
{
	struct trap_info ti;
	int caught;

	printf("hello from a cove test guest\n");
	check_eq("CS is the runtime's code selector", read_cs(), SEL_KCODE);
	check_eq("SS is the runtime's data selector", read_ss(), SEL_KDATA);
	check(read_cr0() & CR0_PE, "CR0.PE set");
	caught = trap_catch(do_ud2, NULL, &ti);
	check_trap("ud2 raises #UD at the ud2", caught, &ti, VEC_UD, 0, (ulong)hello_ud2);
	printf("cmdline param answer=%u\n", (unsigned)mb_param("answer", 42));
}
