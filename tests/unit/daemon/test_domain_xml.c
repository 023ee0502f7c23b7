/* SPDX-License-Identifier: MIT */
/* libvirt domain XML for cove: what is accepted, what is refused and how, and the round trip. */
#include <check.h>
#include <glib.h>
#include <string.h>

#include "daemon/domain_xml.h"
#include "../check_main.h"

#define NS "xmlns:cove='" DOMAIN_XML_NS "'"
#define OS "<os><type arch='x86_64'>hvm</type><kernel>/boot/k</kernel></os>"

static struct domain_def *parse_ok(const char *xml)
{
	struct domain_def *d = NULL;
	GError *e = NULL;

	ck_assert_msg(domain_xml_parse(xml, &d, &e), "should parse: %s", e ? e->message : "");
	return d;
}

static void parse_fails(const char *xml, const char *want)
{
	struct domain_def *d = (struct domain_def *)1;
	GError *e = NULL;

	ck_assert_msg(!domain_xml_parse(xml, &d, &e), "should not parse: %s", xml);
	ck_assert_ptr_null(d);
	ck_assert_ptr_nonnull(e);
	ck_assert_msg(strstr(e->message, want), "error '%s' lacks '%s'", e->message, want);
	g_error_free(e);
}

START_TEST(test_domain_xml_full_definition)
{
	struct domain_def *d = parse_ok(
		"<domain type='cove' " NS "><name>vm1</name>"
		"<uuid>12345678-9abc-def0-1234-56789abcdef0</uuid>"
		"<memory unit='MiB'>512</memory><currentMemory unit='KiB'>524288</currentMemory>"
		"<vcpu placement='static'>2</vcpu>"
		"<os><type arch='x86_64'>hvm</type><kernel>/boot/vmlinuz</kernel>"
		"<initrd>/boot/initrd</initrd><cmdline>console=ttyS0 quiet</cmdline></os>"
		"<on_reboot>restart</on_reboot>"
		"<devices><disk type='file' device='disk'><driver name='cove' type='raw'/>"
		"<source file='/img/a.img'/><target dev='vda' bus='virtio'/><readonly/></disk>"
		"<disk type='file' device='disk'><source file='/img/b.img'/></disk>"
		"<serial type='pty'><target port='0'/></serial></devices>"
		"<cove:accel>soft</cove:accel><cove:memory file='/ram/vm1' block='2M'/>"
		"</domain>");
	char uuid[37];

	ck_assert_str_eq(d->name, "vm1");
	domain_uuid_format(d->uuid, uuid);
	ck_assert_str_eq(uuid, "12345678-9abc-def0-1234-56789abcdef0");
	ck_assert_uint_eq(d->memory_kib, 512 * 1024);
	ck_assert_uint_eq(d->vcpus, 2);
	ck_assert_str_eq(d->initrd, "/boot/initrd");
	ck_assert_str_eq(d->cmdline, "console=ttyS0 quiet");
	ck_assert(d->reboot_restart);
	ck_assert_uint_eq(d->ndisks, 2);
	ck_assert(d->disks[0].readonly);
	ck_assert(!d->disks[1].readonly);
	ck_assert_str_eq(d->disks[1].target, "vdb");
	ck_assert(d->serial);
	ck_assert_str_eq(d->accel, "soft");
	ck_assert_str_eq(d->memory_file, "/ram/vm1");
	ck_assert_uint_eq(d->block_size, 2 << 20);
	domain_def_free(d);
}
END_TEST

START_TEST(test_domain_xml_round_trip)
{
	struct domain_def *a = parse_ok("<domain type='cove' " NS "><name>r</name>"
					"<memory>65536</memory>" OS
					"<devices><console type='pty'/></devices></domain>");
	char *x1 = domain_xml_format(a, 3), *x2;
	struct domain_def *b = parse_ok(x1);

	ck_assert(strstr(x1, "id='3'"));
	ck_assert_mem_eq(a->uuid, b->uuid, 16);
	x2 = domain_xml_format(b, 3);
	ck_assert_str_eq(x1, x2);
	ck_assert_str_eq(b->accel, "auto");
	ck_assert(b->serial);
	g_free(x1);
	g_free(x2);
	domain_def_free(a);
	domain_def_free(b);
}
END_TEST

START_TEST(test_domain_xml_generates_v4_uuid)
{
	struct domain_def *d =
		parse_ok("<domain type='cove'><name>u</name><memory>65536</memory>" OS "</domain>");

	ck_assert_uint_eq(d->uuid[6] >> 4, 4);
	ck_assert_uint_eq(d->uuid[8] >> 6, 2);
	domain_def_free(d);
}
END_TEST

START_TEST(test_domain_xml_rejects_unknown_elements_by_path)
{
	parse_fails("<domain type='cove'><name>x</name><memory>65536</memory>" OS
		    "<devices><interface type='network'/></devices></domain>",
		    "unsupported element <domain/devices/interface>");
	parse_fails("<domain type='cove'><name>x</name><memory>65536</memory>" OS
		    "<features><acpi/></features></domain>",
		    "unsupported element <domain/features>");
	parse_fails("<domain type='cove' " NS "><name>x</name><memory>65536</memory>" OS
		    "<cove:turbo/></domain>",
		    "unsupported element <domain/cove:turbo>");
	parse_fails(
		"<domain type='cove' xmlns:q='urn:other'><name>x</name><memory>65536</memory>" OS
		"<q:thing/></domain>",
		"unsupported element <domain/q:thing>");
	parse_fails("<domain type='cove'><name>x</name><memory>65536</memory>"
		    "<os><type>hvm</type><kernel>/k</kernel><loader>/fw</loader></os></domain>",
		    "<domain/os/loader>");
}
END_TEST

START_TEST(test_domain_xml_rejects_bad_values)
{
	parse_fails("<domain type='kvm'><name>x</name></domain>", "type='cove'");
	parse_fails("<domain type='cove'><name>../etc</name><memory>65536</memory>" OS "</domain>",
		    "<name>");
	parse_fails("<domain type='cove'><name>x</name><memory unit='MiB'>1</memory>" OS
		    "</domain>",
		    "2M-1T");
	parse_fails("<domain type='cove'><name>x</name><memory unit='PB'>1</memory>" OS "</domain>",
		    "unknown unit");
	parse_fails("<domain type='cove'><name>x</name><memory>65536</memory>"
		    "<vcpu>65</vcpu>" OS "</domain>",
		    "<vcpu>");
	parse_fails("<domain type='cove'><name>x</name><memory>65536</memory>"
		    "<os><type>hvm</type><kernel>relative/k</kernel></os></domain>",
		    "absolute");
	parse_fails("<domain type='cove'><name>x</name><memory>65536</memory>"
		    "<os><type>xen</type><kernel>/k</kernel></os></domain>",
		    "hvm");
	parse_fails(
		"<domain type='cove'><name>x</name><memory>65536</memory>" OS
		"<devices><disk type='block'><source dev='/dev/sda'/></disk></devices></domain>",
		"file-backed");
	parse_fails("<domain type='cove'><name>x</name><memory>65536</memory>" OS
		    "<devices><serial type='tcp'/></devices></domain>",
		    "type='pty'");
	parse_fails("<domain type='cove'><name>x</name><memory>65536</memory>"
		    "<currentMemory>32768</currentMemory>" OS "</domain>",
		    "balloon");
	parse_fails("<domain type='cove' bogus='1'><name>x</name></domain>",
		    "unsupported attribute 'bogus'");
	parse_fails("<domain type='cove'><name>x</name><memory>65536</memory></domain>", "<os>");
	parse_fails("<domain type='cove'><uuid>nope</uuid></domain>", "not a UUID");
	parse_fails("<domain type='cove' " NS "><name>x</name><memory>65536</memory>" OS
		    "<cove:memory resident='64M'/></domain>",
		    "need file=");
	parse_fails("<domain type='cove' " NS "><name>x</name><memory>65536</memory>" OS
		    "<cove:memory file='/r' block='2Q'/></domain>",
		    "unknown size suffix");
}
END_TEST

START_TEST(test_domain_xml_rejects_malformed_and_dtd)
{
	parse_fails("<domain type='cove'><name>x", "not well-formed");
	parse_fails("<!DOCTYPE domain [<!ENTITY a 'aaaa'>]><domain type='cove'><name>&a;</name>"
		    "</domain>",
		    "DTD");
	parse_fails("", "not well-formed");
}
END_TEST

START_TEST(test_domain_uuid_parse_forms)
{
	uint8_t u[16];

	ck_assert(domain_uuid_parse("12345678-9abc-def0-1234-56789abcdef0", u));
	ck_assert(domain_uuid_parse("123456789abcdef0123456789abcdef0", u));
	ck_assert_uint_eq(u[15], 0xf0);
	ck_assert(!domain_uuid_parse("123456789abcdef0123456789abcdef", u));
	ck_assert(!domain_uuid_parse("123456789abcdef0123456789abcdef000", u));
	ck_assert(!domain_uuid_parse("g23456789abcdef0123456789abcdef0", u));
}
END_TEST

static Suite *domain_xml_suite(void)
{
	Suite *s = suite_create("domain_xml");
	TCase *tc = tcase_create("domain_xml");

	tcase_add_test(tc, test_domain_xml_full_definition);
	tcase_add_test(tc, test_domain_xml_round_trip);
	tcase_add_test(tc, test_domain_xml_generates_v4_uuid);
	tcase_add_test(tc, test_domain_xml_rejects_unknown_elements_by_path);
	tcase_add_test(tc, test_domain_xml_rejects_bad_values);
	tcase_add_test(tc, test_domain_xml_rejects_malformed_and_dtd);
	tcase_add_test(tc, test_domain_uuid_parse_forms);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return cove_check_run(domain_xml_suite());
}
