/* SPDX-License-Identifier: MIT */
/*
 * seg.c, segmentation of the soft CPU, on the whole accelerator
 * (soft_fixture.h): the lazily filled shadow descriptor table (fills, hits,
 * invalidation by guest stores and by DMA, lgdt/lldt), and the checks of
 * segment loads and accesses with the error codes of SDM Vol.3 §5.3-5.6 and
 * Vol.2 MOV, POP, LLDT, LTR. Segment loads run as guest instructions through
 * the real decoder and handlers.
 */
#include "vcpu/soft/mem.h"
#include "vcpu/soft/seg.h"
#include "soft_fixture.h"
#include "../check_main.h"

#define PSEUDO 0x4000ull /* lgdt's operand */
#define GDT    0x5000ull
#define GDT2   0x5800ull
#define LDT    0x6000ull
#define LDT2   0x6800ull
#define TSS    0x7000ull

/* Access bytes (SDM Vol.3 §3.4.5: P, DPL, S, type) and the flags nibble (G, D/B, L, AVL). */
#define P_   0x80
#define DPL3 0x60
#define S_   0x10
#define F_G  0x8
#define F_DB 0x4
#define F_L  0x2
#define DATA (P_ | S_ | 0x2) /* read/write data, not accessed */
#define CODE (P_ | S_ | 0xa) /* execute/read code */
#define FLAT 0xfffff

static uint64_t desc(uint64_t base, uint32_t limit, unsigned access, unsigned flags)
{
	return (limit & 0xffffull) | ((base & 0xffffffull) << 16) | ((uint64_t)access << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)(flags & 0xf) << 52) |
	       (((base >> 24) & 0xffull) << 56);
}

static void put_desc(uint64_t table, unsigned sel, uint64_t raw)
{
	fx_put64(table + (sel & ~7u), raw);
}

/* The protected-mode GDT the tests share; its selectors are named after what they hold. */
enum {
	SEL_CODE = 0x08,   /* code, DPL 0 */
	SEL_DATA = 0x10,   /* data, DPL 0, not yet accessed */
	SEL_XONLY = 0x18,  /* execute-only code */
	SEL_DATA3 = 0x20,  /* data, DPL 3, base 0x40000 */
	SEL_RO = 0x28,	   /* read-only data */
	SEL_NP = 0x30,	   /* data, not present */
	SEL_DOWN = 0x38,   /* expand-down, byte granular, limit 0xfff, B = 1 */
	SEL_DOWN16 = 0x40, /* the same with B = 0 */
	SEL_SMALL = 0x48,  /* data, byte granular, limit 0xfff, base 0x10000 */
	SEL_PAGES = 0x50,  /* data, G = 1, limit field 1 */
	SEL_CONF = 0x58,   /* conforming readable code, DPL 0 */
	SEL_RCODE = 0x60,  /* non-conforming readable code, DPL 0 */
	SEL_LDT = 0x68,	   /* the LDT at LDT, limit 0x27 */
	SEL_TSS = 0x70,	   /* 32-bit available TSS */
	SEL_DOWNG = 0x78,  /* expand-down, G = 1, limit field 0xffffe */
	SEL_LDT2 = 0x80,   /* the LDT at LDT2, limit 0x0f */
	SEL_LDT_NP = 0x88, /* an LDT, not present */
	SEL_STACK3 = 0x90, /* data, DPL 3, base 0 */
	SEL_ZERO = 0x98,   /* all zero */
	SEL_NP3 = 0xa0,	   /* data, DPL 3, not present */
	GDT_LIMIT = 0xa7,
};

static void build_gdt(uint64_t t)
{
	memset(fx.ram + t, 0, GDT_LIMIT + 1);
	put_desc(t, SEL_CODE, desc(0, FLAT, CODE | 1, F_G | F_DB));
	put_desc(t, SEL_DATA, desc(0, FLAT, DATA, F_G | F_DB));
	put_desc(t, SEL_XONLY, desc(0, FLAT, P_ | S_ | 0x9, F_G | F_DB));
	put_desc(t, SEL_DATA3, desc(0x40000, FLAT, DATA | DPL3 | 1, F_G | F_DB));
	put_desc(t, SEL_RO, desc(0, FLAT, P_ | S_ | 0x1, F_G | F_DB));
	put_desc(t, SEL_NP, desc(0, FLAT, S_ | 0x3, F_G | F_DB));
	put_desc(t, SEL_DOWN, desc(0, 0xfff, P_ | S_ | 0x7, F_DB));
	put_desc(t, SEL_DOWN16, desc(0, 0xfff, P_ | S_ | 0x7, 0));
	put_desc(t, SEL_SMALL, desc(0x10000, 0xfff, DATA | 1, F_DB));
	put_desc(t, SEL_PAGES, desc(0, 1, DATA | 1, F_G | F_DB));
	put_desc(t, SEL_CONF, desc(0, FLAT, P_ | S_ | 0xf, F_G | F_DB));
	put_desc(t, SEL_RCODE, desc(0, FLAT, CODE | 1, F_G | F_DB));
	put_desc(t, SEL_LDT, desc(LDT, 0x27, P_ | 0x2, 0));
	put_desc(t, SEL_TSS, desc(TSS, 0x67, P_ | 0x9, 0));
	put_desc(t, SEL_DOWNG, desc(0, 0xffffe, P_ | S_ | 0x7, F_G | F_DB));
	put_desc(t, SEL_LDT2, desc(LDT2, 0x0f, P_ | 0x2, 0));
	put_desc(t, SEL_LDT_NP, desc(LDT, 0x27, 0x2, 0));
	put_desc(t, SEL_STACK3, desc(0, FLAT, DATA | DPL3 | 1, F_G | F_DB));
	put_desc(t, SEL_NP3, desc(0, FLAT, DPL3 | S_ | 0x3, F_G | F_DB));
	/* LDT: 0x04 data DPL 0 at 0x123000, 0x0c data DPL 3 at 0x50000, 0x14..0x24 zero */
	memset(fx.ram + LDT, 0, 0x28);
	put_desc(LDT, 0x04, desc(0x123000, FLAT, DATA | 1, F_G | F_DB));
	put_desc(LDT, 0x0c, desc(0x50000, FLAT, DATA | DPL3 | 1, F_G | F_DB));
	put_desc(LDT2, 0x04, desc(0x200000, FLAT, DATA | 1, F_G | F_DB));
	put_desc(LDT2, 0x0c, desc(0x300000, FLAT, DATA | DPL3 | 1, F_G | F_DB));
}

/* Guest instructions. Each returns the vector it raised, or -1. */

/* lgdt [eax] with the pseudo-descriptor at PSEUDO: 0f 01 10 */
static int lgdt(uint64_t base, uint16_t limit)
{
	fx_put(PSEUDO, &limit, 2);
	fx_put(PSEUDO + 2, &base, fx.c->code64 ? 8 : 4);
	fx.c->gpr[R_AX] = PSEUDO;
	return FX_EXEC(0x0f, 0x01, 0x10);
}

/* mov sreg, ax: 8e /r with reg = sreg, rm = ax */
static int mov_sreg(int sreg, uint16_t sel)
{
	const uint8_t insn[] = { 0x8e, (uint8_t)(0xc0 | sreg << 3) };

	fx.c->gpr[R_AX] = sel;
	return fx_exec(insn, sizeof(insn));
}

/* pop ss (17) / pop ds (1f) with sel at the top of a 32-bit stack at 0x8000 - 4 */
static int pop_sreg(int sreg, uint16_t sel)
{
	const uint8_t insn[] = { sreg == S_SS ? 0x17 : 0x1f };

	ck_assert(sreg == S_SS || sreg == S_DS);
	fx.c->gpr[R_SP] = 0x8000 - 4;
	fx_put64(0x8000 - 4, sel);
	return fx_exec(insn, 1);
}

/* lldt ax: 0f 00 d0; ltr ax: 0f 00 d8 */
static int lldt(uint16_t sel)
{
	fx.c->gpr[R_AX] = sel;
	return FX_EXEC(0x0f, 0x00, 0xd0);
}

static int ltr(uint16_t sel)
{
	fx.c->gpr[R_AX] = sel;
	return FX_EXEC(0x0f, 0x00, 0xd8);
}

/*
 * A guest store, ss: mov [eax], bl (36 88 18): through the flat SS the tests
 * leave alone, as DS may hold anything.
 */
static int store8(uint64_t addr, uint8_t v)
{
	ck_assert_uint_eq(fx.c->seg[S_SS].base, 0);
	fx.c->gpr[R_AX] = addr;
	fx.c->gpr[R_BX] = v;
	return FX_EXEC(0x36, 0x88, 0x18);
}

/* 32-bit protected mode at CPL 0 with the shared GDT loaded by lgdt. */
static void prot_gdt(void)
{
	fx_prot32(0);
	build_gdt(GDT);
	ck_assert_int_eq(lgdt(GDT, GDT_LIMIT), -1);
}

static const struct soft_seg_state *st(void)
{
	return &fx.c->segs;
}

/* Asserts that loading sel into sreg raises vector with error code err. */
#define LOAD_FAULTS(sreg, sel, vector, err)                                                        \
	do {                                                                                       \
		ck_assert_int_eq(mov_sreg(sreg, sel), vector);                                     \
		ck_assert_uint_eq(fx_errcode(), err);                                              \
	} while (0)

/* Linear address of an access, or the vector it raised (then fx_errcode()). */
static int64_t lin(int sreg, uint64_t ea, unsigned size, unsigned acc)
{
	volatile uint64_t la = 0;
	int v = FX_RAISED(la = soft_seg_linear(fx.c, sreg, ea, size, acc));

	return v >= 0 ? -v : (int64_t)la;
}

/* --- the shadow table --- */

START_TEST(test_seg_lgdt_leaves_entries_unmapped_until_first_load)
{
	prot_gdt();
	uint64_t f = st()->fills, h = st()->hits;

	ck_assert_int_eq(mov_sreg(S_DS, SEL_DATA), -1);
	ck_assert_uint_eq(st()->fills, f + 1);
	ck_assert_uint_eq(st()->hits, h);
	ck_assert_int_eq(mov_sreg(S_ES, SEL_DATA), -1);
	ck_assert_uint_eq(st()->fills, f + 1);
	ck_assert_uint_eq(st()->hits, h + 1);
	/* another index is another entry; RPL does not make one */
	ck_assert_int_eq(mov_sreg(S_FS, SEL_DATA3), -1);
	ck_assert_uint_eq(st()->fills, f + 2);
	ck_assert_int_eq(mov_sreg(S_GS, SEL_DATA3 | 3), -1);
	ck_assert_uint_eq(st()->fills, f + 2);
	ck_assert_uint_eq(st()->hits, h + 2);
	ck_assert_uint_eq(fx.c->seg[S_FS].base, 0x40000);
	ck_assert_uint_eq(fx.c->seg[S_GS].selector, SEL_DATA3 | 3);

	/* a new GDT: nothing of the old one is served, both entries are dropped */
	build_gdt(GDT2);
	put_desc(GDT2, SEL_DATA3, desc(0x44000, FLAT, DATA | DPL3 | 1, F_G | F_DB));
	uint64_t inv = st()->invalidations;
	ck_assert_int_eq(lgdt(GDT2, GDT_LIMIT), -1);
	ck_assert_int_eq(mov_sreg(S_FS, SEL_DATA3), -1);
	ck_assert_uint_eq(fx.c->seg[S_FS].base, 0x44000);
	ck_assert_uint_eq(st()->fills, f + 3);
	ck_assert_uint_eq(st()->invalidations, inv + 2);
	ck_assert_int_eq(mov_sreg(S_DS, SEL_DATA), -1);
	ck_assert_uint_eq(st()->fills, f + 4);
	ck_assert_uint_eq(st()->hits, h + 2);
}
END_TEST

START_TEST(test_seg_accessed_bit_is_set_in_guest_gdt_and_kept_in_shadow)
{
	prot_gdt();
	ck_assert_uint_eq(fx.ram[GDT + SEL_DATA + 5], DATA);
	uint64_t inv = st()->invalidations;

	ck_assert_int_eq(mov_sreg(S_DS, SEL_DATA), -1);
	ck_assert_uint_eq(fx.ram[GDT + SEL_DATA + 5], DATA | 1);
	ck_assert_uint_eq(fx.c->seg[S_DS].type, 3);
	/* our own write to the watched page is no guest invalidation */
	ck_assert_uint_eq(st()->invalidations, inv);
	uint64_t h = st()->hits;
	ck_assert_int_eq(mov_sreg(S_ES, SEL_DATA), -1);
	ck_assert_uint_eq(st()->hits, h + 1);
	ck_assert_uint_eq(fx.c->seg[S_ES].type, 3);
}
END_TEST

START_TEST(test_seg_guest_store_to_gdt_drops_only_the_entry_it_hits)
{
	prot_gdt();
	ck_assert_int_eq(mov_sreg(S_DS, SEL_DATA), -1);
	ck_assert_int_eq(mov_sreg(S_FS, SEL_DATA3), -1);
	uint64_t f = st()->fills, h = st()->hits, inv = st()->invalidations;

	/* base bits 23:16 of SEL_DATA3: 0x04 -> 0x05 */
	ck_assert_int_eq(store8(GDT + SEL_DATA3 + 4, 0x05), -1);
	ck_assert_uint_eq(st()->invalidations, inv + 1);
	ck_assert_int_eq(mov_sreg(S_ES, SEL_DATA), -1); /* still mapped */
	ck_assert_uint_eq(st()->hits, h + 1);
	ck_assert_uint_eq(st()->fills, f);
	ck_assert_int_eq(mov_sreg(S_FS, SEL_DATA3), -1); /* re-read from the GDT */
	ck_assert_uint_eq(st()->fills, f + 1);
	ck_assert_uint_eq(fx.c->seg[S_FS].base, 0x50000);
	/* a store to an entry never loaded drops nothing */
	ck_assert_int_eq(store8(GDT + SEL_RO + 5, P_ | S_ | 0x3), -1);
	ck_assert_uint_eq(st()->invalidations, inv + 1);
	/* the last byte of the entry before SEL_DATA is not SEL_DATA's */
	ck_assert_int_eq(store8(GDT + SEL_DATA - 1, 0), -1);
	ck_assert_uint_eq(st()->invalidations, inv + 1);
	ck_assert_int_eq(store8(GDT + SEL_DATA + 7, 0), -1);
	ck_assert_uint_eq(st()->invalidations, inv + 2);
	/* the store made SEL_RO writable: the next load sees it */
	ck_assert_int_eq(mov_sreg(S_SS, SEL_RO), -1);
	ck_assert_uint_eq(fx.c->seg[S_SS].type, 3);
}
END_TEST

START_TEST(test_seg_dma_write_to_gdt_drops_the_entry_before_the_next_block)
{
	prot_gdt();
	ck_assert_int_eq(mov_sreg(S_FS, SEL_DATA3), -1);
	ck_assert_uint_eq(fx.c->seg[S_FS].base, 0x40000);
	uint64_t inv = st()->invalidations, f = st()->fills;

	/* the VMM rewrites base bits 23:16 */
	fx.ram[GDT + SEL_DATA3 + 4] = 0x06;
	accel_soft_ops.notify_mem_write(fx.a, GDT + SEL_DATA3 + 4, 1);
	/* 1000: mov fs, ax; hlt */
	static const uint8_t code[] = { 0x8e, 0xe0, 0xf4 };
	fx_put(0x1000, code, sizeof(code));
	fx.c->gpr[R_AX] = SEL_DATA3;
	ck_assert_uint_eq(fx_run(0x1000), 0x1003);
	ck_assert_uint_eq(st()->invalidations, inv + 1);
	ck_assert_uint_eq(st()->fills, f + 1);
	ck_assert_uint_eq(fx.c->seg[S_FS].base, 0x60000);
}
END_TEST

/* --- limits --- */

START_TEST(test_seg_byte_and_page_granular_limits)
{
	prot_gdt();
	ck_assert_int_eq(mov_sreg(S_DS, SEL_SMALL), -1);
	ck_assert_uint_eq(fx.c->seg[S_DS].limit, 0xfff);
	ck_assert_uint_eq(fx.c->seg[S_DS].base, 0x10000);
	ck_assert_int_eq(lin(S_DS, 0xffc, 4, SOFT_ACC_READ), 0x10ffc);
	ck_assert_int_eq(lin(S_DS, 0xffd, 4, SOFT_ACC_READ), -X86_EXC_GP);
	ck_assert_uint_eq(fx_errcode(), 0);
	ck_assert_int_eq(lin(S_DS, 0x1000, 1, SOFT_ACC_WRITE), -X86_EXC_GP);
	/* G = 1: limit field 1 is 0x1fff (SDM Vol.3 §3.4.5) */
	ck_assert_int_eq(mov_sreg(S_ES, SEL_PAGES), -1);
	ck_assert_uint_eq(fx.c->seg[S_ES].limit, 0x1fff);
	ck_assert_int_eq(lin(S_ES, 0x1fff, 1, SOFT_ACC_READ), 0x1fff);
	ck_assert_int_eq(lin(S_ES, 0x2000, 1, SOFT_ACC_READ), -X86_EXC_GP);
	/* through an instruction: mov al, [ebx] (8a 03); SS-relative mov al, [ebp] (8a 45 00) */
	fx.ram[0x10fff] = 0x5a;
	fx.c->gpr[R_BX] = 0xfff;
	ck_assert_int_eq(FX_EXEC(0x8a, 0x03), -1);
	ck_assert_uint_eq(fx.c->gpr[R_AX] & 0xff, 0x5a);
	fx.c->gpr[R_BX] = 0x1000;
	ck_assert_int_eq(FX_EXEC(0x8a, 0x03), X86_EXC_GP);
	ck_assert_uint_eq(fx_errcode(), 0);
	ck_assert_int_eq(mov_sreg(S_SS, SEL_SMALL), -1);
	fx.c->gpr[R_BP] = 0x1000;
	ck_assert_int_eq(FX_EXEC(0x8a, 0x45, 0x00), X86_EXC_SS);
	ck_assert_uint_eq(fx_errcode(), 0);
}
END_TEST

START_TEST(test_seg_expand_down_limits)
{
	prot_gdt();
	/* valid offsets are limit + 1 .. 0xffffffff with B = 1 (SDM Vol.3 §3.4.5.1) */
	ck_assert_int_eq(mov_sreg(S_DS, SEL_DOWN), -1);
	ck_assert_int_eq(lin(S_DS, 0xfff, 1, SOFT_ACC_READ), -X86_EXC_GP);
	ck_assert_int_eq(lin(S_DS, 0xffe, 4, SOFT_ACC_READ), -X86_EXC_GP);
	ck_assert_int_eq(lin(S_DS, 0x1000, 4, SOFT_ACC_WRITE), 0x1000);
	ck_assert_int_eq(lin(S_DS, 0xfffffffc, 4, SOFT_ACC_READ), 0xfffffffc);
	ck_assert_int_eq(lin(S_DS, 0xfffffffd, 4, SOFT_ACC_READ), -X86_EXC_GP);
	/* and .. 0xffff with B = 0 */
	ck_assert_int_eq(mov_sreg(S_ES, SEL_DOWN16), -1);
	ck_assert_int_eq(lin(S_ES, 0x1000, 1, SOFT_ACC_READ), 0x1000);
	ck_assert_int_eq(lin(S_ES, 0xfffc, 4, SOFT_ACC_READ), 0xfffc);
	ck_assert_int_eq(lin(S_ES, 0xfffd, 4, SOFT_ACC_READ), -X86_EXC_GP);
	ck_assert_int_eq(lin(S_ES, 0x10000, 1, SOFT_ACC_READ), -X86_EXC_GP);
	/* G = 1 scales the limit: field 0xffffe is 0xffffefff */
	ck_assert_int_eq(mov_sreg(S_FS, SEL_DOWNG), -1);
	ck_assert_uint_eq(fx.c->seg[S_FS].limit, 0xffffefff);
	ck_assert_int_eq(lin(S_FS, 0xffffefff, 1, SOFT_ACC_READ), -X86_EXC_GP);
	ck_assert_int_eq(lin(S_FS, 0xfffff000, 1, SOFT_ACC_READ), 0xfffff000);
	/* an expand-down stack: #SS(0) below the limit */
	ck_assert_int_eq(mov_sreg(S_SS, SEL_DOWN), -1);
	ck_assert_int_eq(lin(S_SS, 0x800, 4, SOFT_ACC_WRITE), -X86_EXC_SS);
	ck_assert_uint_eq(fx_errcode(), 0);
}
END_TEST

/* --- types, presence, null (SDM Vol.2 MOV, POP: "IF SS is loaded" / "IF DS, ES, FS, or GS") --- */

START_TEST(test_seg_ss_load_checks_and_error_codes)
{
	prot_gdt();
	LOAD_FAULTS(S_SS, 0, X86_EXC_GP, 0);
	LOAD_FAULTS(S_SS, 3, X86_EXC_GP, 0); /* a null selector with RPL 3 too */
	LOAD_FAULTS(S_SS, SEL_CODE, X86_EXC_GP, SEL_CODE);
	LOAD_FAULTS(S_SS, SEL_RCODE, X86_EXC_GP, SEL_RCODE);
	LOAD_FAULTS(S_SS, SEL_RO, X86_EXC_GP, SEL_RO);
	LOAD_FAULTS(S_SS, SEL_LDT, X86_EXC_GP, SEL_LDT);
	LOAD_FAULTS(S_SS, SEL_NP, X86_EXC_SS, SEL_NP);	       /* not present: #SS(selector) */
	LOAD_FAULTS(S_SS, SEL_DATA3, X86_EXC_GP, SEL_DATA3);   /* DPL 3 != CPL 0 */
	LOAD_FAULTS(S_SS, SEL_DATA | 3, X86_EXC_GP, SEL_DATA); /* RPL 3 != CPL 0 */
	LOAD_FAULTS(S_SS, 0xa8, X86_EXC_GP, 0xa8);	       /* beyond the GDT limit */
	/* a fault leaves SS as it was */
	struct kvm_segment before = fx.c->seg[S_SS];
	ck_assert_int_eq(mov_sreg(S_SS, SEL_NP), X86_EXC_SS);
	ck_assert_mem_eq(&fx.c->seg[S_SS], &before, sizeof(before));
	ck_assert_int_eq(mov_sreg(S_SS, SEL_DATA), -1);
	ck_assert_uint_eq(fx.c->seg[S_SS].selector, SEL_DATA);
	ck_assert_uint_eq(fx.c->ssize, 4);
}
END_TEST

START_TEST(test_seg_data_load_checks_and_error_codes)
{
	prot_gdt();
	LOAD_FAULTS(S_DS, SEL_XONLY, X86_EXC_GP, SEL_XONLY); /* execute-only code */
	LOAD_FAULTS(S_DS, SEL_LDT, X86_EXC_GP, SEL_LDT);     /* a system descriptor */
	LOAD_FAULTS(S_ES, SEL_NP, X86_EXC_NP, SEL_NP);	     /* not present: #NP(selector) */
	LOAD_FAULTS(S_ES, SEL_NP3 | 3, X86_EXC_NP, SEL_NP3); /* the error code has no RPL */
	LOAD_FAULTS(S_FS, 0xab, X86_EXC_GP, 0xa8);	     /* beyond the limit, RPL dropped */
	LOAD_FAULTS(S_GS, 0x0c, X86_EXC_GP, 0x0c);	     /* TI = 1 without an LDT */
	/* a zero descriptor is a system one (S = 0) */
	LOAD_FAULTS(S_DS, SEL_ZERO, X86_EXC_GP, SEL_ZERO);

	/* readable code loads into DS; writes through it do not */
	ck_assert_int_eq(mov_sreg(S_DS, SEL_RCODE), -1);
	ck_assert_int_eq(lin(S_DS, 0x100, 4, SOFT_ACC_READ), 0x100);
	ck_assert_int_eq(lin(S_DS, 0x100, 4, SOFT_ACC_WRITE), -X86_EXC_GP);
	ck_assert_uint_eq(fx_errcode(), 0);
	/* mov [ebx], al (88 03) through read-only data */
	ck_assert_int_eq(mov_sreg(S_DS, SEL_RO), -1);
	fx.c->gpr[R_BX] = 0x2000;
	ck_assert_int_eq(FX_EXEC(0x88, 0x03), X86_EXC_GP);
	ck_assert_uint_eq(fx_errcode(), 0);
	/* a null selector loads, and using it faults */
	ck_assert_int_eq(mov_sreg(S_DS, 0), -1);
	ck_assert(fx.c->seg[S_DS].unusable);
	ck_assert_int_eq(FX_EXEC(0x8a, 0x03), X86_EXC_GP); /* mov al, [ebx] */
	ck_assert_uint_eq(fx_errcode(), 0);
	ck_assert_int_eq(mov_sreg(S_ES, 3), -1);
	ck_assert_uint_eq(fx.c->seg[S_ES].selector, 3);
}
END_TEST

START_TEST(test_seg_pop_sreg_faults_before_esp_moves)
{
	prot_gdt();
	ck_assert_int_eq(pop_sreg(S_SS, SEL_CODE), X86_EXC_GP);
	ck_assert_uint_eq(fx_errcode(), SEL_CODE);
	ck_assert_uint_eq(fx.c->gpr[R_SP], 0x8000 - 4);
	ck_assert_int_eq(pop_sreg(S_DS, SEL_NP), X86_EXC_NP);
	ck_assert_uint_eq(fx_errcode(), SEL_NP);
	ck_assert_uint_eq(fx.c->gpr[R_SP], 0x8000 - 4);
	ck_assert_int_eq(pop_sreg(S_DS, SEL_DATA3), -1);
	ck_assert_uint_eq(fx.c->gpr[R_SP], 0x8000);
	ck_assert_uint_eq(fx.c->seg[S_DS].base, 0x40000);
	ck_assert_int_eq(pop_sreg(S_SS, 0), X86_EXC_GP);
	ck_assert_uint_eq(fx_errcode(), 0);
}
END_TEST

/* --- privilege: max(CPL, RPL) <= DPL for data and non-conforming code (SDM Vol.3 §5.6) --- */

START_TEST(test_seg_privilege_rules_at_cpl0)
{
	prot_gdt();
	LOAD_FAULTS(S_DS, SEL_DATA | 3, X86_EXC_GP, SEL_DATA);	 /* RPL 3 > DPL 0 */
	LOAD_FAULTS(S_DS, SEL_RCODE | 3, X86_EXC_GP, SEL_RCODE); /* also for code */
	ck_assert_int_eq(mov_sreg(S_DS, SEL_DATA3 | 3), -1);
	ck_assert_int_eq(mov_sreg(S_ES, SEL_CONF | 3), -1); /* conforming: no check */
	ck_assert_uint_eq(fx.c->seg[S_ES].selector, SEL_CONF | 3);
}
END_TEST

START_TEST(test_seg_privilege_rules_at_cpl3)
{
	prot_gdt();
	fx_prot32(3); /* keeps GDTR */
	ck_assert_uint_eq(fx.c->cpl, 3);
	LOAD_FAULTS(S_DS, SEL_DATA | 3, X86_EXC_GP, SEL_DATA); /* CPL 3 > DPL 0 */
	LOAD_FAULTS(S_DS, SEL_DATA, X86_EXC_GP, SEL_DATA);
	LOAD_FAULTS(S_FS, SEL_RCODE | 3, X86_EXC_GP, SEL_RCODE);
	ck_assert_int_eq(mov_sreg(S_DS, SEL_DATA3), -1); /* RPL 0, DPL 3: allowed */
	ck_assert_int_eq(mov_sreg(S_GS, SEL_CONF), -1);
	/* SS: RPL and DPL must both equal CPL */
	LOAD_FAULTS(S_SS, SEL_STACK3, X86_EXC_GP, SEL_STACK3);
	LOAD_FAULTS(S_SS, SEL_DATA | 3, X86_EXC_GP, SEL_DATA);
	LOAD_FAULTS(S_SS, SEL_NP3 | 3, X86_EXC_SS, SEL_NP3);
	ck_assert_int_eq(mov_sreg(S_SS, SEL_STACK3 | 3), -1);
	ck_assert_uint_eq(fx.c->cpl, 3);
	/* lgdt and lldt need CPL 0 */
	ck_assert_int_eq(lgdt(GDT2, GDT_LIMIT), X86_EXC_GP);
	ck_assert_uint_eq(fx_errcode(), 0);
	ck_assert_int_eq(lldt(SEL_LDT), X86_EXC_GP);
	ck_assert_uint_eq(fx_errcode(), 0);
}
END_TEST

/* --- the LDT --- */

START_TEST(test_seg_ldt_selectors_after_lldt)
{
	prot_gdt();
	ck_assert_int_eq(lldt(SEL_LDT), -1);
	ck_assert_uint_eq(fx.c->seg[S_LDTR].base, LDT);
	ck_assert_uint_eq(fx.c->seg[S_LDTR].limit, 0x27);
	ck_assert_uint_eq(fx.c->seg[S_LDTR].selector, SEL_LDT);
	uint64_t f = st()->fills;

	ck_assert_int_eq(mov_sreg(S_DS, 0x04), -1); /* LDT 0, not the GDT's null */
	ck_assert_uint_eq(fx.c->seg[S_DS].base, 0x123000);
	ck_assert_int_eq(mov_sreg(S_ES, 0x0f), -1); /* LDT 1 with RPL 3 */
	ck_assert_uint_eq(fx.c->seg[S_ES].base, 0x50000);
	ck_assert_uint_eq(fx.c->seg[S_ES].dpl, 3);
	ck_assert_int_eq(mov_sreg(S_FS, SEL_CODE), -1); /* GDT 1: its own entry */
	ck_assert_uint_eq(st()->fills, f + 3);
	LOAD_FAULTS(S_DS, 0x2c, X86_EXC_GP, 0x2c); /* LDT 5: beyond 0x27 */
	LOAD_FAULTS(S_DS, 0x14, X86_EXC_GP, 0x14); /* LDT 2: a zero descriptor */

	/* a store to LDT 0 drops that entry, not GDT 0's neighbours */
	uint64_t inv = st()->invalidations, h = st()->hits;
	ck_assert_int_eq(store8(LDT + 4, 0x13), -1); /* base bits 23:16: 0x12 -> 0x13 */
	ck_assert_uint_eq(st()->invalidations, inv + 1);
	ck_assert_int_eq(mov_sreg(S_GS, SEL_CODE), -1);
	ck_assert_int_eq(mov_sreg(S_GS, 0x0c), -1);
	ck_assert_uint_eq(st()->hits, h + 2);
	ck_assert_int_eq(mov_sreg(S_DS, 0x04), -1);
	ck_assert_uint_eq(fx.c->seg[S_DS].base, 0x133000);

	/* another LDT: its own entries and limit */
	ck_assert_int_eq(lldt(SEL_LDT2), -1);
	ck_assert_int_eq(mov_sreg(S_DS, 0x04), -1);
	ck_assert_uint_eq(fx.c->seg[S_DS].base, 0x200000);
	ck_assert_int_eq(mov_sreg(S_DS, 0x0c), -1);
	ck_assert_uint_eq(fx.c->seg[S_DS].base, 0x300000);
	LOAD_FAULTS(S_DS, 0x14, X86_EXC_GP, 0x14); /* beyond 0x0f now */
	/* a null LDT: every LDT selector faults */
	ck_assert_int_eq(lldt(0), -1);
	LOAD_FAULTS(S_DS, 0x04, X86_EXC_GP, 0x04);
}
END_TEST

START_TEST(test_seg_lldt_and_ltr_checks)
{
	prot_gdt();
	ck_assert_int_eq(lldt(SEL_DATA), X86_EXC_GP); /* not an LDT */
	ck_assert_uint_eq(fx_errcode(), SEL_DATA);
	ck_assert_int_eq(lldt(SEL_LDT | 4), X86_EXC_GP); /* TI = 1 */
	ck_assert_uint_eq(fx_errcode(), SEL_LDT | 4);
	ck_assert_int_eq(lldt(SEL_LDT_NP), X86_EXC_NP);
	ck_assert_uint_eq(fx_errcode(), SEL_LDT_NP);
	ck_assert_int_eq(lldt(0xa8), X86_EXC_GP);
	ck_assert_uint_eq(fx_errcode(), 0xa8);
	ck_assert_int_eq(ltr(SEL_LDT), X86_EXC_GP); /* not a TSS */
	ck_assert_uint_eq(fx_errcode(), SEL_LDT);
	ck_assert_int_eq(ltr(0), X86_EXC_GP);
	ck_assert_uint_eq(fx_errcode(), 0);
	ck_assert_int_eq(ltr(SEL_TSS), -1);
	ck_assert_uint_eq(fx.c->seg[S_TR].base, TSS);
	ck_assert_uint_eq(fx.ram[GDT + SEL_TSS + 5], P_ | 0xb); /* busy */
	ck_assert_int_eq(ltr(SEL_TSS), X86_EXC_GP);		/* a busy TSS */
	ck_assert_uint_eq(fx_errcode(), SEL_TSS);
}
END_TEST

/* --- long mode: 16-byte LDT and TSS descriptors (SDM Vol.3 §8.2.3, Figure 8-4) --- */

#define LM_LDT_SEL 0x60		  /* 16 bytes: 0x60..0x6f */
#define LM_TSS_SEL 0x70		  /* 16 bytes: 0x70..0x7f */
#define HIGH	   0x100000000ull /* linear HIGH + x maps physical x */

static void long_gdt(uint64_t gdt, uint16_t limit)
{
	fx_long64();
	fx_put64(FX_PML4 + 0x1000 + 4 * 8, 0x83); /* PDPT[4]: a 1G page at 0 */
	memset(fx.ram + gdt, 0, 0x80);
	put_desc(gdt, 0x08, desc(0, FLAT, CODE | 1, F_G | F_L));
	put_desc(gdt, 0x10, desc(0, FLAT, DATA | 1, F_G | F_DB));
	put_desc(gdt, LM_LDT_SEL, desc(LDT, 0x27, P_ | 0x2, 0));
	fx_put64(gdt + LM_LDT_SEL + 8, HIGH >> 32); /* base 63:32 */
	put_desc(gdt, LM_TSS_SEL, desc(TSS, 0x67, P_ | 0x9, 0));
	fx_put64(gdt + LM_TSS_SEL + 8, HIGH >> 32);
	memset(fx.ram + LDT, 0, 0x28);
	put_desc(LDT, 0x0c, desc(0, FLAT, DATA | DPL3 | 1, F_G | F_DB));
	ck_assert_int_eq(lgdt(gdt, limit), -1);
	ck_assert_uint_eq(fx.c->gdtr.base, gdt);
}

START_TEST(test_seg_long_mode_ldt_and_tss_descriptors_are_16_bytes)
{
	long_gdt(GDT, 0x7f);
	ck_assert_int_eq(lldt(LM_LDT_SEL), -1);
	ck_assert_uint_eq(fx.c->seg[S_LDTR].base, HIGH + LDT);
	ck_assert_uint_eq(fx.c->seg[S_LDTR].limit, 0x27);
	/* an LDT selector reads through the 64-bit base */
	ck_assert_int_eq(mov_sreg(S_DS, 0x0f), -1);
	ck_assert_uint_eq(fx.c->seg[S_DS].dpl, 3);
	ck_assert_int_eq(ltr(LM_TSS_SEL), -1);
	ck_assert_uint_eq(fx.c->seg[S_TR].base, HIGH + TSS);
	ck_assert_uint_eq(fx.ram[GDT + LM_TSS_SEL + 5], P_ | 0xb);

	/* a store to the upper half drops the 16-byte entry */
	uint64_t inv = st()->invalidations;
	ck_assert_int_eq(store8(GDT + LM_LDT_SEL + 8, 0), -1);
	ck_assert_uint_eq(st()->invalidations, inv + 1);
	ck_assert_int_eq(lldt(LM_LDT_SEL), -1);
	ck_assert_uint_eq(fx.c->seg[S_LDTR].base, LDT);
}
END_TEST

START_TEST(test_seg_long_mode_descriptor_across_pages_is_watched_on_both)
{
	/* the LDT descriptor's lower half ends page 0x8000, its upper half starts 0x9000 */
	long_gdt(0x9000 - LM_LDT_SEL - 8, 0x7f);
	ck_assert_int_eq(lldt(LM_LDT_SEL), -1);
	ck_assert_uint_eq(fx.c->seg[S_LDTR].base, HIGH + LDT);
	ck_assert_uint_eq(st()->unwatched, 0);
	uint64_t inv = st()->invalidations;
	ck_assert_int_eq(store8(0x9000, 0), -1); /* base 39:32 */
	ck_assert_uint_eq(st()->invalidations, inv + 1);
	ck_assert_int_eq(lldt(LM_LDT_SEL), -1);
	ck_assert_uint_eq(fx.c->seg[S_LDTR].base, LDT);
}
END_TEST

START_TEST(test_seg_long_mode_system_descriptor_must_fit_the_limit)
{
	/* the upper half of the LDT descriptor lies beyond a limit of 0x67 */
	long_gdt(GDT, 0x67);
	ck_assert_int_eq(lldt(LM_LDT_SEL), X86_EXC_GP);
	ck_assert_uint_eq(fx_errcode(), LM_LDT_SEL);
	ck_assert(fx.c->seg[S_LDTR].base != HIGH + LDT);
	/* a data descriptor at the same place is 8 bytes and fits */
	put_desc(GDT, LM_LDT_SEL, desc(0, FLAT, DATA | 1, F_G | F_DB));
	ck_assert_int_eq(mov_sreg(S_ES, LM_LDT_SEL), -1);
}
END_TEST

START_TEST(test_seg_null_ss_only_in_64bit_mode_below_ring3)
{
	long_gdt(GDT, 0x7f);
	/* SDM Vol.3 §5.4.1.1 and Vol.2 MOV "64-Bit Mode Exceptions": RPL = CPL < 3 */
	ck_assert_int_eq(mov_sreg(S_SS, 0), -1);
	ck_assert(fx.c->seg[S_SS].unusable);
	ck_assert_uint_eq(fx.c->seg[S_SS].dpl, 0);
	ck_assert_uint_eq(fx.c->cpl, 0);
	LOAD_FAULTS(S_SS, 3, X86_EXC_GP, 0);
	/* compatibility mode is not 64-bit mode: a null SS is #GP(0) as in protected mode */
	struct kvm_sregs s;
	ck_assert_int_eq(accel_soft_ops.get_sregs(fx.cpu, &s), 0);
	s.cs.l = 0;
	s.cs.db = 1;
	s.ss = fx_flat(0x10, 0x3, 0, true, false);
	ck_assert_int_eq(accel_soft_ops.set_sregs(fx.cpu, &s), 0);
	ck_assert(!fx.c->code64);
	LOAD_FAULTS(S_SS, 0, X86_EXC_GP, 0);
}
END_TEST

/* --- remapped tables --- */

#define GDT_LA 0x40000000ull /* linear; PT[0] maps it to GDT or GDT2 */
#define LM_PT  (FX_PML4 + 0x4000)
#define GDT_B  0xa000ull /* page aligned, for a PTE */

START_TEST(test_seg_cr3_write_and_invlpg_drop_the_shadow_of_a_remapped_gdt)
{
	long_gdt(GDT, 0x7f);
	/* PDPT[1] -> PD -> PT: 4K pages at 1G */
	fx_put64(FX_PML4 + 0x1000 + 8, (FX_PML4 + 0x3000) | 3);
	fx_put64(FX_PML4 + 0x3000, LM_PT | 3);
	fx_put64(LM_PT, GDT | 3);
	memcpy(fx.ram + GDT_B, fx.ram + GDT, 0x80);
	put_desc(GDT, SEL_DATA, desc(0x11000, FLAT, DATA | 1, F_G | F_DB));
	put_desc(GDT_B, SEL_DATA, desc(0x22000, FLAT, DATA | 1, F_G | F_DB));
	ck_assert_int_eq(lgdt(GDT_LA, 0x7f), -1);
	ck_assert_int_eq(mov_sreg(S_FS, SEL_DATA), -1);
	ck_assert_uint_eq(fx.c->seg[S_FS].base, 0x11000);

	/* invlpg of another page keeps the shadow; of the GDT's page drops it */
	uint64_t inv = st()->invalidations;
	fx.c->gpr[R_AX] = GDT_LA + 0x1000;
	ck_assert_int_eq(FX_EXEC(0x0f, 0x01, 0x38), -1); /* invlpg [rax] */
	ck_assert_uint_eq(st()->invalidations, inv);
	fx_put64(LM_PT, GDT_B | 3); /* the guest remaps the GDT's page */
	fx.c->gpr[R_AX] = GDT_LA;
	ck_assert_int_eq(FX_EXEC(0x0f, 0x01, 0x38), -1);
	ck_assert_uint_gt(st()->invalidations, inv);
	ck_assert_int_eq(mov_sreg(S_FS, SEL_DATA), -1);
	ck_assert_uint_eq(fx.c->seg[S_FS].base, 0x22000);
	/* back, and a mov cr3 (same value) */
	fx_put64(LM_PT, GDT | 3);
	fx.c->gpr[R_AX] = fx.c->cr3;
	ck_assert_int_eq(FX_EXEC(0x0f, 0x22, 0xd8), -1); /* mov cr3, rax */
	ck_assert_int_eq(mov_sreg(S_FS, SEL_DATA), -1);
	ck_assert_uint_eq(fx.c->seg[S_FS].base, 0x11000);
}
END_TEST

/* --- several vCPUs --- */

START_TEST(test_seg_store_by_another_vcpu_drops_the_entry)
{
	/* vCPU 1 with the same GDT, as an SMP guest's CPUs share descriptor pages */
	fx_use(1);
	prot_gdt();
	fx_use(0);
	prot_gdt();
	ck_assert_int_eq(mov_sreg(S_FS, SEL_DATA3), -1);
	ck_assert_uint_eq(fx.c->seg[S_FS].base, 0x40000);
	uint64_t inv = st()->invalidations;

	/* vCPU 1 rewrites base bits 23:16 */
	fx_use(1);
	ck_assert_int_eq(store8(GDT + SEL_DATA3 + 4, 0x07), -1);
	ck_assert_uint_eq(fx.ram[GDT + SEL_DATA3 + 4], 0x07);
	/*
	 * vCPU 0, between two blocks (what its monitor does), then reloads FS: the
	 * descriptor comes from the table (SDM Vol.3 §3.4.3), as vCPU 1 left it.
	 */
	fx_use(0);
	soft_frames_maintain(fx.v);
	ck_assert_int_eq(mov_sreg(S_FS, SEL_DATA3), -1);
	ck_assert_uint_eq(fx.c->seg[S_FS].base, 0x70000);
	ck_assert_uint_eq(st()->invalidations, inv + 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("soft_seg");
	TCase *sh = tcase_create("shadow");
	TCase *ck = tcase_create("checks");

	tcase_add_checked_fixture(sh, fx_setup, fx_teardown);
	tcase_add_checked_fixture(ck, fx_setup, fx_teardown);
	tcase_add_test(sh, test_seg_lgdt_leaves_entries_unmapped_until_first_load);
	tcase_add_test(sh, test_seg_accessed_bit_is_set_in_guest_gdt_and_kept_in_shadow);
	tcase_add_test(sh, test_seg_guest_store_to_gdt_drops_only_the_entry_it_hits);
	tcase_add_test(sh, test_seg_dma_write_to_gdt_drops_the_entry_before_the_next_block);
	tcase_add_test(sh, test_seg_ldt_selectors_after_lldt);
	tcase_add_test(sh, test_seg_long_mode_ldt_and_tss_descriptors_are_16_bytes);
	tcase_add_test(sh, test_seg_long_mode_descriptor_across_pages_is_watched_on_both);
	tcase_add_test(ck, test_seg_byte_and_page_granular_limits);
	tcase_add_test(ck, test_seg_expand_down_limits);
	tcase_add_test(ck, test_seg_ss_load_checks_and_error_codes);
	tcase_add_test(ck, test_seg_data_load_checks_and_error_codes);
	tcase_add_test(ck, test_seg_pop_sreg_faults_before_esp_moves);
	tcase_add_test(ck, test_seg_privilege_rules_at_cpl0);
	tcase_add_test(ck, test_seg_privilege_rules_at_cpl3);
	tcase_add_test(ck, test_seg_lldt_and_ltr_checks);
	tcase_add_test(ck, test_seg_long_mode_system_descriptor_must_fit_the_limit);
	tcase_add_test(ck, test_seg_null_ss_only_in_64bit_mode_below_ring3);
	tcase_add_test(sh, test_seg_cr3_write_and_invlpg_drop_the_shadow_of_a_remapped_gdt);
	TCase *smp = tcase_create("smp");
	tcase_add_checked_fixture(smp, fx_setup2, fx_teardown);
	tcase_add_test(smp, test_seg_store_by_another_vcpu_drops_the_entry);
	suite_add_tcase(s, sh);
	suite_add_tcase(s, smp);
	suite_add_tcase(s, ck);
	return cove_check_run(s);
}
