// SPDX-License-Identifier: MIT
/*
 * vm_block.h. The accelerator cannot say which mapped block a guest used
 * recently (KVM runs it in hardware; soft's TLB hits go unseen), so the
 * block table's LRU order is the order of the touches cove sees: faults,
 * DMA and VMM copies -- under KVM, close to map order.
 */
#include "vm_block.h"

#include <errno.h>
#include <string.h>

#include "config.h"
#include "mmu/block_ram.h"
#include "mmu/guest_mem.h"

struct vm_block {
	struct guest_mem *mem;
	struct block_ram *br;
	const struct accel_ops *ops;
	struct accel *accel;
	unsigned first_slot;
	uint64_t emul_fixes; /* KVM emulation failures resolved by mapping */
};

static int on_mapped(void *opaque, unsigned slot, uint64_t gpa, uint64_t len, void *hva)
{
	struct vm_block *b = opaque;

	return b->ops->set_memory_region(b->accel, b->first_slot + slot, gpa, len, hva, 0);
}

static void on_releasing(void *opaque, unsigned slot, uint64_t gpa, uint64_t len, void *hva)
{
	struct vm_block *b = opaque;

	(void)gpa;
	(void)len;
	(void)hva;
	/* the slot goes first: after this no vCPU uses hva (accel.h) */
	b->ops->set_memory_region(b->accel, b->first_slot + slot, 0, 0, NULL, 0);
}

int vm_block_create(const struct vm_block_params *p, struct vm_block **out, GError **err)
{
	struct block_ram_params bp = {
		.path = p->path, .size = p->size, .block = p->block, .resident = p->resident
	};
	struct guest_mem_block_hooks h = { .mapped = on_mapped, .releasing = on_releasing };
	struct vm_block *b;
	char why[200] = "";
	unsigned blocks, have;
	int ret;

	ret = guest_mem_use_file(p->mem, &bp, why, sizeof(why));
	if (ret) {
		g_set_error(err, COVE_ERROR, 0, "--memory-file %s: %s", p->path, why);
		return ret;
	}
	blocks = block_ram_max_mapped(guest_mem_block_ram(p->mem));
	have = p->ops->max_memory_slots ? p->ops->max_memory_slots(p->accel) : ~0u;
	if (have <= p->first_slot || blocks > have - p->first_slot) {
		g_set_error(err, COVE_ERROR, 0,
			    "--memory-block %" G_GUINT64_FORMAT "K: %u resident blocks need %u "
			    "memory slots, %s has %u (use bigger blocks or a smaller "
			    "--memory-resident)",
			    p->block >> 10, blocks, p->first_slot + blocks, p->ops->name, have);
		return -ENOSPC;
	}
	b = g_new0(struct vm_block, 1);
	b->mem = p->mem;
	b->br = guest_mem_block_ram(p->mem);
	b->ops = p->ops;
	b->accel = p->accel;
	b->first_slot = p->first_slot;
	h.opaque = b;
	guest_mem_set_block_hooks(p->mem, &h);
	*out = b;
	return 0;
}

void vm_block_destroy(struct vm_block *b)
{
	g_free(b); /* the table belongs to guest_mem */
}

int vm_block_fault(struct vm_block *b, uint64_t gpa)
{
	return guest_mem_touch(b->mem, gpa);
}

int vm_block_mmio(struct vm_block *b, uint64_t gpa, void *data, unsigned len, bool write)
{
	int ret;

	if (!guest_mem_is_block_ram(b->mem, gpa))
		return 0;
	ret = guest_mem_touch(b->mem, gpa); /* counts the fault, adds the slot */
	if (ret)
		return ret;
	/* the rest of an access that straddles into the next block maps that one too */
	ret = write ? guest_mem_write(b->mem, gpa, data, len)
		    : guest_mem_read(b->mem, gpa, data, len);
	return ret ? ret : 1;
}

/* ---- KVM emulation failures: the userspace walk of SDM Vol.3 §4 ---- */

#define PTE_P	  (1ull << 0)
#define PTE_PS	  (1ull << 7)
#define CR0_PG	  (1ull << 31)
#define CR4_PSE	  (1ull << 4)
#define CR4_PAE	  (1ull << 5)
#define EFER_LMA  (1ull << 10)
#define ADDR_MASK 0x000ffffffffff000ull

/* Reads a paging-structure entry through guest_mem, which maps its block. */
static bool read_pte(struct vm_block *b, uint64_t gpa, unsigned size, uint64_t *v)
{
	*v = 0;
	if (guest_mem_read(b->mem, gpa, v, size))
		return false;
	guest_mem_mark_table(b->mem, gpa); /* after the read: it mapped the block */
	return true;
}

/* Linear la -> gpa as the guest's paging would; false where the walk stops. */
static bool walk(struct vm_block *b, const struct kvm_sregs *s, uint64_t la, uint64_t *gpa)
{
	uint64_t e;

	if (!(s->cr0 & CR0_PG)) {
		*gpa = la & 0xffffffffull;
		return true;
	}
	if (!(s->cr4 & CR4_PAE)) {
		if (!read_pte(b, (s->cr3 & 0xfffff000) + ((la >> 22) & 0x3ff) * 4, 4, &e) ||
		    !(e & PTE_P))
			return false;
		if ((s->cr4 & CR4_PSE) && (e & PTE_PS)) {
			*gpa = (e & 0xffc00000) | (la & 0x3fffff);
			return true;
		}
		if (!read_pte(b, (e & 0xfffff000) + ((la >> 12) & 0x3ff) * 4, 4, &e) ||
		    !(e & PTE_P))
			return false;
		*gpa = (e & 0xfffff000) | (la & 0xfff);
		return true;
	}
	uint64_t table;
	int level;

	if (s->efer & EFER_LMA) {
		table = s->cr3 & ADDR_MASK;
		level = 4;
	} else {
		if (!read_pte(b, (s->cr3 & 0xffffffe0) + ((la >> 30) & 3) * 8, 8, &e) ||
		    !(e & PTE_P))
			return false;
		table = e & ADDR_MASK;
		level = 2;
	}
	for (;; level--) {
		unsigned shift = 12 + 9 * (unsigned)(level - 1);

		if (!read_pte(b, table + ((la >> shift) & 511) * 8, 8, &e) || !(e & PTE_P))
			return false;
		if (level == 1 || (level <= 3 && (e & PTE_PS))) {
			uint64_t m = (1ull << shift) - 1;

			*gpa = (e & ADDR_MASK & ~m) | (la & m);
			return true;
		}
		table = e & ADDR_MASK;
	}
}

int vm_block_emulation_failed(struct vm_block *b, struct accel_vcpu *v, const struct accel_exit *e)
{
	struct block_ram_stats before, after;
	struct kvm_regs r;
	struct kvm_sregs s;
	uint64_t la, gpa;

	if (b->ops->get_regs(v, &r) || b->ops->get_sregs(v, &s))
		return 0;
	block_ram_get_stats(b->br, &before);
	la = s.cs.base + r.rip;
	if (!(s.efer & EFER_LMA))
		la &= 0xffffffffull;
	/*
	 * The instruction and, if it crosses a page, the next one; the walks
	 * map the page-table blocks on the way. CR2 too: a #PF the guest took
	 * because KVM could not walk its tables may be what it retries.
	 */
	uint64_t at[6] = { la, (la | 0xfff) + 1, s.cr2, s.ss.base + r.rsp, s.gs.base, s.fs.base };
	for (unsigned k = 0; k < 6; k++)
		if (walk(b, &s, at[k], &gpa) && guest_mem_is_block_ram(b->mem, gpa))
			guest_mem_touch(b->mem, gpa);
	/*
	 * A tick: the registers that hold kernel pointers are what the guest
	 * dereferences next; walking them marks more page-table blocks (their
	 * targets are not mapped: the guest may never touch them).
	 */
	uint64_t gpr[16] = { r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8,
			     r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rsp };
	for (unsigned k = 0; !e && (s.efer & EFER_LMA) && k < 16; k++)
		if (gpr[k] >> 47 == 0x1ffff) /* canonical, upper half */
			walk(b, &s, gpr[k], &gpa);
	/* the access KVM could not emulate (SVM reports its gpa) */
	if (e && e->internal.has_gpa && guest_mem_is_block_ram(b->mem, e->internal.gpa))
		guest_mem_touch(b->mem, e->internal.gpa);
	block_ram_get_stats(b->br, &after);
	if (after.maps == before.maps)
		return 0;
	b->emul_fixes++;
	return 1;
}

const char *vm_block_strerror(int err)
{
	switch (err) {
	case -EBUSY:
		return "block RAM: every resident block is pinned by a device";
	case -ENOMEM:
		return "block RAM: cannot map a block of --memory-file";
	default:
		return "block RAM: cannot map a block";
	}
}

void vm_block_print_stats(struct vm_block *b, FILE *out)
{
	struct block_ram_stats st;

	block_ram_get_stats(b->br, &st);
	fprintf(out,
		"block-ram: block %" G_GUINT64_FORMAT
		"K, resident %u/%u blocks, faults %" G_GUINT64_FORMAT ", maps %" G_GUINT64_FORMAT
		", releases %" G_GUINT64_FORMAT ", released %" G_GUINT64_FORMAT
		"K, emulation retries %" G_GUINT64_FORMAT "\n",
		block_ram_block_size(b->br) >> 10, st.mapped, st.max_mapped, st.faults, st.maps,
		st.releases, st.released_bytes >> 10, b->emul_fixes);
}
