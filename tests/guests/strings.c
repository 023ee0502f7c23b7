/* SPDX-License-Identifier: MIT */
/*
 * strings: the string instructions MOVS, STOS, LODS, CMPS and SCAS in byte, word and dword
 * sizes, with and without REP/REPE/REPNE, DF = 0 and DF = 1, on buffers that straddle a page
 * boundary under 32-bit paging (the two pages map to frames that are neither adjacent nor in
 * order). Each case runs on the CPU and on a C model of the SDM's pseudocode from the same
 * starting memory; final ESI, EDI, ECX, EAX, the arithmetic flags of CMPS/SCAS and the memory
 * must agree; likewise REP MOVS/CMPS with overlapping source and destination (element by
 * element, so a destination just ahead replicates). A 16-bit address size REP MOVSB wraps SI,
 * DI and CX at 64K and keeps the upper halves of ESI, EDI and ECX. Then REP string
 * instructions that run into a not-present page: the #PF arrives with CR2 at the first byte
 * touched in that page, EIP at the instruction, and ECX/ESI/EDI counting exactly the elements
 * done; the handler maps the page and IRET resumes the copy, which must then complete
 * correctly.
 *
 * Relies on: SDM Vol.2B MOVS/STOS/LODS/CMPS/SCAS and REP/REPE/REPNE (Vol.2B "REP/REPE/REPZ/
 * REPNE/REPNZ": termination conditions, ECX = 0 does nothing, a fault leaves the registers at
 * the element that faulted so the instruction can be restarted), Vol.1 §7.3.9 (string
 * operations; the address-size attribute selects SI/DI/CX), Vol.3 §4.3 (32-bit paging), §4.7
 * (#PF error code, CR2), §6.5 (faults restart).
 */
#include "guest.h"
#include "desc.h"
#include "trap.h"

/* ---- paging ---- */

#define PTE_P 0x001
#define PTE_W 0x002
#define TEST_BASE 0x00800000ul /* PDE 2 */
#define NFRAMES	  12

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_ident[2][1024] __attribute__((aligned(4096)));
static uint32_t pt_test[1024] __attribute__((aligned(4096)));
static uint8_t frames[NFRAMES][4096] __attribute__((aligned(4096)));

static ulong tva(unsigned page)
{
	return TEST_BASE + page * PAGE_SIZE;
}

static void map(unsigned page, int frame)
{
	pt_test[page] = frame < 0 ? 0 : (uint32_t)(ulong)frames[frame] | PTE_P | PTE_W;
	invlpg((void *)tva(page));
}

static void paging_on(void)
{
	paging32_identity(pd, pt_ident, 2, PTE_P | PTE_W);
	pd[2] = (uint32_t)(ulong)pt_test | PTE_P | PTE_W;
	write_cr3((ulong)pd);
	write_cr0(read_cr0() | CR0_PG);
}

/* ---- the instructions ---- */

struct sregs {
	ulong si, di, cx, ax, flags; /* flags: after the instruction */
	ulong df;		     /* in: run with DF = 1 */
};

enum { OP_MOVS, OP_STOS, OP_LODS, OP_CMPS, OP_SCAS };
enum { REP_NONE, REP_E, REP_NE }; /* REP_E is plain REP for MOVS/STOS/LODS */

struct str_insn {
	const char *name;
	unsigned op, size, rep;
	void (*run)(struct sregs *r);
};

/* Runs one string instruction with the registers of *r and DF as asked; EFLAGS is restored
 * afterwards (DF = 0 for the compiler), the flags the instruction left are kept in r->flags. */
#define STRFN(fname, insn)                                                                         \
	static void fname(struct sregs *r)                                                         \
	{                                                                                          \
		ulong si = r->si, di = r->di, cx = r->cx, ax = r->ax, fl;                          \
		asm volatile("pushf\n\t"                                                           \
			     "testl %[df], %[df]\n\t"                                              \
			     "jz 1f\n\t"                                                           \
			     "std\n"                                                               \
			     "1:\t" insn "\n\t"                                                    \
			     "pushf\n\t"                                                           \
			     "popl %[fl]\n\t"                                                      \
			     "popf"                                                                \
			     : "+S"(si), "+D"(di), "+c"(cx), "+a"(ax), [fl] "=&r"(fl)              \
			     : [df] "r"(r->df)                                                     \
			     : "memory", "cc");                                                    \
		r->si = si;                                                                        \
		r->di = di;                                                                        \
		r->cx = cx;                                                                        \
		r->ax = ax;                                                                        \
		r->flags = fl;                                                                     \
	}

STRFN(x_movsb, "movsb")
STRFN(x_movsl, "movsl")
STRFN(x_rep_movsb, "rep movsb")
STRFN(x_rep_movsw, "rep movsw")
STRFN(x_rep_movsl, "rep movsl")
STRFN(x_stosw, "stosw")
STRFN(x_rep_stosb, "rep stosb")
STRFN(x_rep_stosw, "rep stosw")
STRFN(x_rep_stosl, "rep stosl")
STRFN(x_lodsb, "lodsb")
STRFN(x_rep_lodsb, "rep lodsb")
STRFN(x_rep_lodsw, "rep lodsw")
STRFN(x_rep_lodsl, "rep lodsl")
STRFN(x_cmpsl, "cmpsl")
STRFN(x_repe_cmpsb, "repe cmpsb")
STRFN(x_repe_cmpsw, "repe cmpsw")
STRFN(x_repe_cmpsl, "repe cmpsl")
STRFN(x_repne_cmpsb, "repne cmpsb")
STRFN(x_repne_cmpsl, "repne cmpsl")
STRFN(x_scasb, "scasb")
STRFN(x_repe_scasb, "repe scasb")
STRFN(x_repe_scasw, "repe scasw")
STRFN(x_repe_scasl, "repe scasl")
STRFN(x_repne_scasb, "repne scasb")
STRFN(x_repne_scasw, "repne scasw")
STRFN(x_repne_scasl, "repne scasl")

static const struct str_insn insns[] = {
	{ "movsb", OP_MOVS, 1, REP_NONE, x_movsb },
	{ "movsl", OP_MOVS, 4, REP_NONE, x_movsl },
	{ "rep movsb", OP_MOVS, 1, REP_E, x_rep_movsb },
	{ "rep movsw", OP_MOVS, 2, REP_E, x_rep_movsw },
	{ "rep movsl", OP_MOVS, 4, REP_E, x_rep_movsl },
	{ "stosw", OP_STOS, 2, REP_NONE, x_stosw },
	{ "rep stosb", OP_STOS, 1, REP_E, x_rep_stosb },
	{ "rep stosw", OP_STOS, 2, REP_E, x_rep_stosw },
	{ "rep stosl", OP_STOS, 4, REP_E, x_rep_stosl },
	{ "lodsb", OP_LODS, 1, REP_NONE, x_lodsb },
	{ "rep lodsb", OP_LODS, 1, REP_E, x_rep_lodsb },
	{ "rep lodsw", OP_LODS, 2, REP_E, x_rep_lodsw },
	{ "rep lodsl", OP_LODS, 4, REP_E, x_rep_lodsl },
	{ "cmpsl", OP_CMPS, 4, REP_NONE, x_cmpsl },
	{ "repe cmpsb", OP_CMPS, 1, REP_E, x_repe_cmpsb },
	{ "repe cmpsw", OP_CMPS, 2, REP_E, x_repe_cmpsw },
	{ "repe cmpsl", OP_CMPS, 4, REP_E, x_repe_cmpsl },
	{ "repne cmpsb", OP_CMPS, 1, REP_NE, x_repne_cmpsb },
	{ "repne cmpsl", OP_CMPS, 4, REP_NE, x_repne_cmpsl },
	{ "scasb", OP_SCAS, 1, REP_NONE, x_scasb },
	{ "repe scasb", OP_SCAS, 1, REP_E, x_repe_scasb },
	{ "repe scasw", OP_SCAS, 2, REP_E, x_repe_scasw },
	{ "repe scasl", OP_SCAS, 4, REP_E, x_repe_scasl },
	{ "repne scasb", OP_SCAS, 1, REP_NE, x_repne_scasb },
	{ "repne scasw", OP_SCAS, 2, REP_NE, x_repne_scasw },
	{ "repne scasl", OP_SCAS, 4, REP_NE, x_repne_scasl },
};

/* ---- the model (SDM Vol.2B pseudocode) ---- */

#define ARITH_FLAGS (EFL_CF | EFL_ZF | EFL_OF | (1u << 7) /* SF */)

static uint32_t load(ulong a, unsigned size)
{
	uint32_t v = 0;
	unsigned i;

	for (i = 0; i < size; i++)
		v |= (uint32_t)*(volatile uint8_t *)(a + i) << (8 * i);
	return v;
}

static void store(ulong a, unsigned size, uint32_t v)
{
	unsigned i;

	for (i = 0; i < size; i++)
		*(volatile uint8_t *)(a + i) = (uint8_t)(v >> (8 * i));
}

/* Flags of a - b in the given size: CF, ZF, SF, OF. */
static ulong sub_flags(uint32_t a, uint32_t b, unsigned size)
{
	uint32_t mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	uint32_t sign = 1u << (8 * size - 1);
	uint32_t d = (a - b) & mask;
	ulong f = 0;

	a &= mask;
	b &= mask;
	if (a < b)
		f |= EFL_CF;
	if (!d)
		f |= EFL_ZF;
	if (d & sign)
		f |= 1u << 7;
	if ((a ^ b) & (a ^ d) & sign)
		f |= EFL_OF;
	return f;
}

static void model(const struct str_insn *in, struct sregs *r, ulong flags_in)
{
	uint32_t mask = in->size == 4 ? 0xffffffffu : (1u << (8 * in->size)) - 1;
	long step = r->df ? -(long)in->size : (long)in->size;
	ulong f = flags_in & ARITH_FLAGS;

	for (;;) {
		if (in->rep != REP_NONE && r->cx == 0)
			break;
		switch (in->op) {
		case OP_MOVS:
			store(r->di, in->size, load(r->si, in->size));
			r->si += step;
			r->di += step;
			break;
		case OP_STOS:
			store(r->di, in->size, (uint32_t)r->ax);
			r->di += step;
			break;
		case OP_LODS:
			r->ax = (r->ax & ~(ulong)mask) | load(r->si, in->size);
			r->si += step;
			break;
		case OP_CMPS:
			f = sub_flags(load(r->si, in->size), load(r->di, in->size), in->size);
			r->si += step;
			r->di += step;
			break;
		case OP_SCAS:
			f = sub_flags((uint32_t)r->ax, load(r->di, in->size), in->size);
			r->di += step;
			break;
		}
		if (in->rep == REP_NONE)
			break;
		r->cx--;
		if (in->op == OP_CMPS || in->op == OP_SCAS) {
			if (in->rep == REP_E && !(f & EFL_ZF))
				break;
			if (in->rep == REP_NE && (f & EFL_ZF))
				break;
		}
	}
	r->flags = f;
}

/* ---- comparing CPU and model ---- */

/* Source window: test pages 0-1 on frames 3 and 0; destination window: pages 4-5 on frames 5
 * and 1. Each window's page boundary is at +0x1000. */
#define SRC_WIN tva(0)
#define DST_WIN tva(4)
#define WIN_SIZE (2 * PAGE_SIZE)

static uint8_t saved[2][WIN_SIZE];
static uint8_t after_cpu[2][WIN_SIZE];

static void fill_windows(uint32_t seed)
{
	unsigned i;

	for (i = 0; i < WIN_SIZE; i++) {
		seed = seed * 1103515245u + 12345u;
		((volatile uint8_t *)SRC_WIN)[i] = (uint8_t)(seed >> 16);
		((volatile uint8_t *)DST_WIN)[i] = (uint8_t)(seed >> 24);
	}
}

static void windows_to(uint8_t (*buf)[WIN_SIZE])
{
	memcpy(buf[0], (void *)SRC_WIN, WIN_SIZE);
	memcpy(buf[1], (void *)DST_WIN, WIN_SIZE);
}

static void windows_from(uint8_t (*buf)[WIN_SIZE])
{
	memcpy((void *)SRC_WIN, buf[0], WIN_SIZE);
	memcpy((void *)DST_WIN, buf[1], WIN_SIZE);
}

static unsigned cases, case_failures;

static void compare_case(const struct str_insn *in, ulong si, ulong di, ulong cx, ulong ax,
			 int df, unsigned layout)
{
	struct sregs hw = { si, di, cx, ax, 0, (ulong)df }, sw = hw;
	bool flags_matter = in->op == OP_CMPS || in->op == OP_SCAS;
	ulong fmask = flags_matter ? ARITH_FLAGS : 0;
	bool ok;

	cases++;
	windows_to(saved);
	in->run(&hw);
	windows_to(after_cpu);
	windows_from(saved);
	/* Flags the CPU did not change are those it had: the STRFN sequence leaves ZF from its
	 * "test df, df", CF = OF = 0 and SF = 0, so the model starts from that. */
	model(in, &sw, df ? 0 : EFL_ZF);
	ok = hw.si == sw.si && hw.di == sw.di && hw.cx == sw.cx && hw.ax == sw.ax &&
	     (hw.flags & fmask) == (sw.flags & fmask) && !!(hw.flags & EFL_DF) == !!df &&
	     !memcmp(after_cpu[0], (void *)SRC_WIN, WIN_SIZE) &&
	     !memcmp(after_cpu[1], (void *)DST_WIN, WIN_SIZE);
	if (!ok) {
		case_failures++;
		printf("%s, DF=%d, layout %u, count %lu: FAIL\n", in->name, df, layout, cx);
		printf("  cpu:   esi +0x%lx edi +0x%lx ecx 0x%lx eax 0x%lx flags 0x%lx\n",
		       hw.si - si, hw.di - di, hw.cx, hw.ax, hw.flags & fmask);
		printf("  model: esi +0x%lx edi +0x%lx ecx 0x%lx eax 0x%lx flags 0x%lx\n",
		       sw.si - si, sw.di - di, sw.cx, sw.ax, sw.flags & fmask);
		if (memcmp(after_cpu[0], (void *)SRC_WIN, WIN_SIZE) ||
		    memcmp(after_cpu[1], (void *)DST_WIN, WIN_SIZE))
			printf("  memory differs\n");
		note_failure();
	}
}

/* Places a mismatch (CMPS) or the searched value (SCAS) at element k from the start, going
 * in the direction of DF, so that REPE/REPNE stop after the boundary. */
static void plant(const struct str_insn *in, ulong si, ulong di, int df, unsigned k,
		  uint32_t ax)
{
	long step = df ? -(long)in->size : (long)in->size;
	unsigned i;

	if (in->op == OP_CMPS) {
		/* equal up to k, different at k (REPE stops there); REPNE: the other way round */
		for (i = 0; i < k; i++)
			store(di + i * step, in->size,
			      in->rep == REP_NE ? ~load(si + i * step, in->size)
						: load(si + i * step, in->size));
		store(di + k * step, in->size,
		      in->rep == REP_NE ? load(si + k * step, in->size)
					: ~load(si + k * step, in->size));
	} else if (in->op == OP_SCAS) {
		for (i = 0; i < k; i++)
			store(di + i * step, in->size, in->rep == REP_NE ? ~ax : ax);
		store(di + k * step, in->size, in->rep == REP_NE ? ax : ~ax);
	}
}

static void string_cases(void)
{
	/* Start offsets around the boundary at +0x1000 of each window, element counts. */
	static const struct {
		ulong src, dst, count;
	} fwd[] = {
		{ 0x0ff0, 0x0ff8, 40 },	 /* both cross the boundary */
		{ 0x0ffd, 0x0003, 9 },	 /* unaligned source crossing, destination not */
		{ 0x0001, 0x0ffe, 7 },	 /* unaligned destination crossing */
		{ 0x0800, 0x0800, 0 },	 /* ECX = 0 */
		{ 0x0c00, 0x0a01, 600 }, /* a longer run over the boundary */
	};
	unsigned i, j, k;

	for (i = 0; i < ARRAY_SIZE(insns); i++) {
		const struct str_insn *in = &insns[i];

		for (j = 0; j < ARRAY_SIZE(fwd); j++) {
			for (k = 0; k < 2; k++) {
				int df = (int)k;
				ulong cnt = in->rep == REP_NONE ? 1 : fwd[j].count;
				ulong span = cnt * in->size;
				ulong si = SRC_WIN + fwd[j].src, di = DST_WIN + fwd[j].dst;
				uint32_t ax = 0x5a6b7c8d ^ (uint32_t)(i * 0x01010101u);

				if (df) {
					/* Down from the mirrored start: the run crosses the same
					 * boundary going the other way. */
					si = SRC_WIN + 0x2000 - fwd[j].src - in->size;
					di = DST_WIN + 0x2000 - fwd[j].dst - in->size;
				}
				if (span > 0x1000)
					continue;
				fill_windows(i * 131 + j * 7 + k);
				if (cnt > 2)
					plant(in, si, di, df, (unsigned)(cnt * 3 / 4), ax);
				compare_case(in, si, di, cnt, ax, df, j);
			}
		}
	}
	printf("%u string instruction cases run on the CPU and the model\n", cases);
	check(case_failures == 0, "every case: registers, flags and memory as the model says");
}

/* MOVS and CMPS with source and destination overlapping in one window: MOVS works element by
 * element in order, so a destination just ahead of the source (in the direction of DF)
 * replicates the first elements; a memmove-style or block copy would not. */
static void overlap_cases(void)
{
	static const struct {
		ulong src, dst, count;
	} ov[] = {
		{ 0x0ff0, 0x0ff1, 40 },	 /* one byte ahead, over the boundary */
		{ 0x0ff0, 0x0ff2, 40 },
		{ 0x0ffd, 0x1000, 30 },	 /* three bytes ahead */
		{ 0x0fc0, 0x0fc4, 50 },	 /* one dword ahead */
		{ 0x0ff8, 0x0ff7, 40 },	 /* one byte behind */
		{ 0x0e00, 0x0e00, 700 }, /* onto itself */
	};
	unsigned i, j, k, before_cases = cases, before_failures = case_failures;

	for (i = 0; i < ARRAY_SIZE(insns); i++) {
		const struct str_insn *in = &insns[i];

		if (in->rep == REP_NONE || (in->op != OP_MOVS && in->op != OP_CMPS))
			continue;
		for (j = 0; j < ARRAY_SIZE(ov); j++) {
			for (k = 0; k < 2; k++) {
				ulong si = SRC_WIN + ov[j].src, di = SRC_WIN + ov[j].dst;

				if (k) {
					si = SRC_WIN + 0x2000 - ov[j].src - in->size;
					di = SRC_WIN + 0x2000 - ov[j].dst - in->size;
				}
				if (ov[j].count * in->size > 0x1000)
					continue;
				fill_windows(i * 17 + j * 5 + k);
				compare_case(in, si, di, ov[j].count, 0, (int)k, 100 + j);
			}
		}
	}
	printf("%u overlapping MOVS/CMPS cases run on the CPU and the model\n", cases - before_cases);
	check(case_failures == before_failures,
	      "overlapping source and destination: registers, flags and memory as the model says");
}

/* ---- 16-bit address size ---- */

/* DS and ES with bases in the test region, so that a 16-bit SI/DI that wraps round stays in
 * mapped pages: offsets 0x0000-0x0fff and 0xf000-0xffff of each are mapped. */
#define A16_DS_PAGE 16
#define A16_ES_PAGE 32

/* An address-size prefixed REP MOVSB from DS:SI to ES:DI: SI, DI and CX wrap at 64K and the
 * upper halves of ESI, EDI and ECX stay as they were (SDM Vol.2B MOVS, REP: "CX" with a 16-bit
 * address size). */
static void a16_case(int df, uint16_t si16, uint16_t di16, uint16_t n)
{
	ulong si = 0x5a5a0000ul | si16, di = 0x3c3c0000ul | di16, cx = 0xabcd0000ul | n;
	const ulong dsb = tva(A16_DS_PAGE), esb = tva(A16_ES_PAGE);
	uint16_t step = df ? (uint16_t)-1 : 1;
	unsigned i;
	bool ok = true;

	for (i = 0; i < n; i++) {
		*(volatile uint8_t *)(dsb + (uint16_t)(si16 + i * step)) = (uint8_t)(i * 29 + 1);
		*(volatile uint8_t *)(esb + (uint16_t)(di16 + i * step)) = 0;
	}
	/* DS and ES come back from SS (all three are SEL_KDATA): no memory operand may be used
	 * while DS has the test base. */
	asm volatile("pushf\n\t"
		     "testl %[df], %[df]\n\t"
		     "jz 1f\n\t"
		     "std\n"
		     "1:\tpushl %[nds]\n\t"
		     "popl %%ds\n\t"
		     "pushl %[nes]\n\t"
		     "popl %%es\n\t"
		     ".byte 0x67\n\t"
		     "rep movsb\n\t"
		     "pushl %%ss\n\t"
		     "popl %%ds\n\t"
		     "pushl %%ss\n\t"
		     "popl %%es\n\t"
		     "popf"
		     : "+S"(si), "+D"(di), "+c"(cx)
		     : [df] "r"((ulong)df), [nds] "i"(GDT_FIRST_FREE << 3),
		       [nes] "i"((GDT_FIRST_FREE + 1) << 3)
		     : "memory", "cc");
	for (i = 0; i < n; i++)
		ok &= *(volatile uint8_t *)(esb + (uint16_t)(di16 + i * step)) == (uint8_t)(i * 29 + 1);
	printf("addr16 rep movsb, DF=%d, SI 0x%04x DI 0x%04x CX 0x%x:\n", df, si16, di16, n);
	check(read_ds() == SEL_KDATA && read_es() == SEL_KDATA, "  DS and ES restored");
	check_eq("  ECX: CX counted down, upper half kept", cx, 0xabcd0000ul);
	check_eq("  ESI: SI wrapped at 64K, upper half kept", si,
		 0x5a5a0000ul | (uint16_t)(si16 + n * step));
	check_eq("  EDI: DI wrapped at 64K, upper half kept", di,
		 0x3c3c0000ul | (uint16_t)(di16 + n * step));
	check(ok, "  the bytes landed at ES:DI modulo 64K");
}

static void a16_cases(void)
{
	map(A16_DS_PAGE, 9);
	map(A16_DS_PAGE + 15, 10);
	map(A16_ES_PAGE, 11);
	map(A16_ES_PAGE + 15, 2);
	gdt_set(GDT_FIRST_FREE, seg_desc((uint32_t)tva(A16_DS_PAGE), 0xfffff, SEG_DATA32(0)));
	gdt_set(GDT_FIRST_FREE + 1, seg_desc((uint32_t)tva(A16_ES_PAGE), 0xfffff, SEG_DATA32(0)));
	a16_case(0, 0xfff0, 0xfff8, 0x20);
	a16_case(1, 0x0008, 0x0004, 0x20);
	a16_case(0, 0x0100, 0xffff, 0x10);
}

/* ---- faults in the middle of a REP string instruction ---- */

static volatile unsigned pf_count;
static volatile int pf_map_frame; /* frame to map at the faulting page, or -1 */
static struct trap_frame pf_seen;
static volatile ulong pf_cr2;

static void pf_handler(struct trap_frame *f)
{
	ulong cr2 = read_cr2();

	pf_count++;
	if (pf_count == 1) {
		pf_seen = *f;
		pf_cr2 = cr2;
	}
	if (pf_count > 4 || pf_map_frame < 0 || cr2 < TEST_BASE || cr2 >= TEST_BASE + 0x400000)
		trap_unwind(f); /* not the fault this test arranged: end the trap_catch */
	map((unsigned)((cr2 - TEST_BASE) >> 12), pf_map_frame);
}

struct fault_run {
	const struct str_insn *in;
	struct sregs r;
};

static void fault_call(void *arg)
{
	struct fault_run *fr = arg;

	fr->in->run(&fr->r);
}

/* Source on identity-mapped memory (src_buf), destination in the test region or the other way
 * round; page np of the test region is not present until the handler maps it. */
static uint8_t src_buf[3 * PAGE_SIZE] __attribute__((aligned(4096)));
static uint8_t ref_buf[3 * PAGE_SIZE] __attribute__((aligned(4096)));

static const struct str_insn *find_insn(const char *name)
{
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(insns); i++)
		if (!strncmp(insns[i].name, name, 32))
			return &insns[i];
	return NULL;
}

/*
 * Runs `name` with count elements from si to di (DF as given). Page np of the test region is
 * not present at the start; the handler maps it to frame np_frame. Expects exactly one #PF with
 * CR2 = want_cr2, error code want_err and `done` elements completed at the fault.
 */
static void fault_case(const char *what, const char *name, int df, ulong si, ulong di, ulong ax,
		       ulong count, unsigned np, int np_frame, ulong want_cr2, ulong want_err,
		       ulong done)
{
	const struct str_insn *in = find_insn(name);
	struct fault_run fr;
	struct trap_info ti;
	long step;
	int c;

	if (!in) {
		fail("%s: no instruction %s", what, name);
		return;
	}
	step = df ? -(long)in->size : (long)in->size;
	map(np, -1);
	pf_count = 0;
	pf_map_frame = np_frame;
	fr.in = in;
	fr.r = (struct sregs){ si, di, count, ax, 0, (ulong)df };
	c = trap_catch(fault_call, &fr, &ti);
	if (c) {
		printf("%s: FAIL (unexpected vector %u err 0x%lx cr2 0x%lx)\n", what, ti.vector,
		       ti.error, ti.cr2);
		note_failure();
		return;
	}
	printf("%s:\n", what);
	check_eq("  one #PF", pf_count, 1);
	check_eq("  CR2 at the first byte touched in the not-present page", pf_cr2, want_cr2);
	check_eq("  error code", pf_seen.error, want_err);
	check_eq("  ECX at the fault: elements left", pf_seen.ecx, count - done);
	check_eq("  ESI at the fault", pf_seen.esi,
		 in->op == OP_STOS ? si : si + (ulong)((long)done * step));
	check_eq("  EDI at the fault", pf_seen.edi,
		 in->op == OP_LODS ? di : di + (ulong)((long)done * step));
	check_eq("  DF in the saved EFLAGS", !!(pf_seen.flags & EFL_DF), !!df);
	check_eq("  ECX after resuming", fr.r.cx, 0);
	check_eq("  ESI after resuming", fr.r.si,
		 in->op == OP_STOS ? si : si + (ulong)((long)count * step));
	check_eq("  EDI after resuming", fr.r.di,
		 in->op == OP_LODS ? di : di + (ulong)((long)count * step));
}

/* Test region pages for the fault cases: 8 (present, frame 6), 9 (not present until the
 * handler maps frame 7), 10 (present, frame 8). */
#define NP_PAGE 9

static void fault_cases(void)
{
	ulong np = tva(NP_PAGE), i;
	ulong eip_ok;
	bool ok;

	trap_set_handler(VEC_PF, pf_handler);
	map(8, 6);
	map(10, 8);
	for (i = 0; i < sizeof(src_buf); i++)
		src_buf[i] = (uint8_t)(i * 7 + 3);

	/* rep movsb, DF=0: 100 bytes land before the not-present page. */
	memset((void *)(np - 0x100), 0, 0x100);
	fault_case("rep movsb into a not-present page", "rep movsb", 0, (ulong)src_buf + 5,
		   np - 100, 0, 300, NP_PAGE, 7, np, PF_W, 100);
	eip_ok = 0;
	{
		/* The saved EIP is the REP prefix of the instruction (the fault restarts it). */
		const uint8_t *ip = (const uint8_t *)(ulong)pf_seen.ip;

		eip_ok = ip[0] == 0xf3 && ip[1] == 0xa4;
	}
	check(eip_ok, "  saved EIP at the rep movsb");
	check(!memcmp((void *)(np - 100), src_buf + 5, 300), "  the copy completed correctly");

	/* rep movsl with a dword straddling into the not-present page: 2 dwords done. */
	fault_case("rep movsl, a dword straddling into a not-present page", "rep movsl", 0,
		   (ulong)src_buf + 1, np - 10, 0, 64, NP_PAGE, 7, np, PF_W, 2);
	check(!memcmp((void *)(np - 10), src_buf + 1, 256), "  the copy completed correctly");

	/* rep movsb, DF=1: from page 10 down into page 9, which faults at its last byte. */
	fault_case("rep movsb, DF=1, down into a not-present page", "rep movsb", 1,
		   (ulong)src_buf + 0x1800, np + PAGE_SIZE + 49, 0, 200, NP_PAGE, 7,
		   np + PAGE_SIZE - 1, PF_W, 50);
	{
		ok = true;
		for (i = 0; i < 200; i++)
			ok &= *(volatile uint8_t *)(np + PAGE_SIZE + 49 - i) ==
			      src_buf[0x1800 - i];
		check(ok, "  the copy completed correctly");
	}

	/* rep movsw reading from a not-present page: a read fault. */
	memcpy(frames[7], src_buf + PAGE_SIZE, PAGE_SIZE);
	memcpy(frames[6] + PAGE_SIZE - 64, src_buf + PAGE_SIZE - 64, 64);
	fault_case("rep movsw from a not-present page", "rep movsw", 0, np - 64, (ulong)ref_buf,
		   0, 100, NP_PAGE, 7, np, 0, 32);
	check(!memcmp(ref_buf, src_buf + PAGE_SIZE - 64, 200), "  the copy completed correctly");

	/* rep stosl into a not-present page. */
	fault_case("rep stosl into a not-present page", "rep stosl", 0, 0, np - 8, 0xfeedf00d,
		   10, NP_PAGE, 7, np, PF_W, 2);
	ok = true;
	for (i = 0; i < 10; i++)
		ok &= *(volatile uint32_t *)(np - 8 + 4 * i) == 0xfeedf00d;
	check(ok, "  the fill completed correctly");

	/* repe cmpsb comparing into a not-present page: equal all the way. */
	memcpy(frames[7], src_buf + PAGE_SIZE, PAGE_SIZE);
	memcpy(frames[6] + PAGE_SIZE - 30, src_buf + PAGE_SIZE - 30, 30);
	fault_case("repe cmpsb into a not-present page", "repe cmpsb", 0,
		   (ulong)src_buf + PAGE_SIZE - 30, np - 30, 0, 80, NP_PAGE, 7, np, 0, 30);

	trap_set_handler(VEC_PF, NULL);
}

void guest_main(void)
{
	printf("strings: movs/stos/lods/cmps/scas, rep/repe/repne, DF=0/1, page boundaries, "
	       "#PF mid-rep\n");
	paging_on();
	map(0, 3);
	map(1, 0);
	map(4, 5);
	map(5, 1);
	string_cases();
	overlap_cases();
	a16_cases();
	fault_cases();
}
