/* SPDX-License-Identifier: MIT */
/*
 * What the paging guests (paging32, paging_pae, paging64) share: probes that touch one address
 * at CPL 0 or CPL 3, the checks of a #PF's error code and CR2 (SDM Vol.3 §4.7), tables of such
 * probes with what each must do, and the checks PAE and 4-level paging make alike on their
 * 64-bit entries (2 MiB pages, execute-disable, reserved bits, accessed and dirty flags).
 */
#ifndef COVE_GUEST_PAGING_H
#define COVE_GUEST_PAGING_H

#include "guest.h"
#include "trap.h"

/* Entry bits (SDM Vol.3 Tables 4-5 to 4-20); the low twelve are the same in every mode. */
#define PTE_P	0x001ull
#define PTE_W	0x002ull
#define PTE_U	0x004ull
#define PTE_A	0x020ull
#define PTE_D	0x040ull
#define PDE_PS	0x080ull
#define PTE_G	0x100ull
#define PTE_XD	(1ull << 63)
#define PTE_ALL (PTE_P | PTE_W | PTE_U)
#define RSVD_13 (1ull << 13) /* reserved in a 2 MiB PDE (20:13) and a 1 GiB PDPTE (29:13) */

/* The physical frame the guests' large pages map. */
#define BIG_PHYS 0x00400000ul

/* mov eax, 0x1234; ret: code to fetch through a mapping. */
extern const uint8_t pg_ret_1234[6];

/* Supervisor probes: the argument is the address. Read, write a dword, or call it. */
extern char p_read[], p_write[], p_call[];
/* User probes, run by probe_user(): the address is in u_target. */
extern char u_read[], u_write[], u_call[];
extern volatile ulong u_target;

/* Runs a p_* probe on addr at CPL 0, a u_* probe at CPL 3; trap_catch's result. */
int probe_sup(void *probe, ulong addr, struct trap_info *ti);
int probe_user(void *probe, ulong addr, struct trap_info *ti);

/* The probe raised #PF with error code err and CR2 = addr. */
void expect_pf(const char *what, int c, const struct trap_info *ti, ulong err, ulong addr);
/*
 * A reserved-bit fault: P is set as well (SDM Vol.3 §4.7: "bit 3 of the error code can be set
 * only if bit 0 is also set"). QEMU TCG 7.2 leaves P clear; accepted there only (tcg_quirk).
 */
void expect_rsvd(const char *what, int c, const struct trap_info *ti, ulong err, ulong addr);

/* ---- the guest's test pages ---- */

/* An entry above the test page table, and its name in the output ("PDE", "PDPTE", ...). */
struct pg_level {
	const char *name;
	volatile uint64_t *e;
};

struct pg_layout {
	ulong va0;		      /* test page i is at va0 + i * PAGE_SIZE, ... */
	uint8_t (*frames)[PAGE_SIZE]; /* ... backed by frames[i] */
	void (*map)(ulong v, ulong p, uint64_t flags); /* a 4K entry, then INVLPG */
	/* PAE and 4-level paging only (64-bit entries): */
	ulong big0;		   /* 2 MiB page i is at big0 + i * 2 MiB, through pd */
	volatile uint64_t *pt;	   /* the page table over the test pages */
	volatile uint64_t *pd;	   /* the page directory over pt and the 2 MiB pages */
	const struct pg_level *up; /* the entries over pt, pd's first: cleared and checked for A */
	unsigned nup;
};

/* PAE and 4-level paging: 4K test pages at va0 under pt, 2 MiB pages at big0 in pd. */
#define PG_LAYOUT64(va0_, frames_, big0_, pt_, pd_, up_)                                           \
	{                                                                                          \
		.va0 = (va0_), .frames = (frames_), .map = pg_map, .big0 = (big0_), .pt = (pt_),   \
		.pd = (pd_), .up = (up_), .nup = ARRAY_SIZE(up_)                                   \
	}

/* The guest's layout: pg_* below work on it. */
void pg_use(const struct pg_layout *l);

ulong pg_va(unsigned i);
ulong pg_pa(unsigned i);
ulong pg_big(unsigned i);
/* The 4K entry of v under pt, the 2 MiB entry of v in pd. */
volatile uint64_t *pg_pte(ulong v);
volatile uint64_t *pg_pde(ulong v);
/* Sets the entry, then INVLPG v. */
void pg_map(ulong v, ulong p, uint64_t flags);
void pg_map_big(ulong v, ulong p, uint64_t flags);
/* The accessed/dirty bits of an entry the CPU may have updated behind the compiler's back. */
uint64_t pg_ad(volatile uint64_t *e);
/* EFER.NXE, then a CR3 reload. */
void pg_set_nxe(bool on);

/* ---- probe tables ---- */

enum pg_want {
	PG_OK,	   /* the access completes */
	PG_PF,	   /* #PF with .err, CR2 = the address */
	PG_RSVD,   /* a reserved-bit #PF with .err (expect_rsvd) */
	PG_FETCH,  /* #PF with .err at the fetched address itself (IP and CR2, the line .cr2) */
	PG_STORED, /* the access completes and its dword is in the page's frame */
	PG_WP,	   /* no access: CR0.WP := .err */
	PG_NXE,	   /* no access: EFER.NXE := .err */
};

struct pg_probe {
	enum pg_want want;
	const char *what; /* the line, after the caller's prefix */
	char *probe;	  /* a p_* or u_* probe */
	ulong off;	  /* the address, from the caller's base */
	ulong err;
	const char *cr2; /* PG_FETCH: the name of the CR2 line */
};

/* Table rows: the line, the probe, the address from the base, the error code. */
#define PG_OK_ROW(w, p, o)                                                                         \
	{                                                                                          \
		.want = PG_OK, .what = (w), .probe = (p), .off = (o)                               \
	}
#define PG_PF_ROW(w, p, o, e)                                                                      \
	{                                                                                          \
		.want = PG_PF, .what = (w), .probe = (p), .off = (o), .err = (e)                   \
	}
#define PG_RSVD_ROW(w, p, o, e)                                                                    \
	{                                                                                          \
		.want = PG_RSVD, .what = (w), .probe = (p), .off = (o), .err = (e)                 \
	}
#define PG_FETCH_ROW(w, p, o, e, c)                                                                \
	{                                                                                          \
		.want = PG_FETCH, .what = (w), .probe = (p), .off = (o), .err = (e), .cr2 = (c)    \
	}
#define PG_STORED_ROW(w, p, o)                                                                     \
	{                                                                                          \
		.want = PG_STORED, .what = (w), .probe = (p), .off = (o)                           \
	}
#define PG_WP_ROW(on)                                                                              \
	{                                                                                          \
		.want = PG_WP, .err = (on)                                                         \
	}
#define PG_NXE_ROW(on)                                                                             \
	{                                                                                          \
		.want = PG_NXE, .err = (on)                                                        \
	}

/* Runs t[0..n) at base + off; every line begins with prefix. */
void pg_run(const char *prefix, ulong base, const struct pg_probe *t, unsigned n);
#define PG_RUN(prefix, base, t) pg_run(prefix, base, t, ARRAY_SIZE(t))

/*
 * The 4K rights every mode checks alike, at pg_va(0): pg_map_rights_4k maps page 0 not present,
 * 1 supervisor read-only, 2 supervisor writable, 3 user read-only, 4 user writable; then
 * pg_not_present_4k, pg_rights_4k (CR0.WP = 0) and pg_wp_4k (CR0.WP = 1, cleared after).
 */
void pg_map_rights_4k(void);
extern const struct pg_probe pg_not_present_4k[4];
extern const struct pg_probe pg_rights_4k[6];
extern const struct pg_probe pg_wp_4k[4];

/* ---- PAE and 4-level paging: the same checks on their 64-bit entries ---- */

/* User/supervisor and read/write on 2 MiB pages, CR0.WP, and the frame behind one. */
void pg_rights_2m(void);
/*
 * Execute-disable (EFER.NXE = 1): fetches from not-present and XD pages, XD in the PTE, the
 * PDE and a 2 MiB PDE; more(), when set, checks XD in further levels over page 6.
 */
void pg_nx(void (*more)(void));
/* XD with EFER.NXE = 0 is a reserved bit in the PTE (page 7, which stays mapped after). */
void pg_reserved_xd_4k(void);
/* Bit 13 of a 2 MiB PDE is reserved, with EFER.NXE = 0 and 1. */
void pg_reserved_2m(void);
/* Accessed and dirty flags on 4K pages (and A in every entry above) and on a 2 MiB page. */
void pg_accessed_dirty(void);

#endif
