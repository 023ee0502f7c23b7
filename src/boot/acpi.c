/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables (ACPI 6.x §5.2) for the machine in pc.h. All tables are built
 * in a host buffer that mirrors the BIOS area and copied to the guest in one
 * write; offsets inside each table are the spec's.
 */
#include "boot/acpi.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "boot/aml.h"
#include "boot/boot_priv.h"
#include "boot/mptable.h"

#define ACPI_OEM_ID	  "COVE  "
#define ACPI_CREATOR_ID	  "COVE"
#define ACPI_HDR_LEN	  36
#define ACPI_RSDP_LEN	  36
#define ACPI_FACS_LEN	  64
#define ACPI_FADT_LEN	  276 /* revision 6 */
#define ACPI_MADT_HDR_LEN 44

/* The MP table goes in the F segment, which guests scan for "_MP_". */
#define ACPI_MP_OFFSET (0xf0000 - PC_BIOS_BASE)
#define ACPI_AREA_SIZE (PC_BIOS_END - PC_BIOS_BASE)

/* §5.2.9 FADT flags and IA-PC boot architecture flags. */
#define FADT_WBINVD	     (1u << 0)
#define FADT_PROC_C1	     (1u << 2)
#define FADT_PWR_BUTTON	     (1u << 4) /* set: no fixed-feature power button */
#define FADT_SLP_BUTTON	     (1u << 5)
#define IAPC_LEGACY_DEVICES  (1u << 0)
#define IAPC_8042	     (1u << 1)
#define IAPC_VGA_NOT_PRESENT (1u << 2)

/* §5.2.12 MADT. */
#define MADT_PCAT_COMPAT    1u
#define MADT_LAPIC	    0
#define MADT_IOAPIC	    1
#define MADT_ISO	    2
#define MADT_LAPIC_NMI	    4
#define MPS_INTI_LEVEL_HIGH 0x000d /* polarity 01 active high, trigger 11 level */

/* §5.2.3.2 Generic Address Structure. */
#define GAS_SYSTEM_IO 1
enum { GAS_BYTE = 1, GAS_WORD, GAS_DWORD };

struct acpi_area {
	uint8_t *buf;
	size_t used;
};

/* Next free offset aligned to align, or SIZE_MAX when the ACPI part of the area is full. */
static size_t area_alloc(struct acpi_area *a, size_t len, size_t align)
{
	size_t off = (a->used + align - 1) & ~(align - 1);

	if (off + len > ACPI_MP_OFFSET)
		return SIZE_MAX;
	a->used = off + len;
	return off;
}

static uint64_t gpa_of(size_t off)
{
	return PC_BIOS_BASE + off;
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

static void table_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev,
			 const char *table_id)
{
	memcpy(t, sig, 4);
	boot_wr32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, table_id, 8);
	boot_wr32(t + 24, 1);
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	boot_wr32(t + 32, 1);
}

static void table_checksum(uint8_t *t)
{
	t[9] = 0;
	t[9] = checksum(t, boot_rd32(t + 4));
}

static void put_gas(uint8_t *p, uint8_t width, uint8_t access, uint64_t port)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = width;
	p[2] = 0;
	p[3] = access;
	boot_wr64(p + 4, port);
}

static void build_fadt(uint8_t *t, uint64_t facs, uint64_t dsdt)
{
	table_header(t, "FACP", ACPI_FADT_LEN, 6, "COVEFACP");
	/* FACS below 4G: FIRMWARE_CTRL, and X_FIRMWARE_CTRL must then stay 0 (§5.2.9). */
	boot_wr32(t + 36, (uint32_t)facs);
	boot_wr32(t + 40, (uint32_t)dsdt);
	t[45] = 0; /* preferred PM profile: unspecified */
	boot_wr16(t + 46, PC_IRQ_SCI);
	boot_wr32(t + 48, 0); /* SMI_CMD 0: the hardware is always in ACPI mode */
	boot_wr32(t + 56, PC_PORT_ACPI_PM1_EVT);
	boot_wr32(t + 64, PC_PORT_ACPI_PM1_CNT);
	boot_wr32(t + 76, PC_PORT_ACPI_PM_TMR);
	t[88] = 4;		 /* PM1_EVT_LEN */
	t[89] = 2;		 /* PM1_CNT_LEN */
	t[91] = 4;		 /* PM_TMR_LEN */
	boot_wr16(t + 96, 101);	 /* P_LVL2_LAT > 100: no C2 */
	boot_wr16(t + 98, 1001); /* P_LVL3_LAT > 1000: no C3 */
	boot_wr16(t + 109, IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_VGA_NOT_PRESENT);
	/*
	 * PWR_BUTTON clear: the power button is the fixed-feature one of the PM1
	 * block (§4.8.2.2.1), pressed by the monitor's "powerdown" and raising
	 * the SCI. No sleep button.
	 */
	boot_wr32(t + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON);
	/* RESET_REG (116) and RESET_VALUE (128) unused: RESET_REG_SUP is clear. */
	t[131] = 0;		  /* FADT minor version */
	boot_wr64(t + 140, dsdt); /* X_DSDT */
	put_gas(t + 148, 32, GAS_WORD, PC_PORT_ACPI_PM1_EVT);
	put_gas(t + 172, 16, GAS_WORD, PC_PORT_ACPI_PM1_CNT);
	put_gas(t + 208, 32, GAS_DWORD, PC_PORT_ACPI_PM_TMR);
	memcpy(t + 268, "COVE    ", 8); /* hypervisor vendor identity */
	table_checksum(t);
}

static void build_facs(uint8_t *t)
{
	/* §5.2.10: no checksum; version 2; waking vectors 0 (no S3). */
	memcpy(t, "FACS", 4);
	boot_wr32(t + 4, ACPI_FACS_LEN);
	t[32] = 2;
}

static size_t madt_len(unsigned ncpus)
{
	return ACPI_MADT_HDR_LEN + 8 * ncpus + 12 + 2 * 10 + 6;
}

static uint8_t *madt_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	e[0] = MADT_ISO;
	e[1] = 10;
	e[2] = 0; /* ISA */
	e[3] = irq;
	boot_wr32(e + 4, gsi);
	boot_wr16(e + 8, flags);
	return e + 10;
}

static void build_madt(uint8_t *t, unsigned ncpus)
{
	uint8_t *e = t + ACPI_MADT_HDR_LEN;

	table_header(t, "APIC", (uint32_t)madt_len(ncpus), 3, "COVEAPIC");
	boot_wr32(t + 36, (uint32_t)PC_LAPIC_BASE);
	boot_wr32(t + 40, MADT_PCAT_COMPAT); /* dual 8259s present: mask them when using APICs */

	for (unsigned i = 0; i < ncpus; i++) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i;   /* ACPI processor UID */
		e[3] = (uint8_t)i;   /* APIC ID */
		boot_wr32(e + 4, 1); /* enabled */
		e += 8;
	}

	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = (uint8_t)ncpus;
	e[3] = 0;
	boot_wr32(e + 4, (uint32_t)PC_IOAPIC_BASE);
	boot_wr32(e + 8, 0); /* GSI base */
	e += 12;

	/* IRQ0 is wired to pin 2 (pc.h); the SCI is level, active high, not ISA-like. */
	e = madt_iso(e, 0, PC_GSI_TIMER, 0);
	e = madt_iso(e, PC_IRQ_SCI, PC_IRQ_SCI, MPS_INTI_LEVEL_HIGH);

	e[0] = MADT_LAPIC_NMI;
	e[1] = 6;
	e[2] = 0xff; /* all processors */
	boot_wr16(e + 3, 0);
	e[5] = 1; /* LINT1 */

	table_checksum(t);
}

static void build_sdt(uint8_t *t, const char *sig, const char *id, const uint64_t *tables,
		      unsigned n, unsigned width)
{
	table_header(t, sig, (uint32_t)(ACPI_HDR_LEN + n * width), 1, id);
	for (unsigned i = 0; i < n; i++) {
		if (width == 8)
			boot_wr64(t + ACPI_HDR_LEN + 8 * i, tables[i]);
		else
			boot_wr32(t + ACPI_HDR_LEN + 4 * i, (uint32_t)tables[i]);
	}
	table_checksum(t);
}

static void build_rsdp(uint8_t *p, uint64_t rsdt, uint64_t xsdt)
{
	/* §5.2.5.3: revision 2; checksum over the first 20 bytes, extended over all 36. */
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, ACPI_OEM_ID, 6);
	p[15] = 2;
	boot_wr32(p + 16, (uint32_t)rsdt);
	boot_wr32(p + 20, ACPI_RSDP_LEN);
	boot_wr64(p + 24, xsdt);
	p[8] = checksum(p, 20);
	p[32] = checksum(p, ACPI_RSDP_LEN);
}

static int check_config(const struct acpi_config *cfg, GError **err)
{
	if (cfg->ncpus == 0 || cfg->ncpus > ACPI_MAX_CPUS)
		return boot_fail(err, EINVAL, "ACPI: %u CPUs: cove describes 1 to %u", cfg->ncpus,
				 ACPI_MAX_CPUS);
	if (cfg->nvirtio > PC_VIRTIO_MAX)
		return boot_fail(err, EINVAL, "ACPI: %u virtio devices: at most %u fit the map",
				 cfg->nvirtio, PC_VIRTIO_MAX);
	for (unsigned i = 0; i < cfg->nvirtio; i++) {
		const struct acpi_virtio_dev *v = &cfg->virtio[i];

		if (v->base > 0x100000000ULL - ACPI_VIRTIO_MMIO_LEN)
			return boot_fail(err, EINVAL,
					 "ACPI: virtio device %u at 0x%llx: Memory32Fixed needs "
					 "it below 4 GiB",
					 i, (unsigned long long)v->base);
		if (v->gsi >= PC_IOAPIC_PINS)
			return boot_fail(err, EINVAL,
					 "ACPI: virtio device %u on GSI %u: the IOAPIC has %u pins",
					 i, v->gsi, PC_IOAPIC_PINS);
	}
	return 0;
}

int acpi_build(struct guest_mem *mem, const struct acpi_config *cfg, uint64_t *rsdp_gpa,
	       GError **err)
{
	struct acpi_area a = { 0 };
	GByteArray *aml = NULL;
	size_t rsdp, facs, dsdt, fadt, madt, rsdt, xsdt, dsdt_len;
	uint64_t tables[2];
	int ret;

	ret = check_config(cfg, err);
	if (ret)
		return ret;
	if (!guest_mem_is_ram(mem, PC_BIOS_BASE, ACPI_AREA_SIZE))
		return boot_fail(err, ENOSPC,
				 "ACPI: guest RAM does not cover the BIOS area 0x%llx-0x%llx",
				 (unsigned long long)PC_BIOS_BASE, (unsigned long long)PC_BIOS_END);

	a.buf = g_malloc0(ACPI_AREA_SIZE);
	aml = g_byte_array_new();
	aml_build_dsdt_body(aml, cfg);
	dsdt_len = ACPI_HDR_LEN + aml->len;

	/* Linux scans 16-byte boundaries for the RSDP; the FACS must be 64-byte aligned. */
	rsdp = area_alloc(&a, ACPI_RSDP_LEN, 16);
	facs = area_alloc(&a, ACPI_FACS_LEN, 64);
	dsdt = area_alloc(&a, dsdt_len, 16);
	fadt = area_alloc(&a, ACPI_FADT_LEN, 16);
	madt = area_alloc(&a, madt_len(cfg->ncpus), 16);
	rsdt = area_alloc(&a, ACPI_HDR_LEN + 2 * 4, 16);
	xsdt = area_alloc(&a, ACPI_HDR_LEN + 2 * 8, 16);
	if (rsdp == SIZE_MAX || facs == SIZE_MAX || dsdt == SIZE_MAX || fadt == SIZE_MAX ||
	    madt == SIZE_MAX || rsdt == SIZE_MAX || xsdt == SIZE_MAX) {
		ret = boot_fail(err, ENOSPC, "ACPI: tables do not fit the BIOS area");
		goto out;
	}

	build_facs(a.buf + facs);
	table_header(a.buf + dsdt, "DSDT", (uint32_t)dsdt_len, 2, "COVEDSDT");
	memcpy(a.buf + dsdt + ACPI_HDR_LEN, aml->data, aml->len);
	table_checksum(a.buf + dsdt);
	build_fadt(a.buf + fadt, gpa_of(facs), gpa_of(dsdt));
	build_madt(a.buf + madt, cfg->ncpus);
	tables[0] = gpa_of(fadt);
	tables[1] = gpa_of(madt);
	build_sdt(a.buf + rsdt, "RSDT", "COVERSDT", tables, 2, 4);
	build_sdt(a.buf + xsdt, "XSDT", "COVEXSDT", tables, 2, 8);
	build_rsdp(a.buf + rsdp, gpa_of(rsdt), gpa_of(xsdt));

	if (!mptable_build(a.buf + ACPI_MP_OFFSET, ACPI_AREA_SIZE - ACPI_MP_OFFSET,
			   gpa_of(ACPI_MP_OFFSET), cfg->ncpus)) {
		ret = boot_fail(err, ENOSPC, "ACPI: the MP table does not fit the BIOS area");
		goto out;
	}

	ret = guest_mem_write(mem, PC_BIOS_BASE, a.buf, ACPI_AREA_SIZE);
	if (ret) {
		g_set_error(err, BOOT_ERROR, -ret, "ACPI: cannot write the tables to guest RAM: %s",
			    g_strerror(-ret));
		goto out;
	}
	*rsdp_gpa = gpa_of(rsdp);
out:
	g_byte_array_unref(aml);
	g_free(a.buf);
	return ret;
}
