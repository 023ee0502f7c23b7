/* SPDX-License-Identifier: MIT */
/*
 * segments: protected-mode segmentation. Segment limits (byte and page granular), expand-down
 * data segments with B=0 and B=1, segment bases, LSL/LAR/VERR/VERW, and the faults of segment
 * register loads and far jumps with their selector error codes (TI, IDT and EXT bits): #GP, #NP,
 * #SS, including errors raised while delivering a hardware interrupt or an exception.
 *
 * Relies on: SDM Vol.3 §3.4.5 (descriptors, G and D/B), §5.3 (limit checking, expand-down), §5.4.1
 * (null selector), §5.5-§5.8 (privilege checks on segment loads and far transfers), §6.13 (error
 * code: EXT, IDT, TI), §6.15 interrupts 10-13; Vol.2A LAR, LSL, VERR/VERW, MOV (segment loads),
 * JMP (far).
 * Known deviations of QEMU TCG accepted only on QEMU TCG (README.md): no limit or null-segment
 * checks on data accesses; the EXT bit is never set in error codes.
 */
#include "guest.h"
#include "desc.h"
#include "pc.h"
#include "trap.h"

/* fn(arg) with arg = an offset: one access through ES. */
PROBE(p_es_rd32, "movl 4(%esp), %ecx\n\tmovl %es:(%ecx), %eax\n\tret");
PROBE(p_es_rd8, "movl 4(%esp), %ecx\n\tmovb %es:(%ecx), %al\n\tret");
PROBE(p_es_wr32, "movl 4(%esp), %ecx\n\tmovl $0x5a5a5a5a, %es:(%ecx)\n\tret");
/* fn(arg) with arg = a selector: load it, then restore. */
PROBE(p_load_es, "movw 4(%esp), %ax\n\tmovw %ax, %es\n\tmovw $0x10, %ax\n\tmovw %ax, %es\n\tret");
PROBE(p_load_ss, "movw 4(%esp), %ax\n\tmovw %ss, %dx\n\tmovw %ax, %ss\n\tmovw %dx, %ss\n\tret");
/* fn(arg) with arg = a far pointer (offset, selector). */
PROBE(p_ljmp, "movl 4(%esp), %eax\n\tljmp *(%eax)\n\tret");
/* Single-step one instruction: the #DB is raised after the nop. */
PROBE(p_step, "pushf\n\torl $0x100, (%esp)\n\tpopf\n\tnop\n\tnop\n\tret");
PROBE(p_int_50, "int $0x50\n\tret");
/* Interrupts on, then wait (bounded) for IRQ0. */
PROBE(p_wait_irq, "movl $50000000, %ecx\n\tsti\n1:\tpause\n\tdecl %ecx\n\tjnz 1b\n\tcli\n\tret");

enum {
	S_SMALL = 8,	  /* data, byte granular, limit 0xfff */
	S_PAGE,		  /* data, page granular, limit 0 (0xfff) */
	S_DOWN32,	  /* expand-down, B=1, limit 0xfff */
	S_DOWN16,	  /* expand-down, B=0, limit 0xfff */
	S_BASED,	  /* data, base = based_buf - 0x100 */
	S_NOTPRESENT,	  /* writable data, P=0 */
	S_XONLY,	  /* execute-only code */
	S_RCODE,	  /* readable code */
	S_RODATA,	  /* read-only data */
	S_DATA_DPL3,	  /* writable data, DPL 3 */
	S_CODE_NP,	  /* code, P=0 */
};

static uint8_t based_buf[64];
static uint8_t low_page[0x11000] __attribute__((aligned(4096)));

static int run(void *probe, ulong arg, struct trap_info *ti)
{
	return trap_catch((probe_fn)probe, (void *)arg, ti);
}

/* An error code with EXT set, which QEMU TCG reports without it. */
static void check_trap_ext(const char *what, int c, const struct trap_info *ti, unsigned vec,
			   ulong err)
{
	if (tcg_quirk(c && ti->vector == vec && ti->error == (err & ~(ulong)ERR_EXT)))
		check(true, "%s", what);
	else
		check_trap(what, c, ti, vec, err, TRAP_ANY);
}

/* An access that must fault (strict everywhere but on QEMU TCG, see the header). */
static void expect_access_fault(const char *what, void *probe, uint16_t s, ulong off,
				unsigned vec)
{
	struct trap_info ti;
	int c;

	load_es(s);
	c = run(probe, off, &ti);
	load_es(SEL_KDATA);
	if (tcg_quirk(!c))
		check(true, "%s", what);
	else
		check_trap(what, c, &ti, vec, 0, TRAP_ANY);
}

static void expect_access_ok(const char *what, void *probe, uint16_t s, ulong off)
{
	struct trap_info ti;
	int c;

	load_es(s);
	c = run(probe, off, &ti);
	load_es(SEL_KDATA);
	if (!check(!c, "%s", what))
		printf("  (got vector %u err=0x%lx)\n", ti.vector, ti.error);
}

static bool lsl(uint16_t s, uint32_t *limit)
{
	uint32_t l = 0;
	uint8_t zf;

	asm volatile("lsl %2, %0\n\tsetz %1" : "+r"(l), "=q"(zf) : "r"((uint32_t)s) : "cc");
	*limit = l;
	return zf;
}

static bool lar(uint16_t s, uint32_t *ar)
{
	uint32_t a = 0;
	uint8_t zf;

	asm volatile("lar %2, %0\n\tsetz %1" : "+r"(a), "=q"(zf) : "r"((uint32_t)s) : "cc");
	*ar = a;
	return zf;
}

static bool verr(uint16_t s)
{
	uint8_t zf;

	asm volatile("verr %w1\n\tsetz %0" : "=q"(zf) : "r"(s) : "cc");
	return zf;
}

static bool verw(uint16_t s)
{
	uint8_t zf;

	asm volatile("verw %w1\n\tsetz %0" : "=q"(zf) : "r"(s) : "cc");
	return zf;
}

static void setup_gdt(void)
{
	gdt_set(S_SMALL, seg_desc(0, 0xfff, SEG_P | SEG_S | SEG_RW | SEG_DB));
	gdt_set(S_PAGE, seg_desc(0, 0, SEG_P | SEG_S | SEG_RW | SEG_DB | SEG_G));
	gdt_set(S_DOWN32, seg_desc((ulong)low_page, 0xfff, SEG_P | SEG_S | SEG_RW | SEG_EXPDN | SEG_DB));
	gdt_set(S_DOWN16, seg_desc((ulong)low_page, 0xfff, SEG_P | SEG_S | SEG_RW | SEG_EXPDN));
	gdt_set(S_BASED, seg_desc((ulong)based_buf - 0x100, 0xffff, SEG_P | SEG_S | SEG_RW | SEG_DB));
	gdt_set(S_NOTPRESENT, seg_desc(0, 0xfffff, SEG_DATA32(0) & ~SEG_P));
	gdt_set(S_XONLY, seg_desc(0, 0xfffff, SEG_CODE32(0) & ~SEG_RW));
	gdt_set(S_RCODE, seg_desc(0, 0xfffff, SEG_CODE32(0)));
	gdt_set(S_RODATA, seg_desc(0, 0xfffff, SEG_DATA32(0) & ~SEG_RW));
	gdt_set(S_DATA_DPL3, seg_desc(0, 0xfffff, SEG_DATA32(3)));
	gdt_set(S_CODE_NP, seg_desc(0, 0xfffff, SEG_CODE32(0) & ~SEG_P));
}

static void limits(void)
{
	uint32_t v;

	check(lsl(sel(S_SMALL, 0), &v) && v == 0xfff, "LSL byte-granular limit 0xfff");
	check(lsl(sel(S_PAGE, 0), &v) && v == 0xfff, "LSL page-granular limit 0 reads 0xfff");
	check(lsl(SEL_KDATA, &v) && v == 0xffffffff, "LSL flat 4G data segment");
	check(lsl(SEL_TSS, &v) && v == sizeof(struct tss32) - 1, "LSL on the TSS");
	check(!lsl(0, &v), "LSL on the null selector clears ZF");
	check(!lsl(0x1f8, &v), "LSL beyond the GDT limit clears ZF");
	check(lar(SEL_KCODE, &v) && (v & 0x00f0ff00) == 0x00c09b00, "LAR on the code segment");
	check(lar(SEL_TSS, &v) && (v & 0x00f0ff00) == 0x00008b00, "LAR on the busy TSS");
	check(lar(sel(S_NOTPRESENT, 0), &v) && (v & 0x00f0ff00) == 0x00c01200,
	      "LAR on a not-present data segment");
	check(!verr(sel(S_XONLY, 0)) && verr(sel(S_RCODE, 0)) && verr(SEL_KDATA),
	      "VERR: execute-only no, readable code and data yes");
	check(!verw(sel(S_RODATA, 0)) && !verw(SEL_KCODE) && verw(SEL_KDATA),
	      "VERW: read-only data and code no, writable data yes");

	expect_access_ok("dword at limit-3 of a 0xfff-limit segment", p_es_rd32, sel(S_SMALL, 0),
			 0xffc);
	expect_access_ok("byte at the limit", p_es_rd8, sel(S_SMALL, 0), 0xfff);
	expect_access_fault("dword crossing the limit: #GP(0)", p_es_rd32, sel(S_SMALL, 0), 0xffd,
			    VEC_GP);
	expect_access_fault("byte past the limit: #GP(0)", p_es_rd8, sel(S_SMALL, 0), 0x1000,
			    VEC_GP);
	expect_access_ok("page-granular limit 0 covers 0xfff", p_es_rd8, sel(S_PAGE, 0), 0xfff);
	expect_access_fault("page-granular limit 0, offset 0x1000: #GP(0)", p_es_rd8,
			    sel(S_PAGE, 0), 0x1000, VEC_GP);

	/* Expand-down: valid offsets are limit+1 .. 0xffff (B=0) or 0xffffffff (B=1). */
	expect_access_ok("expand-down B=1: offset limit+1", p_es_rd32, sel(S_DOWN32, 0), 0x1000);
	expect_access_fault("expand-down B=1: offset at the limit: #GP(0)", p_es_rd8,
			    sel(S_DOWN32, 0), 0xfff, VEC_GP);
	expect_access_fault("expand-down B=1: dword straddling the limit: #GP(0)", p_es_rd32,
			    sel(S_DOWN32, 0), 0xffe, VEC_GP);
	expect_access_ok("expand-down B=0: dword ending at 0xffff", p_es_rd32, sel(S_DOWN16, 0),
			 0xfffc);
	expect_access_fault("expand-down B=0: dword past 0xffff: #GP(0)", p_es_rd32,
			    sel(S_DOWN16, 0), 0xfffd, VEC_GP);
	expect_access_fault("expand-down B=0: offset 0x10000: #GP(0)", p_es_rd8, sel(S_DOWN16, 0),
			    0x10000, VEC_GP);

	/* Writes through a read-only data segment: #GP(0). */
	expect_access_fault("write through a read-only data segment: #GP(0)", p_es_wr32,
			    sel(S_RODATA, 0), (ulong)based_buf, VEC_GP);
	/* A null selector loads fine into ES, but using it is #GP(0). */
	expect_access_fault("access through a null ES: #GP(0)", p_es_rd32, 0, (ulong)based_buf,
			    VEC_GP);
}

static void bases(void)
{
	struct trap_info ti;
	unsigned i;
	bool ok = true;

	for (i = 0; i < sizeof(based_buf); i++)
		based_buf[i] = (uint8_t)(i * 7 + 1);
	load_es(sel(S_BASED, 0));
	for (i = 0; i < sizeof(based_buf); i++) {
		uint8_t b;

		asm volatile("movb %%es:(%1), %0" : "=q"(b) : "r"(0x100 + i));
		ok &= b == based_buf[i];
	}
	load_es(SEL_KDATA);
	check(ok, "segment base: ES:0x100+i reads based_buf[i]");

	/* Expand-down with a base: ES:0x1000 is low_page + 0x1000. */
	((volatile uint32_t *)low_page)[0x1000 / 4] = 0xc0ffee;
	load_es(sel(S_DOWN32, 0));
	run(p_es_rd32, 0x1000, &ti);
	load_es(SEL_KDATA);
	check(ti.vector == ~0u, "expand-down segment base applies");
}

static void selector_errors(void)
{
	struct trap_info ti;
	uint32_t far[2];
	int c;

	c = run(p_load_es, 0x1f8, &ti);
	check_trap("load ES beyond the GDT limit: #GP(sel)", c, &ti, VEC_GP, 0x1f8, TRAP_ANY);
	c = run(p_load_es, 0x1f8 | 3, &ti);
	check_trap("the RPL is not part of the error code", c, &ti, VEC_GP, 0x1f8, TRAP_ANY);
	c = run(p_load_es, sel(1, 0) | ERR_TI, &ti);
	check_trap("load ES with TI=1 and a null LDT: #GP(sel, TI)", c, &ti, VEC_GP,
		   sel(1, 0) | ERR_TI, TRAP_ANY);
	c = run(p_load_es, SEL_TSS, &ti);
	check_trap("load ES with a TSS descriptor: #GP(sel)", c, &ti, VEC_GP, SEL_TSS, TRAP_ANY);
	c = run(p_load_es, sel(S_XONLY, 0), &ti);
	check_trap("load ES with execute-only code: #GP(sel)", c, &ti, VEC_GP, sel(S_XONLY, 0),
		   TRAP_ANY);
	c = run(p_load_es, sel(S_RCODE, 0), &ti);
	check(!c, "load ES with readable code");
	c = run(p_load_es, SEL_KDATA | 3, &ti);
	check_trap("load ES with RPL 3 > DPL 0: #GP(sel)", c, &ti, VEC_GP, SEL_KDATA, TRAP_ANY);
	c = run(p_load_es, sel(S_NOTPRESENT, 0), &ti);
	check_trap("load ES not present: #NP(sel)", c, &ti, VEC_NP, sel(S_NOTPRESENT, 0), TRAP_ANY);
	c = run(p_load_es, 0, &ti);
	check(!c, "load ES with the null selector");
	gdt_set(S_BASED, gdt_get(S_BASED) & ~(1ull << 40));
	run(p_load_es, sel(S_BASED, 0), &ti);
	check(gdt_get(S_BASED) & (1ull << 40), "loading ES sets the descriptor's accessed bit");

	c = run(p_load_ss, 0, &ti);
	check_trap("load SS with the null selector: #GP(0)", c, &ti, VEC_GP, 0, TRAP_ANY);
	c = run(p_load_ss, sel(S_RODATA, 0), &ti);
	check_trap("load SS read-only: #GP(sel)", c, &ti, VEC_GP, sel(S_RODATA, 0), TRAP_ANY);
	c = run(p_load_ss, sel(S_DATA_DPL3, 0), &ti);
	check_trap("load SS with DPL 3 at CPL 0: #GP(sel)", c, &ti, VEC_GP, sel(S_DATA_DPL3, 0),
		   TRAP_ANY);
	c = run(p_load_ss, sel(S_NOTPRESENT, 0), &ti);
	check_trap("load SS not present: #SS(sel)", c, &ti, VEC_SS, sel(S_NOTPRESENT, 0), TRAP_ANY);

	far[0] = 0;
	far[1] = sel(S_CODE_NP, 0);
	c = run(p_ljmp, (ulong)far, &ti);
	check_trap("far jmp to a not-present code segment: #NP(sel)", c, &ti, VEC_NP,
		   sel(S_CODE_NP, 0), TRAP_ANY);
	far[1] = SEL_KDATA;
	c = run(p_ljmp, (ulong)far, &ti);
	check_trap("far jmp to a data segment: #GP(sel)", c, &ti, VEC_GP, SEL_KDATA, TRAP_ANY);
	far[1] = 0;
	c = run(p_ljmp, (ulong)far, &ti);
	check_trap("far jmp to the null selector: #GP(0)", c, &ti, VEC_GP, 0, TRAP_ANY);
}

struct __attribute__((packed)) idtr {
	uint16_t limit;
	uint32_t base;
};

static void set_idt_limit(uint16_t limit)
{
	struct idtr r = { limit, (uint32_t)(ulong)idt_base() };

	asm volatile("lidt %0" : : "m"(r));
}

/* Errors found while delivering an event: IDT bit for gates, EXT for events that did not come
 * from an INT n instruction (SDM Vol.3 §6.13). */
static void delivery_errors(void)
{
	struct trap_info ti;
	int c;

	idt_set_present(0x50, false);
	c = run(p_int_50, 0, &ti);
	idt_set_present(0x50, true);
	check_trap("int $0x50 to a not-present gate: #NP(0x50, IDT)", c, &ti, VEC_NP,
		   0x50 << 3 | ERR_IDT, (ulong)p_int_50);

	set_idt_limit(0x50 * 8 - 1);
	c = run(p_int_50, 0, &ti);
	set_idt_limit(256 * 8 - 1);
	check_trap("int $0x50 beyond the IDT limit: #GP(0x50, IDT)", c, &ti, VEC_GP,
		   0x50 << 3 | ERR_IDT, (ulong)p_int_50);

	/* A single-step #DB whose gate names a selector beyond the GDT limit. */
	idt_set_gate(VEC_DB, trap_stub_addr(VEC_DB), 0x1f8, SYS_INT_GATE, 0, 0);
	c = run(p_step, 0, &ti);
	idt_set_stub(VEC_DB, SYS_INT_GATE, 0, 0);
	check_trap_ext("#DB through a gate with a bad selector: #GP(sel, EXT)", c, &ti, VEC_GP,
		       0x1f8 | ERR_EXT);

	/* IRQ0 from the PIT through the 8259 to a not-present gate, then beyond the IDT limit. */
	lapic_virtual_wire();
	ioapic_mask_all();
	pit_program(0, PIT_MODE_RATE, 1193); /* 1 ms */
	pic_init((uint16_t)~1u);
	idt_set_present(VEC_IRQ0, false);
	c = run(p_wait_irq, 0, &ti);
	idt_set_present(VEC_IRQ0, true);
	pic_eoi(0);
	check_trap_ext("IRQ0 to a not-present gate: #NP(0x20, IDT, EXT)", c, &ti, VEC_NP,
		       VEC_IRQ0 << 3 | ERR_IDT | ERR_EXT);

	set_idt_limit(VEC_IRQ0 * 8 - 1);
	c = run(p_wait_irq, 0, &ti);
	set_idt_limit(256 * 8 - 1);
	pic_eoi(0);
	pic_init(0xffff);
	pit_program(0, PIT_MODE_ONESHOT, 1);
	check_trap_ext("IRQ0 beyond the IDT limit: #GP(0x20, IDT, EXT)", c, &ti, VEC_GP,
		       VEC_IRQ0 << 3 | ERR_IDT | ERR_EXT);
}

void guest_main(void)
{
	printf("segments: limits, expand-down, bases and selector error codes\n");
	setup_gdt();
	limits();
	bases();
	selector_errors();
	delivery_errors();
}
