/* SPDX-License-Identifier: MIT */
/*
 * paging_pae: PAE paging (CR4.PAE = 1, 32-bit mode). #PF error codes (P, W/R, U/S, RSVD, I/D)
 * and CR2 for a not-present page, a write to a read-only page (CR0.WP = 1 at CPL 0, and CPL 3),
 * a user access to a supervisor page, an instruction fetch from an execute-disable page
 * (EFER.NXE = 1) and a reserved bit set, with 4 KiB and 2 MiB pages; accessed/dirty bits set by
 * the CPU.
 *
 * Relies on: SDM Vol.3 §4.4 (PAE paging, Figures 4-7 and 4-8, Table 4-11: PDPTEs have no R/W
 * or U/S), §4.6 (access rights, CR0.WP, execute-disable), §4.7 (page-fault error code: RSVD,
 * I/D reported with PAE and EFER.NXE = 1), §4.8 (accessed and dirty flags); bit 63 (XD) is
 * reserved while EFER.NXE = 0 and bits 20:13 of a 2 MiB PDE are reserved.
 * Known deviation of QEMU TCG 7.2 accepted only on QEMU TCG (guest.h, tcg_quirk): a reserved-bit
 * #PF has P = 0 in its error code.
 */
#include "guest.h"
#include "desc.h"
#include "trap.h"
#include "paging.h"


#define PTE_P	0x001ull
#define PTE_W	0x002ull
#define PTE_U	0x004ull
#define PTE_A	0x020ull
#define PTE_D	0x040ull
#define PDE_PS	0x080ull
#define PTE_XD	(1ull << 63)
#define PDE_RSVD_2M (1ull << 13) /* bits 20:13 of a 2 MiB PDE are reserved */

#define TEST_BASE 0x40000000ul /* PDPTE 1, PDE 0: 4K test pages */
#define BIG_BASE  0x40200000ul /* PDPTE 1, PDE 1: 2 MiB pages from here on */
#define BIG_PHYS  0x00400000ul


static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd_ident[512] __attribute__((aligned(4096)));
static volatile uint64_t pd_test[512] __attribute__((aligned(4096)));
static volatile uint64_t pt_test[512] __attribute__((aligned(4096)));
static uint8_t frames[16][4096] __attribute__((aligned(4096)));

static ulong va(unsigned i)
{
	return TEST_BASE + i * PAGE_SIZE;
}

static ulong pa(unsigned i)
{
	return (ulong)frames[i];
}

static ulong big(unsigned i)
{
	return BIG_BASE + i * 0x200000ul;
}

static volatile uint64_t *pte_of(ulong v)
{
	return &pt_test[(v >> 12) & 511];
}

static volatile uint64_t *pde_of(ulong v)
{
	return &pd_test[(v >> 21) & 511];
}

/* The accessed/dirty bits of an entry the CPU may have updated behind the compiler's back. */
static uint64_t ad(volatile uint64_t *e)
{
	barrier();
	return *e & (PTE_A | PTE_D);
}

static void map(ulong v, ulong p, uint64_t flags)
{
	*pte_of(v) = (uint64_t)p | flags;
	invlpg((void *)v);
}

static void map_big(ulong v, ulong p, uint64_t flags)
{
	*pde_of(v) = (uint64_t)p | PDE_PS | flags;
	invlpg((void *)v);
}

static void setup(void)
{
	/* The first 1 GiB identity-mapped with 2 MiB pages, user and writable. */
	for (unsigned i = 0; i < 512; i++)
		pd_ident[i] = (uint64_t)i << 21 | PDE_PS | PTE_P | PTE_W | PTE_U;
	pd_test[0] = (uint64_t)(ulong)(uint64_t *)pt_test | PTE_P | PTE_W | PTE_U;
	pdpt[0] = (uint64_t)(ulong)pd_ident | PTE_P;
	pdpt[1] = (uint64_t)(ulong)(uint64_t *)pd_test | PTE_P;
	write_cr4(read_cr4() | CR4_PAE);
	write_cr3((ulong)pdpt);
	write_cr0((read_cr0() | CR0_PG) & ~CR0_WP);
}

static void set_nxe(bool on)
{
	uint64_t efer = rdmsr(MSR_EFER);

	wrmsr(MSR_EFER, on ? efer | EFER_NXE : efer & ~(uint64_t)EFER_NXE);
	write_cr3(read_cr3());
}

static void rights_4k(void)
{
	struct trap_info ti;
	int c;

	map(va(0), 0, 0);
	map(va(1), pa(1), PTE_P);		  /* supervisor, read-only */
	map(va(2), pa(2), PTE_P | PTE_W);	  /* supervisor, writable */
	map(va(3), pa(3), PTE_P | PTE_U);	  /* user, read-only */
	map(va(4), pa(4), PTE_P | PTE_W | PTE_U); /* user, writable */

	c = probe_sup(p_read, va(0) + 0x10, &ti);
	expect_pf("4K: supervisor read, not present: err=0x0", c, &ti, 0, va(0) + 0x10);
	c = probe_sup(p_write, va(0) + 0x20, &ti);
	expect_pf("4K: supervisor write, not present: err=0x2", c, &ti, PF_W, va(0) + 0x20);
	c = probe_user(u_read, va(0) + 0x30, &ti);
	expect_pf("4K: user read, not present: err=0x4", c, &ti, PF_U, va(0) + 0x30);
	c = probe_user(u_write, va(0) + 0x40, &ti);
	expect_pf("4K: user write, not present: err=0x6", c, &ti, PF_U | PF_W, va(0) + 0x40);
	c = probe_user(u_read, va(2) + 0x50, &ti);
	expect_pf("4K: user read of a supervisor page: err=0x5", c, &ti, PF_P | PF_U,
		  va(2) + 0x50);
	c = probe_user(u_write, va(2) + 0x60, &ti);
	expect_pf("4K: user write to a supervisor page: err=0x7", c, &ti, PF_P | PF_W | PF_U,
		  va(2) + 0x60);
	c = probe_user(u_read, va(3) + 0x70, &ti);
	check(!c, "4K: user read of a read-only user page");
	c = probe_user(u_write, va(3) + 0x80, &ti);
	expect_pf("4K: user write to a read-only user page: err=0x7", c, &ti, PF_P | PF_W | PF_U,
		  va(3) + 0x80);
	c = probe_user(u_write, va(4) + 0x90, &ti);
	check(!c && *(volatile uint32_t *)(pa(4) + 0x90) == 0x600df00d,
	      "4K: user write to a writable user page lands in its frame");

	c = probe_sup(p_write, va(1) + 0xa0, &ti);
	check(!c, "4K: CR0.WP=0: supervisor write to a read-only page succeeds");
	write_cr0(read_cr0() | CR0_WP);
	c = probe_sup(p_write, va(1) + 0xb0, &ti);
	expect_pf("4K: CR0.WP=1: supervisor write to a read-only page: err=0x3", c, &ti,
		  PF_P | PF_W, va(1) + 0xb0);
	c = probe_sup(p_write, va(3) + 0xb0, &ti);
	expect_pf("4K: CR0.WP=1: supervisor write to a read-only user page: err=0x3", c, &ti,
		  PF_P | PF_W, va(3) + 0xb0);
	write_cr0(read_cr0() & ~CR0_WP);

	/* Rights combine across levels: a supervisor, read-only PDE over a user, writable PTE. */
	pd_test[0] &= ~(PTE_U | PTE_W);
	map(va(5), pa(5), PTE_P | PTE_W | PTE_U);
	c = probe_user(u_read, va(5) + 0x10, &ti);
	expect_pf("4K: user read, PTE user but PDE supervisor: err=0x5", c, &ti, PF_P | PF_U,
		  va(5) + 0x10);
	pd_test[0] |= PTE_U;
	invlpg((void *)va(5));
	c = probe_user(u_write, va(5) + 0x20, &ti);
	expect_pf("4K: user write, PTE writable but PDE read-only: err=0x7", c, &ti,
		  PF_P | PF_W | PF_U, va(5) + 0x20);
	pd_test[0] |= PTE_W;
	invlpg((void *)va(5));
	c = probe_user(u_write, va(5) + 0x20, &ti);
	check(!c, "4K: user write once the PDE allows it");
}

static void rights_2m(void)
{
	struct trap_info ti;
	int c;

	map_big(big(0), 0, 0);
	*pde_of(big(0)) = 0;
	invlpg((void *)big(0));
	map_big(big(1), BIG_PHYS, PTE_P);	  /* supervisor, read-only */
	map_big(big(2), BIG_PHYS, PTE_P | PTE_W); /* supervisor, writable */
	map_big(big(3), BIG_PHYS, PTE_P | PTE_U); /* user, read-only */

	c = probe_sup(p_read, big(0) + 0x123458, &ti);
	expect_pf("2M: supervisor read, not present: err=0x0", c, &ti, 0, big(0) + 0x123458);
	c = probe_user(u_write, big(0) + 0x1ffffc, &ti);
	expect_pf("2M: user write, not present: err=0x6", c, &ti, PF_U | PF_W, big(0) + 0x1ffffc);
	c = probe_user(u_read, big(2) + 0x54320, &ti);
	expect_pf("2M: user read of a supervisor page: err=0x5", c, &ti, PF_P | PF_U,
		  big(2) + 0x54320);
	c = probe_user(u_write, big(2) + 0x54324, &ti);
	expect_pf("2M: user write to a supervisor page: err=0x7", c, &ti, PF_P | PF_W | PF_U,
		  big(2) + 0x54324);
	c = probe_user(u_write, big(3) + 0x100000, &ti);
	expect_pf("2M: user write to a read-only user page: err=0x7", c, &ti, PF_P | PF_W | PF_U,
		  big(3) + 0x100000);
	c = probe_user(u_read, big(3) + 0x100000, &ti);
	check(!c, "2M: user read of a read-only user page");
	write_cr0(read_cr0() | CR0_WP);
	c = probe_sup(p_write, big(1) + 0x1f0000, &ti);
	expect_pf("2M: CR0.WP=1: supervisor write to a read-only page: err=0x3", c, &ti,
		  PF_P | PF_W, big(1) + 0x1f0000);
	write_cr0(read_cr0() & ~CR0_WP);
	c = probe_sup(p_write, big(1) + 0x1f0000, &ti);
	check(!c, "2M: CR0.WP=0: supervisor write to a read-only page succeeds");

	*(volatile uint32_t *)(BIG_PHYS + 0x123450) = 0xb16b00b5;
	check_eq("2M: read sees the physical frame", *(volatile uint32_t *)(big(2) + 0x123450),
		 0xb16b00b5);
	*(volatile uint32_t *)(big(2) + 0x1ffffc) = 0x4d4d4d4d;
	check_eq("2M: a write at its last dword lands 2M-4 into the frame",
		 *(volatile uint32_t *)(BIG_PHYS + 0x1ffffc), 0x4d4d4d4d);
}

static void nx(void)
{
	static const uint8_t code[] = { 0xb8, 0x34, 0x12, 0x00, 0x00, 0xc3 }; /* mov eax; ret */
	struct trap_info ti;
	ulong fn = va(6) + 0x200;
	int c;

	if (!cpu_has_nx()) {
		fail("execute-disable: CPUID reports no NX");
		return;
	}
	memcpy(frames[6] + 0x200, code, sizeof(code));
	map(va(6), pa(6), PTE_P | PTE_W | PTE_U);
	check_eq("code fetched through a 4K mapping runs", ((ulong(*)(void))fn)(), 0x1234);
	c = probe_sup(p_call, va(0) + 0x100, &ti);
	check_trap("fetch from a not-present page, NXE=0: #PF err=0x0 at the target", c, &ti,
		   VEC_PF, 0, va(0) + 0x100);
	check_eq("fetch from a not-present page: CR2", ti.cr2, va(0) + 0x100);

	set_nxe(true);
	c = probe_sup(p_call, va(0) + 0x100, &ti);
	check_trap("fetch from a not-present page, NXE=1: #PF err=0x10 at the target", c, &ti,
		   VEC_PF, PF_I, va(0) + 0x100);
	check_eq("fetch from a not-present page, NXE=1: CR2", ti.cr2, va(0) + 0x100);
	c = probe_user(u_call, va(0) + 0x104, &ti);
	expect_pf("user fetch from a not-present page, NXE=1: err=0x14", c, &ti, PF_U | PF_I,
		  va(0) + 0x104);
	map(va(6), pa(6), PTE_P | PTE_W | PTE_U | PTE_XD);
	c = probe_sup(p_call, fn, &ti);
	check_trap("4K: supervisor fetch from an XD page: #PF err=0x11 at the target", c, &ti,
		   VEC_PF, PF_P | PF_I, fn);
	check_eq("4K: supervisor fetch from an XD page: CR2", ti.cr2, fn);
	c = probe_user(u_call, fn, &ti);
	expect_pf("4K: user fetch from an XD page: err=0x15", c, &ti, PF_P | PF_U | PF_I, fn);
	c = probe_sup(p_read, fn, &ti);
	check(!c, "4K: data read of an XD page");
	/* XD in the PDE alone forbids the fetch too. */
	map(va(6), pa(6), PTE_P | PTE_W | PTE_U);
	pd_test[0] |= PTE_XD;
	invlpg((void *)fn);
	c = probe_sup(p_call, fn, &ti);
	expect_pf("4K: fetch under an XD PDE: err=0x11", c, &ti, PF_P | PF_I, fn);
	pd_test[0] &= ~PTE_XD;
	invlpg((void *)fn);
	check_eq("4K: code runs again once XD is clear", ((ulong(*)(void))fn)(), 0x1234);

	memcpy((void *)(BIG_PHYS + 0x180000), code, sizeof(code));
	map_big(big(4), BIG_PHYS, PTE_P | PTE_W | PTE_U | PTE_XD);
	c = probe_sup(p_call, big(4) + 0x180000, &ti);
	expect_pf("2M: supervisor fetch from an XD page: err=0x11", c, &ti, PF_P | PF_I,
		  big(4) + 0x180000);
	c = probe_user(u_call, big(4) + 0x180000, &ti);
	expect_pf("2M: user fetch from an XD page: err=0x15", c, &ti, PF_P | PF_U | PF_I,
		  big(4) + 0x180000);
	map_big(big(4), BIG_PHYS, PTE_P | PTE_W | PTE_U);
	check_eq("2M: code runs once XD is clear", ((ulong(*)(void))(big(4) + 0x180000))(),
		 0x1234);
	set_nxe(false);
}

static void reserved(void)
{
	struct trap_info ti;
	ulong fn = va(7) + 0x300;
	int c;

	/* XD set while EFER.NXE = 0: bit 63 is reserved. */
	frames[7][0x300] = 0xc3;
	map(va(7), pa(7), PTE_P | PTE_W | PTE_U | PTE_XD);
	c = probe_sup(p_read, va(7) + 0x10, &ti);
	expect_rsvd("4K: read, XD set with NXE=0: err=0x9", c, &ti, PF_P | PF_RSVD, va(7) + 0x10);
	c = probe_sup(p_write, va(7) + 0x14, &ti);
	expect_rsvd("4K: write, XD set with NXE=0: err=0xb", c, &ti, PF_P | PF_W | PF_RSVD,
		  va(7) + 0x14);
	c = probe_user(u_read, va(7) + 0x18, &ti);
	expect_rsvd("4K: user read, XD set with NXE=0: err=0xd", c, &ti, PF_P | PF_U | PF_RSVD,
		  va(7) + 0x18);
	c = probe_sup(p_call, fn, &ti);
	expect_rsvd("4K: fetch, XD set with NXE=0: err=0x9", c, &ti, PF_P | PF_RSVD, fn);
	/* XD in the PDE with NXE = 0. */
	map(va(7), pa(7), PTE_P | PTE_W | PTE_U);
	pd_test[0] |= PTE_XD;
	invlpg((void *)va(7));
	c = probe_sup(p_read, va(7) + 0x1c, &ti);
	expect_rsvd("4K: read, XD set in the PDE with NXE=0: err=0x9", c, &ti, PF_P | PF_RSVD,
		  va(7) + 0x1c);
	pd_test[0] &= ~PTE_XD;
	invlpg((void *)va(7));
	c = probe_sup(p_read, va(7) + 0x1c, &ti);
	check(!c, "4K: read once the reserved bit is clear");

	/* Bit 13 of a 2 MiB PDE. */
	map_big(big(5), BIG_PHYS, PTE_P | PTE_W | PTE_U | PDE_RSVD_2M);
	c = probe_sup(p_read, big(5) + 0x20, &ti);
	expect_rsvd("2M: read, PDE bit 13 set: err=0x9", c, &ti, PF_P | PF_RSVD, big(5) + 0x20);
	c = probe_user(u_write, big(5) + 0x24, &ti);
	expect_rsvd("2M: user write, PDE bit 13 set: err=0xf", c, &ti,
		  PF_P | PF_W | PF_U | PF_RSVD, big(5) + 0x24);
	set_nxe(true);
	c = probe_sup(p_call, big(5) + 0x180000, &ti);
	expect_rsvd("2M: fetch, PDE bit 13 set, NXE=1: err=0x19", c, &ti, PF_P | PF_RSVD | PF_I,
		  big(5) + 0x180000);
	c = probe_sup(p_read, big(5) + 0x28, &ti);
	expect_rsvd("2M: read, PDE bit 13 set, NXE=1: err=0x9", c, &ti, PF_P | PF_RSVD,
		  big(5) + 0x28);
	set_nxe(false);
	map_big(big(5), BIG_PHYS, PTE_P | PTE_W | PTE_U);
	c = probe_sup(p_read, big(5) + 0x20, &ti);
	check(!c, "2M: read once the reserved bit is clear");
}

static void accessed_dirty(void)
{
	volatile uint32_t *p = (volatile uint32_t *)va(8);
	uint32_t v;

	pd_test[0] &= ~(PTE_A | PTE_D);
	map(va(8), pa(8), PTE_P | PTE_W);
	write_cr3(read_cr3());
	check_eq("4K: fresh PTE: A=0 D=0", ad(pte_of(va(8))), 0);
	v = *p;
	(void)v;
	check_eq("4K: after a read: A=1 D=0", ad(pte_of(va(8))), PTE_A);
	check_eq("4K: after a read: the PDE's A=1", ad(&pd_test[0]) & PTE_A, PTE_A);
	*p = 1;
	check_eq("4K: after a write: A=1 D=1", ad(pte_of(va(8))), PTE_A | PTE_D);
	map(va(9), pa(9), PTE_P | PTE_W);
	*(volatile uint32_t *)va(9) = 2;
	check_eq("4K: first access a write: A=1 D=1", ad(pte_of(va(9))), PTE_A | PTE_D);
	map(va(10), pa(10), PTE_P | PTE_U);
	write_cr0(read_cr0() | CR0_WP);
	{
		struct trap_info ti;

		probe_sup(p_write, va(10), &ti);
	}
	write_cr0(read_cr0() & ~CR0_WP);
	check_eq("4K: a write that faults leaves D=0", ad(pte_of(va(10))) & PTE_D, 0);

	map_big(big(6), BIG_PHYS, PTE_P | PTE_W);
	v = *(volatile uint32_t *)(big(6) + 0x1000);
	check_eq("2M: after a read: A=1 D=0", ad(pde_of(big(6))), PTE_A);
	*(volatile uint32_t *)(big(6) + 0x1000) = v;
	check_eq("2M: after a write: A=1 D=1", ad(pde_of(big(6))), PTE_A | PTE_D);
}

void guest_main(void)
{
	printf("paging_pae: PAE paging, 4K and 2M pages, #PF error codes, WP, XD, RSVD, A/D\n");
	if (!cpu_has_pae()) {
		fail("CPUID reports no PAE");
		return;
	}
	setup();
	rights_4k();
	rights_2m();
	nx();
	reserved();
	accessed_dirty();
}
