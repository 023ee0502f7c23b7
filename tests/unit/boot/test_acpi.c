/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "boot/acpi.h"
#include "boot_test.h"

#define AREA_SIZE (PC_BIOS_END - PC_BIOS_BASE)

struct tables {
	struct guest_mem *mem;
	uint8_t *area; /* a copy of [PC_BIOS_BASE, PC_BIOS_END) */
	uint64_t rsdp_gpa;
};

static struct acpi_config sample_config(unsigned ncpus, unsigned nvirtio)
{
	struct acpi_config c = { .ncpus = ncpus, .nvirtio = nvirtio };

	for (unsigned i = 0; i < nvirtio; i++) {
		c.virtio[i].base = PC_VIRTIO_MMIO_BASE + i * PC_VIRTIO_MMIO_SIZE;
		c.virtio[i].gsi = PC_GSI_VIRTIO_BASE + i;
	}
	return c;
}

static void build(struct tables *t, const struct acpi_config *c)
{
	GError *err = NULL;

	t->mem = test_guest(64 * MiB);
	ck_assert_msg(acpi_build(t->mem, c, &t->rsdp_gpa, &err) == 0, "acpi_build: %s",
		      err ? err->message : "?");
	t->area = g_malloc(AREA_SIZE);
	ck_assert_int_eq(guest_mem_read(t->mem, PC_BIOS_BASE, t->area, AREA_SIZE), 0);
}

static void release(struct tables *t)
{
	g_free(t->area);
	guest_mem_destroy(t->mem);
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static const uint8_t *at(const struct tables *t, uint64_t gpa)
{
	ck_assert_msg(gpa >= PC_BIOS_BASE && gpa < PC_BIOS_END, "0x%llx outside the BIOS area",
		      (unsigned long long)gpa);
	return t->area + (gpa - PC_BIOS_BASE);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Linux's legacy scan: 16-byte steps through 0xE0000-0xFFFFF, signature and checksum. */
static uint64_t scan_rsdp(const struct tables *t)
{
	for (uint64_t gpa = 0xe0000; gpa < 0x100000; gpa += 16) {
		const uint8_t *p = at(t, gpa);

		if (!memcmp(p, "RSD PTR ", 8) && sum(p, 20) == 0)
			return gpa;
	}
	return 0;
}

/* A table at gpa with its signature and a valid checksum. */
static const uint8_t *table(const struct tables *t, uint64_t gpa, const char *sig)
{
	const uint8_t *p = at(t, gpa);
	uint32_t len = rd32(p + 4);

	ck_assert_msg(!memcmp(p, sig, 4), "expected %s at 0x%llx", sig, (unsigned long long)gpa);
	ck_assert_uint_ge(len, 36);
	ck_assert_uint_le(gpa + len, PC_BIOS_END);
	ck_assert_msg(sum(p, len) == 0, "%s checksum", sig);
	return p;
}

/* The XSDT entry with this signature, checksum checked. */
static const uint8_t *find_table(const struct tables *t, const char *sig)
{
	const uint8_t *rsdp = at(t, t->rsdp_gpa);
	const uint8_t *xsdt = table(t, rd64(rsdp + 24), "XSDT");

	for (uint32_t off = 36; off + 8 <= rd32(xsdt + 4); off += 8) {
		uint64_t gpa = rd64(xsdt + off);

		if (!memcmp(at(t, gpa), sig, 4))
			return table(t, gpa, sig);
	}
	ck_abort_msg("%s not in the XSDT", sig);
	return NULL;
}

static unsigned count(const uint8_t *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	unsigned c = 0;

	for (size_t i = 0; i + n <= len; i++)
		c += !memcmp(hay + i, needle, n);
	return c;
}

START_TEST(test_acpi_rsdp_is_found_by_the_bios_area_scan)
{
	struct acpi_config c = sample_config(2, 1);
	struct tables t;
	const uint8_t *rsdp;

	build(&t, &c);
	ck_assert_uint_eq(scan_rsdp(&t), t.rsdp_gpa);
	ck_assert_uint_eq(t.rsdp_gpa, PC_BIOS_BASE);
	rsdp = at(&t, t.rsdp_gpa);
	ck_assert_uint_eq(rsdp[15], 2);
	ck_assert_uint_eq(rd32(rsdp + 20), 36);
	ck_assert_uint_eq(sum(rsdp, 36), 0);
	release(&t);
}
END_TEST

START_TEST(test_acpi_every_table_checksums_to_zero)
{
	struct acpi_config c = sample_config(4, 3);
	struct tables t;
	const uint8_t *rsdp, *rsdt, *fadt;

	build(&t, &c);
	rsdp = at(&t, t.rsdp_gpa);
	rsdt = table(&t, rd32(rsdp + 16), "RSDT");
	ck_assert_uint_eq(rd32(rsdt + 4), 36 + 2 * 4);
	table(&t, rd32(rsdt + 36), "FACP");
	table(&t, rd32(rsdt + 40), "APIC");
	fadt = find_table(&t, "FACP");
	table(&t, rd64(fadt + 140), "DSDT");
	ck_assert_uint_eq(rd32(fadt + 40), rd64(fadt + 140));
	find_table(&t, "APIC");
	/* The FACS has no checksum, but must be 64-byte aligned with its length. */
	ck_assert_uint_eq(rd32(fadt + 36) % 64, 0);
	ck_assert(!memcmp(at(&t, rd32(fadt + 36)), "FACS", 4));
	ck_assert_uint_eq(rd32(at(&t, rd32(fadt + 36)) + 4), 64);
	release(&t);
}
END_TEST

START_TEST(test_acpi_fadt_points_at_the_pm_ports)
{
	struct acpi_config c = sample_config(1, 0);
	struct tables t;
	const uint8_t *f;

	build(&t, &c);
	f = find_table(&t, "FACP");
	ck_assert_uint_eq(rd32(f + 4), 276);
	ck_assert_uint_eq(f[8], 6);
	ck_assert_uint_eq(f[46] | f[47] << 8, PC_IRQ_SCI);
	ck_assert_uint_eq(rd32(f + 48), 0);
	ck_assert_uint_eq(rd32(f + 56), PC_PORT_ACPI_PM1_EVT);
	ck_assert_uint_eq(rd32(f + 64), PC_PORT_ACPI_PM1_CNT);
	ck_assert_uint_eq(rd32(f + 76), PC_PORT_ACPI_PM_TMR);
	ck_assert_uint_eq(f[88], 4);
	ck_assert_uint_eq(f[89], 2);
	ck_assert_uint_eq(f[91], 4);
	ck_assert(f[109] & 0x2);		  /* IAPC_BOOT_ARCH: 8042 */
	ck_assert_uint_eq(rd32(f + 112) & (1u << 4), 0); /* a fixed-feature power button */
	ck_assert(!(rd32(f + 112) & (1u << 20))); /* not hardware-reduced */
	ck_assert(!(rd32(f + 112) & (1u << 10))); /* no RESET_REG */
	ck_assert_uint_eq(f[148], 1);		  /* X_PM1a_EVT_BLK in I/O space */
	ck_assert_uint_eq(rd64(f + 152), PC_PORT_ACPI_PM1_EVT);
	ck_assert_uint_eq(rd64(f + 176), PC_PORT_ACPI_PM1_CNT);
	ck_assert_uint_eq(rd64(f + 212), PC_PORT_ACPI_PM_TMR);
	release(&t);
}
END_TEST

START_TEST(test_acpi_madt_describes_each_cpu_and_the_ioapic)
{
	struct acpi_config c = sample_config(5, 0);
	const uint8_t *m, *e, *end;
	unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;
	struct tables t;

	build(&t, &c);
	m = find_table(&t, "APIC");
	ck_assert_uint_eq(rd32(m + 36), PC_LAPIC_BASE);
	ck_assert_uint_eq(rd32(m + 40) & 1, 1); /* PCAT_COMPAT */
	end = m + rd32(m + 4);
	for (e = m + 44; e < end; e += e[1]) {
		ck_assert_uint_ge(e[1], 2);
		switch (e[0]) {
		case 0:
			ck_assert_uint_eq(e[3], lapics); /* APIC ID = index */
			ck_assert_uint_eq(rd32(e + 4) & 1, 1);
			lapics++;
			break;
		case 1:
			ck_assert_uint_eq(e[2], 5);
			ck_assert_uint_eq(rd32(e + 4), PC_IOAPIC_BASE);
			ck_assert_uint_eq(rd32(e + 8), 0);
			ioapics++;
			break;
		case 2:
			if (e[3] == 0)
				ck_assert_uint_eq(rd32(e + 4), PC_GSI_TIMER);
			else if (e[3] == PC_IRQ_SCI)
				ck_assert_uint_eq(e[8] | e[9] << 8, 0xd);
			else
				ck_abort_msg("unexpected override for IRQ %u", e[3]);
			isos++;
			break;
		case 4:
			ck_assert_uint_eq(e[2], 0xff);
			ck_assert_uint_eq(e[5], 1);
			nmis++;
			break;
		default:
			ck_abort_msg("unexpected MADT entry type %u", e[0]);
		}
	}
	ck_assert(e == end);
	ck_assert_uint_eq(lapics, 5);
	ck_assert_uint_eq(ioapics, 1);
	ck_assert_uint_eq(isos, 2);
	ck_assert_uint_eq(nmis, 1);
	release(&t);
}
END_TEST

START_TEST(test_acpi_dsdt_has_s5_and_one_device_per_virtio)
{
	struct acpi_config c = sample_config(1, 3);
	const uint8_t *fadt, *dsdt;
	struct tables t;

	build(&t, &c);
	fadt = find_table(&t, "FACP");
	dsdt = table(&t, rd64(fadt + 140), "DSDT");
	ck_assert_uint_eq(count(dsdt, rd32(dsdt + 4), "LNRO0005"), 3);
	ck_assert_uint_eq(count(dsdt, rd32(dsdt + 4), "_S5_"), 1);
	ck_assert_uint_eq(count(dsdt, rd32(dsdt + 4), "VR02"), 1);
	/* Memory32Fixed with the third device's base. */
	{
		uint8_t want[8] = { 0x86, 9, 0, 1 };
		uint32_t base = (uint32_t)c.virtio[2].base;

		memcpy(want + 4, &base, 4);
		ck_assert(memmem(dsdt, rd32(dsdt + 4), want, sizeof(want)) != NULL);
	}
	release(&t);
}
END_TEST

START_TEST(test_acpi_mp_table_lists_every_cpu)
{
	struct acpi_config c = sample_config(3, 0);
	const uint8_t *fp = NULL, *cfg, *e;
	unsigned cpus = 0, ioapics = 0;
	struct tables t;

	build(&t, &c);
	for (uint64_t gpa = 0xf0000; gpa < 0x100000 && !fp; gpa += 16)
		if (!memcmp(at(&t, gpa), "_MP_", 4))
			fp = at(&t, gpa);
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(sum(fp, 16), 0);
	cfg = at(&t, rd32(fp + 4));
	ck_assert(!memcmp(cfg, "PCMP", 4));
	ck_assert_uint_eq(sum(cfg, cfg[4] | cfg[5] << 8), 0);
	e = cfg + 44;
	for (unsigned i = 0; i < (unsigned)(cfg[34] | cfg[35] << 8); i++) {
		if (e[0] == 0) {
			ck_assert_uint_eq(e[1], cpus);
			ck_assert_uint_eq(!!(e[3] & 2), cpus == 0); /* BSP flag on CPU 0 only */
			cpus++;
			e += 20;
			continue;
		}
		if (e[0] == 2) {
			ck_assert_uint_eq(e[1], 3);
			ck_assert_uint_eq(rd32(e + 4), PC_IOAPIC_BASE);
			ioapics++;
		}
		ck_assert_uint_le(e[0], 4);
		e += 8;
	}
	ck_assert(e == cfg + (cfg[4] | cfg[5] << 8));
	ck_assert_uint_eq(cpus, 3);
	ck_assert_uint_eq(ioapics, 1);
	release(&t);
}
END_TEST

START_TEST(test_acpi_rejects_bad_configs)
{
	struct guest_mem *m = test_guest(64 * MiB);
	struct acpi_config c = sample_config(0, 0);
	GError *err = NULL;
	uint64_t rsdp;

	ck_assert_int_eq(acpi_build(m, &c, &rsdp, &err), -EINVAL);
	ck_assert(g_error_matches(err, BOOT_ERROR, EINVAL));
	g_clear_error(&err);

	c = sample_config(ACPI_MAX_CPUS + 1, 0);
	ck_assert_int_eq(acpi_build(m, &c, &rsdp, &err), -EINVAL);
	g_clear_error(&err);

	c = sample_config(1, 1);
	c.virtio[0].gsi = PC_IOAPIC_PINS;
	ck_assert_int_eq(acpi_build(m, &c, &rsdp, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err->message, "GSI"));
	g_clear_error(&err);

	c = sample_config(1, 1);
	c.virtio[0].base = 0x100000000ULL;
	ck_assert_int_eq(acpi_build(m, &c, &rsdp, &err), -EINVAL);
	g_clear_error(&err);
	guest_mem_destroy(m);

	/* 512K of RAM does not reach the BIOS area. */
	m = test_guest(512 * 1024);
	c = sample_config(1, 0);
	ck_assert_int_eq(acpi_build(m, &c, &rsdp, &err), -ENOSPC);
	g_clear_error(&err);
	guest_mem_destroy(m);
}
END_TEST

START_TEST(test_acpi_max_cpus_fit)
{
	struct acpi_config c = sample_config(ACPI_MAX_CPUS, PC_VIRTIO_MAX);
	struct tables t;

	build(&t, &c);
	find_table(&t, "APIC");
	find_table(&t, "FACP");
	release(&t);
}
END_TEST

/* iasl -d: ACPICA's disassembler parses the AML and the table layouts. */
static char *iasl_disassemble(const char *iasl, const char *dir, const char *name,
			      const uint8_t *tbl)
{
	char *aml = g_build_filename(dir, name, NULL), *dsl, *argv[4], *out = NULL, *errout = NULL,
	     *text = NULL;
	GError *err = NULL;
	int status = -1;

	ck_assert(g_file_set_contents(aml, (const char *)tbl, rd32(tbl + 4), NULL));
	argv[0] = (char *)iasl;
	argv[1] = "-d";
	argv[2] = aml;
	argv[3] = NULL;
	ck_assert_msg(g_spawn_sync(dir, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &errout,
				   &status, &err),
		      "iasl: %s", err ? err->message : "?");
	ck_assert_msg(g_spawn_check_wait_status(status, NULL), "iasl -d %s failed:\n%s", name, out);
	dsl = g_strconcat(dir, "/", name, NULL);
	strcpy(dsl + strlen(dsl) - 3, "dsl");
	ck_assert_msg(g_file_get_contents(dsl, &text, NULL, NULL), "no %s", dsl);
	/* ACPICA reports bad checksums and malformed AML as warnings or errors. */
	ck_assert_msg(!strstr(out, "rror") && !strstr(out, "Warning") && !strstr(errout, "rror") &&
			      !strstr(errout, "Warning"),
		      "iasl says:\n%s%s", out, errout);
	ck_assert_msg(!strstr(text, "Incorrect checksum") && !strstr(text, "Invalid"),
		      "%s disassembles to:\n%s", name, text);
	g_unlink(dsl);
	g_unlink(aml);
	g_free(dsl);
	g_free(aml);
	g_free(out);
	g_free(errout);
	return text;
}

START_TEST(test_acpi_iasl_disassembles_the_tables)
{
	const char *iasl = g_getenv("COVE_IASL");
	struct acpi_config c = sample_config(2, 2);
	char *dir = g_dir_make_tmp("cove-iasl-XXXXXX", NULL), *dsl;

	ck_assert_msg(iasl && *iasl, "COVE_IASL unset: the build did not find iasl (acpica-tools)");
	const uint8_t *fadt;
	struct tables t;

	ck_assert_ptr_nonnull(dir);
	build(&t, &c);
	fadt = find_table(&t, "FACP");

	dsl = iasl_disassemble(iasl, dir, "dsdt.aml", at(&t, rd64(fadt + 140)));
	ck_assert_ptr_nonnull(strstr(dsl, "\"LNRO0005\""));
	ck_assert_ptr_nonnull(strstr(dsl, "Name (_S5, Package (0x04)"));
	ck_assert_ptr_nonnull(strstr(dsl, "Memory32Fixed (ReadWrite,"));
	ck_assert_ptr_nonnull(
		strstr(dsl, "Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, )"));
	ck_assert_ptr_nonnull(strstr(dsl, "EisaId (\"PNP0501\")"));
	ck_assert_ptr_nonnull(strstr(dsl, "IRQNoFlags ()"));
	g_free(dsl);

	dsl = iasl_disassemble(iasl, dir, "facp.aml", fadt);
	ck_assert_ptr_nonnull(strstr(dsl, "PM1A Control Block Address : 00000604"));
	g_free(dsl);

	dsl = iasl_disassemble(iasl, dir, "apic.aml", find_table(&t, "APIC"));
	ck_assert_ptr_nonnull(strstr(dsl, "Processor Local APIC"));
	g_free(dsl);

	g_rmdir(dir);
	g_free(dir);
	release(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("acpi");
	TCase *tc = tcase_create("acpi");

	tcase_add_test(tc, test_acpi_rsdp_is_found_by_the_bios_area_scan);
	tcase_add_test(tc, test_acpi_every_table_checksums_to_zero);
	tcase_add_test(tc, test_acpi_fadt_points_at_the_pm_ports);
	tcase_add_test(tc, test_acpi_madt_describes_each_cpu_and_the_ioapic);
	tcase_add_test(tc, test_acpi_dsdt_has_s5_and_one_device_per_virtio);
	tcase_add_test(tc, test_acpi_mp_table_lists_every_cpu);
	tcase_add_test(tc, test_acpi_rejects_bad_configs);
	tcase_add_test(tc, test_acpi_max_cpus_fit);
	suite_add_tcase(s, tc);
	{
		/* the build finds iasl (acpica-tools, scripts/deps.sh installs it) */
		TCase *ti = tcase_create("iasl");

		tcase_set_timeout(ti, 60);
		tcase_add_test(ti, test_acpi_iasl_disassembles_the_tables);
		suite_add_tcase(s, ti);
	}
	return test_run(s);
}
