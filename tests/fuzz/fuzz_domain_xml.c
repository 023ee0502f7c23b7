/* SPDX-License-Identifier: MIT */
/*
 * fuzz_domain_xml: arbitrary bytes as a libvirt domain definition (what virsh define sends to
 * coved) through domain_xml_parse(). The contract checked: it fails with exactly one error and
 * succeeds with none; what it accepts is in range; and the canonical XML of an accepted
 * definition parses again to the same definition (formatting it once more gives the same text).
 */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/domain_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		__builtin_trap();
}

static struct domain_def *parse(const char *xml)
{
	struct domain_def *d = NULL;
	GError *err = NULL;
	bool ok = domain_xml_parse(xml, &d, &err);

	check(ok == !err && ok == !!d);
	if (err) {
		check(err->message != NULL);
		g_error_free(err);
	}
	return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *xml = g_strndup((const char *)data, size);
	struct domain_def *d = parse(xml), *again;
	char *text, *text2;

	g_free(xml);
	if (!d)
		return 0;
	check(domain_name_ok(d->name));
	check(d->ndisks <= COVE_MAX_DISKS && d->vcpus >= 1);
	text = domain_xml_format(d, -1);
	again = parse(text);
	check(again != NULL);
	text2 = domain_xml_format(again, -1);
	check(!strcmp(text, text2));
	g_free(text2);
	g_free(text);
	domain_def_free(again);
	domain_def_free(d);
	return 0;
}
