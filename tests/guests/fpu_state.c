/* SPDX-License-Identifier: MIT */
/*
 * fpu_state: the x87/SSE state as the system sees it, in 32-bit protected mode. Which of
 * CR0.EM, CR0.TS and CR4.OSFXSR give #NM or #UD for x87 and SSE instructions, alignment #GP of
 * movaps and fxsave, #GP for reserved MXCSR bits, the power-on/fninit state, fxsave/fxrstor and
 * fnsave/frstor round trips (TOP, tags, registers, XMM, MXCSR), the status word after stack
 * faults and compares, and an unmasked SSE exception with CR4.OSXMMEXCPT clear (#UD).
 *
 * Relies on: SDM Vol.3 §2.5 (CR0.EM/TS/MP, CR4.OSFXSR/OSXMMEXCPT), §13.1.3, §13.4; Vol.1
 * §8.1.3-§8.1.7 (status word, TOP, tag word), §8.5.1.1 (stack faults), Table 10-2 (FXSAVE);
 * Vol.2 FXSAVE, FXRSTOR, FSAVE, FRSTOR, LDMXCSR, MOVAPS, FCOM, FINIT.
 * Known deviations of QEMU TCG accepted only on QEMU TCG (see README.md): no x87 stack faults
 * (IE|SF), no #GP for reserved MXCSR bits, no #UD for an unmasked SSE exception (it raises
 * none); a misaligned movaps is accepted too.
 */
#include "guest.h"
#include "trap.h"

/* referenced by the probes' asm */
uint8_t fx_a[512] __attribute__((aligned(16)));
uint8_t m128[32] __attribute__((aligned(16)));
const uint32_t reserved_mxcsr = 0x1f80 | (1u << 16);
const float one_f = 1.0f;
static uint8_t fx_b[512] __attribute__((aligned(16)));
static uint8_t fsave_img[108];

PROBE(p_fld1, ".globl p_fld1_insn\np_fld1_insn: fld1\n\tfstp %st(0)\n\tret");
extern char p_fld1_insn[];
PROBE(p_addps, ".globl p_addps_insn\np_addps_insn: addps %xmm1, %xmm0\n\tret");
extern char p_addps_insn[];
PROBE(p_movaps_mis, ".globl p_movaps_mis_insn\np_movaps_mis_insn: movaps m128+4, %xmm0\n\tret");
extern char p_movaps_mis_insn[];
PROBE(p_fxsave_mis, ".globl p_fxsave_mis_insn\np_fxsave_mis_insn: fxsave fx_a+8\n\tret");
extern char p_fxsave_mis_insn[];
PROBE(p_ldmxcsr_bad, ".globl p_ldmxcsr_bad_insn\np_ldmxcsr_bad_insn: ldmxcsr reserved_mxcsr\n"
		     "\tret");
extern char p_ldmxcsr_bad_insn[];
PROBE(p_fxsave, ".globl p_fxsave_insn\np_fxsave_insn: fxsave fx_a\n\tret");
extern char p_fxsave_insn[];
PROBE(p_divss0, "xorps %xmm1, %xmm1\n\tmovss one_f, %xmm0\n"
		".globl p_divss0_insn\np_divss0_insn: divss %xmm1, %xmm0\n\tret");
extern char p_divss0_insn[];

static uint16_t fnstsw(void)
{
	uint16_t sw;

	asm volatile("fnstsw %0" : "=m"(sw));
	return sw;
}

static void control_bits(void)
{
	struct trap_info ti;
	int c;

	write_cr0(read_cr0() | CR0_EM);
	c = trap_catch((probe_fn)p_fld1, NULL, &ti);
	check_trap("#NM fld1 with CR0.EM", c, &ti, VEC_NM, 0, (ulong)p_fld1_insn);
	c = trap_catch((probe_fn)p_addps, NULL, &ti);
	check_trap("#UD addps with CR0.EM", c, &ti, VEC_UD, 0, (ulong)p_addps_insn);
	write_cr0(read_cr0() & ~CR0_EM);

	write_cr4(read_cr4() & ~CR4_OSFXSR);
	c = trap_catch((probe_fn)p_addps, NULL, &ti);
	check_trap("#UD addps without CR4.OSFXSR", c, &ti, VEC_UD, 0, (ulong)p_addps_insn);
	write_cr4(read_cr4() | CR4_OSFXSR);

	write_cr0(read_cr0() | CR0_TS);
	c = trap_catch((probe_fn)p_addps, NULL, &ti);
	check_trap("#NM addps with CR0.TS", c, &ti, VEC_NM, 0, (ulong)p_addps_insn);
	c = trap_catch((probe_fn)p_fxsave, NULL, &ti);
	check_trap("#NM fxsave with CR0.TS", c, &ti, VEC_NM, 0, (ulong)p_fxsave_insn);
	asm volatile("clts");
	c = trap_catch((probe_fn)p_addps, NULL, &ti);
	check(!c, "addps after clts");

	c = trap_catch((probe_fn)p_movaps_mis, NULL, &ti);
	if (tcg_quirk(!c))
		check(true, "#GP(0) movaps from a misaligned address");
	else
		check_trap("#GP(0) movaps from a misaligned address", c, &ti, VEC_GP, 0,
			   (ulong)p_movaps_mis_insn);
	c = trap_catch((probe_fn)p_fxsave_mis, NULL, &ti);
	check_trap("#GP(0) fxsave to a misaligned address", c, &ti, VEC_GP, 0,
		   (ulong)p_fxsave_mis_insn);
	c = trap_catch((probe_fn)p_ldmxcsr_bad, NULL, &ti);
	if (tcg_quirk(!c)) {
		asm volatile("ldmxcsr %0" : : "m"((uint32_t){ 0x1f80 }));
		check(true, "#GP(0) ldmxcsr with a reserved bit");
	} else {
		check_trap("#GP(0) ldmxcsr with a reserved bit", c, &ti, VEC_GP, 0,
			   (ulong)p_ldmxcsr_bad_insn);
	}
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static void images(void)
{
	uint32_t mxcsr;
	uint16_t sw, cw;

	asm volatile("fninit\n\tfnstcw %0" : "=m"(cw));
	sw = fnstsw();
	check_eq("fninit: FCW", cw, 0x37f);
	check_eq("fninit: FSW", sw, 0);

	/* three values pushed: TOP = 5, physical registers 5, 6, 7 in use */
	asm volatile("fld1\n\tfldz\n\tfldpi");
	asm volatile("fxsave %0" : "=m"(fx_a));
	check_eq("fxsave: FSW.TOP after three pushes", (get16(fx_a + 2) >> 11) & 7, 5);
	check_eq("fxsave: abridged tag word", fx_a[4], 0xe0);
	check_eq("fxsave: ST(1) is +0.0 (exponent)", get16(fx_a + 32 + 16 + 8), 0);
	check_eq("fxsave: ST(2) is 1.0 (exponent)", get16(fx_a + 32 + 32 + 8), 0x3fff);
	check_eq("fxsave: MXCSR", get32(fx_a + 24), 0x1f80);

	/* round trip: clobber everything, fxrstor, save again, compare the x87 part */
	asm volatile("movups %0, %%xmm3" : : "m"(fx_a[32]));
	asm volatile("fxsave %0" : "=m"(fx_a));
	asm volatile("fninit\n\txorps %%xmm3, %%xmm3\n\tfld1" ::: "memory");
	asm volatile("fxrstor %0" : : "m"(fx_a));
	asm volatile("fxsave %0" : "=m"(fx_b));
	bool same = true;
	for (unsigned k = 0; k < 160 + 8 * 16; k++)
		if (k < 8 || k >= 24)
			same &= fx_a[k] == fx_b[k];
	check(same, "fxrstor then fxsave gives the same image (x87, MXCSR, XMM0-7)");

	/* fnsave: 108-byte image, then an initialised FPU; frstor brings the stack back */
	asm volatile("fnsave %0" : "=m"(fsave_img));
	asm volatile("fnstcw %0" : "=m"(cw));
	check_eq("fnsave: FCW afterwards (fninit)", cw, 0x37f);
	check_eq("fnsave: FSW.TOP in the image", (get16(fsave_img + 4) >> 11) & 7, 5);
	/* R0-R4 empty (11), R5 pi valid (00), R6 +0.0 zero (01), R7 1.0 valid (00) */
	check_eq("fnsave: full tag word", get16(fsave_img + 8), 0x13ff);
	asm volatile("frstor %0" : : "m"(fsave_img));
	sw = fnstsw();
	check_eq("frstor: TOP back", (sw >> 11) & 7, 5);
	asm volatile("fninit");

	asm volatile("stmxcsr %0" : "=m"(mxcsr));
	check_eq("MXCSR after the round trips", mxcsr, 0x1f80);
}

static void status(void)
{
	uint16_t sw;

	/* stack underflow: IE and SF with C1 = 0 */
	asm volatile("fninit\n\tfadd %%st(1), %%st\n\tfnstsw %0" : "=m"(sw));
	if (tcg_quirk(!(sw & 0x41)))
		check(true, "underflow: IE|SF, C1 clear");
	else
		check_eq("underflow: IE|SF, C1 clear", sw & 0x0241, 0x41);
	/* overflow: nine pushes, C1 = 1 */
	asm volatile("fninit\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\t"
		     "fld1\n\tfnstsw %0\n\tfninit"
		     : "=m"(sw));
	if (tcg_quirk(!(sw & 0x41)))
		check(true, "overflow: IE|SF, C1 set");
	else
		check_eq("overflow: IE|SF, C1 set", sw & 0x0241, 0x241);
	/* fcom 1.0 with 2.0: C3 = C2 = 0, C0 = 1 (less) */
	asm volatile("fninit\n\tfld1\n\tfld1\n\tfadd %%st(1), %%st\n\tfld1\n\tfcom %%st(1)\n\t"
		     "fnstsw %0\n\tfninit"
		     : "=m"(sw));
	check_eq("fcom 1.0, 2.0: C3 C2 C0", sw & 0x4500, 0x0100);
	/* fxam on an empty register: C3 and C0 (empty) */
	asm volatile("fninit\n\tfxam\n\tfnstsw %0" : "=m"(sw));
	check_eq("fxam on an empty ST(0): C3 C0", sw & 0x4500, 0x4100);
	asm volatile("fninit");
}

static void unmasked_sse(void)
{
	struct trap_info ti;
	uint32_t mxcsr;
	int c;

	write_cr4(read_cr4() & ~CR4_OSXMMEXCPT);
	asm volatile("ldmxcsr %0" : : "m"((uint32_t){ 0x1f80 & ~0x200u }));
	c = trap_catch((probe_fn)p_divss0, NULL, &ti);
	asm volatile("stmxcsr %0\n\tldmxcsr %1" : "=m"(mxcsr) : "m"((uint32_t){ 0x1f80 }));
	if (tcg_quirk(!c))
		check(true, "#UD for an unmasked SSE exception without CR4.OSXMMEXCPT");
	else
		check_trap("#UD for an unmasked SSE exception without CR4.OSXMMEXCPT", c, &ti,
			   VEC_UD, 0, (ulong)p_divss0_insn);
	check(mxcsr & 0x4, "  MXCSR.ZE set");
}

void guest_main(void)
{
	printf("fpu_state: CR0/CR4 control of x87 and SSE, FXSAVE and FSAVE images, FSW\n");
	if (!cpu_has_fxsr_sse()) {
		fail("CPUID reports no FXSR/SSE");
		return;
	}
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	control_bits();
	images();
	status();
	unmasked_sse();
}
