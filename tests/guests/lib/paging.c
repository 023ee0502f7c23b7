/* SPDX-License-Identifier: MIT */
#include "paging.h"

#define BIG_SIZE 0x200000ul

volatile ulong u_target;

#ifdef __x86_64__
PROBE(p_read, "movl (%rdi), %eax\n\tret");
PROBE(p_write, "movl $0x600df00d, (%rdi)\n\tret");
PROBE(p_call, "call *%rdi\n\tret");
PROBE(u_read, "movq u_target(%rip), %rcx\n\tmovl (%rcx), %eax\n\tret");
PROBE(u_write, "movq u_target(%rip), %rcx\n\tmovl $0x600df00d, (%rcx)\n\tret");
PROBE(u_call, "movq u_target(%rip), %rcx\n\tcall *%rcx\n\tret");
#else
PROBE(p_read, "movl 4(%esp), %ecx\n\tmovl (%ecx), %eax\n\tret");
PROBE(p_write, "movl 4(%esp), %ecx\n\tmovl $0x600df00d, (%ecx)\n\tret");
PROBE(p_call, "movl 4(%esp), %ecx\n\tcall *%ecx\n\tret");
PROBE(u_read, "movl u_target, %ecx\n\tmovl (%ecx), %eax\n\tret");
PROBE(u_write, "movl u_target, %ecx\n\tmovl $0x600df00d, (%ecx)\n\tret");
PROBE(u_call, "movl u_target, %ecx\n\tcall *%ecx\n\tret");
#endif

const uint8_t pg_ret_1234[6] = { 0xb8, 0x34, 0x12, 0x00, 0x00, 0xc3 }; /* mov eax; ret */

int probe_sup(void *probe, ulong addr, struct trap_info *ti)
{
	return trap_catch((probe_fn)probe, (void *)addr, ti);
}

int probe_user(void *probe, ulong addr, struct trap_info *ti)
{
	u_target = addr;
	return user_run((ulong(*)(void))probe, ti);
}

void expect_pf(const char *what, int c, const struct trap_info *ti, ulong err, ulong addr)
{
	if (check_trap(what, c, ti, VEC_PF, err, TRAP_ANY) && ti->cr2 != addr) {
		printf("  CR2 0x%lx, want 0x%lx\n", ti->cr2, addr);
		fail("%s: CR2", what);
	}
}

void expect_rsvd(const char *what, int c, const struct trap_info *ti, ulong err, ulong addr)
{
	if (tcg_quirk(c && ti->vector == VEC_PF && ti->error == (err & ~(ulong)PF_P) &&
		      ti->cr2 == addr))
		check(true, "%s", what);
	else
		expect_pf(what, c, ti, err, addr);
}

/* ---- the guest's test pages ---- */

static const struct pg_layout *lay;

void pg_use(const struct pg_layout *l)
{
	lay = l;
}

ulong pg_va(unsigned i)
{
	return lay->va0 + i * PAGE_SIZE;
}

ulong pg_pa(unsigned i)
{
	return (ulong)lay->frames[i];
}

ulong pg_big(unsigned i)
{
	return lay->big0 + i * BIG_SIZE;
}

volatile uint64_t *pg_pte(ulong v)
{
	return &lay->pt[(v >> 12) & 511];
}

volatile uint64_t *pg_pde(ulong v)
{
	return &lay->pd[(v >> 21) & 511];
}

void pg_map(ulong v, ulong p, uint64_t flags)
{
	*pg_pte(v) = (uint64_t)p | flags;
	invlpg((void *)v);
}

void pg_map_big(ulong v, ulong p, uint64_t flags)
{
	*pg_pde(v) = (uint64_t)p | PDE_PS | flags;
	invlpg((void *)v);
}

uint64_t pg_ad(volatile uint64_t *e)
{
	barrier();
	return *e & (PTE_A | PTE_D);
}

void pg_set_nxe(bool on)
{
	uint64_t efer = rdmsr(MSR_EFER);

	wrmsr(MSR_EFER, on ? efer | EFER_NXE : efer & ~(uint64_t)EFER_NXE);
	write_cr3(read_cr3());
}

static void set_wp(bool on)
{
	write_cr0(on ? read_cr0() | CR0_WP : read_cr0() & ~CR0_WP);
}

/* ---- probe tables ---- */

/* a b c into buf, cut to its size. */
static const char *join(char *buf, size_t size, const char *a, const char *b, const char *c)
{
	const char *part[] = { a, b, c };
	size_t n = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(part); i++)
		for (const char *s = part[i]; *s && n + 1 < size; s++)
			buf[n++] = *s;
	buf[n] = 0;
	return buf;
}

static bool user_probe(const char *probe)
{
	return probe == u_read || probe == u_write || probe == u_call;
}

void pg_run(const char *prefix, ulong base, const struct pg_probe *t, unsigned n)
{
	char what[160], line[160];

	for (; n; n--, t++) {
		ulong addr = base + t->off;
		struct trap_info ti;
		int c;

		if (t->want == PG_WP) {
			set_wp(t->err);
			continue;
		}
		if (t->want == PG_NXE) {
			pg_set_nxe(t->err);
			continue;
		}
		c = user_probe(t->probe) ? probe_user(t->probe, addr, &ti)
					 : probe_sup(t->probe, addr, &ti);
		join(what, sizeof(what), prefix, t->what, "");
		switch (t->want) {
		case PG_OK:
			check(!c, "%s", what);
			break;
		case PG_PF:
			expect_pf(what, c, &ti, t->err, addr);
			break;
		case PG_RSVD:
			expect_rsvd(what, c, &ti, t->err, addr);
			break;
		case PG_FETCH:
			check_trap(what, c, &ti, VEC_PF, t->err, addr);
			check_eq(join(line, sizeof(line), prefix, t->cr2, ": CR2"), ti.cr2, addr);
			break;
		case PG_STORED:
			check(!c && *(volatile uint32_t *)((ulong)lay->frames +
							   (addr - lay->va0)) == 0x600df00d,
			      "%s", what);
			break;
		default:
			break;
		}
	}
}

#define PAGE(i) ((i)*PAGE_SIZE)
#define BIG(i)	((i)*BIG_SIZE)

void pg_map_rights_4k(void)
{
	lay->map(pg_va(0), 0, 0);
	lay->map(pg_va(1), pg_pa(1), PTE_P);	     /* supervisor, read-only */
	lay->map(pg_va(2), pg_pa(2), PTE_P | PTE_W); /* supervisor, writable */
	lay->map(pg_va(3), pg_pa(3), PTE_P | PTE_U); /* user, read-only */
	lay->map(pg_va(4), pg_pa(4), PTE_ALL);	     /* user, writable */
}

const struct pg_probe pg_not_present_4k[4] = {
	PG_PF_ROW("supervisor read, not present: err=0x0", p_read, 0x10, 0),
	PG_PF_ROW("supervisor write, not present: err=0x2", p_write, 0x20, PF_W),
	PG_PF_ROW("user read, not present: err=0x4", u_read, 0x30, PF_U),
	PG_PF_ROW("user write, not present: err=0x6", u_write, 0x40, PF_U | PF_W),
};

const struct pg_probe pg_rights_4k[6] = {
	PG_PF_ROW("user read of a supervisor page: err=0x5", u_read, PAGE(2) + 0x50, PF_P | PF_U),
	PG_PF_ROW("user write to a supervisor page: err=0x7", u_write, PAGE(2) + 0x60,
		  PF_P | PF_W | PF_U),
	PG_OK_ROW("user read of a read-only user page", u_read, PAGE(3) + 0x70),
	PG_PF_ROW("user write to a read-only user page: err=0x7", u_write, PAGE(3) + 0x80,
		  PF_P | PF_W | PF_U),
	PG_STORED_ROW("user write to a writable user page lands in its frame", u_write,
		      PAGE(4) + 0x90),
	/* CR0.WP: supervisor writes to read-only pages (SDM Vol.3 §4.6.1). */
	PG_OK_ROW("CR0.WP=0: supervisor write to a read-only page succeeds", p_write,
		  PAGE(1) + 0xa0),
};

const struct pg_probe pg_wp_4k[4] = {
	PG_WP_ROW(1),
	PG_PF_ROW("CR0.WP=1: supervisor write to a read-only page: err=0x3", p_write,
		  PAGE(1) + 0xb0, PF_P | PF_W),
	PG_PF_ROW("CR0.WP=1: supervisor write to a read-only user page: err=0x3", p_write,
		  PAGE(3) + 0xb0, PF_P | PF_W),
	PG_WP_ROW(0),
};

/* ---- PAE and 4-level paging ---- */

static const struct pg_probe rights_2m[] = {
	PG_PF_ROW("user read of a supervisor page: err=0x5", u_read, BIG(2) + 0x54320, PF_P | PF_U),
	PG_PF_ROW("user write to a supervisor page: err=0x7", u_write, BIG(2) + 0x54324,
		  PF_P | PF_W | PF_U),
	PG_PF_ROW("user write to a read-only user page: err=0x7", u_write, BIG(3) + 0x100000,
		  PF_P | PF_W | PF_U),
	PG_OK_ROW("user read of a read-only user page", u_read, BIG(3) + 0x100000),
	PG_WP_ROW(1),
	PG_PF_ROW("CR0.WP=1: supervisor write to a read-only page: err=0x3", p_write,
		  BIG(1) + 0x1f0000, PF_P | PF_W),
	PG_WP_ROW(0),
	PG_OK_ROW("CR0.WP=0: supervisor write to a read-only page succeeds", p_write,
		  BIG(1) + 0x1f0000),
};

void pg_rights_2m(void)
{
	pg_map_big(pg_big(1), BIG_PHYS, PTE_P);		/* supervisor, read-only */
	pg_map_big(pg_big(2), BIG_PHYS, PTE_P | PTE_W); /* supervisor, writable */
	pg_map_big(pg_big(3), BIG_PHYS, PTE_P | PTE_U); /* user, read-only */
	PG_RUN("2M: ", pg_big(0), rights_2m);

	*(volatile uint32_t *)(BIG_PHYS + 0x123450) = 0xb16b00b5;
	check_eq("2M: read sees the physical frame", *(volatile uint32_t *)(pg_big(2) + 0x123450),
		 0xb16b00b5);
	*(volatile uint32_t *)(pg_big(2) + 0x1ffffc) = 0x4d4d4d4d;
	check_eq("2M: a write at its last dword lands 2M-4 into the frame",
		 *(volatile uint32_t *)(BIG_PHYS + 0x1ffffc), 0x4d4d4d4d);
}

static const struct pg_probe nx_not_present[] = {
	PG_FETCH_ROW("fetch from a not-present page, NXE=0: #PF err=0x0 at the target", p_call,
		     0x100, 0, "fetch from a not-present page"),
	PG_NXE_ROW(1),
	PG_FETCH_ROW("fetch from a not-present page, NXE=1: #PF err=0x10 at the target", p_call,
		     0x100, PF_I, "fetch from a not-present page, NXE=1"),
	PG_PF_ROW("user fetch from a not-present page, NXE=1: err=0x14", u_call, 0x104,
		  PF_U | PF_I),
};

static const struct pg_probe nx_4k[] = {
	PG_FETCH_ROW("supervisor fetch from an XD page: #PF err=0x11 at the target", p_call,
		     PAGE(6) + 0x200, PF_P | PF_I, "supervisor fetch from an XD page"),
	PG_PF_ROW("user fetch from an XD page: err=0x15", u_call, PAGE(6) + 0x200,
		  PF_P | PF_U | PF_I),
	PG_OK_ROW("data read of an XD page", p_read, PAGE(6) + 0x200),
};

static const struct pg_probe nx_pde[] = {
	PG_PF_ROW("fetch under an XD PDE: err=0x11", p_call, PAGE(6) + 0x200, PF_P | PF_I),
};

static const struct pg_probe nx_2m[] = {
	PG_PF_ROW("supervisor fetch from an XD page: err=0x11", p_call, BIG(4) + 0x180000,
		  PF_P | PF_I),
	PG_PF_ROW("user fetch from an XD page: err=0x15", u_call, BIG(4) + 0x180000,
		  PF_P | PF_U | PF_I),
};

void pg_nx(void (*more)(void))
{
	ulong fn = pg_va(6) + 0x200;

	if (!cpu_has_nx()) {
		fail("execute-disable: CPUID reports no NX");
		return;
	}
	memcpy(lay->frames[6] + 0x200, pg_ret_1234, sizeof(pg_ret_1234));
	pg_map(pg_va(6), pg_pa(6), PTE_ALL);
	check_eq("code fetched through a 4K mapping runs", ((ulong(*)(void))fn)(), 0x1234);
	PG_RUN("", pg_va(0), nx_not_present);
	pg_map(pg_va(6), pg_pa(6), PTE_ALL | PTE_XD);
	PG_RUN("4K: ", pg_va(0), nx_4k);
	/* XD in the PDE alone forbids the fetch too. */
	pg_map(pg_va(6), pg_pa(6), PTE_ALL);
	*pg_pde(fn) |= PTE_XD;
	invlpg((void *)fn);
	PG_RUN("4K: ", pg_va(0), nx_pde);
	*pg_pde(fn) &= ~PTE_XD;
	invlpg((void *)fn);
	if (more)
		more();
	check_eq("4K: code runs again once XD is clear", ((ulong(*)(void))fn)(), 0x1234);

	memcpy((void *)(BIG_PHYS + 0x180000), pg_ret_1234, sizeof(pg_ret_1234));
	pg_map_big(pg_big(4), BIG_PHYS, PTE_ALL | PTE_XD);
	PG_RUN("2M: ", pg_big(0), nx_2m);
	pg_map_big(pg_big(4), BIG_PHYS, PTE_ALL);
	check_eq("2M: code runs once XD is clear", ((ulong(*)(void))(pg_big(4) + 0x180000))(),
		 0x1234);
	pg_set_nxe(false);
}

/* XD set while EFER.NXE = 0: bit 63 is reserved. */
static const struct pg_probe reserved_xd_4k[] = {
	PG_RSVD_ROW("read, XD set with NXE=0: err=0x9", p_read, PAGE(7) + 0x10, PF_P | PF_RSVD),
	PG_RSVD_ROW("write, XD set with NXE=0: err=0xb", p_write, PAGE(7) + 0x14,
		    PF_P | PF_W | PF_RSVD),
	PG_RSVD_ROW("user read, XD set with NXE=0: err=0xd", u_read, PAGE(7) + 0x18,
		    PF_P | PF_U | PF_RSVD),
	PG_RSVD_ROW("fetch, XD set with NXE=0: err=0x9", p_call, PAGE(7) + 0x300, PF_P | PF_RSVD),
};

void pg_reserved_xd_4k(void)
{
	lay->frames[7][0x300] = 0xc3;
	pg_map(pg_va(7), pg_pa(7), PTE_ALL | PTE_XD);
	PG_RUN("4K: ", pg_va(0), reserved_xd_4k);
	pg_map(pg_va(7), pg_pa(7), PTE_ALL);
}

static const struct pg_probe reserved_2m[] = {
	PG_RSVD_ROW("read, PDE bit 13 set: err=0x9", p_read, BIG(5) + 0x20, PF_P | PF_RSVD),
	PG_RSVD_ROW("user write, PDE bit 13 set: err=0xf", u_write, BIG(5) + 0x24,
		    PF_P | PF_W | PF_U | PF_RSVD),
	PG_NXE_ROW(1),
	PG_RSVD_ROW("fetch, PDE bit 13 set, NXE=1: err=0x19", p_call, BIG(5) + 0x180000,
		    PF_P | PF_RSVD | PF_I),
	PG_RSVD_ROW("read, PDE bit 13 set, NXE=1: err=0x9", p_read, BIG(5) + 0x28, PF_P | PF_RSVD),
	PG_NXE_ROW(0),
};

static const struct pg_probe reserved_2m_clear[] = {
	PG_OK_ROW("read once the reserved bit is clear", p_read, BIG(5) + 0x20),
};

void pg_reserved_2m(void)
{
	pg_map_big(pg_big(5), BIG_PHYS, PTE_ALL | RSVD_13);
	PG_RUN("2M: ", pg_big(0), reserved_2m);
	pg_map_big(pg_big(5), BIG_PHYS, PTE_ALL);
	PG_RUN("2M: ", pg_big(0), reserved_2m_clear);
}

void pg_accessed_dirty(void)
{
	volatile uint32_t *p = (volatile uint32_t *)pg_va(8);
	struct trap_info ti;
	char what[80];
	uint32_t v;

	for (unsigned i = 0; i < lay->nup; i++)
		*lay->up[i].e &= ~(PTE_A | PTE_D);
	pg_map(pg_va(8), pg_pa(8), PTE_P | PTE_W);
	write_cr3(read_cr3());
	check_eq("4K: fresh PTE: A=0 D=0", pg_ad(pg_pte(pg_va(8))), 0);
	v = *p;
	(void)v;
	check_eq("4K: after a read: A=1 D=0", pg_ad(pg_pte(pg_va(8))), PTE_A);
	for (unsigned i = 0; i < lay->nup; i++)
		check_eq(join(what, sizeof(what), "4K: after a read: the ", lay->up[i].name,
			      "'s A=1"),
			 pg_ad(lay->up[i].e) & PTE_A, PTE_A);
	*p = 1;
	check_eq("4K: after a write: A=1 D=1", pg_ad(pg_pte(pg_va(8))), PTE_A | PTE_D);
	/* A write is the first access: both bits at once. */
	pg_map(pg_va(9), pg_pa(9), PTE_P | PTE_W);
	*(volatile uint32_t *)pg_va(9) = 2;
	check_eq("4K: first access a write: A=1 D=1", pg_ad(pg_pte(pg_va(9))), PTE_A | PTE_D);
	/* A faulting write sets no D (SDM Vol.3 §4.8: set only on successful writes). */
	pg_map(pg_va(10), pg_pa(10), PTE_P | PTE_U);
	set_wp(true);
	probe_sup(p_write, pg_va(10), &ti);
	set_wp(false);
	check_eq("4K: a write that faults leaves D=0", pg_ad(pg_pte(pg_va(10))) & PTE_D, 0);

	pg_map_big(pg_big(6), BIG_PHYS, PTE_P | PTE_W);
	v = *(volatile uint32_t *)(pg_big(6) + 0x1000);
	check_eq("2M: after a read: A=1 D=0", pg_ad(pg_pde(pg_big(6))), PTE_A);
	*(volatile uint32_t *)(pg_big(6) + 0x1000) = v;
	check_eq("2M: after a write: A=1 D=1", pg_ad(pg_pde(pg_big(6))), PTE_A | PTE_D);
}
