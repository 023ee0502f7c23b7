/* SPDX-License-Identifier: MIT */
/*
 * paging64: 4-level paging in long mode. #PF error codes (P, W/R, U/S, RSVD, I/D) and CR2 for
 * a not-present entry at each level, a write to a read-only page (CR0.WP = 1 at CPL 0, and
 * CPL 3), a user access to a supervisor page, an instruction fetch from an execute-disable page
 * (EFER.NXE = 1, XD in the PTE, the PDE or the PML4E) and a reserved bit set, with 4 KiB and
 * 2 MiB pages; 1 GiB pages when CPUID says they exist, and otherwise PDPTE.PS is a reserved bit
 * (the same lines print either way); accessed/dirty bits set by the CPU at every level.
 *
 * Relies on: SDM Vol.3 §4.5 (4-level paging, Figures 4-8 to 4-11, Tables 4-14 to 4-20: PS is
 * reserved in a PML4E, and in a PDPTE without CPUID.80000001H:EDX.Page1GB[26]; bits 20:13 of a
 * 2 MiB PDE and 29:13 of a 1 GiB PDPTE are reserved; bit 63 is reserved while EFER.NXE = 0),
 * §4.6 (access rights, CR0.WP, execute-disable), §4.7 (page-fault error code; I/D with
 * EFER.NXE = 1), §4.8 (accessed and dirty flags).
 * Known deviations of QEMU TCG 7.2 accepted only on QEMU TCG (guest.h, tcg_quirk): a reserved-bit
 * #PF has P = 0 in its error code; without Page1GB (its default CPU model) PDPTE.PS is no
 * reserved bit, it maps a 1 GiB page.
 */
#include "guest.h"
#include "desc.h"
#include "trap.h"
#include "paging.h"

#define GB	       0x40000000ul
#define TEST_BASE      0x8000000000ul  /* PML4E 1, PDPTE 0, PDE 0: 4K test pages */
#define BIG_BASE       0x8000200000ul  /* PML4E 1, PDPTE 0, PDE 1..: 2 MiB pages */
#define HUGE_BASE      0x8040000000ul  /* PML4E 1, PDPTE 1..: 1 GiB pages */
#define NP_PML4_BASE   0x10000000000ul /* PML4E 2: not present */
#define RSVD_PML4_BASE 0x18000000000ul /* PML4E 3: PS set (reserved) */
#define XD_PML4_BASE   0x20000000000ul /* PML4E 4: the test PDPT again, XD in the PML4E */

static volatile uint64_t pml4[512] __attribute__((aligned(4096)));
static volatile uint64_t pdpt_ident[512] __attribute__((aligned(4096)));
static volatile uint64_t pd_ident[4][512] __attribute__((aligned(4096)));
static volatile uint64_t pdpt_test[512] __attribute__((aligned(4096)));
static volatile uint64_t pd_test[512] __attribute__((aligned(4096)));
static volatile uint64_t pt_test[512] __attribute__((aligned(4096)));
static uint8_t frames[16][4096] __attribute__((aligned(4096)));

static const struct pg_level upper[] = {
	{ "PDE", &pd_test[0] },
	{ "PDPTE", &pdpt_test[0] },
	{ "PML4E", &pml4[1] },
};
static const struct pg_layout layout =
	PG_LAYOUT64(TEST_BASE, frames, BIG_BASE, pt_test, pd_test, upper);

static ulong tbl(volatile uint64_t *t)
{
	return (ulong)(uint64_t *)t;
}

static void setup(void)
{
	pg_use(&layout);
	/* The first 4 GiB identity-mapped with 2 MiB pages, as the runtime had it. */
	for (unsigned t = 0; t < 4; t++) {
		for (unsigned i = 0; i < 512; i++)
			pd_ident[t][i] = ((uint64_t)t << 30 | (uint64_t)i << 21) | PDE_PS | PTE_ALL;
		pdpt_ident[t] = tbl(pd_ident[t]) | PTE_ALL;
	}
	pml4[0] = tbl(pdpt_ident) | PTE_ALL;
	pml4[1] = tbl(pdpt_test) | PTE_ALL;
	pml4[3] = tbl(pdpt_test) | PTE_ALL | PDE_PS;
	pml4[4] = tbl(pdpt_test) | PTE_ALL | PTE_XD;
	pdpt_test[0] = tbl(pd_test) | PTE_ALL;
	pd_test[0] = tbl(pt_test) | PTE_ALL;
	write_cr3(tbl(pml4));
	write_cr0(read_cr0() & ~CR0_WP);
}

/* A not-present entry at each level. */
static const struct pg_probe not_present[] = {
	PG_PF_ROW("4K: supervisor read, PTE not present: err=0x0", p_read, TEST_BASE + 0x10, 0),
	PG_PF_ROW("4K: supervisor write, PTE not present: err=0x2", p_write, TEST_BASE + 0x20,
		  PF_W),
	PG_PF_ROW("4K: user read, PTE not present: err=0x4", u_read, TEST_BASE + 0x30, PF_U),
	PG_PF_ROW("4K: user write, PTE not present: err=0x6", u_write, TEST_BASE + 0x40,
		  PF_U | PF_W),
	PG_PF_ROW("supervisor read, PML4E not present: err=0x0", p_read, NP_PML4_BASE + 0x12345678,
		  0),
	PG_PF_ROW("user write, PML4E not present: err=0x6", u_write, NP_PML4_BASE + 0x9abcdef0,
		  PF_U | PF_W),
	PG_PF_ROW("supervisor read, PDPTE not present: err=0x0", p_read,
		  TEST_BASE + 7 * GB + 0x1000, 0),
	PG_PF_ROW("supervisor write, PDE not present: err=0x2", p_write,
		  BIG_BASE + 300 * 0x200000ul + 0x2000, PF_W),
};

/* Rights combine across levels: U/S and R/W clear in the PDPTE alone, then in the PML4E. */
static const struct pg_probe pdpte_supervisor[] = {
	PG_PF_ROW("user read, PTE user but PDPTE supervisor: err=0x5", u_read, 5 * PAGE_SIZE + 0x10,
		  PF_P | PF_U),
};
static const struct pg_probe pdpte_read_only[] = {
	PG_PF_ROW("user write, PTE writable but PDPTE read-only: err=0x7", u_write,
		  5 * PAGE_SIZE + 0x20, PF_P | PF_W | PF_U),
};
static const struct pg_probe pml4e_supervisor[] = {
	PG_PF_ROW("user read, PML4E supervisor: err=0x5", u_read, 5 * PAGE_SIZE + 0x30,
		  PF_P | PF_U),
};
static const struct pg_probe all_levels[] = {
	PG_OK_ROW("user write once every level allows it", u_write, 5 * PAGE_SIZE + 0x20),
};

static void rights_4k(void)
{
	pg_map_rights_4k();
	PG_RUN("", 0, not_present);
	PG_RUN("4K: ", TEST_BASE, pg_rights_4k);
	PG_RUN("4K: ", TEST_BASE, pg_wp_4k);

	pg_map(pg_va(5), pg_pa(5), PTE_ALL);
	pdpt_test[0] &= ~(PTE_U | PTE_W);
	write_cr3(read_cr3());
	PG_RUN("4K: ", TEST_BASE, pdpte_supervisor);
	pdpt_test[0] |= PTE_U;
	write_cr3(read_cr3());
	PG_RUN("4K: ", TEST_BASE, pdpte_read_only);
	pdpt_test[0] |= PTE_W;
	pml4[1] &= ~PTE_U;
	write_cr3(read_cr3());
	PG_RUN("4K: ", TEST_BASE, pml4e_supervisor);
	pml4[1] |= PTE_U;
	write_cr3(read_cr3());
	PG_RUN("4K: ", TEST_BASE, all_levels);
}

/* XD in the PML4E: the same page through PML4E 4. */
static const struct pg_probe nx_pml4e[] = {
	PG_PF_ROW("fetch under an XD PML4E: err=0x11", p_call, 6 * PAGE_SIZE + 0x200, PF_P | PF_I),
	PG_OK_ROW("data read under an XD PML4E", p_read, 6 * PAGE_SIZE + 0x200),
};

static void nx_pml4(void)
{
	PG_RUN("4K: ", XD_PML4_BASE, nx_pml4e);
}

static const struct pg_probe reserved_pml4e[] = {
	PG_RSVD_ROW("read, XD set in the PML4E with NXE=0: err=0x9", p_read,
		    XD_PML4_BASE + 7 * PAGE_SIZE, PF_P | PF_RSVD),
	PG_RSVD_ROW("read, PML4E.PS set: err=0x9", p_read, RSVD_PML4_BASE + 7 * PAGE_SIZE,
		    PF_P | PF_RSVD),
	PG_RSVD_ROW("user write, PML4E.PS set: err=0xf", u_write, RSVD_PML4_BASE + 7 * PAGE_SIZE,
		    PF_P | PF_W | PF_U | PF_RSVD),
	PG_OK_ROW("read through a valid PML4E", p_read, TEST_BASE + 7 * PAGE_SIZE + 0x1c),
};

static void reserved(void)
{
	pg_reserved_xd_4k();
	PG_RUN("4K: ", 0, reserved_pml4e);
	pg_reserved_2m();
}

/*
 * PDPTE.PS: a 1 GiB page when CPUID.80000001H:EDX[26] says so, a reserved bit otherwise. Each
 * line prints the same in both cases; the failing case says what went wrong.
 */
#define HUGE_OFF (BIG_PHYS + 0x345670)

/* QEMU TCG 7.2 without Page1GB maps a 1 GiB page instead: accepted there only (tcg_quirk). */
static void expect_rsvd_1g(const char *what, int c, const struct trap_info *ti, ulong err,
			   ulong addr)
{
	if (tcg_quirk(!c))
		check(true, "%s", what);
	else
		expect_rsvd(what, c, ti, err, addr);
}

static void one_gig(void)
{
	volatile uint64_t *e = &pdpt_test[1];
	struct trap_info ti;
	int c;

	*(volatile uint32_t *)HUGE_OFF = 0x1ea7f00d;
	*e = 0 | PDE_PS | PTE_ALL;
	write_cr3(read_cr3());
	if (cpu_has_1g_pages()) {
		bool ok;

		c = probe_sup(p_read, HUGE_BASE + HUGE_OFF, &ti);
		ok = !c && *(volatile uint32_t *)(HUGE_BASE + HUGE_OFF) == 0x1ea7f00d;
		*(volatile uint32_t *)(HUGE_BASE + BIG_PHYS + 0x1ffff0) = 0x600d600d;
		check(ok && *(volatile uint32_t *)(BIG_PHYS + 0x1ffff0) == 0x600d600d &&
			      pg_ad(e) == (PTE_A | PTE_D),
		      "PDPTE.PS: a 1G page (maps its frame, sets A and D) or a reserved bit");
		*e = 0 | PDE_PS | PTE_P | PTE_U;
		write_cr3(read_cr3());
		c = probe_user(u_write, HUGE_BASE + HUGE_OFF, &ti);
		expect_pf("PDPTE.PS: user write to a read-only 1G page (err=0x7) or a reserved bit",
			  c, &ti, PF_P | PF_W | PF_U, HUGE_BASE + HUGE_OFF);
		*e = 0 | PDE_PS | PTE_P | PTE_W;
		write_cr3(read_cr3());
		c = probe_user(u_read, HUGE_BASE + HUGE_OFF, &ti);
		expect_pf("PDPTE.PS: user read of a supervisor 1G page (err=0x5) or a reserved bit",
			  c, &ti, PF_P | PF_U, HUGE_BASE + HUGE_OFF);
		*e = 0 | PDE_PS | PTE_ALL | RSVD_13;
		write_cr3(read_cr3());
		c = probe_sup(p_read, HUGE_BASE + HUGE_OFF, &ti);
		expect_rsvd("PDPTE.PS: 1G page with bit 13 set (err=0x9) or a reserved bit", c, &ti,
			    PF_P | PF_RSVD, HUGE_BASE + HUGE_OFF);
		pg_set_nxe(true);
		*e = 0 | PDE_PS | PTE_ALL | PTE_XD;
		write_cr3(read_cr3());
		memcpy((void *)(BIG_PHYS + 0x180000), pg_ret_1234, sizeof(pg_ret_1234));
		c = probe_sup(p_call, HUGE_BASE + BIG_PHYS + 0x180000, &ti);
		expect_pf("PDPTE.PS: fetch from an XD 1G page (err=0x11) or a reserved bit", c, &ti,
			  PF_P | PF_I, HUGE_BASE + BIG_PHYS + 0x180000);
		pg_set_nxe(false);
	} else {
		c = probe_sup(p_read, HUGE_BASE + HUGE_OFF, &ti);
		expect_rsvd_1g(
			"PDPTE.PS: a 1G page (maps its frame, sets A and D) or a reserved bit", c,
			&ti, PF_P | PF_RSVD, HUGE_BASE + HUGE_OFF);
		c = probe_user(u_write, HUGE_BASE + HUGE_OFF, &ti);
		expect_rsvd_1g(
			"PDPTE.PS: user write to a read-only 1G page (err=0x7) or a reserved bit",
			c, &ti, PF_P | PF_W | PF_U | PF_RSVD, HUGE_BASE + HUGE_OFF);
		c = probe_user(u_read, HUGE_BASE + HUGE_OFF, &ti);
		expect_rsvd_1g(
			"PDPTE.PS: user read of a supervisor 1G page (err=0x5) or a reserved bit",
			c, &ti, PF_P | PF_U | PF_RSVD, HUGE_BASE + HUGE_OFF);
		c = probe_sup(p_read, HUGE_BASE + HUGE_OFF + 4, &ti);
		expect_rsvd_1g("PDPTE.PS: 1G page with bit 13 set (err=0x9) or a reserved bit", c,
			       &ti, PF_P | PF_RSVD, HUGE_BASE + HUGE_OFF + 4);
		pg_set_nxe(true);
		c = probe_sup(p_call, HUGE_BASE + BIG_PHYS + 0x180000, &ti);
		expect_rsvd_1g("PDPTE.PS: fetch from an XD 1G page (err=0x11) or a reserved bit", c,
			       &ti, PF_P | PF_RSVD | PF_I, HUGE_BASE + BIG_PHYS + 0x180000);
		pg_set_nxe(false);
	}
	*e = 0;
	write_cr3(read_cr3());
}

void guest_main(void)
{
	printf("paging64: 4-level paging, 4K/2M/1G pages, #PF error codes, WP, XD, RSVD, A/D\n");
	setup();
	rights_4k();
	pg_rights_2m();
	pg_nx(nx_pml4);
	reserved();
	one_gig();
	pg_accessed_dirty();
}
