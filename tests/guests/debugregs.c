/* SPDX-License-Identifier: MIT */
/*
 * debugregs: the debug registers in 32-bit protected mode. Data breakpoints of each length and
 * kind (write, read/write) and which accesses they match, several at once, DR6.Bn with single
 * step, an instruction breakpoint skipped with RF, general detect, the DR4/DR5 aliases with and
 * without CR4.DE, and mov DRn at CPL 3.
 *
 * Relies on: SDM Vol.3 §18.2 (DR0-DR7, DR7 R/W and LEN, DR6 B0-B3, BD, BS; CR4.DE and DR4/DR5),
 * §18.2.5 (breakpoint field recognition: the address's low bits under LEN are ignored),
 * §18.3.1 (instruction breakpoints are faults, data breakpoints traps after the access; RF;
 * general detect is a fault with DR7.GD cleared), §18.3.1.4 (single step with a data breakpoint
 * on the same instruction reports both).
 * Known deviations of QEMU TCG accepted only on QEMU TCG (see README.md): the low address bits
 * under LEN are not ignored, only the first matching breakpoint is reported in DR6, a store next
 * to a one-byte breakpoint may fire it, single step and a data breakpoint on one instruction are
 * not reported together, no general detect.
 */
#include "guest.h"
#include "trap.h"

#define DR6_BS (1u << 14)
#define DR6_BD (1u << 13)
#define DR7_GD (1u << 13)
#define CR4_DE (1u << 3)

/* DR7 for breakpoint n: L bit, R/W (1 write, 3 read/write), LEN (0: 1, 1: 2, 3: 4 bytes). */
#define DR7_BP(n, rw, len) ((1u << (2 * (n))) | (rw) << (16 + 4 * (n)) | (len) << (18 + 4 * (n)))

static uint8_t area[64] __attribute__((aligned(16)));

PROBE(p_store8, "movl 4(%esp), %eax\n\tmovb $0x5a, (%eax)\n.globl p_store8_after\n"
		"p_store8_after: ret");
extern char p_store8_after[];
PROBE(p_load8, "movl 4(%esp), %eax\n\tmovb (%eax), %al\n.globl p_load8_after\n"
	       "p_load8_after: ret");
extern char p_load8_after[];
PROBE(p_store32, "movl 4(%esp), %eax\n\tmovl $0x12345678, (%eax)\n.globl p_store32_after\n"
		 "p_store32_after: ret");
extern char p_store32_after[];
/* single step into an instruction that also hits a data breakpoint */
PROBE(p_step_store, "movl 4(%esp), %ecx\n\tpushf\n\torl $0x100, (%esp)\n\tpopf\n"
		    "\tmovb $1, (%ecx)\n.globl p_step_store_after\np_step_store_after: nop\n\tret");
extern char p_step_store_after[];
PROBE(p_ibp, "nop\n\tret");
PROBE(p_mov_dr0, ".globl p_mov_dr0_insn\np_mov_dr0_insn: movl %dr0, %eax\n\tret");
extern char p_mov_dr0_insn[];
PROBE(p_mov_dr4, ".globl p_mov_dr4_insn\np_mov_dr4_insn: movl %dr4, %eax\n\tret");
extern char p_mov_dr4_insn[];
PROBE(u_mov_dr7, ".globl u_mov_dr7_insn\nu_mov_dr7_insn: movl %dr7, %eax\n\tret");
extern char u_mov_dr7_insn[];

static ulong read_dr6(void)
{
	ulong v;

	asm volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}

static ulong read_dr7(void)
{
	ulong v;

	asm volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}

static void write_dr(int n, ulong v)
{
	switch (n) {
	case 0:
		asm volatile("mov %0, %%dr0" : : "r"(v));
		break;
	case 1:
		asm volatile("mov %0, %%dr1" : : "r"(v));
		break;
	case 2:
		asm volatile("mov %0, %%dr2" : : "r"(v));
		break;
	case 3:
		asm volatile("mov %0, %%dr3" : : "r"(v));
		break;
	case 6:
		asm volatile("mov %0, %%dr6" : : "r"(v));
		break;
	case 7:
		asm volatile("mov %0, %%dr7" : : "r"(v));
		break;
	}
}

/* Runs probe(arg) with DR7 = dr7 (DR6 cleared first) and returns whether it trapped. */
static int run_bp(void *probe, void *arg, ulong dr7, struct trap_info *ti)
{
	int c;

	write_dr(6, 0);
	write_dr(7, dr7);
	c = trap_catch((probe_fn)probe, arg, ti);
	write_dr(7, 0);
	return c;
}

static void lengths(void)
{
	static const struct {
		unsigned len_code, bytes;
	} lens[] = { { 0, 1 }, { 1, 2 }, { 3, 4 } };
	struct trap_info ti;
	int c;

	for (unsigned k = 0; k < 3; k++) {
		uint8_t *a = area + 16;
		unsigned n = lens[k].bytes;

		write_dr(0, (ulong)a);
		c = run_bp(p_store8, a + n - 1, DR7_BP(0, 1, lens[k].len_code), &ti);
		check_trap(n == 1   ? "#DB write breakpoint LEN 1: the byte (trap)"
			   : n == 2 ? "#DB write breakpoint LEN 2: the last byte (trap)"
				    : "#DB write breakpoint LEN 4: the last byte (trap)",
			   c, &ti, VEC_DB, 0, (ulong)p_store8_after);
		check((read_dr6() & 0xf) == 1, "  DR6.B0 set for LEN %u", n);
		c = run_bp(p_store8, a + n, DR7_BP(0, 1, lens[k].len_code), &ti);
		check(!c, "no #DB for a write just past a LEN %u breakpoint", n);
		c = run_bp(p_store8, a - 1, DR7_BP(0, 1, lens[k].len_code), &ti);
		check(!c, "no #DB for a write just before a LEN %u breakpoint", n);
	}
	/* DR0 one byte past the base: LEN 4 ignores the two low address bits */
	write_dr(0, (ulong)area + 17);
	c = run_bp(p_store8, area + 20, DR7_BP(0, 1, 3), &ti);
	if (tcg_quirk(c != 0))
		check(true, "no #DB past an unaligned LEN 4 breakpoint (the low bits are ignored)");
	else
		check(!c, "no #DB past an unaligned LEN 4 breakpoint (the low bits are ignored)");
	c = run_bp(p_store8, area + 16, DR7_BP(0, 1, 3), &ti);
	if (tcg_quirk(c == 0))
		check(true, "#DB at the aligned base of an unaligned LEN 4 breakpoint");
	else
		check_trap("#DB at the aligned base of an unaligned LEN 4 breakpoint", c, &ti,
			   VEC_DB, 0, (ulong)p_store8_after);
	/* a 4-byte store that only overlaps the breakpoint's last byte */
	write_dr(0, (ulong)area + 8);
	c = run_bp(p_store32, area + 11, DR7_BP(0, 1, 0), &ti);
	if (tcg_quirk(c != 0))
		check(true, "no #DB for a store that misses a one-byte breakpoint");
	else
		check(c == 0, "no #DB for a store that misses a one-byte breakpoint");
	c = run_bp(p_store32, area + 5, DR7_BP(0, 1, 3), &ti);
	check_trap("#DB for a store overlapping a LEN 4 breakpoint", c, &ti, VEC_DB, 0,
		   (ulong)p_store32_after);
}

static void kinds(void)
{
	struct trap_info ti;
	int c;

	write_dr(2, (ulong)area + 32);
	c = run_bp(p_load8, area + 32, DR7_BP(2, 1, 0), &ti);
	check(!c, "no #DB for a read with a write-only breakpoint");
	c = run_bp(p_load8, area + 32, DR7_BP(2, 3, 0), &ti);
	check_trap("#DB read/write breakpoint on a read (trap)", c, &ti, VEC_DB, 0,
		   (ulong)p_load8_after);
	check((read_dr6() & 0xf) == 4, "#DB read breakpoint sets DR6.B2 only");
	c = run_bp(p_store8, area + 32, DR7_BP(2, 3, 0), &ti);
	check_trap("#DB read/write breakpoint on a write (trap)", c, &ti, VEC_DB, 0,
		   (ulong)p_store8_after);

	/* two breakpoints on the same byte, a third elsewhere: B0 and B3, not B1 */
	write_dr(0, (ulong)area + 40);
	write_dr(1, (ulong)area + 48);
	write_dr(3, (ulong)area + 40);
	c = run_bp(p_store8, area + 40, DR7_BP(0, 1, 0) | DR7_BP(1, 1, 0) | DR7_BP(3, 3, 0), &ti);
	check_trap("#DB two data breakpoints on one write", c, &ti, VEC_DB, 0,
		   (ulong)p_store8_after);
	if (tcg_quirk((read_dr6() & 0xf) == 0x1))
		check(true, "  DR6 B0-B3");
	else
		check_eq("  DR6 B0-B3", read_dr6() & 0xf, 0x9);
	/* a disabled breakpoint register that matches does not fire */
	c = run_bp(p_store8, area + 48, DR7_BP(0, 1, 0), &ti);
	check(!c, "no #DB from a matching but disabled DR1");

	/* single step into a store that hits a breakpoint: one #DB with BS and B1 */
	write_dr(1, (ulong)area + 56);
	c = run_bp(p_step_store, area + 56, DR7_BP(1, 1, 0), &ti);
	ulong dr6 = read_dr6();
	if (tcg_quirk(!c || ti.ip != (ulong)p_step_store_after)) {
		check(true, "#DB single step and a data breakpoint together");
		check(true, "  DR6 BS and B0-B3");
	} else {
		check_trap("#DB single step and a data breakpoint together", c, &ti, VEC_DB, 0,
			   (ulong)p_step_store_after);
		check_eq("  DR6 BS and B0-B3", dr6 & (DR6_BS | 0xf), DR6_BS | 0x2);
	}
}

static volatile unsigned ibp_hits;

/* #DB handler for the RF test: count, then return with RF so the instruction runs once. */
static void db_resume(struct trap_frame *f)
{
	ibp_hits++;
	f->flags |= EFL_RF;
}

static void instruction_breakpoint(void)
{
	struct trap_info ti;
	int c;

	write_dr(0, (ulong)p_ibp);
	trap_set_handler(VEC_DB, db_resume);
	ibp_hits = 0;
	c = run_bp(p_ibp, NULL, DR7_BP(0, 0, 0), &ti);
	trap_set_handler(VEC_DB, NULL);
	check(!c, "instruction breakpoint, resumed with RF: the probe returns");
	check_eq("  #DB delivered once", ibp_hits, 1);
	check((read_dr6() & 0xf) == 1, "  DR6.B0 set");
}

static void general_detect(void)
{
	struct trap_info ti;
	int c;

	write_dr(6, 0);
	write_dr(7, DR7_GD);
	c = trap_catch((probe_fn)p_mov_dr0, NULL, &ti);
	if (tcg_quirk(!c)) {
		write_dr(7, 0);
		check(true, "#DB general detect on mov from DR0 (fault)");
		check(true, "  DR6.BD set");
		check(true, "  DR7.GD cleared by the #DB");
		return;
	}
	check_trap("#DB general detect on mov from DR0 (fault)", c, &ti, VEC_DB, 0,
		   (ulong)p_mov_dr0_insn);
	check(read_dr6() & DR6_BD, "  DR6.BD set");
	check(!(read_dr7() & DR7_GD), "  DR7.GD cleared by the #DB");
	write_dr(7, 0);
}

static void aliases(void)
{
	struct trap_info ti;
	ulong v;
	int c;

	write_dr(6, 0x1);
	write_cr4(read_cr4() & ~CR4_DE);
	asm volatile("mov %%dr4, %0" : "=r"(v));
	check_eq("DR4 reads DR6 without CR4.DE (B0)", v & 0xf, 0x1);
	write_cr4(read_cr4() | CR4_DE);
	c = trap_catch((probe_fn)p_mov_dr4, NULL, &ti);
	write_cr4(read_cr4() & ~CR4_DE);
	check_trap("#UD mov from DR4 with CR4.DE", c, &ti, VEC_UD, 0, (ulong)p_mov_dr4_insn);
	write_dr(6, 0);

	c = user_run((ulong(*)(void))u_mov_dr7, &ti);
	check_trap("#GP(0) mov from DR7 at CPL 3", c, &ti, VEC_GP, 0, (ulong)u_mov_dr7_insn);
}

void guest_main(void)
{
	printf("debugregs: data and instruction breakpoints, DR6, RF, general detect\n");
	for (int n = 0; n < 4; n++)
		write_dr(n, 0);
	write_dr(7, 0);
	lengths();
	kinds();
	instruction_breakpoint();
	general_detect();
	aliases();
}
