/* SPDX-License-Identifier: MIT */
/*
 * paging32: 32-bit paging (CR4.PAE = 0). #PF error codes (P, W/R, U/S) and CR2 for every kind of
 * violation, permissions combined across PDE and PTE, CR0.WP for supervisor writes, 4 MiB pages
 * (CR4.PSE), accessed/dirty bits set by the CPU, instruction fetches through paging, and the
 * TLB rules the SDM guarantees: after INVLPG or a CR3 load the new mapping is used, INVLPG also
 * drops global entries, a CR4.PGE toggle flushes everything, not-present entries are never
 * cached and a #PF drops the faulting translation.
 *
 * Relies on: SDM Vol.3 §4.3 (32-bit paging, Figure 4-4), §4.6 (access rights, CR0.WP), §4.7
 * (page-fault error code; I/D is 0 without PAE+NXE or SMEP), §4.8 (accessed and dirty flags),
 * §4.10.2.3 (global pages), §4.10.4.1 (operations that invalidate TLBs), §4.10.4.3 (optional
 * invalidation: P 0->1, rights upgraded after a #PF).
 */
#include "guest.h"
#include "desc.h"
#include "trap.h"
#include "paging.h"

#define TEST_BASE  0x00800000ul /* PDE 2: 4K test pages */
#define TEST2_BASE 0x00c00000ul /* PDE 3: a page table under a restrictive PDE */
#define BIG_BASE   0x01000000ul /* PDE 4: a 4 MiB page */
#define BIG_RO	   0x01400000ul /* PDE 5: a read-only user 4 MiB page */

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_ident[2][1024] __attribute__((aligned(4096)));
static uint32_t pt_test[1024] __attribute__((aligned(4096)));
static uint32_t pt_test2[1024] __attribute__((aligned(4096)));
static uint8_t frames[16][4096] __attribute__((aligned(4096)));

static uint32_t *pte_of(ulong v)
{
	return (v >> 22) == 3 ? &pt_test2[(v >> 12) & 1023] : &pt_test[(v >> 12) & 1023];
}

static void map(ulong v, ulong p, uint64_t flags)
{
	*pte_of(v) = (uint32_t)(p | flags);
	invlpg((void *)v);
}

static const struct pg_layout layout = { .va0 = TEST_BASE, .frames = frames, .map = map };

static void setup(void)
{
	pg_use(&layout);
	paging32_identity(pd, pt_ident, 2, PTE_P | PTE_W | PTE_U);
	pd[2] = (uint32_t)(ulong)pt_test | PTE_P | PTE_W | PTE_U;
	pd[3] = (uint32_t)(ulong)pt_test2 | PTE_P; /* supervisor, read-only */
	write_cr4(read_cr4() | CR4_PSE);
	pd[4] = BIG_PHYS | PDE_PS | PTE_P | PTE_W | PTE_U;
	pd[5] = BIG_PHYS | PDE_PS | PTE_P | PTE_U;
	write_cr3((ulong)pd);
	write_cr0((read_cr0() | CR0_PG) & ~CR0_WP);
}

static const struct pg_probe wp0_user[] = {
	PG_OK_ROW("CR0.WP=0: supervisor write to a read-only user page succeeds", p_write,
		  3 * PAGE_SIZE + 0xa0),
};

/* Rights combine across levels: PDE 3 is supervisor and read-only. */
static const struct pg_probe pde_supervisor[] = {
	PG_PF_ROW("user read, PTE user but PDE supervisor: err=0x5", u_read, 0x10, PF_P | PF_U),
};
static const struct pg_probe pde_user[] = {
	PG_OK_ROW("user read once the PDE allows user", u_read, 0x10),
	PG_PF_ROW("user write, PTE writable but PDE read-only: err=0x7", u_write, 0x20,
		  PF_P | PF_W | PF_U),
};

/* Instruction fetch: from a not-present page the fault is at the target itself. */
static const struct pg_probe fetch_not_present[] = {
	PG_FETCH_ROW("fetch from a not-present page: #PF err=0x0 at the target", p_call, 0x100, 0,
		     "fetch from a not-present page"),
};

static void error_codes(void)
{
	pg_map_rights_4k();
	PG_RUN("", TEST_BASE, pg_not_present_4k);
	PG_RUN("", TEST_BASE, pg_rights_4k);
	PG_RUN("", TEST_BASE, wp0_user);
	PG_RUN("", TEST_BASE, pg_wp_4k);

	map(TEST2_BASE, pg_pa(5), PTE_P | PTE_W | PTE_U);
	PG_RUN("", TEST2_BASE, pde_supervisor);
	pd[3] |= PTE_U;
	invlpg((void *)TEST2_BASE);
	PG_RUN("", TEST2_BASE, pde_user);

	PG_RUN("", TEST_BASE, fetch_not_present);
}

static void code_through_paging(void)
{
	ulong (*fn)(void) = (ulong(*)(void))(pg_va(6) + 0x200);

	memcpy(frames[6] + 0x200, pg_ret_1234, sizeof(pg_ret_1234));
	map(pg_va(6), pg_pa(6), PTE_P | PTE_W);
	check_eq("code fetched through a 4K mapping runs", fn(), 0x1234);
}

static void accessed_dirty(void)
{
	volatile uint32_t *p = (volatile uint32_t *)pg_va(7);
	uint32_t v;

	pd[2] &= ~(uint32_t)(PTE_A | PTE_D);
	map(pg_va(7), pg_pa(7), PTE_P | PTE_W);
	check((*pte_of(pg_va(7)) & (PTE_A | PTE_D)) == 0, "fresh PTE: A=0 D=0");
	v = *p;
	(void)v;
	check((*pte_of(pg_va(7)) & (PTE_A | PTE_D)) == PTE_A, "after a read: A=1 D=0");
	check(pd[2] & PTE_A, "after a read: the PDE's A=1");
	*p = 1;
	check((*pte_of(pg_va(7)) & (PTE_A | PTE_D)) == (PTE_A | PTE_D), "after a write: A=1 D=1");
	/* A write is the first access: both bits at once. */
	map(pg_va(8), pg_pa(8), PTE_P | PTE_W);
	*(volatile uint32_t *)pg_va(8) = 2;
	check((*pte_of(pg_va(8)) & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
	      "first access a write: A=1 D=1");
	/* A faulting write sets no D (SDM Vol.3 §4.8: set only on successful writes). */
	map(pg_va(9), pg_pa(9), PTE_P | PTE_U);
	write_cr0(read_cr0() | CR0_WP);
	{
		struct trap_info ti;

		probe_sup(p_write, pg_va(9), &ti);
	}
	write_cr0(read_cr0() & ~CR0_WP);
	check(!(*pte_of(pg_va(9)) & PTE_D), "a write that faults leaves D=0");
}

static void big_pages(void)
{
	struct trap_info ti;
	int c;

	if (!cpu_has_pse()) {
		fail("4 MiB pages: CPUID reports no PSE");
		return;
	}
	*(volatile uint32_t *)(BIG_PHYS + 0x123450) = 0xb16b00b5;
	check_eq("4M page: read sees the physical frame",
		 *(volatile uint32_t *)(BIG_BASE + 0x123450), 0xb16b00b5);
	*(volatile uint32_t *)(BIG_BASE + 0x3ffffc) = 0x4d4d4d4d;
	check_eq("4M page: write at its last dword lands 4M-4 into the frame",
		 *(volatile uint32_t *)(BIG_PHYS + 0x3ffffc), 0x4d4d4d4d);
	check((pd[4] & (PTE_A | PTE_D)) == (PTE_A | PTE_D), "4M page: A and D set in the PDE");
	c = probe_user(u_write, BIG_RO + 0x2345, &ti);
	expect_pf("4M page: user write to a read-only page: err=0x7", c, &ti, PF_P | PF_W | PF_U,
		  BIG_RO + 0x2345);
	c = probe_user(u_read, BIG_RO + 0x2345, &ti);
	check(!c, "4M page: user read of a read-only user page");
}

static void tlb(void)
{
	volatile uint32_t *p = (volatile uint32_t *)pg_va(10);
	struct trap_info ti;
	uint32_t v;
	int c;

	*(volatile uint32_t *)pg_pa(10) = 0xaaaa0001;
	*(volatile uint32_t *)pg_pa(11) = 0xbbbb0002;
	*(volatile uint32_t *)pg_pa(12) = 0xcccc0003;

	map(pg_va(10), pg_pa(10), PTE_P | PTE_W);
	v = *p;
	*pte_of(pg_va(10)) = (uint32_t)pg_pa(11) | PTE_P | PTE_W;
	invlpg((void *)pg_va(10));
	check_eq("after INVLPG the new mapping is used", *p, 0xbbbb0002);
	(void)v;

	*pte_of(pg_va(10)) = (uint32_t)pg_pa(12) | PTE_P | PTE_W;
	write_cr3(read_cr3());
	check_eq("after a CR3 load the new mapping is used", *p, 0xcccc0003);

	/* Global pages survive a CR3 load only optionally, but INVLPG and CR4.PGE drop them. */
	write_cr4(read_cr4() | CR4_PGE);
	map(pg_va(10), pg_pa(10), PTE_P | PTE_W | PTE_G);
	v = *p;
	*pte_of(pg_va(10)) = (uint32_t)pg_pa(11) | PTE_P | PTE_W | PTE_G;
	invlpg((void *)pg_va(10));
	check_eq("INVLPG drops a global translation", *p, 0xbbbb0002);
	*pte_of(pg_va(10)) = (uint32_t)pg_pa(12) | PTE_P | PTE_W | PTE_G;
	write_cr4(read_cr4() & ~CR4_PGE);
	write_cr4(read_cr4() | CR4_PGE);
	check_eq("toggling CR4.PGE drops global translations", *p, 0xcccc0003);
	write_cr4(read_cr4() & ~CR4_PGE);

	/* Not-present entries are not cached: P 0->1 needs no invalidation (§4.10.4.3). */
	map(pg_va(13), 0, 0);
	c = probe_sup(p_read, pg_va(13), &ti);
	check(c && ti.vector == VEC_PF, "read of a not-present page faults");
	*pte_of(pg_va(13)) = (uint32_t)pg_pa(10) | PTE_P | PTE_W;
	c = probe_sup(p_read, pg_va(13), &ti);
	check(!c, "after P 0->1 without INVLPG the page is mapped");

	/* A #PF invalidates the faulting translation (§4.10.4.1): upgrade rights, retry. */
	map(pg_va(14), pg_pa(14), PTE_P | PTE_U);
	v = *(volatile uint32_t *)pg_va(14);
	c = probe_user(u_write, pg_va(14), &ti);
	check(c && ti.vector == VEC_PF && ti.error == (PF_P | PF_W | PF_U),
	      "user write to a read-only page faults");
	*pte_of(pg_va(14)) |= PTE_W;
	c = probe_user(u_write, pg_va(14), &ti);
	check(!c, "after the #PF and a rights upgrade without INVLPG the write succeeds");
}

void guest_main(void)
{
	printf("paging32: 32-bit paging, #PF error codes, WP, PSE, A/D bits, TLB rules\n");
	setup();
	error_codes();
	code_through_paging();
	accessed_dirty();
	big_pages();
	tlb();
}
