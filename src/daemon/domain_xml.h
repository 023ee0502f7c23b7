/* SPDX-License-Identifier: MIT */
/*
 * A cove domain's definition as libvirt domain XML (docs/formatdomain.rst),
 * restricted to what cove runs: name, uuid, memory, vcpu, os kernel/initrd/
 * cmdline, file disks, one serial console, on_reboot, and a cove namespace
 * (DOMAIN_XML_NS) for the accelerator and block-RAM memory settings. Anything
 * else is rejected with an error that names it; nothing is silently dropped.
 */
#ifndef COVE_DAEMON_DOMAIN_XML_H
#define COVE_DAEMON_DOMAIN_XML_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define DOMAIN_XML_NS	"http://cove.dev/schemas/domain/1.0"
#define DOMAIN_NAME_MAX 64
#define DOMAIN_XML_MAX	(1u << 20)

struct domain_disk {
	char *path;
	char *target; /* vda, vdb, ... */
	bool readonly;
};

struct domain_def {
	char *name;
	uint8_t uuid[16];
	uint64_t memory_kib;
	unsigned vcpus;
	char *kernel, *initrd, *cmdline;
	struct domain_disk disks[COVE_MAX_DISKS];
	unsigned ndisks;
	bool serial; /* a serial console is declared */
	bool reboot_restart;
	char *accel;		       /* auto, kvm or soft */
	char *memory_file;	       /* block RAM image; NULL for anonymous RAM */
	uint64_t block_size, resident; /* bytes; 0 = cove's default (--memory-block, -resident) */
};

/* Parses and validates; *out is a new definition. */
bool domain_xml_parse(const char *xml, struct domain_def **out, GError **err);
/* The canonical XML; id >= 0 adds id='N' as libvirt does for a running domain. */
char *domain_xml_format(const struct domain_def *d, int id);
void domain_def_free(struct domain_def *d);
bool domain_name_ok(const char *name);
void domain_uuid_format(const uint8_t uuid[16], char out[37]);
bool domain_uuid_parse(const char *s, uint8_t uuid[16]);

#endif
