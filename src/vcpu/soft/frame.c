/* SPDX-License-Identifier: MIT */
/*
 * Code frames (DESIGN.md "Code frames"): one guest-physical 4K code page,
 * decoded lazily into blocks of struct soft_insn, keyed by (page, code size,
 * CPL). A block is also keyed by the rip it was decoded at, because direct
 * branch targets are absolute and one physical page may be mapped at several
 * linear addresses (identity map and higher half).
 *
 * Each vCPU has its own frames (core.h): only its thread builds, runs and
 * frees them. A frame dies when bytes its blocks were decoded from are
 * written (self-modifying code, DMA, another vCPU's store, queued to this
 * one), or any byte of a page a straddling instruction reached; data written
 * beside code on the same page spares it. A dead frame is freed between
 * blocks, and its death bumps the chain epoch, so no stub leads into it again.
 * Per-VM page counts (soft.c) tell mmu.c which pages hold frames at all.
 *
 * An instruction that crosses into the next page is decoded from the bytes of
 * both pages; the frame then depends on both and is registered on both. Such
 * an instruction always starts a block of its own, so that its fetch from the
 * second page faults (if it does) with rip at that instruction, and run.c
 * re-checks the second page's translation before every execution of it.
 */
#include "frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "decode.h"
#include "excp.h"
#include "mem.h"
#include "mmu.h"
#include "pattern.h"
#include "seg.h"
#include "soft_vm.h"

#define FRAME_HASH	1024
#define PAGE_HASH	1024
#define BLOCK_HASH	64
#define FRAME_PAGES	4 /* its own page and the pages straddling instructions reach */
#define BLOCK_MAX_INSNS 64
#define FRAMES_MAX	8192   /* live frames per vCPU before everything is dropped */
#define BLOCKS_MAX	131072 /* blocks per vCPU, likewise (aliased rips multiply them) */

struct page_ref {
	uint64_t gpa;
	struct soft_frame *f;
	struct page_ref *next;
};

struct soft_frame {
	uint64_t key;	  /* gpa page | csize << 4 | cpl */
	uint64_t mem_gen; /* slot map its page counts were taken in */
	/* bytes of its own page that blocks were decoded from: other writes spare it */
	uint64_t covered[SOFT_PAGE_SIZE / 64];
	struct page_ref ref[FRAME_PAGES];
	unsigned npages;
	struct soft_frame *hnext; /* lookup hash, or the dead list */
	struct soft_block *blocks[BLOCK_HASH];
	bool dead;
};

struct soft_frames {
	struct soft_frame *hash[FRAME_HASH];
	struct page_ref *pages[PAGE_HASH];
	struct soft_frame *dead;
	unsigned live;
	unsigned blocks; /* in live and dead frames */
};

static unsigned page_hash(uint64_t gpa)
{
	return (unsigned)((gpa >> 12) * 0x9e3779b1u) % PAGE_HASH;
}

static unsigned frame_hash(uint64_t key)
{
	return (unsigned)(((key >> 12) ^ (key & 0xff) * 0x45d9f3bu) * 0x9e3779b1u) % FRAME_HASH;
}

int soft_frames_create(struct soft_vcpu *v)
{
	v->frames = calloc(1, sizeof(*v->frames));
	return v->frames ? 0 : -ENOMEM;
}

static void frame_free(struct soft_frames *fs, struct soft_frame *f)
{
	for (unsigned k = 0; k < BLOCK_HASH; k++) {
		struct soft_block *b = f->blocks[k], *n;

		for (; b; b = n) {
			n = b->hnext;
			free(b);
			fs->blocks--;
		}
	}
	free(f);
}

static void unlink_ref(struct soft_frames *fs, struct page_ref *r)
{
	struct page_ref **pp = &fs->pages[page_hash(r->gpa)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			return;
		}
	}
}

static void frame_kill(struct soft_vcpu *v, struct soft_frame *f)
{
	struct soft_frames *fs = v->frames;
	struct soft_frame **pp = &fs->hash[frame_hash(f->key)];

	if (f->dead)
		return;
	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == f) {
			*pp = f->hnext;
			break;
		}
	}
	bool counted = f->mem_gen == soft_vm_mem_generation(v->vm);
	for (unsigned k = 0; k < f->npages; k++) {
		unlink_ref(fs, &f->ref[k]);
		if (counted)
			soft_vm_code_mark(v->vm, f->ref[k].gpa, false);
	}
	f->dead = true;
	f->hnext = fs->dead;
	fs->dead = f;
	fs->live--;
	v->st.frames_invalidated++;
	v->chain_epoch++;
	soft_patterns_forget(v, f);
	if (v->c.cur_frame == f)
		v->c.smc = true;
}

static void reap(struct soft_vcpu *v)
{
	struct soft_frames *fs = v->frames;
	struct soft_frame *f, *n;

	if (v->c.cur_frame && v->c.cur_frame->dead)
		v->c.cur_frame = NULL;
	for (f = fs->dead; f; f = n) {
		n = f->hnext;
		frame_free(fs, f);
	}
	fs->dead = NULL;
}

void soft_frames_flush(struct soft_vcpu *v)
{
	struct soft_frames *fs = v->frames;

	for (unsigned k = 0; k < FRAME_HASH; k++)
		while (fs->hash[k])
			frame_kill(v, fs->hash[k]);
	reap(v);
	v->chain_epoch++;
}

void soft_frames_destroy(struct soft_vcpu *v)
{
	if (!v->frames)
		return;
	soft_frames_flush(v);
	free(v->frames);
	v->frames = NULL;
}

bool soft_frames_dirty(struct soft_vcpu *v)
{
	return v->frames->dead || atomic_load_explicit(&v->inval_pending, memory_order_relaxed);
}

unsigned soft_frames_live(struct soft_vcpu *v)
{
	return v->frames ? v->frames->live : 0;
}

/* Do bytes [s, e) of f's own page hold decoded instructions? */
static bool covers(const struct soft_frame *f, unsigned s, unsigned e)
{
	for (unsigned b = s; b < e; b++) {
		if (!(b & 63) && e - b >= 64 && !f->covered[b / 64]) {
			b += 63;
			continue;
		}
		if (f->covered[b / 64] & (1ull << (b & 63)))
			return true;
	}
	return false;
}

static void cover(struct soft_frame *f, unsigned s, unsigned e)
{
	for (unsigned b = s; b < e && b < SOFT_PAGE_SIZE; b++)
		f->covered[b / 64] |= 1ull << (b & 63);
}

/*
 * Kills this vCPU's frames that bytes [s, e) of guest-physical page gpa may
 * have been decoded from: on a frame's own page only blocks' bytes count; a
 * straddled page counts as a whole.
 */
static void invalidate_page(struct soft_vcpu *v, uint64_t gpa, unsigned s, unsigned e)
{
	struct soft_frames *fs = v->frames;
	struct page_ref *r;

	gpa &= SOFT_PAGE_MASK;
again:
	for (r = fs->pages[page_hash(gpa)]; r; r = r->next) {
		if (r->gpa != gpa || (r == &r->f->ref[0] && !covers(r->f, s, e)))
			continue;
		frame_kill(v, r->f);
		goto again; /* the kill unlinked r */
	}
}

static void invalidate_range(struct soft_vcpu *v, uint64_t gpa, uint64_t len)
{
	uint64_t p = gpa & SOFT_PAGE_MASK, end = gpa + len;

	if (end < gpa)
		end = ~0ull;
	for (; p < end; p += SOFT_PAGE_SIZE) {
		unsigned s = gpa > p ? (unsigned)(gpa - p) : 0;
		unsigned e = end - p < SOFT_PAGE_SIZE ? (unsigned)(end - p) : SOFT_PAGE_SIZE;

		invalidate_page(v, p, s, e);
		if (p + SOFT_PAGE_SIZE < p)
			break;
	}
}

static void queue_invalidation(struct soft_vcpu *x, uint64_t gpa, uint64_t len)
{
	pthread_mutex_lock(&x->inval_lock);
	if (x->ninval < SOFT_INVAL_MAX) {
		x->inval[x->ninval][0] = gpa;
		x->inval[x->ninval][1] = len;
		x->ninval++;
	} else {
		x->inval_all = true;
	}
	atomic_store(&x->inval_pending, true);
	pthread_mutex_unlock(&x->inval_lock);
	soft_vcpu_wake(x, SOFT_EV_FLUSH);
}

void soft_frame_written(struct soft_vm *vm, struct soft_cpu *c, uint64_t gpa, uint64_t len)
{
	uint64_t p = gpa & SOFT_PAGE_MASK, end = gpa + len;
	bool any = false;

	if (!len)
		return;
	if (end < gpa)
		end = ~0ull;
	/* the counts fall when frames die; a page keeps its slow writes until then */
	for (; p < end && !any; p += SOFT_PAGE_SIZE) {
		any = soft_frame_page_has_code(vm, p);
		if (p + SOFT_PAGE_SIZE < p)
			break;
	}
	if (!any)
		return;
	if (c)
		invalidate_range(soft_vcpu_of(c), gpa, len);
	if (c && vm->ncpus == 1)
		return;
	pthread_mutex_lock(&vm->lock); /* against vcpu_destroy */
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct soft_vcpu *x = vm->cpus[i];

		if (x && (!c || x != soft_vcpu_of(c)))
			queue_invalidation(x, gpa, len);
	}
	pthread_mutex_unlock(&vm->lock);
}

void soft_frames_dma_written(struct soft_vm *vm, uint64_t gpa, uint64_t len)
{
	pthread_mutex_lock(&vm->lock); /* against vcpu_destroy */
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct soft_vcpu *x = vm->cpus[i];

		if (!x)
			continue;
		pthread_mutex_lock(&x->inval_lock);
		if (x->nseg_inval < SOFT_INVAL_MAX) {
			x->seg_inval[x->nseg_inval][0] = gpa;
			x->seg_inval[x->nseg_inval][1] = len;
			x->nseg_inval++;
		} else {
			x->seg_inval_all = true;
		}
		/* no event: the vCPU looks at its next monitor pass, before any interrupt */
		atomic_store(&x->inval_pending, true);
		pthread_mutex_unlock(&x->inval_lock);
	}
	pthread_mutex_unlock(&vm->lock);
	soft_frame_written(vm, NULL, gpa, len);
}

void soft_frames_maintain(struct soft_vcpu *v)
{
	uint64_t q[SOFT_INVAL_MAX][2], sq[SOFT_INVAL_MAX][2];
	unsigned n, ns;
	bool all, seg_all;
	uint64_t gen = soft_vm_mem_generation(v->vm);

	pthread_mutex_lock(&v->inval_lock);
	n = v->ninval;
	all = v->inval_all;
	memcpy(q, v->inval, n * sizeof(q[0]));
	ns = v->nseg_inval;
	seg_all = v->seg_inval_all;
	memcpy(sq, v->seg_inval, ns * sizeof(sq[0]));
	v->ninval = v->nseg_inval = 0;
	v->inval_all = v->seg_inval_all = false;
	atomic_store(&v->inval_pending, false);
	pthread_mutex_unlock(&v->inval_lock);
	if (seg_all)
		soft_seg_flush(&v->c);
	else
		for (unsigned k = 0; k < ns; k++)
			soft_seg_invalidate(&v->c, sq[k][0], sq[k][1]);
	if (gen != v->mem_gen) {
		v->mem_gen = gen;
		all = true;
		soft_mmu_flush(&v->c, true);
	}
	if (all) {
		soft_frames_flush(v);
		return;
	}
	for (unsigned k = 0; k < n; k++)
		invalidate_range(v, q[k][0], q[k][1]);
	reap(v);
}

/* Registers f on page gpa (its own page or a straddled one); false if it has no room. */
static bool frame_add_page(struct soft_vcpu *v, struct soft_frame *f, uint64_t gpa)
{
	struct soft_frames *fs = v->frames;

	gpa &= SOFT_PAGE_MASK;
	for (unsigned k = 0; k < f->npages; k++)
		if (f->ref[k].gpa == gpa)
			return true;
	if (f->npages == FRAME_PAGES)
		return false;
	struct page_ref *r = &f->ref[f->npages++];
	unsigned h = page_hash(gpa);

	r->gpa = gpa;
	r->f = f;
	r->next = fs->pages[h];
	fs->pages[h] = r;
	soft_vm_code_mark(v->vm, gpa, true);
	soft_mmu_code_added(&v->c, gpa);
	return true;
}

static uint64_t ip_mask(const struct soft_cpu *c)
{
	return c->csize == 2 ? 0xffffull : c->csize == 4 ? 0xffffffffull : ~0ull;
}

static uint64_t la_mask(const struct soft_cpu *c)
{
	return soft_long_mode(c) ? ~0ull : 0xffffffffull;
}

static _Noreturn void decode_fault(struct soft_cpu *c, int ret)
{
	if (ret == -EILSEQ)
		soft_raise(c, X86_EXC_UD, SOFT_NO_ERRCODE);
	if (ret == -E2BIG)
		soft_raise(c, X86_EXC_GP, 0);
	soft_internal_error(c, "cannot decode at rip %#llx (mode %u): error %d",
			    (unsigned long long)c->rip, c->csize, ret);
}

/*
 * Decodes the block at page offset off (linear la, rip) into a new block of
 * f. probe: never raise (NULL where the first instruction would fault or
 * reach the next page).
 */
static struct soft_block *block_build(struct soft_vcpu *v, struct soft_frame *f,
				      const uint8_t *page, uint64_t la, unsigned off, uint64_t rip,
				      bool probe)
{
	struct soft_cpu *c = &v->c;
	struct soft_insn tmp[BLOCK_MAX_INSNS];
	unsigned pos = off, n = 0;
	bool straddle = false;
	uint64_t gpa2 = 0;

	while (n < BLOCK_MAX_INSNS && pos < SOFT_PAGE_SIZE) {
		uint8_t ib[SOFT_INSN_MAX_LEN];
		unsigned avail = SOFT_PAGE_SIZE - pos;
		unsigned have = avail < SOFT_INSN_MAX_LEN ? avail : SOFT_INSN_MAX_LEN;
		uint64_t irip = (rip + (pos - off)) & ip_mask(c);
		int ret;

		memcpy(ib, page + pos, have);
		ret = soft_decode(ib, have, c->csize, irip, &tmp[n]);
		if (ret == -EAGAIN && have < SOFT_INSN_MAX_LEN) {
			uint64_t g2;

			if (n > 0)
				break; /* it starts a block of its own */
			if (probe)
				return NULL;
			/* may fault: this is the first instruction, c->rip is at it */
			unsigned got =
				soft_fetch(c, ((la & SOFT_PAGE_MASK) + SOFT_PAGE_SIZE) & la_mask(c),
					   ib + have, SOFT_INSN_MAX_LEN - have, &g2);
			ret = soft_decode(ib, have + got, c->csize, irip, &tmp[n]);
			if (!ret) {
				straddle = true;
				gpa2 = g2 & SOFT_PAGE_MASK;
			}
		}
		if (ret) {
			if (n > 0)
				break; /* raised when execution reaches it */
			if (probe)
				return NULL;
			decode_fault(c, ret);
		}
		pos += tmp[n].len;
		n++;
		if (straddle || (tmp[n - 1].flags & (SOFT_I_BRANCH | SOFT_I_UNSAFE)))
			break;
		/* (E)IP wrapped: the next instruction is at cs:0, not at the next byte */
		if (rip + (pos - off) > ip_mask(c))
			break;
	}
	if (straddle && !soft_vm_ram_fault(c, gpa2, SOFT_PAGE_SIZE, NULL))
		soft_internal_error(c, "instruction at %#llx continues into non-RAM gpa %#llx",
				    (unsigned long long)c->rip, (unsigned long long)gpa2);

	struct soft_block *b = calloc(1, sizeof(*b) + n * sizeof(b->insn[0]));

	if (!b)
		soft_internal_error(c, "out of memory for a code block");
	if (straddle && !frame_add_page(v, f, gpa2)) {
		free(b);
		frame_kill(v, f); /* too many aliases: start over with a fresh frame */
		return NULL;
	}
	memcpy(b->insn, tmp, n * sizeof(tmp[0]));
	b->frame = f;
	b->rip = rip;
	b->off = (uint16_t)off;
	b->n = (uint16_t)n;
	b->bytes = (uint16_t)(pos - off);
	b->straddle = straddle;
	b->gpa2 = gpa2;

	const struct soft_insn *last = &b->insn[n - 1];
	if (!(last->flags & SOFT_I_UNSAFE)) {
		if ((last->flags & SOFT_I_BRANCH) && (last->flags & SOFT_I_DIRECT)) {
			b->stub[0].has_rip = true;
			b->stub[0].rip = last->imm;
		}
		if (!(last->flags & SOFT_I_BRANCH) || (last->flags & SOFT_I_COND)) {
			b->stub[1].has_rip = true;
			b->stub[1].rip = (rip + b->bytes) & ip_mask(c);
		}
	}
	unsigned h = off % BLOCK_HASH;
	b->hnext = f->blocks[h];
	f->blocks[h] = b;
	cover(f, off, pos);
	/* the next linear page maps this one again: the tail is at its start */
	if (straddle && gpa2 == (f->key & SOFT_PAGE_MASK))
		cover(f, 0, pos - SOFT_PAGE_SIZE);
	v->frames->blocks++;
	v->st.blocks_built++;
	return b;
}

struct soft_block *soft_block_lookup(struct soft_cpu *c, uint64_t la)
{
	struct soft_vcpu *v = soft_vcpu_of(c);
	struct soft_frames *fs = v->frames;
	uint8_t probe;
	uint64_t gpa;

	if (fs->live > FRAMES_MAX || fs->blocks > BLOCKS_MAX)
		soft_frames_flush(v); /* a guest must not make us grow without bound */
	for (;;) {
		soft_fetch(c, la, &probe, 1, &gpa); /* translation, #PF/#GP with rip at it */
		uint64_t page = gpa & SOFT_PAGE_MASK;
		unsigned off = (unsigned)(gpa & ~SOFT_PAGE_MASK);
		uint64_t key = page | ((uint64_t)c->csize << 4) | c->cpl;
		uint8_t *hva = soft_vm_ram_fault(c, page, SOFT_PAGE_SIZE, NULL);
		struct soft_frame *f;

		if (!hva)
			soft_internal_error(c, "executing outside RAM: rip %#llx, gpa %#llx",
					    (unsigned long long)c->rip, (unsigned long long)gpa);
		for (f = fs->hash[frame_hash(key)]; f; f = f->hnext)
			if (f->key == key)
				break;
		if (!f) {
			f = calloc(1, sizeof(*f));
			if (!f)
				soft_internal_error(c, "out of memory for a code frame");
			f->key = key;
			f->mem_gen = soft_vm_mem_generation(v->vm);
			unsigned h = frame_hash(key);
			f->hnext = fs->hash[h];
			fs->hash[h] = f;
			fs->live++;
			v->st.frames_built++;
			frame_add_page(v, f, page);
		}
		for (struct soft_block *b = f->blocks[off % BLOCK_HASH]; b; b = b->hnext)
			if (b->off == off && b->rip == c->rip)
				return b;
		struct soft_block *b = block_build(v, f, hva, la, off, c->rip, false);
		if (b)
			return b;
		reap(v);
	}
}

bool soft_block_straddle_ok(struct soft_cpu *c, struct soft_block *b, uint64_t la)
{
	uint8_t probe;
	uint64_t g2;

	soft_fetch(c, ((la & SOFT_PAGE_MASK) + SOFT_PAGE_SIZE) & la_mask(c), &probe, 1, &g2);
	if ((g2 & SOFT_PAGE_MASK) == b->gpa2)
		return true;
	frame_kill(soft_vcpu_of(c), b->frame);
	return false;
}

struct soft_block *soft_block_next(struct soft_cpu *c, struct soft_block *b)
{
	struct soft_vcpu *v = soft_vcpu_of(c);
	struct soft_frame *f = b->frame;
	unsigned off = b->off + b->bytes;
	uint64_t rip = (b->rip + b->bytes) & ip_mask(c);
	uint8_t *hva;

	/* after an (E)IP wrap the next block is not the next bytes of the page */
	if (f->dead || b->straddle || off >= SOFT_PAGE_SIZE || rip != b->rip + b->bytes)
		return NULL;
	for (struct soft_block *n = f->blocks[off % BLOCK_HASH]; n; n = n->hnext)
		if (n->off == off && n->rip == rip)
			return n;
	if (v->frames->blocks > BLOCKS_MAX)
		return NULL;
	hva = soft_vm_ram_fault(c, f->key & SOFT_PAGE_MASK, SOFT_PAGE_SIZE, NULL);
	if (!hva)
		return NULL;
	return block_build(v, f, hva, 0, off, rip, true);
}
