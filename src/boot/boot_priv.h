/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the loaders in src/boot/ (and the boot unit tests and
 * fuzz target). Not for the rest of cove: use boot.h.
 */
#ifndef COVE_BOOT_BOOT_PRIV_H
#define COVE_BOOT_BOOT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"

/*
 * What the loaders write below 640K (README.md has the picture). All of it
 * lies in RAM that e820 reports usable, below where any kernel is loaded;
 * Linux copies the zero page and command line before it touches low memory.
 */
#define BOOT_AREA_START	 0x1000ULL
#define BOOT_GDT_GPA	 0x1000ULL
#define BOOT_TSS_GPA	 0x1800ULL
#define BOOT_STACK_TOP	 0x7000ULL /* initial RSP; the stack grows down towards 0x2000 */
#define BOOT_INFO_GPA	 0x7000ULL /* the zero page, or the multiboot info and its lists */
#define BOOT_INFO_SIZE	 0x1000ULL
#define BOOT_PML4_GPA	 0x9000ULL
#define BOOT_PDPT_GPA	 0xa000ULL
#define BOOT_PD_GPA	 0xb000ULL /* four page directories of 2M pages: 4 GiB */
#define BOOT_CMDLINE_GPA 0x10000ULL
#define BOOT_CMDLINE_MAX 0x10000ULL /* bytes, the terminating NUL included */
#define BOOT_AREA_END	 0x20000ULL

/* GDT selectors; __BOOT_CS and __BOOT_DS are fixed by boot.rst. */
#define BOOT_SEL_CODE32 0x08
#define BOOT_SEL_CODE64 0x10 /* __BOOT_CS */
#define BOOT_SEL_DATA	0x18 /* __BOOT_DS */
#define BOOT_SEL_TSS	0x20 /* 16 bytes: a 64-bit TSS descriptor */
#define BOOT_GDT_LIMIT	0x2f

/* First bytes of the file the loaders look at: the multiboot search window. */
#define BOOT_HEAD_SIZE 8192

/* A kernel or initrd: an open file, or (fd < 0) bytes in memory. */
struct boot_file {
	const char *name;
	int fd;
	const uint8_t *data;
	uint64_t size;
};

/* Reads exactly len bytes at off; -ENODATA past the end, -errno on I/O errors. */
int boot_file_read(const struct boot_file *f, uint64_t off, void *buf, uint64_t len);
/* Copies [off, off+len) of the file to guest RAM at gpa. */
int boot_file_to_guest(struct guest_mem *mem, const struct boot_file *f, uint64_t off, uint64_t gpa,
		       uint64_t len);
int boot_zero_guest(struct guest_mem *mem, uint64_t gpa, uint64_t len);
/* Opens path as a boot_file; fills *err naming what (e.g. "initrd"). */
int boot_file_open(struct boot_file *f, const char *path, const char *what, GError **err);
void boot_file_close(struct boot_file *f);

/* End of the run of contiguous RAM holding gpa, capped at 4 GiB; 0 if gpa is not RAM. */
uint64_t boot_ram_end_from(const struct guest_mem *mem, uint64_t gpa);

/* Writes the GDT and TSS at BOOT_GDT_GPA / BOOT_TSS_GPA. */
int boot_write_gdt(struct guest_mem *mem);
/* Flat segments, GDTR, TR, LDTR and apic_base; long_mode picks CS (64- or 32-bit). */
void boot_init_segments(struct kvm_sregs *s, bool long_mode);

#define boot_fail(err, code, ...) (g_set_error((err), BOOT_ERROR, (code), __VA_ARGS__), -(code))

bool bzimage_probe(const uint8_t *head, size_t len);
int bzimage_load(struct guest_mem *mem, const struct boot_file *kernel, const uint8_t *head,
		 size_t headlen, const struct boot_request *req, struct boot_cpu_state *bsp,
		 GError **err);

/* 0 and *offset when a valid header is found; -EBADMSG if only bad checksums; else -ENOENT. */
int multiboot_find_header(const uint8_t *head, size_t len, size_t *offset);
int multiboot_load(struct guest_mem *mem, const struct boot_file *kernel, const uint8_t *head,
		   size_t headlen, size_t hdr_off, const struct boot_request *req,
		   struct boot_cpu_state *bsp, GError **err);

/* boot_load() after the kernel is open; the fuzz target calls it on a buffer. */
int boot_load_file(struct guest_mem *mem, const struct boot_file *kernel,
		   const struct boot_request *req, enum boot_kind *kind, struct boot_cpu_state *bsp,
		   GError **err);

static inline uint16_t boot_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t boot_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void boot_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void boot_wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void boot_wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* a + b, saturating at UINT64_MAX so a hostile header cannot wrap a bound. */
static inline uint64_t boot_sat_add(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* v rounded up to a power-of-two a, saturating. */
static inline uint64_t boot_align_up(uint64_t v, uint64_t a)
{
	return boot_sat_add(v, a - 1) & ~(a - 1);
}

#endif
