/* SPDX-License-Identifier: MIT */
/*
 * exceptions: raises every exception vector a guest can provoke in 32-bit protected mode and
 * checks the vector, the error code and the saved EIP: the faulting instruction for faults, the
 * next instruction for traps.
 *
 * Relies on: SDM Vol.3 §6.5 (faults vs traps), §6.13 (error code), §6.15 (exception reference:
 * #DE #DB #BP #OF #BR #UD #NM #DF #TS #NP #SS #GP #PF #MF #AC #XM), Table 6-5 (contributory
 * exceptions and #DF), §17.2 and §17.3.1 (debug registers, DR6/DR7, instruction vs data
 * breakpoints), §7.3 and Vol.2A IRET (task return through the back link), §8.1.5/§8.1.6 CR0.NE.
 * Known deviations of QEMU TCG accepted only on QEMU TCG (see README.md): int1 gives #UD, no #XM,
 * no #AC, no segment limit check behind the #SS case.
 */
#include "guest.h"
#include "desc.h"
#include "trap.h"

/* Each probe is a function (cdecl, may clobber eax/ecx/edx only) whose interesting instruction
 * has a label, so the expected EIP is known. */
PROBE(p_de, "xorl %ecx, %ecx\n\tmovl $1, %eax\n\txorl %edx, %edx\n"
	    ".globl p_de_insn\np_de_insn: divl %ecx\n\tret");
extern char p_de_insn[];
PROBE(p_de_ovf, "movl $2, %ecx\n\tmovl $4, %edx\n\txorl %eax, %eax\n"
		".globl p_de_ovf_insn\np_de_ovf_insn: divl %ecx\n\tret");
extern char p_de_ovf_insn[];
PROBE(p_tf, "pushf\n\torl $0x100, (%esp)\n\tpopf\n\tnop\n"
	    ".globl p_tf_after\np_tf_after: nop\n\tret");
extern char p_tf_after[];
PROBE(p_int1, ".byte 0xf1\n.globl p_int1_after\np_int1_after: ret");
extern char p_int1_after[];
PROBE(p_dbi, "nop\n\tret");
PROBE(p_dbw, "movl $1, db_var\n.globl p_dbw_after\np_dbw_after: ret");
extern char p_dbw_after[];
PROBE(p_int3, "int3\n.globl p_int3_after\np_int3_after: ret");
extern char p_int3_after[];
PROBE(p_int_3, "int $3\n.globl p_int_3_after\np_int_3_after: ret");
extern char p_int_3_after[];
PROBE(p_into1, "movl $0x7fffffff, %eax\n\taddl $1, %eax\n\tinto\n"
	       ".globl p_into1_after\np_into1_after: ret");
extern char p_into1_after[];
PROBE(p_into0, "xorl %eax, %eax\n\tinto\n\tret");
PROBE(p_bound_out, "movl $11, %eax\n.globl p_bound_insn\np_bound_insn: bound %eax, bounds\n\tret");
extern char p_bound_insn[];
PROBE(p_bound_in, "movl $10, %eax\n\tbound %eax, bounds\n\tret");
PROBE(p_ud2, "ud2\n\tret");
PROBE(p_fldz, "fldz\n\tret");
PROBE(p_fwait, "fwait\n\tret");
PROBE(p_gp_sel, "movw $0x1f8, %ax\n.globl p_gp_sel_insn\np_gp_sel_insn: movw %ax, %ds\n\tret");
extern char p_gp_sel_insn[];
PROBE(p_iret_nt, "pushf\n\torl $0x4000, (%esp)\n\tpopf\n"
		 ".globl p_iret_nt_insn\np_iret_nt_insn: iret\n\tret");
extern char p_iret_nt_insn[];
PROBE(p_np_seg, "movw $0x40, %ax\n.globl p_np_seg_insn\np_np_seg_insn: movw %ax, %es\n\tret");
extern char p_np_seg_insn[];
PROBE(p_np_gate, "int $0x41\n\tret");
PROBE(p_ss, "movw $0x48, %ax\n\tmovw %ss, %dx\n\tmovw %ax, %ss\n"
	    ".globl p_ss_insn\np_ss_insn: movl %ss:0x1000, %eax\n\tmovw %dx, %ss\n\tret");
extern char p_ss_insn[];
PROBE(p_pf_read, ".globl p_pf_read_insn\np_pf_read_insn: movl 0x00700010, %eax\n\tret");
extern char p_pf_read_insn[];
PROBE(p_pf_write, ".globl p_pf_write_insn\np_pf_write_insn: movl %eax, 0x00700ffc\n\tret");
extern char p_pf_write_insn[];
PROBE(p_mf, "fld1\n\tfdivl zero_double\n.globl p_mf_insn\np_mf_insn: fwait\n\tret");
extern char p_mf_insn[];
PROBE(p_xm, "xorps %xmm1, %xmm1\n\tmovss one_float, %xmm0\n"
	    ".globl p_xm_insn\np_xm_insn: divss %xmm1, %xmm0\n\tret");
extern char p_xm_insn[];
PROBE(p_int42, "int $0x42\n.globl p_int42_after\np_int42_after: ret");
extern char p_int42_after[];

/* User-mode probes (run by user_run at CPL 3). */
PROBE(u_hlt, ".globl u_hlt_insn\nu_hlt_insn: hlt\n\tret");
extern char u_hlt_insn[];
PROBE(u_int40, ".globl u_int40_insn\nu_int40_insn: int $0x40\n\tret");
extern char u_int40_insn[];
PROBE(u_in, "movw $0x3f8, %dx\n.globl u_in_insn\nu_in_insn: inb %dx, %al\n\tret");
extern char u_in_insn[];
PROBE(u_ac, "pushf\n\torl $0x40000, (%esp)\n\tpopf\n\tmovl %esp, %ecx\n"
	    ".globl u_ac_insn\nu_ac_insn: movl 1(%ecx), %eax\n"
	    "\tpushf\n\tandl $~0x40000, (%esp)\n\tpopf\n\tret");
extern char u_ac_insn[];

uint32_t db_var __attribute__((aligned(4)));
int32_t bounds[2] = { 0, 10 };
const double zero_double = 0.0;
const float one_float = 1.0f;

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t page_tables[2][1024] __attribute__((aligned(4096)));



static int run(void *probe, struct trap_info *ti)
{
	return trap_catch((probe_fn)probe, NULL, ti);
}

static void debug_exceptions(void)
{
	struct trap_info ti;
	int c;

	/* DR0-DR3 hold whatever firmware left; only enabled breakpoints may fire, but clear them. */
	for (c = 0; c < 4; c++)
		write_dr(c, 0);
	write_dr(7, 0);
	write_dr(6, 0);
	c = run(p_tf, &ti);
	check_trap("#DB single step after popf sets TF (trap)", c, &ti, VEC_DB, 0, (ulong)p_tf_after);
	check(read_dr6() & (1u << 14), "#DB single step sets DR6.BS");

	c = run(p_int1, &ti);
	if (tcg_quirk(c && ti.vector == VEC_UD && ti.ip == (ulong)p_int1))
		check(true, "#DB int1 (trap)");
	else
		check_trap("#DB int1 (trap)", c, &ti, VEC_DB, 0, (ulong)p_int1_after);

	write_dr(6, 0);
	write_dr(0, (ulong)p_dbi);
	write_dr(7, 0x1); /* L0, execute, 1 byte */
	c = run(p_dbi, &ti);
	write_dr(7, 0);
	check_trap("#DB instruction breakpoint DR0 (fault)", c, &ti, VEC_DB, 0, (ulong)p_dbi);
	check((read_dr6() & 0xf) == 0x1, "#DB instruction breakpoint sets DR6.B0 only");

	write_dr(6, 0);
	write_dr(1, (ulong)&db_var);
	write_dr(7, 0x4 | 1u << 20 | 3u << 22); /* L1, write, 4 bytes */
	c = run(p_dbw, &ti);
	write_dr(7, 0);
	check_trap("#DB data write breakpoint DR1 (trap)", c, &ti, VEC_DB, 0, (ulong)p_dbw_after);
	check((read_dr6() & 0xf) == 0x2, "#DB data breakpoint sets DR6.B1 only");
	check_eq("#DB data breakpoint: the write happened", db_var, 1);
}

static void fpu_exceptions(void)
{
	struct trap_info ti;
	uint32_t mxcsr;
	uint16_t fsw;
	int c;

	write_cr0((read_cr0() & ~CR0_EM) | CR0_TS);
	c = run(p_fldz, &ti);
	check_trap("#NM fldz with CR0.TS (fault)", c, &ti, VEC_NM, 0, (ulong)p_fldz);
	write_cr0(read_cr0() | CR0_TS | CR0_MP);
	c = run(p_fwait, &ti);
	check_trap("#NM fwait with CR0.MP and CR0.TS (fault)", c, &ti, VEC_NM, 0, (ulong)p_fwait);
	write_cr0(read_cr0() & ~CR0_MP);
	c = run(p_fwait, &ti);
	check(!c, "no #NM for fwait with CR0.TS but not CR0.MP");
	asm volatile("clts");

	write_cr0(read_cr0() | CR0_NE | CR0_MP);
	asm volatile("fninit\n\tfldcw %0" : : "m"((uint16_t){ 0x037b })); /* unmask ZE only */
	c = run(p_mf, &ti);
	asm volatile("fnstsw %0\n\tfnclex\n\tfninit" : "=m"(fsw));
	check_trap("#MF x87 divide by zero at the next fwait (fault)", c, &ti, VEC_MF, 0,
		   (ulong)p_mf_insn);
	check((fsw & 0x84) == 0x84, "#MF: FSW.ZE and FSW.ES set");

	if (!cpu_has_fxsr_sse()) {
		fail("#XM: CPUID reports no SSE");
		return;
	}
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	asm volatile("ldmxcsr %0" : : "m"((uint32_t){ 0x1f80 & ~0x200u })); /* unmask ZM */
	c = run(p_xm, &ti);
	asm volatile("stmxcsr %0\n\tldmxcsr %1" : "=m"(mxcsr) : "m"((uint32_t){ 0x1f80 }));
	if (tcg_quirk(!c))
		check(true, "#XM SSE divide by zero (fault)");
	else
		check_trap("#XM SSE divide by zero (fault)", c, &ti, VEC_XM, 0, (ulong)p_xm_insn);
	check(mxcsr & 0x4, "#XM: MXCSR.ZE set");
}

static void identity_paging(void)
{
	unsigned i, t;

	for (t = 0; t < 2; t++) {
		for (i = 0; i < 1024; i++)
			page_tables[t][i] = (t * 1024 + i) * PAGE_SIZE | 0x3;
		page_dir[t] = (uint32_t)(ulong)page_tables[t] | 0x3;
	}
	page_tables[1][0x300] = 0; /* 0x00700000 is not present */
	write_cr3((ulong)page_dir);
	write_cr0(read_cr0() | CR0_PG);
}

static void segment_exceptions(void)
{
	struct trap_info ti;
	int c;

	/* Descriptor for #NP: present bit clear. */
	gdt_set(8, seg_desc(0, 0xfffff, SEG_DATA32(0) & ~SEG_P));
	/* Expand-down, 32-bit (B=1) stack segment, byte granular, limit 0xfffff: valid offsets are
	 * 0x100000..0xffffffff (SDM Vol.3 §5.3), so the current ESP works but offset 0x1000 does
	 * not. */
	gdt_set(9, seg_desc(0, 0xfffff, SEG_P | SEG_S | SEG_RW | SEG_EXPDN | SEG_DB));

	c = run(p_gp_sel, &ti);
	check_trap("#GP selector beyond the GDT limit (fault)", c, &ti, VEC_GP, 0x1f8,
		   (ulong)p_gp_sel_insn);
	c = run(p_np_seg, &ti);
	check_trap("#NP not-present data segment (fault)", c, &ti, VEC_NP, 0x40,
		   (ulong)p_np_seg_insn);
	idt_set_present(0x41, false);
	c = run(p_np_gate, &ti);
	idt_set_present(0x41, true);
	check_trap("#NP int to a not-present gate (IDT bit)", c, &ti, VEC_NP, 0x41 << 3 | ERR_IDT,
		   (ulong)p_np_gate);
	c = run(p_ss, &ti);
	if (tcg_quirk(!c))
		check(true, "#SS(0) expand-down stack segment, offset below the limit");
	else
		check_trap("#SS(0) expand-down stack segment, offset below the limit", c, &ti,
			   VEC_SS, 0, (ulong)p_ss_insn);

	/* IRET with NT set returns to the task in the TSS back link; a back link with TI = 1 is
	 * #TS(selector) (Vol.2A IRET, TASK-RETURN). */
	tss.link = 0x44;
	c = run(p_iret_nt, &ti);
	tss.link = 0;
	check_trap("#TS iret with NT and a back link into the LDT (fault)", c, &ti, VEC_TS, 0x44,
		   (ulong)p_iret_nt_insn);

	/* #GP while its own gate is not present: #NP during #GP delivery, two contributory
	 * exceptions make #DF with error code 0 (SDM Vol.3 Table 6-5). CS:EIP is undefined. */
	idt_set_present(VEC_GP, false);
	c = run(p_gp_sel, &ti);
	idt_set_present(VEC_GP, true);
	check_trap("#DF from #NP while delivering #GP", c, &ti, VEC_DF, 0, TRAP_ANY);
}

static void user_exceptions(void)
{
	struct trap_info ti;
	int c;

	c = user_run((ulong(*)(void))u_hlt, &ti);
	check_trap("#GP(0) hlt at CPL 3", c, &ti, VEC_GP, 0, (ulong)u_hlt_insn);
	c = user_run((ulong(*)(void))u_int40, &ti);
	check_trap("#GP int to a DPL 0 gate from CPL 3 (IDT bit)", c, &ti, VEC_GP,
		   0x40 << 3 | ERR_IDT, (ulong)u_int40_insn);
	c = user_run((ulong(*)(void))u_in, &ti);
	check_trap("#GP(0) in at CPL 3 with IOPL 0 and no I/O bitmap", c, &ti, VEC_GP, 0,
		   (ulong)u_in_insn);

	/* #AC needs CR0.AM, EFLAGS.AC and CPL 3 (SDM Vol.3 §6.15 interrupt 17). */
	write_cr0(read_cr0() | CR0_AM);
	c = user_run((ulong(*)(void))u_ac, &ti);
	write_cr0(read_cr0() & ~CR0_AM);
	if (tcg_quirk(!c))
		check(true, "#AC misaligned load at CPL 3 (fault)");
	else
		check_trap("#AC misaligned load at CPL 3 (fault)", c, &ti, VEC_AC, 0,
			   (ulong)u_ac_insn);
}

void guest_main(void)
{
	struct trap_info ti;
	int c;

	printf("exceptions: vectors, error codes and saved EIP in protected mode\n");

	c = run(p_de, &ti);
	check_trap("#DE divide by zero (fault)", c, &ti, VEC_DE, 0, (ulong)p_de_insn);
	c = run(p_de_ovf, &ti);
	check_trap("#DE quotient too large (fault)", c, &ti, VEC_DE, 0, (ulong)p_de_ovf_insn);

	debug_exceptions();

	c = run(p_int3, &ti);
	check_trap("#BP int3 (trap)", c, &ti, VEC_BP, 0, (ulong)p_int3_after);
	c = run(p_int_3, &ti);
	check_trap("#BP int $3 (trap)", c, &ti, VEC_BP, 0, (ulong)p_int_3_after);
	c = run(p_into1, &ti);
	check_trap("#OF into with OF=1 (trap)", c, &ti, VEC_OF, 0, (ulong)p_into1_after);
	c = run(p_into0, &ti);
	check(!c, "no #OF for into with OF=0");
	c = run(p_bound_out, &ti);
	check_trap("#BR bound out of range (fault)", c, &ti, VEC_BR, 0, (ulong)p_bound_insn);
	c = run(p_bound_in, &ti);
	check(!c, "no #BR for bound in range");
	c = run(p_ud2, &ti);
	check_trap("#UD ud2 (fault)", c, &ti, VEC_UD, 0, (ulong)p_ud2);
	c = run(p_int42, &ti);
	check_trap("int $0x42 through a DPL 0 gate at CPL 0", c, &ti, 0x42, 0, (ulong)p_int42_after);

	fpu_exceptions();
	segment_exceptions();
	user_exceptions();

	identity_paging();
	c = run(p_pf_read, &ti);
	check_trap("#PF read of a not-present page (fault)", c, &ti, VEC_PF, 0, (ulong)p_pf_read_insn);
	check_eq("#PF read: CR2", ti.cr2, 0x00700010);
	c = run(p_pf_write, &ti);
	check_trap("#PF write to a not-present page (fault)", c, &ti, VEC_PF, PF_W,
		   (ulong)p_pf_write_insn);
	check_eq("#PF write: CR2", ti.cr2, 0x00700ffc);
}
