/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * s as a message may quote it: a message is one line, so control characters (a newline from a
 * config file's "\n" escape or the command line), quotes and backslashes come out as C escapes.
 * Bytes from 0x80 up stay, for UTF-8 names. The caller frees it.
 */
static char *msg_quote(const char *s)
{
	char keep[129];

	for (unsigned i = 0; i < 128; i++)
		keep[i] = (char)(0x80 + i);
	keep[128] = 0;
	return g_strescape(s, keep);
}

GQuark cove_error_quark(void)
{
	return g_quark_from_static_string("cove-error-quark");
}

void config_init(struct cove_config *c)
{
	memset(c, 0, sizeof(*c));
	c->memory = COVE_DEFAULT_MEM;
	c->cpus = 1;
	c->console = g_strdup("stdio");
	c->virtio_console = g_strdup("none");
	c->accel = g_strdup("auto");
	c->on_reboot = COVE_REBOOT_EXIT;
}

void config_clear(struct cove_config *c)
{
	g_free(c->name);
	g_free(c->kernel);
	g_free(c->initrd);
	g_free(c->cmdline);
	g_free(c->memory_file);
	g_free(c->console);
	g_free(c->virtio_console);
	g_free(c->accel);
	g_free(c->monitor);
	g_free(c->pidfile);
	for (unsigned i = 0; i < c->ndisks; i++)
		g_free(c->disks[i].path);
	memset(c, 0, sizeof(*c));
}

bool config_parse_size(const char *s, uint64_t *out, GError **err)
{
	const char *p = s;
	uint64_t v = 0;
	unsigned shift = 0;

	if (!s || !*s) {
		g_set_error(err, COVE_ERROR, 0, "empty size (use e.g. 256M or 2G)");
		return false;
	}
	if (!isdigit((unsigned char)*p)) {
		g_set_error(err, COVE_ERROR, 0, "not a size (use e.g. 256M or 2G)");
		return false;
	}
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10) {
			g_set_error(err, COVE_ERROR, 0, "too large");
			return false;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p) {
		switch (toupper((unsigned char)*p)) {
		case 'K':
			shift = 10;
			break;
		case 'M':
			shift = 20;
			break;
		case 'G':
			shift = 30;
			break;
		case 'T':
			shift = 40;
			break;
		default: {
			char c[2] = { *p, 0 }, *q = msg_quote(c);

			g_set_error(err, COVE_ERROR, 0,
				    "unknown size suffix '%s' (use K, M, G or T)", q);
			g_free(q);
			return false;
		}
		}
		p++;
		if (!g_ascii_strcasecmp(p, "iB") || !g_ascii_strcasecmp(p, "B"))
			p += strlen(p);
		if (*p) {
			char *q = msg_quote(p);

			g_set_error(err, COVE_ERROR, 0,
				    "unexpected '%s' after the size (use e.g. 256M)", q);
			g_free(q);
			return false;
		}
	}
	if (v == 0) {
		g_set_error(err, COVE_ERROR, 0, "must be greater than 0");
		return false;
	}
	if (shift && v > (UINT64_MAX >> shift)) {
		g_set_error(err, COVE_ERROR, 0, "too large");
		return false;
	}
	*out = v << shift;
	return true;
}

bool config_parse_cpus(const char *s, unsigned *out, GError **err)
{
	char *end;
	long v;

	errno = 0;
	v = s && *s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || errno) {
		g_set_error(err, COVE_ERROR, 0, "not a number of CPUs");
		return false;
	}
	if (v < 1 || v > COVE_MAX_CPUS) {
		g_set_error(err, COVE_ERROR, 0, "out of range (1-%d)", COVE_MAX_CPUS);
		return false;
	}
	*out = (unsigned)v;
	return true;
}

bool config_parse_disk(const char *s, struct cove_disk_cfg *out, GError **err)
{
	const char *comma = s ? strchr(s, ',') : NULL;

	if (!s || !*s || comma == s) {
		g_set_error(err, COVE_ERROR, 0, "empty path (use FILE or FILE,readonly)");
		return false;
	}
	out->readonly = false;
	if (comma) {
		const char *opt = comma + 1;

		if (strcmp(opt, "readonly") && strcmp(opt, "ro")) {
			char *q = msg_quote(opt);

			g_set_error(err, COVE_ERROR, 0,
				    "unknown disk option '%s' (only 'readonly')", q);
			g_free(q);
			return false;
		}
		out->readonly = true;
		out->path = g_strndup(s, (gsize)(comma - s));
	} else {
		out->path = g_strdup(s);
	}
	return true;
}

bool config_add_disk(struct cove_config *c, const char *spec, GError **err)
{
	if (c->ndisks == COVE_MAX_DISKS) {
		g_set_error(err, COVE_ERROR, 0, "at most %d disks", COVE_MAX_DISKS);
		return false;
	}
	if (!config_parse_disk(spec, &c->disks[c->ndisks], err))
		return false;
	c->ndisks++;
	return true;
}

bool config_parse_on_reboot(const char *s, enum cove_on_reboot *out, GError **err)
{
	if (s && !strcmp(s, "exit")) {
		*out = COVE_REBOOT_EXIT;
	} else if (s && !strcmp(s, "restart")) {
		*out = COVE_REBOOT_RESTART;
	} else {
		g_set_error(err, COVE_ERROR, 0, "not a reboot action (exit or restart)");
		return false;
	}
	return true;
}

static bool parse_bool(const char *s, bool *out, GError **err)
{
	if (!g_ascii_strcasecmp(s, "true") || !strcmp(s, "1") || !g_ascii_strcasecmp(s, "yes")) {
		*out = true;
	} else if (!g_ascii_strcasecmp(s, "false") || !strcmp(s, "0") ||
		   !g_ascii_strcasecmp(s, "no")) {
		*out = false;
	} else {
		g_set_error(err, COVE_ERROR, 0, "not true or false");
		return false;
	}
	return true;
}

/* A path from the config file: relative ones are taken from the file's folder. */
static char *config_path(const char *dir, const char *value)
{
	if (g_path_is_absolute(value) || !strcmp(value, "stdio") || !strcmp(value, "none"))
		return g_strdup(value);
	return g_build_filename(dir, value, NULL);
}

/* A console spec from the config file: unix:PATH takes PATH from the file's folder too. */
static char *config_console(const char *dir, const char *value)
{
	char *path, *spec;

	if (!g_str_has_prefix(value, "unix:"))
		return config_path(dir, value);
	if (!value[5] || g_path_is_absolute(value + 5))
		return g_strdup(value);
	path = g_build_filename(dir, value + 5, NULL);
	spec = g_strconcat("unix:", path, NULL);
	g_free(path);
	return spec;
}

static char *config_file(const char *dir, const char *value)
{
	if (!*value || g_path_is_absolute(value))
		return g_strdup(value);
	return g_build_filename(dir, value, NULL);
}

bool config_parse_block(const char *s, uint64_t *out, GError **err)
{
	uint64_t v;

	if (!config_parse_size(s, &v, err))
		return false;
	if (v & (v - 1)) {
		g_set_error(err, COVE_ERROR, 0, "not a power of two");
		return false;
	}
	if (v < (64ull << 10) || v > (1ull << 30)) {
		g_set_error(err, COVE_ERROR, 0, "out of range (64K to 1G)");
		return false;
	}
	*out = v;
	return true;
}

static void replace(char **slot, char *value)
{
	g_free(*slot);
	*slot = value;
}

static bool accel_name_ok(const char *s)
{
	return !strcmp(s, "auto") || !strcmp(s, "kvm") || !strcmp(s, "soft");
}

/* One key of the [vm] group. */
static bool apply_key(struct cove_config *c, const char *dir, const char *key, const char *value,
		      GError **err)
{
	GError *e = NULL;
	bool ok = true;

	if (!strcmp(key, "name")) {
		replace(&c->name, g_strdup(value));
	} else if (!strcmp(key, "kernel")) {
		replace(&c->kernel, config_path(dir, value));
	} else if (!strcmp(key, "initrd")) {
		replace(&c->initrd, config_path(dir, value));
	} else if (!strcmp(key, "cmdline")) {
		replace(&c->cmdline, g_strdup(value));
	} else if (!strcmp(key, "memory")) {
		ok = config_parse_size(value, &c->memory, &e);
	} else if (!strcmp(key, "memory-file")) {
		replace(&c->memory_file, config_path(dir, value));
	} else if (!strcmp(key, "memory-block")) {
		ok = config_parse_block(value, &c->memory_block, &e);
	} else if (!strcmp(key, "memory-resident")) {
		ok = config_parse_size(value, &c->memory_resident, &e);
	} else if (!strcmp(key, "cpus")) {
		ok = config_parse_cpus(value, &c->cpus, &e);
	} else if (!strcmp(key, "disk")) {
		/* a list: disk = a.img;b.img,readonly */
		char **items = g_strsplit(value, ";", -1);

		for (char **it = items; ok && *it; it++) {
			char *spec = g_strstrip(*it), *full;

			if (!*spec)
				continue;
			full = config_path(dir, spec);
			ok = config_add_disk(c, full, &e);
			g_free(full);
		}
		g_strfreev(items);
	} else if (!strcmp(key, "console")) {
		replace(&c->console, config_console(dir, value));
	} else if (!strcmp(key, "virtio-console")) {
		replace(&c->virtio_console, config_console(dir, value));
	} else if (!strcmp(key, "monitor")) {
		replace(&c->monitor, config_file(dir, value));
	} else if (!strcmp(key, "pidfile")) {
		replace(&c->pidfile, config_file(dir, value));
	} else if (!strcmp(key, "accel")) {
		if (!accel_name_ok(value)) {
			g_set_error(&e, COVE_ERROR, 0, "not an accelerator (auto, kvm or soft)");
			ok = false;
		} else {
			replace(&c->accel, g_strdup(value));
		}
	} else if (!strcmp(key, "on-reboot")) {
		ok = config_parse_on_reboot(value, &c->on_reboot, &e);
	} else if (!strcmp(key, "debug")) {
		ok = parse_bool(value, &c->debug, &e);
	} else if (!strcmp(key, "stats")) {
		ok = parse_bool(value, &c->stats, &e);
	} else if (!strcmp(key, "deterministic")) {
		ok = parse_bool(value, &c->deterministic, &e);
	} else {
		char *q = msg_quote(key);

		g_set_error(err, COVE_ERROR, 0, "unknown key '%s' in [vm]", q);
		g_free(q);
		return false;
	}
	if (!ok) {
		char *q = msg_quote(value);

		g_set_error(err, COVE_ERROR, 0, "%s = %s: %s", key, q, e->message);
		g_free(q);
	}
	g_clear_error(&e);
	return ok;
}

bool config_load_file(struct cove_config *c, const char *path, GError **err)
{
	GKeyFile *kf = g_key_file_new();
	GError *e = NULL;
	char **groups = NULL, **keys = NULL, *dir = NULL;
	bool ok = false;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
		g_set_error(err, COVE_ERROR, 0, "%s: %s", path, e->message);
		goto out;
	}
	groups = g_key_file_get_groups(kf, NULL);
	for (char **g = groups; *g; g++) {
		if (strcmp(*g, "vm")) {
			g_set_error(err, COVE_ERROR, 0, "%s: unknown group [%s] (only [vm])", path, *g);
			goto out;
		}
	}
	if (!g_key_file_has_group(kf, "vm")) {
		g_set_error(err, COVE_ERROR, 0, "%s: no [vm] group", path);
		goto out;
	}
	dir = g_path_get_dirname(path);
	keys = g_key_file_get_keys(kf, "vm", NULL, NULL);
	for (char **k = keys; *k; k++) {
		char *value = g_key_file_get_string(kf, "vm", *k, &e);

		if (!value) {
			g_set_error(err, COVE_ERROR, 0, "%s: %s: %s", path, *k, e->message);
			goto out;
		}
		if (!apply_key(c, dir, *k, value, &e)) {
			g_set_error(err, COVE_ERROR, 0, "%s: %s", path, e->message);
			g_free(value);
			goto out;
		}
		g_free(value);
	}
	ok = true;
out:
	g_clear_error(&e);
	g_strfreev(keys);
	g_strfreev(groups);
	g_free(dir);
	g_key_file_free(kf);
	return ok;
}

bool config_validate(const struct cove_config *c, GError **err)
{
	if (!c->kernel) {
		g_set_error(err, COVE_ERROR, 0, "no kernel given (--kernel FILE or kernel= in the config)");
		return false;
	}
	if (c->memory < COVE_MIN_MEM) {
		g_set_error(err, COVE_ERROR, 0, "memory %" G_GUINT64_FORMAT "K: too small (at least 2M)",
			    c->memory >> 10);
		return false;
	}
	if (c->memory > COVE_MAX_MEM) {
		g_set_error(err, COVE_ERROR, 0, "memory %" G_GUINT64_FORMAT "G: too large (at most 1T)",
			    c->memory >> 30);
		return false;
	}
	if (c->memory & 0xfff) {
		g_set_error(err, COVE_ERROR, 0, "memory %" G_GUINT64_FORMAT ": not a multiple of 4K",
			    c->memory);
		return false;
	}
	if (!strcmp(c->console, "unix:") || !strcmp(c->virtio_console, "unix:")) {
		g_set_error(err, COVE_ERROR, 0, "--%s unix:: empty socket path (use unix:PATH)",
			    strcmp(c->console, "unix:") ? "virtio-console" : "console");
		return false;
	}
	if ((c->monitor && !*c->monitor) || (c->pidfile && !*c->pidfile)) {
		g_set_error(err, COVE_ERROR, 0, "--%s: empty path",
			    c->monitor && !*c->monitor ? "monitor" : "pidfile");
		return false;
	}
	if (!c->memory_file && (c->memory_block || c->memory_resident)) {
		g_set_error(err, COVE_ERROR, 0, "--memory-%s: needs --memory-file (block RAM)",
			    c->memory_block ? "block" : "resident");
		return false;
	}
	if (c->memory_file) {
		uint64_t block = c->memory_block ? c->memory_block : COVE_DEFAULT_BLOCK;

		if (c->memory % block) {
			g_set_error(err, COVE_ERROR, 0,
				    "--memory %" G_GUINT64_FORMAT "K: not a multiple of the block size "
				    "(--memory-block %" G_GUINT64_FORMAT "K)",
				    c->memory >> 10, block >> 10);
			return false;
		}
		if (c->memory_resident && c->memory_resident < block) {
			g_set_error(err, COVE_ERROR, 0,
				    "--memory-resident %" G_GUINT64_FORMAT "K: smaller than one block "
				    "(--memory-block %" G_GUINT64_FORMAT "K)",
				    c->memory_resident >> 10, block >> 10);
			return false;
		}
	}
	if (!accel_name_ok(c->accel)) {
		char *q = msg_quote(c->accel);

		g_set_error(err, COVE_ERROR, 0,
			    "--accel %s: not an accelerator (auto, kvm or soft)", q);
		g_free(q);
		return false;
	}
	return true;
}
