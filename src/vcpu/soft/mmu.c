// SPDX-License-Identifier: MIT
/*
 * Paging and the translation cache of the soft CPU (mem.h, mmu.h; the watch
 * set of seg.h). Linear -> guest-physical follows SDM Vol.3 §4: no paging,
 * 32-bit paging (4K, 4M with CR4.PSE, PSE-36), PAE and 4-level paging (4K,
 * 2M, 1G), with the checks of §4.6 (U/S, R/W with CR0.WP, XD with EFER.NXE,
 * SMEP), accessed and dirty flags (§4.8) and the #PF error code of §4.7.
 * SMAP and protection keys are not implemented.
 *
 * PAE PDPTEs are read from memory on every walk (a TLB miss), as AMD does,
 * not loaded at CR3 write time: a PDPTE with a reserved bit set raises #PF
 * with RSVD on use, where Intel raises #GP at the mov to CR3.
 *
 * Accessed and dirty flags are set only when a translation succeeds.
 *
 * The TLB (mmu.h) is direct-mapped per access kind. A tag is the linear page
 * with T_* bits: T_SUP / T_USR say whether a supervisor / user access of the
 * array's kind may use the entry, so a hit is one compare. hva == 0 sends a
 * hit to the slow physical path: MMIO, and in the write array also read-only
 * slots, pages with code frames and watched pages, whose writes must be seen.
 */
#include <string.h>

#include "cpu.h"
#include "excp.h"
#include "exec_sys.h"
#include "frame.h"
#include "mem.h"
#include "mmu.h"
#include "seg.h"
#include "soft_vm.h"

#define PAGE_SIZE 4096ull
#define PAGE_MASK (~(PAGE_SIZE - 1))

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Tag bits below the page. */
#define T_SUP	 (1ull << 0)
#define T_USR	 (1ull << 1)
#define T_GLOBAL (1ull << 2)
#define T_LARGE	 (1ull << 3) /* a 4K piece of a larger page (invlpg must find it) */

/* Paging-structure entry bits (SDM Vol.3 §4.3-4.5, Tables 4-4..4-20). */
#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A  (1ull << 5)
#define PTE_D  (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G  (1ull << 8)
#define PTE_XD (1ull << 63)

/* #PF error code (SDM Vol.3 §4.7). */
#define PF_P	(1u << 0)
#define PF_W	(1u << 1)
#define PF_U	(1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I	(1u << 4)

#define CR4_SMEP (1ull << 20)

#define M_GEN_VALID (1u << 0)
#define M_LARGE	    (1u << 1) /* T_LARGE entries may be cached */
#define M_PENDING   (1u << 2) /* flushed for the SOFT_EV_FLUSH now pending */

#define F_VALID	       (1ull << 0)
#define F_GBPAGES      (1ull << 1)
#define F_PSE36	       (1ull << 2)
#define F_MAXPHY_SHIFT 8

/* --- small helpers --- */

static inline bool canonical(uint64_t la)
{
	/* 48-bit linear addresses: CR4.LA57 is refused by exec_cr.c. */
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

static inline uint64_t la_mask(const struct soft_cpu *c)
{
	return soft_long_mode(c) ? ~0ull : 0xffffffffull;
}

static inline bool user_access(const struct soft_cpu *c, unsigned acc)
{
	/* Implicit accesses to system structures are supervisor ones (§4.6). */
	return c->cpl == 3 && !(acc & SOFT_ACC_IMPLICIT);
}

static inline uint64_t want_bit(const struct soft_cpu *c, unsigned acc)
{
	return user_access(c, acc) ? T_USR : T_SUP;
}

static inline struct soft_tlb_entry *tlb_slot(struct soft_cpu *c, uint64_t la, unsigned acc)
{
	unsigned n = (unsigned)(la >> 12);

	if (acc & SOFT_ACC_WRITE)
		return &c->mmu.write[n & (SOFT_TLB_SIZE - 1)];
	if (acc & SOFT_ACC_EXEC)
		return &c->mmu.exec[n & (SOFT_TLB_SIZE - 1)];
	return &c->mmu.read[n & (SOFT_TLB_SIZE - 1)];
}

static inline bool tlb_match(const struct soft_tlb_entry *e, uint64_t la, uint64_t want)
{
	return (e->tag & (PAGE_MASK | want)) == ((la & PAGE_MASK) | want);
}

static inline bool flush_pending(struct soft_cpu *c)
{
	return atomic_load_explicit(&c->events, memory_order_relaxed) & SOFT_EV_FLUSH;
}

/*
 * Plain accesses to guest RAM: an aligned one is a single host access (the
 * __atomic forms, plain movs on x86-64), so another vCPU never sees it torn
 * (SDM Vol.3 §9.1.1); a misaligned one is a memcpy.
 */
static inline uint64_t load_n(const uint8_t *p, unsigned size)
{
	uint16_t w;
	uint32_t d;
	uint64_t q;

	if (size == 1)
		return __atomic_load_n(p, __ATOMIC_RELAXED);
	if (likely(!((uintptr_t)p & (size - 1)))) {
		if (size == 2)
			return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
		if (size == 4)
			return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
		return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
	}
	if (size == 2) {
		memcpy(&w, p, 2);
		return w;
	}
	if (size == 4) {
		memcpy(&d, p, 4);
		return d;
	}
	memcpy(&q, p, 8);
	return q;
}

static inline void store_n(uint8_t *p, unsigned size, uint64_t v)
{
	uint16_t w = (uint16_t)v;
	uint32_t d = (uint32_t)v;

	if (size == 1) {
		__atomic_store_n(p, (uint8_t)v, __ATOMIC_RELAXED);
	} else if (likely(!((uintptr_t)p & (size - 1)))) {
		if (size == 2)
			__atomic_store_n((uint16_t *)p, w, __ATOMIC_RELAXED);
		else if (size == 4)
			__atomic_store_n((uint32_t *)p, d, __ATOMIC_RELAXED);
		else
			__atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED);
	} else if (size == 2) {
		memcpy(p, &w, 2);
	} else if (size == 4) {
		memcpy(p, &d, 4);
	} else {
		memcpy(p, &v, 8);
	}
}

/* n bytes between guest RAM and buf: a value of 1, 2, 4 or 8 bytes as one access. */
static inline void ram_copy(uint8_t *h, uint8_t *buf, unsigned n, bool write)
{
	uint64_t v = 0;

	if (n != 1 && n != 2 && n != 4 && n != 8) {
		if (write)
			memcpy(h, buf, n);
		else
			memcpy(buf, h, n);
	} else if (write) {
		memcpy(&v, buf, n);
		store_n(h, n, v);
	} else {
		v = load_n(h, n);
		memcpy(buf, &v, n);
	}
}

/* --- CPUID-dependent paging features, cached per cpuid table --- */

static const struct kvm_cpuid_entry2 *cpuid_leaf(const struct soft_cpu *c, uint32_t fn)
{
	for (uint32_t n = 0; c->cpuid && n < c->cpuid->nent; n++)
		if (c->cpuid->entries[n].function == fn)
			return &c->cpuid->entries[n];
	return NULL;
}

static uint64_t features(struct soft_cpu *c)
{
	struct soft_mmu_state *m = &c->mmu;

	if (likely((m->feat & F_VALID) && m->feat_cpuid == c->cpuid))
		return m->feat;
	const struct kvm_cpuid_entry2 *e1 = cpuid_leaf(c, 1);
	const struct kvm_cpuid_entry2 *ex1 = cpuid_leaf(c, 0x80000001);
	const struct kvm_cpuid_entry2 *ex8 = cpuid_leaf(c, 0x80000008);
	unsigned maxphy = 36; /* the SDM's default without leaf 80000008H */
	uint64_t f = F_VALID;

	if (ex8 && (ex8->eax & 0xff) >= 32 && (ex8->eax & 0xff) <= 52)
		maxphy = ex8->eax & 0xff;
	/* No CPUID set yet: be permissive. */
	if (!c->cpuid || (ex1 && (ex1->edx & (1u << 26))))
		f |= F_GBPAGES;
	if (!c->cpuid || (e1 && (e1->edx & (1u << 17))))
		f |= F_PSE36;
	f |= (uint64_t)maxphy << F_MAXPHY_SHIFT;
	m->feat = f;
	m->feat_cpuid = c->cpuid;
	return f;
}

/* --- the watch set (seg.h) --- */

static bool watched(struct soft_cpu *c, uint64_t page, unsigned kind)
{
	for (unsigned k = 0; k < c->mmu.nwatch; k++)
		if (c->mmu.watch[k] == (page | kind))
			return true;
	return false;
}

static bool watched_any(struct soft_cpu *c, uint64_t page)
{
	for (unsigned k = 0; k < c->mmu.nwatch; k++)
		if ((c->mmu.watch[k] & PAGE_MASK) == page)
			return true;
	return false;
}

/* --- guest-physical access --- */

/* Guest RAM at gpa was written by c: code frames and watchers must know. */
static void ram_written(struct soft_cpu *c, uint64_t gpa, unsigned n)
{
	if (soft_frame_page_has_code(c->vm, gpa))
		soft_frame_written(c->vm, c, gpa, n);
	if (c->mmu.nwatch && watched(c, gpa & PAGE_MASK, SOFT_WATCH_DESC))
		soft_seg_invalidate(c, gpa, n);
}

/* n bytes at gpa, all in one page, through the slot map (RAM, ROM or MMIO). */
static void phys_access(struct soft_cpu *c, uint64_t gpa, uint8_t *buf, unsigned n, bool write)
{
	bool writable = false;
	uint8_t *h = soft_vm_ram_fault(c, gpa, n, &writable);

	if (h && (!write || writable)) {
		ram_copy(h, buf, n, write);
		if (write)
			ram_written(c, gpa, n);
		return;
	}
	/* MMIO takes 1, 2, 4 or 8 bytes; the rest of a split access goes in pieces. */
	while (n) {
		unsigned s = n >= 8 ? 8 : n >= 4 ? 4 : n >= 2 ? 2 : 1;
		soft_vm_mmio(c, gpa, buf, s, write);
		gpa += s;
		buf += s;
		n -= s;
	}
}

/* --- the page walk --- */

struct walk {
	uint64_t gpa;	 /* of la */
	bool us, rw, nx; /* U/S and R/W set at every level; XD at some level */
	bool global, large;
};

/* Where a paging-structure entry lives, to set its A/D flags. */
struct pte_ref {
	bool ram; /* in writable RAM: flags are set (looked up again, block RAM may move) */
	uint64_t gpa;
	uint64_t val;
	unsigned size;
};

static uint64_t pte_read(struct soft_cpu *c, uint64_t gpa, unsigned size, struct pte_ref *r)
{
	bool writable = false;
	uint8_t *h = soft_vm_ram_fault(c, gpa, size, &writable);
	uint64_t v = 0;

	r->gpa = gpa;
	r->size = size;
	r->ram = false;
	if (h) {
		if (size == 8)
			v = __atomic_load_n((uint64_t *)h, __ATOMIC_RELAXED);
		else
			v = __atomic_load_n((uint32_t *)h, __ATOMIC_RELAXED);
		r->ram = writable;
	} else {
		soft_vm_mmio(c, gpa, &v, size, false);
	}
	r->val = v;
	return v;
}

/* Sets A/D flags with a locked OR, as the processor does (§4.8). */
static void pte_set(struct soft_cpu *c, struct pte_ref *r, uint64_t bits)
{
	bool writable = false;
	uint8_t *h;

	if (!r->ram || (r->val & bits) == bits)
		return;
	/* a later read of the walk may have released this entry's block */
	h = soft_vm_ram_fault(c, r->gpa, r->size, &writable);
	if (!h || !writable)
		return;
	if (r->size == 8)
		__atomic_fetch_or((uint64_t *)h, bits, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_or((uint32_t *)h, (uint32_t)bits, __ATOMIC_SEQ_CST);
	ram_written(c, r->gpa, r->size);
}

/* Is the access (acc by a user or supervisor) allowed by the walk's rights (§4.6)? */
static bool allowed(const struct soft_cpu *c, const struct walk *w, unsigned acc, bool user)
{
	if (acc & SOFT_ACC_EXEC) {
		if (w->nx)
			return false;
		return user ? w->us : !(w->us && (c->cr4 & CR4_SMEP));
	}
	if (acc & SOFT_ACC_WRITE)
		return user ? w->us && w->rw : w->rw || !(c->cr0 & X86_CR0_WP);
	return user ? w->us : true;
}

/*
 * Translates la for acc. Returns false with the #PF error code in *err. With
 * update, sets the accessed flags (and dirty for a write) on success; without,
 * has no side effect.
 */
static bool walk(struct soft_cpu *c, uint64_t la, unsigned acc, bool update, struct walk *w,
		 uint32_t *err)
{
	bool user = user_access(c, acc), nxe = c->efer & X86_EFER_NXE;
	bool pae = c->cr4 & X86_CR4_PAE;
	struct pte_ref ref[4];
	unsigned nref = 0;
	uint32_t e0 = 0;

	w->us = w->rw = true;
	w->nx = w->global = w->large = false;
	if (!(c->cr0 & X86_CR0_PG)) {
		w->gpa = la & 0xffffffffull;
		return true;
	}
	if (acc & SOFT_ACC_WRITE)
		e0 |= PF_W;
	if (user)
		e0 |= PF_U;
	if ((acc & SOFT_ACC_EXEC) && ((pae && nxe) || (c->cr4 & CR4_SMEP)))
		e0 |= PF_I;

	uint64_t f = features(c);
	unsigned maxphy = (unsigned)(f >> F_MAXPHY_SHIFT) & 0xff;
	uint64_t addr = ((1ull << maxphy) - 1) & PAGE_MASK;

	if (!pae) {
		/* 32-bit paging (§4.3): 4-byte entries, no XD, no reserved bits in a PTE. */
		uint64_t pde = pte_read(c, (c->cr3 & 0xfffff000) + ((la >> 22) & 0x3ff) * 4, 4,
					&ref[nref++]);
		if (!(pde & PTE_P))
			goto not_present;
		w->us = pde & PTE_US;
		w->rw = pde & PTE_RW;
		if ((c->cr4 & X86_CR4_PSE) && (pde & PTE_PS)) {
			/* 4M page; PSE-36 puts PA bits M'-1:32 in PDE bits M'-20:13 (Table 4-4). */
			unsigned m = (f & F_PSE36) ? (maxphy < 40 ? maxphy : 40) : 32;
			uint64_t rsvd = ((1ull << 22) - 1) & ~((1ull << (m - 19)) - 1);
			if (pde & rsvd)
				goto reserved;
			uint64_t hi = (pde >> 13) & ((1ull << (m - 32)) - 1);
			w->gpa = (pde & 0xffc00000) | (hi << 32) | (la & 0x3fffff);
			w->global = pde & PTE_G;
			w->large = true;
		} else {
			uint64_t pte = pte_read(c, (pde & 0xfffff000) + ((la >> 12) & 0x3ff) * 4, 4,
						&ref[nref++]);
			if (!(pte & PTE_P))
				goto not_present;
			w->us = w->us && (pte & PTE_US);
			w->rw = w->rw && (pte & PTE_RW);
			w->gpa = (pte & 0xfffff000) | (la & 0xfff);
			w->global = pte & PTE_G;
		}
	} else {
		/* PAE (§4.4) and 4-level (§4.5): 8-byte entries, 9 index bits per level. */
		bool lm = soft_long_mode(c);
		uint64_t rsvd_hi = lm ? ((1ull << 52) - 1) & ~((1ull << maxphy) - 1)
				      : ((1ull << 63) - 1) & ~((1ull << maxphy) - 1);
		if (!nxe)
			rsvd_hi |= PTE_XD;
		uint64_t table;
		int level;
		if (lm) {
			table = c->cr3 & addr;
			level = 4;
		} else {
			/* PDPTE (Table 4-8): no A/D, U/S or R/W; bits 2:1, 8:5 and 63 reserved. */
			struct pte_ref pr;
			uint64_t pdpte =
				pte_read(c, (c->cr3 & 0xffffffe0) + ((la >> 30) & 3) * 8, 8, &pr);
			if (!(pdpte & PTE_P))
				goto not_present;
			if (pdpte & (0x1e6ull | PTE_XD | (rsvd_hi & ~PTE_XD)))
				goto reserved;
			table = pdpte & addr;
			level = 2;
		}
		for (;; level--) {
			unsigned shift = 12 + 9 * (unsigned)(level - 1);
			uint64_t e =
				pte_read(c, table + ((la >> shift) & 511) * 8, 8, &ref[nref++]);
			if (!(e & PTE_P))
				goto not_present;
			uint64_t rsvd = rsvd_hi;
			bool leaf = level == 1;
			if (level == 4) {
				rsvd |= PTE_PS;
			} else if (level == 3 && (e & PTE_PS)) {
				/* 1G page: needs CPUID.80000001H:EDX.Page1GB; bits 29:13 reserved.
				 */
				rsvd |= (f & F_GBPAGES) ? 0x3fffe000ull : PTE_PS;
				leaf = true;
			} else if (level == 2 && (e & PTE_PS)) {
				rsvd |= 0x1fe000ull; /* bits 20:13 */
				leaf = true;
			}
			if (e & rsvd)
				goto reserved;
			w->us = w->us && (e & PTE_US);
			w->rw = w->rw && (e & PTE_RW);
			w->nx = w->nx || (nxe && (e & PTE_XD));
			if (leaf) {
				uint64_t size_mask = (1ull << shift) - 1;
				w->gpa = (e & addr & ~size_mask) | (la & size_mask);
				w->global = e & PTE_G;
				w->large = level > 1;
				break;
			}
			table = e & addr;
		}
	}
	if (!allowed(c, w, acc, user)) {
		*err = e0 | PF_P;
		return false;
	}
	if (update) {
		for (unsigned k = 0; k < nref; k++)
			pte_set(c, &ref[k], PTE_A);
		if (acc & SOFT_ACC_WRITE)
			pte_set(c, &ref[nref - 1], PTE_A | PTE_D);
	}
	if (!(c->cr4 & X86_CR4_PGE))
		w->global = false;
	return true;
not_present:
	*err = e0;
	return false;
reserved:
	*err = e0 | PF_P | PF_RSVD;
	return false;
}

/* --- the TLB --- */

static void tlb_fill(struct soft_cpu *c, struct soft_tlb_entry *e, uint64_t la, unsigned acc,
		     const struct walk *w)
{
	uint64_t page = w->gpa & PAGE_MASK, tag = la & PAGE_MASK;
	bool writable = false;
	uint8_t *h = soft_vm_ram_fault(c, page, PAGE_SIZE, &writable);

	if (allowed(c, w, acc & ~SOFT_ACC_IMPLICIT, false))
		tag |= T_SUP;
	if (allowed(c, w, acc & ~SOFT_ACC_IMPLICIT, true))
		tag |= T_USR;
	if (w->global)
		tag |= T_GLOBAL;
	if (w->large) {
		tag |= T_LARGE;
		c->mmu.flags |= M_LARGE;
	}
	if ((acc & SOFT_ACC_WRITE) &&
	    (!writable || soft_frame_page_has_code(c->vm, page) || watched_any(c, page)))
		h = NULL;
	e->tag = tag;
	e->hva = (uintptr_t)h;
	e->gpa = page;
}

/* The slot map changed since the last flush (checked on every miss). */
static void sync_generation(struct soft_cpu *c)
{
	struct soft_mmu_state *m = &c->mmu;

	if (!(m->flags & M_GEN_VALID) || m->mem_gen != soft_vm_mem_generation(c->vm))
		soft_mmu_flush(c, true);
}

/*
 * SOFT_EV_FLUSH belongs to run.c: it clears the bit, then calls
 * soft_mmu_flush(c, true) and lets frame.c process queued invalidations, so
 * mmu.c must not clear it. Until run.c gets there (the end of the block), the
 * TLB is dropped once, so that e.g. a page another CPU just made code gets no
 * more fast writes from this one.
 */
static void pending_flush(struct soft_cpu *c)
{
	/* once per request, unless the slot map changed again since */
	if ((c->mmu.flags & M_PENDING) && c->mmu.mem_gen == soft_vm_mem_generation(c->vm))
		return;
	soft_mmu_flush(c, true);
	c->mmu.flags |= M_PENDING;
}

struct xlate {
	uint64_t gpa;
	uint8_t *hva; /* NULL: go through phys_access() */
};

/* la (masked, canonical) -> guest-physical, through the TLB; raises #PF. */
static void translate(struct soft_cpu *c, uint64_t la, unsigned acc, struct xlate *x)
{
	struct soft_tlb_entry *e = tlb_slot(c, la, acc);
	uint64_t off = la & ~PAGE_MASK;
	struct walk w;
	uint32_t err;

	if (unlikely(flush_pending(c)))
		pending_flush(c);
	if (!tlb_match(e, la, want_bit(c, acc))) {
		c->mmu.misses++;
		sync_generation(c);
		if (!walk(c, la, acc, true, &w, &err))
			soft_raise_pf(c, la, err);
		tlb_fill(c, e, la, acc, &w);
		/* A write also proves the read translation (and set A). */
		if (acc & SOFT_ACC_WRITE)
			tlb_fill(c, tlb_slot(c, la, acc & SOFT_ACC_IMPLICIT), la,
				 acc & SOFT_ACC_IMPLICIT, &w);
	} else {
		c->mmu.hits++;
	}
	x->gpa = e->gpa | off;
	x->hva = e->hva ? (uint8_t *)e->hva + off : NULL;
}

/* Linear address of an access as paging sees it; #GP(0) if not canonical. */
static uint64_t lin_check(struct soft_cpu *c, uint64_t la, uint64_t size)
{
	if (!soft_long_mode(c))
		return la & 0xffffffffull;
	if (!canonical(la) || !canonical(la + (size ? size - 1 : 0)))
		soft_raise(c, X86_EXC_GP, 0);
	return la;
}

/*
 * Any access, any alignment: both pages are translated before either is
 * touched. acc picks the translation (a read for rmw translates as a write).
 */
static void lin_access(struct soft_cpu *c, uint64_t la, uint8_t *buf, unsigned size, unsigned acc,
		       bool write)
{
	unsigned first = PAGE_SIZE - (la & ~PAGE_MASK);
	struct xlate x1, x2;

	la = lin_check(c, la, size);
	if (size <= first) {
		translate(c, la, acc, &x1);
		if (x1.hva)
			ram_copy(x1.hva, buf, size, write);
		else
			phys_access(c, x1.gpa, buf, size, write);
		return;
	}
	uint64_t gen = soft_vm_mem_generation(c->vm);
	translate(c, la, acc, &x1);
	translate(c, (la + first) & la_mask(c), acc, &x2);
	/* The second translation may have evicted the first from the TLB: x1 holds it. */
	const struct xlate *x[2] = { &x1, &x2 };
	unsigned n[2] = { first, size - first };
	for (unsigned k = 0; k < 2; k++, buf += n[0]) {
		/* a block RAM fault (or DMA) since gen may have released what hva points to */
		bool fresh = x[k]->hva && soft_vm_mem_generation(c->vm) == gen;

		if (fresh && write)
			memcpy(x[k]->hva, buf, n[k]);
		else if (fresh)
			memcpy(buf, x[k]->hva, n[k]);
		else
			phys_access(c, x[k]->gpa, buf, n[k], write);
	}
}

static __attribute__((noinline)) uint64_t lin_read_slow(struct soft_cpu *c, uint64_t la,
							unsigned size, unsigned acc)
{
	uint64_t v = 0;

	lin_access(c, la, (uint8_t *)&v, size, acc, false);
	return v;
}

static __attribute__((noinline)) void lin_write_slow(struct soft_cpu *c, uint64_t la, unsigned size,
						     uint64_t v, unsigned acc)
{
	lin_access(c, la, (uint8_t *)&v, size, acc, true);
}

/* The fast paths: a hit on an entry with a host page, within the page. */
static inline __attribute__((always_inline)) uint64_t lin_read(struct soft_cpu *c, uint64_t la,
							       unsigned size, unsigned acc)
{
	struct soft_tlb_entry *e = tlb_slot(c, la, acc);

	if (likely(tlb_match(e, la, want_bit(c, acc)) && e->hva &&
		   (la & ~PAGE_MASK) + size <= PAGE_SIZE && !flush_pending(c))) {
		c->mmu.hits++;
		return load_n((const uint8_t *)e->hva + (la & ~PAGE_MASK), size);
	}
	return lin_read_slow(c, la, size, acc);
}

static inline __attribute__((always_inline)) void lin_write(struct soft_cpu *c, uint64_t la,
							    unsigned size, uint64_t v, unsigned acc)
{
	struct soft_tlb_entry *e = tlb_slot(c, la, acc);

	if (likely(tlb_match(e, la, want_bit(c, acc)) && e->hva &&
		   (la & ~PAGE_MASK) + size <= PAGE_SIZE && !flush_pending(c))) {
		c->mmu.hits++;
		store_n((uint8_t *)e->hva + (la & ~PAGE_MASK), size, v);
		return;
	}
	lin_write_slow(c, la, size, v, acc);
}

/* --- mem.h --- */

uint64_t soft_lin_read(struct soft_cpu *c, uint64_t la, unsigned size, unsigned acc)
{
	return lin_read(c, la, size, acc);
}

void soft_lin_write(struct soft_cpu *c, uint64_t la, unsigned size, uint64_t v, unsigned acc)
{
	lin_write(c, la, size, v, acc | SOFT_ACC_WRITE);
}

/* Explicit data accesses are where data breakpoints (dbreg.c) look; one flag when none is on. */
uint64_t soft_mem_read(struct soft_cpu *c, int seg, uint64_t ea, unsigned size)
{
	uint64_t la = soft_seg_linear(c, seg, ea, size, SOFT_ACC_READ);

	if (unlikely(c->dbg_data))
		soft_dbg_data(c, la, size, false);
	return lin_read(c, la, size, SOFT_ACC_READ);
}

uint64_t soft_mem_read_rmw(struct soft_cpu *c, int seg, uint64_t ea, unsigned size)
{
	uint64_t la = soft_seg_linear(c, seg, ea, size, SOFT_ACC_WRITE);

	if (unlikely(c->dbg_data))
		soft_dbg_data(c, la, size, false);
	return lin_read(c, la, size, SOFT_ACC_WRITE);
}

void soft_mem_write(struct soft_cpu *c, int seg, uint64_t ea, unsigned size, uint64_t v)
{
	uint64_t la = soft_seg_linear(c, seg, ea, size, SOFT_ACC_WRITE);

	if (unlikely(c->dbg_data))
		soft_dbg_data(c, la, size, true);
	lin_write(c, la, size, v, SOFT_ACC_WRITE);
}

void soft_mem_check(struct soft_cpu *c, int seg, uint64_t ea, uint64_t len, unsigned acc)
{
	struct xlate x;

	if (len == 0)
		return;
	if (len > 0xffffffffull)
		soft_raise(c, seg == S_SS ? X86_EXC_SS : X86_EXC_GP, 0);
	uint64_t la = lin_check(c, soft_seg_linear(c, seg, ea, (unsigned)len, acc), len);
	uint64_t last = (la + len - 1) & la_mask(c);
	for (uint64_t p = la;; p = ((p & PAGE_MASK) + PAGE_SIZE) & la_mask(c)) {
		translate(c, p, acc, &x);
		if ((p & PAGE_MASK) == (last & PAGE_MASK))
			break;
	}
}

/* --- locked read-modify-writes (mem.h) --- */

enum {
	LK_ATOMIC, /* one aligned piece of RAM: host atomics */
	LK_SPLIT,  /* RAM, misaligned or across a page: under the VM's split lock */
	LK_PHYS,   /* MMIO or ROM in it: plain accesses through phys_access() */
};

/*
 * Translates the operand for a write (raising any fault) and finds its host
 * pieces. Host pointers stay valid until this vCPU's next block RAM fault
 * (other vCPUs wait for its quiescence before a slot goes): one here may
 * release what an earlier one returned, so the lookups are repeated until
 * the slot map holds still.
 */
static void lock_prepare(struct soft_cpu *c, uint64_t la, unsigned size, struct soft_locked *l)
{
	unsigned first = PAGE_SIZE - (la & ~PAGE_MASK), np;
	uint64_t gen = soft_vm_mem_generation(c->vm);
	struct xlate x[2];
	bool tlb_ok;

	l->size = size;
	l->n[0] = size <= first ? size : first;
	l->n[1] = size - l->n[0];
	np = l->n[1] ? 2 : 1;
	translate(c, la, SOFT_ACC_WRITE, &x[0]);
	if (np == 2)
		translate(c, (la + first) & la_mask(c), SOFT_ACC_WRITE, &x[1]);
	tlb_ok = soft_vm_mem_generation(c->vm) == gen;
	for (unsigned tries = 0; tries < 4; tries++, tlb_ok = false) {
		bool ram = true;

		gen = soft_vm_mem_generation(c->vm);
		l->notify = 0;
		for (unsigned k = 0; k < np; k++) {
			bool writable = false;

			l->gpa[k] = x[k].gpa;
			l->hva[k] = tlb_ok ? x[k].hva : NULL;
			if (l->hva[k])
				continue; /* a fast write: no frames, not watched */
			l->hva[k] = soft_vm_ram_fault(c, x[k].gpa, l->n[k], &writable);
			if (!l->hva[k] || !writable)
				ram = false;
			l->notify |= (uint8_t)(1u << k);
		}
		if (!ram)
			break;
		if (soft_vm_mem_generation(c->vm) != gen)
			continue;
		l->kind = np == 1 && !((uintptr_t)l->hva[0] & (size - 1)) ? LK_ATOMIC : LK_SPLIT;
		return;
	}
	/* MMIO or ROM, or block RAM that kept moving: two plain accesses */
	l->kind = LK_PHYS;
}

/* Reads or writes the operand's pieces: phys_access() for LK_PHYS, else RAM. */
static void lock_copy(struct soft_cpu *c, const struct soft_locked *l, uint8_t *buf, bool write)
{
	for (unsigned k = 0, off = 0; k < 2 && l->n[k]; off += l->n[k], k++) {
		if (l->kind == LK_PHYS)
			phys_access(c, l->gpa[k], buf + off, l->n[k], write);
		else
			ram_copy(l->hva[k], buf + off, l->n[k], write);
	}
}

/* After a store through host pointers: frames and watchers of the pages must see it. */
static void lock_written(struct soft_cpu *c, const struct soft_locked *l)
{
	for (unsigned k = 0; k < 2 && l->n[k]; k++)
		if (l->notify & (1u << k))
			ram_written(c, l->gpa[k], l->n[k]);
}

uint64_t soft_mem_lock_begin(struct soft_cpu *c, int seg, uint64_t ea, unsigned size,
			     struct soft_locked *l)
{
	uint64_t la = lin_check(c, soft_seg_linear(c, seg, ea, size, SOFT_ACC_WRITE), size);
	uint64_t v = 0;

	if (unlikely(c->dbg_data))
		soft_dbg_data(c, la, size, true);
	lock_prepare(c, la, size, l);
	if (l->kind == LK_ATOMIC && size <= 8)
		return load_n(l->hva[0], size);
	if (l->kind == LK_SPLIT)
		soft_vm_split_lock(c->vm);
	lock_copy(c, l, (uint8_t *)&v, false);
	if (l->kind == LK_SPLIT)
		soft_vm_split_unlock(c->vm);
	return v;
}

/* A host compare-and-swap of size bytes at p (aligned): a lock cmpxchg, a full barrier. */
#define HOST_CAS(type)                                                                             \
	({                                                                                         \
		type o_ = (type)*old;                                                              \
		bool ok_ = __atomic_compare_exchange_n((type *)p, &o_, (type)nv, false,            \
						       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);        \
		*old = o_;                                                                         \
		ok_;                                                                               \
	})

static bool host_cas(uint8_t *p, unsigned size, uint64_t *old, uint64_t nv)
{
	switch (size) {
	case 1:
		return HOST_CAS(uint8_t);
	case 2:
		return HOST_CAS(uint16_t);
	case 4:
		return HOST_CAS(uint32_t);
	default:
		return HOST_CAS(uint64_t);
	}
}

bool soft_mem_lock_commit(struct soft_cpu *c, struct soft_locked *l, uint64_t *old, uint64_t nv)
{
	uint64_t m = l->size == 8 ? ~0ull : (1ull << (l->size * 8)) - 1, cur = 0;

	*old &= m;
	if (l->kind == LK_ATOMIC) {
		if (!host_cas(l->hva[0], l->size, old, nv))
			return false;
	} else if (l->kind == LK_SPLIT) {
		soft_vm_split_lock(c->vm);
		lock_copy(c, l, (uint8_t *)&cur, false);
		if (cur != *old) {
			soft_vm_split_unlock(c->vm);
			*old = cur;
			return false;
		}
		lock_copy(c, l, (uint8_t *)&nv, true);
		soft_vm_split_unlock(c->vm);
	} else {
		lock_copy(c, l, (uint8_t *)&nv, true);
		return true; /* phys_access told frames and watchers */
	}
	lock_written(c, l);
	return true;
}

static bool host_cas16(uint8_t *p, uint64_t cmp[2], const uint64_t nv[2])
{
	bool ok;

	__asm__ volatile("lock cmpxchg16b %1"
			 : "=@ccz"(ok), "+m"(*(unsigned __int128 *)p), "+a"(cmp[0]), "+d"(cmp[1])
			 : "b"(nv[0]), "c"(nv[1])
			 : "memory");
	return ok;
}

bool soft_mem_lock_cmpxchg16(struct soft_cpu *c, int seg, uint64_t ea, uint64_t cmp[2],
			     const uint64_t nv[2])
{
	struct soft_locked l;
	uint64_t la = lin_check(c, soft_seg_linear(c, seg, ea, 16, SOFT_ACC_WRITE), 16);
	uint64_t cur[2], out[2];
	bool ok;

	if (unlikely(c->dbg_data))
		soft_dbg_data(c, la, 16, true);
	lock_prepare(c, la, 16, &l);
	if (l.kind == LK_ATOMIC) {
		ok = host_cas16(l.hva[0], cmp, nv);
	} else {
		/* the destination is written either way (SDM Vol.2 CMPXCHG8B/CMPXCHG16B) */
		if (l.kind == LK_SPLIT)
			soft_vm_split_lock(c->vm);
		lock_copy(c, &l, (uint8_t *)cur, false);
		ok = cur[0] == cmp[0] && cur[1] == cmp[1];
		out[0] = ok ? nv[0] : cur[0];
		out[1] = ok ? nv[1] : cur[1];
		lock_copy(c, &l, (uint8_t *)out, true);
		if (l.kind == LK_SPLIT)
			soft_vm_split_unlock(c->vm);
		cmp[0] = cur[0];
		cmp[1] = cur[1];
		if (l.kind == LK_PHYS)
			return ok;
	}
	if (ok)
		lock_written(c, &l);
	return ok;
}

unsigned soft_fetch(struct soft_cpu *c, uint64_t la, uint8_t *buf, unsigned len, uint64_t *gpa)
{
	struct soft_tlb_entry *e;
	struct xlate x;

	la = lin_check(c, la, 1);
	unsigned n = PAGE_SIZE - (la & ~PAGE_MASK);
	if (len < n)
		n = len;
	e = tlb_slot(c, la, SOFT_ACC_EXEC);
	if (likely(tlb_match(e, la, want_bit(c, SOFT_ACC_EXEC)) && e->hva && !flush_pending(c))) {
		c->mmu.hits++;
		x.gpa = e->gpa | (la & ~PAGE_MASK);
		x.hva = (uint8_t *)e->hva + (la & ~PAGE_MASK);
	} else {
		translate(c, la, SOFT_ACC_EXEC, &x);
	}
	*gpa = x.gpa;
	if (x.hva)
		memcpy(buf, x.hva, n);
	else
		phys_access(c, x.gpa, buf, n, false);
	return n;
}

/* --- mmu.h --- */

static void tlb_drop(struct soft_tlb_entry *e)
{
	e->tag = 0;
	e->hva = 0;
}

void soft_mmu_flush(struct soft_cpu *c, bool all)
{
	struct soft_mmu_state *m = &c->mmu;
	struct soft_tlb_entry *arr[3] = { c->mmu.read, c->mmu.write, c->mmu.exec };
	/* §4.10.4.1: a CR3 write keeps global translations when CR4.PGE = 1. */
	bool keep = !all && (c->cr4 & X86_CR4_PGE);
	bool large = false;

	c->mmu.flushes++;
	for (unsigned a = 0; a < 3; a++)
		for (unsigned n = 0; n < SOFT_TLB_SIZE; n++) {
			struct soft_tlb_entry *e = &arr[a][n];
			if (keep && (e->tag & T_GLOBAL)) {
				large = large || (e->tag & T_LARGE);
				continue;
			}
			tlb_drop(e);
		}
	m->flags = M_GEN_VALID | (large ? M_LARGE : 0);
	m->mem_gen = c->vm ? soft_vm_mem_generation(c->vm) : 0;
	if (all)
		m->feat = 0;
}

void soft_mmu_invlpg(struct soft_cpu *c, uint64_t la)
{
	la &= la_mask(c) & PAGE_MASK;
	struct soft_tlb_entry *e[3] = { tlb_slot(c, la, SOFT_ACC_READ),
					tlb_slot(c, la, SOFT_ACC_WRITE),
					tlb_slot(c, la, SOFT_ACC_EXEC) };

	for (unsigned k = 0; k < 3; k++)
		if ((e[k]->tag & PAGE_MASK) == la)
			tlb_drop(e[k]);
	if (!(c->mmu.flags & M_LARGE))
		return;
	/*
	 * invlpg drops the whole translation of a large page (§4.10.4.1), which
	 * is cached here as 4K pieces: drop every large piece in la's 1G region.
	 */
	struct soft_tlb_entry *arr[3] = { c->mmu.read, c->mmu.write, c->mmu.exec };
	for (unsigned a = 0; a < 3; a++)
		for (unsigned n = 0; n < SOFT_TLB_SIZE; n++) {
			struct soft_tlb_entry *x = &arr[a][n];
			if ((x->tag & T_LARGE) && !((x->tag ^ la) & ~((1ull << 30) - 1)))
				tlb_drop(x);
		}
}

/* Drops c's write translations to guest page `page`, so writes to it go slow. */
static void drop_writes_to(struct soft_cpu *c, uint64_t page)
{
	for (unsigned n = 0; n < SOFT_TLB_SIZE; n++) {
		struct soft_tlb_entry *e = &c->mmu.write[n];
		if (e->tag && e->gpa == page)
			tlb_drop(e);
	}
}

void soft_mmu_code_added(struct soft_cpu *c, uint64_t gpa)
{
	drop_writes_to(c, gpa & PAGE_MASK);
	soft_vm_flush_others(c);
}

/* --- seg.h --- */

bool soft_watch_page(struct soft_cpu *c, uint64_t la, unsigned kind, uint64_t *gpa)
{
	struct soft_mmu_state *m = &c->mmu;
	struct walk w;
	uint32_t err;
	bool writable = false;

	/*
	 * Only this vCPU's stores see its watch set (ram_written): another
	 * vCPU's store to the page would leave the shadow stale. With more than
	 * one vCPU, seg.c checks entries against guest memory instead.
	 */
	if (soft_vm_ncpus(c->vm) > 1)
		return false;
	if (soft_long_mode(c) && !canonical(la))
		return false;
	la &= la_mask(c);
	if (!walk(c, la, SOFT_ACC_IMPLICIT, false, &w, &err))
		return false;
	uint64_t page = w.gpa & PAGE_MASK;
	if (!soft_vm_ram_fault(c, page, PAGE_SIZE, &writable))
		return false;
	if (!watched(c, page, kind)) {
		if (m->nwatch >= SOFT_MMU_WATCH_MAX)
			return false;
		m->watch[m->nwatch++] = page | kind;
		drop_writes_to(c, page);
	}
	*gpa = w.gpa;
	return true;
}

void soft_unwatch_page(struct soft_cpu *c, uint64_t gpa, unsigned kind)
{
	struct soft_mmu_state *m = &c->mmu;
	uint64_t key = (gpa & PAGE_MASK) | kind;

	for (unsigned k = 0; k < m->nwatch; k++) {
		if (m->watch[k] != key)
			continue;
		/* Keep the set dense: the last one takes this slot. */
		m->watch[k] = m->watch[--m->nwatch];
		return;
	}
	/* Write entries made slow for the page stay slow until they are evicted. */
}
