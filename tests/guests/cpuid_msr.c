/* SPDX-License-Identifier: MIT */
/*
 * cpuid_msr: CPUID facts every x86-64 CPU model a VMM offers here must agree on (never the
 * vendor, family, model or any other CPU-specific value), and RDMSR/WRMSR round trips: the
 * SYSENTER MSRs, PAT (reset value, round trip, a reserved memory type), EFER (SCE and NXE
 * toggles, LME without paging, a reserved bit), the syscall and segment-base MSRs, the TSC
 * (written, then read back within a window; written backwards), IA32_APIC_BASE, an unknown MSR
 * index (#GP(0) on RDMSR and WRMSR), RDMSR/WRMSR at CPL 3 (#GP(0)) and RDTSC at CPL 3 under
 * CR4.TSD.
 *
 * Relies on: SDM Vol.2A CPUID (leaf 0, leaf 1 EDX bits 4 TSC, 5 MSR, 6 PAE, 9 APIC, EBX[31:24]
 * initial APIC ID; leaf 0x80000000; leaf 0x80000001 EDX bits 20 NX and 29 LM), Vol.2B RDMSR/
 * WRMSR (#GP(0) for a reserved or unimplemented MSR, or at CPL > 0), RDTSC (#GP(0) at CPL > 0
 * with CR4.TSD = 1), Vol.3 §11.12.2 and Table 11-12 (PAT reset value 0x0007040600070406,
 * reserved types 2 and 3 give #GP), §2.2.1 and Table 2-2 (EFER), §17.17 (TSC; a write to
 * IA32_TSC sets the counter), §10.4.4 (IA32_APIC_BASE: BSP flag, enable, 0xFEE00000), Vol.4
 * (architectural MSR indices).
 * Known deviations of QEMU TCG accepted only on QEMU TCG (guest.h, tcg_quirk): it raises no #GP
 * for an unknown MSR index (reads give 0, writes are dropped), for a reserved PAT type or for a
 * reserved EFER bit; and it reads IA32_TSC as 0 and drops writes to it (QEMU 7.2).
 */
#include "guest.h"
#include "desc.h"
#include "pc.h"
#include "trap.h"

#define CPUID_1_EDX_TSC	 (1u << 4)
#define CPUID_1_EDX_MSR	 (1u << 5)
#define CPUID_1_EDX_PAE	 (1u << 6)
#define CPUID_1_EDX_APIC (1u << 9)
#define CPUID_81_EDX_NX	 (1u << 20)
#define CPUID_81_EDX_LM	 (1u << 29)

#define MSR_TSC		0x10
#define MSR_UNKNOWN	0x2ff7 /* outside every architectural and model-specific range here */
#define MSR_UNKNOWN_HI	0xc0001fff
#define PAT_RESET	0x0007040600070406ull
#define CR4_TSD		(1u << 2)

struct msr_op {
	uint32_t idx, lo, hi;
};

/* p_rdmsr(struct msr_op *): reads op->idx into op->lo/hi. */
PROBE(p_rdmsr, "pushl %ebx\n\t"
	       "movl 8(%esp), %ebx\n\t"
	       "movl (%ebx), %ecx\n"
	       ".globl p_rdmsr_insn\np_rdmsr_insn: rdmsr\n\t"
	       "movl %eax, 4(%ebx)\n\t"
	       "movl %edx, 8(%ebx)\n\t"
	       "popl %ebx\n\t"
	       "ret");
extern char p_rdmsr_insn[];
/* p_wrmsr(struct msr_op *): writes op->lo/hi to op->idx. */
PROBE(p_wrmsr, "movl 4(%esp), %ecx\n\t"
	       "movl 4(%ecx), %eax\n\t"
	       "movl 8(%ecx), %edx\n\t"
	       "movl (%ecx), %ecx\n"
	       ".globl p_wrmsr_insn\np_wrmsr_insn: wrmsr\n\t"
	       "ret");
extern char p_wrmsr_insn[];
/* User probes: CPL 3. */
PROBE(u_rdmsr, "movl $0x1b, %ecx\n"
	       ".globl u_rdmsr_insn\nu_rdmsr_insn: rdmsr\n\t"
	       "ret");
extern char u_rdmsr_insn[];
PROBE(u_wrmsr, "movl $0x174, %ecx\n\t"
	       "xorl %eax, %eax\n\t"
	       "xorl %edx, %edx\n"
	       ".globl u_wrmsr_insn\nu_wrmsr_insn: wrmsr\n\t"
	       "ret");
extern char u_wrmsr_insn[];
PROBE(u_rdtsc, ".globl u_rdtsc_insn\nu_rdtsc_insn: rdtsc\n\t"
	       "movl $1, %eax\n\t"
	       "ret");
extern char u_rdtsc_insn[];
PROBE(u_cpuid, "pushl %ebx\n\t"
	       "xorl %eax, %eax\n\t"
	       "xorl %ecx, %ecx\n\t"
	       "cpuid\n\t"
	       "popl %ebx\n\t"
	       "ret"); /* returns the max basic leaf */

static int try_rdmsr(uint32_t idx, uint64_t *v, struct trap_info *ti)
{
	struct msr_op op = { idx, 0, 0 };
	int c = trap_catch((void (*)(void *))(void *)p_rdmsr, &op, ti);

	*v = (uint64_t)op.hi << 32 | op.lo;
	return c;
}

static int try_wrmsr(uint32_t idx, uint64_t v, struct trap_info *ti)
{
	struct msr_op op = { idx, (uint32_t)v, (uint32_t)(v >> 32) };

	return trap_catch((void (*)(void *))(void *)p_wrmsr, &op, ti);
}

static bool printable(uint32_t w)
{
	unsigned i;

	for (i = 0; i < 4; i++) {
		uint8_t ch = (uint8_t)(w >> (8 * i));

		if (ch < 0x20 || ch > 0x7e)
			return false;
	}
	return true;
}

static void cpuid_facts(void)
{
	struct cpuid_regs r0 = cpuid(0, 0), r0b = cpuid(0, 7), r1, e0, e1;

	check(r0.eax >= 1, "CPUID.0: max basic leaf >= 1");
	check(printable(r0.ebx) && printable(r0.edx) && printable(r0.ecx),
	      "CPUID.0: vendor is 12 printable characters");
	check(r0.eax == r0b.eax && r0.ebx == r0b.ebx && r0.ecx == r0b.ecx && r0.edx == r0b.edx,
	      "CPUID.0 ignores ECX");
	r1 = cpuid(1, 0);
	check(r1.edx & CPUID_1_EDX_TSC, "CPUID.1:EDX.TSC");
	check(r1.edx & CPUID_1_EDX_MSR, "CPUID.1:EDX.MSR");
	check(r1.edx & CPUID_1_EDX_PAE, "CPUID.1:EDX.PAE");
	check(r1.edx & CPUID_1_EDX_APIC, "CPUID.1:EDX.APIC");
	check((r1.ebx >> 24) == (lapic_read(LAPIC_ID) >> 24),
	      "CPUID.1:EBX initial APIC ID matches the local APIC ID register");
	e0 = cpuid(0x80000000, 0);
	check(e0.eax >= 0x80000001 && e0.eax < 0x80000100, "CPUID.80000000: max extended leaf");
	e1 = cpuid(0x80000001, 0);
	check(e1.edx & CPUID_81_EDX_LM, "CPUID.80000001:EDX.LM");
	check(e1.edx & CPUID_81_EDX_NX, "CPUID.80000001:EDX.NX");
}

static void round_trip(const char *what, uint32_t idx, uint64_t v)
{
	struct trap_info ti;
	uint64_t got;
	int c;

	c = try_wrmsr(idx, v, &ti);
	if (!c)
		c = try_rdmsr(idx, &got, &ti);
	if (c) {
		printf("%s: FAIL (vector %u err 0x%lx at ip 0x%lx)\n", what, ti.vector, ti.error,
		       ti.ip);
		note_failure();
		return;
	}
	check_eq(what, got, v);
}

static void expect_gp(const char *what, int c, const struct trap_info *ti, const char *insn)
{
	check_trap(what, c, ti, VEC_GP, 0, (ulong)insn);
}

static void msr_basics(void)
{
	struct trap_info ti;
	uint64_t v, old;
	int c;

	round_trip("SYSENTER_CS round trip", MSR_SYSENTER_CS, 0x0008);
	round_trip("SYSENTER_CS round trip (other value)", MSR_SYSENTER_CS, 0xabc8);
	round_trip("SYSENTER_ESP round trip", MSR_SYSENTER_ESP, 0x12345678);
	round_trip("SYSENTER_EIP round trip", MSR_SYSENTER_EIP, 0x9abcdef0);
	round_trip("SYSENTER_ESP round trip, zero", MSR_SYSENTER_ESP, 0);

	v = rdmsr(MSR_PAT);
	check_eq("PAT holds its reset value", v, PAT_RESET);
	round_trip("PAT round trip", MSR_PAT, 0x0001050400070106ull);
	c = try_wrmsr(MSR_PAT, 0x0007040600070402ull, &ti); /* PA0 = 2, reserved */
	if (tcg_quirk(!c))
		check(true, "PAT reserved memory type 2: #GP(0)");
	else
		expect_gp("PAT reserved memory type 2: #GP(0)", c, &ti, p_wrmsr_insn);
	c = try_wrmsr(MSR_PAT, PAT_RESET, &ti);
	check(!c && rdmsr(MSR_PAT) == PAT_RESET, "PAT back to its reset value");

	old = rdmsr(MSR_EFER);
	check_eq("EFER: LME, LMA and NXE clear after boot", old & (EFER_LME | EFER_LMA | EFER_NXE), 0);
	wrmsr(MSR_EFER, old | EFER_NXE);
	check_eq("EFER.NXE set", rdmsr(MSR_EFER), old | EFER_NXE);
	wrmsr(MSR_EFER, old & ~(uint64_t)EFER_NXE);
	check_eq("EFER.NXE clear", rdmsr(MSR_EFER), old & ~(uint64_t)EFER_NXE);
	wrmsr(MSR_EFER, old | EFER_SCE);
	check_eq("EFER.SCE set", rdmsr(MSR_EFER), old | EFER_SCE);
	wrmsr(MSR_EFER, old | EFER_LME);
	check_eq("EFER.LME set with paging off: LMA stays clear", rdmsr(MSR_EFER), old | EFER_LME);
	wrmsr(MSR_EFER, old);
	check_eq("EFER restored", rdmsr(MSR_EFER), old);
	c = try_wrmsr(MSR_EFER, old | (1u << 1), &ti); /* bit 1 is reserved */
	if (tcg_quirk(!c && rdmsr(MSR_EFER) == old))
		check(true, "EFER reserved bit 1: #GP(0)");
	else
		expect_gp("EFER reserved bit 1: #GP(0)", c, &ti, p_wrmsr_insn);
	wrmsr(MSR_EFER, old);

	round_trip("STAR round trip", MSR_STAR, 0x0023001000089abcull);
	round_trip("LSTAR round trip (canonical)", MSR_LSTAR, 0xffff800012345678ull);
	round_trip("CSTAR round trip (canonical)", MSR_CSTAR, 0x00007fff87654321ull);
	round_trip("SFMASK round trip", MSR_SFMASK, 0x00047700);
	round_trip("FS_BASE round trip", MSR_FS_BASE, 0x0000123456789000ull);
	round_trip("GS_BASE round trip", MSR_GS_BASE, 0xfffff00000001000ull);
	round_trip("KERNEL_GS_BASE round trip", MSR_KERNEL_GS_BASE, 0x00000000deadb000ull);
	wrmsr(MSR_STAR, 0);
	wrmsr(MSR_LSTAR, 0);
	wrmsr(MSR_CSTAR, 0);
	wrmsr(MSR_SFMASK, 0);
	wrmsr(MSR_FS_BASE, 0);
	wrmsr(MSR_GS_BASE, 0);
	wrmsr(MSR_KERNEL_GS_BASE, 0);

	v = rdmsr(MSR_APIC_BASE);
	check_eq("APIC_BASE: base 0xfee00000, enabled, BSP", v & 0xfffff000ull,
		 0xfee00000ull);
	check((v & (1u << 11)) && (v & (1u << 8)), "APIC_BASE: enable and BSP flags set");
}

static void tsc(void)
{
	const uint64_t base = 0x0000123400000000ull, window = 1ull << 36;
	uint64_t t1, t2, t3;
	bool quirk;

	t1 = rdtsc();
	t2 = rdmsr(MSR_TSC);
	t3 = rdtsc();
	/* QEMU TCG (7.2) reads IA32_TSC as 0 and drops writes to it. */
	quirk = tcg_quirk(t2 == 0);
	check((t1 <= t2 && t2 <= t3) || quirk, "RDTSC, RDMSR(IA32_TSC), RDTSC do not go backwards");

	wrmsr(MSR_TSC, base);
	t1 = rdtsc();
	check((t1 >= base && t1 - base < window) || quirk,
	      "TSC written, RDTSC reads back within the window");
	t2 = rdmsr(MSR_TSC);
	check((t2 >= t1 && t2 - base < window) || quirk,
	      "TSC written, RDMSR reads back within the window");
	wrmsr(MSR_TSC, 0x1000);
	t3 = rdtsc();
	check((t3 >= 0x1000 && t3 < t1) || quirk, "TSC written backwards: RDTSC follows");
	t1 = rdtsc();
	t2 = rdtsc();
	check(t2 >= t1, "RDTSC does not go backwards");
}

static void faults(void)
{
	struct trap_info ti;
	uint64_t v;
	int c;

	c = try_rdmsr(MSR_UNKNOWN, &v, &ti);
	if (tcg_quirk(!c && v == 0))
		check(true, "RDMSR of an unknown MSR: #GP(0)");
	else
		expect_gp("RDMSR of an unknown MSR: #GP(0)", c, &ti, p_rdmsr_insn);
	c = try_wrmsr(MSR_UNKNOWN, 0x1234, &ti);
	if (tcg_quirk(!c))
		check(true, "WRMSR of an unknown MSR: #GP(0)");
	else
		expect_gp("WRMSR of an unknown MSR: #GP(0)", c, &ti, p_wrmsr_insn);
	c = try_rdmsr(MSR_UNKNOWN_HI, &v, &ti);
	if (tcg_quirk(!c && v == 0))
		check(true, "RDMSR of an unknown MSR in the 0xc0000000 range: #GP(0)");
	else
		expect_gp("RDMSR of an unknown MSR in the 0xc0000000 range: #GP(0)", c, &ti,
			  p_rdmsr_insn);

	c = user_run((ulong(*)(void))u_rdmsr, &ti);
	check_trap("RDMSR at CPL 3: #GP(0)", c, &ti, VEC_GP, 0, (ulong)u_rdmsr_insn);
	c = user_run((ulong(*)(void))u_wrmsr, &ti);
	check_trap("WRMSR at CPL 3: #GP(0)", c, &ti, VEC_GP, 0, (ulong)u_wrmsr_insn);
	c = user_run((ulong(*)(void))u_cpuid, &ti);
	check(!c && ti.ax == cpuid(0, 0).eax, "CPUID at CPL 3 works");
	c = user_run((ulong(*)(void))u_rdtsc, &ti);
	check(!c && ti.ax == 1, "RDTSC at CPL 3 with CR4.TSD=0 works");
	write_cr4(read_cr4() | CR4_TSD);
	c = user_run((ulong(*)(void))u_rdtsc, &ti);
	write_cr4(read_cr4() & ~CR4_TSD);
	check_trap("RDTSC at CPL 3 with CR4.TSD=1: #GP(0)", c, &ti, VEC_GP, 0,
		   (ulong)u_rdtsc_insn);
	write_cr4(read_cr4() | CR4_TSD);
	v = rdtsc();
	write_cr4(read_cr4() & ~CR4_TSD);
	check(v != 0, "RDTSC at CPL 0 with CR4.TSD=1 works");
}

void guest_main(void)
{
	printf("cpuid_msr: CPUID facts, MSR round trips, TSC, #GP for bad MSR accesses\n");
	cpuid_facts();
	msr_basics();
	tsc();
	faults();
}
