/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage, 64-bit boot protocol (Documentation/arch/x86/boot.rst,
 * zero-page.rst). The real-mode setup code is not run: cove builds the zero
 * page itself and enters the kernel at its 64-bit entry point.
 */
#include <asm/bootparam.h>
#include <errno.h>
#include <string.h>

#include "boot/boot_priv.h"
#include "boot/e820.h"
#include "pc.h"

#define BZ_HDR_OFFSET	  0x1f1
#define BZ_HDR_HOLE_END	  0x290	     /* the setup header's room in struct boot_params */
#define BZ_HDRS_MAGIC	  0x53726448 /* "HdrS" */
#define BZ_MIN_PROTOCOL	  0x020a     /* init_size and pref_address */
#define BZ_RSDP_PROTOCOL  0x020e     /* boot_params.acpi_rsdp_addr */
#define BZ_ENTRY64	  0x200	     /* boot.rst "64-bit Boot Protocol" */
#define BZ_HEAP_END	  0xe000     /* boot.rst "Sample Boot Configuration" */
#define BZ_INITRD_MAX_OLD 0x37ffffff
#define BZ_LOADER_UNKNOWN 0xff
#define PAGE_SIZE_4K	  0x1000ULL
#define MIB		  (1ULL << 20)

G_STATIC_ASSERT(sizeof(struct boot_params) == 4096);
G_STATIC_ASSERT(offsetof(struct boot_params, hdr) == BZ_HDR_OFFSET);

bool bzimage_probe(const uint8_t *head, size_t len)
{
	return len >= 0x206 && boot_rd16(head + 0x1fe) == 0xaa55 &&
	       boot_rd32(head + 0x202) == BZ_HDRS_MAGIC;
}

static unsigned long long mib_up(uint64_t v)
{
	return (unsigned long long)((v + MIB - 1) / MIB);
}

/* Where the kernel runs and the end of what it uses while it cannot yet read the e820 map. */
static uint64_t kernel_end(const struct setup_header *h, uint64_t load, uint64_t pm_size,
			   uint64_t align)
{
	uint64_t run = load;

	if (h->relocatable_kernel) {
		/*
		 * boot.rst: runtime_start = align_up(load_address, kernel_alignment).
		 * Linux's decompressor also never runs below LOAD_PHYSICAL_ADDR,
		 * which pref_address carries, so count from there when higher.
		 */
		run = boot_align_up(load, align);
		if (run < h->pref_address)
			run = h->pref_address;
	} else if (h->pref_address) {
		/* A non-relocatable kernel moves itself to pref_address. */
		run = h->pref_address;
	}
	run = boot_sat_add(run, h->init_size);
	load = boot_sat_add(load, pm_size);
	return run > load ? run : load;
}

struct bz_plan {
	uint64_t load, end, initrd, initrd_size;
};

static int plan_layout(const struct boot_file *f, const struct setup_header *h, uint64_t pm_size,
		       uint64_t ram_end, uint64_t initrd_size, struct bz_plan *p, GError **err)
{
	uint64_t align = h->kernel_alignment, initrd_top, need;

	if (h->relocatable_kernel && (align < PAGE_SIZE_4K || (align & (align - 1))))
		return boot_fail(err, ENOEXEC, "%s: kernel_alignment 0x%x is not a power of two",
				 f->name, h->kernel_alignment);

	/* boot.rst: a relocating loader should use pref_address when it can. */
	p->load = PC_HIGH_RAM_BASE;
	if (h->relocatable_kernel && h->pref_address >= PC_HIGH_RAM_BASE &&
	    !(h->pref_address & (align - 1)) &&
	    kernel_end(h, h->pref_address, pm_size, align) <= ram_end)
		p->load = h->pref_address;
	p->end = boot_align_up(kernel_end(h, p->load, pm_size, align), PAGE_SIZE_4K);

	/* The initrd goes as high as allowed, page aligned, above the kernel's init area. */
	initrd_top = (uint64_t)(h->initrd_addr_max ? h->initrd_addr_max : BZ_INITRD_MAX_OLD) + 1;
	if (initrd_top > ram_end)
		initrd_top = ram_end;
	need = boot_sat_add(p->end, boot_align_up(initrd_size, PAGE_SIZE_4K));
	if (need > ram_end)
		return boot_fail(
			err, ENOSPC,
			"%s: guest RAM too small: the kernel (at 0x%llx, using RAM up to "
			"0x%llx with its init_size)%s needs %llu MiB of RAM, the guest has "
			"%llu MiB from 1 MiB up to its first hole",
			f->name, (unsigned long long)p->load, (unsigned long long)p->end,
			initrd_size ? " with the initrd" : "", mib_up(need),
			(unsigned long long)(ram_end / MIB));
	p->initrd_size = initrd_size;
	p->initrd = 0;
	if (!initrd_size)
		return 0;
	if (initrd_top < initrd_size || ((initrd_top - initrd_size) & ~(PAGE_SIZE_4K - 1)) < p->end)
		return boot_fail(err, ENOSPC,
				 "%s: the initrd (%llu MiB) does not fit between the kernel's end "
				 "0x%llx and initrd_addr_max 0x%x",
				 f->name, mib_up(initrd_size), (unsigned long long)p->end,
				 h->initrd_addr_max);
	p->initrd = (initrd_top - initrd_size) & ~(PAGE_SIZE_4K - 1);
	return 0;
}

/* 4 GiB identity map with 2M pages: PML4 -> one PDPT -> four PDs (SDM Vol.3 §4.5). */
static int write_page_tables(struct guest_mem *mem)
{
	uint8_t *pt = g_malloc0(6 * PAGE_SIZE_4K);
	uint8_t *pml4 = pt, *pdpt = pt + PAGE_SIZE_4K, *pd = pt + 2 * PAGE_SIZE_4K;
	int ret;

	G_STATIC_ASSERT(BOOT_PDPT_GPA == BOOT_PML4_GPA + PAGE_SIZE_4K);
	G_STATIC_ASSERT(BOOT_PD_GPA == BOOT_PDPT_GPA + PAGE_SIZE_4K);
	boot_wr64(pml4, BOOT_PDPT_GPA | 0x3); /* present, writable */
	for (unsigned i = 0; i < 4; i++)
		boot_wr64(pdpt + 8 * i, (BOOT_PD_GPA + i * PAGE_SIZE_4K) | 0x3);
	for (uint64_t i = 0; i < 4 * 512; i++)
		boot_wr64(pd + 8 * i, (i << 21) | 0x83); /* present, writable, 2M page */
	ret = guest_mem_write(mem, BOOT_PML4_GPA, pt, 6 * PAGE_SIZE_4K);
	g_free(pt);
	return ret;
}

static void set_cpu_state(struct boot_cpu_state *bsp, uint64_t load)
{
	struct kvm_sregs *s = &bsp->sregs;

	boot_init_segments(s, true);
	/* PE | ET | NE | WP | PG; PAE; LME | LMA: boot.rst "64-bit Boot Protocol". */
	s->cr0 = 0x1 | 0x10 | 0x20 | 0x10000 | 0x80000000;
	s->cr3 = BOOT_PML4_GPA;
	s->cr4 = 0x20;
	s->efer = 0x100 | 0x400;
	bsp->regs.rflags = 0x2; /* IF clear */
	bsp->regs.rip = load + BZ_ENTRY64;
	bsp->regs.rsi = BOOT_INFO_GPA;
	bsp->regs.rsp = BOOT_STACK_TOP;
}

static int check_header(const struct boot_file *f, const struct setup_header *h, size_t hdr_end,
			uint64_t *setup_size, GError **err)
{
	unsigned sects = h->setup_sects ? h->setup_sects : 4;
	uint64_t pm_claimed = (uint64_t)h->syssize * 16;

	if (h->version < BZ_MIN_PROTOCOL)
		return boot_fail(err, ENOTSUP,
				 "%s: bzImage boot protocol %u.%02u is too old: cove needs 2.10 or "
				 "later",
				 f->name, h->version >> 8, h->version & 0xff);
	if (f->size < BZ_HDR_OFFSET + sizeof(*h))
		return boot_fail(err, ENODATA,
				 "%s: file is truncated: %llu bytes, the setup header ends at %zu",
				 f->name, (unsigned long long)f->size,
				 (size_t)BZ_HDR_OFFSET + sizeof(*h));
	if (hdr_end < offsetof(struct setup_header, handover_offset) + BZ_HDR_OFFSET)
		return boot_fail(err, ENOEXEC,
				 "%s: setup header ends at 0x%zx, before the protocol 2.10 fields",
				 f->name, hdr_end);
	if (!(h->loadflags & LOADED_HIGH))
		return boot_fail(err, ENOTSUP, "%s: a zImage (LOADED_HIGH clear), not a bzImage",
				 f->name);
	if (h->version < 0x020c || !(h->xloadflags & XLF_KERNEL_64))
		return boot_fail(err, ENOTSUP,
				 "%s: no 64-bit entry point (protocol %u.%02u, xloadflags 0x%x "
				 "lacks XLF_KERNEL_64)",
				 f->name, h->version >> 8, h->version & 0xff, h->xloadflags);
	*setup_size = (uint64_t)(sects + 1) * 512;
	if (f->size <= *setup_size || f->size - *setup_size < pm_claimed)
		return boot_fail(err, ENODATA,
				 "%s: file is truncated: %llu bytes, the header says %llu "
				 "(setup %llu + kernel %llu)",
				 f->name, (unsigned long long)f->size,
				 (unsigned long long)(*setup_size + pm_claimed),
				 (unsigned long long)*setup_size, (unsigned long long)pm_claimed);
	return 0;
}

int bzimage_load(struct guest_mem *mem, const struct boot_file *kernel, const uint8_t *head,
		 size_t headlen, const struct boot_request *req, struct boot_cpu_state *bsp,
		 GError **err)
{
	struct boot_params *bp = g_malloc0(sizeof(*bp));
	struct setup_header *h = &bp->hdr, hv = { 0 };
	struct boot_file initrd = { .fd = -1 };
	struct e820_entry map[E820_MAX_ENTRIES_ZEROPAGE];
	const char *cmdline = req->cmdline ? req->cmdline : BOOT_DEFAULT_CMDLINE;
	size_t cmdlen = strlen(cmdline), hdr_end, copy;
	uint64_t setup_size, pm_size, ram_end;
	struct bz_plan plan;
	int ret, n;

	/* Examine every field the file has; the zero page gets only the header proper. */
	copy = headlen - BZ_HDR_OFFSET < sizeof(hv) ? headlen - BZ_HDR_OFFSET : sizeof(hv);
	memcpy(&hv, head + BZ_HDR_OFFSET, copy);
	/* boot.rst: the header runs from 0x1f1 to 0x202 + the byte at 0x201. */
	hdr_end = 0x202 + (size_t)head[0x201];
	if (hdr_end > BZ_HDR_HOLE_END)
		hdr_end = BZ_HDR_HOLE_END;
	ret = check_header(kernel, &hv, hdr_end, &setup_size, err);
	if (ret)
		goto out;
	/* check_header() made sure the file holds all of it. */
	memcpy((uint8_t *)bp + BZ_HDR_OFFSET, head + BZ_HDR_OFFSET, hdr_end - BZ_HDR_OFFSET);
	pm_size = kernel->size - setup_size;

	if (cmdlen > h->cmdline_size || cmdlen >= BOOT_CMDLINE_MAX) {
		ret = boot_fail(err, E2BIG,
				"%s: the kernel command line is %zu bytes, the kernel accepts at "
				"most %u",
				kernel->name, cmdlen,
				h->cmdline_size < BOOT_CMDLINE_MAX - 1
					? h->cmdline_size
					: (unsigned)BOOT_CMDLINE_MAX - 1);
		goto out;
	}
	if (!guest_mem_is_ram(mem, BOOT_AREA_START, BOOT_AREA_END - BOOT_AREA_START)) {
		ret = boot_fail(err, ENOSPC,
				"%s: guest RAM does not cover the boot area 0x%llx-0x%llx",
				kernel->name, BOOT_AREA_START, BOOT_AREA_END);
		goto out;
	}
	if (req->initrd_path) {
		ret = boot_file_open(&initrd, req->initrd_path, "initrd", err);
		if (ret)
			goto out;
	}

	ram_end = boot_ram_end_from(mem, PC_HIGH_RAM_BASE);
	ret = plan_layout(kernel, h, pm_size, ram_end, initrd.size, &plan, err);
	if (ret)
		goto out;

	ret = boot_file_to_guest(mem, kernel, setup_size, plan.load, pm_size);
	if (ret) {
		g_set_error(err, BOOT_ERROR, -ret, "%s: cannot load the kernel: %s", kernel->name,
			    g_strerror(-ret));
		goto out;
	}
	if (plan.initrd_size) {
		ret = boot_file_to_guest(mem, &initrd, 0, plan.initrd, plan.initrd_size);
		if (ret) {
			g_set_error(err, BOOT_ERROR, -ret, "%s: cannot load the initrd: %s",
				    initrd.name, g_strerror(-ret));
			goto out;
		}
	}

	n = e820_build(mem, map, E820_MAX_ENTRIES_ZEROPAGE);
	if (n < 0) {
		ret = boot_fail(err, -n, "%s: cannot build the e820 map: %s", kernel->name,
				g_strerror(-n));
		goto out;
	}

	/* zero-page.rst and boot.rst "Details of Header Fields": the fields a loader writes. */
	h->vid_mode = 0xffff; /* "normal" */
	h->type_of_loader = BZ_LOADER_UNKNOWN;
	h->ext_loader_type = 0;
	h->ext_loader_ver = 0;
	h->loadflags |= CAN_USE_HEAP;
	h->heap_end_ptr = BZ_HEAP_END - 0x200;
	h->code32_start = (uint32_t)plan.load;
	h->cmd_line_ptr = (uint32_t)BOOT_CMDLINE_GPA;
	h->ramdisk_image = (uint32_t)plan.initrd;
	h->ramdisk_size = (uint32_t)plan.initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(plan.initrd >> 32);
	bp->ext_ramdisk_size = (uint32_t)(plan.initrd_size >> 32);
	h->hardware_subarch = 0;
	h->setup_data = 0; /* we pass no setup_data list */
	if (h->version >= BZ_RSDP_PROTOCOL)
		bp->acpi_rsdp_addr = req->rsdp_gpa;
	bp->e820_entries = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		bp->e820_table[i].addr = map[i].addr;
		bp->e820_table[i].size = map[i].size;
		bp->e820_table[i].type = map[i].type;
	}

	ret = guest_mem_write(mem, BOOT_INFO_GPA, bp, sizeof(*bp));
	if (!ret)
		ret = guest_mem_write(mem, BOOT_CMDLINE_GPA, cmdline, cmdlen + 1);
	if (!ret)
		ret = boot_write_gdt(mem);
	if (!ret)
		ret = write_page_tables(mem);
	if (ret) {
		g_set_error(err, BOOT_ERROR, -ret, "%s: cannot write the boot structures: %s",
			    kernel->name, g_strerror(-ret));
		goto out;
	}
	set_cpu_state(bsp, plan.load);
out:
	boot_file_close(&initrd);
	g_free(bp);
	return ret;
}
