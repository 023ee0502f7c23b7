/* SPDX-License-Identifier: MIT */
#include "daemon/domains.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/console.h"
#include "daemon/monitor.h"

/* virDomain*Reason values used here */
enum {
	SHUTOFF_UNKNOWN = 0,
	SHUTOFF_SHUTDOWN = 1,
	SHUTOFF_DESTROYED = 2,
	SHUTOFF_CRASHED = 3,
	SHUTOFF_FAILED = 6,
	RUNNING_BOOTED = 1,
	RUNNING_UNPAUSED = 5,
	PAUSED_USER = 1,
};

#define PROBE_INTERVAL_MS  50
#define MONITOR_TIMEOUT_MS 10000

struct waiter {
	domain_done_cb cb;
	void *data;
};

struct domains {
	struct domains_cfg cfg;
	char *state_dir, *cove, *dom_dir, *run_dir;
	GList *list;
	int next_id;
};

struct domain {
	struct domains *set;
	struct domain_def *def;
	int refs;
	bool gone; /* undefined; freed when the last operation lets go */
	enum domain_phase phase;
	int reason;
	int id;
	pid_t pid;
	int pidfd;
	bool child;
	guint64 start_time;
	guint exit_src, timer, kill_timer;
	bool probing;
	gint64 deadline;
	GList *start_waiters, *stop_waiters;
	struct console *console;
	char *runtime, *monitor, *consock, *pidfile, *log;
};

static struct domain *dom_ref(struct domain *d)
{
	d->refs++;
	return d;
}

static void dom_unref(struct domain *d)
{
	if (--d->refs)
		return;
	domain_def_free(d->def);
	g_free(d->runtime);
	g_free(d->monitor);
	g_free(d->consock);
	g_free(d->pidfile);
	g_free(d->log);
	g_free(d);
}

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void send_kill(struct domain *d)
{
	if (d->pidfd >= 0 && !syscall(SYS_pidfd_send_signal, d->pidfd, SIGKILL, NULL, 0))
		return;
	if (d->child && d->pid > 0)
		kill(d->pid, SIGKILL); /* not reaped yet, so the pid is still ours */
}

/* /proc/PID/stat fields (proc(5)) after the command name: index 0 is field 3. */
static bool proc_stat(pid_t pid, guint64 *utime, guint64 *stime, guint64 *start)
{
	char path[64], *text = NULL, *p, **f;
	bool ok = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return false;
	p = strrchr(text, ')');
	if (p) {
		f = g_strsplit(p + 2, " ", -1);
		if (g_strv_length(f) > 19) {
			if (utime)
				*utime = g_ascii_strtoull(f[11], NULL, 10);
			if (stime)
				*stime = g_ascii_strtoull(f[12], NULL, 10);
			if (start)
				*start = g_ascii_strtoull(f[19], NULL, 10);
			ok = true;
		}
		g_strfreev(f);
	}
	g_free(text);
	return ok;
}

static void set_paths(struct domain *d)
{
	const char *run = d->set->run_dir, *n = d->def->name;

	g_free(d->runtime);
	g_free(d->monitor);
	g_free(d->consock);
	g_free(d->pidfile);
	g_free(d->log);
	d->runtime = g_strdup_printf("%s/%s.runtime", run, n);
	d->monitor = g_strdup_printf("%s/%s.mon", run, n);
	d->consock = g_strdup_printf("%s/%s.con", run, n);
	d->pidfile = g_strdup_printf("%s/%s.pid", run, n);
	d->log = g_strdup_printf("%s/%s.log", run, n);
}

static void complete(GList **waiters, struct domain *d, int code, const char *err)
{
	GList *l = *waiters;

	*waiters = NULL;
	for (GList *i = l; i; i = i->next) {
		struct waiter *w = i->data;

		w->cb(d, code, err, w->data);
		g_free(w);
	}
	g_list_free(l);
}

static void add_waiter(GList **waiters, domain_done_cb cb, void *data)
{
	struct waiter *w = g_new(struct waiter, 1);

	w->cb = cb;
	w->data = data;
	*waiters = g_list_append(*waiters, w);
}

/* The last line cove wrote, for the error of a start that failed. */
static char *log_tail(const char *path)
{
	char *text = NULL, *line = NULL;

	if (g_file_get_contents(path, &text, NULL, NULL)) {
		char **lines = g_strsplit(text, "\n", -1);

		for (int i = (int)g_strv_length(lines) - 1; i >= 0 && !line; i--)
			if (*g_strstrip(lines[i]))
				line = g_strndup(lines[i], 300);
		g_strfreev(lines);
	}
	g_free(text);
	return line ? line : g_strdup("no output");
}

static void on_console_gone(void *owner, struct console *c)
{
	struct domain *d = owner;

	if (d->console == c)
		d->console = NULL;
	dom_unref(d); /* the console's reference */
}

static void stop_timers(struct domain *d)
{
	if (d->timer)
		g_source_remove(d->timer);
	if (d->kill_timer)
		g_source_remove(d->kill_timer);
	d->timer = d->kill_timer = 0;
}

/* The cove process is gone: status is its wait status, or -1 when not known (adopted). */
static void domain_exited(struct domain *d, int status)
{
	enum domain_phase was = d->phase;
	char *why = NULL;

	stop_timers(d);
	if (d->exit_src) {
		g_source_remove(d->exit_src);
		d->exit_src = 0;
	}
	if (d->pidfd >= 0)
		close(d->pidfd);
	d->pidfd = -1;
	d->pid = 0;
	d->id = -1;
	d->phase = DOMAIN_SHUTOFF;
	if (was == DOMAIN_STOPPING)
		d->reason = SHUTOFF_DESTROYED;
	else if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		d->reason = SHUTOFF_SHUTDOWN;
	else if (status >= 0 && ((WIFEXITED(status) && WEXITSTATUS(status) == 4) ||
				 WIFSIGNALED(status)))
		d->reason = SHUTOFF_CRASHED; /* the guest crashed (status 4), or cove itself did */
	else
		d->reason = status < 0 ? SHUTOFF_UNKNOWN : SHUTOFF_FAILED;
	/* an open console ends by itself: cove's exit closes the socket, and the guest's last
	 * output is read before that end of file */
	/* cove removes its sockets; after SIGKILL nobody did */
	unlink(d->monitor);
	unlink(d->consock);
	unlink(d->pidfile);
	unlink(d->runtime);
	if (d->set->cfg.verbose)
		fprintf(stderr, "coved: domain %s: cove exited (status %d)\n", d->def->name,
			status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (d->start_waiters) {
		char *tail = log_tail(d->log);

		why = g_strdup_printf("cove exited before the domain ran: %s", tail);
		g_free(tail);
		complete(&d->start_waiters, d, VIR_ERR_OPERATION_FAILED, why);
		g_free(why);
	}
	complete(&d->stop_waiters, d, 0, NULL);
}

static void on_child_exit(GPid pid, gint status, gpointer data)
{
	struct domain *d = data;

	(void)pid;
	d->exit_src = 0;
	g_spawn_close_pid(pid);
	domain_exited(d, status);
	dom_unref(d);
}

static gboolean on_pidfd(gint fd, GIOCondition cond, gpointer data)
{
	struct domain *d = data;

	(void)fd;
	(void)cond;
	d->exit_src = 0;
	domain_exited(d, -1);
	dom_unref(d);
	return G_SOURCE_REMOVE;
}

static void on_probe(const char *reply, const char *why, void *data)
{
	struct domain *d = data;

	d->probing = false;
	(void)why;
	if (d->phase == DOMAIN_STARTING || d->phase == DOMAIN_RUNNING) {
		if (reply && (!strcmp(reply, "running") || !strcmp(reply, "paused"))) {
			bool paused = !strcmp(reply, "paused");

			if (d->timer)
				g_source_remove(d->timer);
			d->timer = 0;
			d->phase = paused ? DOMAIN_PAUSED : DOMAIN_RUNNING;
			d->reason = paused ? PAUSED_USER : RUNNING_BOOTED;
			complete(&d->start_waiters, d, 0, NULL);
		} else if (d->phase == DOMAIN_STARTING && g_get_monotonic_time() > d->deadline) {
			if (d->timer)
				g_source_remove(d->timer);
			d->timer = 0;
			complete(&d->start_waiters, d, VIR_ERR_OPERATION_TIMEOUT,
				 "cove did not answer on its monitor socket; stopped it");
			d->phase = DOMAIN_STOPPING;
			send_kill(d);
		}
	}
	dom_unref(d);
}

static gboolean probe_tick(gpointer data)
{
	struct domain *d = data;

	if (!d->probing) {
		d->probing = true;
		monitor_request(d->monitor, "status", MONITOR_TIMEOUT_MS, on_probe, dom_ref(d));
	}
	return G_SOURCE_CONTINUE;
}

static bool write_runtime(struct domain *d, GError **err)
{
	GKeyFile *kf = g_key_file_new();
	bool ok;

	g_key_file_set_int64(kf, "runtime", "pid", d->pid);
	g_key_file_set_uint64(kf, "runtime", "start-time", d->start_time);
	g_key_file_set_integer(kf, "runtime", "id", d->id);
	g_key_file_set_string(kf, "runtime", "monitor", d->monitor);
	g_key_file_set_string(kf, "runtime", "console", d->consock);
	ok = g_key_file_save_to_file(kf, d->runtime, err);
	g_key_file_free(kf);
	return ok;
}

static void child_setup(gpointer data)
{
	(void)data;
	setsid(); /* its own session: a daemon restart or a signal to coved's group spares it */
}

static char **start_argv(struct domain *d)
{
	const struct domain_def *def = d->def;
	GPtrArray *a = g_ptr_array_new();

	g_ptr_array_add(a, g_strdup(d->set->cove));
	g_ptr_array_add(a, g_strdup("run"));
	g_ptr_array_add(a, g_strdup("--name"));
	g_ptr_array_add(a, g_strdup(def->name));
	g_ptr_array_add(a, g_strdup("--kernel"));
	g_ptr_array_add(a, g_strdup(def->kernel));
	if (def->initrd) {
		g_ptr_array_add(a, g_strdup("--initrd"));
		g_ptr_array_add(a, g_strdup(def->initrd));
	}
	if (def->cmdline) {
		g_ptr_array_add(a, g_strdup("--cmdline"));
		g_ptr_array_add(a, g_strdup(def->cmdline));
	}
	g_ptr_array_add(a, g_strdup("--memory"));
	g_ptr_array_add(a, g_strdup_printf("%" G_GUINT64_FORMAT "K", def->memory_kib));
	g_ptr_array_add(a, g_strdup("--cpus"));
	g_ptr_array_add(a, g_strdup_printf("%u", def->vcpus));
	for (unsigned i = 0; i < def->ndisks; i++) {
		g_ptr_array_add(a, g_strdup("--disk"));
		g_ptr_array_add(a, g_strdup_printf("%s%s", def->disks[i].path,
						   def->disks[i].readonly ? ",readonly" : ""));
	}
	g_ptr_array_add(a, g_strdup("--accel"));
	g_ptr_array_add(a, g_strdup(def->accel));
	g_ptr_array_add(a, g_strdup("--console"));
	g_ptr_array_add(a, def->serial ? g_strdup_printf("unix:%s", d->consock) : g_strdup("none"));
	g_ptr_array_add(a, g_strdup("--monitor"));
	g_ptr_array_add(a, g_strdup(d->monitor));
	g_ptr_array_add(a, g_strdup("--pidfile"));
	g_ptr_array_add(a, g_strdup(d->pidfile));
	if (def->reboot_restart) {
		g_ptr_array_add(a, g_strdup("--on-reboot"));
		g_ptr_array_add(a, g_strdup("restart"));
	}
	/* block RAM (cove --memory-file); cove checks the sizes and says what is wrong */
	if (def->memory_file) {
		g_ptr_array_add(a, g_strdup("--memory-file"));
		g_ptr_array_add(a, g_strdup(def->memory_file));
	}
	if (def->block_size) {
		g_ptr_array_add(a, g_strdup("--memory-block"));
		g_ptr_array_add(a, g_strdup_printf("%" G_GUINT64_FORMAT, def->block_size));
	}
	if (def->resident) {
		g_ptr_array_add(a, g_strdup("--memory-resident"));
		g_ptr_array_add(a, g_strdup_printf("%" G_GUINT64_FORMAT, def->resident));
	}
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

void domain_start(struct domain *d, domain_done_cb done, void *data)
{
	struct sockaddr_un sa;
	GError *err = NULL;
	char **argv = NULL;
	int logfd = -1, nullfd = -1;
	GPid pid;

	if (d->phase != DOMAIN_SHUTOFF) {
		done(d, VIR_ERR_OPERATION_INVALID, "domain is already running", data);
		return;
	}
	set_paths(d);
	if (strlen(d->monitor) >= sizeof(sa.sun_path) ||
	    strlen(d->consock) >= sizeof(sa.sun_path)) {
		done(d, VIR_ERR_OPERATION_FAILED,
		     "the state directory's path is too long for the VM's sockets", data);
		return;
	}
	if (access(d->def->kernel, R_OK)) {
		char *m = g_strdup_printf("kernel %s: %s", d->def->kernel, g_strerror(errno));

		done(d, VIR_ERR_OPERATION_FAILED, m, data);
		g_free(m);
		return;
	}
	logfd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	argv = start_argv(d);
	if (logfd < 0 || nullfd < 0 ||
	    !g_spawn_async_with_pipes_and_fds(
		    NULL, (const char *const *)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, child_setup,
		    NULL, nullfd, logfd, logfd, NULL, NULL, 0, &pid, NULL, NULL, NULL, &err)) {
		char *m = g_strdup_printf("cannot run %s: %s", d->set->cove,
					  err ? err->message : g_strerror(errno));

		done(d, VIR_ERR_OPERATION_FAILED, m, data);
		g_free(m);
		g_clear_error(&err);
		goto out;
	}
	d->pid = pid;
	d->child = true;
	d->pidfd = sys_pidfd_open(pid);
	d->start_time = 0;
	proc_stat(pid, NULL, NULL, &d->start_time);
	d->id = d->set->next_id++;
	d->phase = DOMAIN_STARTING;
	d->reason = RUNNING_BOOTED;
	d->deadline = g_get_monotonic_time() + (gint64)d->set->cfg.start_timeout_ms * 1000;
	add_waiter(&d->start_waiters, done, data);
	d->exit_src = g_child_watch_add(pid, on_child_exit, dom_ref(d));
	if (!write_runtime(d, &err)) {
		fprintf(stderr, "coved: %s: %s\n", d->runtime, err->message);
		g_clear_error(&err);
	}
	d->timer = g_timeout_add(PROBE_INTERVAL_MS, probe_tick, d);
out:
	g_strfreev(argv);
	if (logfd >= 0)
		close(logfd);
	if (nullfd >= 0)
		close(nullfd);
}

static gboolean kill_now(gpointer data)
{
	struct domain *d = data;

	d->kill_timer = 0;
	if (d->set->cfg.verbose)
		fprintf(stderr, "coved: domain %s: cove did not quit; killing it\n", d->def->name);
	send_kill(d);
	return G_SOURCE_REMOVE;
}

static void on_quit_reply(const char *reply, const char *why, void *data)
{
	struct domain *d = data;

	(void)why;
	/* no "ok": the monitor is gone or stuck, so do not wait for the timeout */
	if (d->phase == DOMAIN_STOPPING && (!reply || strcmp(reply, "ok")))
		send_kill(d);
	dom_unref(d);
}

void domain_destroy(struct domain *d, domain_done_cb done, void *data)
{
	enum domain_phase was = d->phase;

	if (was == DOMAIN_SHUTOFF) {
		done(d, VIR_ERR_OPERATION_INVALID, "domain is not running", data);
		return;
	}
	add_waiter(&d->stop_waiters, done, data);
	if (was == DOMAIN_STOPPING)
		return;
	d->phase = DOMAIN_STOPPING;
	if (d->timer) {
		g_source_remove(d->timer);
		d->timer = 0;
	}
	if (was == DOMAIN_STARTING) {
		complete(&d->start_waiters, d, VIR_ERR_OPERATION_FAILED,
			 "the domain was destroyed while starting");
		send_kill(d);
		return;
	}
	monitor_request(d->monitor, "quit", MONITOR_TIMEOUT_MS, on_quit_reply, dom_ref(d));
	d->kill_timer = g_timeout_add(d->set->cfg.kill_timeout_ms, kill_now, d);
}

struct mon_op {
	struct domain *d;
	char *cmd;
	domain_done_cb done;
	void *data;
};

static void on_monitor_reply(const char *reply, const char *why, void *data)
{
	struct mon_op *op = data;
	struct domain *d = op->d;

	if (!reply) {
		char *m = g_strdup_printf("monitor: %s", why);

		op->done(d, VIR_ERR_OPERATION_FAILED, m, op->data);
		g_free(m);
	} else if (strcmp(reply, "ok")) {
		op->done(d, VIR_ERR_OPERATION_FAILED, reply, op->data);
	} else {
		if (!strcmp(op->cmd, "pause") &&
		    (d->phase == DOMAIN_RUNNING || d->phase == DOMAIN_PAUSED)) {
			d->phase = DOMAIN_PAUSED;
			d->reason = PAUSED_USER;
		} else if (!strcmp(op->cmd, "resume") &&
			   (d->phase == DOMAIN_RUNNING || d->phase == DOMAIN_PAUSED)) {
			d->phase = DOMAIN_RUNNING;
			d->reason = RUNNING_UNPAUSED;
		}
		op->done(d, 0, NULL, op->data);
	}
	g_free(op->cmd);
	g_free(op);
	dom_unref(d);
}

void domain_monitor(struct domain *d, const char *cmd, domain_done_cb done, void *data)
{
	struct mon_op *op;

	if (d->phase != DOMAIN_RUNNING && d->phase != DOMAIN_PAUSED) {
		done(d, VIR_ERR_OPERATION_INVALID, "domain is not running", data);
		return;
	}
	if (!strcmp(cmd, "powerdown") && d->phase == DOMAIN_PAUSED) {
		done(d, VIR_ERR_OPERATION_INVALID, "domain is paused; resume it first", data);
		return;
	}
	op = g_new0(struct mon_op, 1);
	op->d = dom_ref(d);
	op->cmd = g_strdup(cmd);
	op->done = done;
	op->data = data;
	monitor_request(d->monitor, cmd, MONITOR_TIMEOUT_MS, on_monitor_reply, op);
}

bool domain_open_console(struct domain *d, struct rpc_call *call, bool force, int *code,
			 GError **err)
{
	if (d->phase != DOMAIN_RUNNING && d->phase != DOMAIN_PAUSED) {
		*code = VIR_ERR_OPERATION_INVALID;
		g_set_error(err, COVE_ERROR, 0, "domain is not running");
		return false;
	}
	if (!d->def->serial) {
		*code = VIR_ERR_OPERATION_INVALID;
		g_set_error(err, COVE_ERROR, 0, "domain has no serial console");
		return false;
	}
	if (d->console && !force) {
		*code = VIR_ERR_OPERATION_FAILED;
		g_set_error(err, COVE_ERROR, 0, "Active console session exists for this domain");
		return false;
	}
	if (d->console)
		console_close(d->console);
	/* the console may outlive the process by a moment (its EOF), so it holds d */
	d->console = console_open(d->consock, call, on_console_gone, dom_ref(d), err);
	if (!d->console) {
		dom_unref(d);
		*code = VIR_ERR_OPERATION_FAILED;
		return false;
	}
	return true;
}

const struct domain_def *domain_def(const struct domain *d)
{
	return d->def;
}

int domain_id(const struct domain *d)
{
	return d->phase == DOMAIN_SHUTOFF ? -1 : d->id;
}

enum domain_phase domain_phase(const struct domain *d)
{
	return d->phase;
}

bool domain_active(const struct domain *d)
{
	return d->phase != DOMAIN_SHUTOFF;
}

void domain_state(const struct domain *d, int *state, int *reason)
{
	switch (d->phase) {
	case DOMAIN_SHUTOFF:
		*state = VIR_DOMAIN_SHUTOFF;
		break;
	case DOMAIN_PAUSED:
		*state = VIR_DOMAIN_PAUSED;
		break;
	case DOMAIN_STOPPING:
		*state = VIR_DOMAIN_SHUTDOWN;
		break;
	default:
		*state = VIR_DOMAIN_RUNNING;
	}
	*reason = d->phase == DOMAIN_STOPPING ? 0 : d->reason;
}

uint64_t domain_cpu_time_ns(const struct domain *d)
{
	guint64 ut = 0, st = 0;
	long hz = sysconf(_SC_CLK_TCK);

	if (d->phase == DOMAIN_SHUTOFF || d->pid <= 0 || hz <= 0 ||
	    !proc_stat(d->pid, &ut, &st, NULL))
		return 0;
	return (ut + st) * (1000000000ull / (guint64)hz);
}

const char *domain_console_path(const struct domain *d)
{
	return d->consock;
}

GList *domains_list(struct domains *set)
{
	return set->list;
}

struct domain *domains_by_name(struct domains *set, const char *name)
{
	for (GList *l = set->list; l; l = l->next) {
		struct domain *d = l->data;

		if (!strcmp(d->def->name, name))
			return d;
	}
	return NULL;
}

struct domain *domains_by_uuid(struct domains *set, const uint8_t uuid[16])
{
	for (GList *l = set->list; l; l = l->next) {
		struct domain *d = l->data;

		if (!memcmp(d->def->uuid, uuid, 16))
			return d;
	}
	return NULL;
}

struct domain *domains_by_id(struct domains *set, int id)
{
	for (GList *l = set->list; l; l = l->next) {
		struct domain *d = l->data;

		if (d->phase != DOMAIN_SHUTOFF && d->id == id)
			return d;
	}
	return NULL;
}

static char *def_path(struct domains *set, const char *name)
{
	return g_strdup_printf("%s/%s.xml", set->dom_dir, name);
}

static struct domain *domain_new(struct domains *set, struct domain_def *def)
{
	struct domain *d = g_new0(struct domain, 1);

	d->set = set;
	d->def = def;
	d->refs = 1;
	d->id = -1;
	d->pidfd = -1;
	d->phase = DOMAIN_SHUTOFF;
	set_paths(d);
	set->list = g_list_append(set->list, d);
	return d;
}

struct domain *domains_define(struct domains *set, const char *xml, int *code, GError **err)
{
	struct domain_def *def;
	struct domain *by_name, *by_uuid;
	char *text, *path;
	char uuid[37];

	if (!domain_xml_parse(xml, &def, err)) {
		*code = VIR_ERR_XML_ERROR;
		return NULL;
	}
	by_name = domains_by_name(set, def->name);
	by_uuid = domains_by_uuid(set, def->uuid);
	if (by_name && memcmp(by_name->def->uuid, def->uuid, 16)) {
		domain_uuid_format(by_name->def->uuid, uuid);
		*code = VIR_ERR_DOM_EXIST;
		g_set_error(err, COVE_ERROR, 0, "domain '%s' already exists with uuid %s",
			    def->name, uuid);
		domain_def_free(def);
		return NULL;
	}
	if (by_uuid && by_uuid != by_name) {
		domain_uuid_format(def->uuid, uuid);
		*code = VIR_ERR_DOM_EXIST;
		g_set_error(err, COVE_ERROR, 0, "uuid %s belongs to domain '%s'", uuid,
			    by_uuid->def->name);
		domain_def_free(def);
		return NULL;
	}
	text = domain_xml_format(def, -1);
	path = def_path(set, def->name);
	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, err)) {
		*code = VIR_ERR_OPERATION_FAILED;
		domain_def_free(def);
		g_free(text);
		g_free(path);
		return NULL;
	}
	g_free(text);
	g_free(path);
	if (by_name) {
		/* a running domain keeps running as it was started; this is its next boot */
		domain_def_free(by_name->def);
		by_name->def = def;
		return by_name;
	}
	return domain_new(set, def);
}

bool domains_undefine(struct domain *d, int *code, GError **err)
{
	struct domains *set = d->set;
	char *path;

	if (d->phase != DOMAIN_SHUTOFF) {
		*code = VIR_ERR_OPERATION_INVALID;
		g_set_error(err, COVE_ERROR, 0,
			    "domain '%s' is running; destroy it before undefining it",
			    d->def->name);
		return false;
	}
	path = def_path(set, d->def->name);
	if (unlink(path) && errno != ENOENT) {
		*code = VIR_ERR_OPERATION_FAILED;
		g_set_error(err, COVE_ERROR, 0, "%s: %s", path, g_strerror(errno));
		g_free(path);
		return false;
	}
	g_free(path);
	unlink(d->log);
	set->list = g_list_remove(set->list, d);
	d->gone = true;
	dom_unref(d);
	return true;
}

/* A runtime file left by an earlier coved: take the VM over if its process is still there. */
static void adopt(struct domain *d)
{
	GKeyFile *kf = g_key_file_new();
	guint64 start = 0, want;
	char *reply;
	gint64 pid;
	int id;

	if (!g_key_file_load_from_file(kf, d->runtime, G_KEY_FILE_NONE, NULL))
		goto out;
	pid = g_key_file_get_int64(kf, "runtime", "pid", NULL);
	want = g_key_file_get_uint64(kf, "runtime", "start-time", NULL);
	id = g_key_file_get_integer(kf, "runtime", "id", NULL);
	/* the start time guards against a recycled pid */
	if (pid <= 1 || id <= 0 || !proc_stat((pid_t)pid, NULL, NULL, &start) || start != want) {
		unlink(d->runtime);
		unlink(d->monitor);
		unlink(d->consock);
		goto out;
	}
	d->pid = (pid_t)pid;
	d->pidfd = sys_pidfd_open(d->pid);
	if (d->pidfd < 0) {
		fprintf(stderr, "coved: domain %s: pidfd_open(%d): %s; not adopting it\n",
			d->def->name, d->pid, g_strerror(errno));
		goto out;
	}
	d->child = false;
	d->start_time = start;
	d->id = id;
	if (id >= d->set->next_id)
		d->set->next_id = id + 1;
	d->phase = DOMAIN_RUNNING;
	d->reason = RUNNING_BOOTED;
	d->exit_src = g_unix_fd_add(d->pidfd, G_IO_IN, on_pidfd, dom_ref(d));
	/* running or paused: ask now, so that no client ever sees a guess */
	reply = monitor_request_sync(d->monitor, "status", 2000);
	if (reply && !strcmp(reply, "paused")) {
		d->phase = DOMAIN_PAUSED;
		d->reason = PAUSED_USER;
	} else if (!reply || strcmp(reply, "running")) {
		fprintf(stderr, "coved: domain %s: its monitor did not answer 'status'%s%s\n",
			d->def->name, reply ? ": " : "", reply ? reply : "");
	}
	g_free(reply);
	if (d->set->cfg.verbose)
		fprintf(stderr, "coved: domain %s: adopted running cove pid %d\n", d->def->name,
			d->pid);
out:
	g_key_file_free(kf);
}

static gint by_name_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(a, b);
}

static void load_definitions(struct domains *set)
{
	GDir *dir = g_dir_open(set->dom_dir, 0, NULL);
	GList *names = NULL;
	const char *n;

	if (!dir)
		return;
	while ((n = g_dir_read_name(dir)))
		if (g_str_has_suffix(n, ".xml"))
			names = g_list_prepend(names, g_strdup(n));
	g_dir_close(dir);
	names = g_list_sort(names, by_name_cmp);
	for (GList *l = names; l; l = l->next) {
		char *path = g_build_filename(set->dom_dir, l->data, NULL), *xml = NULL;
		struct domain_def *def = NULL;
		GError *err = NULL;

		if (!g_file_get_contents(path, &xml, NULL, &err) ||
		    !domain_xml_parse(xml, &def, &err)) {
			fprintf(stderr, "coved: %s: %s (skipped)\n", path, err->message);
			g_clear_error(&err);
		} else if (domains_by_name(set, def->name) || domains_by_uuid(set, def->uuid)) {
			fprintf(stderr, "coved: %s: a duplicate name or uuid (skipped)\n", path);
			domain_def_free(def);
		} else {
			adopt(domain_new(set, def));
		}
		g_free(xml);
		g_free(path);
	}
	g_list_free_full(names, g_free);
}

struct domains *domains_new(const struct domains_cfg *cfg, GError **err)
{
	struct domains *set = g_new0(struct domains, 1);

	set->cfg = *cfg;
	set->state_dir = g_strdup(cfg->state_dir);
	set->cove = g_strdup(cfg->cove);
	set->cfg.state_dir = set->state_dir;
	set->cfg.cove = set->cove;
	if (!set->cfg.start_timeout_ms)
		set->cfg.start_timeout_ms = 60000;
	if (!set->cfg.kill_timeout_ms)
		set->cfg.kill_timeout_ms = 5000;
	set->dom_dir = g_build_filename(cfg->state_dir, "domains", NULL);
	set->run_dir = g_build_filename(cfg->state_dir, "run", NULL);
	set->next_id = 1;
	if (g_mkdir_with_parents(set->dom_dir, 0700) || g_mkdir_with_parents(set->run_dir, 0700)) {
		g_set_error(err, COVE_ERROR, 0, "%s: %s", cfg->state_dir, g_strerror(errno));
		domains_free(set);
		return NULL;
	}
	load_definitions(set);
	return set;
}

void domains_free(struct domains *set)
{
	while (set->list) {
		struct domain *d = set->list->data;

		set->list = g_list_delete_link(set->list, set->list);
		stop_timers(d);
		if (d->exit_src)
			g_source_remove(d->exit_src);
		d->exit_src = 0;
		if (d->pidfd >= 0)
			close(d->pidfd);
		d->pidfd = -1;
		dom_unref(d);
	}
	g_free(set->dom_dir);
	g_free(set->run_dir);
	g_free(set->state_dir);
	g_free(set->cove);
	g_free(set);
}
