/* SPDX-License-Identifier: MIT */
#include "paging.h"

volatile ulong u_target;

#ifdef __x86_64__
PROBE(p_read, "movl (%rdi), %eax\n\tret");
PROBE(p_write, "movl $0x600df00d, (%rdi)\n\tret");
PROBE(p_call, "call *%rdi\n\tret");
PROBE(u_read, "movq u_target(%rip), %rcx\n\tmovl (%rcx), %eax\n\tret");
PROBE(u_write, "movq u_target(%rip), %rcx\n\tmovl $0x600df00d, (%rcx)\n\tret");
PROBE(u_call, "movq u_target(%rip), %rcx\n\tcall *%rcx\n\tret");
#else
PROBE(p_read, "movl 4(%esp), %ecx\n\tmovl (%ecx), %eax\n\tret");
PROBE(p_write, "movl 4(%esp), %ecx\n\tmovl $0x600df00d, (%ecx)\n\tret");
PROBE(p_call, "movl 4(%esp), %ecx\n\tcall *%ecx\n\tret");
PROBE(u_read, "movl u_target, %ecx\n\tmovl (%ecx), %eax\n\tret");
PROBE(u_write, "movl u_target, %ecx\n\tmovl $0x600df00d, (%ecx)\n\tret");
PROBE(u_call, "movl u_target, %ecx\n\tcall *%ecx\n\tret");
#endif

int probe_sup(void *probe, ulong addr, struct trap_info *ti)
{
	return trap_catch((probe_fn)probe, (void *)addr, ti);
}

int probe_user(void *probe, ulong addr, struct trap_info *ti)
{
	u_target = addr;
	return user_run((ulong(*)(void))probe, ti);
}

void expect_pf(const char *what, int c, const struct trap_info *ti, ulong err, ulong addr)
{
	if (check_trap(what, c, ti, VEC_PF, err, TRAP_ANY) && ti->cr2 != addr) {
		printf("  CR2 0x%lx, want 0x%lx\n", ti->cr2, addr);
		fail("%s: CR2", what);
	}
}

void expect_rsvd(const char *what, int c, const struct trap_info *ti, ulong err, ulong addr)
{
	if (tcg_quirk(c && ti->vector == VEC_PF && ti->error == (err & ~(ulong)PF_P) &&
		      ti->cr2 == addr))
		check(true, "%s", what);
	else
		expect_pf(what, c, ti, err, addr);
}
