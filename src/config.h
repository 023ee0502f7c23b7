/* SPDX-License-Identifier: MIT */
/*
 * A VM's settings, from a config file (GKeyFile, group [vm]) and/or the
 * command line; the command line wins. Parsing never exits: errors come back
 * as one-line GErrors naming the input and the reason.
 */
#ifndef COVE_CONFIG_H
#define COVE_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define COVE_MAX_DISKS	   6
#define COVE_MAX_CPUS	   64
#define COVE_DEFAULT_MEM   (256ull << 20)
#define COVE_MIN_MEM	   (2ull << 20)
#define COVE_MAX_MEM	   (1ull << 40)
#define COVE_DEFAULT_BLOCK (2ull << 20)

enum cove_on_reboot { COVE_REBOOT_EXIT, COVE_REBOOT_RESTART };

struct cove_disk_cfg {
	char *path;
	bool readonly;
};

struct cove_config {
	char *name;
	char *kernel, *initrd, *cmdline;
	uint64_t memory;
	char *memory_file;	  /* block RAM image, NULL for anonymous RAM */
	uint64_t memory_block;	  /* 0: the default (2M) */
	uint64_t memory_resident; /* 0: all of it */
	unsigned cpus;
	struct cove_disk_cfg disks[COVE_MAX_DISKS];
	unsigned ndisks;
	char *console;	      /* stdio | none | unix:PATH | FILE */
	char *virtio_console; /* none | stdio | unix:PATH | FILE */
	char *monitor;	      /* control socket path, NULL for none */
	char *pidfile;	      /* NULL for none */
	char *accel;	      /* auto | kvm | soft */
	enum cove_on_reboot on_reboot;
	bool debug, stats, deterministic;
};

void config_init(struct cove_config *c);
void config_clear(struct cove_config *c);

/*
 * "256M", "1G", "4096", "2g", "512KiB": a positive byte count. Suffixes K, M,
 * G, T (powers of 1024), optionally followed by "iB" or "B".
 */
bool config_parse_size(const char *s, uint64_t *out, GError **err);
/* A --memory-block size: a power of two in 64K..1G. */
bool config_parse_block(const char *s, uint64_t *out, GError **err);
bool config_parse_cpus(const char *s, unsigned *out, GError **err);
/* "FILE" or "FILE,readonly" (also "ro"). */
bool config_parse_disk(const char *s, struct cove_disk_cfg *out, GError **err);
bool config_parse_on_reboot(const char *s, enum cove_on_reboot *out, GError **err);
bool config_add_disk(struct cove_config *c, const char *spec, GError **err);

/* Loads path's [vm] group into c; relative paths are taken from path's folder. */
bool config_load_file(struct cove_config *c, const char *path, GError **err);

/* Checks values that only make sense together (after file and flags merged). */
bool config_validate(const struct cove_config *c, GError **err);

#define COVE_ERROR (cove_error_quark())
GQuark cove_error_quark(void);

#endif
