/* SPDX-License-Identifier: MIT */
#include <asm/bootparam.h>
#include <errno.h>

#include "boot/boot.h"
#include "boot/e820.h"
#include "boot_test.h"

#define PAYLOAD_LEN 0x10000
#define RSDP_GPA    0xe0000

/* The fields of a fabricated bzImage; bz_default() is a good 64-bit kernel. */
struct fake_bz {
	uint16_t boot_flag, version, xloadflags;
	uint8_t setup_sects, relocatable, loadflags;
	uint32_t cmdline_size, init_size, kernel_alignment, initrd_addr_max, syssize;
	uint64_t pref_address;
	size_t cut; /* bytes to drop from the end of the file */
};

static struct fake_bz bz_default(void)
{
	return (struct fake_bz){
		.boot_flag = 0xaa55,
		.version = 0x020f,
		.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G,
		.setup_sects = 4,
		.relocatable = 1,
		.loadflags = LOADED_HIGH,
		.cmdline_size = 2047,
		.init_size = 4 * MiB,
		.kernel_alignment = 2 * MiB,
		.initrd_addr_max = 0x7fffffff,
		.syssize = PAYLOAD_LEN / 16,
		.pref_address = 16 * MiB,
	};
}

static uint8_t payload_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* Writes the image to a temp file; returns its path. */
static char *make_bzimage(const struct fake_bz *f)
{
	size_t setup = ((size_t)f->setup_sects + 1) * 512, len = setup + PAYLOAD_LEN;
	uint8_t *img = g_malloc0(len);
	struct setup_header *h = (struct setup_header *)(img + 0x1f1);
	char *path;

	h->setup_sects = f->setup_sects;
	h->syssize = f->syssize;
	h->boot_flag = f->boot_flag;
	h->jump = 0x6aeb; /* jmp to 0x26c: the header is 0x7b bytes */
	h->header = 0x53726448;
	h->version = f->version;
	h->loadflags = f->loadflags;
	h->initrd_addr_max = f->initrd_addr_max;
	h->kernel_alignment = f->kernel_alignment;
	h->relocatable_kernel = f->relocatable;
	h->xloadflags = f->xloadflags;
	h->cmdline_size = f->cmdline_size;
	h->pref_address = f->pref_address;
	h->init_size = f->init_size;
	h->setup_data = 0x12345678; /* a loader must not pass this on */
	for (size_t i = 0; i < PAYLOAD_LEN; i++)
		img[setup + i] = payload_byte(i);
	path = test_tmpfile(img, len - f->cut);
	g_free(img);
	return path;
}

static int load(struct guest_mem *m, const char *kernel, const char *initrd, const char *cmdline,
		struct boot_cpu_state *cpu, GError **err)
{
	struct boot_request req = {
		.kernel_path = kernel,
		.initrd_path = initrd,
		.cmdline = cmdline,
		.rsdp_gpa = RSDP_GPA,
	};
	enum boot_kind kind = BOOT_MULTIBOOT;
	int ret = boot_load(m, &req, &kind, cpu, err);

	if (!ret)
		ck_assert_int_eq(kind, BOOT_BZIMAGE);
	return ret;
}

/* Walks the guest's 4-level page tables for a virtual address (SDM Vol.3 §4.5). */
static uint64_t translate(struct guest_mem *m, uint64_t cr3, uint64_t va)
{
	uint64_t e = test_rd64(m, (cr3 & ~0xfffULL) + ((va >> 39) & 511) * 8);

	ck_assert(e & 1);
	e = test_rd64(m, (e & 0xffffffffff000ULL) + ((va >> 30) & 511) * 8);
	ck_assert(e & 1);
	e = test_rd64(m, (e & 0xffffffffff000ULL) + ((va >> 21) & 511) * 8);
	ck_assert(e & 1);
	ck_assert(e & 0x80); /* 2M page */
	return (e & 0xfffffffe00000ULL) | (va & 0x1fffff);
}

/* The descriptor behind a selector must say what the segment register's hidden part says. */
static void assert_descriptor_matches(struct guest_mem *m, const struct kvm_sregs *s,
				      const struct kvm_segment *seg)
{
	uint64_t d = test_rd64(m, s->gdt.base + (seg->selector & ~7u));
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	uint32_t base = (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000));

	ck_assert_uint_le(seg->selector | 7u, s->gdt.limit);
	ck_assert_uint_eq(base, seg->base);
	ck_assert_uint_eq(seg->g ? ((uint64_t)limit << 12) | 0xfff : limit, seg->limit);
	ck_assert_uint_eq((d >> 40) & 0xf, seg->type);
	ck_assert_uint_eq((d >> 44) & 1, seg->s);
	ck_assert_uint_eq((d >> 45) & 3, seg->dpl);
	ck_assert_uint_eq((d >> 47) & 1, seg->present);
	ck_assert_uint_eq((d >> 53) & 1, seg->l);
	ck_assert_uint_eq((d >> 54) & 1, seg->db);
	ck_assert_uint_eq((d >> 55) & 1, seg->g);
}

START_TEST(test_bzimage_loads_kernel_zero_page_and_initrd)
{
	struct fake_bz f = bz_default();
	char *kernel = make_bzimage(&f), *initrd_path;
	struct guest_mem *m = test_guest(128 * MiB);
	uint8_t initrd[100000], *buf = g_malloc(sizeof(initrd));
	struct boot_params bp;
	struct e820_entry map[16];
	struct boot_cpu_state cpu;
	GError *err = NULL;
	char cmdline[64];
	int n;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
	initrd_path = test_tmpfile(initrd, sizeof(initrd));
	ck_assert_msg(load(m, kernel, initrd_path, "console=ttyS0 quiet", &cpu, &err) == 0, "%s",
		      err ? err->message : "?");

	/* Relocatable, and pref_address fits: loaded there. */
	ck_assert_int_eq(guest_mem_read(m, 16 * MiB, buf, PAYLOAD_LEN), 0);
	for (size_t i = 0; i < PAYLOAD_LEN; i++)
		ck_assert_uint_eq(buf[i], payload_byte(i));

	ck_assert_int_eq(guest_mem_read(m, cpu.regs.rsi, &bp, sizeof(bp)), 0);
	ck_assert_uint_lt(cpu.regs.rsi, PC_EBDA_BASE);
	ck_assert_uint_eq(bp.hdr.boot_flag, 0xaa55);
	ck_assert_uint_eq(bp.hdr.version, 0x020f);
	ck_assert_uint_eq(bp.hdr.type_of_loader, 0xff);
	ck_assert(bp.hdr.loadflags & CAN_USE_HEAP);
	ck_assert(bp.hdr.loadflags & LOADED_HIGH);
	ck_assert_uint_ne(bp.hdr.heap_end_ptr, 0);
	ck_assert_uint_eq(bp.hdr.code32_start, 16 * MiB);
	ck_assert_uint_eq(bp.hdr.setup_data, 0);
	ck_assert_uint_eq(bp.acpi_rsdp_addr, RSDP_GPA);
	ck_assert_uint_eq(bp.sentinel, 0);

	ck_assert_uint_lt(bp.hdr.cmd_line_ptr, PC_EBDA_BASE);
	ck_assert_int_eq(guest_mem_read(m, bp.hdr.cmd_line_ptr, cmdline, 20), 0);
	ck_assert_str_eq(cmdline, "console=ttyS0 quiet");

	/* The initrd: page aligned, as high as RAM allows, after the kernel's init area. */
	ck_assert_uint_eq(bp.hdr.ramdisk_size, sizeof(initrd));
	ck_assert_uint_eq(bp.ext_ramdisk_image, 0);
	ck_assert_uint_eq(bp.hdr.ramdisk_image % 4096, 0);
	ck_assert_uint_le(bp.hdr.ramdisk_image + sizeof(initrd), 128 * MiB);
	ck_assert_uint_gt(bp.hdr.ramdisk_image + sizeof(initrd), 128 * MiB - 4096);
	ck_assert_uint_ge(bp.hdr.ramdisk_image, 16 * MiB + f.init_size);
	ck_assert_int_eq(guest_mem_read(m, bp.hdr.ramdisk_image, buf, sizeof(initrd)), 0);
	ck_assert(!memcmp(buf, initrd, sizeof(initrd)));

	n = e820_build(m, map, 16);
	ck_assert_int_eq(bp.e820_entries, n);
	for (int i = 0; i < n; i++) {
		ck_assert_uint_eq(bp.e820_table[i].addr, map[i].addr);
		ck_assert_uint_eq(bp.e820_table[i].size, map[i].size);
		ck_assert_uint_eq(bp.e820_table[i].type, map[i].type);
	}

	test_rmfile(initrd_path);
	test_rmfile(kernel);
	g_free(buf);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_bzimage_enters_64bit_mode_at_entry_plus_0x200)
{
	struct fake_bz f = bz_default();
	char *kernel = make_bzimage(&f);
	struct guest_mem *m = test_guest(64 * MiB);
	struct boot_cpu_state cpu;
	const struct kvm_sregs *s = &cpu.sregs;
	const struct kvm_segment *data[] = { &s->ds, &s->es, &s->fs, &s->gs, &s->ss };
	GError *err = NULL;

	ck_assert_msg(load(m, kernel, NULL, NULL, &cpu, &err) == 0, "%s", err ? err->message : "?");
	ck_assert_uint_eq(cpu.regs.rip, 16 * MiB + 0x200);
	ck_assert_uint_eq(cpu.regs.rflags & 0x200, 0); /* IF */
	ck_assert_uint_eq(cpu.regs.rflags & 0x2, 0x2);

	ck_assert(s->cr0 & 1);			   /* PE */
	ck_assert(s->cr0 & 0x80000000);		   /* PG */
	ck_assert(s->cr0 & 0x10);		   /* ET */
	ck_assert(s->cr4 & 0x20);		   /* PAE */
	ck_assert_uint_eq(s->efer & 0x500, 0x500); /* LME | LMA */
	ck_assert_uint_eq(s->cs.selector, 0x10);
	ck_assert_uint_eq(s->cs.l, 1);
	ck_assert_uint_eq(s->cs.db, 0);
	ck_assert_uint_eq(s->cs.type, 0xb);
	assert_descriptor_matches(m, s, &s->cs);
	for (unsigned i = 0; i < G_N_ELEMENTS(data); i++) {
		ck_assert_uint_eq(data[i]->selector, 0x18);
		ck_assert_uint_eq(data[i]->base, 0);
		ck_assert_uint_eq(data[i]->limit, 0xffffffff);
		ck_assert_uint_eq(data[i]->type & 0xa, 0x2); /* data, writable */
		assert_descriptor_matches(m, s, data[i]);
	}
	/* TR: a busy TSS whose descriptor is in the GDT too. */
	ck_assert_uint_eq(s->tr.type, 0xb);
	ck_assert_uint_eq(s->tr.s, 0);
	assert_descriptor_matches(m, s, &s->tr);
	ck_assert_uint_eq(s->apic_base & 0xfffff000, PC_LAPIC_BASE);
	ck_assert(s->apic_base & (1u << 11));

	/* Identity map over the first 4 GiB. */
	ck_assert_uint_eq(translate(m, s->cr3, 0), 0);
	ck_assert_uint_eq(translate(m, s->cr3, cpu.regs.rip), cpu.regs.rip);
	ck_assert_uint_eq(translate(m, s->cr3, cpu.regs.rsi), cpu.regs.rsi);
	ck_assert_uint_eq(translate(m, s->cr3, 0xfee00000), 0xfee00000);
	ck_assert_uint_eq(translate(m, s->cr3, 0xffffffff), 0xffffffff);

	test_rmfile(kernel);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_bzimage_without_pref_address_loads_at_1m)
{
	struct fake_bz f = bz_default();
	struct guest_mem *m = test_guest(32 * MiB);
	struct boot_cpu_state cpu;
	GError *err = NULL;
	char *kernel;

	f.pref_address = 0;
	kernel = make_bzimage(&f);
	ck_assert_msg(load(m, kernel, NULL, NULL, &cpu, &err) == 0, "%s", err ? err->message : "?");
	ck_assert_uint_eq(cpu.regs.rip, PC_HIGH_RAM_BASE + 0x200);
	ck_assert_uint_eq(test_rd32(m, PC_HIGH_RAM_BASE) & 0xff, payload_byte(0));
	test_rmfile(kernel);
	guest_mem_destroy(m);
}
END_TEST

static void expect_failure(const struct fake_bz *f, uint64_t ram, const char *cmdline, int code,
			   const char *words)
{
	struct guest_mem *m = test_guest(ram);
	char *kernel = make_bzimage(f);
	struct boot_cpu_state cpu;
	GError *err = NULL;

	ck_assert_int_eq(load(m, kernel, NULL, cmdline, &cpu, &err), -code);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(g_error_matches(err, BOOT_ERROR, code), "code %d: %s", err->code,
		      err->message);
	ck_assert_msg(strstr(err->message, kernel), "no file name in: %s", err->message);
	ck_assert_msg(strstr(err->message, words), "no '%s' in: %s", words, err->message);
	ck_assert_ptr_null(strchr(err->message, '\n'));
	g_error_free(err);
	test_rmfile(kernel);
	guest_mem_destroy(m);
}

START_TEST(test_bzimage_rejects_wrong_magic)
{
	struct fake_bz f = bz_default();

	f.boot_flag = 0x1234;
	expect_failure(&f, 64 * MiB, NULL, ENOEXEC, "multiboot");
	expect_failure(&f, 64 * MiB, NULL, ENOEXEC, "0x1234");
}
END_TEST

START_TEST(test_bzimage_rejects_protocol_2_09)
{
	struct fake_bz f = bz_default();

	f.version = 0x0209;
	expect_failure(&f, 64 * MiB, NULL, ENOTSUP, "2.09");
}
END_TEST

START_TEST(test_bzimage_rejects_kernel_without_64bit_entry)
{
	struct fake_bz f = bz_default();

	f.xloadflags = 0;
	expect_failure(&f, 64 * MiB, NULL, ENOTSUP, "XLF_KERNEL_64");
}
END_TEST

START_TEST(test_bzimage_rejects_truncated_file)
{
	struct fake_bz f = bz_default();

	f.cut = 16; /* syssize now claims more than the file holds */
	expect_failure(&f, 64 * MiB, NULL, ENODATA, "truncated");
}
END_TEST

START_TEST(test_bzimage_rejects_file_cut_inside_the_header)
{
	struct fake_bz f = bz_default();

	f.cut = 5 * 512 + PAYLOAD_LEN - 0x240;
	expect_failure(&f, 64 * MiB, NULL, ENODATA, "truncated");
}
END_TEST

START_TEST(test_bzimage_rejects_cmdline_longer_than_cmdline_size)
{
	struct fake_bz f = bz_default();

	f.cmdline_size = 16;
	expect_failure(&f, 64 * MiB, "console=ttyS0 abc", E2BIG, "16");
}
END_TEST

START_TEST(test_bzimage_accepts_cmdline_of_exactly_cmdline_size)
{
	struct fake_bz f = bz_default();
	struct guest_mem *m = test_guest(64 * MiB);
	struct boot_cpu_state cpu;
	GError *err = NULL;
	char *kernel;

	f.cmdline_size = 16;
	kernel = make_bzimage(&f);
	ck_assert_msg(load(m, kernel, NULL, "console=ttyS0 ab", &cpu, &err) == 0, "%s",
		      err ? err->message : "?");
	test_rmfile(kernel);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_bzimage_rejects_too_little_ram)
{
	struct fake_bz f = bz_default();

	/* pref_address 16M + init_size 4M: a 16M guest is too small; the message says 20 MiB. */
	expect_failure(&f, 16 * MiB, NULL, ENOSPC, "20 MiB");
}
END_TEST

START_TEST(test_bzimage_rejects_initrd_that_does_not_fit)
{
	struct fake_bz f = bz_default();
	struct guest_mem *m = test_guest(22 * MiB);
	char *kernel = make_bzimage(&f), *initrd;
	uint8_t *big = g_malloc0(3 * MiB);
	struct boot_cpu_state cpu;
	GError *err = NULL;

	initrd = test_tmpfile(big, 3 * MiB);
	ck_assert_int_eq(load(m, kernel, initrd, NULL, &cpu, &err), -ENOSPC);
	ck_assert_msg(strstr(err->message, "23 MiB"), "%s", err->message);
	g_error_free(err);
	test_rmfile(initrd);
	test_rmfile(kernel);
	g_free(big);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_bzimage_rejects_missing_file)
{
	struct guest_mem *m = test_guest(64 * MiB);
	struct boot_cpu_state cpu;
	GError *err = NULL;

	ck_assert_int_eq(load(m, "/nonexistent/vmlinuz", NULL, NULL, &cpu, &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err->message, "/nonexistent/vmlinuz"));
	g_clear_error(&err);

	/* A missing initrd is named too. */
	{
		struct fake_bz f = bz_default();
		char *kernel = make_bzimage(&f);

		ck_assert_int_eq(load(m, kernel, "/nonexistent/initrd", NULL, &cpu, &err), -ENOENT);
		ck_assert_ptr_nonnull(strstr(err->message, "/nonexistent/initrd"));
		g_clear_error(&err);
		test_rmfile(kernel);
	}
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_bzimage_rejects_empty_file)
{
	struct guest_mem *m = test_guest(64 * MiB);
	char *kernel = test_tmpfile("", 0);
	struct boot_cpu_state cpu;
	GError *err = NULL;

	ck_assert_int_eq(load(m, kernel, NULL, NULL, &cpu, &err), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err->message, "empty"));
	g_error_free(err);
	test_rmfile(kernel);
	guest_mem_destroy(m);
}
END_TEST

/* The Debian kernel, if scripts/fetch-kernel.sh has put one in a cache. */
static char *find_real_kernel(void)
{
	const char *env = g_getenv("COVE_VMLINUZ"), *cache = g_getenv("COVE_CACHE"),
		   *src = g_getenv("COVE_SOURCE_ROOT");
	char *dirs[4] = { 0 }, *found = NULL;
	unsigned nd = 0;

	if (env && g_file_test(env, G_FILE_TEST_IS_REGULAR))
		return g_strdup(env);
	if (cache)
		dirs[nd++] = g_build_filename(cache, "kernel", NULL);
	dirs[nd++] = g_strdup("/var/cache/cove/kernel");
	if (src)
		dirs[nd++] = g_build_filename(src, "build", "cache", "kernel", NULL);
	for (unsigned i = 0; i < nd && !found; i++) {
		GDir *d = g_dir_open(dirs[i], 0, NULL);
		const char *ver;

		while (d && !found && (ver = g_dir_read_name(d))) {
			char *name = g_strconcat("vmlinuz-", ver, NULL);
			char *p = g_build_filename(dirs[i], ver, "root", "boot", name, NULL);

			if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
				found = g_steal_pointer(&p);
			g_free(p);
			g_free(name);
		}
		if (d)
			g_dir_close(d);
	}
	for (unsigned i = 0; i < nd; i++)
		g_free(dirs[i]);
	return found;
}

START_TEST(test_bzimage_loads_the_distribution_kernel)
{
	char *kernel = find_real_kernel(), *data = NULL;
	struct guest_mem *m = test_guest(512 * MiB);
	struct boot_cpu_state cpu;
	struct boot_params bp;
	GError *err = NULL;
	gsize len = 0;
	size_t setup;
	uint8_t *buf = g_malloc(4096);

	ck_assert_msg(kernel, "no distribution kernel in the cache: run scripts/fetch-kernel.sh "
			      "(scripts/test.sh does) or set COVE_VMLINUZ");
	ck_assert_msg(load(m, kernel, NULL, "console=ttyS0 panic=-1", &cpu, &err) == 0, "%s",
		      err ? err->message : "?");
	ck_assert_int_eq(guest_mem_read(m, cpu.regs.rsi, &bp, sizeof(bp)), 0);
	ck_assert_uint_ge(bp.hdr.version, 0x020c);
	ck_assert(bp.hdr.xloadflags & XLF_KERNEL_64);
	ck_assert_uint_eq(cpu.regs.rip, bp.hdr.code32_start + 0x200ULL);
	ck_assert_uint_ge(bp.e820_entries, 3);

	/* The protected-mode kernel starts right after the setup sectors. */
	ck_assert(g_file_get_contents(kernel, &data, &len, NULL));
	setup = ((size_t)(bp.hdr.setup_sects ? bp.hdr.setup_sects : 4) + 1) * 512;
	ck_assert_int_eq(guest_mem_read(m, bp.hdr.code32_start, buf, 4096), 0);
	ck_assert(!memcmp(buf, data + setup, 4096));

	g_free(data);
	g_free(buf);
	g_free(kernel);
	guest_mem_destroy(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bzimage");
	TCase *tc = tcase_create("bzimage");

	tcase_add_test(tc, test_bzimage_loads_kernel_zero_page_and_initrd);
	tcase_add_test(tc, test_bzimage_enters_64bit_mode_at_entry_plus_0x200);
	tcase_add_test(tc, test_bzimage_without_pref_address_loads_at_1m);
	tcase_add_test(tc, test_bzimage_rejects_wrong_magic);
	tcase_add_test(tc, test_bzimage_rejects_protocol_2_09);
	tcase_add_test(tc, test_bzimage_rejects_kernel_without_64bit_entry);
	tcase_add_test(tc, test_bzimage_rejects_truncated_file);
	tcase_add_test(tc, test_bzimage_rejects_file_cut_inside_the_header);
	tcase_add_test(tc, test_bzimage_rejects_cmdline_longer_than_cmdline_size);
	tcase_add_test(tc, test_bzimage_accepts_cmdline_of_exactly_cmdline_size);
	tcase_add_test(tc, test_bzimage_rejects_too_little_ram);
	tcase_add_test(tc, test_bzimage_rejects_initrd_that_does_not_fit);
	tcase_add_test(tc, test_bzimage_rejects_missing_file);
	tcase_add_test(tc, test_bzimage_rejects_empty_file);
	suite_add_tcase(s, tc);
	/* Unit tests never download a kernel: scripts/test.sh fetches it first. */
	{
		TCase *tr = tcase_create("distribution-kernel");

		tcase_set_timeout(tr, 60);
		tcase_add_test(tr, test_bzimage_loads_the_distribution_kernel);
		suite_add_tcase(s, tr);
	}
	return test_run(s);
}
