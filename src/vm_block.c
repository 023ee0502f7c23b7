// SPDX-License-Identifier: MIT
/*
 * vm_block.h. The accelerator cannot say which mapped block a guest used
 * recently (KVM runs it in hardware; soft's TLB hits go unseen), so the
 * block table's LRU order is the order of the touches cove sees: faults,
 * DMA and VMM copies -- under KVM, the order of first touches.
 */
#include "vm_block.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "config.h"
#include "mmu/block_ram.h"
#include "mmu/guest_mem.h"

/* Address space copy-in leaves beside the guest RAM under RLIMIT_AS. */
#define VM_BLOCK_AS_SLACK (256ull << 20)

struct vm_block {
	struct guest_mem *mem;
	struct block_ram *br;
	const struct accel_ops *ops;
	struct accel *accel;
	unsigned first_slot;
	bool copy_in;
	void (*failed)(void *opaque, const char *why);
	void *opaque;
	char why[160]; /* the first failure */
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

static void on_failed(void *opaque, const char *why)
{
	struct vm_block *b = opaque;

	snprintf(b->why, sizeof(b->why), "%s", why);
	if (b->failed)
		b->failed(b->opaque, why);
}

int vm_block_can_copy_in(uint64_t size, char *why, size_t whylen)
{
	struct rlimit as;

	/* the range and what cove needs besides (libraries, stacks, the accelerator) */
	if (!getrlimit(RLIMIT_AS, &as) && as.rlim_cur != RLIM_INFINITY &&
	    (as.rlim_cur < size || as.rlim_cur - size < VM_BLOCK_AS_SLACK)) {
		snprintf(why, whylen,
			 "the address-space limit (ulimit -v %llu KiB) leaves less than %llu MiB "
			 "beside the guest RAM",
			 (unsigned long long)(as.rlim_cur >> 10),
			 (unsigned long long)(VM_BLOCK_AS_SLACK >> 20));
		return -ENOMEM;
	}
	return block_ram_probe_copy_in(size, why, whylen);
}

int vm_block_create(const struct vm_block_params *p, struct vm_block **out, GError **err)
{
	struct block_ram_params bp = { .path = p->path,
				       .size = p->size,
				       .block = p->block,
				       .resident = p->resident,
				       .copy_in = p->copy_in };
	struct guest_mem_block_hooks h = {
		.mapped = on_mapped, .releasing = on_releasing, .failed = on_failed
	};
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
	if (!p->copy_in && (have <= p->first_slot || blocks > have - p->first_slot)) {
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
	b->copy_in = p->copy_in;
	b->failed = p->failed;
	b->opaque = p->opaque;
	h.opaque = b;
	guest_mem_set_block_hooks(p->mem, &h);
	*out = b;
	return 0;
}

void vm_block_destroy(struct vm_block *b)
{
	if (!b)
		return;
	/* the table belongs to guest_mem and outlives b: its close may still fail a write-back */
	guest_mem_set_block_hooks(b->mem, &(struct guest_mem_block_hooks){ 0 });
	g_free(b);
}

int vm_block_fault(struct vm_block *b, uint64_t gpa)
{
	return guest_mem_touch(b->mem, gpa);
}

int vm_block_sync(struct vm_block *b, char *why, size_t whylen)
{
	int ret = block_ram_sync(b->br);

	if (ret)
		snprintf(why, whylen, "%s", b->why[0] ? b->why : "block RAM: cannot write back");
	return ret;
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
		"block-ram: %s, block %" G_GUINT64_FORMAT
		"K, resident %u/%u blocks, faults %" G_GUINT64_FORMAT ", maps %" G_GUINT64_FORMAT
		", releases %" G_GUINT64_FORMAT ", released %" G_GUINT64_FORMAT "K",
		b->copy_in ? "copy-in" : "windows", block_ram_block_size(b->br) >> 10, st.mapped,
		st.max_mapped, st.faults, st.maps, st.releases, st.released_bytes >> 10);
	if (b->copy_in)
		fprintf(out, ", read in %" G_GUINT64_FORMAT "K, written back %" G_GUINT64_FORMAT "K",
			st.filled_bytes >> 10, st.written_bytes >> 10);
	fputc('\n', out);
}
