/* SPDX-License-Identifier: MIT */
#include <elf.h>
#include <errno.h>

#include "boot/boot.h"
#include "boot/e820.h"
#include "boot_test.h"

#define MB_MAGIC 0x1badb002u
#define SEG0_OFF 0x3000 /* file offsets of the two segments' data */
#define SEG1_OFF 0x4000
#define FILE_LEN 0x5000

struct fake_seg {
	uint32_t paddr, filesz, memsz;
};

struct fake_mb {
	size_t hdr_off;
	uint32_t flags;
	bool bad_checksum;
	struct fake_seg seg[2];
};

static struct fake_mb mb_default(void)
{
	return (struct fake_mb){
		.hdr_off = 0x100,
		.flags = 0x3, /* page-align modules, memory info */
		.seg = { { 0x100000, 0x1000, 0x3000 }, { 0x200000, 0x200, 0x200 } },
	};
}

static uint8_t seg_byte(unsigned seg, size_t i)
{
	return (uint8_t)(i * 13 + 1 + seg * 101);
}

static void put_mb_header(uint8_t *p, uint32_t flags, bool bad)
{
	uint32_t h[3] = { MB_MAGIC, flags, 0u - MB_MAGIC - flags + (bad ? 1 : 0) };

	memcpy(p, h, sizeof(h));
}

/* An ELF32 i386 executable with two PT_LOAD segments and a multiboot header. */
static char *make_elf(const struct fake_mb *f)
{
	uint8_t *img = g_malloc0(FILE_LEN);
	Elf32_Ehdr *eh = (Elf32_Ehdr *)img;
	Elf32_Phdr *ph = (Elf32_Phdr *)(img + sizeof(*eh));
	char *path;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_version = EV_CURRENT;
	eh->e_entry = f->seg[0].paddr + 0x10;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	for (unsigned s = 0; s < 2; s++) {
		ph[s].p_type = PT_LOAD;
		ph[s].p_offset = s ? SEG1_OFF : SEG0_OFF;
		ph[s].p_vaddr = ph[s].p_paddr = f->seg[s].paddr;
		ph[s].p_filesz = f->seg[s].filesz;
		ph[s].p_memsz = f->seg[s].memsz;
		for (size_t i = 0; i < f->seg[s].filesz && ph[s].p_offset + i < FILE_LEN; i++)
			img[ph[s].p_offset + i] = seg_byte(s, i);
	}
	if (f->hdr_off + 12 <= FILE_LEN)
		put_mb_header(img + f->hdr_off, f->flags, f->bad_checksum);
	path = test_tmpfile(img, FILE_LEN);
	g_free(img);
	return path;
}

static int load(struct guest_mem *m, const char *kernel, const char *initrd, const char *cmdline,
		struct boot_cpu_state *cpu, GError **err)
{
	struct boot_request req = { .kernel_path = kernel,
				    .initrd_path = initrd,
				    .cmdline = cmdline };
	enum boot_kind kind = BOOT_BZIMAGE;
	int ret = boot_load(m, &req, &kind, cpu, err);

	if (!ret)
		ck_assert_int_eq(kind, BOOT_MULTIBOOT);
	return ret;
}

static void fill(struct guest_mem *m, uint64_t gpa, uint64_t len, uint8_t v)
{
	uint8_t *buf = g_malloc(len);

	memset(buf, v, len);
	ck_assert_int_eq(guest_mem_write(m, gpa, buf, len), 0);
	g_free(buf);
}

static void assert_segments_loaded(struct guest_mem *m, const struct fake_mb *f)
{
	for (unsigned s = 0; s < 2; s++) {
		uint8_t *buf = g_malloc(f->seg[s].memsz);

		ck_assert_int_eq(guest_mem_read(m, f->seg[s].paddr, buf, f->seg[s].memsz), 0);
		for (size_t i = 0; i < f->seg[s].memsz; i++)
			ck_assert_uint_eq(buf[i], i < f->seg[s].filesz ? seg_byte(s, i) : 0);
		g_free(buf);
	}
}

static char *read_string(struct guest_mem *m, uint64_t gpa)
{
	GString *s = g_string_new(NULL);
	char c;

	for (;;) {
		ck_assert_int_eq(guest_mem_read(m, gpa++, &c, 1), 0);
		if (!c)
			break;
		g_string_append_c(s, c);
		ck_assert_uint_lt(s->len, 4096);
	}
	return g_string_free(s, FALSE);
}

START_TEST(test_multiboot_elf_segments_land_at_paddr_with_bss_zeroed)
{
	struct fake_mb f = mb_default();
	char *kernel = make_elf(&f);
	struct guest_mem *m = test_guest(64 * MiB);
	struct boot_cpu_state cpu;
	GError *err = NULL;

	/* Dirty RAM first, so a missing zero fill would show. */
	fill(m, 0x100000, 0x3000, 0xaa);
	ck_assert_msg(load(m, kernel, NULL, NULL, &cpu, &err) == 0, "%s", err ? err->message : "?");
	assert_segments_loaded(m, &f);
	ck_assert_uint_eq(cpu.regs.rip, 0x100010);
	test_rmfile(kernel);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_multiboot_header_found_at_any_aligned_offset_in_8k)
{
	static const size_t offsets[] = { 0x100, 0x1000, 8192 - 12 };

	for (unsigned i = 0; i < G_N_ELEMENTS(offsets); i++) {
		struct fake_mb f = mb_default();
		struct guest_mem *m = test_guest(64 * MiB);
		struct boot_cpu_state cpu;
		GError *err = NULL;
		char *kernel;

		f.hdr_off = offsets[i];
		kernel = make_elf(&f);
		ck_assert_msg(load(m, kernel, NULL, NULL, &cpu, &err) == 0, "offset 0x%zx: %s",
			      offsets[i], err ? err->message : "?");
		test_rmfile(kernel);
		guest_mem_destroy(m);
	}
}
END_TEST

static void expect_failure(const struct fake_mb *f, int code, const char *words)
{
	struct guest_mem *m = test_guest(64 * MiB);
	char *kernel = make_elf(f);
	struct boot_cpu_state cpu;
	GError *err = NULL;

	ck_assert_int_eq(load(m, kernel, NULL, NULL, &cpu, &err), -code);
	ck_assert_msg(g_error_matches(err, BOOT_ERROR, code), "code %d: %s", err->code,
		      err->message);
	ck_assert_msg(strstr(err->message, kernel), "no file name in: %s", err->message);
	ck_assert_msg(strstr(err->message, words), "no '%s' in: %s", words, err->message);
	g_error_free(err);
	test_rmfile(kernel);
	guest_mem_destroy(m);
}

START_TEST(test_multiboot_header_beyond_8k_is_not_found)
{
	struct fake_mb f = mb_default();

	f.hdr_off = 8192;
	expect_failure(&f, ENOEXEC, "multiboot");
	f.hdr_off = 8192 - 8; /* starts inside the window but does not fit in it */
	expect_failure(&f, ENOEXEC, "multiboot");
	f.hdr_off = 0x102; /* not 32-bit aligned */
	expect_failure(&f, ENOEXEC, "multiboot");
}
END_TEST

START_TEST(test_multiboot_rejects_bad_checksum)
{
	struct fake_mb f = mb_default();

	f.bad_checksum = true;
	expect_failure(&f, EBADMSG, "checksum");
}
END_TEST

START_TEST(test_multiboot_rejects_unknown_required_flags)
{
	struct fake_mb f = mb_default();

	f.flags |= 1u << 5;
	expect_failure(&f, ENOTSUP, "0x00000023");
}
END_TEST

START_TEST(test_multiboot_rejects_segment_outside_ram)
{
	struct fake_mb f = mb_default();

	f.seg[1].paddr = 256 * MiB;
	expect_failure(&f, ERANGE, "outside guest RAM");
	f.seg[1].paddr = 0xfffff000; /* would wrap past 4G */
	f.seg[1].memsz = 0x2000;
	expect_failure(&f, ERANGE, "outside guest RAM");
}
END_TEST

START_TEST(test_multiboot_rejects_segment_over_boot_structures)
{
	struct fake_mb f = mb_default();

	f.seg[1].paddr = 0x8000;
	expect_failure(&f, EADDRINUSE, "boot structures");
	f.seg[1].paddr = 0xf0000; /* the MP table */
	expect_failure(&f, EADDRINUSE, "BIOS area");
}
END_TEST

START_TEST(test_multiboot_rejects_segment_data_past_end_of_file)
{
	struct fake_mb f = mb_default();

	f.seg[1].filesz = f.seg[1].memsz = 0x2000; /* 0x4000 + 0x2000 > file length */
	expect_failure(&f, ENODATA, "truncated");
}
END_TEST

START_TEST(test_multiboot_entry_state_and_info_match_the_spec)
{
	struct fake_mb f = mb_default();
	char *kernel = make_elf(&f), *s, *want;
	struct guest_mem *m = test_guest(64 * MiB);
	struct boot_cpu_state cpu;
	const struct kvm_sregs *sr = &cpu.sregs;
	struct e820_entry map[16];
	GError *err = NULL;
	uint64_t mbi;
	uint32_t flags;
	int n;

	ck_assert_msg(load(m, kernel, NULL, "console=ttyS0", &cpu, &err) == 0, "%s",
		      err ? err->message : "?");
	/* §3.2 machine state. */
	ck_assert_uint_eq(cpu.regs.rax, 0x2badb002);
	ck_assert_uint_eq(cpu.regs.rflags & (0x200 | 0x20000), 0); /* IF, VM */
	ck_assert_uint_eq(sr->cr0 & 0x80000001, 1);		   /* PE, not PG */
	ck_assert_uint_eq(sr->efer, 0);
	ck_assert_uint_eq(sr->cs.base, 0);
	ck_assert_uint_eq(sr->cs.limit, 0xffffffff);
	ck_assert_uint_eq(sr->cs.db, 1);
	ck_assert_uint_eq(sr->cs.l, 0);
	ck_assert_uint_eq(sr->cs.type & 0xa, 0xa); /* code, readable */
	ck_assert_uint_eq(test_rd64(m, sr->gdt.base + sr->cs.selector), 0x00cf9b000000ffffULL);
	ck_assert_uint_eq(test_rd64(m, sr->gdt.base + sr->ds.selector), 0x00cf93000000ffffULL);
	ck_assert_uint_eq(sr->ss.selector, sr->ds.selector);
	ck_assert_uint_eq(sr->ds.db, 1);

	/* §3.3 boot information, as QEMU gives it. */
	mbi = cpu.regs.rbx;
	flags = test_rd32(m, mbi);
	ck_assert_uint_eq(flags & 0x245, 0x245); /* mem, cmdline, mmap, loader name */
	ck_assert_uint_eq(test_rd32(m, mbi + 4), 640);
	ck_assert_uint_eq(test_rd32(m, mbi + 8), 63 * 1024);
	s = read_string(m, test_rd32(m, mbi + 16));
	want = g_strconcat(kernel, " console=ttyS0", NULL);
	ck_assert_str_eq(s, want);
	g_free(s);
	g_free(want);
	s = read_string(m, test_rd32(m, mbi + 64));
	ck_assert_str_eq(s, "cove");
	g_free(s);
	ck_assert_uint_eq(test_rd32(m, mbi + 20), 0); /* no modules */

	n = e820_build(m, map, 16);
	ck_assert_uint_eq(test_rd32(m, mbi + 44), (uint32_t)n * 24);
	for (int i = 0; i < n; i++) {
		uint64_t e = test_rd32(m, mbi + 48) + 24ULL * i;

		ck_assert_uint_eq(test_rd32(m, e), 20);
		ck_assert_uint_eq(test_rd64(m, e + 4), map[i].addr);
		ck_assert_uint_eq(test_rd64(m, e + 12), map[i].size);
		ck_assert_uint_eq(test_rd32(m, e + 20), map[i].type);
	}
	/* The info does not overlap the image. */
	ck_assert_uint_lt(mbi + 0x1000, f.seg[0].paddr);
	test_rmfile(kernel);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_multiboot_initrd_becomes_a_page_aligned_module)
{
	struct fake_mb f = mb_default();
	char *kernel = make_elf(&f), *initrd, *s;
	struct guest_mem *m = test_guest(64 * MiB);
	uint8_t data[5000], buf[5000];
	struct boot_cpu_state cpu;
	GError *err = NULL;
	uint64_t mod;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 3);
	initrd = test_tmpfile(data, sizeof(data));
	ck_assert_msg(load(m, kernel, initrd, NULL, &cpu, &err) == 0, "%s",
		      err ? err->message : "?");
	ck_assert_uint_eq(test_rd32(m, cpu.regs.rbx + 20), 1);
	mod = test_rd32(m, cpu.regs.rbx + 24);
	ck_assert_uint_eq(test_rd32(m, mod) % 4096, 0);
	ck_assert_uint_ge(test_rd32(m, mod), f.seg[1].paddr + f.seg[1].memsz);
	ck_assert_uint_eq(test_rd32(m, mod + 4) - test_rd32(m, mod), sizeof(data));
	ck_assert_int_eq(guest_mem_read(m, test_rd32(m, mod), buf, sizeof(buf)), 0);
	ck_assert(!memcmp(buf, data, sizeof(data)));
	s = read_string(m, test_rd32(m, mod + 8));
	ck_assert_str_eq(s, initrd);
	g_free(s);
	test_rmfile(initrd);
	test_rmfile(kernel);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_multiboot_aout_kludge_loads_by_header_addresses)
{
	uint8_t img[0x2000];
	uint32_t *h = (uint32_t *)(img + 0x40);
	struct guest_mem *m = test_guest(64 * MiB);
	struct boot_cpu_state cpu;
	GError *err = NULL;
	uint8_t buf[0x3000];
	char *kernel;

	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 5 + 7);
	put_mb_header(img + 0x40, 0x10003, false);
	h[3] = 0x200040;	  /* header_addr */
	h[4] = 0x200000;	  /* load_addr */
	h[5] = 0x200000 + 0x1800; /* load_end_addr: the file's first 0x1800 bytes */
	h[6] = 0x200000 + 0x3000; /* bss_end_addr */
	h[7] = 0x200100;	  /* entry_addr */
	kernel = test_tmpfile(img, sizeof(img));
	fill(m, 0x200000, 0x3000, 0xcc);

	ck_assert_msg(load(m, kernel, NULL, NULL, &cpu, &err) == 0, "%s", err ? err->message : "?");
	ck_assert_uint_eq(cpu.regs.rip, 0x200100);
	ck_assert_int_eq(guest_mem_read(m, 0x200000, buf, sizeof(buf)), 0);
	ck_assert(!memcmp(buf, img, 0x1800));
	for (size_t i = 0x1800; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0);
	test_rmfile(kernel);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_multiboot_without_elf_or_address_fields_is_rejected)
{
	uint8_t img[0x1000] = { 0 };
	struct guest_mem *m = test_guest(64 * MiB);
	struct boot_cpu_state cpu;
	GError *err = NULL;
	char *kernel;

	put_mb_header(img + 0x10, 0x3, false);
	kernel = test_tmpfile(img, sizeof(img));
	ck_assert_int_eq(load(m, kernel, NULL, NULL, &cpu, &err), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err->message, "ELF32"));
	g_error_free(err);
	test_rmfile(kernel);
	guest_mem_destroy(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("multiboot");
	TCase *tc = tcase_create("multiboot");

	tcase_add_test(tc, test_multiboot_elf_segments_land_at_paddr_with_bss_zeroed);
	tcase_add_test(tc, test_multiboot_header_found_at_any_aligned_offset_in_8k);
	tcase_add_test(tc, test_multiboot_header_beyond_8k_is_not_found);
	tcase_add_test(tc, test_multiboot_rejects_bad_checksum);
	tcase_add_test(tc, test_multiboot_rejects_unknown_required_flags);
	tcase_add_test(tc, test_multiboot_rejects_segment_outside_ram);
	tcase_add_test(tc, test_multiboot_rejects_segment_over_boot_structures);
	tcase_add_test(tc, test_multiboot_rejects_segment_data_past_end_of_file);
	tcase_add_test(tc, test_multiboot_entry_state_and_info_match_the_spec);
	tcase_add_test(tc, test_multiboot_initrd_becomes_a_page_aligned_module);
	tcase_add_test(tc, test_multiboot_aout_kludge_loads_by_header_addresses);
	tcase_add_test(tc, test_multiboot_without_elf_or_address_fields_is_rejected);
	suite_add_tcase(s, tc);
	return test_run(s);
}
