/* SPDX-License-Identifier: MIT */
/*
 * Hand-assembled AML. Encodings from ACPI 6.x §20.2 (AML grammar) and §6.4
 * (resource descriptors). Every object with a PkgLength is built into its
 * own buffer first so its length is known when the header is written.
 */
#include "boot/aml.h"

#include <stdlib.h>
#include <string.h>

#include "pc.h"

#define AML_ZERO_OP	  0x00
#define AML_ONE_OP	  0x01
#define AML_NAME_OP	  0x08
#define AML_BYTE_PREFIX	  0x0a
#define AML_WORD_PREFIX	  0x0b
#define AML_DWORD_PREFIX  0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX  0x0e
#define AML_SCOPE_OP	  0x10
#define AML_BUFFER_OP	  0x11
#define AML_PACKAGE_OP	  0x12
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP	  0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR	  0x5c /* '\' */

static void put_byte(GByteArray *a, uint8_t b)
{
	g_byte_array_append(a, &b, 1);
}

static void put_le(GByteArray *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		put_byte(a, (uint8_t)(v >> (8 * i)));
}

/* §20.2.4 PkgLength: counts itself; 1 byte up to 63, else 2-4 bytes with the byte count in bits
 * 7:6. */
static void put_pkglength(GByteArray *a, size_t body)
{
	size_t total;
	unsigned n;

	if (body + 1 <= 0x3f) {
		put_byte(a, (uint8_t)(body + 1));
		return;
	}
	for (n = 2; n < 4; n++)
		if (body + n < (1u << (4 + 8 * (n - 1))))
			break;
	total = body + n;
	put_byte(a, (uint8_t)(((n - 1) << 6) | (total & 0xf)));
	for (unsigned i = 1; i < n; i++)
		put_byte(a, (uint8_t)(total >> (4 + 8 * (i - 1))));
}

/* A NameSeg is exactly four characters, '_'-padded by the caller. */
static void put_nameseg(GByteArray *a, const char *seg)
{
	g_byte_array_append(a, (const guint8 *)seg, 4);
}

static void put_integer(GByteArray *a, uint64_t v)
{
	if (v == 0) {
		put_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		put_byte(a, AML_ONE_OP);
	} else if (v <= 0xff) {
		put_byte(a, AML_BYTE_PREFIX);
		put_le(a, v, 1);
	} else if (v <= 0xffff) {
		put_byte(a, AML_WORD_PREFIX);
		put_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		put_byte(a, AML_DWORD_PREFIX);
		put_le(a, v, 4);
	} else {
		put_byte(a, AML_QWORD_PREFIX);
		put_le(a, v, 8);
	}
}

static void put_string(GByteArray *a, const char *s)
{
	put_byte(a, AML_STRING_PREFIX);
	g_byte_array_append(a, (const guint8 *)s, (guint)strlen(s) + 1);
}

/* Appends op bytes, PkgLength(inner) and inner, then frees inner. */
static void put_wrapped(GByteArray *a, const uint8_t *op, size_t oplen, GByteArray *inner)
{
	g_byte_array_append(a, op, (guint)oplen);
	put_pkglength(a, inner->len);
	g_byte_array_append(a, inner->data, inner->len);
	g_byte_array_unref(inner);
}

/* EISA ID compression (§6.1.5 _HID): three 5-bit letters and four hex digits, big-endian. */
static uint32_t eisa_id(const char *id)
{
	uint32_t v = (uint32_t)(id[0] - 0x40) << 26 | (uint32_t)(id[1] - 0x40) << 21 |
		     (uint32_t)(id[2] - 0x40) << 16 | (uint32_t)strtoul(id + 3, NULL, 16);

	return GUINT32_SWAP_LE_BE(v);
}

static void put_name_integer(GByteArray *a, const char *seg, uint64_t v)
{
	put_byte(a, AML_NAME_OP);
	put_nameseg(a, seg);
	put_integer(a, v);
}

static void put_name_string(GByteArray *a, const char *seg, const char *s)
{
	put_byte(a, AML_NAME_OP);
	put_nameseg(a, seg);
	put_string(a, s);
}

/* Name(_CRS, ResourceTemplate() {...}): a Buffer whose bytes end in an End Tag. */
static void put_name_crs(GByteArray *a, const uint8_t *res, size_t len)
{
	static const uint8_t buffer_op = AML_BUFFER_OP;
	GByteArray *buf = g_byte_array_new();

	put_integer(buf, len + 2);
	g_byte_array_append(buf, res, (guint)len);
	/* §6.4.2.9 End Tag; a zero checksum means "treat as correct". */
	put_byte(buf, 0x79);
	put_byte(buf, 0x00);

	put_byte(a, AML_NAME_OP);
	put_nameseg(a, "_CRS");
	put_wrapped(a, &buffer_op, 1, buf);
}

static void put_device(GByteArray *a, const char *seg, GByteArray *body)
{
	static const uint8_t device_op[] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };
	GByteArray *inner = g_byte_array_new();

	put_nameseg(inner, seg);
	g_byte_array_append(inner, body->data, body->len);
	g_byte_array_unref(body);
	put_wrapped(a, device_op, sizeof(device_op), inner);
}

/* COM1: IO(Decode16, 0x3F8, 0x3F8, 1, 8) and IRQNoFlags() {4}. */
static void put_com1(GByteArray *a)
{
	GByteArray *dev = g_byte_array_new();
	uint8_t res[11] = { 0 };

	put_name_integer(dev, "_HID", eisa_id("PNP0501"));
	put_name_integer(dev, "_UID", 1);

	res[0] = 0x47; /* §6.4.2.5 I/O port descriptor, length 7 */
	res[1] = 0x01; /* 16-bit decode */
	res[2] = PC_PORT_COM1 & 0xff;
	res[3] = PC_PORT_COM1 >> 8;
	res[4] = PC_PORT_COM1 & 0xff;
	res[5] = PC_PORT_COM1 >> 8;
	res[6] = 1;    /* alignment */
	res[7] = 8;    /* length */
	res[8] = 0x22; /* §6.4.2.1 IRQ descriptor without flags byte: edge, high, exclusive */
	res[9] = (uint8_t)(1u << PC_IRQ_COM1);
	res[10] = (uint8_t)((1u << PC_IRQ_COM1) >> 8);
	put_name_crs(dev, res, sizeof(res));
	put_device(a, "COM1", dev);
}

/* virtio-mmio as Linux's virtio_mmio driver matches it in ACPI: _HID "LNRO0005". */
static void put_virtio(GByteArray *a, unsigned n, const struct acpi_virtio_dev *v)
{
	GByteArray *dev = g_byte_array_new();
	uint8_t res[12 + 9];
	char seg[5];

	put_name_string(dev, "_HID", "LNRO0005");
	put_name_integer(dev, "_UID", n);

	/* §6.4.3.4 32-bit fixed memory range: ReadWrite, base, length. */
	res[0] = 0x86;
	res[1] = 9;
	res[2] = 0;
	res[3] = 0x01;
	for (int i = 0; i < 4; i++) {
		res[4 + i] = (uint8_t)(v->base >> (8 * i));
		res[8 + i] = (uint8_t)(ACPI_VIRTIO_MMIO_LEN >> (8 * i));
	}
	/*
	 * §6.4.3.6 extended interrupt descriptor, one interrupt: flags bit 0
	 * ResourceConsumer, bit 1 clear = level, bit 2 clear = active high,
	 * bit 3 clear = exclusive.
	 */
	res[12] = 0x89;
	res[13] = 6;
	res[14] = 0;
	res[15] = 0x01;
	res[16] = 1;
	for (int i = 0; i < 4; i++)
		res[17 + i] = (uint8_t)(v->gsi >> (8 * i));
	put_name_crs(dev, res, sizeof(res));

	g_snprintf(seg, sizeof(seg), "VR%02X", n & 0xff);
	put_device(a, seg, dev);
}

void aml_build_dsdt_body(GByteArray *out, const struct acpi_config *cfg)
{
	static const uint8_t package_op = AML_PACKAGE_OP, scope_op = AML_SCOPE_OP;
	GByteArray *pkg = g_byte_array_new(), *sb = g_byte_array_new();

	/*
	 * \_S5: {PM1a SLP_TYP, PM1b SLP_TYP, reserved, reserved} (§7.4.2).
	 * The OS writes SLP_TYP with SLP_EN into PM1a_CNT to power off.
	 */
	put_byte(pkg, 4);
	put_integer(pkg, PC_ACPI_S5_TYPE);
	put_integer(pkg, 0);
	put_integer(pkg, 0);
	put_integer(pkg, 0);
	put_byte(out, AML_NAME_OP);
	put_nameseg(out, "_S5_");
	put_wrapped(out, &package_op, 1, pkg);

	/* Scope(\_SB) { COM1, VR00.. } */
	put_byte(sb, AML_ROOT_CHAR);
	put_nameseg(sb, "_SB_");
	put_com1(sb);
	for (unsigned i = 0; i < cfg->nvirtio && i < PC_VIRTIO_MAX; i++)
		put_virtio(sb, i, &cfg->virtio[i]);
	put_wrapped(out, &scope_op, 1, sb);
}
