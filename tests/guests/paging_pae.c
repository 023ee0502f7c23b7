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

#define TEST_BASE 0x40000000ul /* PDPTE 1, PDE 0: 4K test pages */
#define BIG_BASE  0x40200000ul /* PDPTE 1, PDE 1: 2 MiB pages from here on */

static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd_ident[512] __attribute__((aligned(4096)));
static volatile uint64_t pd_test[512] __attribute__((aligned(4096)));
static volatile uint64_t pt_test[512] __attribute__((aligned(4096)));
static uint8_t frames[16][4096] __attribute__((aligned(4096)));

static const struct pg_level upper[] = { { "PDE", &pd_test[0] } };
static const struct pg_layout layout =
	PG_LAYOUT64(TEST_BASE, frames, BIG_BASE, pt_test, pd_test, upper);

static void setup(void)
{
	pg_use(&layout);
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

/* Rights combine across levels: a supervisor, read-only PDE over a user, writable PTE. */
static const struct pg_probe pde_supervisor[] = {
	PG_PF_ROW("user read, PTE user but PDE supervisor: err=0x5", u_read, 5 * PAGE_SIZE + 0x10,
		  PF_P | PF_U),
};
static const struct pg_probe pde_read_only[] = {
	PG_PF_ROW("user write, PTE writable but PDE read-only: err=0x7", u_write,
		  5 * PAGE_SIZE + 0x20, PF_P | PF_W | PF_U),
};
static const struct pg_probe pde_writable[] = {
	PG_OK_ROW("user write once the PDE allows it", u_write, 5 * PAGE_SIZE + 0x20),
};

static void rights_4k(void)
{
	pg_map_rights_4k();
	PG_RUN("4K: ", TEST_BASE, pg_not_present_4k);
	PG_RUN("4K: ", TEST_BASE, pg_rights_4k);
	PG_RUN("4K: ", TEST_BASE, pg_wp_4k);

	pd_test[0] &= ~(PTE_U | PTE_W);
	pg_map(pg_va(5), pg_pa(5), PTE_P | PTE_W | PTE_U);
	PG_RUN("4K: ", TEST_BASE, pde_supervisor);
	pd_test[0] |= PTE_U;
	invlpg((void *)pg_va(5));
	PG_RUN("4K: ", TEST_BASE, pde_read_only);
	pd_test[0] |= PTE_W;
	invlpg((void *)pg_va(5));
	PG_RUN("4K: ", TEST_BASE, pde_writable);
}

static const struct pg_probe not_present_2m[] = {
	PG_PF_ROW("supervisor read, not present: err=0x0", p_read, 0x123458, 0),
	PG_PF_ROW("user write, not present: err=0x6", u_write, 0x1ffffc, PF_U | PF_W),
};

static void rights_2m(void)
{
	pg_map_big(pg_big(0), 0, 0);
	*pg_pde(pg_big(0)) = 0;
	invlpg((void *)pg_big(0));
	PG_RUN("2M: ", BIG_BASE, not_present_2m);
	pg_rights_2m();
}

/* XD in the PDE with NXE = 0. */
static const struct pg_probe reserved_xd_pde[] = {
	PG_RSVD_ROW("read, XD set in the PDE with NXE=0: err=0x9", p_read, 7 * PAGE_SIZE + 0x1c,
		    PF_P | PF_RSVD),
};
static const struct pg_probe reserved_clear[] = {
	PG_OK_ROW("read once the reserved bit is clear", p_read, 7 * PAGE_SIZE + 0x1c),
};

static void reserved(void)
{
	pg_reserved_xd_4k();
	pd_test[0] |= PTE_XD;
	invlpg((void *)pg_va(7));
	PG_RUN("4K: ", TEST_BASE, reserved_xd_pde);
	pd_test[0] &= ~PTE_XD;
	invlpg((void *)pg_va(7));
	PG_RUN("4K: ", TEST_BASE, reserved_clear);
	pg_reserved_2m();
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
	pg_nx(NULL);
	reserved();
	pg_accessed_dirty();
}
