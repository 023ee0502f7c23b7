/* SPDX-License-Identifier: MIT */
#include "daemon/domain_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <string.h>

#define XML_ERR(err, ...) g_set_error(err, COVE_ERROR, 0, __VA_ARGS__)

bool domain_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > DOMAIN_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(name[i]) && !strchr("._+-", name[i]))
			return false;
	return true;
}

void domain_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

/* 32 hex digits, dashes anywhere between pairs (libvirt accepts the same). */
bool domain_uuid_parse(const char *s, uint8_t u[16])
{
	unsigned n = 0;

	while (g_ascii_isspace(*s))
		s++;
	while (*s && n < 16) {
		int hi, lo;

		if (*s == '-') {
			s++;
			continue;
		}
		hi = g_ascii_xdigit_value(s[0]);
		lo = hi < 0 ? -1 : g_ascii_xdigit_value(s[1]);
		if (lo < 0)
			return false;
		u[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	while (g_ascii_isspace(*s))
		s++;
	return n == 16 && !*s;
}

void domain_def_free(struct domain_def *d)
{
	if (!d)
		return;
	g_free(d->name);
	g_free(d->kernel);
	g_free(d->initrd);
	g_free(d->cmdline);
	for (unsigned i = 0; i < d->ndisks; i++) {
		g_free(d->disks[i].path);
		g_free(d->disks[i].target);
	}
	g_free(d->accel);
	g_free(d->memory_file);
	g_free(d);
}

static bool is_cove_ns(const xmlNode *n)
{
	return n->ns && n->ns->href && !strcmp((const char *)n->ns->href, DOMAIN_XML_NS);
}

/* A readable path for errors: "devices/disk/source". */
static char *node_path(const xmlNode *n)
{
	GString *s = g_string_new(NULL);

	for (; n && n->type == XML_ELEMENT_NODE; n = n->parent) {
		char *part = n->ns && n->ns->prefix
				     ? g_strdup_printf("%s:%s", n->ns->prefix, n->name)
				     : g_strdup((const char *)n->name);

		g_string_prepend(s, part);
		if (n->parent && n->parent->type == XML_ELEMENT_NODE)
			g_string_prepend_c(s, '/');
		g_free(part);
	}
	return g_string_free(s, FALSE);
}

static bool unsupported(const xmlNode *n, GError **err)
{
	char *p = node_path(n);

	XML_ERR(err,
		"unsupported element <%s>: cove domains take name, uuid, memory, vcpu, os, "
		"on_reboot, devices (disk, serial, console) and the cove namespace",
		p);
	g_free(p);
	return false;
}

/* Every attribute of n must be in allowed (NULL-terminated). */
static bool check_attrs(const xmlNode *n, const char *const *allowed, GError **err)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		bool ok = false;

		for (const char *const *p = allowed; *p && !ok; p++)
			ok = !strcmp((const char *)a->name, *p) && !a->ns;
		if (!ok) {
			char *path = node_path(n);

			XML_ERR(err, "unsupported attribute '%s' on <%s>", a->name, path);
			g_free(path);
			return false;
		}
	}
	return true;
}

static char *attr(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	char *s = v ? g_strdup((const char *)v) : NULL;

	xmlFree(v);
	return s;
}

static char *text(const xmlNode *n)
{
	xmlChar *v = xmlNodeGetContent(n);
	char *s = g_strdup(v ? (const char *)v : "");

	xmlFree(v);
	return g_strstrip(s);
}

/* Children must be elements (or blank text / comments). */
static bool only_elements(const xmlNode *n, GError **err)
{
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type == XML_TEXT_NODE && xmlIsBlankNode(c))
			continue;
		if (c->type == XML_COMMENT_NODE || c->type == XML_ELEMENT_NODE)
			continue;
		char *p = node_path(n);

		XML_ERR(err, "<%s>: unexpected text", p);
		g_free(p);
		return false;
	}
	return true;
}

static bool no_children(const xmlNode *n, GError **err)
{
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			return unsupported(c, err);
	}
	return true;
}

static bool name_is(const xmlNode *n, const char *name)
{
	return !strcmp((const char *)n->name, name);
}

static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	guint64 v;

	if (!s || !g_ascii_isdigit(*s))
		return false;
	v = g_ascii_strtoull(s, &end, 10);
	if (*end || v > max)
		return false;
	*out = v;
	return true;
}

/* <memory unit='KiB'>N</memory>, units as in formatdomain.rst "Memory Allocation" */
static bool parse_memory(const xmlNode *n, uint64_t *kib, GError **err)
{
	static const struct {
		const char *unit;
		unsigned shift;
	} units[] = { { "b", 0 },    { "bytes", 0 }, { "k", 10 },   { "KiB", 10 }, { "M", 20 },
		      { "MiB", 20 }, { "G", 30 },    { "GiB", 30 }, { "T", 40 },   { "TiB", 40 } };
	static const char *const allowed[] = { "unit", NULL };
	char *u = attr(n, "unit"), *t = text(n);
	unsigned shift = 10;
	bool found = !u, ok = false;
	uint64_t v;

	for (size_t i = 0; u && i < G_N_ELEMENTS(units); i++) {
		if (!strcmp(u, units[i].unit)) {
			shift = units[i].shift;
			found = true;
		}
	}
	if (!check_attrs(n, allowed, err) || !no_children(n, err))
		goto out;
	if (!found) {
		XML_ERR(err, "<%s unit='%s'>: unknown unit (use KiB, MiB, GiB)", n->name, u);
		goto out;
	}
	if (!parse_uint(t, UINT64_MAX >> shift, &v)) {
		XML_ERR(err, "<%s>%s</%s>: not a size", n->name, t, n->name);
		goto out;
	}
	v <<= shift;
	if (v & 0xfff || v < COVE_MIN_MEM || v > COVE_MAX_MEM) {
		XML_ERR(err, "<%s>: %" G_GUINT64_FORMAT " bytes: cove needs 2M-1T in 4K steps",
			n->name, v);
		goto out;
	}
	*kib = v >> 10;
	ok = true;
out:
	g_free(u);
	g_free(t);
	return ok;
}

static bool take_text(const xmlNode *n, char **slot, GError **err)
{
	static const char *const none[] = { NULL };

	if (!check_attrs(n, none, err) || !no_children(n, err))
		return false;
	if (*slot) {
		XML_ERR(err, "<%s> given twice", n->name);
		return false;
	}
	*slot = text(n);
	return true;
}

static bool parse_os(const xmlNode *os, struct domain_def *d, GError **err)
{
	static const char *const none[] = { NULL };
	static const char *const type_attrs[] = { "arch", "machine", NULL };

	if (!check_attrs(os, none, err) || !only_elements(os, err))
		return false;
	for (const xmlNode *n = os->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (n->ns)
			return unsupported(n, err);
		if (name_is(n, "type")) {
			char *arch = attr(n, "arch"), *t = text(n);
			bool ok = check_attrs(n, type_attrs, err) && no_children(n, err);

			if (ok && strcmp(t, "hvm")) {
				XML_ERR(err, "<os><type>%s</type>: cove runs only 'hvm' guests", t);
				ok = false;
			}
			if (ok && arch && strcmp(arch, "x86_64")) {
				XML_ERR(err, "<os><type arch='%s'>: cove runs only x86_64", arch);
				ok = false;
			}
			g_free(arch);
			g_free(t);
			if (!ok)
				return false;
		} else if (name_is(n, "kernel")) {
			if (!take_text(n, &d->kernel, err))
				return false;
		} else if (name_is(n, "initrd")) {
			if (!take_text(n, &d->initrd, err))
				return false;
		} else if (name_is(n, "cmdline")) {
			if (!take_text(n, &d->cmdline, err))
				return false;
		} else {
			return unsupported(n, err);
		}
	}
	if (!d->kernel || !*d->kernel) {
		XML_ERR(err, "<os>: no <kernel> (cove boots a kernel directly)");
		return false;
	}
	if (!g_path_is_absolute(d->kernel) || (d->initrd && !g_path_is_absolute(d->initrd))) {
		XML_ERR(err, "<os>: kernel and initrd paths must be absolute");
		return false;
	}
	return true;
}

static bool parse_disk(const xmlNode *disk, struct domain_def *d, GError **err)
{
	static const char *const disk_attrs[] = { "type", "device", NULL };
	static const char *const src_attrs[] = { "file", NULL };
	static const char *const tgt_attrs[] = { "dev", "bus", NULL };
	static const char *const drv_attrs[] = { "name", "type", NULL };
	static const char *const none[] = { NULL };
	struct domain_disk k = { 0 };
	char *type = attr(disk, "type"), *device = attr(disk, "device");
	bool ok = false;

	if (!check_attrs(disk, disk_attrs, err) || !only_elements(disk, err))
		goto out;
	if ((type && strcmp(type, "file")) || (device && strcmp(device, "disk"))) {
		XML_ERR(err, "<disk type='%s' device='%s'>: cove has only file-backed disks",
			type ? type : "file", device ? device : "disk");
		goto out;
	}
	if (d->ndisks == COVE_MAX_DISKS) {
		XML_ERR(err, "<devices>: at most %d disks", COVE_MAX_DISKS);
		goto out;
	}
	for (const xmlNode *n = disk->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (n->ns) {
			unsupported(n, err);
			goto out;
		}
		if (name_is(n, "source")) {
			if (!check_attrs(n, src_attrs, err) || !no_children(n, err))
				goto out;
			g_free(k.path);
			k.path = attr(n, "file");
		} else if (name_is(n, "target")) {
			char *bus = attr(n, "bus");
			bool bad = bus && strcmp(bus, "virtio");

			g_free(bus);
			if (!check_attrs(n, tgt_attrs, err) || !no_children(n, err))
				goto out;
			if (bad) {
				XML_ERR(err, "<disk><target bus=...>: cove disks are virtio");
				goto out;
			}
			g_free(k.target);
			k.target = attr(n, "dev");
		} else if (name_is(n, "driver")) {
			char *t = attr(n, "type");
			bool bad = t && strcmp(t, "raw");

			g_free(t);
			if (!check_attrs(n, drv_attrs, err) || !no_children(n, err))
				goto out;
			if (bad) {
				XML_ERR(err, "<disk><driver type=...>: cove disks are raw images");
				goto out;
			}
		} else if (name_is(n, "readonly")) {
			if (!check_attrs(n, none, err) || !no_children(n, err))
				goto out;
			k.readonly = true;
		} else {
			unsupported(n, err);
			goto out;
		}
	}
	if (!k.path || !g_path_is_absolute(k.path)) {
		XML_ERR(err, "<disk>: needs <source file='/absolute/path'/>");
		goto out;
	}
	if (!k.target)
		k.target = g_strdup_printf("vd%c", 'a' + d->ndisks);
	d->disks[d->ndisks++] = k;
	memset(&k, 0, sizeof(k));
	ok = true;
out:
	g_free(k.path);
	g_free(k.target);
	g_free(type);
	g_free(device);
	return ok;
}

/* <serial type='pty'><target port='0'/></serial>; <console> is its alias */
static bool parse_serial(const xmlNode *s, struct domain_def *d, GError **err)
{
	static const char *const s_attrs[] = { "type", NULL };
	static const char *const t_attrs[] = { "port", "type", NULL };
	char *type = attr(s, "type");
	bool ok = check_attrs(s, s_attrs, err) && only_elements(s, err);

	if (ok && type && strcmp(type, "pty")) {
		XML_ERR(err, "<%s type='%s'>: coved serves the console itself; use type='pty'",
			s->name, type);
		ok = false;
	}
	g_free(type);
	for (const xmlNode *n = s->children; ok && n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (n->ns || !name_is(n, "target")) {
			ok = unsupported(n, err);
			break;
		}
		char *port = attr(n, "port"), *ttype = attr(n, "type");

		ok = check_attrs(n, t_attrs, err) && no_children(n, err);
		if (ok && ((port && strcmp(port, "0")) || (ttype && strcmp(ttype, "serial")))) {
			XML_ERR(err, "<%s><target>: cove has one serial port, port 0", s->name);
			ok = false;
		}
		g_free(port);
		g_free(ttype);
	}
	if (ok)
		d->serial = true;
	return ok;
}

static bool parse_devices(const xmlNode *devs, struct domain_def *d, GError **err)
{
	static const char *const none[] = { NULL };

	if (!check_attrs(devs, none, err) || !only_elements(devs, err))
		return false;
	for (const xmlNode *n = devs->children; n; n = n->next) {
		bool ok;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (n->ns)
			return unsupported(n, err);
		if (name_is(n, "disk"))
			ok = parse_disk(n, d, err);
		else if (name_is(n, "serial") || name_is(n, "console"))
			ok = parse_serial(n, d, err);
		else
			ok = unsupported(n, err);
		if (!ok)
			return false;
	}
	return true;
}

static bool parse_size_attr(const xmlNode *n, const char *name, uint64_t *out, GError **err)
{
	char *v = attr(n, name);
	GError *e = NULL;
	bool ok = true;

	if (v && !config_parse_size(v, out, &e)) {
		XML_ERR(err, "<cove:%s %s='%s'>: %s", n->name, name, v, e->message);
		g_error_free(e);
		ok = false;
	}
	g_free(v);
	return ok;
}

static bool parse_cove(const xmlNode *n, struct domain_def *d, GError **err)
{
	static const char *const none[] = { NULL };
	static const char *const mem_attrs[] = { "file", "block", "resident", NULL };

	if (name_is(n, "accel")) {
		char *a = NULL;

		if (!take_text(n, &a, err))
			return false;
		if (strcmp(a, "auto") && strcmp(a, "kvm") && strcmp(a, "soft")) {
			XML_ERR(err, "<cove:accel>%s</cove:accel>: not auto, kvm or soft", a);
			g_free(a);
			return false;
		}
		g_free(d->accel);
		d->accel = a;
		return true;
	}
	if (name_is(n, "memory")) {
		if (!check_attrs(n, mem_attrs, err) || !no_children(n, err))
			return false;
		g_free(d->memory_file);
		d->memory_file = attr(n, "file");
		if (d->memory_file && !g_path_is_absolute(d->memory_file)) {
			XML_ERR(err, "<cove:memory file='%s'>: must be an absolute path",
				d->memory_file);
			return false;
		}
		if (!parse_size_attr(n, "block", &d->block_size, err) ||
		    !parse_size_attr(n, "resident", &d->resident, err))
			return false;
		if (!d->memory_file && (d->block_size || d->resident)) {
			XML_ERR(err,
				"<cove:memory>: block and resident need file='...' (block RAM)");
			return false;
		}
		return true;
	}
	(void)none;
	return unsupported(n, err);
}

static bool parse_lifecycle(const xmlNode *n, struct domain_def *d, GError **err)
{
	char *v = NULL;
	bool ok = take_text(n, &v, err);

	if (ok && name_is(n, "on_reboot") && !strcmp(v, "restart")) {
		d->reboot_restart = true;
	} else if (ok && !strcmp(v, "destroy")) {
		if (name_is(n, "on_reboot"))
			d->reboot_restart = false;
	} else if (ok) {
		XML_ERR(err, "<%s>%s</%s>: cove supports destroy%s", n->name, v, n->name,
			name_is(n, "on_reboot") ? " and restart" : "");
		ok = false;
	}
	g_free(v);
	return ok;
}

static bool parse_domain(const xmlNode *root, struct domain_def *d, GError **err)
{
	static const char *const root_attrs[] = { "type", "id", NULL };
	char *type = attr(root, "type");
	uint64_t cur_kib = 0, v;
	bool have_uuid = false, ok;

	if (strcmp((const char *)root->name, "domain") || root->ns) {
		XML_ERR(err, "the root element must be <domain>, not <%s>", root->name);
		g_free(type);
		return false;
	}
	ok = type && !strcmp(type, "cove");
	if (!ok)
		XML_ERR(err, "<domain type='%s'>: must be type='cove'", type ? type : "");
	g_free(type);
	if (!ok || !check_attrs(root, root_attrs, err) || !only_elements(root, err))
		return false;
	d->vcpus = 1;
	for (const xmlNode *n = root->children; n; n = n->next) {
		char *t = NULL;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is_cove_ns(n)) {
			ok = parse_cove(n, d, err);
		} else if (n->ns) {
			ok = unsupported(n, err);
		} else if (name_is(n, "name")) {
			ok = take_text(n, &d->name, err);
			if (ok && !domain_name_ok(d->name)) {
				XML_ERR(err,
					"<name>%s</name>: use 1-64 letters, digits and ._+- "
					"(not starting with . or -)",
					d->name);
				ok = false;
			}
		} else if (name_is(n, "uuid")) {
			ok = take_text(n, &t, err);
			if (ok && !domain_uuid_parse(t, d->uuid)) {
				XML_ERR(err, "<uuid>%s</uuid>: not a UUID", t);
				ok = false;
			}
			have_uuid = true;
		} else if (name_is(n, "memory")) {
			ok = parse_memory(n, &d->memory_kib, err);
		} else if (name_is(n, "currentMemory")) {
			ok = parse_memory(n, &cur_kib, err);
		} else if (name_is(n, "vcpu")) {
			static const char *const vattrs[] = { "placement", NULL };

			ok = check_attrs(n, vattrs, err) && no_children(n, err);
			t = ok ? text(n) : NULL;
			if (ok && !parse_uint(t, COVE_MAX_CPUS, &v)) {
				XML_ERR(err, "<vcpu>%s</vcpu>: 1-%d", t, COVE_MAX_CPUS);
				ok = false;
			} else if (ok && !v) {
				XML_ERR(err, "<vcpu>0</vcpu>: at least 1");
				ok = false;
			}
			if (ok)
				d->vcpus = (unsigned)v;
		} else if (name_is(n, "os")) {
			ok = parse_os(n, d, err);
		} else if (name_is(n, "devices")) {
			ok = parse_devices(n, d, err);
		} else if (name_is(n, "on_reboot") || name_is(n, "on_poweroff") ||
			   name_is(n, "on_crash")) {
			ok = parse_lifecycle(n, d, err);
		} else {
			ok = unsupported(n, err);
		}
		g_free(t);
		if (!ok)
			return false;
	}
	if (!d->name) {
		XML_ERR(err, "<domain>: no <name>");
		return false;
	}
	if (!d->memory_kib) {
		XML_ERR(err, "<domain>: no <memory>");
		return false;
	}
	if (cur_kib && cur_kib != d->memory_kib) {
		XML_ERR(err, "<currentMemory>: cove has no balloon; it must equal <memory>");
		return false;
	}
	if (!d->kernel) {
		XML_ERR(err, "<domain>: no <os> with a <kernel>");
		return false;
	}
	if (!have_uuid)
		for (unsigned i = 0; i < 16; i += 4) {
			uint32_t r = g_random_int();

			memcpy(d->uuid + i, &r, 4);
		}
	if (!have_uuid) {
		d->uuid[6] = (d->uuid[6] & 0x0f) | 0x40; /* RFC 4122 version 4 */
		d->uuid[8] = (d->uuid[8] & 0x3f) | 0x80;
	}
	if (!d->accel)
		d->accel = g_strdup("auto");
	return true;
}

bool domain_xml_parse(const char *xml, struct domain_def **out, GError **err)
{
	size_t len = strlen(xml);
	struct domain_def *d;
	xmlDoc *doc;
	bool ok;

	*out = NULL;
	if (len > DOMAIN_XML_MAX) {
		XML_ERR(err, "domain XML larger than %u bytes", DOMAIN_XML_MAX);
		return false;
	}
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlGetLastError();
		char *why = g_strdup(e && e->message ? e->message : "");

		XML_ERR(err, "not well-formed XML%s%s", *why ? ": " : "", g_strstrip(why));
		g_free(why);
		return false;
	}
	if (doc->intSubset || !xmlDocGetRootElement(doc)) {
		XML_ERR(err, "domain XML must not carry a DTD");
		xmlFreeDoc(doc);
		return false;
	}
	d = g_new0(struct domain_def, 1);
	ok = parse_domain(xmlDocGetRootElement(doc), d, err);
	xmlFreeDoc(doc);
	if (!ok) {
		domain_def_free(d);
		return false;
	}
	*out = d;
	return true;
}

static void esc(GString *s, const char *v)
{
	char *e = g_markup_escape_text(v, -1);

	g_string_append(s, e);
	g_free(e);
}

char *domain_xml_format(const struct domain_def *d, int id)
{
	GString *s = g_string_new(NULL);
	char uuid[37];

	domain_uuid_format(d->uuid, uuid);
	g_string_append(s, "<domain type='cove'");
	if (id >= 0)
		g_string_append_printf(s, " id='%d'", id);
	g_string_append(s, " xmlns:cove='" DOMAIN_XML_NS "'>\n  <name>");
	esc(s, d->name);
	g_string_append_printf(s,
			       "</name>\n  <uuid>%s</uuid>\n"
			       "  <memory unit='KiB'>%" G_GUINT64_FORMAT "</memory>\n"
			       "  <currentMemory unit='KiB'>%" G_GUINT64_FORMAT "</currentMemory>\n"
			       "  <vcpu placement='static'>%u</vcpu>\n"
			       "  <os>\n    <type arch='x86_64'>hvm</type>\n    <kernel>",
			       uuid, d->memory_kib, d->memory_kib, d->vcpus);
	esc(s, d->kernel);
	g_string_append(s, "</kernel>\n");
	if (d->initrd) {
		g_string_append(s, "    <initrd>");
		esc(s, d->initrd);
		g_string_append(s, "</initrd>\n");
	}
	if (d->cmdline) {
		g_string_append(s, "    <cmdline>");
		esc(s, d->cmdline);
		g_string_append(s, "</cmdline>\n");
	}
	g_string_append_printf(s,
			       "  </os>\n  <on_poweroff>destroy</on_poweroff>\n"
			       "  <on_reboot>%s</on_reboot>\n  <on_crash>destroy</on_crash>\n"
			       "  <devices>\n",
			       d->reboot_restart ? "restart" : "destroy");
	for (unsigned i = 0; i < d->ndisks; i++) {
		g_string_append(s, "    <disk type='file' device='disk'>\n"
				   "      <driver name='cove' type='raw'/>\n      <source file='");
		esc(s, d->disks[i].path);
		g_string_append(s, "'/>\n      <target dev='");
		esc(s, d->disks[i].target);
		g_string_append_printf(s, "' bus='virtio'/>\n%s    </disk>\n",
				       d->disks[i].readonly ? "      <readonly/>\n" : "");
	}
	if (d->serial)
		g_string_append(s, "    <serial type='pty'>\n      <target port='0'/>\n"
				   "    </serial>\n    <console type='pty'>\n"
				   "      <target type='serial' port='0'/>\n    </console>\n");
	g_string_append(s, "  </devices>\n  <cove:accel>");
	esc(s, d->accel);
	g_string_append(s, "</cove:accel>\n");
	if (d->memory_file || d->block_size || d->resident) {
		g_string_append(s, "  <cove:memory");
		if (d->memory_file) {
			g_string_append(s, " file='");
			esc(s, d->memory_file);
			g_string_append_c(s, '\'');
		}
		if (d->block_size)
			g_string_append_printf(s, " block='%" G_GUINT64_FORMAT "'", d->block_size);
		if (d->resident)
			g_string_append_printf(s, " resident='%" G_GUINT64_FORMAT "'", d->resident);
		g_string_append(s, "/>\n");
	}
	g_string_append(s, "</domain>\n");
	return g_string_free(s, FALSE);
}
