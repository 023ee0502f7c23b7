/* SPDX-License-Identifier: MIT */
/*
 * The set of cove domains: definitions persisted as XML under the state
 * directory (domains/NAME.xml), and for each running one a `cove run` child
 * in its own session, so that it outlives a daemon restart. A runtime file
 * (run/NAME.runtime: pid, start time, id, socket paths) lets a new daemon
 * adopt the VMs the old one started. State comes from the monitor socket and
 * from the process's exit. Every operation that waits (start, destroy,
 * pause...) completes through a callback on the main loop.
 */
#ifndef COVE_DAEMON_DOMAINS_H
#define COVE_DAEMON_DOMAINS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/domain_xml.h"
#include "daemon/rpc.h"

/* virDomainState */
enum {
	VIR_DOMAIN_NOSTATE = 0,
	VIR_DOMAIN_RUNNING = 1,
	VIR_DOMAIN_PAUSED = 3,
	VIR_DOMAIN_SHUTDOWN = 4,
	VIR_DOMAIN_SHUTOFF = 5,
	VIR_DOMAIN_CRASHED = 6,
};

enum domain_phase {
	DOMAIN_SHUTOFF,
	DOMAIN_STARTING,
	DOMAIN_RUNNING,
	DOMAIN_PAUSED,
	DOMAIN_STOPPING,
};

struct domains;
struct domain;

struct domains_cfg {
	const char *state_dir;
	const char *cove; /* the cove binary */
	bool verbose;
	unsigned start_timeout_ms; /* until the monitor answers */
	unsigned kill_timeout_ms;  /* quit -> SIGKILL */
};

struct domains *domains_new(const struct domains_cfg *cfg, GError **err);
/* Ends the daemon's side only: running VMs keep running. */
void domains_free(struct domains *set);

/* All domains, in definition order; the list belongs to the set. */
GList *domains_list(struct domains *set);
struct domain *domains_by_name(struct domains *set, const char *name);
struct domain *domains_by_uuid(struct domains *set, const uint8_t uuid[16]);
struct domain *domains_by_id(struct domains *set, int id);

/* Defines a new domain or replaces the definition of one with the same name and uuid. */
struct domain *domains_define(struct domains *set, const char *xml, int *code, GError **err);
bool domains_undefine(struct domain *d, int *code, GError **err);

const struct domain_def *domain_def(const struct domain *d);
int domain_id(const struct domain *d); /* -1 when not running */
enum domain_phase domain_phase(const struct domain *d);
bool domain_active(const struct domain *d);
/* virDomainState and reason */
void domain_state(const struct domain *d, int *state, int *reason);
uint64_t domain_cpu_time_ns(const struct domain *d);
const char *domain_console_path(const struct domain *d);

/* An operation's end: err NULL on success, else code is a VIR_ERR_*. */
typedef void (*domain_done_cb)(struct domain *d, int code, const char *err, void *data);

void domain_start(struct domain *d, domain_done_cb done, void *data);
void domain_destroy(struct domain *d, domain_done_cb done, void *data);
/* "powerdown", "pause" or "resume" through the monitor */
void domain_monitor(struct domain *d, const char *cmd, domain_done_cb done, void *data);

/* The domain's console (one client at a time; force replaces the current one). */
bool domain_open_console(struct domain *d, struct rpc_call *call, bool force, int *code,
			 GError **err);

#endif
