/* SPDX-License-Identifier: MIT */
/*
 * Multiboot specification 0.6.96: ELF32 images (and the a.out kludge),
 * booted the way QEMU's -kernel does it, which our test guests compare with.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot/boot_priv.h"
#include "boot/e820.h"
#include "pc.h"

#define MB_MAGIC	 0x1badb002
#define MB_BOOT_MAGIC	 0x2badb002 /* EAX at entry, §3.2 */
#define MB_HDR_MIN	 12
#define MB_HDR_ADDR_END	 32 /* header_addr .. entry_addr end here */
#define MB_FLAG_ALIGN	 (1u << 0)
#define MB_FLAG_MEMINFO	 (1u << 1)
#define MB_FLAG_VIDEO	 (1u << 2)
#define MB_FLAG_ADDRESS	 (1u << 16)
#define MB_REQUIRED_MASK 0xffffu /* §3.1.2: bits 0-15 must be understood */

/* Multiboot info flags (§3.3) and layout. */
#define MBI_MEM		 (1u << 0)
#define MBI_BOOT_DEVICE	 (1u << 1)
#define MBI_CMDLINE	 (1u << 2)
#define MBI_MODS	 (1u << 3)
#define MBI_MMAP	 (1u << 6)
#define MBI_LOADER_NAME	 (1u << 9)
#define MBI_OFF_FLAGS	 0
#define MBI_OFF_MEM_LOW	 4
#define MBI_OFF_MEM_UP	 8
#define MBI_OFF_BOOTDEV	 12
#define MBI_OFF_CMDLINE	 16
#define MBI_OFF_MODS_CNT 20
#define MBI_OFF_MODS	 24
#define MBI_OFF_MMAP_LEN 44
#define MBI_OFF_MMAP	 48
#define MBI_OFF_NAME	 64
#define MBI_SIZE	 0x80

/* Where the pieces go inside the BOOT_INFO_GPA page. */
#define MB_NAME_OFF  0x80
#define MB_MODS_OFF  0x90
#define MB_MMAP_OFF  0x100
#define MB_MMAP_MAX  ((BOOT_INFO_SIZE - MB_MMAP_OFF) / 24)
#define MB_MAX_PHDRS 128
#define PAGE_4K	     0x1000ULL

G_STATIC_ASSERT(MB_MMAP_MAX >= 32);

int multiboot_find_header(const uint8_t *head, size_t len, size_t *offset)
{
	bool bad = false;

	/* §3.1.1: 32-bit aligned, wholly inside the first 8192 bytes. */
	if (len > BOOT_HEAD_SIZE)
		len = BOOT_HEAD_SIZE;
	for (size_t off = 0; off + MB_HDR_MIN <= len; off += 4) {
		uint32_t magic = boot_rd32(head + off), flags, sum;

		if (magic != MB_MAGIC)
			continue;
		flags = boot_rd32(head + off + 4);
		sum = boot_rd32(head + off + 8);
		if ((uint32_t)(magic + flags + sum) == 0) {
			*offset = off;
			return 0;
		}
		if (!bad)
			*offset = off;
		bad = true;
	}
	return bad ? -EBADMSG : -ENOENT;
}

/* One piece of the image as it will be in guest RAM. */
struct mb_segment {
	uint64_t file_off, filesz, paddr, memsz;
};

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int check_segment(struct guest_mem *mem, const struct boot_file *f,
			 const struct mb_segment *s, GError **err)
{
	uint64_t end = s->paddr + s->memsz;

	if (!s->memsz)
		return 0;
	if (end > PC_MMIO_HOLE_END || !guest_mem_is_ram(mem, s->paddr, s->memsz))
		return boot_fail(err, ERANGE, "%s: segment at 0x%llx-0x%llx lies outside guest RAM",
				 f->name, (unsigned long long)s->paddr, (unsigned long long)end);
	if (overlaps(s->paddr, s->memsz, BOOT_AREA_START, BOOT_AREA_END - BOOT_AREA_START) ||
	    overlaps(s->paddr, s->memsz, PC_EBDA_BASE, PC_BIOS_END - PC_EBDA_BASE))
		return boot_fail(err, EADDRINUSE,
				 "%s: segment at 0x%llx-0x%llx overlaps the boot structures at "
				 "0x%llx-0x%llx or the BIOS area at 0x%llx-0x%llx",
				 f->name, (unsigned long long)s->paddr, (unsigned long long)end,
				 BOOT_AREA_START, BOOT_AREA_END, PC_EBDA_BASE, PC_BIOS_END);
	if (s->filesz > s->memsz)
		return boot_fail(err, ENOEXEC,
				 "%s: segment at 0x%llx has more file bytes (0x%llx) than memory "
				 "(0x%llx)",
				 f->name, (unsigned long long)s->paddr,
				 (unsigned long long)s->filesz, (unsigned long long)s->memsz);
	if (s->file_off > f->size || s->filesz > f->size - s->file_off)
		return boot_fail(err, ENODATA,
				 "%s: file is truncated: segment data at offset 0x%llx+0x%llx, the "
				 "file has %llu bytes",
				 f->name, (unsigned long long)s->file_off,
				 (unsigned long long)s->filesz, (unsigned long long)f->size);
	return 0;
}

/* §3.1.3 address fields ("a.out kludge"): one segment straight from the file. */
static int parse_aout(const struct boot_file *f, const uint8_t *head, size_t headlen, size_t off,
		      struct mb_segment *seg, uint32_t *entry, GError **err)
{
	const uint8_t *h = head + off;
	uint32_t header_addr, load_addr, load_end, bss_end;
	uint64_t text_off;

	if (off + MB_HDR_ADDR_END > headlen)
		return boot_fail(err, ENODATA,
				 "%s: multiboot header at 0x%zx is cut short: its address fields "
				 "end past the first %zu bytes",
				 f->name, off, headlen);
	header_addr = boot_rd32(h + 12);
	load_addr = boot_rd32(h + 16);
	load_end = boot_rd32(h + 20);
	bss_end = boot_rd32(h + 24);
	*entry = boot_rd32(h + 28);

	if (load_addr > header_addr || header_addr - load_addr > off)
		return boot_fail(err, ENOEXEC,
				 "%s: multiboot load_addr 0x%x and header_addr 0x%x put the image "
				 "start before the file's start",
				 f->name, load_addr, header_addr);
	text_off = off - (header_addr - load_addr);
	if (!load_end)
		load_end = (uint32_t)MIN((uint64_t)UINT32_MAX, load_addr + (f->size - text_off));
	if (load_end < load_addr || (bss_end && bss_end < load_end))
		return boot_fail(err, ENOEXEC,
				 "%s: multiboot addresses out of order: load 0x%x, load_end 0x%x, "
				 "bss_end 0x%x",
				 f->name, load_addr, load_end, bss_end);
	*seg = (struct mb_segment){
		.file_off = text_off,
		.filesz = load_end - load_addr,
		.paddr = load_addr,
		.memsz = (bss_end ? bss_end : load_end) - load_addr,
	};
	return 0;
}

static int parse_elf(const struct boot_file *f, struct mb_segment **segs, unsigned *nsegs,
		     uint32_t *entry, GError **err)
{
	Elf32_Ehdr eh;
	Elf32_Phdr *ph = NULL;
	unsigned n = 0;
	int ret;

	if (boot_file_read(f, 0, &eh, sizeof(eh)) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS32 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_type != ET_EXEC || eh.e_machine != EM_386)
		return boot_fail(err, ENOEXEC,
				 "%s: multiboot header has no address fields (flag 16) and the "
				 "file is not an ELF32 little-endian i386 executable",
				 f->name);
	if (eh.e_phentsize != sizeof(Elf32_Phdr) || !eh.e_phnum || eh.e_phnum > MB_MAX_PHDRS)
		return boot_fail(err, ENOEXEC,
				 "%s: ELF has %u program headers of %u bytes: cove takes 1 to %u "
				 "of %zu",
				 f->name, eh.e_phnum, eh.e_phentsize, MB_MAX_PHDRS,
				 sizeof(Elf32_Phdr));
	ph = g_new(Elf32_Phdr, eh.e_phnum);
	ret = boot_file_read(f, eh.e_phoff, ph, (uint64_t)eh.e_phnum * sizeof(*ph));
	if (ret) {
		ret = boot_fail(err, ENODATA, "%s: file is truncated: program headers at 0x%x",
				f->name, eh.e_phoff);
		goto out;
	}
	*segs = g_new0(struct mb_segment, eh.e_phnum);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		(*segs)[n++] = (struct mb_segment){
			.file_off = ph[i].p_offset,
			.filesz = ph[i].p_filesz,
			.paddr = ph[i].p_paddr,
			.memsz = ph[i].p_memsz,
		};
	}
	if (!n) {
		ret = boot_fail(err, ENOEXEC, "%s: ELF has no loadable segment", f->name);
		goto out;
	}
	*nsegs = n;
	*entry = eh.e_entry;
out:
	g_free(ph);
	return ret;
}

/* KiB of RAM from gpa up to the first hole (or 4 GiB), as mem_lower/mem_upper want. */
static uint32_t ram_kib_from(const struct guest_mem *mem, uint64_t gpa, uint64_t cap)
{
	uint64_t end = boot_ram_end_from(mem, gpa);

	if (end > cap)
		end = cap;
	return end > gpa ? (uint32_t)((end - gpa) >> 10) : 0;
}

struct mb_info_args {
	uint64_t mods_start, mods_size;
	const char *initrd_name;
	size_t cmdlen;
};

/* §3.3 boot information: the same fields QEMU's loader gives, in the BOOT_INFO_GPA page. */
static int write_info(struct guest_mem *mem, const char *kernel_name, const char *cmdline,
		      const struct mb_info_args *a)
{
	uint8_t *info = g_malloc0(BOOT_INFO_SIZE);
	struct e820_entry map[MB_MMAP_MAX];
	GString *strings = g_string_new(NULL);
	uint32_t flags =
		MBI_MEM | MBI_BOOT_DEVICE | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME;
	int ret, n;

	n = e820_build(mem, map, MB_MMAP_MAX);
	if (n < 0) {
		ret = n;
		goto out;
	}
	/* QEMU passes "<kernel path> <cmdline>", as GRUB does. */
	g_string_append_printf(strings, "%s %s", kernel_name, cmdline);
	g_string_append_c(strings, '\0');
	if (a->mods_size)
		g_string_append_len(strings, a->initrd_name, (gssize)strlen(a->initrd_name) + 1);

	boot_wr32(info + MBI_OFF_FLAGS, flags);
	boot_wr32(info + MBI_OFF_MEM_LOW, ram_kib_from(mem, 0, PC_LOW_RAM_END));
	boot_wr32(info + MBI_OFF_MEM_UP, ram_kib_from(mem, PC_HIGH_RAM_BASE, PC_MMIO_HOLE_END));
	boot_wr32(info + MBI_OFF_BOOTDEV, 0x8000ffff); /* first BIOS disk, no partition */
	boot_wr32(info + MBI_OFF_CMDLINE, (uint32_t)BOOT_CMDLINE_GPA);
	boot_wr32(info + MBI_OFF_MODS_CNT, a->mods_size ? 1 : 0);
	boot_wr32(info + MBI_OFF_MODS, (uint32_t)(BOOT_INFO_GPA + MB_MODS_OFF));
	boot_wr32(info + MBI_OFF_MMAP_LEN, (uint32_t)n * 24);
	boot_wr32(info + MBI_OFF_MMAP, (uint32_t)(BOOT_INFO_GPA + MB_MMAP_OFF));
	boot_wr32(info + MBI_OFF_NAME, (uint32_t)(BOOT_INFO_GPA + MB_NAME_OFF));
	memcpy(info + MB_NAME_OFF, "cove", 5);
	if (a->mods_size) {
		uint8_t *m = info + MB_MODS_OFF;

		boot_wr32(m, (uint32_t)a->mods_start);
		boot_wr32(m + 4, (uint32_t)(a->mods_start + a->mods_size));
		boot_wr32(m + 8, (uint32_t)(BOOT_CMDLINE_GPA + a->cmdlen + 1));
	}
	for (int i = 0; i < n; i++) {
		uint8_t *e = info + MB_MMAP_OFF + 24 * i;

		boot_wr32(e, 20); /* size of the entry, not counting this field */
		boot_wr64(e + 4, map[i].addr);
		boot_wr64(e + 12, map[i].size);
		boot_wr32(e + 20, map[i].type);
	}

	ret = guest_mem_write(mem, BOOT_INFO_GPA, info, BOOT_INFO_SIZE);
	if (!ret)
		ret = guest_mem_write(mem, BOOT_CMDLINE_GPA, strings->str, strings->len);
out:
	g_string_free(strings, TRUE);
	g_free(info);
	return ret;
}

static void set_cpu_state(struct boot_cpu_state *bsp, uint32_t entry)
{
	struct kvm_sregs *s = &bsp->sregs;

	/* §3.2: protected mode, paging off, flat CS/DS/ES/FS/GS/SS, IF and VM clear. */
	boot_init_segments(s, false);
	s->cr0 = 0x1 | 0x10; /* PE | ET */
	bsp->regs.rflags = 0x2;
	bsp->regs.rip = entry;
	bsp->regs.rax = MB_BOOT_MAGIC;
	bsp->regs.rbx = BOOT_INFO_GPA;
	bsp->regs.rsp = BOOT_STACK_TOP;
}

int multiboot_load(struct guest_mem *mem, const struct boot_file *kernel, const uint8_t *head,
		   size_t headlen, size_t hdr_off, const struct boot_request *req,
		   struct boot_cpu_state *bsp, GError **err)
{
	uint32_t flags = boot_rd32(head + hdr_off + 4), entry = 0;
	const char *cmdline = req->cmdline ? req->cmdline : "";
	struct mb_segment *segs = NULL, one;
	struct boot_file initrd = { .fd = -1 };
	struct mb_info_args info = { 0 };
	uint64_t image_end = 0;
	unsigned nsegs = 1;
	int ret;

	/* We page-align modules and give memory info; video modes are ignored, as QEMU does. */
	if (flags & MB_REQUIRED_MASK & ~(MB_FLAG_ALIGN | MB_FLAG_MEMINFO | MB_FLAG_VIDEO))
		return boot_fail(err, ENOTSUP,
				 "%s: multiboot header requires features cove does not provide "
				 "(flags 0x%08x)",
				 kernel->name, flags);
	info.cmdlen = strlen(kernel->name) + 1 + strlen(cmdline);
	if (info.cmdlen + 1 + (req->initrd_path ? strlen(req->initrd_path) + 1 : 0) >
	    BOOT_CMDLINE_MAX)
		return boot_fail(err, E2BIG,
				 "%s: the command line and file names take more than the %llu "
				 "bytes cove reserves for them",
				 kernel->name, BOOT_CMDLINE_MAX);
	if (!guest_mem_is_ram(mem, BOOT_AREA_START, BOOT_AREA_END - BOOT_AREA_START))
		return boot_fail(err, ENOSPC,
				 "%s: guest RAM does not cover the boot area 0x%llx-0x%llx",
				 kernel->name, BOOT_AREA_START, BOOT_AREA_END);

	if (flags & MB_FLAG_ADDRESS) {
		ret = parse_aout(kernel, head, headlen, hdr_off, &one, &entry, err);
		segs = g_memdup2(&one, sizeof(one));
	} else {
		ret = parse_elf(kernel, &segs, &nsegs, &entry, err);
	}
	if (ret)
		goto out;
	for (unsigned i = 0; i < nsegs && !ret; i++) {
		ret = check_segment(mem, kernel, &segs[i], err);
		if (segs[i].memsz && segs[i].paddr + segs[i].memsz > image_end)
			image_end = segs[i].paddr + segs[i].memsz;
	}
	if (ret)
		goto out;

	if (req->initrd_path) {
		ret = boot_file_open(&initrd, req->initrd_path, "initrd", err);
		if (ret)
			goto out;
		/* Module 0, page aligned after the image (as QEMU places modules). */
		info.initrd_name = req->initrd_path;
		info.mods_size = initrd.size;
		info.mods_start = boot_align_up(MAX(image_end, PC_HIGH_RAM_BASE), PAGE_4K);
		if (info.mods_size && (info.mods_start + info.mods_size > PC_MMIO_HOLE_END ||
				       !guest_mem_is_ram(mem, info.mods_start, info.mods_size))) {
			ret = boot_fail(err, ENOSPC,
					"%s: guest RAM too small: the image and the initrd need "
					"%llu MiB",
					kernel->name,
					(unsigned long long)((info.mods_start + info.mods_size +
							      (1 << 20) - 1) >>
							     20));
			goto out;
		}
	}

	for (unsigned i = 0; i < nsegs && !ret; i++) {
		const struct mb_segment *s = &segs[i];

		ret = boot_file_to_guest(mem, kernel, s->file_off, s->paddr, s->filesz);
		if (!ret)
			ret = boot_zero_guest(mem, s->paddr + s->filesz, s->memsz - s->filesz);
	}
	if (!ret && info.mods_size)
		ret = boot_file_to_guest(mem, &initrd, 0, info.mods_start, info.mods_size);
	if (!ret)
		ret = write_info(mem, kernel->name, cmdline, &info);
	if (!ret)
		ret = boot_write_gdt(mem);
	if (ret) {
		g_set_error(err, BOOT_ERROR, -ret, "%s: cannot load the multiboot image: %s",
			    kernel->name, g_strerror(-ret));
		goto out;
	}
	set_cpu_state(bsp, entry);
out:
	boot_file_close(&initrd);
	g_free(segs);
	return ret;
}
