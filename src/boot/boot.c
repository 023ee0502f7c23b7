/* SPDX-License-Identifier: MIT */
/*
 * boot_load(): open the kernel, tell a bzImage from a multiboot image, and
 * the pieces both loaders share (file access, GDT, flat segments).
 */
#include "boot/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot_priv.h"
#include "pc.h"

G_DEFINE_QUARK(cove - boot - error - quark, boot_error)

#define BOOT_BOUNCE_SIZE (1u << 20)

int boot_file_read(const struct boot_file *f, uint64_t off, void *buf, uint64_t len)
{
	uint8_t *p = buf;

	if (off > f->size || len > f->size - off)
		return -ENODATA;
	if (f->fd < 0) {
		memcpy(buf, f->data + off, len);
		return 0;
	}
	while (len) {
		ssize_t n = pread(f->fd, p, len > BOOT_BOUNCE_SIZE ? BOOT_BOUNCE_SIZE : len,
				  (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA; /* the file shrank under us */
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int boot_file_to_guest(struct guest_mem *mem, const struct boot_file *f, uint64_t off, uint64_t gpa,
		       uint64_t len)
{
	uint8_t *bounce;
	int ret = 0;

	if (!len)
		return 0;
	if (!guest_mem_is_ram(mem, gpa, len))
		return -EFAULT;
	if (f->fd < 0) {
		if (off > f->size || len > f->size - off)
			return -ENODATA;
		return guest_mem_write(mem, gpa, f->data + off, len);
	}
	bounce = g_malloc(len < BOOT_BOUNCE_SIZE ? len : BOOT_BOUNCE_SIZE);
	while (len && !ret) {
		uint64_t chunk = len < BOOT_BOUNCE_SIZE ? len : BOOT_BOUNCE_SIZE;

		ret = boot_file_read(f, off, bounce, chunk);
		if (!ret)
			ret = guest_mem_write(mem, gpa, bounce, chunk);
		off += chunk;
		gpa += chunk;
		len -= chunk;
	}
	g_free(bounce);
	return ret;
}

int boot_zero_guest(struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	static const uint8_t zeros[65536];
	int ret = 0;

	if (len && !guest_mem_is_ram(mem, gpa, len))
		return -EFAULT;
	while (len && !ret) {
		uint64_t chunk = len < sizeof(zeros) ? len : sizeof(zeros);

		ret = guest_mem_write(mem, gpa, zeros, chunk);
		gpa += chunk;
		len -= chunk;
	}
	return ret;
}

int boot_file_open(struct boot_file *f, const char *path, const char *what, GError **err)
{
	struct stat st;
	int e;

	*f = (struct boot_file){ .name = path, .fd = -1 };
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		e = errno;
		return boot_fail(err, e, "%s: cannot open %s: %s", path, what, g_strerror(e));
	}
	if (fstat(f->fd, &st) < 0) {
		e = errno;
		boot_file_close(f);
		return boot_fail(err, e, "%s: cannot stat %s: %s", path, what, g_strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		boot_file_close(f);
		return boot_fail(err, EINVAL, "%s: %s is not a regular file", path, what);
	}
	f->size = (uint64_t)st.st_size;
	return 0;
}

void boot_file_close(struct boot_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

uint64_t boot_ram_end_from(const struct guest_mem *mem, uint64_t gpa)
{
	unsigned n = guest_mem_nregions(mem);
	uint64_t end = 0;
	bool grew = true;

	/* Regions may abut; follow them while they do. */
	while (grew) {
		grew = false;
		for (unsigned i = 0; i < n; i++) {
			const struct guest_mem_region *r = guest_mem_region(mem, i);
			uint64_t at = end ? end : gpa;

			if (at >= r->gpa && at - r->gpa < r->size) {
				end = r->gpa + r->size;
				grew = true;
			}
		}
	}
	return end > PC_MMIO_HOLE_END ? PC_MMIO_HOLE_END : end;
}

/* An 8-byte segment descriptor (SDM Vol.3 §3.4.5). */
static uint64_t gdt_entry(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)(flags & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

#define SEG_TYPE_CODE_XR  0xb /* execute/read, accessed */
#define SEG_TYPE_DATA_RW  0x3 /* read/write, accessed */
#define SEG_TYPE_TSS_BUSY 0xb /* 32-bit busy TSS; 64-bit busy TSS in long mode */
#define SEG_TYPE_LDT	  0x2
#define BOOT_TSS_LIMIT	  0x67

int boot_write_gdt(struct guest_mem *mem)
{
	uint8_t gdt[BOOT_GDT_LIMIT + 1] = { 0 }, tss[BOOT_TSS_LIMIT + 1] = { 0 };
	/* access = P | DPL0 | S | type; flags = G | D/B | L. */
	uint64_t e[] = {
		0,
		gdt_entry(0, 0xfffff, 0x90 | SEG_TYPE_CODE_XR, 0xc),
		gdt_entry(0, 0xfffff, 0x90 | SEG_TYPE_CODE_XR, 0xa),
		gdt_entry(0, 0xfffff, 0x90 | SEG_TYPE_DATA_RW, 0xc),
		gdt_entry((uint32_t)BOOT_TSS_GPA, BOOT_TSS_LIMIT, 0x80 | SEG_TYPE_TSS_BUSY, 0),
		0, /* upper half of the 16-byte TSS descriptor: base 63:32 = 0 */
	};
	int ret;

	G_STATIC_ASSERT(sizeof(e) == BOOT_GDT_LIMIT + 1);
	for (unsigned i = 0; i < G_N_ELEMENTS(e); i++)
		boot_wr64(gdt + 8 * i, e[i]);
	/* I/O map base past the limit: no I/O permission bitmap. */
	boot_wr16(tss + 102, BOOT_TSS_LIMIT + 1);
	ret = guest_mem_write(mem, BOOT_GDT_GPA, gdt, sizeof(gdt));
	if (!ret)
		ret = guest_mem_write(mem, BOOT_TSS_GPA, tss, sizeof(tss));
	return ret;
}

static struct kvm_segment flat_segment(uint16_t sel, uint8_t type, bool db, bool l)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = db,
		.s = 1,
		.l = l,
		.g = 1,
	};
}

void boot_init_segments(struct kvm_sregs *s, bool long_mode)
{
	struct kvm_segment data = flat_segment(BOOT_SEL_DATA, SEG_TYPE_DATA_RW, true, false);

	/* Hidden parts match the descriptors boot_write_gdt() puts in memory. */
	if (long_mode)
		s->cs = flat_segment(BOOT_SEL_CODE64, SEG_TYPE_CODE_XR, false, true);
	else
		s->cs = flat_segment(BOOT_SEL_CODE32, SEG_TYPE_CODE_XR, true, false);
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->tr = (struct kvm_segment){
		.base = BOOT_TSS_GPA,
		.limit = BOOT_TSS_LIMIT,
		.selector = BOOT_SEL_TSS,
		.type = SEG_TYPE_TSS_BUSY,
		.present = 1,
	};
	/* The reset value (SDM Vol.3 §9.1.1): selector 0, a usable empty LDT. */
	s->ldt = (struct kvm_segment){
		.limit = 0xffff,
		.type = SEG_TYPE_LDT,
		.present = 1,
	};
	s->gdt.base = BOOT_GDT_GPA;
	s->gdt.limit = BOOT_GDT_LIMIT;
	s->idt.base = 0;
	s->idt.limit = 0;
	/* Enabled xAPIC at the architectural base, this CPU the BSP (SDM Vol.3 §10.4.4). */
	s->apic_base = PC_LAPIC_BASE | (1u << 11) | (1u << 8);
}

static int describe_unknown(const struct boot_file *f, const uint8_t *head, size_t len,
			    GError **err)
{
	uint16_t flag = len >= 0x200 ? boot_rd16(head + 0x1fe) : 0;
	uint32_t magic = len >= 0x206 ? boot_rd32(head + 0x202) : 0;

	return boot_fail(err, ENOEXEC,
			 "%s: not a bootable kernel: no bzImage setup header (boot_flag 0x%04x "
			 "at 0x1fe, want 0xaa55; signature 0x%08x at 0x202, want \"HdrS\") and "
			 "no multiboot header (magic 0x1badb002) in the first %u bytes",
			 f->name, flag, magic, BOOT_HEAD_SIZE);
}

int boot_load_file(struct guest_mem *mem, const struct boot_file *kernel,
		   const struct boot_request *req, enum boot_kind *kind, struct boot_cpu_state *bsp,
		   GError **err)
{
	size_t headlen = kernel->size < BOOT_HEAD_SIZE ? (size_t)kernel->size : BOOT_HEAD_SIZE;
	uint8_t *head;
	size_t off;
	int ret;

	memset(bsp, 0, sizeof(*bsp));
	if (!kernel->size)
		return boot_fail(err, ENOEXEC, "%s: not a bootable kernel: the file is empty",
				 kernel->name);
	head = g_malloc(headlen);
	ret = boot_file_read(kernel, 0, head, headlen);
	if (ret) {
		g_set_error(err, BOOT_ERROR, -ret, "%s: cannot read kernel: %s", kernel->name,
			    g_strerror(-ret));
		goto out;
	}

	if (bzimage_probe(head, headlen)) {
		ret = bzimage_load(mem, kernel, head, headlen, req, bsp, err);
		if (!ret)
			*kind = BOOT_BZIMAGE;
		goto out;
	}
	ret = multiboot_find_header(head, headlen, &off);
	if (ret == -EBADMSG) {
		ret = boot_fail(err, EBADMSG,
				"%s: multiboot header at offset 0x%zx has a bad checksum "
				"(magic + flags + checksum must be 0 mod 2^32)",
				kernel->name, off);
		goto out;
	}
	if (ret) {
		ret = describe_unknown(kernel, head, headlen, err);
		goto out;
	}
	ret = multiboot_load(mem, kernel, head, headlen, off, req, bsp, err);
	if (!ret)
		*kind = BOOT_MULTIBOOT;
out:
	g_free(head);
	return ret;
}

int boot_load(struct guest_mem *mem, const struct boot_request *req, enum boot_kind *kind,
	      struct boot_cpu_state *bsp, GError **err)
{
	struct boot_file kernel;
	int ret;

	if (!req->kernel_path)
		return boot_fail(err, EINVAL, "no kernel given");
	ret = boot_file_open(&kernel, req->kernel_path, "kernel", err);
	if (ret)
		return ret;
	ret = boot_load_file(mem, &kernel, req, kind, bsp, err);
	boot_file_close(&kernel);
	return ret;
}
