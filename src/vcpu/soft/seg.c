// SPDX-License-Identifier: MIT
/*
 * Segmentation: segment-register loads with the checks of SDM Vol.3 §5.4-5.6
 * and Vol.2 MOV/POP, effective -> linear translation with limits and rights
 * (§5.3, §5.4.1), and the shadow descriptor table.
 *
 * The shadow keeps, per table (GDT, LDT), the translated descriptors loaded
 * so far. An entry is valid while its generation equals the table's; lgdt,
 * lldt, a paging change or a flush bump the generation, so "every entry not
 * yet mapped" costs O(1). Filling an entry watches the guest-physical pages
 * holding it (seg.h: soft_watch_page, implemented by core), and a write to a
 * watched page drops exactly the entries it overlaps (soft_seg_invalidate).
 * Where core cannot watch a page (not RAM), the entry is compared with guest
 * memory on every use instead, so the shadow is never stale.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sys_priv.h"

#define PAGE_SIZE  4096ull
#define PAGE_MASK  (~(PAGE_SIZE - 1))
/* A table is at most 64 KiB (16-bit limit), so it spans at most 17 pages. */
#define SHADOW_PAGES 17
#define TABLE_GDT  0
#define TABLE_LDT  1

struct shadow_entry {
	uint64_t raw, raw_hi;
	struct kvm_segment seg;
	uint32_t gen;	/* valid when equal to the table's generation */
	uint8_t wide;	/* raw_hi holds bytes 8..15 */
	uint8_t verify; /* not watched: compare with guest memory on every use */
};

struct shadow_table {
	struct shadow_entry *e;
	uint32_t cap;	 /* entries allocated */
	uint32_t gen;	 /* never 0 */
	uint32_t filled; /* entries of the current generation */
	/* What the entries were read under: the table and the paging that mapped it. */
	bool keyed;
	uint64_t base;
	uint32_t limit;
	uint64_t cr3, cr0, cr4, efer;
	uint64_t page_gpa[SHADOW_PAGES]; /* watched gpa page of table page k, if page_on */
	bool page_on[SHADOW_PAGES];
};

struct seg_shadow {
	struct shadow_table t[2];
};

/* --- the shadow table --- */

static struct seg_shadow *shadow_of(struct soft_cpu *c)
{
	if (!c->segs.shadow) {
		struct seg_shadow *sh = calloc(1, sizeof(*sh)); /* NULL: no shadow, read through */

		/* zeroed entries have generation 0: a table starting at 1 holds none of them */
		if (sh)
			sh->t[TABLE_GDT].gen = sh->t[TABLE_LDT].gen = 1;
		c->segs.shadow = sh;
	}
	return c->segs.shadow;
}

static uint64_t la_mask(const struct soft_cpu *c)
{
	return soft_long_mode(c) ? ~0ull : 0xffffffffull;
}

static void table_unwatch(struct soft_cpu *c, struct shadow_table *t)
{
	for (unsigned k = 0; k < SHADOW_PAGES; k++) {
		if (!t->page_on[k])
			continue;
		t->page_on[k] = false;
		/* Another page of either table may map the same guest page (aliases). */
		bool shared = false;
		struct seg_shadow *sh = c->segs.shadow;
		for (unsigned j = 0; j < 2 && !shared; j++)
			for (unsigned m = 0; m < SHADOW_PAGES; m++)
				if (sh->t[j].page_on[m] && sh->t[j].page_gpa[m] == t->page_gpa[k]) {
					shared = true;
					break;
				}
		if (!shared)
			soft_unwatch_page(c, t->page_gpa[k], SOFT_WATCH_DESC);
	}
}

static void table_flush(struct soft_cpu *c, struct shadow_table *t)
{
	c->segs.invalidations += t->filled;
	t->filled = 0;
	if (++t->gen == 0) {
		/* Wrapped: old entries could look current again. */
		for (uint32_t n = 0; n < t->cap; n++)
			t->e[n].gen = 0;
		t->gen = 1;
	}
	table_unwatch(c, t);
	t->keyed = false;
}

void soft_seg_flush(struct soft_cpu *c)
{
	struct seg_shadow *sh = c->segs.shadow;

	if (!sh)
		return;
	table_flush(c, &sh->t[TABLE_GDT]);
	table_flush(c, &sh->t[TABLE_LDT]);
}

/* Makes t describe the table at base/limit under the current paging, flushing it if not. */
static void table_key(struct soft_cpu *c, struct shadow_table *t, uint64_t base, uint32_t limit)
{
	uint64_t cr0 = c->cr0 & X86_CR0_PG;
	uint64_t cr4 = c->cr4 & (X86_CR4_PSE | X86_CR4_PAE | (1ull << 12) /* LA57 */);
	uint64_t efer = c->efer & X86_EFER_LMA;

	if (t->keyed && t->base == base && t->limit == limit && t->cr3 == c->cr3 && t->cr0 == cr0 &&
	    t->cr4 == cr4 && t->efer == efer)
		return;
	if (t->keyed || t->filled)
		table_flush(c, t);
	t->keyed = true;
	t->base = base;
	t->limit = limit;
	t->cr3 = c->cr3;
	t->cr0 = cr0;
	t->cr4 = cr4;
	t->efer = efer;
}

/* Entry idx of t, growing the array to the table's size; NULL if memory is short. */
static struct shadow_entry *table_entry(struct shadow_table *t, uint32_t idx)
{
	if (idx >= t->cap) {
		uint32_t cap = (t->limit + 1) / 8 + 1;
		if (cap <= idx)
			return NULL;
		struct shadow_entry *e = realloc(t->e, cap * sizeof(*e));
		if (!e)
			return NULL;
		memset(e + t->cap, 0, (cap - t->cap) * sizeof(*e));
		t->e = e;
		t->cap = cap;
	}
	return &t->e[idx];
}

static void entry_drop(struct shadow_table *t, struct shadow_entry *e)
{
	if (e->gen == t->gen) {
		e->gen = 0;
		t->filled--;
	}
}

/* Watches the pages holding table bytes [off, off+len); false if one cannot be watched. */
static bool table_watch(struct soft_cpu *c, struct shadow_table *t, uint64_t off, unsigned len)
{
	uint64_t page0 = t->base & PAGE_MASK;
	unsigned first = ((t->base & ~PAGE_MASK) + off) >> 12;
	unsigned last = ((t->base & ~PAGE_MASK) + off + len - 1) >> 12;
	bool ok = true;

	for (unsigned k = first; k <= last && k < SHADOW_PAGES; k++) {
		if (t->page_on[k])
			continue;
		uint64_t gpa;
		if (!soft_watch_page(c, (page0 + k * PAGE_SIZE) & la_mask(c), SOFT_WATCH_DESC, &gpa)) {
			ok = false;
			continue;
		}
		t->page_gpa[k] = gpa & PAGE_MASK;
		t->page_on[k] = true;
	}
	return ok;
}

void soft_seg_invalidate(struct soft_cpu *c, uint64_t gpa, uint64_t len)
{
	struct seg_shadow *sh = c->segs.shadow;

	if (!sh || len == 0)
		return;
	uint64_t end = gpa + len < gpa ? ~0ull : gpa + len;
	for (unsigned n = 0; n < 2; n++) {
		struct shadow_table *t = &sh->t[n];
		if (!t->filled)
			continue;
		for (unsigned k = 0; k < SHADOW_PAGES; k++) {
			uint64_t pg = t->page_gpa[k];
			if (!t->page_on[k] || end <= pg || gpa >= pg + PAGE_SIZE)
				continue;
			uint64_t lo = gpa > pg ? gpa : pg;
			uint64_t hi = end < pg + PAGE_SIZE ? end : pg + PAGE_SIZE;
			/* Table offsets of the written bytes (negative: before the table). */
			int64_t off_lo = (int64_t)(k * PAGE_SIZE + (lo - pg)) -
					 (int64_t)(t->base & ~PAGE_MASK);
			int64_t off_hi = off_lo + (int64_t)(hi - lo);
			if (off_hi <= 0 || off_lo > (int64_t)t->limit)
				continue;
			int64_t first = off_lo < 8 ? 0 : off_lo / 8 - 1; /* -1: a 16-byte entry */
			int64_t last = (off_hi - 1) / 8;
			for (int64_t idx = first; idx <= last && idx < (int64_t)t->cap; idx++) {
				struct shadow_entry *e = &t->e[idx];
				if (e->gen != t->gen)
					continue;
				int64_t eb = idx * 8, ee = eb + (e->wide ? 16 : 8);
				if (ee <= off_lo || eb >= off_hi)
					continue;
				entry_drop(t, e);
				c->segs.invalidations++;
			}
		}
	}
}

void soft_seg_invlpg(struct soft_cpu *c, uint64_t la)
{
	struct seg_shadow *sh = c->segs.shadow;

	if (!sh)
		return;
	for (unsigned n = 0; n < 2; n++) {
		struct shadow_table *t = &sh->t[n];
		if (!t->keyed)
			continue;
		uint64_t page = la & PAGE_MASK & la_mask(c);
		uint64_t first = t->base & PAGE_MASK;
		uint64_t span = ((t->base & ~PAGE_MASK) + t->limit) & PAGE_MASK;
		if (((page - first) & la_mask(c)) <= span)
			table_flush(c, t);
	}
}

void soft_seg_init(struct soft_cpu *c)
{
	shadow_of(c);
}

void soft_seg_destroy(struct soft_cpu *c)
{
	struct seg_shadow *sh = c->segs.shadow;

	if (!sh)
		return;
	for (unsigned n = 0; n < 2; n++) {
		table_unwatch(c, &sh->t[n]);
		free(sh->t[n].e);
	}
	free(sh);
	c->segs.shadow = NULL;
}

/* --- descriptors --- */

void soft_desc_translate(uint64_t raw, uint64_t raw_hi, bool wide, struct kvm_segment *s)
{
	uint32_t limit = (raw & 0xffff) | ((raw >> 32) & 0xf0000);

	memset(s, 0, sizeof(*s));
	s->base = ((raw >> 16) & 0xffffff) | ((raw >> 32) & 0xff000000);
	if (wide)
		s->base |= (raw_hi & 0xffffffff) << 32;
	s->g = (raw >> 55) & 1;
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
	s->type = DESC_TYPE(raw);
	s->s = DESC_S(raw);
	s->dpl = DESC_DPL(raw);
	s->present = DESC_P(raw);
	s->avl = (raw >> 52) & 1;
	s->l = (raw >> 53) & 1;
	s->db = (raw >> 54) & 1;
}

/* Long-mode system descriptors that take 16 bytes (SDM Vol.3 §3.5, Table 3-2). */
static bool desc_wide(const struct soft_cpu *c, uint64_t raw)
{
	if (!soft_long_mode(c) || DESC_S(raw))
		return false;
	switch (DESC_TYPE(raw)) {
	case SYS_LDT:
	case SYS_TSS_AVAIL:
	case SYS_TSS_BUSY:
	case SYS_CALL:
		return true;
	}
	return false;
}

/* The table a selector indexes: its base and limit, or false if there is none. */
static bool sel_table(const struct soft_cpu *c, uint16_t sel, uint64_t *base, uint32_t *limit)
{
	if (sel & 4) {
		const struct kvm_segment *l = &c->seg[S_LDTR];
		if (l->unusable || !l->present)
			return false;
		*base = l->base;
		*limit = l->limit;
	} else {
		*base = c->gdtr.base;
		*limit = c->gdtr.limit;
	}
	return true;
}

static void desc_fetch(struct soft_cpu *c, uint64_t base, uint32_t off, uint32_t limit,
		       struct soft_desc *d, bool *wide_bad)
{
	uint64_t la = (base + off) & la_mask(c);

	d->raw = soft_lin_read(c, la, 8, SOFT_ACC_IMPLICIT);
	d->raw_hi = 0;
	*wide_bad = false;
	if (desc_wide(c, d->raw)) {
		if ((uint64_t)off + 15 > limit)
			*wide_bad = true;
		else
			d->raw_hi = soft_lin_read(c, (la + 8) & la_mask(c), 8, SOFT_ACC_IMPLICIT);
	}
}

enum soft_desc_status soft_desc_read(struct soft_cpu *c, uint16_t sel, struct soft_desc *d)
{
	uint64_t base;
	uint32_t limit, off = sel & 0xfff8;
	bool wide_bad;

	if ((sel & 0xfffc) == 0)
		return SOFT_DESC_NULL;
	if (!sel_table(c, sel, &base, &limit) || (uint64_t)off + 7 > limit)
		return SOFT_DESC_BAD;

	struct seg_shadow *sh = shadow_of(c);
	struct shadow_table *t = sh ? &sh->t[(sel & 4) ? TABLE_LDT : TABLE_GDT] : NULL;
	struct shadow_entry *e = NULL;
	if (t) {
		table_key(c, t, base, limit);
		e = table_entry(t, off / 8);
	}
	if (e && e->gen == t->gen) {
		if (!e->verify) {
			c->segs.hits++;
			d->raw = e->raw;
			d->raw_hi = e->raw_hi;
			d->seg = e->seg;
			return SOFT_DESC_OK;
		}
		desc_fetch(c, base, off, limit, d, &wide_bad);
		if (d->raw == e->raw && d->raw_hi == e->raw_hi && !wide_bad) {
			c->segs.hits++;
			d->seg = e->seg;
			return SOFT_DESC_OK;
		}
		entry_drop(t, e);
		c->segs.invalidations++;
	} else {
		desc_fetch(c, base, off, limit, d, &wide_bad);
	}
	if (wide_bad)
		return SOFT_DESC_BAD;
	bool wide = desc_wide(c, d->raw);
	soft_desc_translate(d->raw, d->raw_hi, wide, &d->seg);
	if (e) {
		e->raw = d->raw;
		e->raw_hi = d->raw_hi;
		e->seg = d->seg;
		e->wide = wide;
		e->verify = !table_watch(c, t, off, wide ? 16 : 8);
		e->gen = t->gen;
		t->filled++;
		c->segs.fills++;
		if (e->verify)
			c->segs.unwatched++;
	}
	return SOFT_DESC_OK;
}

void soft_desc_set_type_bits(struct soft_cpu *c, uint16_t sel, struct soft_desc *d, uint64_t bits)
{
	uint64_t base;
	uint32_t limit, off = sel & 0xfff8;

	if ((d->raw & bits) == bits || !sel_table(c, sel, &base, &limit))
		return;
	/*
	 * Our own write must not count as a guest invalidation, and a fault in
	 * it must not leave a stale entry: drop the entry first, write, then
	 * keep the updated descriptor.
	 */
	struct seg_shadow *sh = c->segs.shadow;
	struct shadow_table *t = sh ? &sh->t[(sel & 4) ? TABLE_LDT : TABLE_GDT] : NULL;
	struct shadow_entry *e = NULL;
	if (t && t->keyed && off / 8 < t->cap && t->e[off / 8].gen == t->gen) {
		e = &t->e[off / 8];
		entry_drop(t, e);
	}
	d->raw |= bits;
	soft_lin_write(c, (base + off + 5) & la_mask(c), 1, (d->raw >> 40) & 0xff,
		       SOFT_ACC_IMPLICIT);
	d->seg.type = DESC_TYPE(d->raw);
	if (e && e->gen == 0) {
		e->raw = d->raw;
		e->seg = d->seg;
		e->gen = t->gen;
		t->filled++;
	}
}

/* --- segment registers --- */

void soft_seg_set_null(struct kvm_segment *s, uint16_t sel)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->unusable = 1;
}

void soft_seg_load_real(struct soft_cpu *c, int sreg, uint16_t sel)
{
	struct kvm_segment *s = &c->seg[sreg];

	if (s->unusable || !s->present) {
		/* A protected-mode null load left nothing worth keeping. */
		s->limit = 0xffff;
		s->type = sreg == S_CS ? 0xb : 0x3;
		s->s = 1;
		s->db = 0;
		s->g = 0;
		s->l = 0;
	}
	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	s->present = 1;
	s->unusable = 0;
	s->dpl = 0;
	if (sreg == S_SS || sreg == S_CS)
		soft_mode_changed(c);
}

void soft_seg_load_cs(struct soft_cpu *c, uint16_t sel, const struct soft_desc *d, unsigned cpl)
{
	struct kvm_segment *s = &c->seg[S_CS];

	*s = d->seg;
	s->selector = (sel & 0xfffc) | cpl;
	s->type |= 1;
}

void soft_seg_check_ss(struct soft_cpu *c, uint16_t sel, unsigned cpl, struct soft_desc *d,
		       int vec_bad, uint32_t ext)
{
	uint32_t err = soft_sel_err(sel, ext);

	if (soft_desc_read(c, sel, d) != SOFT_DESC_OK)
		soft_raise(c, vec_bad, err);
	if (soft_sel_rpl(sel) != cpl || !d->seg.s || (d->seg.type & SEG_CODE) ||
	    !(d->seg.type & SEG_WRITABLE) || d->seg.dpl != cpl)
		soft_raise(c, vec_bad, err);
	if (!d->seg.present)
		soft_raise(c, X86_EXC_SS, err);
}

/* SDM Vol.2 MOV: "IF SS is loaded" (and POP, LSS). */
static void load_ss(struct soft_cpu *c, uint16_t sel)
{
	struct soft_desc d;
	unsigned cpl = c->cpl;

	if ((sel & 0xfffc) == 0) {
		/* 64-bit mode allows a null SS below ring 3 with RPL = CPL (SDM Vol.3 §5.4.1.1). */
		if (!c->code64 || cpl == 3 || soft_sel_rpl(sel) != cpl)
			soft_raise(c, X86_EXC_GP, 0);
		soft_seg_set_null(&c->seg[S_SS], sel);
		c->seg[S_SS].dpl = cpl;
		soft_mode_changed(c);
		return;
	}
	soft_seg_check_ss(c, sel, cpl, &d, X86_EXC_GP, 0);
	soft_desc_set_type_bits(c, sel, &d, DESC_A_BIT);
	c->seg[S_SS] = d.seg;
	c->seg[S_SS].selector = sel;
	soft_mode_changed(c);
}

void soft_seg_load(struct soft_cpu *c, int sreg, uint16_t sel)
{
	struct soft_desc d;

	if (!soft_protected(c)) {
		soft_seg_load_real(c, sreg, sel);
		return;
	}
	if (sreg == S_SS) {
		load_ss(c, sel);
		return;
	}
	if (sreg == S_CS || sreg >= S_LDTR)
		soft_internal_error(c, "soft_seg_load: segment register %d is not a data register",
				    sreg);
	switch (soft_desc_read(c, sel, &d)) {
	case SOFT_DESC_NULL:
		soft_seg_set_null(&c->seg[sreg], sel);
		return;
	case SOFT_DESC_BAD:
		soft_raise(c, X86_EXC_GP, sel & 0xfffc);
	case SOFT_DESC_OK:
		break;
	}
	unsigned type = d.seg.type;
	if (!d.seg.s || (type & (SEG_CODE | SEG_READABLE)) == SEG_CODE)
		soft_raise(c, X86_EXC_GP, sel & 0xfffc);
	/* Data and non-conforming code: max(CPL, RPL) <= DPL (SDM Vol.3 §5.6). */
	if ((type & (SEG_CODE | SEG_CONFORMING)) != (SEG_CODE | SEG_CONFORMING) &&
	    (soft_sel_rpl(sel) > d.seg.dpl || c->cpl > d.seg.dpl))
		soft_raise(c, X86_EXC_GP, sel & 0xfffc);
	if (!d.seg.present)
		soft_raise(c, X86_EXC_NP, sel & 0xfffc);
	soft_desc_set_type_bits(c, sel, &d, DESC_A_BIT);
	c->seg[sreg] = d.seg;
	c->seg[sreg].selector = sel;
}

void soft_seg_drop_inner(struct soft_cpu *c, unsigned new_cpl)
{
	static const int regs[] = { S_ES, S_DS, S_FS, S_GS };

	for (unsigned n = 0; n < 4; n++) {
		struct kvm_segment *s = &c->seg[regs[n]];
		bool conforming = (s->type & (SEG_CODE | SEG_CONFORMING)) ==
				  (SEG_CODE | SEG_CONFORMING);
		/* 64-bit mode: FS/GS keep their bases; a null selector is fine there. */
		if (s->unusable || conforming || s->dpl >= new_cpl)
			continue;
		if (c->code64 && (regs[n] == S_FS || regs[n] == S_GS)) {
			uint64_t base = s->base;
			soft_seg_set_null(s, 0);
			s->base = base;
		} else {
			soft_seg_set_null(s, 0);
		}
	}
}

void soft_mode_changed(struct soft_cpu *c)
{
	const struct kvm_segment *cs = &c->seg[S_CS], *ss = &c->seg[S_SS];

	/*
	 * CPL is SS.DPL in protected mode: it equals CS.RPL once CS is loaded,
	 * and also right after CR0.PE is set, while CS still holds a real-mode
	 * selector (SDM Vol.3 §9.9.1); KVM reports it the same way.
	 */
	if (!soft_protected(c))
		c->cpl = 0;
	else if (c->rflags & X86_VM)
		c->cpl = 3;
	else
		c->cpl = ss->dpl;
	c->code64 = soft_long_mode(c) && cs->l;
	c->csize = c->code64 ? 8 : cs->db ? 4 : 2;
	c->ssize = c->code64 ? 8 : ss->db ? 4 : 2;
}

/* --- effective -> linear --- */

static _Noreturn void seg_fault(struct soft_cpu *c, int sreg)
{
	soft_raise(c, sreg == S_SS ? X86_EXC_SS : X86_EXC_GP, 0);
}

uint64_t soft_seg_linear(struct soft_cpu *c, int sreg, uint64_t ea, unsigned size, unsigned acc)
{
	const struct kvm_segment *s = &c->seg[sreg];
	uint64_t la, last = ea + (size ? size - 1 : 0);

	if (c->code64) {
		/* SDM Vol.3 §3.4.4: bases of CS/DS/ES/SS are 0, no limits; canonical check. */
		la = ea;
		if (sreg == S_FS || sreg == S_GS)
			la += s->base;
		if (!soft_canonical(la) || !soft_canonical(la + (size ? size - 1 : 0)))
			seg_fault(c, sreg);
	} else {
		if (soft_protected(c)) {
			if (s->unusable)
				seg_fault(c, sreg);
			unsigned type = s->type;
			if (acc & SOFT_ACC_WRITE) {
				if ((type & SEG_CODE) || !(type & SEG_WRITABLE))
					seg_fault(c, sreg);
			} else if (!(acc & SOFT_ACC_EXEC) &&
				   (type & (SEG_CODE | SEG_READABLE)) == SEG_CODE) {
				seg_fault(c, sreg);
			}
		}
		/* Real mode checks limits too: that is what makes unreal mode work. */
		if ((s->type & (SEG_CODE | SEG_EXPAND_DOWN)) == SEG_EXPAND_DOWN) {
			uint64_t upper = s->db ? 0xffffffffull : 0xffffull;
			if (ea <= s->limit || last > upper)
				seg_fault(c, sreg);
		} else if (last > s->limit) {
			seg_fault(c, sreg);
		}
		la = (s->base + ea) & 0xffffffffull;
	}
	/* Alignment check (SDM Vol.3 §6.15 "Interrupt 17"): CR0.AM, EFLAGS.AC, CPL 3. */
	if (c->cpl == 3 && (size == 2 || size == 4 || size == 8) && (la & (size - 1)) &&
	    (c->cr0 & X86_CR0_AM) && (c->rflags & X86_AC) && !(acc & SOFT_ACC_EXEC))
		soft_raise(c, X86_EXC_AC, 0);
	return la;
}

/* --- stacks on an arbitrary SS --- */

void soft_stack_current(struct soft_cpu *c, struct soft_stack *st)
{
	st->ss = c->seg[S_SS];
	st->size = c->ssize;
	st->sp = c->gpr[R_SP] & soft_size_mask(st->size);
	st->acc = 0;
	st->vec = X86_EXC_SS;
	st->err = 0;
	st->cur = true;
}

static uint64_t stack_linear(struct soft_cpu *c, const struct soft_stack *st, uint64_t sp,
			     unsigned size)
{
	if (st->size == 8) {
		if (!soft_canonical(sp) || !soft_canonical(sp + size - 1))
			soft_raise(c, st->vec, st->err);
		return sp;
	}
	const struct kvm_segment *s = &st->ss;
	uint64_t last = sp + size - 1;
	if (soft_protected(c) && s->unusable)
		soft_raise(c, st->vec, st->err);
	if ((s->type & (SEG_CODE | SEG_EXPAND_DOWN)) == SEG_EXPAND_DOWN) {
		if (sp <= s->limit || last > (s->db ? 0xffffffffull : 0xffffull))
			soft_raise(c, st->vec, st->err);
	} else if (last > s->limit) {
		soft_raise(c, st->vec, st->err);
	}
	return (s->base + sp) & 0xffffffffull;
}

void soft_stack_push(struct soft_cpu *c, struct soft_stack *st, unsigned size, uint64_t v)
{
	uint64_t sp = (st->sp - size) & soft_size_mask(st->size);

	if (st->cur)
		soft_mem_write(c, S_SS, sp, size, v);
	else
		soft_lin_write(c, stack_linear(c, st, sp, size), size, v,
			       SOFT_ACC_WRITE | st->acc);
	st->sp = sp;
}

uint64_t soft_stack_pop(struct soft_cpu *c, struct soft_stack *st, unsigned size)
{
	uint64_t v;

	if (st->cur)
		v = soft_mem_read(c, S_SS, st->sp, size);
	else
		v = soft_lin_read(c, stack_linear(c, st, st->sp, size), size,
				  SOFT_ACC_READ | st->acc);

	st->sp = (st->sp + size) & soft_size_mask(st->size);
	return v;
}

void soft_stack_commit_sp(struct soft_cpu *c, const struct soft_stack *st)
{
	soft_reg_write(c, R_SP, st->size, st->sp);
}
